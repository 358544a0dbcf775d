"""WSGIMiddleware (deprecated, still shipped by Starlette 1.10) against Starlette."""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Any

import pytest
from _asgi import Messages, asgi

from tachyon.exceptions import TachyonDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    STARLETTE_WSGI = importlib.import_module("starlette.middleware.wsgi")
    TACHYON_WSGI = importlib.import_module("tachyon.middleware.wsgi")


def test_import_warns_deprecation() -> None:
    with pytest.warns(TachyonDeprecationWarning, match="tachyon.middleware.wsgi is deprecated"):
        importlib.reload(TACHYON_WSGI)


def hello_world(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = b"Hello World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def echo_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("201 Created", [("Content-Type", "text/plain"), (" X-Spaced ", " v ")])
    return [b"got: ", body]


def echo_environ(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = sorted(key for key in environ if key not in ("wsgi.input", "wsgi.errors"))
    return [f"{key}={environ[key]!r}\n".encode() for key in keys]


def raises(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("Something went wrong")


def raises_after_start(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    try:
        raise RuntimeError("Something went wrong")
    except RuntimeError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"Internal Server Error"]


def run(module: Any, wsgi_app: Any, **kwargs: Any) -> Messages | str:
    try:
        return asgi(module.WSGIMiddleware(wsgi_app), **kwargs)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("wsgi_app", [hello_world, echo_body, echo_environ, raises, raises_after_start])
def test_wsgi_matches_starlette(wsgi_app: Any) -> None:
    kwargs: dict[str, Any] = {
        "method": "POST",
        "path": "/sub/path/é",
        "headers": [(b"content-type", b"text/plain"), (b"x-multi", b"a"), (b"x-multi", b"b")],
        "body_chunks": [b"abc", b"def"],
        "scope_extra": {"root_path": "/sub", "query_string": b"q=1"},
    }
    assert run(TACHYON_WSGI, wsgi_app, **kwargs) == run(STARLETTE_WSGI, wsgi_app, **kwargs)


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "http", "method": "GET", "path": "/", "query_string": b"", "http_version": "1.1", "headers": []},
        {
            "type": "http",
            "method": "PUT",
            "path": "/a/b",
            "root_path": "/a",
            "query_string": b"x=%20",
            "http_version": "2",
            "scheme": "https",
            "server": ("example.com", 443),
            "client": ("10.0.0.1", 5000),
            "headers": [(b"content-length", b"3"), (b"accept", b"a"), (b"accept", b"b"), (b"x-dashed-name", b"v")],
        },
    ],
)
def test_build_environ_matches_starlette(scope: dict[str, Any]) -> None:
    ours = TACHYON_WSGI.build_environ(scope, b"abc")
    theirs = STARLETTE_WSGI.build_environ(scope, b"abc")
    assert ours.pop("wsgi.input").read() == theirs.pop("wsgi.input").read()
    assert list(ours.items()) == list(theirs.items())
