"""docs/api.md's module table is the package's public surface, exactly.

Each row names a module and its public names (the module's `__all__`; `HTTP_*` stands for
every name with that prefix). The table may not list a name that does not exist, nor miss
one that does, nor miss a public module; every listed class and function has a docstring.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import pkgutil
import re
import warnings
from pathlib import Path
from types import ModuleType

import pytest

import tachyon

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def table() -> dict[str, list[str]]:
    """module -> the names (or `PREFIX_*` patterns) its row lists."""
    rows: dict[str, list[str]] = {}
    for line in API_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (module := re.fullmatch(r"`(tachyon[\w.]*)`", cells[0])):
            assert module.group(1) not in rows, f"{module.group(1)} has two rows"
            rows[module.group(1)] = re.findall(r"`([^`]+)`", cells[1])
    return rows


def public_modules() -> list[str]:
    """`tachyon` and every module below it whose name does not start with `_`."""
    names = ["tachyon"]
    for info in pkgutil.walk_packages(tachyon.__path__, "tachyon."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def load(name: str) -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tachyon.middleware.wsgi warns on import (deprecated)
        return importlib.import_module(name)


def test_every_public_module_has_a_row_and_no_row_is_made_up() -> None:
    assert sorted(table()) == public_modules()


@pytest.mark.parametrize("module_name", public_modules())
def test_a_rows_names_are_the_modules_all(module_name: str) -> None:
    module = load(module_name)
    exported = list(module.__all__)
    listed = table()[module_name]
    patterns = [n for n in listed if n.endswith("*")]
    names = [n for n in listed if not n.endswith("*")]
    assert len(names) == len(set(names)), "listed twice"
    missing = [n for n in exported if n not in names and not any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    assert not missing, f"api.md misses {missing}"
    made_up = [n for n in names if n not in exported]
    assert not made_up, f"api.md lists {made_up}, which {module_name}.__all__ does not have"
    for pattern in patterns:
        assert fnmatch.filter(exported, pattern), f"{pattern} matches nothing"
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ names {name}, which does not exist"


@pytest.mark.parametrize("module_name", public_modules())
def test_listed_classes_and_functions_have_docstrings(module_name: str) -> None:
    module = load(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no module docstring"
    undocumented = []
    for name in module.__all__:
        value = getattr(module, name)
        if (inspect.isclass(value) or inspect.isroutine(value)) and not (value.__doc__ or "").strip():
            undocumented.append(name)
    assert not undocumented


def test_the_table_parser_reads_patterns_and_prose() -> None:
    rows = table()
    assert rows["tachyon.status"] == ["HTTP_*", "WS_*"]
    assert "TachyonEngine" in rows["tachyon.applications"]
    # Backticked words in the "what for" column are not names.
    assert "max_body_size" not in rows["tachyon.applications"]
