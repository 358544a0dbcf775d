"""Panic containment: a Rust panic inside a binding reaches Python as an exception (PyO3's
`PanicException`), never an abort; the request it happens in fails and the worker keeps serving.

The panicking binding, `_tachyon._test_panic`, exists only in builds with the `test-hooks`
cargo feature (`make develop`); release builds and wheels do not have it.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from _servers import free_port, request, serving, tachyon_cli

from tachyon import _tachyon
from tachyon.applications import Starlette
from tachyon.requests import Request
from tachyon.responses import PlainTextResponse
from tachyon.routing import Route
from tachyon.testclient import TestClient

pytestmark = pytest.mark.skipif(not _tachyon._test_hooks, reason="built without the test-hooks feature")

APP = """
from tachyon import _tachyon
from tachyon.applications import Starlette
from tachyon.responses import PlainTextResponse
from tachyon.routing import Route


async def boom(request):
    _tachyon._test_panic("boom from a binding")


async def ok(request):
    # Another binding after the panic: the extension's state is intact.
    return PlainTextResponse(_tachyon.json_dumps({"ok": True}).decode())


app = Starlette(routes=[Route("/boom", boom), Route("/ok", ok)])
"""


def panic_type() -> type[BaseException]:
    try:
        _tachyon._test_panic("probe")
    except BaseException as exc:  # noqa: BLE001 - PanicException derives from BaseException
        return type(exc)
    raise AssertionError("the hook did not panic")


def test_a_panic_is_a_python_exception_and_the_extension_stays_usable() -> None:
    kind = panic_type()
    assert kind.__name__ == "PanicException"
    with pytest.raises(kind, match="boom"):
        _tachyon._test_panic("boom")
    # Nothing is left poisoned: bindings keep working, the hook keeps panicking the same way.
    assert _tachyon.json_dumps([1, "a"]) == b'[1,"a"]'
    assert _tachyon.parse_range_header("bytes=0-1", 10, 100) == [(0, 2)]
    with pytest.raises(kind):
        _tachyon._test_panic("again")


@pytest.mark.parametrize("server", ["uvicorn", "default"])
def test_a_panic_under_a_real_server_is_that_requests_500_and_the_worker_keeps_serving(
    tmp_path: Path, server: str
) -> None:
    """Under uvicorn, and under the server `python -m tachyon` picks (the native one on Linux)."""
    if server == "uvicorn" or not sys.platform.startswith("linux"):
        pytest.importorskip("uvicorn" if server == "uvicorn" else "granian")
    (tmp_path / "panicky.py").write_text(textwrap.dedent(APP))
    port = free_port()
    if server == "uvicorn":
        args = ["-m", "uvicorn", "panicky:app", "--app-dir", str(tmp_path), "--port", str(port)]
    else:
        args = tachyon_cli("panicky:app", tmp_path, port, "--log-level", "info")
    with serving(args, tmp_path / "server.log", port, env={"RUST_BACKTRACE": "0"}) as server:
        for _ in range(3):
            status, _, body = request(port, "GET", "/boom")
            assert status == 500
            assert b"boom" not in body  # no panic text leaks to the client
            status, _, body = request(port, "GET", "/ok")
            assert (status, body) == (200, b'{"ok":true}')
        assert server.proc.poll() is None, "the worker is still running"
        log = server.output()
    assert "boom from a binding" in log


def app_with_panic() -> Starlette:
    async def boom(request: Request) -> PlainTextResponse:
        _tachyon._test_panic("boom")
        raise AssertionError

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/boom", boom), Route("/ok", ok)])


def test_a_panic_through_testclient_is_a_500_and_the_next_request_is_fine() -> None:
    client = TestClient(app_with_panic(), raise_server_exceptions=False)
    assert client.get("/boom").status_code == 500
    assert client.get("/ok").text == "ok"


def test_a_panic_is_raised_to_the_test_client_as_an_error_caused_by_it() -> None:
    client = TestClient(app_with_panic())
    with pytest.raises(RuntimeError, match="panic in Tachyon's native code") as caught:
        client.get("/boom")
    assert isinstance(caught.value.__cause__, _tachyon.PanicException)
    assert client.get("/ok").text == "ok"
