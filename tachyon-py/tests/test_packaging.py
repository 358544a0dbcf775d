"""Packaging: the declared Python versions are exactly the tested ones, the version is set
once, the metadata is complete and real, and the extras are what the docs say."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import tachyon

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


def workspace() -> dict[str, Any]:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "tachyon-py" / "pyproject.toml").read_text())


def test_version_is_set_once_in_the_workspace() -> None:
    version = workspace()["package"]["version"]
    # Every crate inherits it; the internal path dependencies must name the same one
    # (Cargo cannot inherit a dependency's version, so they are checked here instead).
    for crate in ("tachyon-core", "tachyon-router", "tachyon-json", "tachyon-py", "benches"):
        package = tomllib.loads((ROOT / crate / "Cargo.toml").read_text())["package"]
        assert package["version"] == {"workspace": True}, crate
    for name, spec in workspace()["dependencies"].items():
        if isinstance(spec, dict) and "path" in spec:
            assert spec["version"] == version, name
    project = pyproject()["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]  # maturin takes it from tachyon-py, i.e. the workspace
    assert tachyon.__version__ == version


def test_metadata_is_complete_and_real() -> None:
    project = pyproject()["project"]
    assert project["name"] == "tachyon-engine"
    assert project["description"]
    assert project["license"] == workspace()["package"]["license"] == "MIT"
    license_file = ROOT / "tachyon-py" / project["license-files"][0]
    assert license_file.resolve() == (ROOT / "LICENSE").resolve()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (ROOT / "tachyon-py" / project["readme"]).resolve() == (ROOT / "README.md").resolve()
    assert project["authors"]
    # PEP 639: with a license expression, License :: classifiers are not allowed.
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "tachyon-py" / "python" / "tachyon" / "py.typed").exists()
    # No made-up addresses: a `repository` or project URL must be a real one, or absent.
    manifests = [ROOT / "Cargo.toml", ROOT / "tachyon-py" / "pyproject.toml"]
    manifests += sorted(ROOT.glob("*/Cargo.toml"))
    for manifest in manifests:
        assert "example.invalid" not in manifest.read_text(), manifest
        assert "example.com" not in manifest.read_text(), manifest


def test_extras_follow_the_ecosystem() -> None:
    project = pyproject()["project"]
    names = [re.split(r"[\[<>=!~; ]", d)[0].lower() for d in project["dependencies"]]
    assert names == ["anyio", "typing_extensions"]  # no server, no form parser
    extras = project["optional-dependencies"]
    standard = [re.split(r"[\[<>=!~; ]", d)[0].lower() for d in extras["standard"]]
    assert set(standard) == {"granian", "uvicorn"}
    from tachyon.server import SERVERS

    assert SERVERS[0] == "granian"  # the default server is the first one [standard] installs
    assert [d.split(">")[0] for d in extras["test"]] == ["httpx2"]  # what tachyon.testclient imports


def test_forms_parse_with_no_form_parsing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Starlette needs python-multipart; Tachyon parses forms in Rust. A None entry in
    # sys.modules makes any import of those names fail.
    for name in ("multipart", "python_multipart"):
        monkeypatch.setitem(sys.modules, name, None)
    from tachyon import JSONResponse, Request, Route, TachyonEngine
    from tachyon.testclient import TestClient

    async def form(request: Request) -> JSONResponse:
        async with request.form() as data:
            upload = data["upload"]
            body = (await upload.read()).decode()
            return JSONResponse({"name": data["name"], "file": upload.filename, "body": body})

    client = TestClient(TachyonEngine(routes=[Route("/", form, methods=["POST"])]))
    response = client.post("/", data={"name": "ada"}, files={"upload": ("a.txt", b"hello", "text/plain")})
    assert response.json() == {"name": "ada", "file": "a.txt", "body": "hello"}


def test_make_dist_builds_one_wheel_per_tested_python() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dist = makefile.split("\ndist:", 1)[1].split("\n\n", 1)[0]
    # Not abi3 (docs/index.md, "Wheels"): one wheel per interpreter of SUPPORTED_PYTHONS.
    assert "find-pythons.sh $(SUPPORTED_PYTHONS)" in dist
    assert "$(MAKE) dist-sdist" in dist
    assert "maturin sdist" in makefile.split("\ndist-sdist:", 1)[1].split("\n\n", 1)[0]
    assert "abi3" not in (ROOT / "tachyon-py" / "Cargo.toml").read_text()
    assert "--release" in makefile.split("MATURIN_BUILD =", 1)[1].split("\n", 1)[0]


# Import name -> distribution, where they differ.
_DISTRIBUTIONS = {"yaml": "pyyaml", "opentelemetry": "opentelemetry-api"}
# Imported, deliberately in no extra: hypercorn is a server `--server hypercorn` supports but
# [standard] does not recommend; httpx is the test client's deprecated fallback for httpx2.
_UNDECLARED = {"hypercorn", "httpx"}


def third_party_imports() -> set[str]:
    """Top-level names of the non-stdlib modules the package imports anywhere."""
    import ast

    found = set()
    for path in (ROOT / "tachyon-py" / "python" / "tachyon").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {n.split(".")[0] for n in names}
    return found - set(sys.stdlib_module_names) - {"tachyon", "__future__"}


def test_every_imported_package_is_a_dependency_or_in_an_extra() -> None:
    project = pyproject()["project"]
    declared = {re.split(r"[\[<>=!~; ]", d)[0].lower() for d in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        declared |= {re.split(r"[\[<>=!~; ]", d)[0].lower() for d in requirements}
    imported = third_party_imports()
    assert {"anyio", "granian", "jinja2"} <= imported  # the scan sees imports inside functions too
    missing = {_DISTRIBUTIONS.get(name, name) for name in imported - _UNDECLARED} - declared
    assert not missing


def test_test_hooks_are_only_in_the_debug_build() -> None:
    """The panicking test hook (cargo feature `test-hooks`) is built by `make develop` only:
    never by the release targets (`develop-release`, the wheels), nor by default."""
    makefile = (ROOT / "Makefile").read_text()
    develop = makefile.split("\ndevelop:", 1)[1].split("\n\n", 1)[0]
    assert "--features test-hooks" in develop
    release = makefile.split("\ndevelop-release:", 1)[1].split("\n\n", 1)[0]
    wheels = makefile.split("MATURIN_BUILD =", 1)[1].split("\ndist:", 1)[0]
    assert "test-hooks" not in release and "test-hooks" not in wheels
    cargo = (ROOT / "tachyon-py" / "Cargo.toml").read_text()
    features = cargo.split("[features]", 1)[1].split("\n[", 1)[0]
    assert "default" not in features
    assert "test-hooks" not in (ROOT / "tachyon-py" / "pyproject.toml").read_text()
    from tachyon import _tachyon

    # The extension under test has them exactly when it is the debug build `make develop` made.
    assert _tachyon._test_hooks == hasattr(_tachyon, "_test_panic") == hasattr(_tachyon, "_test_json_fail_next_grow")
    if _tachyon.build_profile == "release":
        assert not _tachyon._test_hooks
