"""scripts/check-layering.sh: it passes on this tree, and fails when it cannot look."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check-layering.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(cargo: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CARGO": cargo}
    return subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def fake_cargo(tmp_path: Path, body: str) -> str:
    path = tmp_path / "cargo"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_passes_on_this_tree() -> None:
    result = run("cargo")
    assert result.returncode == 0, result.stderr
    assert "do not depend on pyo3" in result.stdout


def test_fails_when_cargo_tree_fails(tmp_path: Path) -> None:
    # Regression (issue 12): it used to pass when `cargo tree` itself failed.
    result = run(fake_cargo(tmp_path, 'echo "error: could not read Cargo.toml" >&2; exit 101'))
    assert result.returncode == 1
    assert "failed" in result.stderr and "could not read Cargo.toml" in result.stderr


def test_fails_when_cargo_tree_prints_nothing(tmp_path: Path) -> None:
    assert run(fake_cargo(tmp_path, "exit 0")).returncode == 1


def test_fails_when_a_pure_crate_depends_on_pyo3(tmp_path: Path) -> None:
    tree = "tachyon-core v0.1.0\\nmemchr v2.7.4\\npyo3-ffi v0.30.1\\n"
    result = run(fake_cargo(tmp_path, f'printf "{tree}"'))
    assert result.returncode == 1
    assert "tachyon-core depends on pyo3" in result.stderr and "pyo3-ffi" in result.stderr
