"""Operating the native server as uvicorn is operated: `python -m tachyon --server native` with
--uds/--fd, --root-path, --proxy-headers/--forwarded-allow-ips, the access log, --workers,
--reload, and startup mistakes. Real processes on loopback sockets, each wait bounded.

Where uvicorn has the same option, the native server's behaviour is compared with uvicorn's
serving the same app (through `python -m tachyon --server uvicorn`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import STOP_TIMEOUT, free_port, request, serving, tachyon_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is Linux only")

# The app module the subprocesses import: like test_serving.py's HELLO, but with the routes
# these tests read (and a shutdown marker per worker), kept here so the module is self-contained.
APP = textwrap.dedent(
    """
    import contextlib
    import os
    from tachyon import JSONResponse, PlainTextResponse, Route, TachyonEngine


    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        marker = os.environ.get("TACHYON_TEST_SHUTDOWN_MARKER")
        if marker:
            with open(f"{marker}.{os.getpid()}", "w") as f:
                f.write("shut down")


    async def where(request):
        scope = request.scope
        return JSONResponse(
            {
                "root_path": scope["root_path"],
                "path": scope["path"],
                "raw_path": scope["raw_path"].decode(),
                "client": list(scope["client"]) if scope["client"] else None,
                "scheme": scope["scheme"],
                "url": str(request.url),
            }
        )


    async def pid(request):
        return JSONResponse({"pid": os.getpid()})


    async def created(request):
        return PlainTextResponse("made", status_code=201)


    app = TachyonEngine(
        routes=[Route("/where/{rest:path}", where), Route("/pid", pid), Route("/created", created)],
        lifespan=lifespan,
    )
    """
)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "ops_app.py").write_text(APP)
    return tmp_path


def cli(app_dir: Path, port: int, server: str, *extra: str) -> list[str]:
    """`python -m tachyon ops_app:app` arguments; the log level is info (access lines on)."""
    args = tachyon_cli("ops_app:app", app_dir, port, "--server", server, *extra)
    index = args.index("--log-level")
    args[index + 1] = "info"
    return args


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tachyon", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if "DEBUG build" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tachyon: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


ACCESS = re.compile(r'^INFO:     (\S*) - "(.*)" (.*)$', re.MULTILINE)


def access_lines(output: str) -> list[tuple[str, str, str]]:
    """(client, request line, status) of each access line, the client's port as PORT."""
    return [(re.sub(r":\d+$", ":PORT", client), line, status) for client, line, status in ACCESS.findall(output)]


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Any:
    status, _, body = request(port, "GET", path, headers=headers)
    assert status == 200, body
    return json.loads(body)


# --- access log -------------------------------------------------------------------------------


def _access_output(app_dir: Path, server: str, *extra: str) -> str:
    port = free_port()
    with serving(cli(app_dir, port, server, *extra), app_dir / f"{server}.log", port) as running:
        assert request(port, "GET", "/where/a%20b?x=1&y=%2F")[0] == 200
        assert request(port, "GET", "/created")[0] == 201
        assert request(port, "GET", "/nope")[0] == 404
        assert request(port, "POST", "/pid")[0] == 405
        assert request(port, "GET", "/pid", headers={"X-Forwarded-For": "203.0.113.7"})[0] == 200
        assert running.stop() == 0, running.output()
    return running.output()


def test_access_log_matches_uvicorn(app_dir: Path) -> None:
    pytest.importorskip("uvicorn")
    ours = access_lines(_access_output(app_dir, "native", "--root-path", "/api"))
    theirs = access_lines(_access_output(app_dir, "uvicorn", "--root-path", "/api"))
    assert ours == theirs
    assert ours == [
        ("127.0.0.1:PORT", "GET /api/where/a%20b?x=1&y=%2F HTTP/1.1", "200 OK"),
        ("127.0.0.1:PORT", "GET /api/created HTTP/1.1", "201 Created"),
        ("127.0.0.1:PORT", "GET /api/nope HTTP/1.1", "404 Not Found"),
        ("127.0.0.1:PORT", "POST /api/pid HTTP/1.1", "405 Method Not Allowed"),
        # A loopback peer is a trusted proxy by default: its X-Forwarded-For is the client.
        ("203.0.113.7:PORT", "GET /api/pid HTTP/1.1", "200 OK"),
    ]


def test_access_log_goes_to_stdout_and_can_be_turned_off(app_dir: Path) -> None:
    port = free_port()
    out = app_dir / "out.log"
    args = [sys.executable, *cli(app_dir, port, "native")]
    with open(out, "wb") as stdout, open(app_dir / "err.log", "wb") as stderr:
        proc = subprocess.Popen(args, stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            eventually(lambda: _connects(port), "listening")
            assert request(port, "GET", "/pid")[0] == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(STOP_TIMEOUT) == 0
    assert access_lines(out.read_text()) == [("127.0.0.1:PORT", "GET /pid HTTP/1.1", "200 OK")]
    assert "Started server process" in (app_dir / "err.log").read_text()

    for off in (("--no-access-log",), ("--log-level", "warning")):
        port = free_port()
        args = cli(app_dir, port, "native", *off)
        with serving(args, app_dir / "off.log", port) as running:
            assert request(port, "GET", "/pid")[0] == 200
            assert running.stop() == 0
        assert access_lines(running.output()) == []


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- root path and proxy headers ------------------------------------------------------------------

PROXY_CASES: list[tuple[str, dict[str, str]]] = [
    ("/where/x", {}),
    ("/where/a%20b?q=1", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}),
    ("/where/y", {"X-Forwarded-For": "198.51.100.1, 10.1.2.3, 127.0.0.1"}),
    ("/where/y", {"X-Forwarded-For": "[2001:db8::1]:8443", "X-Forwarded-Proto": " wss "}),
    ("/where/z", {"X-Forwarded-For": "", "X-Forwarded-Proto": "gopher"}),
    ("/where/z", {"X-Forwarded-Proto": "http"}),
]


def _proxy_answers(app_dir: Path, server: str, *extra: str) -> list[Any]:
    port = free_port()
    answers = []
    with serving(cli(app_dir, port, server, "--no-access-log", *extra), app_dir / f"p-{server}.log", port):
        for path, headers in PROXY_CASES:
            answer = get(port, path, headers)
            client = answer["client"]
            if client[0] == "127.0.0.1":
                client[1] = "PORT"  # the test's own ephemeral port
            answers.append(answer)
    return answers


@pytest.mark.parametrize(
    "extra",
    [
        (),
        ("--root-path", "/api"),
        ("--no-proxy-headers",),
        ("--forwarded-allow-ips", "*"),
        ("--forwarded-allow-ips", "10.0.0.0/8,127.0.0.1"),
        ("--forwarded-allow-ips", "192.0.2.1"),
    ],
)
def test_root_path_and_proxy_headers_match_uvicorn(app_dir: Path, extra: tuple[str, ...]) -> None:
    pytest.importorskip("uvicorn")
    ours = _proxy_answers(app_dir, "native", *extra)
    theirs = _proxy_answers(app_dir, "uvicorn", *extra)
    assert ours == theirs


def test_proxy_headers_set_client_and_scheme(app_dir: Path) -> None:
    port = free_port()
    args = cli(app_dir, port, "native", "--root-path", "/api", "--forwarded-allow-ips", "127.0.0.1,10.0.0.0/8")
    with serving(args, app_dir / "proxy.log", port):
        answer = get(port, "/where/p?q=1", {"X-Forwarded-For": "198.51.100.1, 10.9.9.9", "X-Forwarded-Proto": "https"})
        assert answer["client"] == ["198.51.100.1", 0]
        assert answer["scheme"] == "https"
        assert answer["root_path"] == "/api"
        assert answer["path"] == "/api/where/p"
        assert answer["raw_path"] == "/api/where/p"
        assert answer["url"] == "https://testserver/api/where/p?q=1"
        untouched = get(port, "/where/p")
        assert untouched["client"][0] == "127.0.0.1" and untouched["client"][1] > 0
        assert untouched["scheme"] == "http"


def test_environment_sets_the_trusted_proxies(app_dir: Path) -> None:
    port = free_port()
    env = {"FORWARDED_ALLOW_IPS": "192.0.2.1"}
    with serving(cli(app_dir, port, "native"), app_dir / "env.log", port, env=env):
        answer = get(port, "/where/e", {"X-Forwarded-For": "203.0.113.7"})
    assert answer["client"][0] == "127.0.0.1"


# --- listeners ------------------------------------------------------------------------------------


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(self.unix_path)
        self.sock = sock


def unix_get(path: str, target: str) -> Any:
    conn = UnixConnection(path)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


@contextlib.contextmanager
def running(args: list[str], log: Path, ready: Callable[[], Any], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`python <args>` until the block ends (SIGTERM, then kill), once `ready()` is true."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
        try:
            eventually(lambda: proc.poll() is not None or ready(), f"ready:\n{log.read_text()}")
            assert proc.poll() is None, log.read_text()
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_unix_socket(app_dir: Path, workers: str) -> None:
    path = str(app_dir / "s.sock")
    args = tachyon_cli("ops_app:app", app_dir, 0, "--server", "native", "--uds", path, "--workers", workers)
    with running(args, app_dir / "uds.log", lambda: os.path.exists(path)) as proc:
        answer = eventually(lambda: _try(lambda: unix_get(path, "/where/u")), "an answer over the socket")
        assert answer["client"] is None
        assert answer["path"] == "/where/u"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_TIMEOUT) == 0, (app_dir / "uds.log").read_text()
    assert not os.path.exists(path)
    assert f"on unix:{path} (native" in (app_dir / "uds.log").read_text()


def test_unix_socket_already_there_is_one_line_and_exit_2(app_dir: Path) -> None:
    path = app_dir / "taken.sock"
    path.write_text("")
    result = run_cli("ops_app:app", "--app-dir", str(app_dir), "--server", "native", "--uds", str(path))
    assert_one_line_error(result, str(path), "already in use")


def _try(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OSError:
        return None


def test_inherited_descriptor(app_dir: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        fd = listening.fileno()
        args = tachyon_cli("ops_app:app", app_dir, 0, "--server", "native", "--fd", str(fd))
        with running(args, app_dir / "fd.log", lambda: True, pass_fds=(fd,)) as proc:
            listening.close()  # the server's copy is the only one now
            answer = eventually(lambda: _try(lambda: get(port, "/where/f")), "an answer on the inherited socket")
            assert answer["path"] == "/where/f"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(STOP_TIMEOUT) == 0


# --- startup mistakes ----------------------------------------------------------------------------


def test_port_in_use_is_one_line_and_exit_2(app_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("ops_app:app", "--app-dir", str(app_dir), "--port", str(port), "--server", "native")
    assert_one_line_error(result, f"127.0.0.1:{port}", "address already in use")


@pytest.mark.parametrize(
    ("target", "fragment"), [("no_such_module:app", "could not import"), ("ops_app:nothing", "no attribute")]
)
def test_app_not_importable_is_one_line_and_exit_2(app_dir: Path, target: str, fragment: str) -> None:
    result = run_cli(target, "--app-dir", str(app_dir), "--server", "native")
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--server", "granian", "--uds", "/tmp/x.sock"), "--uds"),
        (("--server", "native", "--uds", "/tmp/x.sock", "--fd", "3"), "not both"),
        (("--server", "native", "--root-path", "api"), "must start with '/'"),
    ],
)
def test_option_mistakes_are_one_line_and_exit_2(app_dir: Path, args: tuple[str, ...], fragment: str) -> None:
    if "granian" in args:
        pytest.importorskip("granian")
    result = run_cli("ops_app:app", "--app-dir", str(app_dir), *args)
    assert_one_line_error(result, fragment)


# --- workers --------------------------------------------------------------------------------------


def _worker_pids(port: int, want: int) -> set[int]:
    seen: set[int] = set()

    def enough() -> bool:
        with contextlib.suppress(OSError):
            seen.add(get(port, "/pid")["pid"])
        return len(seen) >= want

    eventually(enough, f"{want} distinct workers answering")
    return seen


def test_workers_share_the_port_and_are_restarted(app_dir: Path) -> None:
    port = free_port()
    marker = app_dir / "down"
    args = cli(app_dir, port, "native", "--workers", "2", "--no-access-log")
    env = {"TACHYON_TEST_SHUTDOWN_MARKER": str(marker)}
    with serving(args, app_dir / "workers.log", port, env=env) as server:
        first = _worker_pids(port, 2)
        assert server.proc.pid not in first
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # The supervisor starts a new worker; the survivor and the new one answer.
        eventually(lambda: _restarted(server.output()), "a restart")
        later = _worker_pids(port, 2)
        assert victim not in later
        assert len(later - first) == 1, server.output()
        everyone = later | first
        assert server.stop(signal.SIGTERM) == 0, server.output()
    output = server.output()
    assert f"Worker [{victim}] died (killed by SIGKILL): restarting it" in output
    assert "Traceback" not in output
    # Every live worker ran its lifespan shutdown; the killed one could not.
    shut_down = {int(p.suffix[1:]) for p in app_dir.glob("down.*")}
    assert victim not in shut_down
    assert len(shut_down) == 2, output
    assert not any(_alive(pid) for pid in everyone)


def _restarted(output: str) -> bool:
    return output.count("Started worker [") >= 3


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_stop_on_sigint(app_dir: Path) -> None:
    port = free_port()
    args = cli(app_dir, port, "native", "--workers", "2")
    with serving(args, app_dir / "int.log", port) as server:
        pids = _worker_pids(port, 2)
        assert server.stop(signal.SIGINT) == 0, server.output()
    assert not any(_alive(pid) for pid in pids)


# --- reload ---------------------------------------------------------------------------------------


def test_reload_restarts_on_change(app_dir: Path) -> None:
    port = free_port()
    (app_dir / "ops_app.py").write_text(APP.replace('"made"', '"version one"'))
    args = cli(app_dir, port, "native", "--reload", "--no-access-log")
    with serving(args, app_dir / "reload.log", port) as server:
        assert eventually(lambda: _try(lambda: request(port, "GET", "/created")[2]), "an answer") == b"version one"
        source = (app_dir / "ops_app.py").read_text().replace('"version one"', '"version two"')
        (app_dir / "ops_app.py").write_text(source)
        eventually(lambda: _try(lambda: request(port, "GET", "/created")[2]) == b"version two", server.output())
        assert server.stop(signal.SIGTERM) == 0, server.output()
    output = server.output()
    assert "Changes detected in" in output
    assert "Traceback" not in output


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def https_get(port: int, path: str, cert: Path) -> Any:
    context = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        conn.request("GET", path, headers={"Host": "testserver"})
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


def _https_answer(app_dir: Path, server: str, cert: Path, key: Path) -> Any:
    port = free_port()
    args = cli(app_dir, port, server, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with serving(args, app_dir / f"tls-{server}.log", port) as running:
        answer = https_get(port, "/where/s?x=1", cert)
        assert running.stop() == 0, running.output()
    answer["client"][1] = "PORT"
    assert f"https://127.0.0.1:{port}" in running.output()
    return answer, access_lines(running.output())


def test_https_matches_uvicorn(app_dir: Path, certificate: tuple[Path, Path]) -> None:
    pytest.importorskip("uvicorn")
    ours = _https_answer(app_dir, "native", *certificate)
    assert ours[0]["scheme"] == "https"
    assert ours[0]["url"] == "https://testserver/where/s?x=1"
    assert ours == _https_answer(app_dir, "uvicorn", *certificate)


def test_https_with_workers(app_dir: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    port = free_port()
    args = cli(app_dir, port, "native", "--workers", "2", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with serving(args, app_dir / "tls-workers.log", port) as running:
        assert https_get(port, "/where/w", cert)["scheme"] == "https"
        assert running.stop() == 0, running.output()


def test_tls_mistakes_are_one_line_and_exit_2(app_dir: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    base = ("ops_app:app", "--app-dir", str(app_dir), "--server", "native", "--port", str(free_port()))
    assert_one_line_error(run_cli(*base, "--ssl-certfile", str(cert)), "both")
    assert_one_line_error(
        run_cli(*base, "--ssl-certfile", str(cert), "--ssl-keyfile", str(app_dir / "missing.pem")), "missing.pem"
    )
    assert_one_line_error(run_cli(*base, "--ssl-certfile", str(key), "--ssl-keyfile", str(key)), "cannot load TLS")


# --- the default server ----------------------------------------------------------------------------


def test_without_server_the_native_server_serves_with_its_options(app_dir: Path) -> None:
    # Options Granian refuses (--root-path, --uds, --fd) are the default server's on Linux.
    port = free_port()
    args = tachyon_cli("ops_app:app", app_dir, port, "--root-path", "/api", "--workers", "2", "--no-access-log")
    with serving(args, app_dir / "default.log", port) as running:
        answer = get(port, "/where/x")
        assert running.stop() == 0, running.output()
    assert (answer["root_path"], answer["path"]) == ("/api", "/api/where/x")
    assert f"on http://127.0.0.1:{port} (native, ASGI, 2 workers)" in running.output()


def test_help_names_the_default_server() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Default server: on Linux, Tachyon's own (native)" in text
    assert "--server {native,granian,uvicorn,hypercorn}" in text
