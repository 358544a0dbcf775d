"""Instructions per in-process request, Tachyon vs Starlette, counted by valgrind.

Wall-clock timings on a shared machine move by tens of percent between runs; an
instruction count does not (callgrind counts the same total for the same binary and
input whatever else the machine does). Each scenario runs the same app as the
comprehensive benchmark's "In-process request" rows twice under callgrind, with a small
and a large number of requests; the difference divided by the difference in requests is
the cost of one request, with interpreter start-up and warm-up cancelled out.

    python benches/request_instructions.py                 # every scenario, both frameworks
    python benches/request_instructions.py --only hello    # one scenario
    python benches/request_instructions.py --native        # the native server, over HTTP

With `--native`, the child is the native server (`tachyon.native_server.serve`) serving
the load harness's Tachyon app (benches/load/apps.py) under callgrind, and the parent is
its client: one keep-alive connection, one request at a time (HTTP parsing, the scope,
the dispatcher, the loop's turn and the response's writing are all counted; the client,
in its own process, is not).

Measure a release build (`make develop-release`); needs valgrind on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (build_app kwargs, http_scope args); the same requests as REQUEST_CASES.
SCENARIOS: dict[str, tuple[dict[str, Any], tuple[Any, ...]]] = {
    "hello": ({}, ("GET", "/")),
    "param+query": ({}, ("GET", "/users/42", b"q=hello&x=1")),
    "404": ({}, ("GET", "/nothing/here")),
    "405": ({}, ("DELETE", "/")),
    "POST echo": ({}, ("POST", "/echo")),
    "3 middlewares": ({"middleware": 3}, ("GET", "/")),
}
FEW, MANY = 200, 1200


def child(framework: str, scenario: str, count: int) -> None:
    """Serve `count` requests of `scenario` in-process (run under valgrind by the parent)."""
    sys.path.insert(0, str(HERE))
    from comprehensive_benchmark import SEED, build_app, http_scope, modules

    app_kwargs, scope_args = SCENARIOS[scenario]
    app = build_app(modules(framework), **app_kwargs)
    make_scope = http_scope(*scope_args)
    body = json.dumps(SEED).encode() if scope_args[0] == "POST" else b""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: dict[str, Any]) -> None:
        pass

    async def run() -> None:
        for _ in range(50):  # warm-up: lazy imports, caches, the native table
            await app(make_scope(), receive, send)
        for _ in range(count):
            await app(make_scope(), receive, send)

    asyncio.run(run())


# name -> (method, path, body) for --native: the load harness's scenarios (benches/load).
NATIVE_SCENARIOS: dict[str, tuple[str, str, bytes | None]] = {
    "hello": ("GET", "/", None),
    "param+query": ("GET", "/users/123?q=hello", None),
    "POST echo": ("POST", "/echo", json.dumps({"name": "tachyon", "values": [1, 2, 3]}).encode()),
    "404": ("GET", "/missing", None),
    # The handler awaits a line through benches/load/echo_server.py (started by the parent,
    # outside callgrind): the asyncio loop's own I/O beside the server's.
    "roundtrip": ("GET", "/roundtrip", None),
}


def native_child(port: int) -> None:
    """Serve the load harness's Tachyon app natively on `port` until SIGINT (run under valgrind)."""
    sys.path.insert(0, str(HERE / "load"))
    from apps import tachyon_app

    from tachyon.native_server import serve

    serve(tachyon_app, "127.0.0.1", port, access_log=None)


def count_native(scenario: str, count: int) -> int:
    """Total instructions callgrind counts for a native server that answers `count` requests."""
    import http.client
    import signal
    import socket
    import time

    method, path, body = NATIVE_SCENARIOS[scenario]
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    port, echo_port = ports
    echo = subprocess.Popen([sys.executable, str(HERE / "load" / "echo_server.py"), str(echo_port)])
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        child = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--native-child",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONHASHSEED": "0", "LOAD_ECHO_PORT": str(echo_port)},
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    conn.connect()
                    break
                except OSError:
                    if time.monotonic() > deadline or child.poll() is not None:
                        raise
                    time.sleep(0.5)
            headers = {"content-type": "application/json"} if body else {}
            for _ in range(50 + count):  # the first 50: warm-up, as in-process
                conn.request(method, path, body=body, headers=headers)
                conn.getresponse().read()
            conn.close()
        finally:
            child.send_signal(signal.SIGINT)
            child.wait(timeout=300)
            echo.terminate()
            echo.wait()
        text = Path(out).read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    assert found is not None, "no total in callgrind's output"
    return int(found[1])


def count_instructions(framework: str, scenario: str, count: int) -> int:
    """Total instructions callgrind counts for one child run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                framework,
                scenario,
                str(count),
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        text = Path(out).read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    assert found is not None, "no total in callgrind's output"
    return int(found[1])


def per_request(framework: str, scenario: str) -> float:
    """Instructions for one request: the two runs' difference over their request difference."""
    few = count_instructions(framework, scenario, FEW)
    many = count_instructions(framework, scenario, MANY)
    return (many - few) / (MANY - FEW)


def per_native_request(scenario: str) -> float:
    """Instructions for one request over HTTP to the native server (see `count_native`)."""
    few = count_native(scenario, FEW)
    many = count_native(scenario, MANY)
    return (many - few) / (MANY - FEW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only", action="append", choices=sorted({*SCENARIOS, *NATIVE_SCENARIOS}), help="run only these scenarios"
    )
    parser.add_argument("--child", nargs=3, metavar=("FRAMEWORK", "SCENARIO", "COUNT"), help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the counts as JSON")
    parser.add_argument("--native", action="store_true", help="the native server over HTTP (Tachyon only)")
    parser.add_argument("--native-child", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.native_child:
        native_child(args.native_child)
        return
    if args.native:
        results = {}
        print(f"{'scenario':<16}{'native':>12}")
        for scenario in args.only or list(NATIVE_SCENARIOS):
            results[scenario] = {"tachyon-native": per_native_request(scenario)}
            print(f"{scenario:<16}{results[scenario]['tachyon-native']:>12,.0f}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        return
    if args.child:
        framework, scenario, count = args.child
        child(framework, scenario, int(count))
        return
    results = {}
    print(f"{'scenario':<16}{'tachyon':>12}{'starlette':>12}{'ratio':>8}")
    for scenario in args.only or list(SCENARIOS):
        ours, theirs = per_request("tachyon", scenario), per_request("starlette", scenario)
        results[scenario] = {"tachyon": ours, "starlette": theirs}
        print(f"{scenario:<16}{ours:>12,.0f}{theirs:>12,.0f}{theirs / ours:>7.2f}x", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
