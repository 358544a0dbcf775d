"""Type stubs of the native module `tachyon._tachyon` (checked by `make lint` with stubtest)."""

from collections.abc import Callable, Generator
from types import ModuleType
from typing import Any, ClassVar, final

__all__ = [
    "Continuation",
    "DispatchCall",
    "Exchange",
    "FusedDispatch",
    "Immediate",
    "NativeServer",
    "StepCatcher",
    "WebSocketExchange",
    "Compressor",
    "FormParseError",
    "MultipartParser",
    "PanicException",
    "ResponseTracker",
    "Found",
    "PathPattern",
    "RouteKind",
    "RouteMatcher",
    "RouteTable",
    "ScopeConverter",
    "LazyScope",
    "UrlencodedParser",
    "DEFAULT_MAX_HEAD_BYTES",
    "__version__",
    "build_profile",
    "charset_is_native_utf8",
    "child_scope",
    "compile_path",
    "rename_convertors",
    "check_compression_level",
    "compress",
    "content_length_header",
    "get_route_path",
    "_json_fast_paths",
    "_json_use_fast_paths",
    "_test_hooks",
    "_test_json_fail_next_grow",
    "_test_panic",
    "headers_contains",
    "headers_get",
    "headers_getlist",
    "json_dumps",
    "json_loads",
    "json_loads_strict",
    "json_response_init",
    "set_convertor_registry",
    "set_match_members",
    "native_matches",
    "negotiate_encoding",
    "parse_cookie",
    "parse_host_header",
    "parse_options_header",
    "parse_query",
    "parse_range_header",
    "render_set_cookie",
    "request_cookies",
    "str_headers",
]

__version__: str
DEFAULT_MAX_HEAD_BYTES: int
"""The default bound on a request head (request line and headers) in bytes, for the native
server and for uvicorn with `tachyon.uvicorn_deadlines` (hyper's and Granian's read buffer)."""
build_profile: str
# Whether the test-only hooks below are compiled in (the `test-hooks` cargo feature of
# `make develop`; never in a release build or a wheel).
_test_hooks: bool

def _test_panic(message: str) -> None:
    """Panics in Rust with `message` (test builds only: absent when `_test_hooks` is False)."""

def _test_json_fail_next_grow() -> None:
    """Makes the next growth of a json_dumps output fail with MemoryError (test builds only)."""

@final
class RouteKind:
    """A route's kind as Python hands it to the native table; OPAQUE: Python matches it."""

    HTTP: ClassVar[RouteKind]
    WEBSOCKET: ClassVar[RouteKind]
    MOUNT: ClassVar[RouteKind]
    HOST: ClassVar[RouteKind]
    OPAQUE: ClassVar[RouteKind]
    def __int__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, tuple[type[RouteKind], str]]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class Found:
    """Starlette's winner for a scope: its index, FULL or PARTIAL, an opaque route's child scope."""

    @property
    def index(self) -> int: ...
    @property
    def full(self) -> bool: ...
    @property
    def child(self) -> dict[str, Any] | None: ...

@final
class PathPattern:
    """What Starlette's compile_path returns, with the regex as its source text."""

    @property
    def regex(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def convertors(self) -> dict[str, Any]: ...
    @property
    def ignore_case(self) -> bool: ...

def compile_path(template: str, convertor_types: dict[str, Any]) -> PathPattern:
    """Starlette's compile_path natively; raises RouteTemplateError with Starlette's message."""

def rename_convertors(template: str, rename: Callable[[str], str | None]) -> str:
    """The template with each parameter's convertor renamed to rename(name) (None keeps it)."""

_RouteSpec = tuple[RouteKind, str | None, list[str] | None]

@final
class RouteTable:
    """The compiled routes of one Router, in declaration order."""

    def __new__(
        cls,
        specs: list[_RouteSpec],
        convertors: list[tuple[str, str]] = ...,
        entries: list[tuple[Any, Any, Any, Any]] = ...,
        standalone: bool = False,
    ) -> RouteTable: ...
    def invalidate(self) -> None:
        """The route list changed: `route` answers NotImplemented from now on."""
    @property
    def standalone(self) -> bool: ...
    @property
    def has_hosts(self) -> bool: ...
    @property
    def opaque(self) -> list[int]: ...
    def lookup(self, scope: dict[str, Any], host: str | None = None) -> Found | None: ...
    def resolve(self, scope: dict[str, Any], host: str | None = None) -> tuple[Any, bool, Any] | None: ...
    def route(self, scope: dict[str, Any], /) -> Any:
        """`Router.resolve(scope)` natively; NotImplemented when the table cannot answer alone."""
    def redirect_matches(self, scope: dict[str, Any], host: str | None = None) -> bool: ...
    def __len__(self) -> int: ...
    def __copy__(self) -> RouteTable: ...
    def __deepcopy__(self, memo: Any, /) -> RouteTable: ...

def json_dumps(obj: Any, /) -> bytes:
    """`json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()`."""

def json_loads(data: bytes | bytearray | memoryview | str, /) -> Any:
    """What `json.loads(data)` returns; `json.JSONDecodeError` on invalid input."""

def json_loads_strict(data: bytes | bytearray | memoryview | str, /) -> Any:
    """`json_loads` as RFC 8259 has it.

    `NaN`, `Infinity`, `-Infinity` and numbers beyond a float's range raise `json.JSONDecodeError`.
    """

def _json_fast_paths() -> dict[str, Any]:
    """For tests: the CPython layout compiled in, which json fast paths are on, and (debug builds) their hit counts."""

def _json_use_fast_paths(on: bool) -> None:
    """For tests: `False` sends json down the portable path only; `True` restores the checked fast paths."""

# tachyon-core glue (src/core.rs)

class FormParseError(ValueError):
    """A form body that cannot be accepted; args are (kind, message)."""

def parse_query(qs: str | bytes) -> tuple[list[tuple[str, str]], dict[str, str]]: ...
def headers_get(raw: Any, key: Any, default: Any = None) -> Any: ...
def headers_getlist(raw: Any, key: Any) -> list[Any]: ...
def headers_contains(raw: Any, key: Any) -> bool: ...
def parse_cookie(cookie: str) -> dict[str, str]: ...
def request_cookies(raw: Any) -> dict[str, str]: ...
def charset_is_native_utf8(label: str) -> bool: ...
def content_length_header(status: Any, length: int) -> tuple[bytes, bytes] | None: ...
def get_route_path(scope: dict[str, Any]) -> str: ...
def parse_host_header(value: str) -> tuple[str, str | None, bool] | None: ...
def render_set_cookie(
    key: Any,
    value: Any,
    max_age: Any,
    expires: Any,
    path: Any,
    domain: Any,
    secure: Any,
    httponly: Any,
    samesite: Any,
    partitioned: Any,
    /,
) -> str | None: ...
def parse_options_header(value: str) -> tuple[str, list[tuple[str, str]]]: ...
def parse_range_header(header: Any, file_size: Any, max_ranges: Any) -> list[tuple[int, int]] | str | int | None:
    """A Range header as Starlette's FileResponse parses it: ranges, a 400 text, the size (416), or None."""

@final
class MultipartParser:
    """A streaming multipart/form-data parser."""

    def __new__(
        cls,
        content_type: str,
        max_files: int,
        max_fields: int,
        max_part_size: int,
        factory: Callable[[str, list[tuple[bytes, bytes]]], Any],
        views: bool = False,
    ) -> MultipartParser: ...
    def feed(self, chunk: bytes) -> list[tuple[Any, bytes | memoryview]]: ...
    def finish(self) -> list[tuple[str, Any]]: ...
    @property
    def uploads(self) -> list[Any]: ...

@final
class UrlencodedParser:
    """A chunked application/x-www-form-urlencoded parser."""

    def __new__(cls, max_fields: int, max_part_size: int) -> UrlencodedParser: ...
    def feed(self, chunk: bytes) -> None: ...
    def progress(self) -> tuple[int, bytes, bytes]: ...
    def finish(self) -> list[tuple[str, str]]: ...

# rsgi

@final
class ScopeConverter:
    """Builds ASGI scope dicts from Granian RSGI scopes."""

    def __new__(
        cls, http_asgi: dict[str, Any], ws_asgi: dict[str, Any], extensions: dict[str, Any]
    ) -> ScopeConverter: ...
    def convert(self, scope: Any, state: dict[str, Any] | None = None) -> dict[str, Any]: ...
    def lazy(self, scope: Any, state: dict[str, Any] | None = None) -> LazyScope | None:
        """The scope of an http request built only when read (None for a websocket)."""

@final
class LazyScope:
    """One http request's ASGI scope (RSGI or the native server), built only when something reads it."""

    @property
    def partial(self) -> dict[str, Any]:
        """What routing reads and writes before the whole scope is built."""
    @property
    def completed(self) -> bool:
        """Whether `complete()` has run."""
    def complete(self) -> dict[str, Any]:
        """The whole ASGI scope (built on the first call, the same dict afterwards)."""

def str_headers(headers: Any) -> list[tuple[str, str]]: ...

@final
class RouteMatcher:
    def __new__(
        cls,
        kind: RouteKind,
        template: str,
        convertors: list[tuple[str, str]],
        path_regex: Any,
        param_convertors: dict[str, Any],
    ) -> RouteMatcher: ...
    @staticmethod
    def compile(kind: RouteKind, template: str) -> RouteMatcher | None:
        """The matcher of a route being built, or None when only `compile_path` can compile it."""
    @property
    def lazy(self) -> bool: ...
    @property
    def template(self) -> str: ...
    def matches(self, route: Any, scope: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None: ...
    def __copy__(self) -> RouteMatcher: ...
    def __deepcopy__(self, memo: Any, /) -> RouteMatcher: ...

def set_match_members(none: Any, partial: Any, full: Any, http_exception: Any, template_error: type) -> None: ...
def set_convertor_registry(types: dict[str, Any]) -> None: ...
def native_matches(cls: type, kind: RouteKind, fallback: Callable[..., Any]) -> Callable[..., Any]: ...

# responses

def json_response_init(
    cls: type,
    response_init: Callable[..., None],
    content_type: tuple[bytes, bytes],
    render: Callable[..., bytes],
    json_module: ModuleType,
) -> Callable[..., None]: ...

# compression

def compress(data: bytes | bytearray | memoryview, encoding: str, level: int) -> bytes:
    """A whole body compressed with `encoding` ("gzip", "br" or "zstd") at `level`."""

def check_compression_level(encoding: str, level: int) -> None:
    """Raises ValueError when `level` is outside the range `encoding` accepts."""

def negotiate_encoding(accept_encoding: str, preference: list[str]) -> str | None:
    """The coding of `preference` that the Accept-Encoding header rates highest, or None."""

@final
class Compressor:
    """A streaming compressor for one response body."""

    def __new__(cls, encoding: str, level: int) -> Compressor: ...
    @property
    def encoding(self) -> str: ...
    @property
    def finished(self) -> bool: ...
    def compress(self, data: bytes | bytearray | memoryview, finish: bool = False) -> bytes: ...

@final
class FusedDispatch:
    """The native dispatcher of a built-in stack (see tachyon._dispatch)."""

    def __new__(cls, path: Any) -> FusedDispatch: ...
    def __call__(self, scope: Any, receive: Any, send: Any) -> Any: ...
    def respond(self, scope: dict[str, Any], receive: Any, send: Any, send_response: Any) -> DispatchCall: ...
    def respond_lazy(self, lazy: LazyScope, receive: Any, send: Any, send_response: Any) -> DispatchCall: ...

@final
class DispatchCall:
    """One http request through the fused path: an awaitable, stepped by its task."""

    def __await__(self) -> Generator[Any, Any]: ...
    def __iter__(self) -> DispatchCall: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any: ...
    def close(self) -> None: ...

@final
class ResponseTracker:
    """A `send` that records whether the response has started."""

    send: Any
    started: bool
    def __new__(cls, send: Any) -> ResponseTracker: ...
    def __call__(self, message: Any) -> Any: ...

def child_scope(
    kind: RouteKind, endpoint: Any, path_params: Any, root_path: Any = None, app_root_path: Any = None
) -> dict[str, Any]:
    """The child scope of a match of this kind of route, keys in Starlette's order."""

class PanicException(BaseException):
    """A Rust panic inside a binding, raised as an exception (PyO3's)."""

@final
class NativeServer:
    """The native server on this thread, serving a Python app; driven by `turn`
    (tachyon.native_server's selector)."""

    def __new__(
        cls,
        app: Any,
        *,
        fused: bool,
        scope_app: Any,
        state: dict[str, Any],
        tasks: set[Any],
        report: Callable[[BaseException | None, str | None], Any],
        event_loop: Any,
        host: str | None = None,
        port: int = 0,
        uds: str | None = None,
        fd: int | None = None,
        reuse_port: bool = False,
        backlog: int = 2048,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
        write_timeout: float = 30.0,
        keep_alive_timeout: float = 5.0,
        shutdown_timeout: float = 30.0,
        max_body_size: int = 104857600,
        max_connections: int = 16384,
        root_path: str | None = None,
        forwarded_allow_ips: str | None = None,
        access_log: Callable[[str, str, str, str, str, int], Any] | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ws_max_size: int = 16777216,
        ws_ping_interval: float = 20.0,
        ws_ping_timeout: float = 20.0,
    ) -> NativeServer: ...
    def turn(self, timeout: float | None, wake_fd: int | None = None) -> str: ...
    def forget_wake_fd(self) -> None: ...
    def shutdown(self) -> None: ...
    @property
    def stopped(self) -> bool: ...
    @property
    def local_addr(self) -> tuple[str, int] | None: ...

@final
class Exchange:
    """One request's ASGI channel under the native server: `receive`, `send` (the object
    itself) and `send_response`."""

    def receive(self) -> Any: ...
    def __call__(self, message: dict[str, Any]) -> Any: ...
    def send_response(self, response: Any) -> None: ...
    def task_done(self, task: Any) -> None: ...
    @property
    def started(self) -> bool: ...
    def finish(self) -> str | None: ...

@final
class WebSocketExchange:
    """One WebSocket's ASGI channel under the native server: `receive` and `send` (the
    object itself)."""

    def receive(self) -> Any: ...
    def __call__(self, message: dict[str, Any]) -> Any: ...
    def task_done(self, task: Any) -> None: ...

@final
class Continuation:
    """The coroutine of a request's task under the native server."""

    def __await__(self) -> Generator[Any, Any]: ...
    def __iter__(self) -> Continuation: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any: ...
    def close(self) -> None: ...

@final
class StepCatcher:
    """Stands in for the event loop's `call_soon` while a request's task is made."""

    def __call__(self, callback: Any, *args: Any, context: Any = None) -> None: ...

@final
class Immediate:
    """An awaitable that is already done."""

    def __await__(self) -> Generator[Any, Any]: ...
    def __iter__(self) -> Immediate: ...
    def __next__(self) -> Any: ...
