"""The opt-in drop-in alias: make `import starlette...` resolve to Tachyon.

Code written for Starlette, and libraries built on it (FastAPI), run on Tachyon unmodified
once the alias is installed, in any of three ways::

    import tachyon.compat; tachyon.compat.install()   # in code, before starlette is imported
    TACHYON_AS_STARLETTE=1                            # environment, honoured at `import tachyon`
    python -m tachyon --as-starlette main:app         # when serving

Every `starlette.X` module is the module object `tachyon.X` itself (found by a
`sys.meta_path` finder), so `mock.patch("starlette.routing.Router.url_path_for")` reaches
Tachyon's code and `isinstance` checks against classes imported from either name agree.
The package `starlette` itself is a small module of its own, because it must report the
Starlette version whose behaviour Tachyon matches (`starlette.__version__`); its submodules
are Tachyon's. Messages that name the package (deprecation warnings, for instance) say
`starlette` while the alias is installed, so warning filters written for Starlette keep
matching.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "ENV_VAR",
    "STARLETTE_VERSION",
    "StarletteAliasError",
    "install",
    "installed",
    "package_name",
    "uninstall",
    "warn_here",
]

STARLETTE_VERSION = "1.10.0"
"""The Starlette release whose behaviour Tachyon matches (what `starlette.__version__` says)."""

ENV_VAR = "TACHYON_AS_STARLETTE"
"""Set to 1 (or true/yes/on) to install the alias when `tachyon` is first imported."""

_ALIAS = "starlette"
_TARGET = "tachyon"


class StarletteAliasError(RuntimeError):
    """The alias cannot be installed: the real Starlette is already imported."""


def _aliased(fullname: str) -> str | None:
    """`tachyon.X` for `starlette.X` (None for any other name or the package itself)."""
    if fullname.startswith(_ALIAS + "."):
        return _TARGET + fullname[len(_ALIAS) :]
    return None


class _AliasLoader:
    """Hands out Tachyon's module objects under Starlette's names."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self.target is None:
            return _make_package()
        # The same module object: the import system files it under the alias too.
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run (the module ran under its own name); undo the one attribute the
        import system overwrote, so the module still describes itself as `tachyon.X`."""
        if self._spec is not None:
            module.__spec__ = self._spec


class _AliasFinder:
    """Finds `starlette` and `starlette.*` ahead of any installed Starlette."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == _ALIAS:
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(None), is_package=True)
        target_name = _aliased(fullname)
        if target_name is None:
            return None
        found = importlib.util.find_spec(target_name)
        if found is None:
            return None  # a Starlette module Tachyon does not have: ModuleNotFoundError
        is_package = found.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(target_name), is_package=is_package)


def _make_package() -> types.ModuleType:
    package = types.ModuleType(_ALIAS, "Starlette's API, served by Tachyon Engine (tachyon.compat).")
    package.__version__ = STARLETTE_VERSION  # type: ignore[attr-defined]
    package.__path__ = []
    return package


_finder: _AliasFinder | None = None


def installed() -> bool:
    """Whether the alias is installed."""
    return _finder is not None


def package_name() -> str:
    """The package name messages should use: `starlette` under the alias, else `tachyon`."""
    return _ALIAS if _finder is not None else _TARGET


def _starlette_modules() -> list[str]:
    return [name for name in sys.modules if name == _ALIAS or name.startswith(_ALIAS + ".")]


def install() -> None:
    """Make `import starlette` and `import starlette.X` resolve to Tachyon (idempotent).

    Raises StarletteAliasError if the real Starlette was imported first: its classes would
    then be different from Tachyon's, and code mixing the two would fail in subtle ways.
    """
    global _finder
    if _finder is not None:
        return
    real = _starlette_modules()
    if real:
        raise StarletteAliasError(
            "tachyon.compat.install() must run before starlette is imported; "
            f"already imported: {', '.join(sorted(real))}"
        )
    _finder = _AliasFinder()
    sys.meta_path.insert(0, _finder)  # type: ignore[arg-type]


def uninstall() -> None:
    """Remove the alias and forget the `starlette` modules it handed out (for tests)."""
    global _finder
    if _finder is None:
        return
    sys.meta_path[:] = [f for f in sys.meta_path if f is not _finder]
    _finder = None
    for name in _starlette_modules():
        del sys.modules[name]


def warn_here(message: str, category: type[Warning]) -> None:
    """`warnings.warn(message, category)` attributed to the calling module under the name
    its importer uses (`starlette.routing` under the alias), so filters that name the
    module, as Starlette's own test suite's do, match."""
    frame = sys._getframe(1)
    namespace = frame.f_globals
    module = namespace.get("__name__", "")
    if _finder is not None and module.startswith(_TARGET + "."):
        module = _ALIAS + module[len(_TARGET) :]
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=module,
        registry=namespace.setdefault("__warningregistry__", {}),
        module_globals=namespace,
    )


def _env_requests_alias(environ: Any = os.environ) -> bool:
    """Whether TACHYON_AS_STARLETTE asks for the alias."""
    return str(environ.get(ENV_VAR, "")).strip().lower() in ("1", "true", "yes", "on")
