"""Serving an app with one command: `app.run()` and `python -m tachyon module:app`.

On Linux the default server is Tachyon's own (`tachyon.native_server`: hyper on the asyncio
loop's thread, through the ASGI interface). Elsewhere it is an existing one: Granian over RSGI
when it is installed, else uvicorn, else hypercorn. `server=` / `--server` picks any of them;
`--interface rsgi` without a server means Granian.
An app with WebSocket routes is served, by default, by a server that delivers its close codes:
the native server on Linux; elsewhere the first installed of the others, with Granian over its
ASGI interface (RSGI has no way to put a close code in a close frame: every close reaches the
client as 1005).

Slow clients are cut off: a client gets `header_timeout` seconds to send its request line and
headers, and `body_timeout` seconds to send its body, on every server `run` starts (see
docs/security.md for the same settings when starting a server yourself).

Each handles SIGINT and SIGTERM by draining and exiting 0. Mistakes a user makes when
starting a server (a wrong module path, a missing attribute, a port in use, a server that is
not installed) are a one-line message on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import importlib.util
import logging
import multiprocessing
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from tachyon.rsgi import DEFAULT_BODY_TIMEOUT

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "GUARDED_TARGET_ENV",
    "BodyGuard",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_WS_MAX_SIZE",
    "DEFAULT_WS_PING_INTERVAL",
    "DEFAULT_WS_PING_TIMEOUT",
    "INTERFACES",
    "LOG_LEVELS",
    "NATIVE",
    "SERVERS",
    "ServeError",
    "check_address",
    "check_tls",
    "warn_if_debug_build",
    "choose_server",
    "find_import_string",
    "guarded_app",
    "import_app",
    "installed_servers",
    "native_is_default",
    "run",
    "serves_websockets",
]

SERVERS = ("granian", "uvicorn", "hypercorn")
"""The other servers `run` knows, in order of preference: where the native server is not the
default (off Linux, or for an app with WebSocket routes it cannot serve yet), the default is
the first one installed."""
NATIVE = "native"
"""Tachyon's own server (Linux only): the default there."""
INTERFACES = ("rsgi", "asgi")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
DEFAULT_HEADER_TIMEOUT = 10.0
"""Seconds a client has to send its request line and headers (Granian allows at most 60)."""
# DEFAULT_BODY_TIMEOUT (seconds a client has to send a whole request body once its headers are
# in; 0: no deadline) is rsgi's: the RSGI handler applies it when no server passed one.
_GRANIAN_MAX_HEADER_TIMEOUT = 60.0
DEFAULT_WS_MAX_SIZE = 16 * 1024 * 1024
"""The largest WebSocket message a client may send, in bytes (uvicorn's `--ws-max-size`)."""
DEFAULT_WS_PING_INTERVAL = 20.0
"""Seconds between the server's pings on a WebSocket (uvicorn's `--ws-ping-interval`)."""
DEFAULT_WS_PING_TIMEOUT = 20.0
"""Seconds a ping may go unanswered before the WebSocket is closed (uvicorn's `--ws-ping-timeout`)."""


class ServeError(Exception):
    """A mistake in how the server was asked to start; its text is the one-line message."""


def installed_servers() -> list[str]:
    """The known servers that can be imported here, in order of preference."""
    return [name for name in SERVERS if importlib.util.find_spec(name) is not None]


def serves_websockets(app: Any) -> bool:
    """Whether `app`'s routes (through mounts and hosts) include a WebSocket route."""
    from tachyon.routing import WebSocketRoute

    seen: set[int] = set()
    pending = [app]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, WebSocketRoute):
            return True
        routes = getattr(node, "routes", None)
        if isinstance(routes, list):
            pending.extend(routes)
        inner = getattr(node, "app", None)
        if inner is not None and inner is not node:
            pending.append(inner)
    return False


def native_is_default() -> bool:
    """Whether the native server is the default here (on Linux)."""
    return sys.platform.startswith("linux")


def choose_server(
    server: str | None = None, interface: str | None = None, *, websockets: bool = False
) -> tuple[str, str]:
    """The (server, interface) to use.

    The default, on Linux, is the native server (over ASGI, the only interface it serves).
    Elsewhere it is the first installed of SERVERS: Granian over RSGI (over ASGI for an app
    with WebSocket routes, `websockets`: ASGI delivers close codes), else uvicorn, else
    hypercorn.
    `interface="rsgi"` without a server means Granian.
    """
    installed = installed_servers()
    if server is None:
        if interface == "rsgi":
            server = "granian"
        elif native_is_default():
            server = NATIVE
        elif not installed:
            raise ServeError("no server installed: pip install granian (or uvicorn, or hypercorn)")
        else:
            server = installed[0]
    if server == NATIVE:
        if not sys.platform.startswith("linux"):
            raise ServeError("the native server runs on Linux only")
        if interface not in (None, "asgi"):
            raise ServeError("the native server serves the app through its ASGI interface: leave --interface out")
        return NATIVE, "asgi"
    if server not in SERVERS:
        raise ServeError(f"unknown server {server!r}: choose one of {', '.join((*SERVERS, NATIVE))}")
    if server not in installed:
        raise ServeError(f"server {server!r} is not installed: pip install {server}")
    if interface is None:
        interface = "rsgi" if server == "granian" and not websockets else "asgi"
    elif interface not in INTERFACES:
        raise ServeError(f"unknown interface {interface!r}: choose rsgi or asgi")
    elif interface == "rsgi" and server != "granian":
        raise ServeError(f"the rsgi interface needs granian, not {server}")
    return server, interface


def import_app(target: str, app_dir: str | None = None) -> Any:
    """Import `module:attribute` (the attribute may be dotted), looking in `app_dir` first."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ServeError(f'invalid app {target!r}: expected "module:attribute", e.g. "hello:app"')
    if app_dir is not None:
        sys.path.insert(0, os.path.abspath(app_dir))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a miss on the named module itself is the user's typo; a missing import inside
        # their module is a bug in it, and keeps its traceback.
        if exc.name is None or (module_name + ".").startswith(exc.name + "."):
            where = f" (looked in {os.path.abspath(app_dir)!r} and sys.path)" if app_dir else ""
            raise ServeError(f"could not import module {module_name!r}{where}") from None
        raise
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ServeError(f"module {module_name!r} has no attribute {attr!r}") from None
    return obj


def find_import_string(app: Any) -> str | None:
    """`module:name` under which `app` can be imported again, or None (needed by --reload)."""
    found = None
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if value is app:
                if name != "__main__":
                    return f"{name}:{attr}"
                found = attr
    if found is None:
        return None
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return f"{spec.name}:{found}"
    path = getattr(main, "__file__", None)
    if path is None:
        return None
    return f"{os.path.splitext(os.path.basename(path))[0]}:{found}"


def warn_if_debug_build(what: str) -> bool:
    """Warn loudly on stderr if the native module is a debug build (about 10x slower than a
    release build: `make test` installs one); returns whether it is one."""
    from tachyon._tachyon import build_profile

    if build_profile != "debug":
        return False
    print(
        f"tachyon: WARNING: {what} with a DEBUG build of tachyon._tachyon, about 10x slower than a "
        "release build; install a wheel or run `make develop-release`",
        file=sys.stderr,
        flush=True,
    )
    return True


def check_address(host: str, port: int) -> None:
    """Fail early, with one line, if `host:port` cannot be listened on."""
    if not 0 <= port <= 65535:
        raise ServeError(f"invalid port {port}: use 0-65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    # Servers set SO_REUSEADDR (a port in TIME_WAIT is free to them) and Granian SO_REUSEPORT,
    # which would let a second server share a port silently; this probe sets neither of the
    # latter, so a port another socket listens on is refused here.
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"cannot listen on {host}:{port}: address already in use") from None
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def check_tls(certfile: str, keyfile: str) -> None:
    """Fail early, with one line, if the PEM certificate chain and key cannot be loaded together."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    what = f"cannot load TLS certificate {certfile!r} and key {keyfile!r}"
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise ServeError(f"{what}: {exc.reason or exc}") from None
    except OSError as exc:
        raise ServeError(f"{what}: {exc.strerror or exc}") from None


def _ws_seconds(value: float | None, flag: str) -> float | None:
    """A WebSocket ping setting in seconds, None for none (given as None or 0)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ServeError(f"{flag} must be 0 (none) or a positive number of seconds, not {value!r}")
    return float(value) if value > 0 else None


def _host_port(host: str, port: int) -> str:
    """`host:port`, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _url(host: str, port: int) -> str:
    return f"http://{_host_port(host, port)}"


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    server: str | None = None,
    reload: bool = False,
    log_level: str = "info",
    interface: str | None = None,
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    import_string: str | None = None,
    app_dir: str | None = None,
    uds: str | None = None,
    fd: int | None = None,
    root_path: str = "",
    proxy_headers: bool = True,
    forwarded_allow_ips: str | None = None,
    access_log: bool = True,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    ws_max_size: int = DEFAULT_WS_MAX_SIZE,
    ws_ping_interval: float | None = DEFAULT_WS_PING_INTERVAL,
    ws_ping_timeout: float | None = DEFAULT_WS_PING_TIMEOUT,
) -> None:
    """Serve `app` until SIGINT or SIGTERM, on `server` (default: see `choose_server`: the
    native server on Linux, else the first of SERVERS installed).

    `uds` (a Unix socket path) or `fd` (a listening socket's descriptor) replace host and
    port; `root_path`, `proxy_headers` with `forwarded_allow_ips` (default: the environment's
    FORWARDED_ALLOW_IPS, else 127.0.0.1 and ::1) and `access_log` mean what they mean to
    uvicorn (native server and uvicorn only; Granian and hypercorn refuse the first three);
    `ssl_certfile` and `ssl_keyfile` (PEM files, both or neither) serve HTTPS.

    `ws_max_size` (bytes: a larger WebSocket message closes the connection with 1009),
    `ws_ping_interval` and `ws_ping_timeout` (seconds; None or 0: no pings, no deadline) are
    uvicorn's WebSocket limits, with its defaults (native server and uvicorn; Granian and
    hypercorn refuse other values).

    `header_timeout` is how many seconds a client has to send its request line and headers
    (at most 60 under Granian), `body_timeout` how many to send its whole body (0 or None:
    no deadline); a client slower than that is disconnected (408 when a body is late).
    `import_string` ("module:attr") is how worker processes or the reloader import the app
    again; without it, it is looked up in `sys.modules`. Raises SystemExit(2) with a one-line
    message on stderr for a startup mistake.
    """
    try:
        websockets = serves_websockets(app)
        if websockets and interface == "rsgi":
            print(
                "tachyon: warning: over RSGI, Granian closes every WebSocket without a code (1005);"
                " leave --interface out to serve this app over ASGI",
                file=sys.stderr,
            )
        server, interface = choose_server(server, interface, websockets=websockets)
        if not header_timeout > 0:
            raise ServeError(f"header timeout must be a positive number of seconds, not {header_timeout}")
        if server == "granian" and header_timeout > _GRANIAN_MAX_HEADER_TIMEOUT:
            raise ServeError(f"granian allows a header timeout of at most 60 seconds, not {header_timeout}")
        if body_timeout is not None and body_timeout < 0:
            raise ServeError(f"body timeout must be 0 (none) or a positive number of seconds, not {body_timeout}")
        if log_level not in LOG_LEVELS:
            raise ServeError(f"unknown log level {log_level!r}: choose one of {', '.join(LOG_LEVELS)}")
        if workers < 1:
            raise ServeError(f"workers must be at least 1, not {workers}")
        ws_ping_interval = _ws_seconds(ws_ping_interval, "--ws-ping-interval")
        ws_ping_timeout = _ws_seconds(ws_ping_timeout, "--ws-ping-timeout")
        if isinstance(ws_max_size, bool) or not isinstance(ws_max_size, int) or ws_max_size < 1:
            raise ServeError(f"--ws-max-size must be a positive whole number of bytes, not {ws_max_size!r}")
        if server in ("granian", "hypercorn"):
            unsupported = [
                flag
                for flag, given in (
                    ("--uds", uds is not None),
                    ("--fd", fd is not None),
                    ("--root-path", bool(root_path)),
                    ("--forwarded-allow-ips", forwarded_allow_ips is not None),
                    ("--ssl-certfile", ssl_certfile is not None),
                    ("--ssl-keyfile", ssl_keyfile is not None),
                    ("--ws-max-size", ws_max_size != DEFAULT_WS_MAX_SIZE),
                    ("--ws-ping-interval", ws_ping_interval != DEFAULT_WS_PING_INTERVAL),
                    ("--ws-ping-timeout", ws_ping_timeout != DEFAULT_WS_PING_TIMEOUT),
                )
                if given
            ]
            if unsupported:
                raise ServeError(f"{', '.join(unsupported)}: supported by the native server and uvicorn, not {server}")
        if uds is not None and fd is not None:
            raise ServeError("give --uds or --fd, not both")
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise ServeError("TLS needs both --ssl-certfile and --ssl-keyfile")
        if ssl_certfile is not None and ssl_keyfile is not None:
            check_tls(ssl_certfile, ssl_keyfile)
        if root_path and not root_path.startswith("/"):
            raise ServeError(f"root path must start with '/', not {root_path!r}")
        if interface == "rsgi" and not hasattr(app, "__rsgi__"):
            from tachyon.rsgi import RSGIApp

            app = RSGIApp(app)
        # Native workers are forked with the app; the reloader's worker imports it afresh.
        needs_import = reload or (workers > 1 and server not in ("granian", NATIVE))
        if import_string is None and needs_import:
            import_string = find_import_string(app)
            if import_string is None:
                raise ServeError("--reload and multiple workers need the app importable as module:attribute")
        if uds is not None:
            if os.path.exists(uds):
                raise ServeError(f"cannot listen on {uds}: address already in use (remove the file if it is stale)")
        elif fd is None:
            check_address(host, port)
    except ServeError as exc:
        print(f"tachyon: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    _set_body_timeout(body_timeout)

    warn_if_debug_build("serving")
    plural = "s" if workers > 1 else ""
    label = f"{import_string} " if import_string else ""
    where = f"unix:{uds}" if uds is not None else f"fd {fd}" if fd is not None else _url(host, port)
    if ssl_certfile is not None and where.startswith("http:"):
        where = "https:" + where[len("http:") :]
    print(
        f"Tachyon serving {label}on {where} ({server}, {interface.upper()}, {workers} worker{plural})"
        " - press Ctrl+C to stop",
        file=sys.stderr,
        flush=True,
    )
    if server == NATIVE:
        from tachyon.supervisor import NativeOptions

        options = NativeOptions(
            host=host,
            port=port,
            uds=uds,
            fd=fd,
            workers=workers,
            reload=reload,
            log_level=log_level,
            access_log=access_log,
            root_path=root_path,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            import_string=import_string,
            app_dir=app_dir,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            ws_max_size=ws_max_size,
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
        )
        _run_native(app, options)
    elif server == "granian":
        _run_granian(app, host, port, workers, reload, log_level, interface, import_string, app_dir, header_timeout)
    elif server == "uvicorn":
        _run_uvicorn(
            app,
            host,
            port,
            workers,
            reload,
            log_level,
            import_string,
            app_dir,
            header_timeout,
            body_timeout,
            {
                "uds": uds,
                "fd": fd,
                "root_path": root_path,
                "proxy_headers": proxy_headers,
                "forwarded_allow_ips": forwarded_allow_ips,
                "access_log": access_log,
                "ssl_certfile": ssl_certfile,
                "ssl_keyfile": ssl_keyfile,
                "ws_max_size": ws_max_size,
                "ws_ping_interval": ws_ping_interval,
                "ws_ping_timeout": ws_ping_timeout,
            },
        )
    else:
        _run_hypercorn(app, host, port, workers, reload, log_level, import_string, header_timeout)


class BodyGuard:
    """ASGI wrapper that makes a request body that fails to arrive the client's fault.

    For servers that hand the app `http.disconnect` when a body is cut short, malformed or
    (with a body deadline) late, and would then send the app's 500 and log its traceback
    (Granian over ASGI): the app still sees `http.disconnect`, but what it sends afterwards
    is dropped, what it raises is logged at info level, and the client gets 400 (408 when
    the deadline passed). Other scopes go straight through.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from tachyon import rsgi

        failed = 0
        complete = sent = False

        async def guarded_receive() -> Any:
            nonlocal failed, complete
            if failed:
                return {"type": "http.disconnect"}
            if complete:
                return await receive()
            timeout = rsgi.body_timeout()
            try:
                message = await (receive() if timeout is None else asyncio.wait_for(receive(), timeout))
            except TimeoutError:
                failed = 408
                return {"type": "http.disconnect"}
            if message["type"] == "http.disconnect":
                failed = 400
            elif not message.get("more_body", False):
                complete = True
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal sent
            if failed:
                return
            sent = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not failed:
                raise
            logging.getLogger("tachyon.server").info(
                "request body incomplete (%d): %s %s", failed, scope.get("method"), scope.get("path")
            )
        if failed and not sent:
            body = b"Request Timeout" if failed == 408 else b"Bad Request"
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            with contextlib.suppress(Exception):  # the client may be gone: nothing else to do
                await send({"type": "http.response.start", "status": failed, "headers": headers})
                await send({"type": "http.response.body", "body": body})


GUARDED_TARGET_ENV = "TACHYON_GUARDED_TARGET"
"""Environment variable naming ("module:attr") the app `guarded_app` imports and wraps."""


def guarded_app() -> BodyGuard:
    """App factory for workers that import the app themselves (--reload, --workers under
    uvicorn, spawned Granian workers): the app named by TACHYON_GUARDED_TARGET, in a BodyGuard."""
    return BodyGuard(import_app(os.environ[GUARDED_TARGET_ENV]))


def _set_body_timeout(seconds: float | None) -> None:
    """The RSGI adapter's body deadline, here and (through the environment) in every worker."""
    from tachyon import rsgi

    os.environ[rsgi.BODY_TIMEOUT_ENV] = str(seconds) if seconds else "none"
    rsgi.set_body_timeout(seconds)


def _run_native(app: Any, options: Any) -> None:
    from tachyon import supervisor

    try:
        supervisor.serve(app, options)
    except OSError as exc:
        if options.uds is not None:
            where = options.uds
        elif options.fd is not None:
            where = f"descriptor {options.fd}"
        else:
            where = _host_port(options.host, options.port)
        print(f"tachyon: error: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None


# The runners below share their leading parameters (run()'s settings, already checked there),
# but each takes only what its server supports and maps them onto that server's own API.
def _run_granian(
    app: Any,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    log_level: str,
    interface: str,
    import_string: str | None,
    app_dir: str | None,
    header_timeout: float,
) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    options: dict[str, Any] = {}
    if app_dir is not None:
        options["working_dir"] = Path(app_dir).resolve()
        if reload:
            options["reload_paths"] = [Path(app_dir).resolve()]
    granian = Granian(
        target=import_string or "app",
        address=host,
        port=port,
        interface=Interfaces.RSGI if interface == "rsgi" else Interfaces.ASGI,
        workers=workers,
        reload=reload,
        log_level=LogLevels(log_level),
        # HTTP/1.1 only: Granian's "auto" mode first waits, with no timer, for the bytes that
        # tell HTTP/1 from HTTP/2 (h2c), so a connection that never sends one stayed open for
        # ever; over HTTP/1 hyper's header deadline runs from the accept, and between requests.
        http=HTTPModes.http1,
        # Hyper's header-read deadline (milliseconds); the body deadline is the RSGI adapter's
        # (tachyon.rsgi.body_timeout), as Granian has none.
        http1_settings=HTTP1Settings(header_read_timeout=max(1, round(header_timeout * 1000))),
        **options,
    )
    if reload or multiprocessing.get_start_method() != "fork":
        # A fresh (reloaded or spawned) worker must import the app itself.
        if import_string is None:
            import_string = find_import_string(app)
            if import_string is None:
                print("tachyon: error: the app must be importable as module:attribute", file=sys.stderr)
                raise SystemExit(2)
            granian.target = import_string
        if interface == "asgi":
            # The worker imports the app itself: through guarded_app, so it is guarded too.
            os.environ[GUARDED_TARGET_ENV] = import_string
            granian.target = f"{__name__}:guarded_app"
            granian.factory = True
        granian.serve()
    else:
        # Forked workers inherit the app object: no second import, and app.run() works from a script.
        # Over ASGI, BodyGuard answers bodies that fail to arrive (the RSGI adapter does so itself).
        served = BodyGuard(app) if interface == "asgi" else app
        granian.serve(target_loader=lambda *args, **kwargs: served, wrap_loader=False)


# run()'s settings, as for _run_granian: the ones uvicorn supports.
def _run_uvicorn(
    app: Any,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    log_level: str,
    import_string: str | None,
    app_dir: str | None,
    header_timeout: float,
    body_timeout: float | None,
    operations: dict[str, Any],
) -> None:
    import uvicorn

    from tachyon import uvicorn_deadlines

    # BodyGuard keeps a body that never arrives out of the error log (uvicorn logs the app's
    # ClientDisconnect as "Exception in ASGI application").
    target: Any = BodyGuard(app)
    if reload or workers > 1:
        # Workers (or the reloader's child) import the app themselves, through guarded_app.
        assert import_string is not None  # run() found it or refused to start
        os.environ[GUARDED_TARGET_ENV] = import_string
        target = f"{__name__}:guarded_app"
    # uvicorn drains, restores the previous handlers and raises the signal again: let that
    # finish with status 0, as Granian and hypercorn do, instead of dying by the signal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(
        target,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        reload=reload,
        log_level=log_level,
        app_dir=app_dir or "",
        factory=isinstance(target, str),
        http=uvicorn_deadlines.protocol_with_deadlines(header_timeout, body_timeout),
        **operations,
    )


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


# run()'s settings, as for _run_granian: the ones hypercorn supports.
def _run_hypercorn(
    app: Any,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    log_level: str,
    import_string: str | None,
    header_timeout: float,
) -> None:
    from hypercorn.config import Config

    config = Config()
    # Hypercorn's only read deadline: the longest a connection may go without sending a byte.
    config.read_timeout = header_timeout  # type: ignore[assignment]
    config.bind = [_host_port(host, port)]
    config.loglevel = log_level.upper()
    config.accesslog = None
    if reload or workers > 1:
        from hypercorn.run import run as hypercorn_run

        config.workers = workers
        config.use_reloader = reload
        config.application_path = import_string
        hypercorn_run(config)
        return

    from hypercorn.asyncio import serve

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait, mode="asgi")

    asyncio.run(main())
