"""Deadlines for slow clients under uvicorn, which has none while a request is being read.

uvicorn's only timer, `timeout_keep_alive`, runs between requests; a client that sends half
its headers, or half its body, and stalls, keeps its connection (and, for a body, its task)
forever. `DeadlineProtocol` is uvicorn's httptools protocol with two timers more: from the
connection (or the first byte of the next request) to the end of the headers, and from there
to the end of the body. When one fires the connection is closed; an app waiting for the body
receives `http.disconnect`, as when the client goes away.

The deadlines come from the environment (`TACHYON_HEADER_TIMEOUT`, `TACHYON_BODY_TIMEOUT`,
in seconds), so that uvicorn's worker processes, which import this module afresh, see them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any

from tachyon.rsgi import BODY_TIMEOUT_ENV

__all__ = ["HEADER_TIMEOUT_ENV", "DeadlineProtocol", "protocol_with_deadlines"]

HEADER_TIMEOUT_ENV = "TACHYON_HEADER_TIMEOUT"
"""Environment variable holding the header deadline in seconds."""


def _seconds(name: str) -> float | None:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def protocol_with_deadlines(header_timeout: float, body_timeout: float | None) -> Any:
    """The `http=` protocol for uvicorn enforcing both deadlines ("auto" without httptools).

    Sets the environment variables that carry the deadlines to uvicorn's workers.
    """
    os.environ[HEADER_TIMEOUT_ENV] = str(header_timeout)
    os.environ[BODY_TIMEOUT_ENV] = str(body_timeout) if body_timeout else "none"
    if importlib.util.find_spec("httptools") is None:
        return "auto"  # h11 alone: only uvicorn's keep-alive timer applies (see docs/security.md).
    return DeadlineProtocol


if importlib.util.find_spec("httptools") is not None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, closing connections whose headers or body are late."""

        _deadline: asyncio.TimerHandle | None = None

        def _arm(self, seconds: float | None) -> None:
            self._disarm()
            if seconds is not None:
                self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(_seconds(HEADER_TIMEOUT_ENV))

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm(_seconds(HEADER_TIMEOUT_ENV))

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(_seconds(BODY_TIMEOUT_ENV))

        def handle_websocket_upgrade(self) -> None:
            # The transport now belongs to the websocket protocol, with its own timers.
            self._disarm()
            super().handle_websocket_upgrade()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()
