"""Tachyon Engine: Starlette's API, with routing, parsing and JSON done in Rust.

The common names are re-exported here::

    from tachyon import TachyonEngine, Route, Request, JSONResponse
"""

from tachyon._tachyon import __version__
from tachyon.applications import Starlette, TachyonEngine
from tachyon.background import BackgroundTask, BackgroundTasks
from tachyon.datastructures import URL, Headers, QueryParams, State
from tachyon.exceptions import HTTPException
from tachyon.middleware import Middleware
from tachyon.requests import Request
from tachyon.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from tachyon.routing import Host, Mount, Route, Router, WebSocketRoute
from tachyon.websockets import WebSocket, WebSocketDisconnect

__all__ = [
    "URL",
    "BackgroundTask",
    "BackgroundTasks",
    "FileResponse",
    "HTMLResponse",
    "HTTPException",
    "Headers",
    "Host",
    "JSONResponse",
    "Middleware",
    "Mount",
    "PlainTextResponse",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Route",
    "Router",
    "Starlette",
    "State",
    "StreamingResponse",
    "TachyonEngine",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketRoute",
    "__version__",
]
