"""CORSMiddleware on Starlette and on Tachyon: same configuration, byte-identical responses."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest

CONFIGS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "allow_all": {"allow_origins": ["*"], "allow_headers": ["*"], "allow_methods": ["*"], "expose_headers": ["X-A"]},
    "allow_all_credentials": {
        "allow_origins": ["*"],
        "allow_headers": ["*"],
        "allow_methods": ["*"],
        "allow_credentials": True,
        "max_age": 30,
    },
    "listed": {
        "allow_origins": ["https://example.org", "https://other.org"],
        "allow_headers": ["X-Example", "Content-Type"],
        "allow_methods": ["GET", "POST"],
        "expose_headers": ["X-Status", "X-Count"],
    },
    "regex": {
        "allow_origin_regex": r"https://.*\.example\.org",
        "allow_headers": ["X-Example"],
        "allow_credentials": True,
    },
    "private_network": {"allow_origins": ["https://example.org"], "allow_private_network": True},
}

PREFLIGHT = {"access-control-request-method": "GET"}

REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("GET", {}),
    ("GET", {"origin": "https://example.org"}),
    ("GET", {"origin": "https://sub.example.org"}),
    ("GET", {"origin": "https://sub.example.org.evil.com"}),
    ("GET", {"origin": "https://nope.org"}),
    ("POST", {"origin": "https://other.org"}),
    ("OPTIONS", {"origin": "https://example.org"}),
    ("OPTIONS", {**PREFLIGHT}),
    ("OPTIONS", {"origin": "https://example.org", **PREFLIGHT}),
    ("OPTIONS", {"origin": "https://a.example.org", **PREFLIGHT, "access-control-request-headers": "X-Example"}),
    ("OPTIONS", {"origin": "https://example.org", **PREFLIGHT, "access-control-request-headers": "x-example, accept"}),
    ("OPTIONS", {"origin": "https://example.org", **PREFLIGHT, "access-control-request-headers": "X-Nope"}),
    ("OPTIONS", {"origin": "https://nope.org", "access-control-request-method": "DELETE"}),
    ("OPTIONS", {"origin": "https://example.org", "access-control-request-method": "POST"}),
    ("OPTIONS", {"origin": "https://example.org", **PREFLIGHT, "access-control-request-private-network": "true"}),
]


def cors_app(fw: SimpleNamespace, options: dict[str, Any]) -> Any:
    cors = importlib.import_module(f"{fw.name}.middleware.cors")

    async def homepage(request: Any) -> Any:
        return fw.responses.PlainTextResponse("Homepage", headers={"Vary": "Accept-Encoding"})

    async def plain(request: Any) -> Any:
        return fw.responses.JSONResponse({"ok": True})

    return fw.applications.Starlette(
        routes=[fw.routing.Route("/", homepage, methods=["GET", "POST", "OPTIONS"]), fw.routing.Route("/plain", plain)],
        middleware=[fw.middleware.Middleware(cors.CORSMiddleware, **options)],
    )


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("path", ["/", "/plain"])
def test_cors_matches_starlette(both: Any, config: str, path: str) -> None:
    request = both(lambda fw: cors_app(fw, CONFIGS[config]))
    for method, headers in REQUESTS:
        request(method, path, headers=headers)


def test_cors_constants_match() -> None:
    ours = importlib.import_module("tachyon.middleware.cors")
    theirs = importlib.import_module("starlette.middleware.cors")
    assert ours.ALL_METHODS == theirs.ALL_METHODS
    assert ours.SAFELISTED_HEADERS == theirs.SAFELISTED_HEADERS
    for options in CONFIGS.values():
        a = ours.CORSMiddleware(None, **options)
        b = theirs.CORSMiddleware(None, **options)
        assert list(a.preflight_headers.items()) == list(b.preflight_headers.items())
        assert list(a.simple_headers.items()) == list(b.simple_headers.items())
        assert a.allow_headers == b.allow_headers
