"""Tachyon Engine: Starlette's API, with routing, parsing and JSON done in Rust.

The common names are re-exported here::

    from tachyon import TachyonEngine, Route, Request, JSONResponse

They are imported on first use (PEP 562), so `import tachyon` alone stays light: the
drop-in alias (`tachyon.compat`, switched on by TACHYON_AS_STARLETTE=1) is installed at
interpreter startup, before a test runner or server has imported anything else.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tachyon import compat as _compat

if TYPE_CHECKING:
    from tachyon._tachyon import __version__, build_profile
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

# Where each re-exported name lives.
_EXPORTS = {
    "__version__": "tachyon._tachyon",
    "build_profile": "tachyon._tachyon",
    "Starlette": "tachyon.applications",
    "TachyonEngine": "tachyon.applications",
    "BackgroundTask": "tachyon.background",
    "BackgroundTasks": "tachyon.background",
    "URL": "tachyon.datastructures",
    "Headers": "tachyon.datastructures",
    "QueryParams": "tachyon.datastructures",
    "State": "tachyon.datastructures",
    "HTTPException": "tachyon.exceptions",
    "Middleware": "tachyon.middleware",
    "Request": "tachyon.requests",
    "FileResponse": "tachyon.responses",
    "HTMLResponse": "tachyon.responses",
    "JSONResponse": "tachyon.responses",
    "PlainTextResponse": "tachyon.responses",
    "RedirectResponse": "tachyon.responses",
    "Response": "tachyon.responses",
    "StreamingResponse": "tachyon.responses",
    "Host": "tachyon.routing",
    "Mount": "tachyon.routing",
    "Route": "tachyon.routing",
    "Router": "tachyon.routing",
    "WebSocketRoute": "tachyon.routing",
    "WebSocket": "tachyon.websockets",
    "WebSocketDisconnect": "tachyon.websockets",
}

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
    "build_profile",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tachyon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# TACHYON_AS_STARLETTE=1: install the drop-in alias as soon as Tachyon is imported.
if _compat._env_requests_alias():
    _compat.install()
