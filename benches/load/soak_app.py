"""The app `soak.py` serves: the four load scenarios, an upload, a body sink and a diagnostic route.

- `GET /`, `GET /users/{id:int}`, `POST /echo` and any other path (404): as `apps.tachyon_app`.
- `POST /upload`: reads a multipart form (`await request.form()`, left to the framework to
  close, as most apps do) and answers the file's size and whether it rolled over to disk.
  The spool's memory limit is lowered to `SPOOL_MAX_SIZE` so that each upload of the soak
  rolls to disk without sending megabytes per request.
- `POST /slurp`: reads the whole body and answers its length.
- `GET /_diag`: what the serving process holds, read inside it: its pid, the asyncio tasks of
  its loop, its open descriptors (and those in the temporary directory: spooled uploads are
  unnamed files there), the names in the temporary directory, the live `Request` and
  `UploadFile` objects (after a collection), and the native module's build profile.
"""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile

from apps import echo, hello, user  # the load scenarios' endpoints (served from this folder)

from tachyon import JSONResponse, Request, Route, TachyonEngine
from tachyon._tachyon import build_profile
from tachyon.datastructures import UploadFile
from tachyon.formparsers import MultiPartParser

__all__ = ["SPOOL_MAX_SIZE", "app"]

SPOOL_MAX_SIZE = 64 * 1024
"""Bytes an upload keeps in memory before it rolls to a temporary file (the default is 1 MiB)."""
MultiPartParser.spool_max_size = SPOOL_MAX_SIZE


async def upload(request: Request) -> JSONResponse:
    form = await request.form()
    file = form["file"]
    assert isinstance(file, UploadFile)
    rolled = bool(getattr(file.file, "_rolled", False))
    data = await file.read()
    return JSONResponse({"size": len(data), "rolled": rolled, "note": form["note"]})


async def slurp(request: Request) -> JSONResponse:
    return JSONResponse({"size": len(await request.body())})


def _fd_targets() -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listdir itself used, closed since
            continue
    return targets


async def diag(request: Request) -> JSONResponse:
    gc.collect()
    tmp = tempfile.gettempdir()
    targets = _fd_targets()
    live = gc.get_objects()
    return JSONResponse(
        {
            "pid": os.getpid(),
            "build_profile": build_profile,
            # This request's own task (if the server runs it as one) is among them.
            "tasks": len(asyncio.all_tasks()),
            "fds": len(targets),
            "temp_dir": tmp,
            "temp_fds": sum(1 for t in targets if t.startswith(tmp + os.sep)),
            "temp_files": len(os.listdir(tmp)),
            "requests": sum(1 for o in live if isinstance(o, Request)),
            "upload_files": sum(1 for o in live if isinstance(o, UploadFile)),
        }
    )


app = TachyonEngine(
    routes=[
        Route("/", hello),
        Route("/users/{id:int}", user),
        Route("/echo", echo, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/slurp", slurp, methods=["POST"]),
        Route("/_diag", diag),
    ]
)
