"""Type stubs of the native module `tachyon._tachyon` (checked by `make lint` with stubtest)."""

from typing import Any, final

__all__ = ["RouteTable", "__version__", "json_dumps", "json_loads"]

__version__: str

_RouteSpec = tuple[str, str | None, list[str] | None]

@final
class RouteTable:
    """The compiled routes of one Router, in declaration order."""

    def __new__(
        cls,
        specs: list[_RouteSpec],
        convertors: list[tuple[str, str]] = ...,
        entries: list[tuple[Any, Any, dict[str, Any], Any]] = ...,
    ) -> RouteTable: ...
    @property
    def has_hosts(self) -> bool: ...
    @property
    def opaque(self) -> list[int]: ...
    def lookup(
        self, scope: dict[str, Any], host: str | None = None
    ) -> tuple[int, bool, tuple[tuple[str, str], ...] | None, tuple[str, str] | None] | None: ...
    def resolve(self, scope: dict[str, Any], host: str | None = None) -> tuple[Any, bool, Any] | None: ...
    def redirect_matches(self, scope: dict[str, Any], host: str | None = None) -> bool: ...
    def __len__(self) -> int: ...

def json_dumps(obj: Any, /) -> bytes:
    """`json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()`."""

def json_loads(data: bytes | bytearray | memoryview | str, /) -> Any:
    """What `json.loads(data)` returns; `json.JSONDecodeError` on invalid input."""
