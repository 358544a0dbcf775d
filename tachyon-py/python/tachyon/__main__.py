"""`python -m tachyon module:app`: serve an app, on Linux on Tachyon's own (native) server.

python -m tachyon hello:app --app-dir examples --port 8000
python -m tachyon hello:app --workers 2 --proxy-headers --forwarded-allow-ips 10.0.0.0/8
python -m tachyon hello:app --server uvicorn --workers 4
python -m tachyon main:app --as-starlette     # a FastAPI or Starlette app, unmodified
"""

from __future__ import annotations

import argparse
import os
import sys

from tachyon import compat
from tachyon.server import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_WS_MAX_SIZE,
    DEFAULT_WS_PING_INTERVAL,
    DEFAULT_WS_PING_TIMEOUT,
    INTERFACES,
    LOG_LEVELS,
    NATIVE,
    SERVERS,
    ServeError,
    import_app,
    run,
)

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    cli = argparse.ArgumentParser(
        prog="python -m tachyon",
        description="Serve an ASGI/RSGI app. Default server: on Linux, Tachyon's own (native);"
        " elsewhere, Granian over RSGI if installed, else uvicorn, else hypercorn.",
    )
    cli.add_argument("app", help='the app to serve, as "module:attribute" (e.g. hello:app)')
    cli.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    cli.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    cli.add_argument("--uds", metavar="PATH", help="listen on this Unix domain socket instead (native, uvicorn)")
    cli.add_argument(
        "--fd",
        type=int,
        metavar="N",
        help="listen on this already-listening socket descriptor instead (native, uvicorn)",
    )
    cli.add_argument("--workers", type=int, default=1, help="worker processes (default: %(default)s)")
    cli.add_argument(
        "--server",
        choices=(NATIVE, *SERVERS),
        help="server to use (default: native, Tachyon's own, on Linux; elsewhere, or for an app with"
        " WebSocket routes the native server does not serve, the first installed of granian, uvicorn,"
        " hypercorn; --interface rsgi alone means granian)",
    )
    cli.add_argument(
        "--interface",
        choices=INTERFACES,
        help="rsgi (granian only) or asgi (default: asgi; rsgi on granian unless the app has WebSocket routes)",
    )
    cli.add_argument("--reload", action="store_true", help="restart when source files change")
    cli.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="(default: %(default)s)")
    cli.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log a line per request, in uvicorn's format (default: on; native, uvicorn)",
    )
    cli.add_argument(
        "--root-path",
        default="",
        metavar="PATH",
        help="the path prefix a proxy mounts the app under: scope['root_path'] (native, uvicorn)",
    )
    cli.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="take the client and scheme from X-Forwarded-For / X-Forwarded-Proto of trusted peers"
        " (default: on; native, uvicorn)",
    )
    cli.add_argument(
        "--forwarded-allow-ips",
        metavar="LIST",
        help="comma-separated addresses and networks trusted with proxy headers, or '*'"
        " (default: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)",
    )
    cli.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request headers take longer (default: %(default)s; at most 60 on granian)",
    )
    cli.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help="give up on a request body that takes longer, with 408 (default: %(default)s; 0: no deadline)",
    )
    cli.add_argument(
        "--ssl-certfile", metavar="PATH", help="serve HTTPS with this PEM certificate chain (native, uvicorn)"
    )
    cli.add_argument("--ssl-keyfile", metavar="PATH", help="the PEM private key of --ssl-certfile")
    cli.add_argument(
        "--ws-max-size",
        type=int,
        default=DEFAULT_WS_MAX_SIZE,
        metavar="BYTES",
        help="close a WebSocket whose client sends a larger message, with 1009 (default: %(default)s; native, uvicorn)",
    )
    cli.add_argument(
        "--ws-ping-interval",
        type=float,
        default=DEFAULT_WS_PING_INTERVAL,
        metavar="SECONDS",
        help="ping each WebSocket this often (default: %(default)s; 0: never; native, uvicorn)",
    )
    cli.add_argument(
        "--ws-ping-timeout",
        type=float,
        default=DEFAULT_WS_PING_TIMEOUT,
        metavar="SECONDS",
        help="close a WebSocket whose ping goes unanswered this long, with 1011 (default: %(default)s;"
        " 0: no deadline; native, uvicorn)",
    )
    cli.add_argument("--app-dir", default=".", help="directory to import the app from (default: current)")
    cli.add_argument(
        "--as-starlette",
        action="store_true",
        help="serve an unmodified Starlette or FastAPI app: `import starlette` resolves to Tachyon",
    )
    return cli


def main(argv: list[str] | None = None) -> None:
    """Parse `argv`, import the app and serve it; exit 2 with one line on a startup mistake."""
    args = parser().parse_args(argv)
    if args.as_starlette:
        # The environment carries the switch into worker processes and the reloader,
        # which import the app afresh (tachyon.compat honours it at `import tachyon`).
        os.environ[compat.ENV_VAR] = "1"
        try:
            compat.install()
        except compat.StarletteAliasError as exc:
            print(f"tachyon: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    try:
        app = import_app(args.app, app_dir=args.app_dir)
    except ServeError as exc:
        print(f"tachyon: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    run(
        app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        server=args.server,
        reload=args.reload,
        log_level=args.log_level,
        interface=args.interface,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        import_string=args.app,
        app_dir=args.app_dir,
        uds=args.uds,
        fd=args.fd,
        root_path=args.root_path,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=args.access_log,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        ws_max_size=args.ws_max_size,
        ws_ping_interval=args.ws_ping_interval,
        ws_ping_timeout=args.ws_ping_timeout,
    )


if __name__ == "__main__":
    main()
