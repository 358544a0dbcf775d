"""Starting real servers in subprocesses for the serving tests (bounded waits, always cleaned up)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until `port` accepts connections; fail with the server's log if it dies or is slow."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"server did not listen on {port} within {START_TIMEOUT}s:\n{log.read_text()}")


class Server:
    """A server subprocess: its port, its log file, and how it exited."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path, log_file: IO[bytes]) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self._log_file = log_file

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send `signum`, wait for the exit (killing after a timeout); the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        self._log_file.close()
        return self.proc.returncode

    def output(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")


@contextmanager
def serving(
    args: Sequence[str], log: Path, port: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run `python <args>` until the block ends; yields once `port` is listening."""
    log_file = open(log, "wb")  # noqa: SIM115 - closed by Server.stop
    # A fixed hash seed: `Allow` lists a set of methods (as Starlette does), whose order
    # would otherwise differ between two server processes.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=log_file, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True
    )
    server = Server(proc, port, log, log_file)
    try:
        wait_listening(port, proc, log)
        yield server
    finally:
        server.stop()
        # A worker whose parent was killed would be orphaned: end the whole session too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def tachyon_cli(target: str, app_dir: Path, port: int, *extra: str) -> list[str]:
    """The `python -m tachyon` arguments serving `target` from `app_dir` on `port`."""
    return ["-m", "tachyon", target, "--app-dir", str(app_dir), "--port", str(port), "--log-level", "warning", *extra]


Response = tuple[int, list[tuple[str, str]], bytes]


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    """One HTTP/1.1 request on a fresh connection: (status, header list in order, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # A fixed Host, so that URLs built from it (redirects) do not differ by port.
        conn.request(method, path, body=body, headers={"Host": "testserver", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()
