"""`CORSMiddleware`: answers preflight requests and adds CORS headers to the others."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from tachyon.datastructures import Headers, MutableHeaders
from tachyon.responses import PlainTextResponse, Response
from tachyon.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ALL_METHODS", "SAFELISTED_HEADERS", "CORSMiddleware"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}

_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)


class CORSMiddleware:
    """Cross-Origin Resource Sharing.

    The header dicts for simple and preflight responses are built once here; their key
    order is the order the headers appear in responses.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        if "*" in allow_methods:
            allow_methods = ALL_METHODS

        allow_all_origins = "*" in allow_origins
        allow_all_headers = "*" in allow_headers
        # With credentials a browser refuses "*", so the origin is echoed back instead.
        preflight_explicit_allow_origin = not allow_all_origins or allow_credentials

        simple_headers: dict[str, str] = {}
        if allow_all_origins:
            simple_headers["Access-Control-Allow-Origin"] = "*"
        if allow_credentials:
            simple_headers["Access-Control-Allow-Credentials"] = "true"
        if expose_headers:
            simple_headers["Access-Control-Expose-Headers"] = ", ".join(expose_headers)

        preflight_headers: dict[str, str] = {"Vary": _PREFLIGHT_VARY}
        if not preflight_explicit_allow_origin:
            preflight_headers["Access-Control-Allow-Origin"] = "*"
        preflight_headers["Access-Control-Allow-Methods"] = ", ".join(allow_methods)
        preflight_headers["Access-Control-Max-Age"] = str(max_age)
        allowed_header_names = sorted(SAFELISTED_HEADERS | set(allow_headers))
        if allowed_header_names and not allow_all_headers:
            preflight_headers["Access-Control-Allow-Headers"] = ", ".join(allowed_header_names)
        if allow_credentials:
            preflight_headers["Access-Control-Allow-Credentials"] = "true"

        self.app = app
        self.allow_origins = allow_origins
        self.allow_methods = allow_methods
        self.allow_headers = [name.lower() for name in allowed_header_names]
        self.allow_all_origins = allow_all_origins
        self.allow_all_headers = allow_all_headers
        self.allow_credentials = allow_credentials
        self.preflight_explicit_allow_origin = preflight_explicit_allow_origin
        self.allow_origin_regex = None if allow_origin_regex is None else re.compile(allow_origin_regex)
        self.allow_private_network = allow_private_network
        self.simple_headers = simple_headers
        self.preflight_headers = preflight_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        if (
            scope["method"] == "OPTIONS"
            and headers.get("origin") is not None
            and "access-control-request-method" in headers
        ):
            response = self.preflight_response(request_headers=headers)
            await response(scope, receive, send)
            return

        await self.simple_response(scope, receive, send, request_headers=headers)

    def is_allowed_origin(self, origin: str) -> bool:
        """Whether `origin` is allowed: everything, a regex full match, or listed."""
        if self.allow_all_origins:
            return True
        if self.allow_origin_regex is not None and self.allow_origin_regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    def preflight_response(self, request_headers: Headers) -> Response:
        """The answer to an OPTIONS preflight: 200 "OK", or 400 naming what was refused."""
        origin = request_headers["origin"]
        method = request_headers["access-control-request-method"]
        requested_headers = request_headers.get("access-control-request-headers")
        private_network = request_headers.get("access-control-request-private-network")

        headers = dict(self.preflight_headers)
        failures: list[str] = []

        if not self.is_allowed_origin(origin=origin):
            failures.append("origin")
        elif self.preflight_explicit_allow_origin:
            headers["Access-Control-Allow-Origin"] = origin

        if method not in self.allow_methods:
            failures.append("method")

        if requested_headers is not None:
            if self.allow_all_headers:
                # "*" is not honoured with credentials, so mirror what was asked for.
                headers["Access-Control-Allow-Headers"] = requested_headers
            elif any(name.lower().strip() not in self.allow_headers for name in requested_headers.split(",")):
                failures.append("headers")

        if private_network is not None:
            if self.allow_private_network:
                headers["Access-Control-Allow-Private-Network"] = "true"
            else:
                failures.append("private-network")

        # The browser enforces CORS either way; a 400 just tells a developer why.
        if failures:
            return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers)
        return PlainTextResponse("OK", status_code=200, headers=headers)

    async def simple_response(self, scope: Scope, receive: Receive, send: Send, request_headers: Headers) -> None:
        """Run the app, adding CORS headers to its response start."""
        send = functools.partial(self.send, send=send, request_headers=request_headers)
        await self.app(scope, receive, send)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if message["type"] != "http.response.start":
            await send(message)
            return

        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        origin = request_headers.get("Origin")
        if origin is not None:
            headers.update(self.simple_headers)

        if origin is not None and (
            # With credentials the exact origin must be echoed, never "*".
            (self.allow_all_origins and self.allow_credentials)
            # With a list or regex, echo the origin when it is allowed.
            or (not self.allow_all_origins and self.is_allowed_origin(origin=origin))
        ):
            self.allow_explicit_origin(headers, origin)
        else:
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])

        await send(message)

    @staticmethod
    def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
        """Echo `origin` as the allowed origin, and vary on Origin."""
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
