"""Run Starlette's and FastAPI's own published test suites against Tachyon.

    python scripts/upstream_tests.py starlette          # through the drop-in alias
    python scripts/upstream_tests.py fastapi
    python scripts/upstream_tests.py fastapi --peer     # the same suite on real Starlette
    python scripts/upstream_tests.py all --jobs 2       # two pytest-xdist workers
    python scripts/upstream_tests.py starlette -- tests/test_routing.py -k mount
                                                        # a selection (not checked against the list)

Each suite comes from its project's sdist (pinned below, downloaded once into
.upstream/), unmodified: its own pyproject configures pytest, warning filters included.
Tachyon stands in for Starlette through `TACHYON_AS_STARLETTE=1`: the package's .pth file
then installs the alias at interpreter startup (pytest-xdist's workers included), before
anything imports `starlette`.

The run passes when every failing test is listed, with its reason, in
tachyon-py/tests/upstream/known_failures.txt, and every listed test still fails: a fixed
difference must be taken off the list, so the list stays the truth.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".upstream"
KNOWN = ROOT / "tachyon-py" / "tests" / "upstream" / "known_failures.txt"

SUITES = {
    # name: (sdist version, pytest arguments)
    "starlette": ("1.10.0", ["tests"]),
    "fastapi": ("0.165.0", ["tests"]),
}


def fetch(name: str, version: str) -> Path:
    """The extracted sdist of `name==version` (downloaded on first use)."""
    target = CACHE / f"{name}-{version}"
    if target.is_dir():
        return target
    CACHE.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(CACHE),
            f"{name}=={version}",
        ],
        check=True,
    )
    archive = CACHE / f"{name}-{version}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return target


def known_failures(suite: str) -> dict[str, str]:
    """`{node id: reason}` for `suite` from known_failures.txt (`suite node-id  # reason`)."""
    known: dict[str, str] = {}
    for line in KNOWN.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        name, _, node = entry.strip().partition(" ")
        reason = reason.strip()
        if reason.startswith("[root]") and os.geteuid() != 0:
            continue
        if name == suite:
            known[node.strip()] = reason
    return known


def failed_tests(junit: Path) -> tuple[int, set[str]]:
    """(tests run, node ids that failed or errored) from a junit XML report."""
    tree = ET.parse(junit)
    failed: set[str] = set()
    total = 0
    for case in tree.iter("testcase"):
        total += 1
        if case.find("failure") is not None or case.find("error") is not None:
            classname = case.get("classname", "")
            module, _, cls = _split_classname(classname)
            node = module.replace(".", "/") + ".py"
            if cls:
                node += "::" + cls
            node += "::" + case.get("name", "")
            failed.add(node)
        elif case.find("skipped") is not None:
            total -= 1
    return total, failed


def _split_classname(classname: str) -> tuple[str, str, str]:
    """`tests.test_x.TestClass` → (`tests.test_x`, '', `TestClass`); classes start upper-case."""
    parts = classname.split(".")
    if len(parts) > 1 and parts[-1][:1].isupper():
        return ".".join(parts[:-1]), "", parts[-1]
    return classname, "", ""


def run_suite(suite: str, peer: bool, jobs: int, extra: list[str]) -> int:
    """Run one suite; return 0 when its failures are exactly the known ones (or, for a
    selection given in `extra` or a peer run, when nothing failed)."""
    version, args = SUITES[suite]
    source = fetch(suite, version)
    junit = CACHE / f"{suite}{'-peer' if peer else ''}.xml"
    env = dict(os.environ)
    env.pop("TACHYON_AS_STARLETTE", None)
    # The suites' own environment (see upstream_env/tachyon_upstream_env.py).
    plugin_dir = str(Path(__file__).resolve().parent / "upstream_env")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [plugin_dir, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tachyon_upstream_env"]
    command += [f"--junitxml={junit}"]
    command += extra if extra else args
    if jobs > 1:
        command += ["-n", str(jobs)]
    if not peer:
        env["TACHYON_AS_STARLETTE"] = "1"
    print(f"$ {' '.join(command)}   (in {source}{'' if peer else ', TACHYON_AS_STARLETTE=1'})", flush=True)
    subprocess.run(command, cwd=source, env=env, check=False)
    total, failed = failed_tests(junit)
    where = "real Starlette" if peer else "Tachyon"
    print(f"{suite} on {where}: {total - len(failed)} of {total} passed, {len(failed)} failed")
    if peer or extra:
        return 1 if failed else 0
    known = known_failures(suite)
    unexpected = sorted(failed - set(known))
    fixed = sorted(set(known) - failed)
    for node in unexpected:
        print(f"  unexpected failure: {node}")
    for node in fixed:
        print(f"  listed as a known failure but passed (take it off the list): {node}")
    for node in sorted(failed & set(known)):
        print(f"  known: {node}  # {known[node]}")
    return 1 if unexpected or fixed else 0


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("suite", choices=[*SUITES, "all"])
    cli.add_argument("--peer", action="store_true", help="run on real Starlette instead (for comparison)")
    cli.add_argument("--jobs", type=int, default=1, help="pytest-xdist workers (default: %(default)s)")
    cli.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    # Intermixed: `fastapi --peer -- tests/x` keeps tests/x for pytest (plain parse_args
    # would have bound the empty pytest_args to the first positional already).
    args = cli.parse_intermixed_args()
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    status = 0
    for suite in suites:
        status |= run_suite(suite, args.peer, args.jobs, args.pytest_args)
    return status


if __name__ == "__main__":
    sys.exit(main())
