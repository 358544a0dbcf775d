"""`HTTPSRedirectMiddleware`: send plain http/ws requests to https/wss."""

from __future__ import annotations

from tachyon.datastructures import URL
from tachyon.responses import PlainTextResponse, RedirectResponse
from tachyon.types import ASGIApp, Receive, Scope, Send

__all__ = ["HTTPSRedirectMiddleware"]

_SECURE_SCHEME = {"http": "https", "ws": "wss"}


class HTTPSRedirectMiddleware:
    """Redirect (307) every insecure request to the same URL over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["scheme"] not in ("http", "ws"):
            await self.app(scope, receive, send)
            return

        url = URL(scope=scope)
        if not url.netloc:
            await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
            return
        # The default ports of either scheme are dropped rather than carried over.
        netloc = url.hostname if url.port in (80, 443) else url.netloc
        url = url.replace(scheme=_SECURE_SCHEME[url.scheme], netloc=netloc)
        await RedirectResponse(url, status_code=307)(scope, receive, send)
