"""Sends the drop-in differential requests to tests/_fastapi_app.py; prints the responses.

Run as a script (`python _fastapi_driver.py`), once on real Starlette and once with
TACHYON_AS_STARLETTE=1: the two JSON outputs must be equal (test_fastapi_differential.py).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _fastapi_app  # noqa: E402
import starlette  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

JSON_HEADERS = {"X-Token": "secret"}

# (method, url, keyword arguments for the client). At least 40 kinds, error paths included.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/", {}),
    ("HEAD", "/", {}),
    ("GET", "/sync", {}),
    ("GET", "/items/5", {}),
    ("GET", "/items/5?q=search&skip=2&limit=3", {"headers": {"User-Agent": "differential"}}),
    ("GET", "/items/0", {}),  # Path(ge=1): 422
    ("GET", "/items/abc", {}),  # not an int: 422
    ("GET", "/items/5?limit=notanint", {}),  # query validation: 422
    ("GET", "/users/me", {}),  # declared before /users/{user_id}: it wins
    ("GET", "/users/alice", {}),
    ("POST", "/items/", {"json": {"name": "Foo", "price": 3.5, "tags": ["a"]}}),
    ("POST", "/items/", {"json": {"name": "Foo", "price": -1}}),  # Field(gt=0): 422
    ("POST", "/items/", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/items/", {"content": b"name=x", "headers": {"Content-Type": "text/plain"}}),
    ("POST", "/items/", {}),  # missing body
    ("PUT", "/items/7", {"json": {"item": {"name": "Baz", "price": 1}, "importance": 2}, "headers": JSON_HEADERS}),
    ("PUT", "/items/7", {"json": {"item": {"name": "Baz", "price": 1}, "importance": 2}}),  # no token: 422
    (
        "PUT",
        "/items/7",
        {"json": {"item": {"name": "Baz", "price": 1}, "importance": 2}, "headers": {"X-Token": "wrong"}},
    ),
    ("GET", "/cookies", {"cookies": {"session_id": "s1", "theme": "dark"}}),
    ("GET", "/cookies", {}),
    ("GET", "/set-cookie", {}),
    ("GET", "/paged?page=3&size=50", {}),
    ("GET", "/paged?size=500", {}),  # le=100: 422
    ("GET", "/with-resources", {}),
    ("GET", "/http-error/404", {}),
    ("GET", "/http-error/401", {}),
    ("GET", "/http-error/304", {}),
    ("GET", "/teapot/kettle", {}),
    ("GET", "/html", {}),
    ("GET", "/text", {}),
    ("GET", "/redirect", {"follow_redirects": False}),
    ("GET", "/redirect", {}),
    ("GET", "/stream", {}),
    ("GET", "/large", {"headers": {"Accept-Encoding": "gzip"}}),
    ("GET", "/large", {"headers": {"Accept-Encoding": "identity"}}),
    ("GET", "/response-model", {}),
    ("GET", "/exclude-unset", {}),
    ("POST", "/background?message=queued", {}),
    ("POST", "/form", {"data": {"username": "bob", "age": "33"}}),
    ("POST", "/form", {"data": {"age": "33"}}),  # missing field: 422
    ("POST", "/upload", {"files": {"file": ("hello.txt", b"hello world" * 100, "text/plain")}, "data": {"note": "n"}}),
    ("POST", "/upload", {"data": {"note": "no file"}}),  # 422
    ("POST", "/files", {"files": [("files", ("a.bin", b"a" * 10)), ("files", ("b.bin", b"b" * 2000))]}),
    ("GET", "/request-info?x=1&y=2", {}),
    ("GET", "/v1/things/9", {}),
    ("DELETE", "/v1/things/9", {}),
    ("GET", "/v1/things/nine", {}),
    ("POST", "/v1/things/9", {}),  # 405 with Allow
    ("GET", "/sub/sub-items?z=1", {}),
    ("GET", "/sub/missing", {}),
    ("GET", "/plain/hello", {}),
    ("GET", "/does-not-exist", {}),
    ("GET", "/users/me/", {"follow_redirects": False}),  # redirect_slashes
    ("POST", "/", {}),  # 405
    ("OPTIONS", "/items/5", {"headers": {"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}}),
    ("OPTIONS", "/items/5", {"headers": {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}}),
    ("GET", "/items/5", {"headers": {"Origin": "https://example.org"}}),
    ("GET", "/custom-validation/x", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/docs", {}),
    ("GET", "/redoc", {}),
    ("GET", "/docs/oauth2-redirect", {}),
    ("GET", "/events", {}),
]


def encode(response: Any) -> dict[str, Any]:
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response.headers.raw]
    if response.headers.get("content-encoding"):
        # The compressed bytes (and so their length) depend on the compressor; what the
        # client reads after decoding must be identical.
        headers = [[k, v] for k, v in headers if k.lower() != "content-length"]
    return {
        "status": response.status_code,
        "headers": headers,
        "body": base64.b64encode(response.content).decode(),
    }


def websocket_cases(client: TestClient) -> list[Any]:
    results: list[Any] = []
    try:
        with client.websocket_connect("/ws/lobby?token=bad") as ws:
            ws.receive_json()
    except WebSocketDisconnect as exc:
        results.append(["denied", exc.code, exc.reason])
    with client.websocket_connect("/ws/lobby?token=ok") as ws:
        ws.send_json({"n": 1})
        results.append(ws.receive_json())
        ws.send_json(["é", 2.5, None])
        results.append(ws.receive_json())
    try:
        with client.websocket_connect("/nope") as ws:
            ws.receive_text()
    except WebSocketDisconnect as exc:
        results.append(["no route", exc.code])
    return results


def main() -> None:
    out: dict[str, Any] = {"starlette_version": starlette.__version__, "responses": [], "websocket": None}
    with TestClient(_fastapi_app.app) as client:
        for method, url, kwargs in REQUESTS:
            response = client.request(method, url, **kwargs)
            out["responses"].append([method, url, encode(response)])
        out["websocket"] = websocket_cases(client)
        # Dependencies with yield clean up after the response; background tasks run after it.
        out["events_after"] = client.get("/events").json()
    out["events_final"] = list(_fastapi_app.EVENTS)
    # A TestClient used without `with`: no lifespan, requests still served.
    bare = TestClient(_fastapi_app.app, raise_server_exceptions=False)
    out["bare"] = [encode(bare.get("/")), encode(bare.get("/items/3?q=z"))]
    out["runs_on"] = type(_fastapi_app.app.router).__mro__[-2].__module__
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
