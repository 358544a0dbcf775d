"""What a server costs when nothing happens: CPU with no traffic, and memory with idle connections.

    python benches/load/idle.py                        # 10,000 connections, 5 s windows, 1 round
    python benches/load/idle.py --json idle-results.json --rounds 3
    python benches/load/idle.py --connections 2000 --seconds 2   # a quick check

For each row (Tachyon on its native server, Starlette 1.10 on uvicorn with httptools and
uvloop; one worker each, pinned to CPU 0 as in run.py), in one run, rows alternating between
rounds:

1. idle CPU: the CPU time (user + system, from /proc/<pid>/stat, the whole process tree) the
   server used over `--seconds` with no connection open, after one warm-up request, as a
   percentage of one CPU;
2. `--connections` keep-alive connections opened from this process with plain sockets, each
   sending one `GET /` and reading its whole 200 response, then left idle; the server's RSS
   (VmRSS, summed over its process tree) before and with them open, and the CPU it used over
   `--seconds` while they sat idle;
3. every connection then sends a second request on the same socket: all must be answered, so
   the figures are for connections the server really held open.

The keep-alive deadline is raised to 600 s for the run (`keep_alive_timeout` of
`tachyon.native_server.serve`, uvicorn's `--timeout-keep-alive`): both default to 5 s, less
than opening 10,000 connections takes here. Needs a descriptor limit above the connection
count (`ulimit -n`; the soft limit is raised to the hard one). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import selectors
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from run import HERE, SERVER_CPU, LoadError, RunningServer, Target, free_port, require_tools

KEEP_ALIVE_S = 600
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BATCH = 500  # connections being opened at once (below both servers' listen backlog of 2048)


@dataclass(frozen=True)
class Row:
    """One measured server: a Target for run.py's RunningServer, and its command line."""

    target: Target
    command: list[str]


def rows(port_of: dict[str, int]) -> list[Row]:
    """The rows, each with the port it is given in `port_of` (by target key)."""
    python = sys.executable
    native = Target("tachyon-native", "Tachyon, native server", "tachyon_app", "native", "native")
    starlette = Target("starlette-uvicorn", "Starlette 1.10, uvicorn", "starlette_app", "uvicorn", "asgi")
    # One native worker as `python -m tachyon --server native` runs it (supervisor._serve_one),
    # with the keep-alive deadline raised.
    launch = (
        "import sys, apps; from tachyon import native_server; "
        f"native_server.serve(apps.tachyon_app, '127.0.0.1', int(sys.argv[1]), keep_alive_timeout={KEEP_ALIVE_S})"
    )
    return [
        Row(native, [python, "-c", launch, str(port_of[native.key])]),
        Row(
            starlette,
            [
                python,
                "-m",
                "uvicorn",
                "apps:starlette_app",
                "--app-dir",
                str(HERE),
                "--host",
                "127.0.0.1",
                "--port",
                str(port_of[starlette.key]),
                "--workers",
                "1",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
                "--timeout-keep-alive",
                str(KEEP_ALIVE_S),
            ],
        ),  # fmt: skip
    ]


# --- /proc ---------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc/<pid>/task/*/children)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    pending.extend(int(child) for child in f.read().split())
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by `pid`'s process tree."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as f:
            # Fields after the command name (which may hold spaces) start at field 3.
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_bytes(pid: int) -> int:
    """Resident memory (VmRSS) of `pid`'s process tree."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def cpu_percent(pid: int, seconds: float) -> float:
    """The CPU `pid`'s tree used over the next `seconds`, as a percentage of one CPU."""
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


# --- connections ---------------------------------------------------------------------------------


def _response_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    if not head.startswith(b"HTTP/1.1 200 "):
        raise LoadError(f"expected 200, got {head[:60]!r}")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    raise LoadError(f"a response without content-length: {head[:200]!r}")


def exchange_all(socks: list[socket.socket], timeout: float = 120.0) -> None:
    """Send REQUEST on every (connected, non-blocking) socket and read each whole response."""
    selector = selectors.DefaultSelector()
    received: dict[socket.socket, bytes] = {}
    for sock in socks:
        sock.sendall(REQUEST)  # 37 bytes: fits any empty socket buffer at once
        received[sock] = b""
        selector.register(sock, selectors.EVENT_READ)
    pending = len(socks)
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise LoadError(f"{pending} of {len(socks)} responses missing after {timeout:g} s")
        for key, _ in selector.select(1.0):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            chunk = sock.recv(65536)
            if not chunk:
                raise LoadError("the server closed a keep-alive connection")
            received[sock] += chunk
            if _response_complete(received[sock]):
                selector.unregister(sock)
                pending -= 1
    selector.close()


def open_connections(port: int, count: int) -> list[socket.socket]:
    """`count` connections, each having had one request answered; kept open."""
    socks: list[socket.socket] = []
    while len(socks) < count:
        batch = []
        for _ in range(min(BATCH, count - len(socks))):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.setblocking(False)
            batch.append(sock)
        exchange_all(batch)
        socks += batch
    return socks


# --- the run -------------------------------------------------------------------------------------


def measure_row(row: Row, port: int, log_dir: Path, connections: int, seconds: float) -> dict[str, Any]:
    # A server given its own command listens on the port passed in the third argument.
    server = RunningServer(row.target, log_dir, port, command=row.command, cpus=SERVER_CPU)
    socks: list[socket.socket] = []
    try:
        pid = server.proc.pid
        open_connections(port, 1)[0].close()  # one warm-up request
        time.sleep(1.0)
        idle_cpu = cpu_percent(pid, seconds)
        rss_before = rss_bytes(pid)
        start = time.monotonic()
        socks = open_connections(port, connections)
        opened_s = time.monotonic() - start
        time.sleep(1.0)
        rss_with = rss_bytes(pid)
        held_cpu = cpu_percent(pid, seconds)
        exchange_all(socks)  # every connection is still served
        return {
            "target": row.target.key,
            "label": row.target.label,
            "idle_cpu_percent": idle_cpu,
            "rss_idle_bytes": rss_before,
            "connections": connections,
            "rss_with_connections_bytes": rss_with,
            "rss_per_connection_bytes": (rss_with - rss_before) / connections,
            "cpu_percent_with_connections": held_cpu,
            "seconds_to_open": opened_s,
        }
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000, help="idle connections (default 10,000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each CPU window, in seconds (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, rows alternating (default 1)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    require_tools()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 100:
        sys.exit(f"idle: {args.connections} connections need a descriptor limit above it (ulimit -n is {hard})")

    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "keep_alive_s": KEEP_ALIVE_S,
        "pinning": {"server": SERVER_CPU},
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tachyon-idle-") as tmp:
        try:
            for round_index in range(args.rounds):
                ports = {key: free_port() for key in ("tachyon-native", "starlette-uvicorn")}
                order = rows(ports) if round_index % 2 == 0 else list(reversed(rows(ports)))
                for row in order:
                    port = ports[row.target.key]
                    result = measure_row(row, port, Path(tmp), args.connections, args.seconds)
                    result["round"] = round_index + 1
                    runs.append(result)
                    print(
                        f"round {round_index + 1}/{args.rounds}  {row.target.label:<26}"
                        f" idle CPU {result['idle_cpu_percent']:5.2f}%"
                        f"  RSS {result['rss_idle_bytes'] / 2**20:6.1f} MiB"
                        f" -> {result['rss_with_connections_bytes'] / 2**20:6.1f} MiB"
                        f" with {args.connections:,} connections"
                        f" (CPU {result['cpu_percent_with_connections']:5.2f}%)",
                        file=sys.stderr,
                        flush=True,
                    )
        except LoadError as exc:
            sys.exit(f"idle: {exc}")
    meta["load_average_after"] = round(os.getloadavg()[0], 2)
    summary = summarize(runs)
    payload = {"meta": meta, "summary": summary, "runs": runs}
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The median of each figure over the rounds, per row, in the order rows first ran."""
    keys = list(dict.fromkeys(run["target"] for run in runs))
    summary = []
    for key in keys:
        mine = [run for run in runs if run["target"] == key]
        entry: dict[str, Any] = {"target": key, "label": mine[0]["label"], "connections": mine[0]["connections"]}
        for field in (
            "idle_cpu_percent",
            "rss_idle_bytes",
            "rss_with_connections_bytes",
            "rss_per_connection_bytes",
            "cpu_percent_with_connections",
        ):
            entry[field] = statistics.median(run[field] for run in mine)
        summary.append(entry)
    return summary


if __name__ == "__main__":
    main()
