"""`python -m tachyon` and `app.run()`: each server for real, startup mistakes, clean shutdown."""

from __future__ import annotations

import inspect
import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _servers import free_port, request, serving, tachyon_cli

from tachyon import TachyonEngine, rsgi, supervisor
from tachyon import server as tachyon_server

# The app module the subprocesses import (written to a file): test_native_cli.py has its own,
# with the routes its native-server tests need, so that each module stays self-contained.
HELLO = textwrap.dedent(
    """
    import contextlib
    import os
    from tachyon import JSONResponse, Route, TachyonEngine


    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        marker = os.environ.get("TACHYON_TEST_SHUTDOWN_MARKER")
        if marker:
            with open(marker, "w") as f:
                f.write("shut down")


    async def hello(request):
        return JSONResponse({"message": "Hello, World!", "pid": os.getpid()})


    app = TachyonEngine(routes=[Route("/", hello)], lifespan=lifespan)
    not_an_app = 42

    if __name__ == "__main__":
        import sys

        app.run(port=int(sys.argv[1]), log_level="warning")
    """
)

SERVER_INTERFACES = [
    ("granian", "rsgi"),
    ("granian", "asgi"),
    ("uvicorn", "asgi"),
    ("hypercorn", "asgi"),
]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "hello.py").write_text(HELLO)
    return tmp_path


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tachyon", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tachyon: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(("server", "interface"), SERVER_INTERFACES)
def test_cli_serves_on_each_server(app_dir: Path, server: str, interface: str) -> None:
    pytest.importorskip(server)
    port = free_port()
    marker = app_dir / "shutdown.txt"
    args = tachyon_cli("hello:app", app_dir, port, "--server", server, "--interface", interface)
    env = {"TACHYON_TEST_SHUTDOWN_MARKER": str(marker)}
    with serving(args, app_dir / "server.log", port, env=env) as running:
        status, headers, body = request(port, "GET", "/")
        assert status == 200
        assert body.startswith(b'{"message":"Hello, World!"')
        assert ("content-type", "application/json") in [(k.lower(), v) for k, v in headers]
        assert request(port, "GET", "/nope")[0] == 404
        returncode = running.stop(signal.SIGTERM)
    output = running.output()
    assert returncode == 0, output
    assert f"on http://127.0.0.1:{port} ({server}, {interface.upper()}, 1 worker)" in output
    assert "Traceback" not in output
    assert marker.read_text() == "shut down", output


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_sigint_shuts_down_cleanly(app_dir: Path, server: str) -> None:
    pytest.importorskip(server)
    port = free_port()
    with serving(tachyon_cli("hello:app", app_dir, port, "--server", server), app_dir / "s.log", port) as running:
        assert request(port, "GET", "/")[0] == 200
        returncode = running.stop(signal.SIGINT)
    assert returncode == 0, running.output()
    assert "Traceback" not in running.output()


def test_default_server_is_native_on_linux(app_dir: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the native server is the default on Linux only")
    port = free_port()
    with serving(tachyon_cli("hello:app", app_dir, port), app_dir / "s.log", port) as running:
        assert request(port, "GET", "/")[0] == 200
        assert running.stop() == 0
    assert "(native, ASGI, 1 worker)" in running.output()


def test_make_run_serves_the_example_on_the_native_server(tmp_path: Path) -> None:
    # `make run`'s command line (the Makefile's `run` target), on a free port.
    if not sys.platform.startswith("linux"):
        pytest.skip("the native server is the default on Linux only")
    root = Path(__file__).resolve().parents[2]
    make_run = re.search(r"^run:.*\n\t\$\(PY\) (-m tachyon .*)$", (root / "Makefile").read_text(), re.M)
    assert make_run is not None
    args = make_run.group(1).replace("$(HOST)", "127.0.0.1").split()
    port = free_port()
    args[args.index("$(PORT)")] = str(port)
    with serving(args, tmp_path / "s.log", port, cwd=root) as running:
        status, headers, body = request(port, "GET", "/")
        assert status == 200
        assert json.loads(body) == {"message": "Hello, World!"}
        assert ("content-type", "application/json") in [(k.lower(), v) for k, v in headers]
        assert request(port, "GET", "/users/7?q=x")[2] == b'{"id":7,"q":"x"}'
        assert running.stop(signal.SIGINT) == 0
    output = running.output()
    assert f"Tachyon serving hello:app on http://127.0.0.1:{port} (native, ASGI, 1 worker)" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("server", [None, "granian"])
def test_two_workers(app_dir: Path, server: str | None) -> None:
    if server is None and not sys.platform.startswith("linux"):
        pytest.skip("the native server is the default on Linux only")
    if server is not None:
        pytest.importorskip(server)
    port = free_port()
    args = tachyon_cli("hello:app", app_dir, port, "--workers", "2", *(("--server", server) if server else ()))
    with serving(args, app_dir / "s.log", port) as running:
        assert all(request(port, "GET", "/")[0] == 200 for _ in range(10))
        assert running.stop() == 0
    assert f"({server or 'native'}, {'RSGI' if server else 'ASGI'}, 2 workers)" in running.output()


def test_app_run_from_a_script(app_dir: Path) -> None:
    port = free_port()
    with serving([str(app_dir / "hello.py"), str(port)], app_dir / "s.log", port, cwd=app_dir) as running:
        assert request(port, "GET", "/")[0] == 200
        assert running.stop(signal.SIGINT) == 0
    assert f"http://127.0.0.1:{port}" in running.output()
    if sys.platform.startswith("linux"):  # app.run()'s default server
        assert "(native, ASGI, 1 worker)" in running.output()


@pytest.mark.parametrize(("server", "interface"), [("granian", "rsgi"), ("uvicorn", "asgi")])
def test_failed_lifespan_startup_stops_the_server(tmp_path: Path, server: str, interface: str) -> None:
    pytest.importorskip(server)
    (tmp_path / "bad.py").write_text(
        textwrap.dedent(
            """
            import contextlib
            from tachyon import TachyonEngine

            @contextlib.asynccontextmanager
            async def lifespan(app):
                raise RuntimeError("database unreachable")
                yield

            app = TachyonEngine(lifespan=lifespan)
            """
        )
    )
    args = ["bad:app", "--app-dir", str(tmp_path), "--port", str(free_port()), "--server", server]
    result = run_cli(*args, "--interface", interface)
    assert result.returncode != 0
    assert "database unreachable" in result.stderr + result.stdout
    assert "startup failed" in result.stderr + result.stdout


def test_wrong_module_is_one_line_and_exit_2(app_dir: Path) -> None:
    assert_one_line_error(run_cli("no_such_module:app", "--app-dir", str(app_dir)), "no_such_module")


def test_missing_attribute_is_one_line_and_exit_2(app_dir: Path) -> None:
    assert_one_line_error(run_cli("hello:nope", "--app-dir", str(app_dir)), "'hello'", "'nope'")


def test_target_without_colon_is_one_line_and_exit_2(app_dir: Path) -> None:
    assert_one_line_error(run_cli("hello", "--app-dir", str(app_dir)), "module:attribute")


def test_rsgi_on_uvicorn_is_refused(app_dir: Path) -> None:
    pytest.importorskip("uvicorn")
    result = run_cli("hello:app", "--app-dir", str(app_dir), "--server", "uvicorn", "--interface", "rsgi")
    assert_one_line_error(result, "rsgi")


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_port_in_use_is_one_line_and_exit_2(app_dir: Path, server: str) -> None:
    pytest.importorskip(server)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("hello:app", "--app-dir", str(app_dir), "--port", str(port), "--server", server)
    assert_one_line_error(result, f"127.0.0.1:{port}", "address already in use")


def test_a_broken_module_keeps_its_traceback(tmp_path: Path) -> None:
    # A missing import inside the user's module is a bug in it, not a wrong path.
    (tmp_path / "broken.py").write_text("import no_such_dependency_xyz\n")
    result = run_cli("broken:app", "--app-dir", str(tmp_path))
    assert result.returncode != 0
    assert "no_such_dependency_xyz" in result.stderr
    assert "Traceback" in result.stderr


def test_choose_server_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tachyon_server, "installed_servers", lambda: ["granian", "uvicorn", "hypercorn"])
    # On Linux the native server is the default, over ASGI (its only interface).
    monkeypatch.setattr(tachyon_server, "native_is_default", lambda: True)
    assert tachyon_server.choose_server() == ("native", "asgi")
    assert tachyon_server.choose_server(interface="asgi") == ("native", "asgi")
    # --interface rsgi without --server means Granian.
    assert tachyon_server.choose_server(interface="rsgi") == ("granian", "rsgi")
    assert tachyon_server.choose_server("granian") == ("granian", "rsgi")
    assert tachyon_server.choose_server("uvicorn") == ("uvicorn", "asgi")
    with pytest.raises(tachyon_server.ServeError, match="leave --interface out"):
        tachyon_server.choose_server("native", "rsgi")
    # Elsewhere: the first installed of SERVERS, Granian over RSGI.
    monkeypatch.setattr(tachyon_server, "native_is_default", lambda: False)
    assert tachyon_server.choose_server() == ("granian", "rsgi")
    assert tachyon_server.choose_server(interface="asgi") == ("granian", "asgi")
    assert tachyon_server.choose_server("uvicorn") == ("uvicorn", "asgi")
    monkeypatch.setattr(tachyon_server, "installed_servers", lambda: ["uvicorn", "hypercorn"])
    assert tachyon_server.choose_server() == ("uvicorn", "asgi")
    with pytest.raises(tachyon_server.ServeError, match="not installed"):
        tachyon_server.choose_server("granian")
    with pytest.raises(tachyon_server.ServeError, match="'granian' is not installed"):
        tachyon_server.choose_server(interface="rsgi")
    monkeypatch.setattr(tachyon_server, "installed_servers", lambda: [])
    with pytest.raises(tachyon_server.ServeError, match="no server installed"):
        tachyon_server.choose_server()
    with pytest.raises(tachyon_server.ServeError, match="unknown server"):
        tachyon_server.choose_server("gunicorn")
    # On Linux the native server needs none of them.
    monkeypatch.setattr(tachyon_server, "native_is_default", lambda: True)
    assert tachyon_server.choose_server() == ("native", "asgi")


def test_the_native_server_is_the_default_on_linux_only() -> None:
    assert tachyon_server.native_is_default() == sys.platform.startswith("linux")


def _websocket_apps() -> tuple[TachyonEngine, TachyonEngine]:
    from tachyon import Mount, Route, Router, WebSocketRoute
    from tachyon.responses import Response

    async def endpoint(scope: object) -> Response:  # pragma: no cover - never called
        return Response()

    plain = TachyonEngine(routes=[Route("/", endpoint)])
    nested = TachyonEngine(routes=[Mount("/api", app=Router([WebSocketRoute("/ws", endpoint)]))])
    return plain, nested


def test_apps_with_websocket_routes_default_to_asgi_on_granian(monkeypatch: pytest.MonkeyPatch) -> None:
    # Granian's RSGI websocket close() sends a close frame without a code (1005): ASGI delivers it.
    plain, nested = _websocket_apps()
    assert not tachyon_server.serves_websockets(plain)
    assert tachyon_server.serves_websockets(nested)
    monkeypatch.setattr(tachyon_server, "installed_servers", lambda: ["granian", "uvicorn"])
    monkeypatch.setattr(tachyon_server, "native_is_default", lambda: False)
    assert tachyon_server.choose_server(websockets=True) == ("granian", "asgi")
    assert tachyon_server.choose_server(interface="rsgi", websockets=True) == ("granian", "rsgi")
    assert tachyon_server.choose_server("uvicorn", websockets=True) == ("uvicorn", "asgi")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the native server is the default on Linux only")
def test_websocket_apps_are_served_natively_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[str] = []
    monkeypatch.setattr(tachyon_server, "installed_servers", lambda: ["granian", "uvicorn"])
    assert tachyon_server.choose_server(websockets=True) == ("native", "asgi")
    assert tachyon_server.choose_server(interface="asgi", websockets=True) == ("native", "asgi")
    monkeypatch.setattr(tachyon_server, "_run_native", lambda app, options: started.append("native"))
    monkeypatch.setattr(tachyon_server, "_set_body_timeout", lambda seconds: None)
    plain, nested = _websocket_apps()
    tachyon_server.run(plain, port=free_port())
    tachyon_server.run(nested, port=free_port())
    assert started == ["native", "native"]
    assert "WebSocket" not in capsys.readouterr().err


def test_find_import_string() -> None:
    from tachyon import rsgi

    assert tachyon_server.find_import_string(rsgi.serve) == "tachyon.rsgi:serve"
    assert tachyon_server.find_import_string(object()) is None


def test_check_address_refuses_a_listening_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(tachyon_server.ServeError, match="address already in use"):
            tachyon_server.check_address("127.0.0.1", taken.getsockname()[1])
    with pytest.raises(tachyon_server.ServeError, match="invalid port"):
        tachyon_server.check_address("127.0.0.1", 70000)


def test_build_profile_is_reported_and_a_debug_build_warns_when_serving(app_dir: Path) -> None:
    import tachyon

    assert tachyon.build_profile in ("debug", "release")
    port = free_port()
    with serving(tachyon_cli("hello:app", app_dir, port, "--server", "uvicorn"), app_dir / "s.log", port) as running:
        assert request(port, "GET", "/")[0] == 200
    warned = "WARNING: serving with a DEBUG build of tachyon._tachyon" in running.output()
    assert warned == (tachyon.build_profile == "debug")


def test_app_run_takes_the_leading_parameters_of_server_run() -> None:
    app_run = [p for name, p in inspect.signature(TachyonEngine.run).parameters.items() if name != "self"]
    server_run = list(inspect.signature(tachyon_server.run).parameters.values())[1 : len(app_run) + 1]
    assert [(p.name, p.kind, p.default) for p in app_run] == [(p.name, p.kind, p.default) for p in server_run]


def test_the_default_deadlines_agree_wherever_they_are_written() -> None:
    native = supervisor.NativeOptions()
    assert (native.header_timeout, native.body_timeout) == (
        tachyon_server.DEFAULT_HEADER_TIMEOUT,
        tachyon_server.DEFAULT_BODY_TIMEOUT,
    )
    assert rsgi.DEFAULT_BODY_TIMEOUT == tachyon_server.DEFAULT_BODY_TIMEOUT
