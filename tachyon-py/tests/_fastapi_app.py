"""A FastAPI app touching what real apps use, for the drop-in differential test.

Written for FastAPI as its users write it (plain `fastapi` / `starlette` imports): the test
runs it once on real Starlette and once with `starlette` resolving to Tachyon.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Body,
    Cookie,
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse as StarlettePlainText
from starlette.routing import Route

EVENTS: list[str] = []
"""What dependencies' cleanups and background tasks did, in order (read by /events)."""


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)
    tags: list[str] = []
    description: str | None = None


class ItemOut(BaseModel):
    name: str
    price: float


class TeapotError(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    EVENTS.append("startup")
    yield {"greeting": "hello from lifespan"}
    EVENTS.append("shutdown")


app = FastAPI(title="Drop-in fixture", version="1.0.0", lifespan=lifespan)
app.add_middleware(GZipMiddleware, minimum_size=500)
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://example.org"],
    allow_methods=["GET", "POST"],
    allow_headers=["X-Token"],
    allow_credentials=True,
)


@app.middleware("http")
async def add_process_header(request: Request, call_next: Any) -> Response:
    response = await call_next(request)
    response.headers["X-Middleware"] = request.url.path
    return response


@app.exception_handler(TeapotError)
async def teapot_handler(request: Request, exc: TeapotError) -> JSONResponse:
    return JSONResponse(status_code=418, content={"message": f"{exc.name} is a teapot"})


# Dependencies: sync, async, yield (with cleanup after the response), nested, class-based.
def common_params(q: str | None = None, skip: int = 0, limit: int = 10) -> dict[str, Any]:
    return {"q": q, "skip": skip, "limit": limit}


async def verify_token(x_token: Annotated[str, Header()]) -> str:
    if x_token != "secret":
        raise HTTPException(status_code=400, detail="X-Token header invalid")
    return x_token


def db_session() -> Iterator[str]:
    EVENTS.append("db open")
    try:
        yield "session"
    finally:
        EVENTS.append("db close")


async def async_resource() -> AsyncIterator[str]:
    EVENTS.append("resource open")
    yield "resource"
    EVENTS.append("resource close")


class Pagination:
    def __init__(self, page: int = 1, size: int = Query(20, le=100)) -> None:
        self.page = page
        self.size = size


@app.get("/")
async def root() -> dict[str, str]:
    return {"message": "Hello World"}


@app.get("/sync")
def sync_root() -> dict[str, str]:
    return {"message": "from a thread"}


@app.get("/items/{item_id}")
async def read_item(
    item_id: Annotated[int, Path(ge=1)],
    commons: Annotated[dict[str, Any], Depends(common_params)],
    user_agent: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return {"item_id": item_id, "user_agent": user_agent, **commons}


@app.get("/users/me")
async def read_me() -> dict[str, str]:
    return {"user": "me"}


@app.get("/users/{user_id}")
async def read_user(user_id: str) -> dict[str, str]:
    return {"user_id": user_id}


@app.post("/items/", status_code=201, response_model=ItemOut)
async def create_item(item: Item, session: Annotated[str, Depends(db_session)]) -> Any:
    return item


@app.put("/items/{item_id}")
async def update_item(
    item_id: int,
    item: Item,
    importance: Annotated[int, Body(gt=0)],
    token: Annotated[str, Depends(verify_token)],
) -> dict[str, Any]:
    return {"item_id": item_id, "item": item.model_dump(), "importance": importance}


@app.get("/cookies")
async def read_cookies(
    session_id: Annotated[str | None, Cookie()] = None, theme: Annotated[str, Cookie()] = "light"
) -> dict[str, Any]:
    return {"session_id": session_id, "theme": theme}


@app.get("/set-cookie")
async def set_cookie(response: Response) -> dict[str, str]:
    response.set_cookie("session_id", "abc123", httponly=True, max_age=60)
    response.headers["X-Extra"] = "yes"
    return {"set": "ok"}


@app.get("/paged")
async def paged(p: Annotated[Pagination, Depends()]) -> dict[str, int]:
    return {"page": p.page, "size": p.size}


@app.get("/with-resources")
async def with_resources(
    session: Annotated[str, Depends(db_session)], resource: Annotated[str, Depends(async_resource)]
) -> dict[str, str]:
    return {"session": session, "resource": resource}


@app.get("/http-error/{code}")
async def http_error(code: int) -> None:
    raise HTTPException(status_code=code, detail=f"custom {code}", headers={"X-Error": "there"})


@app.get("/teapot/{name}")
async def teapot(name: str) -> None:
    raise TeapotError(name)


@app.get("/html", response_class=HTMLResponse)
async def html() -> str:
    return "<h1>Hé</h1>"


@app.get("/text", response_class=PlainTextResponse)
async def text() -> str:
    return "plain text"


@app.get("/redirect")
async def redirect() -> RedirectResponse:
    return RedirectResponse("/items/5?q=moved")


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def numbers() -> AsyncIterator[bytes]:
        for i in range(5):
            await asyncio.sleep(0)
            yield f"{i}\n".encode()

    return StreamingResponse(numbers(), media_type="text/plain")


@app.get("/large")
async def large() -> dict[str, Any]:
    return {"data": ["x" * 50 for _ in range(100)]}


@app.get("/response-model", response_model=ItemOut)
async def response_model_filter() -> dict[str, Any]:
    return {"name": "Foo", "price": 1.5, "secret": "never shown"}


@app.get("/exclude-unset", response_model=Item, response_model_exclude_unset=True)
async def exclude_unset() -> dict[str, Any]:
    return {"name": "Bar", "price": 2}


@app.post("/background")
async def background(tasks: BackgroundTasks, message: str = "hi") -> dict[str, str]:
    tasks.add_task(EVENTS.append, f"background {message}")
    return {"queued": message}


@app.post("/form")
async def form(username: Annotated[str, Form()], age: Annotated[int, Form()] = 0) -> dict[str, Any]:
    return {"username": username, "age": age}


@app.post("/upload")
async def upload(file: UploadFile, note: Annotated[str, Form()] = "") -> dict[str, Any]:
    content = await file.read()
    return {"filename": file.filename, "content_type": file.content_type, "size": len(content), "note": note}


@app.post("/files")
async def files(files: Annotated[list[bytes], File()]) -> dict[str, list[int]]:
    return {"sizes": [len(f) for f in files]}


@app.get("/request-info")
async def request_info(request: Request) -> dict[str, Any]:
    return {
        "url": str(request.url),
        "base_url": str(request.base_url),
        "root_path": request.scope.get("root_path"),
        "client": request.client.host if request.client else None,
        "route": getattr(request.scope.get("route"), "path", None),
        "path_params": request.path_params,
        "query": dict(request.query_params),
        "state": request.state.greeting,
        "url_for": str(request.url_for("read_item", item_id=3)),
    }


@app.get("/events")
async def events() -> list[str]:
    return EVENTS


async def ws_token(websocket: WebSocket, token: Annotated[str | None, Query()] = None) -> str | None:
    EVENTS.append(f"ws dependency for {websocket.url.path}")
    return token


@app.websocket("/ws/{room}")
async def websocket_endpoint(
    websocket: WebSocket,
    room: str,
    token: Annotated[str | None, Depends(ws_token)],
    session: Annotated[str, Depends(db_session)],
) -> None:
    if token != "ok":
        await websocket.close(code=1008, reason="bad token")
        return
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"room": room, "echo": data})
    except WebSocketDisconnect:
        EVENTS.append(f"ws {room} closed")


router = APIRouter(prefix="/v1", tags=["v1"], dependencies=[Depends(common_params)])


@router.get("/things/{thing_id}")
async def get_thing(thing_id: int) -> dict[str, int]:
    return {"thing_id": thing_id}


@router.delete("/things/{thing_id}", status_code=204)
async def delete_thing(thing_id: int) -> None:
    return None


app.include_router(router)


# A sub-application mounted below /sub (root_path for it), and a plain Starlette app.
subapi = FastAPI()


@subapi.get("/sub-items")
async def sub_items(request: Request) -> dict[str, Any]:
    return {"root_path": request.scope.get("root_path"), "url": str(request.url)}


app.mount("/sub", subapi)


async def plain(request: Any) -> StarlettePlainText:
    return StarlettePlainText(f"plain starlette at {request.url.path}")


app.mount("/plain", Starlette(routes=[Route("/hello", plain)]))


@app.exception_handler(RequestValidationError)
async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    if request.url.path.startswith("/custom-validation"):
        return JSONResponse(status_code=422, content={"custom": True, "errors": len(exc.errors())})
    return JSONResponse(status_code=422, content={"detail": jsonable(exc.errors())})


def jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors)


@app.get("/custom-validation/{n}")
async def custom_validation(n: int) -> dict[str, int]:
    return {"n": n}
