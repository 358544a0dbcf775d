"""`OpenTelemetryMiddleware`: one OpenTelemetry server span per HTTP request, as Starlette 1.10's.

Experimental in Starlette too: the emitted telemetry may change in minor releases. The span is
named after the method, then renamed `"{method} {route}"` once the router has matched a route
(the router leaves it in `scope["route"]`). Nested applications reuse the outer span: the scope
key that marks an instrumented request is Starlette's, so mixing Starlette and Tachyon apps in one
stack still yields a single span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover
    raise ImportError("The `opentelemetry-api` package is required to use `OpenTelemetryMiddleware`.") from None

from tachyon import __version__
from tachyon.datastructures import URL
from tachyon.routing import Mount
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["OpenTelemetryMiddleware"]

_SCOPE_KEY = "starlette.opentelemetry"


def _split_patterns(excluded_urls: str | Sequence[str]) -> Sequence[str]:
    if isinstance(excluded_urls, str):
        return [pattern.strip() for pattern in excluded_urls.split(",")] if excluded_urls else ()
    return excluded_urls


def _request_attributes(scope: Scope, url: URL, method: str, headers: dict[str, list[str]]) -> dict[str, str | int]:
    original_method = scope.get("method", "")
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
    }
    if original_method != method:
        attributes["http.request.method_original"] = original_method
    if url.query:
        attributes["url.query"] = url.query
    if url.hostname is not None:
        attributes["server.address"] = url.hostname
        server = scope.get("server")
        port = url.port if url.port is not None else (server[1] if server is not None else None)
        if port is not None:
            attributes["server.port"] = port
    if scope.get("http_version"):
        attributes["network.protocol.version"] = scope["http_version"]
    if scope.get("client") is not None:
        attributes["client.address"] = scope["client"][0]
    if headers.get("user-agent"):
        attributes["user_agent.original"] = headers["user-agent"][0]
    return attributes


def _route_path(scope: Scope) -> str | None:
    route = scope.get("route")
    if isinstance(route, Mount):
        return scope.get("root_path") or "/"
    path_format = getattr(route, "path_format", None)
    if not isinstance(path_format, str):
        return None
    return scope.get("root_path", "").rstrip("/") + path_format or "/"


class OpenTelemetryMiddleware:
    """Create OpenTelemetry server spans for incoming HTTP requests.

    Args:
        app: The ASGI application to wrap.
        excluded_urls: Regular expressions searched for in the full request URL; a
            comma-separated string or a sequence. By default no URL is excluded.
        tracer_provider: The tracer provider; the global one if omitted.
        meter_provider: The meter provider; the global one if omitted.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        excluded_urls: str | Sequence[str] = (),
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.app = app
        self._meter_provider = meter_provider
        self._excluded_urls = tuple(re.compile(pattern) for pattern in _split_patterns(excluded_urls))
        self._tracer_provider = tracer_provider or trace.get_tracer_provider()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(_SCOPE_KEY):
            return await self.app(scope, receive, send)

        scope[_SCOPE_KEY] = True
        try:
            await self._traced(scope, receive, send)
        finally:
            del scope[_SCOPE_KEY]

    async def _traced(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer_provider = self._tracer_provider
        if isinstance(tracer_provider, trace.NoOpTracerProvider):
            return await self.app(scope, receive, send)

        url = URL(scope=scope)
        if any(pattern.search(str(url)) for pattern in self._excluded_urls):
            return await self.app(scope, receive, send)

        method = scope.get("method", "").upper()
        headers: dict[str, list[str]] = {}
        for name, value in scope.get("headers", []):
            headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))

        tracer = tracer_provider.get_tracer("tachyon", __version__)
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes=_request_attributes(scope, url, method, headers),
        ) as span:

            async def send_with_telemetry(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_code = message["status"]
                    span.set_attribute("http.response.status_code", status_code)
                    if status_code >= 500:
                        span.set_attribute("error.type", str(status_code))
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                await self.app(scope, receive, send_with_telemetry)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                raise
            finally:
                route_path = _route_path(scope)
                if route_path is not None:
                    span.update_name(f"{method} {route_path}")
                    span.set_attribute("http.route", route_path)
