"""Type stubs of the native module `tachyon._tachyon` (checked by `make lint` with stubtest)."""

from typing import Any, final

__all__ = ["RouteTable", "__version__"]

__version__: str

_RouteSpec = tuple[str, str | None, list[str] | None]

@final
class RouteTable:
    """The compiled routes of one Router, in declaration order."""

    def __new__(cls, specs: list[_RouteSpec], convertors: list[tuple[str, str]] = ...) -> RouteTable: ...
    @property
    def has_hosts(self) -> bool: ...
    @property
    def opaque(self) -> list[int]: ...
    def lookup(
        self, scope: dict[str, Any], host: str | None = None
    ) -> tuple[int, bool, tuple[tuple[str, str], ...] | None, tuple[str, str] | None] | None: ...
    def redirect_matches(self, scope: dict[str, Any], host: str | None = None) -> bool: ...
    def __len__(self) -> int: ...
