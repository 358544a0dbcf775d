"""Path parameter convertors: `{name:int}` and friends, plus user-registered ones."""

from __future__ import annotations

import math
import uuid
from typing import Any, ClassVar, Generic, TypeVar

from tachyon._tachyon import set_convertor_registry

__all__ = [
    "CONVERTOR_TYPES",
    "Convertor",
    "FloatConvertor",
    "IntegerConvertor",
    "PathConvertor",
    "StringConvertor",
    "UUIDConvertor",
    "register_url_convertor",
]

T = TypeVar("T")


class Convertor(Generic[T]):
    """Base of path convertors: a `regex` for matching, `convert` and `to_string`."""

    regex: ClassVar[str] = ""

    def convert(self, value: str) -> T:
        """The matched text as a Python value."""
        raise NotImplementedError()  # pragma: no cover

    def to_string(self, value: T) -> str:
        """A value as path text (for url_path_for)."""
        raise NotImplementedError()  # pragma: no cover


class StringConvertor(Convertor[str]):
    """`{name}` / `{name:str}`: one non-empty path segment."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        value = str(value)
        assert "/" not in value, "May not contain path separators"
        assert value, "Must not be empty"
        return value


class PathConvertor(Convertor[str]):
    """`{name:path}`: the rest of the path, slashes included."""

    regex = ".*"

    def convert(self, value: str) -> str:
        return str(value)

    def to_string(self, value: str) -> str:
        return str(value)


class IntegerConvertor(Convertor[int]):
    """`{name:int}`: decimal digits, as int."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        assert value >= 0, "Negative integers are not supported"
        return str(value)


class FloatConvertor(Convertor[float]):
    """`{name:float}`: digits with an optional fraction, as float."""

    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float) -> str:
        value = float(value)
        assert not math.isnan(value), "NaN values are not supported"
        assert not math.isinf(value), "Infinite values are not supported"
        assert value >= 0.0, "Negative floats are not supported"
        return f"{value:0.20f}".rstrip("0").rstrip(".")


class UUIDConvertor(Convertor[uuid.UUID]):
    """`{name:uuid}`: a UUID, hyphens optional, as uuid.UUID."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: uuid.UUID) -> str:
        return str(value)


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}


# The built-in convertors, whatever CONVERTOR_TYPES later holds (private to the package).
BUILTIN_CONVERTORS: dict[str, Convertor[Any]] = dict(CONVERTOR_TYPES)
_BUILTIN_NAMES = {id(convertor): name for name, convertor in CONVERTOR_TYPES.items()}
# Routes compile their templates natively while each name they use still maps to its
# built-in object here; anything else (a user convertor, a replaced built-in) goes through
# `compile_path`, as Starlette binds it.
set_convertor_registry(CONVERTOR_TYPES)


def builtin_convertor_name(convertor: Convertor[Any]) -> str | None:
    """The name of a built-in convertor instance (matched natively), else None."""
    return _BUILTIN_NAMES.get(id(convertor))


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make `{name:key}` available in path templates."""
    CONVERTOR_TYPES[key] = convertor
