"""`TrustedHostMiddleware`: refuse requests whose Host header is not an allowed host."""

from __future__ import annotations

from collections.abc import Sequence

from tachyon._utils import parse_host_header
from tachyon.datastructures import URL, Headers
from tachyon.responses import PlainTextResponse, RedirectResponse, Response
from tachyon.types import ASGIApp, Receive, Scope, Send

__all__ = ["ENFORCE_DOMAIN_WILDCARD", "TrustedHostMiddleware"]

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


class TrustedHostMiddleware:
    """Allow only `allowed_hosts` (exact names, `*.example.com` wildcards, or `*`).

    With `www_redirect`, a request for `example.com` when only `www.example.com` is
    allowed is redirected there instead of refused. A request with more than one Host header
    is refused (RFC 9112 section 3.2 requires a 400), where Starlette checks only the first.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] | None = None,
        www_redirect: bool = True,
    ) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        for pattern in allowed_hosts:
            assert "*" not in pattern[1:], ENFORCE_DOMAIN_WILDCARD
            if pattern.startswith("*") and pattern != "*":
                assert pattern.startswith("*."), ENFORCE_DOMAIN_WILDCARD
        self.app = app
        self.allowed_hosts = [pattern.lower() for pattern in allowed_hosts]
        self.allow_any = "*" in allowed_hosts
        self.www_redirect = www_redirect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket"):  # pragma: no cover
            await self.app(scope, receive, send)
            return

        hosts = Headers(scope=scope).getlist("host")
        parsed = parse_host_header(hosts[0]) if len(hosts) == 1 else None
        if parsed is None:
            await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
            return
        host = parsed.host.lower()

        redirect_to_www = False
        for pattern in self.allowed_hosts:
            if host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:])):
                await self.app(scope, receive, send)
                return
            if pattern == "www." + host:
                redirect_to_www = True

        response: Response
        if redirect_to_www and self.www_redirect:
            url = URL(scope=scope)
            response = RedirectResponse(url=str(url.replace(netloc="www." + url.netloc)))
        else:
            response = PlainTextResponse("Invalid host header", status_code=400)
        await response(scope, receive, send)
