"""The hello app on Starlette and on Tachyon: same requests, byte-identical responses."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest


def hello_app(fw: SimpleNamespace) -> Any:
    JSONResponse = fw.responses.JSONResponse
    PlainTextResponse = fw.responses.PlainTextResponse
    HTMLResponse = fw.responses.HTMLResponse
    Route = fw.routing.Route

    async def homepage(request: Any) -> Any:
        return JSONResponse({"message": "Hello, World!"})

    async def user(request: Any) -> Any:
        return JSONResponse(
            {
                "id": request.path_params["id"],
                "q": request.query_params.get("q"),
                "all": request.query_params.getlist("q"),
                "items": list(request.query_params.multi_items()),
            }
        )

    async def echo(request: Any) -> Any:
        return JSONResponse(await request.json(), status_code=201)

    async def text(request: Any) -> Any:
        return PlainTextResponse(f"{request.method} {request.url.path} {request.headers.get('X-Thing')}")

    def html(request: Any) -> Any:  # a sync endpoint runs in the threadpool
        return HTMLResponse("<h1>hé</h1>", headers={"X-Custom": "1"})

    async def typed(request: Any) -> Any:
        p = request.path_params
        return JSONResponse({k: [type(v).__name__, str(v)] for k, v in p.items()})

    return fw.applications.Starlette(
        routes=[
            Route("/", homepage),
            Route("/users/{id:int}", user),
            Route("/echo", echo, methods=["POST"]),
            Route("/text", text, methods=["GET", "PUT", "DELETE"]),
            Route("/html", html),
            Route("/typed/{f:float}/{u:uuid}/{rest:path}", typed),
            Route("/slash/", homepage),
        ]
    )


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/", {}),
    ("HEAD", "/", {}),
    ("GET", "/users/42", {}),
    ("GET", "/users/42?q=a&q=b&x=%20y+z&empty=&flag", {}),
    ("GET", "/users/007?q=%E2%82%AC", {}),
    ("GET", "/users/abc", {}),
    ("GET", "/users/-1", {}),
    ("POST", "/echo", {"json": {"a": [1, 2.5, None, True], "é": "ü", "nested": {"x": []}}}),
    ("POST", "/echo", {"content": b"[1,2,3]"}),
    ("POST", "/echo", {"content": b'"\\u00e9\\n"'}),
    ("GET", "/echo", {}),
    ("PUT", "/echo", {}),
    ("POST", "/", {}),
    ("DELETE", "/users/1", {}),
    ("GET", "/missing", {}),
    ("GET", "/text", {"headers": {"X-Thing": "value"}}),
    ("PUT", "/text", {}),
    ("PATCH", "/text", {}),
    ("GET", "/html", {}),
    ("GET", "/typed/1.5/12345678-1234-5678-1234-567812345678/a/b/c", {}),
    ("GET", "/typed/3/12345678123456781234567812345678/", {}),
    ("GET", "/slash", {"follow_redirects": False}),
    ("GET", "/slash", {}),
    ("GET", "/users/5/", {"follow_redirects": False}),
    ("GET", "/%E2%82%AC", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS, ids=[f"{m} {u}" for m, u, _ in REQUESTS])
def test_same_bytes_as_starlette(both: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    request = both(hello_app)
    request(method, url, **kwargs)


def test_covers_the_statuses_the_issue_names(both: Any) -> None:
    request = both(hello_app)
    assert request("GET", "/").status_code == 200
    assert request("GET", "/missing").status_code == 404
    response = request("POST", "/")
    assert response.status_code == 405
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD"]
    assert request("GET", "/users/42?q=x").json() == {"id": 42, "q": "x", "all": ["x"], "items": [["q", "x"]]}
    assert request("POST", "/echo", json={"k": [1]}).json() == {"k": [1]}
    assert request("GET", "/slash", follow_redirects=False).headers["location"] == "http://testserver/slash/"


def test_example_app_answers_like_the_readme() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    try:
        import hello
    finally:
        sys.path.pop(0)
    from tachyon.testclient import TestClient

    for app in (hello.app, hello.timed_app):
        client = TestClient(app)
        response = client.get("/")
        assert response.content == b'{"message":"Hello, World!"}'
        assert response.headers["content-type"] == "application/json"
        assert client.get("/users/7?q=hi").json() == {"id": 7, "q": "hi"}
        assert client.post("/echo", json={"a": 1}).json() == {"a": 1}
    assert "x-process-time" in TestClient(hello.timed_app).get("/").headers
    assert "x-process-time" not in TestClient(hello.app).get("/").headers
