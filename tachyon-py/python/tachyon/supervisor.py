"""Running the native server as uvicorn runs: logging, access log, worker processes, --reload.

`tachyon.server.run(server="native")` (and `python -m tachyon --server native`) come here:

- `configure_logging` sets up the `tachyon` loggers as uvicorn sets up its own: lines such as
  `INFO:     Started worker [1234]` on stderr, and access lines in uvicorn's format on stdout
  from the `tachyon.access` logger: `INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200 OK`.
- `serve` runs one worker in this process, or (`workers` > 1) a supervisor that forks the
  workers, each listening on the same port with `SO_REUSEPORT` (or on the Unix socket or
  descriptor the supervisor holds), restarts a worker that dies, and on SIGINT or SIGTERM
  asks every worker to shut down gracefully and exits 0 once they have;
- or (`reload`) a reloader that holds the listening socket and runs one worker in a fresh
  interpreter (`python -m tachyon ... --fd N`), restarted when a `.py` file under the watched
  directory changes (polled twice a second).
"""

from __future__ import annotations

import dataclasses
import http
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

__all__ = [
    "ACCESS_LOGGER",
    "AccessFormatter",
    "DefaultFormatter",
    "NativeOptions",
    "access_log_callable",
    "configure_logging",
    "serve",
]

ACCESS_LOGGER = "tachyon.access"
"""The logger of access lines (uvicorn's is `uvicorn.access`)."""
ERROR_LOGGER = "tachyon.error"
"""The logger of the server's own messages (uvicorn's is `uvicorn.error`)."""
RESTART_DELAY = 1.0
"""Seconds the supervisor waits before restarting a worker that died within a second of starting."""
POLL_INTERVAL = 0.5
"""Seconds between two scans of the watched files under --reload."""

logger = logging.getLogger(ERROR_LOGGER)


class DefaultFormatter(logging.Formatter):
    """uvicorn's default format without colours: `%(levelprefix)s %(message)s`, where the
    level prefix is `LEVEL:` padded to nine characters (`INFO:    `)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.__dict__["levelprefix"] = record.levelname + ":" + " " * (8 - len(record.levelname))
        return super().formatMessage(record)


class AccessFormatter(DefaultFormatter):
    """uvicorn's access format without colours: `%(levelprefix)s %(client_addr)s -
    "%(request_line)s" %(status_code)s`, from a record whose args are (client, method,
    path with query, http version, status), the status followed by its reason phrase."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        client, method, full_path, version, status = record.args  # type: ignore[misc]
        try:
            phrase = http.HTTPStatus(int(status)).phrase
        except ValueError:
            phrase = ""
        record.__dict__.update(
            client_addr=client,
            request_line=f"{method} {full_path} HTTP/{version}",
            status_code=f"{status} {phrase}",
        )
        return super().formatMessage(record)


def configure_logging(log_level: str, access_log: bool) -> None:
    """Log as uvicorn does: `tachyon` messages on stderr at `log_level`, access lines on
    stdout (only when `access_log` and `log_level` lets INFO through)."""
    level = log_level.upper()
    error = logging.StreamHandler(sys.stderr)
    error.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    tachyon = logging.getLogger("tachyon")
    tachyon.handlers = [error]
    tachyon.setLevel(level)
    tachyon.propagate = False
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(level)
    if access_log:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(AccessFormatter('%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'))
        access.handlers = [handler]
    else:
        access.handlers = []
    access.propagate = False


def access_log_callable(root_path: str = "") -> Callable[[str, str, str, str, str, int], None] | None:
    """What the native server calls per response to log it, or None if the `tachyon.access`
    logger would drop INFO records (then the server does no work for the access log at all)."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not access.isEnabledFor(logging.INFO) or not access.hasHandlers():
        return None
    info = access.info

    def log(client: str, method: str, path: str, query: str, version: str, status: int) -> None:
        # uvicorn logs quote(scope["path"]) (the root path and the decoded path) and the query.
        full_path = quote(root_path + unquote(path))
        if query:
            full_path = f"{full_path}?{query}"
        info('%s - "%s %s HTTP/%s" %d', client, method, full_path, version, status)

    return log


@dataclasses.dataclass
class NativeOptions:
    """How to run the native server (the options of `python -m tachyon --server native`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    uds: str | None = None
    fd: int | None = None
    workers: int = 1
    reload: bool = False
    log_level: str = "info"
    access_log: bool = True
    root_path: str = ""
    proxy_headers: bool = True
    forwarded_allow_ips: str | None = None
    header_timeout: float = 10.0
    body_timeout: float | None = 60.0
    import_string: str | None = None
    app_dir: str | None = None
    reload_dirs: list[str] = dataclasses.field(default_factory=list)
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ws_max_size: int = 16 * 1024 * 1024
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 20.0

    def trusted(self) -> str | None:
        """The NativeServer's `forwarded_allow_ips`: None when proxy headers are off; by
        default uvicorn's (`$FORWARDED_ALLOW_IPS`, else the loopback addresses)."""
        if not self.proxy_headers:
            return None
        if self.forwarded_allow_ips is not None:
            return self.forwarded_allow_ips
        return os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def serve(app: Any, options: NativeOptions) -> None:
    """Serve `app` on the native server as `options` say, until SIGINT or SIGTERM."""
    configure_logging(options.log_level, options.access_log)
    if options.reload:
        _reload(options)
    elif options.workers > 1:
        _supervise(app, options)
    else:
        _serve_one(app, options, fd=options.fd)


def _serve_one(app: Any, options: NativeOptions, *, fd: int | None) -> None:
    """One worker, in this process."""
    from tachyon import native_server

    logger.info("Started server process [%d]", os.getpid())
    native_server.serve(
        app,
        options.host,
        options.port,
        uds=options.uds if fd is None else None,
        fd=fd,
        header_timeout=options.header_timeout,
        body_timeout=options.body_timeout,
        root_path=options.root_path,
        forwarded_allow_ips=options.trusted(),
        access_log=access_log_callable(options.root_path),
        ssl_certfile=options.ssl_certfile,
        ssl_keyfile=options.ssl_keyfile,
        ws_max_size=options.ws_max_size,
        ws_ping_interval=options.ws_ping_interval,
        ws_ping_timeout=options.ws_ping_timeout,
    )
    if fd is None and options.uds is not None:
        _unlink(options.uds)
    logger.info("Finished server process [%d]", os.getpid())


def _listen_tcp(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A listening TCP socket on host:port (backlog 2048, as uvicorn's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _shared_socket(options: NativeOptions) -> socket.socket | None:
    """The socket the supervisor or reloader listens on for its workers: the Unix socket, the
    given descriptor, or (`reload`) the TCP port. None: each worker binds the TCP port itself
    with SO_REUSEPORT."""
    if options.fd is not None:
        return socket.socket(fileno=options.fd)
    if options.uds is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(options.uds)
        sock.listen(2048)
        return sock
    if options.reload:
        return _listen_tcp(options.host, options.port, reuse_port=False)
    return None


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _worker(app: Any, options: NativeOptions, shared: socket.socket | None) -> int:
    """A forked worker's life; returns its exit status."""
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    # Blocked by the supervisor around the fork (so its handler never runs here).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    try:
        if shared is not None:
            fd = os.dup(shared.fileno())
        else:
            fd = _listen_tcp(options.host, options.port, reuse_port=True).detach()
        _serve_one(app, options, fd=fd)
    except BaseException:
        logger.exception("Worker [%d] failed", os.getpid())
        return 1
    return 0


def _fork_worker(app: Any, options: NativeOptions, shared: socket.socket | None) -> int:
    # SIGINT and SIGTERM wait until the new worker is known to the supervisor (and, in the
    # worker, until the supervisor's handler is gone).
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        raise
    if pid == 0:
        status = 1
        try:
            status = _worker(app, options, shared)
        finally:
            logging.shutdown()
            os._exit(status)
    logger.info("Started worker [%d]", pid)
    return pid


def _start_worker(app: Any, options: NativeOptions, shared: socket.socket | None, workers: dict[int, float]) -> None:
    """Fork a worker and record it, with stop signals held until it is recorded."""
    try:
        workers[_fork_worker(app, options, shared)] = time.monotonic()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _supervise(app: Any, options: NativeOptions) -> None:
    """Fork `options.workers` workers, restart any that dies, stop them all on a signal."""
    shared = _shared_socket(options)
    stopping = False
    workers: dict[int, float] = {}

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            logger.info("Shutting down: stopping %d workers", len(workers))
        stopping = True
        for pid in workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    logger.info("Started parent process [%d]", os.getpid())
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(options.workers):
            _start_worker(app, options, shared, workers)
        while workers:
            pid, status = os.wait()
            started = workers.pop(pid, None)
            if started is None:
                continue
            if stopping:
                continue
            logger.warning("Worker [%d] died (%s): restarting it", pid, _describe(status))
            if time.monotonic() - started < RESTART_DELAY:
                time.sleep(RESTART_DELAY)
                if stopping:
                    continue
            _start_worker(app, options, shared, workers)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if shared is not None:
            shared.close()
        if options.uds is not None:
            _unlink(options.uds)
    logger.info("Stopping parent process [%d]", os.getpid())


def _unlink(path: str) -> None:
    """Remove a Unix socket file this process created, if it is still there."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _watched_files(dirs: list[str]) -> Iterator[Path]:
    for directory in dirs:
        yield from Path(directory).rglob("*.py")


def _snapshot(dirs: list[str]) -> dict[Path, float]:
    stamps = {}
    for path in _watched_files(dirs):
        try:
            stamps[path] = path.stat().st_mtime
        except OSError:
            pass
    return stamps


def _worker_command(options: NativeOptions, fd: int) -> list[str]:
    """`python -m tachyon` for the reloader's worker, serving on the descriptor `fd`."""
    assert options.import_string is not None  # run() found it or refused to start
    command = [
        sys.executable,
        "-m",
        "tachyon",
        options.import_string,
        "--server",
        "native",
        "--fd",
        str(fd),
        "--log-level",
        options.log_level,
        "--root-path",
        options.root_path,
        "--header-timeout",
        str(options.header_timeout),
        "--body-timeout",
        str(options.body_timeout or 0),
        "--app-dir",
        options.app_dir or ".",
        "--ws-max-size",
        str(options.ws_max_size),
        "--ws-ping-interval",
        str(options.ws_ping_interval or 0),
        "--ws-ping-timeout",
        str(options.ws_ping_timeout or 0),
    ]
    if not options.access_log:
        command.append("--no-access-log")
    if not options.proxy_headers:
        command.append("--no-proxy-headers")
    if options.forwarded_allow_ips is not None:
        command += ["--forwarded-allow-ips", options.forwarded_allow_ips]
    if options.ssl_certfile is not None and options.ssl_keyfile is not None:
        command += ["--ssl-certfile", options.ssl_certfile, "--ssl-keyfile", options.ssl_keyfile]
    return command


def _reload(options: NativeOptions) -> None:
    """Run one worker in a fresh interpreter; restart it when a watched file changes."""
    shared = _shared_socket(options)
    assert shared is not None
    dirs = options.reload_dirs or [os.path.abspath(options.app_dir or ".")]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    logger.info("Will watch for changes in these directories: %s", dirs)
    logger.info("Started reloader process [%d]", os.getpid())
    fd = shared.fileno()
    command = _worker_command(options, fd)
    child: subprocess.Popen[bytes] | None = None
    try:
        stamps = _snapshot(dirs)
        child = subprocess.Popen(command, pass_fds=(fd,))
        while not stopping:
            time.sleep(POLL_INTERVAL)
            now = _snapshot(dirs)
            changed = sorted({p for p in now.keys() | stamps.keys() if now.get(p) != stamps.get(p)})
            if changed:
                logger.warning("Changes detected in %s: reloading", ", ".join(str(p) for p in changed))
                stamps = now
                _stop_child(child)
                child = subprocess.Popen(command, pass_fds=(fd,))
            elif child.poll() is not None:
                # The worker died (an import error, say): wait for the next change.
                stamps = now
    finally:
        if child is not None:
            _stop_child(child)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        shared.close()
        if options.uds is not None:
            _unlink(options.uds)
    logger.info("Stopping reloader process [%d]", os.getpid())


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
