"""The declared Python versions are exactly the tested ones."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def supported_pythons() -> list[str]:
    """Makefile's SUPPORTED_PYTHONS: what `make test-all-pythons` (CI) runs the suite on."""
    match = re.search(r"^SUPPORTED_PYTHONS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match is not None
    return match.group(1).split()


def test_pyproject_declares_exactly_the_versions_ci_tests() -> None:
    tested = supported_pythons()
    project = tomllib.loads((ROOT / "tachyon-py" / "pyproject.toml").read_text())["project"]
    minors = sorted(int(v.split(".")[1]) for v in tested)
    assert minors == list(range(minors[0], minors[-1] + 1)), "a contiguous range"
    assert project["requires-python"] == f">=3.{minors[0]},<3.{minors[-1] + 1}"
    declared = sorted(
        c.removeprefix("Programming Language :: Python :: ")
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert declared == sorted(tested, key=lambda v: int(v.split(".")[1]))


def test_running_python_is_a_supported_one() -> None:
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in supported_pythons()
