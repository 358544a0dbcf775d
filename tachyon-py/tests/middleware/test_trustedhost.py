"""TrustedHostMiddleware and HTTPSRedirectMiddleware against Starlette."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from _asgi import asgi, stacks


def app_with(fw: SimpleNamespace, module: str, cls: str, **options: Any) -> Any:
    middleware = getattr(importlib.import_module(f"{fw.name}.middleware.{module}"), cls)

    async def homepage(request: Any) -> Any:
        return fw.responses.PlainTextResponse(f"OK {request.url}")

    return fw.applications.Starlette(
        routes=[fw.routing.Route("/", homepage), fw.routing.Route("/path", homepage)],
        middleware=[fw.middleware.Middleware(middleware, **options)],
    )


HOSTS = [
    "testserver",
    "TestServer",
    "testserver:8000",
    "example.com",
    "www.example.com",
    "sub.example.com",
    "example.org",
    "a.b.example.org",
    "example.org.evil",
    "[::1]",
    "[::1]:8000",
    "bad host",
    "host/path",
    "",
]


@pytest.mark.parametrize(
    "options",
    [
        {"allowed_hosts": ["testserver", "*.example.org", "www.example.com"]},
        {"allowed_hosts": ["testserver", "www.example.com"], "www_redirect": False},
        {"allowed_hosts": ["*"]},
        {"allowed_hosts": ["[::1]"]},
        {},
    ],
)
def test_trusted_host_matches_starlette(both: Any, options: dict[str, Any]) -> None:
    request = both(lambda fw: app_with(fw, "trustedhost", "TrustedHostMiddleware", **options))
    for host in HOSTS:
        request("GET", "/path?x=1", headers={"host": host})


def test_missing_host_header() -> None:
    starlette, tachyon = stacks("middleware.trustedhost")

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("not reached")

    def messages(module: Any) -> Any:
        middleware = module.TrustedHostMiddleware(app, allowed_hosts=["testserver"])
        return asgi(middleware, scope_extra={"headers": []})

    assert messages(tachyon) == messages(starlette)


@pytest.mark.parametrize(
    "hosts",
    [
        [b"testserver", b"evil.example"],
        [b"evil.example", b"testserver"],
        [b"testserver", b"testserver"],
    ],
)
def test_two_host_headers_are_refused(hosts: list[bytes]) -> None:
    # RFC 9112 section 3.2: more than one Host field is a 400. Starlette checks only the first.
    _, tachyon = stacks("middleware.trustedhost")

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("not reached")

    middleware = tachyon.TrustedHostMiddleware(app, allowed_hosts=["testserver", "*.example"])
    sent = asgi(middleware, scope_extra={"headers": [(b"host", host) for host in hosts]})
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b"Invalid host header"


@pytest.mark.parametrize("pattern", ["*.*.example.com", "ex*ample.com", "*example.com"])
def test_bad_wildcards_are_refused(pattern: str) -> None:
    _, tachyon = stacks("middleware.trustedhost")
    with pytest.raises(AssertionError, match=r"Domain wildcard patterns must be like '\*.example.com'."):
        tachyon.TrustedHostMiddleware(None, allowed_hosts=[pattern])


@pytest.mark.parametrize(
    "base_url",
    [
        "http://testserver",
        "http://testserver:80",
        "http://testserver:443",
        "http://testserver:8080",
        "https://testserver",
    ],
)
@pytest.mark.parametrize("path", ["/", "/path?q=1&x=%20y", "/missing"])
def test_https_redirect_matches_starlette(both: Any, base_url: str, path: str) -> None:
    request = both(lambda fw: app_with(fw, "httpsredirect", "HTTPSRedirectMiddleware"), base_url=base_url)
    request("GET", path, follow_redirects=False)
    request("POST", path, follow_redirects=False)


@pytest.mark.parametrize(
    "scope_extra",
    [
        {"scheme": "http", "headers": []},
        {"scheme": "http", "headers": [], "server": None},
        {"scheme": "ws", "type": "websocket", "headers": [(b"host", b"example.com:8443")]},
        {"scheme": "ws", "type": "websocket", "headers": [(b"host", b"example.com:80")]},
    ],
)
def test_https_redirect_raw_scopes(scope_extra: dict[str, Any]) -> None:
    starlette, tachyon = stacks("middleware.httpsredirect")

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("not reached")

    def messages(module: Any) -> Any:
        return asgi(module.HTTPSRedirectMiddleware(app), scope_extra=scope_extra)

    assert messages(tachyon) == messages(starlette)
