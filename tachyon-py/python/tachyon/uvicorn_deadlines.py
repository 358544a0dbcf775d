"""Deadlines for slow clients under uvicorn, which has none while a request is being read.

uvicorn's only timer, `timeout_keep_alive`, runs between requests; a client that sends half
its headers, or half its body, and stalls, keeps its connection (and, for a body, its task)
forever. `DeadlineProtocol` is uvicorn's httptools protocol with two timers more: from the
connection (or the first byte of the next request) to the end of the headers, and from there
to the end of the body. When one fires the connection is closed; an app waiting for the body
receives `http.disconnect`, as when the client goes away.

It also caps the request head (request line and headers) at `DeadlineProtocol.max_head_bytes`
(417,792 bytes, Granian's default HTTP/1 buffer), answering 431 beyond it: httptools has no
limit of its own, so a client could otherwise grow a connection's memory for as long as the
header deadline lets it send.

The deadlines come from the environment (`TACHYON_HEADER_TIMEOUT`, `TACHYON_BODY_TIMEOUT`,
in seconds), so that uvicorn's worker processes, which import this module afresh, see them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any

from tachyon._tachyon import DEFAULT_MAX_HEAD_BYTES
from tachyon.rsgi import BODY_TIMEOUT_ENV

__all__ = ["HEADER_TIMEOUT_ENV", "MAX_HEAD_BYTES", "DeadlineProtocol", "protocol_with_deadlines"]

HEADER_TIMEOUT_ENV = "TACHYON_HEADER_TIMEOUT"
"""Environment variable holding the header deadline in seconds."""
MAX_HEAD_BYTES = DEFAULT_MAX_HEAD_BYTES
"""The default cap on a request head under uvicorn, in bytes (Granian's default HTTP/1 buffer)."""
_TOO_LARGE = b"Request Header Fields Too Large"


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
        """uvicorn's httptools protocol, closing connections whose headers or body are late,
        and answering 431 to a request head over `max_head_bytes`."""

        max_head_bytes: int = MAX_HEAD_BYTES
        """Bytes a connection may send from the start of a request to the end of its headers
        (counted per read, so a request is refused within one read of the limit)."""

        _deadline: asyncio.TimerHandle | None = None
        # Bytes received of the request head being read; None while a body is read.
        _head_bytes: int | None = 0

        def data_received(self, data: bytes) -> None:
            if self._head_bytes is not None:
                self._head_bytes += len(data)
                if self._head_bytes > self.max_head_bytes:
                    self._refuse_head()
                    return
            super().data_received(data)

        def _refuse_head(self) -> None:
            self._disarm()
            self._head_bytes = None
            if self.transport.is_closing():
                return
            head = (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_TOO_LARGE)
            )
            self.transport.write(head + _TOO_LARGE)
            self.transport.close()

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
            self._head_bytes = None
            super().on_headers_complete()
            self._arm(_seconds(BODY_TIMEOUT_ENV))

        def handle_websocket_upgrade(self) -> None:
            # The transport now belongs to the websocket protocol, with its own timers.
            self._disarm()
            self._head_bytes = None
            super().handle_websocket_upgrade()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()
            self._head_bytes = 0
