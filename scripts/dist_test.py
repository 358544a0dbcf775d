"""`make dist-test`: the release wheel, installed as a user would, outside the repository.

1. Finds the wheel `make dist-wheel` built for this interpreter in dist/ and checks its name
   (version from the workspace Cargo.toml, CPython tag, manylinux tag) and contents.
2. Creates a fresh venv in a temporary directory and installs the wheel alone: `tachyon`
   imports from the venv (not the checkout), is the release build, reports the version, and
   parses urlencoded and multipart forms with no form-parsing package installed.
3. Installs the wheel's [standard] and [test] extras, serves examples/hello.py with the
   default server (`python -m tachyon hello:app`) on 127.0.0.1 and requests it over HTTP,
   then does the same with the quick start of docs/index.md, and with uvicorn started directly.
4. Runs every runnable code block of docs/ with the venv's interpreter (scripts/doc_examples.py).
5. Checks the sdist (`make dist-sdist`): the files a build needs are in it, and maturin reads
   its metadata. (Building a wheel from it is a second release build, so it is not done here.)

Every wait is bounded; the server is stopped with SIGTERM and must exit 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import doc_examples  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0

_PLAIN_CHECK = r"""
import asyncio, importlib.util, json, sys
import tachyon
from tachyon import JSONResponse, Route, TachyonEngine

# No form-parsing package: forms are parsed in Rust.
for name in ("multipart", "python_multipart"):
    assert importlib.util.find_spec(name) is None, name + " is installed"

async def form(request):
    async with request.form() as data:
        upload = data["upload"]
        size = len(await upload.read())
        return JSONResponse({"name": data["name"], "file": upload.filename, "size": size})

app = TachyonEngine(routes=[Route("/form", form, methods=["POST"])])

async def call(content_type, body):
    sent = []
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/form", "raw_path": b"/form", "root_path": "",
             "query_string": b"", "headers": [(b"content-type", content_type)],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))

multipart = (b"--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nada\r\n"
             b"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n"
             b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n")
status, body = asyncio.run(call(b"multipart/form-data; boundary=XyZ", multipart))
assert (status, body) == (200, {"name": "ada", "file": "a.txt", "size": 5}), (status, body)

print(json.dumps({"version": tachyon.__version__, "build_profile": tachyon.build_profile,
                  "file": tachyon.__file__}))
"""


def fail(message: str) -> None:
    """Stop the run with a message."""
    print(f"dist-test: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def step(message: str) -> None:
    """Say what is being checked."""
    print(f"dist-test: {message}", flush=True)


def workspace_version() -> str:
    """The version in [workspace.package] of the root Cargo.toml (the only place it is set)."""
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def find_wheel(dist: Path, python: str, version: str, manylinux: str) -> Path:
    """The wheel for `python`'s CPython version, of `version`, tagged `manylinux`."""
    tag = subprocess.run(
        [python, "-c", "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wheels = sorted(dist.glob(f"tachyon_engine-{version}-{tag}-{tag}-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one {tag} wheel of version {version} in {dist}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    if f"{manylinux}_" not in wheel.name:
        fail(f"{wheel.name} is not tagged {manylinux}")
    return wheel


def check_wheel_contents(wheel: Path) -> None:
    """The files and metadata a user's install needs are in the wheel, and nothing else."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    required = ["tachyon/__init__.py", "tachyon/py.typed", "tachyon/_tachyon.pyi", "tachyon/server.py"]
    missing = [n for n in required if n not in names]
    if missing:
        fail(f"{wheel.name} lacks {missing}")
    if not any(n.startswith("tachyon/_tachyon.") and n.endswith(".so") for n in names):
        fail(f"{wheel.name} has no native module")
    if not any(n.endswith("/tachyon_starlette_alias.pth") for n in names):
        fail(f"{wheel.name} lacks the drop-in alias's .pth file")
    stray = [n for n in names if n.startswith(("tests/", "tachyon/tests/")) or "__pycache__" in n]
    if stray:
        fail(f"{wheel.name} ships {stray[:5]}")
    for field in (
        "License-Expression: MIT",
        "Requires-Python: >=3.11, <3.14",
        "Provides-Extra: standard",
        "Description-Content-Type: text/markdown",
        "# Tachyon Engine",
    ):
        if field not in metadata:
            fail(f"{wheel.name} METADATA lacks {field!r}")


def check_sdist(dist: Path, version: str, python: str, tmp: Path) -> None:
    """The sdist holds what a build from it needs, and maturin reads its metadata."""
    sdist = dist / f"tachyon_engine-{version}.tar.gz"
    if not sdist.exists():
        fail(f"no sdist {sdist.name} in {dist}")
    top = f"tachyon_engine-{version}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        archive.extractall(tmp / "sdist", filter="data")
    needed = [
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "PKG-INFO",
        "python/tachyon/__init__.py",
        "python/tachyon/py.typed",
        # Where `data = "data"` looks in the sdist (tachyon-py/pyproject.toml says why).
        "data/purelib/tachyon_starlette_alias.pth",
        "tachyon-py/Cargo.toml",
        "tachyon-py/build.rs",
        "tachyon-core/Cargo.toml",
        "tachyon-router/Cargo.toml",
        "tachyon-json/Cargo.toml",
    ]
    missing = [n for n in needed if f"{top}/{n}" not in names]
    if missing:
        fail(f"{sdist.name} lacks {missing}")
    metadata = tmp / "sdist-metadata"
    metadata.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "maturin",
            "pep517",
            "write-dist-info",
            "--metadata-directory",
            str(metadata),
            "--interpreter",
            python,
        ],
        cwd=tmp / "sdist" / top,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        fail(f"maturin cannot read {sdist.name}'s metadata:\n{done.stdout}{done.stderr}")
    text = (metadata / f"tachyon_engine-{version}.dist-info" / "METADATA").read_text()
    for field in (f"Version: {version}", "License-Expression: MIT", "Provides-Extra: standard"):
        if field not in text:
            fail(f"{sdist.name}'s metadata lacks {field!r}")
    step(f"{sdist.name}: contents as expected, metadata readable")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; an error status is returned, not raised."""
    headers = {"content-type": "application/json"} if data is not None else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers), timeout=REQUEST_TIMEOUT
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def serve(
    python: Path,
    target: str,
    app_dir: Path,
    checks: list[tuple[str, bytes | None, int, object]],
    server: str = "tachyon",
) -> None:
    """Serve `target` from `app_dir` with `python -m tachyon` (the default server) or
    `python -m uvicorn`, make each request of `checks` (path, body, status, JSON), stop it
    with SIGTERM."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = app_dir / f"server-{port}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [python, "-m", server, target, "--app-dir", str(app_dir), "--host", "127.0.0.1", "--port", str(port)],
            cwd=app_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=doc_examples.clean_env(),
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    fail(f"the server exited with {process.returncode} before answering:\n{log.read_text()}")
                try:
                    request(base + checks[0][0])
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        fail(f"no answer on {base} within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()}")
                    time.sleep(0.2)
            for path, body, status, expected in checks:
                got_status, got = request(base + path, body)
                if got_status != status or (expected is not None and json.loads(got) != expected):
                    fail(f"{target}: {path} answered {got_status} {got!r}, expected {status} {expected!r}")
        finally:
            # SIGTERM, then kill after STOP_TIMEOUT, as the tests do (tests/_servers.py): this
            # script runs outside pytest, against the installed wheel, so it imports nothing of tests/.
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    fail(f"the server did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM")
    text = log.read_text()
    # python -m tachyon exits 0 on SIGTERM (tachyon.server promises it); uvicorn shuts down
    # gracefully, then (since 0.29) re-raises the signal.
    expected = {0} if server == "tachyon" else {0, -signal.SIGTERM}
    if process.returncode not in expected:
        fail(f"{server} exited with {process.returncode} after SIGTERM:\n{text}")
    if "DEBUG build" in text:
        fail(f"the wheel's server warned about a debug build:\n{text}")
    step(f"{server} served {target} on {base}: {len(checks)} request(s) answered as expected")


def main() -> None:
    """Run the whole check; exit status 1 with a message on the first failure."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--dist", type=Path, default=ROOT / "dist")
    cli.add_argument("--python", default="python3", help="the interpreter the wheel was built for")
    cli.add_argument("--manylinux", default="manylinux_2_34")
    cli.add_argument("--keep", action="store_true", help="leave the temporary directory behind")
    args = cli.parse_args()

    started = time.monotonic()
    version = workspace_version()
    wheel = find_wheel(args.dist.resolve(), args.python, version, args.manylinux)
    check_wheel_contents(wheel)
    step(f"{wheel.name}: name, tags and contents as expected")

    tmp = Path(tempfile.mkdtemp(prefix="tachyon-dist-test-")).resolve()
    if tmp.is_relative_to(ROOT):
        fail(f"the temporary directory {tmp} is inside the repository")
    try:
        venv = tmp / "venv"
        subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, str(wheel)], check=True, cwd=tmp)
        done = subprocess.run(
            [python, "-c", _PLAIN_CHECK], cwd=tmp, capture_output=True, text=True, env=doc_examples.clean_env()
        )
        if done.returncode != 0:
            fail(f"the plain install failed its checks:\n{done.stdout}{done.stderr}")
        info = json.loads(done.stdout.splitlines()[-1])
        if info["build_profile"] != "release":
            fail(f"build_profile is {info['build_profile']!r}")
        if info["version"] != version:
            fail(f"tachyon.__version__ is {info['version']!r}, Cargo.toml says {version!r}")
        if not Path(info["file"]).resolve().is_relative_to(venv):
            fail(f"tachyon was imported from {info['file']}, not from the venv")
        step(f"plain install: tachyon {version}, release build, forms parsed with no extra package")

        subprocess.run([*pip, f"{wheel}[standard,test]"], check=True, cwd=tmp)
        app_dir = tmp / "hello"
        app_dir.mkdir()
        shutil.copy(ROOT / "examples" / "hello.py", app_dir)
        serve(
            python,
            "hello:app",
            app_dir,
            [
                ("/", None, 200, {"message": "Hello, World!"}),
                ("/users/42?q=tachyon", None, 200, {"id": 42, "q": "tachyon"}),
                ("/echo", b'{"a": [1, 2.5, "\\u00e9"]}', 200, {"a": [1, 2.5, "é"]}),
                ("/users/nope", None, 404, None),
            ],
        )

        quick = tmp / "quickstart"
        quick.mkdir()
        written = doc_examples.write_files(doc_examples.DOCS / "index.md", quick)
        if [p.name for p in written] != ["app.py"]:
            fail(f"docs/index.md should have one `file=app.py` block (the quick start), has {written}")
        serve(python, "app:app", quick, [("/", None, 200, {"message": "Hello, World!"})])
        # Any ASGI server, started directly, serves the app too.
        serve(python, "app:app", quick, [("/", None, 200, {"message": "Hello, World!"})], server="uvicorn")

        failures: list[str] = []
        count = 0
        for doc in doc_examples.documents():
            count += len(doc_examples.runnable_blocks(doc))
            workdir = tmp / "docs" / doc.stem
            workdir.mkdir(parents=True)
            failures += doc_examples.run_document(str(python), doc, workdir)
        if failures:
            fail("docs examples:\n" + "\n".join(failures))
        if count == 0:
            fail("docs/ has no runnable blocks")
        step(f"docs: {count} runnable blocks pass against the wheel")

        check_sdist(args.dist.resolve(), version, args.python, tmp)
    finally:
        if args.keep:
            step(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    step(f"passed in {time.monotonic() - started:.0f} s (not counting the build)")


if __name__ == "__main__":
    main()
