"""The incoming request: `HTTPConnection` (shared with WebSockets) and `Request`.

Everything is lazy: nothing is parsed until it is asked for, and each part is parsed once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing
from http import cookies as http_cookies
from typing import TYPE_CHECKING, Any, Generic, NoReturn, cast

from tachyon._tachyon import json_loads_strict, parse_cookie, parse_options_header, request_cookies
from tachyon._utils import AwaitableOrContextManagerWrapper
from tachyon.datastructures import URL, Address, FormData, Headers, QueryParams, State
from tachyon.exceptions import HTTPException, JSONBodyDecodeError
from tachyon.formparsers import FormParser, MultiPartException, MultiPartParser
from tachyon.types import Message, Receive, Scope, Send

_STDLIB_JSON_LOADS = json.loads

if TYPE_CHECKING:
    from tachyon.datastructures import URLPath

if sys.version_info >= (3, 13):  # pragma: no cover
    from typing import TypeVar
else:  # pragma: no cover
    from typing_extensions import TypeVar

# What `request.state` is typed as: `Request[MyState]` narrows it, as in Starlette.
StateT = TypeVar("StateT", bound="Mapping[str, Any] | State", default=State)

__all__ = ["ClientDisconnect", "HTTPConnection", "Request", "StateT", "cookie_parser"]

# Headers a server push copies from the request that triggered it.
SERVER_PUSH_HEADERS_TO_COPY = {"accept", "accept-encoding", "accept-language", "cache-control", "user-agent"}


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Parse a Cookie header leniently, as browsers do (not strictly by RFC 6265).

    A chunk without `=` is a value with an empty name; later duplicates win; quoted
    values are unquoted with Python's cookie rules.
    """
    try:
        return parse_cookie(cookie_string)  # type: ignore[no-any-return]
    except UnicodeEncodeError:  # Lone surrogates: only Python's str methods take them.
        pass
    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        key, sep, val = chunk.partition("=")
        if not sep:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            cookies[key] = http_cookies._unquote(val)  # type: ignore[attr-defined]
    return cookies


class ClientDisconnect(Exception):
    """The client went away before the request body was read."""


class HTTPConnection(Mapping[str, Any], Generic[StateT]):
    """What HTTP requests and WebSocket sessions share: scope, URL, headers, params, state."""

    # Class-level defaults: a missing cached value costs an `is None` test, where an
    # AttributeError raised and caught cost ~0.5 us on first access (timeit, same run).
    _url: URL | None = None
    _headers: Headers | None = None
    _query_params: QueryParams | None = None
    _cookies: dict[str, str] | None = None

    def __init__(self, scope: Scope, receive: Receive | None = None) -> None:
        assert scope["type"] in ("http", "websocket")
        self.scope = scope

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def __len__(self) -> int:
        return len(self.scope)

    # Two connections are equal only if they are the same object.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def app(self) -> Any:
        """The application that received this connection."""
        return self.scope["app"]

    @property
    def url(self) -> URL:
        """The full request URL."""
        if self._url is None:
            self._url = URL(scope=self.scope)
        return self._url

    @property
    def base_url(self) -> URL:
        """The URL of the application root (used by `url_for`)."""
        try:
            return self._base_url
        except AttributeError:
            scope = dict(self.scope)
            # Inside a Mount the scope's root_path is the mount's; url_for needs the app's.
            app_root_path = scope.get("app_root_path", scope.get("root_path", ""))
            scope["path"] = app_root_path if app_root_path.endswith("/") else app_root_path + "/"
            scope["query_string"] = b""
            scope["root_path"] = app_root_path
            self._base_url: URL = URL(scope=scope)
            return self._base_url

    @property
    def headers(self) -> Headers:
        """The request headers (case-insensitive)."""
        if self._headers is None:
            self._headers = Headers(scope=self.scope)
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        """The query string parameters."""
        if self._query_params is None:
            self._query_params = QueryParams(self.scope["query_string"])
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        """The converted path parameters of the matched route."""
        return cast("dict[str, Any]", self.scope.get("path_params", {}))

    @property
    def cookies(self) -> dict[str, str]:
        """The request cookies, from every Cookie header."""
        if self._cookies is None:
            # One native call: every Cookie header of the raw list, parsed in order.
            self._cookies = request_cookies(self.headers._list)
        return self._cookies

    @property
    def client(self) -> Address | None:
        """The client's (host, port), if the server reports it."""
        host_port = self.scope.get("client")
        return None if host_port is None else Address(*host_port)

    @property
    def session(self) -> dict[str, Any]:
        """The session dict (needs SessionMiddleware)."""
        assert "session" in self.scope, "SessionMiddleware must be installed to access request.session"
        session = self.scope["session"]
        if hasattr(session, "mark_accessed"):
            session.mark_accessed()
        return cast("dict[str, Any]", session)

    @property
    def auth(self) -> Any:
        """The credentials set by AuthenticationMiddleware."""
        assert "auth" in self.scope, "AuthenticationMiddleware must be installed to access request.auth"
        return self.scope["auth"]

    @property
    def user(self) -> Any:
        """The user set by AuthenticationMiddleware."""
        assert "user" in self.scope, "AuthenticationMiddleware must be installed to access request.user"
        return self.scope["user"]

    @property
    def state(self) -> StateT:
        """Per-request state, stored in `scope["state"]`."""
        try:
            return cast(StateT, self._state)
        except AttributeError:
            self.scope.setdefault("state", {})
            self._state: State = State(self.scope["state"])
            return cast(StateT, self._state)

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called `name`."""
        provider = self.scope.get("router") or self.scope.get("app")
        if provider is None:
            raise RuntimeError("The `url_for` method can only be used inside a Starlette application or with a router.")
        url_path: URLPath = provider.url_path_for(name, **path_params)
        return url_path.make_absolute_url(base_url=self.base_url)


async def empty_receive() -> NoReturn:
    """The `receive` of a Request built without one."""
    raise RuntimeError("Receive channel has not been made available")


async def empty_send(message: Message) -> NoReturn:
    """The `send` of a Request built without one."""
    raise RuntimeError("Send channel has not been made available")


class Request(HTTPConnection[StateT]):
    """An HTTP request: the connection plus method and body."""

    # Class-level defaults: a request that never reads its body never sets them.
    _stream_consumed = False
    _is_disconnected = False
    _form: Any = None

    def __init__(self, scope: Scope, receive: Receive = empty_receive, send: Send = empty_send) -> None:
        assert scope["type"] == "http"
        self.scope = scope
        self._receive = receive
        self._send = send

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        return cast(str, self.scope["method"])

    @property
    def receive(self) -> Receive:
        """The ASGI receive callable."""
        return self._receive

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """Yield the body in chunks as they arrive (then a final `b""`)."""
        if hasattr(self, "_body"):
            yield self._body
            yield b""
            return
        if self._stream_consumed:
            raise RuntimeError("Stream consumed")
        # Read once per chunk below: as an instance attribute (it is the class default until
        # now) that read is the interpreter's fast path, as on Starlette, which sets it in __init__.
        self._stream_consumed = False
        while not self._stream_consumed:
            message = await self._receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if not message.get("more_body", False):
                    self._stream_consumed = True
                if chunk:
                    yield chunk
            elif message["type"] == "http.disconnect":
                self._is_disconnected = True
                raise ClientDisconnect()
        yield b""

    async def body(self) -> bytes:
        """The whole body."""
        try:
            return self._body
        except AttributeError:
            pass
        chunks: list[bytes] = []
        if type(self).stream is Request.stream and not self._stream_consumed:
            # What the loop over stream() below does, without an async generator's frame per
            # chunk; a subclass that overrides stream() gets it called.
            receive = self._receive
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "http.request":
                    chunk = message.get("body", b"")
                    if chunk:
                        chunks.append(chunk)
                    if not message.get("more_body", False):
                        self._stream_consumed = True
                        break
                elif kind == "http.disconnect":
                    self._is_disconnected = True
                    raise ClientDisconnect()
        else:
            stream = self.stream()
            try:
                async for chunk in stream:
                    if chunk:
                        chunks.append(chunk)
            finally:
                await stream.aclose()
        # One chunk is the body itself (join returns a lone bytes object as is): no copy.
        self._body: bytes = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        """The body parsed as JSON.

        Invalid JSON raises `JSONBodyDecodeError`: a `json.JSONDecodeError` that is also
        an `HTTPException(400)`. Read as RFC 8259 has it: `NaN`, `Infinity`, `-Infinity` and
        numbers beyond a float's range (`1e400`) are invalid too (Starlette reads them as nan
        and inf, which its JSONResponse then refuses to render: a 500).
        """
        try:
            return self._json
        except AttributeError:
            pass
        body = await self.body()
        loads = json.loads
        if loads is not _STDLIB_JSON_LOADS:
            # json.loads was replaced (a mock or a patch): call it, as Starlette's Request does.
            self._json = loads(body)
            return self._json
        try:
            self._json = json_loads_strict(body)
        except json.JSONDecodeError as exc:  # invalid UTF-8 included
            raise JSONBodyDecodeError(exc.msg, exc.doc, exc.pos) from None
        except RecursionError:
            raise JSONBodyDecodeError("Nesting too deep", "", 0) from None
        return self._json

    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:  # pragma: no branch
            content_type, _ = parse_options_header(self.headers.get("content-type") or "")
            parser: FormParser | MultiPartParser
            if content_type == "multipart/form-data":
                parser = MultiPartParser(
                    self.headers,
                    self.stream(),
                    max_files=max_files,
                    max_fields=max_fields,
                    max_part_size=max_part_size,
                )
            elif content_type == "application/x-www-form-urlencoded":
                parser = FormParser(self.headers, self.stream(), max_fields=max_fields, max_part_size=max_part_size)
            else:
                self._form = FormData()
                return self._form
            try:
                async with aclosing(parser.stream) as stream:
                    parser.stream = stream
                    self._form = await parser.parse()
            except MultiPartException as exc:
                if "app" in self.scope:
                    raise HTTPException(status_code=400, detail=exc.message) from None
                raise
        return cast(FormData, self._form)

    def form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> AwaitableOrContextManagerWrapper[FormData]:
        """The parsed form body (urlencoded or multipart); `await` it or use `async with`,
        which closes the uploaded files at the end of the block."""
        return AwaitableOrContextManagerWrapper(
            self._get_form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
        )

    async def close(self) -> None:
        """Release what the request holds (uploaded files)."""
        form = getattr(self, "_form", None)
        if form is not None:
            await form.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has disconnected (checks without waiting)."""
        if not self._is_disconnected:
            import anyio

            message: Message = {}
            with anyio.CancelScope() as cancel_scope:
                cancel_scope.cancel()
                message = await self._receive()
            if message.get("type") == "http.disconnect":
                self._is_disconnected = True
        return self._is_disconnected

    async def send_push_promise(self, path: str) -> None:
        """Ask an HTTP/2 server to push `path`, if it supports server push."""
        if "http.response.push" in self.scope.get("extensions", {}):
            raw_headers: list[tuple[bytes, bytes]] = []
            for name in SERVER_PUSH_HEADERS_TO_COPY:
                for value in self.headers.getlist(name):
                    raw_headers.append((name.encode("latin-1"), value.encode("latin-1")))
            await self._send({"type": "http.response.push", "path": path, "headers": raw_headers})

    async def send_early_hints(self, link: str, /, *additional_links: str) -> None:
        """Send a 103 Early Hints with Link headers, if the server supports it."""
        if "http.response.early_hint" in self.scope.get("extensions", {}):
            links = [value.encode("latin-1") for value in (link, *additional_links)]
            await self._send({"type": "http.response.early_hint", "links": links})
