"""Settings from the environment and an optional `.env` file: `Config`, `Environ`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, TypeVar, overload

from tachyon.compat import warn_here

__all__ = ["Config", "Environ", "EnvironError", "environ", "undefined"]

T = TypeVar("T")

_BOOLS = {"true": True, "1": True, "false": False, "0": False}


class undefined:
    """The sentinel for "no default given" (None is a valid default)."""


class EnvironError(Exception):
    """Raised on changing an environment variable after it was read."""


class Environ(MutableMapping[str, str]):
    """`os.environ` that refuses changes to keys already read, so settings cannot drift
    after a Config has used them."""

    def __init__(self, environ: MutableMapping[str, str] = os.environ):
        self._environ = environ
        self._has_been_read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self._has_been_read.add(key)
        return self._environ.__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(f"Attempting to set environ['{key}'], but the value has already been read.")
        self._environ.__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key in self._has_been_read:
            raise EnvironError(f"Attempting to delete environ['{key}'], but the value has already been read.")
        self._environ.__delitem__(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


environ = Environ()


class Config:
    """Look up `env_prefix + key` in the environment, then in `env_file`, then the default;
    cast with `cast` (`bool` accepts true/false/1/0 in any case)."""

    def __init__(
        self,
        env_file: str | Path | None = None,
        environ: Mapping[str, str] = environ,
        env_prefix: str = "",
        encoding: str = "utf-8",
    ) -> None:
        self.environ = environ
        self.env_prefix = env_prefix
        self.file_values: dict[str, str] = {}
        if env_file is not None:
            if os.path.isfile(env_file):
                self.file_values = self._read_file(env_file, encoding)
            else:
                warn_here(f"Config file '{env_file}' not found.", UserWarning)

    @overload
    def __call__(self, key: str, *, default: None) -> str | None: ...

    @overload
    def __call__(self, key: str, cast: type[T], default: T = ...) -> T: ...

    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: str = ...) -> str: ...

    @overload
    def __call__(self, key: str, cast: Callable[[Any], T] = ..., default: Any = ...) -> T: ...

    @overload
    def __call__(self, key: str, cast: type[str] = ..., default: T = ...) -> T | str: ...

    def __call__(self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined) -> Any:
        return self.get(key, cast, default)

    def get(self, key: str, cast: Callable[[Any], Any] | None = None, default: Any = undefined) -> Any:
        """The value of `key`, cast; KeyError when it is missing and has no default."""
        key = self.env_prefix + key
        if key in self.environ:
            return self._perform_cast(key, self.environ[key], cast)
        if key in self.file_values:
            return self._perform_cast(key, self.file_values[key], cast)
        if default is not undefined:
            return self._perform_cast(key, default, cast)
        raise KeyError(f"Config '{key}' is missing, and has no default.")

    def _read_file(self, file_name: str | Path, encoding: str) -> dict[str, str]:
        # KEY=VALUE lines; `#` comments; one pair of matching quotes around a value is removed.
        values: dict[str, str] = {}
        with open(file_name, encoding=encoding) as env_file:
            for line in env_file.readlines():
                line = line.strip()
                if "=" not in line or line.startswith("#"):
                    continue
                key, value = (part.strip() for part in line.split("=", 1))
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                values[key] = value
        return values

    def _perform_cast(self, key: str, value: Any, cast: Callable[[Any], Any] | None = None) -> Any:
        if cast is None or value is None:
            return value
        if cast is bool and isinstance(value, str):
            value = value.lower()
            if value not in _BOOLS:
                raise ValueError(f"Config '{key}' has value '{value}'. Not a valid bool.")
            return _BOOLS[value]
        try:
            return cast(value)
        except (TypeError, ValueError):
            # The cast's own error stays the implicit context, as in Starlette.
            raise ValueError(f"Config '{key}' has value '{value}'. Not a valid {cast.__name__}.")  # noqa: B904
