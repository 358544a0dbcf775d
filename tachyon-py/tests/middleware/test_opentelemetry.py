"""OpenTelemetryMiddleware on Starlette and on Tachyon: the same spans for the same requests.

Regression: Tachyon had no `tachyon.middleware.opentelemetry`, so Starlette 1.10's
tests/middleware/test_opentelemetry.py could not even be imported.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


def build(name: str, provider: TracerProvider, **options: Any) -> Any:
    def mod(sub: str) -> Any:
        return importlib.import_module(f"{name}.{sub}")

    Starlette = mod("applications").Starlette
    Route, Mount = mod("routing").Route, mod("routing").Mount
    PlainTextResponse = mod("responses").PlainTextResponse
    Middleware = mod("middleware").Middleware
    OpenTelemetryMiddleware = mod("middleware.opentelemetry").OpenTelemetryMiddleware

    async def user(request: Any) -> Any:
        return PlainTextResponse(f"user {request.path_params['user_id']}")

    async def boom(request: Any) -> Any:
        raise ValueError("boom")

    async def fail(request: Any) -> Any:
        return PlainTextResponse("nope", status_code=503)

    inner = Starlette(routes=[Route("/items/{user_id:int}", user, name="item")])
    return Starlette(
        routes=[
            Route("/users/{user_id}", user),
            Route("/boom", boom),
            Route("/fail", fail),
            Mount("/api", app=inner),
            Mount("/static", app=PlainTextResponse("static")),
        ],
        middleware=[Middleware(OpenTelemetryMiddleware, tracer_provider=provider, **options)],
    )


def spans_for(name: str, requests: list[tuple[str, str, dict[str, str]]], **options: Any) -> list[Any]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = importlib.import_module(f"{name}.testclient").TestClient(
        build(name, provider, **options), raise_server_exceptions=False
    )
    for method, path, headers in requests:
        client.request(method, path, headers=headers)
    return [
        (span.name, span.kind, dict(span.attributes or {}), span.status.status_code, span.parent is not None)
        for span in exporter.get_finished_spans()
    ]


REQUESTS = [
    ("GET", "/users/7?x=1", {"user-agent": "probe/1"}),
    ("get", "/users/8", {}),
    ("GET", "/boom", {}),
    ("GET", "/fail", {}),
    ("GET", "/api/items/3", {}),
    ("GET", "/static/x.txt", {}),
    ("GET", "/missing", {}),
    ("GET", "/users/9", {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}),
]


def test_spans_match_starlette() -> None:
    theirs = spans_for("starlette", REQUESTS)
    ours = spans_for("tachyon", REQUESTS)
    assert len(ours) == len(REQUESTS)
    assert ours == theirs


@pytest.mark.parametrize("excluded", ["/users/.*,/boom", ["/users/.*", "/boom"]])
def test_excluded_urls_match_starlette(excluded: Any) -> None:
    assert spans_for("tachyon", REQUESTS, excluded_urls=excluded) == spans_for(
        "starlette", REQUESTS, excluded_urls=excluded
    )
