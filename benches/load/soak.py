"""Soak: long runs through real servers, counting errors and watching memory, tasks and files.

Serves `soak_app:app` with `python -m tachyon` under uvicorn (`--server uvicorn`), under the
default server (on Linux the native one) and under Granian over RSGI (`--server granian`), one
worker each, on 127.0.0.1 only, and runs three phases
against each, in order:

1. keep-alive: `--requests` requests over `--connections` keep-alive connections, cycling
   through the four load scenarios: GET / (hello), GET /users/123?q=hello (param), POST /echo
   (JSON echo) and GET /missing (404). Every status and body is checked. The server's RSS (its
   whole process tree) is read after a warm-up and at the end: growth must stay under 5%.
2. uploads: `--uploads` multipart uploads, each with a file larger than the spool's memory
   limit (soak_app lowers it to 64 KiB), so every one rolls to a temporary file; the answer
   must say so and give the right size.
3. disconnects: `--disconnects` connections that send the headers of a POST and part of its
   body, then go away: half by closing their side (FIN) and waiting for the server to close,
   half by a reset (RST); half of them in the middle of a multipart file that has already
   rolled to disk.

Before and after the phases the soak asks the server (`GET /_diag`, answered inside the
serving process) for its asyncio tasks, open descriptors, descriptors and names in its
temporary directory (a fresh one per server) and live Request / UploadFile objects: after the
last phase, once it settles, none may be above where it started and nothing may be left in or
open in the temporary directory. Each phase is bounded in time (`--phase-timeout`); the
run stops by itself and exits non-zero on any failure.

```sh
python benches/load/soak.py                                  # the issue's figures (about an hour)
python benches/load/soak.py --requests 20000 --uploads 500 --disconnects 2000   # scaled down
python benches/load/soak.py --json soak.json --write-docs    # the table in docs/performance.md
```

Use a release build (`make develop-release`); `--write-docs` refuses a debug build.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docs_block import write_block  # this folder's (run as a script from here)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- soak: begin -->", "<!-- soak: end -->"
HEADING = "## Soak\n"
RSS_GROWTH_LIMIT_PCT = 5.0

SCENARIOS: list[tuple[str, str, bytes | None, int, bytes]] = [
    ("GET", "/", None, 200, b'{"message":"Hello, World!"}'),
    ("GET", "/users/123?q=hello", None, 200, b'{"id":123,"q":"hello"}'),
    ("POST", "/echo", b'{"a":[1,2,3],"b":"x"}', 200, b'{"a":[1,2,3],"b":"x"}'),
    ("GET", "/missing", None, 404, b"Not Found"),
]

BOUNDARY = "soakboundary7MA4YWxkTrZu0gW"
UPLOAD_SIZE = 96 * 1024  # larger than soak_app.SPOOL_MAX_SIZE (64 KiB)
SERVERS = {
    "uvicorn": ("--server", "uvicorn"),
    "default": (),
    "granian": ("--server", "granian"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(server: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "tachyon", "soak_app:app", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *SERVERS[server],
    ]  # fmt: skip


def tree_rss(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in bytes (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError), open(f"/proc/{current}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def diag(port: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/_diag")
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"/_diag answered {response.status}: {data[:200]!r}")
        return json.loads(data)  # type: ignore[no-any-return]
    finally:
        conn.close()


# --- the clients (each runs in a worker process, several connections on threads) ----------------


class Tally:
    """Errors seen by one client process: a count and the first few, with a deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.lock = threading.Lock()
        self.count = 0
        self.done = 0
        self.first: list[str] = []
        self.outcomes: dict[str, int] = {}

    def error(self, text: str) -> None:
        with self.lock:
            self.count += 1
            if len(self.first) < 5:
                self.first.append(text)

    def tick(self) -> None:
        with self.lock:
            self.done += 1

    def outcome(self, key: str) -> None:
        with self.lock:
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def late(self) -> bool:
        return time.monotonic() > self.deadline


def keepalive_client(port: int, count: int, offset: int, tally: Tally) -> None:
    """`count` requests on one keep-alive connection (reconnecting only after an error)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(count):
        if tally.late():
            tally.error(f"stopped at the time limit after {i} of {count} requests")
            break
        method, path, body, status, expected = SCENARIOS[(i + offset) % len(SCENARIOS)]
        headers = {"content-type": "application/json"} if body else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != status or data != expected:
                tally.error(f"{method} {path}: {response.status} {data[:80]!r}")
            if response.will_close:
                tally.error(f"{method} {path}: the server closed a keep-alive connection")
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            tally.error(f"{method} {path}: {type(exc).__name__}: {exc}")
            conn.close()
        tally.tick()
    conn.close()


def multipart_body(file_bytes: bytes, note: str) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n{note}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="soak.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + file_bytes
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def upload_client(port: int, count: int, offset: int, tally: Tally) -> None:
    """`count` multipart uploads on one keep-alive connection, each rolling to disk."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    payload = bytes(range(256)) * (UPLOAD_SIZE // 256)
    for i in range(count):
        if tally.late():
            tally.error(f"stopped at the time limit after {i} of {count} uploads")
            break
        note = f"upload-{offset}-{i}"
        try:
            conn.request("POST", "/upload", body=multipart_body(payload, note), headers=headers)
            response = conn.getresponse()
            data = response.read()
            expected = {"size": len(payload), "rolled": True, "note": note}
            if response.status != 200 or json.loads(data) != expected:
                tally.error(f"POST /upload: {response.status} {data[:120]!r}")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            tally.error(f"POST /upload: {type(exc).__name__}: {exc}")
            conn.close()
        tally.tick()
    conn.close()


def disconnect_client(port: int, count: int, offset: int, tally: Tally) -> None:
    """`count` connections, each sending part of a POST body and going away (FIN or RST)."""
    payload = bytes(range(256)) * (UPLOAD_SIZE // 256)
    upload_whole = multipart_body(payload, "cut")
    # Cut inside the file part, after more than the spool's memory limit of it.
    upload_part = upload_whole[: len(upload_whole) - 8 * 1024]
    upload_head = (
        "POST /upload HTTP/1.1\r\nHost: soak\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(upload_whole)}\r\n\r\n"
    ).encode()
    slurp = b"POST /slurp HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n" + b"x" * 30000
    for i in range(count):
        if tally.late():
            tally.error(f"stopped at the time limit after {i} of {count} disconnects")
            break
        kind = (i + offset) % 4
        data = slurp if kind < 2 else upload_head + upload_part
        reset = kind % 2 == 1
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(data)
                if reset:
                    # SO_LINGER 0: close() sends an RST at once.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    tally.outcome("reset sent")
                else:
                    sock.shutdown(socket.SHUT_WR)
                    reply = b""
                    with contextlib.suppress(ConnectionResetError):
                        while chunk := sock.recv(65536):
                            reply += chunk
                    status = reply.split(b" ", 2)[1].decode() if reply.startswith(b"HTTP/1.1 ") else None
                    if status not in (None, "400"):
                        tally.error(f"cut-short body answered {reply[:120]!r}")
                    tally.outcome(f"FIN, server answered {status}" if status else "FIN, server closed")
        except OSError as exc:
            tally.error(f"disconnect: {type(exc).__name__}: {exc}")
        tally.tick()


CLIENTS: dict[str, Callable[[int, int, int, Tally], None]] = {
    "keepalive": keepalive_client,
    "upload": upload_client,
    "disconnect": disconnect_client,
}


def client_process(job: tuple[str, int, list[tuple[int, int]], float]) -> dict[str, Any]:
    """One worker process: a thread per (count, offset), all against `port`."""
    kind, port, slices, deadline = job
    tally = Tally(deadline)
    threads = [threading.Thread(target=CLIENTS[kind], args=(port, n, off, tally)) for n, off in slices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"done": tally.done, "errors": tally.count, "first": tally.first, "outcomes": tally.outcomes}


def run_clients(kind: str, port: int, total: int, connections: int, processes: int, timeout: float) -> dict[str, Any]:
    """`total` operations of `kind` over `connections` threads spread on `processes` processes."""
    deadline = time.monotonic() + timeout
    per, extra = divmod(total, connections)
    slices = [(per + (1 if n < extra else 0), n) for n in range(connections)]
    jobs = [(kind, port, slices[p::processes], deadline) for p in range(processes)]
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(client_process, jobs)
    outcomes: dict[str, int] = {}
    for part in parts:
        for key, n in part["outcomes"].items():
            outcomes[key] = outcomes.get(key, 0) + n
    return {
        "count": sum(p["done"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "first_errors": [line for p in parts for line in p["first"]][:5],
        "outcomes": dict(sorted(outcomes.items())),
        "seconds": round(time.monotonic() - started, 1),
    }


# --- one server ---------------------------------------------------------------------------------

LEAK_KEYS = ("tasks", "fds", "requests", "upload_files")


def settled(port: int, baseline: dict[str, Any], wait: float) -> dict[str, Any]:
    """The server's diagnostics once nothing is above the baseline (or after `wait` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        now = diag(port)
        clean = all(now[k] <= baseline[k] for k in LEAK_KEYS) and not now["temp_fds"] and not now["temp_files"]
        if clean or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


def soak(server: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix=f"tachyon-soak-{server}-"))
    log_path = args.log_dir / f"soak-{server}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    env = {**os.environ, "TMPDIR": str(temp_dir)}
    proc = subprocess.Popen(
        server_command(server, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
    )
    result: dict[str, Any] = {"server": server}
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server}: did not start:\n{log_path.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.05)
        processes = args.client_processes
        warmup = run_clients("keepalive", port, args.warmup, args.connections, processes, args.phase_timeout)
        run_clients("upload", port, 50, 2, 1, args.phase_timeout)
        baseline = diag(port)
        result["build_profile"] = baseline["build_profile"]
        result["diag_start"] = baseline
        rss_start = tree_rss(proc.pid)
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(2.0):
                samples.append(tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        keepalive = run_clients("keepalive", port, args.requests, args.connections, processes, args.phase_timeout)
        stop.set()
        sampler.join()
        rss_end = tree_rss(proc.pid)
        keepalive["errors"] += warmup["errors"]
        keepalive["first_errors"] = (warmup["first_errors"] + keepalive["first_errors"])[:5]
        keepalive.update(
            rss_start_mb=round(rss_start / 2**20, 1),
            rss_end_mb=round(rss_end / 2**20, 1),
            rss_max_mb=round(max([rss_start, rss_end, *samples]) / 2**20, 1),
            rss_growth_pct=round(100 * (rss_end - rss_start) / rss_start, 2),
            diag=diag(port),
        )
        result["keepalive"] = keepalive
        uploads = run_clients("upload", port, args.uploads, args.connections, processes, args.phase_timeout)
        uploads["diag"] = settled(port, baseline, args.settle)
        uploads["rss_end_mb"] = round(tree_rss(proc.pid) / 2**20, 1)
        result["uploads"] = uploads
        cuts = run_clients("disconnect", port, args.disconnects, args.connections, processes, args.phase_timeout)
        cuts["diag"] = settled(port, baseline, args.settle)
        cuts["rss_end_mb"] = round(tree_rss(proc.pid) / 2**20, 1)
        result["disconnects"] = cuts
        # Whatever the clients did, the worker still serves.
        result["alive_at_end"] = proc.poll() is None and diag(port)["pid"] == baseline["pid"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)
        log.close()
        result["temp_dir_left"] = sorted(os.listdir(temp_dir))
        shutil.rmtree(temp_dir, ignore_errors=True)
    result["failures"] = failures(result)
    return result


def failures(r: dict[str, Any]) -> list[str]:
    """What in one server's result breaks the soak's criteria (empty: it passed)."""
    found = []
    for phase in ("keepalive", "uploads", "disconnects"):
        if r[phase]["errors"]:
            found.append(f"{phase}: {r[phase]['errors']} errors")
    if r["keepalive"]["rss_growth_pct"] >= RSS_GROWTH_LIMIT_PCT:
        found.append(f"keep-alive RSS grew {r['keepalive']['rss_growth_pct']}%")
    start = r["diag_start"]
    for phase in ("uploads", "disconnects"):
        end = r[phase]["diag"]
        for key in LEAK_KEYS:
            if end[key] > start[key]:
                found.append(f"after {phase}: {key} {start[key]} -> {end[key]}")
        if end["temp_fds"] or end["temp_files"]:
            found.append(f"after {phase}: {end['temp_fds']} temp fds open, {end['temp_files']} temp files")
    if r["temp_dir_left"]:
        found.append(f"left in the temporary directory: {r['temp_dir_left'][:5]}")
    if not r["alive_at_end"]:
        found.append("the worker did not survive")
    return found


# --- report -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in ("granian", "uvicorn"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[name] = version(name)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "cpu": model,
        "cpus": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "servers": versions,
    }


def fmt(n: int) -> str:
    return f"{n:,}"


def table(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    names = {
        "uvicorn": "uvicorn (`--server uvicorn`)",
        "default": "default (native)",
        "granian": "Granian, RSGI (`--server granian`)",
    }
    servers = ", ".join(f"{k} {v}" for k, v in meta["servers"].items())
    lines = [
        f"Measured {meta['date']} by `benches/load/soak.py` on {meta['cpu']} ({meta['cpus']} CPUs, shared; "
        f"{meta['kernel']}), Python {meta['python']}, {servers}, a {results[0]['build_profile']} build, one worker, "
        f"client and server on the same machine over 127.0.0.1.",
        "",
        "Keep-alive requests (hello, param, POST echo, 404 in turn; every status and body checked; "
        f"{meta['connections']} connections). RSS is the server's whole process tree, after "
        f"{fmt(meta['warmup'])} warm-up requests and at the end:",
        "",
        "| server | requests | errors | time (s) | RSS start (MB) | RSS end (MB) | RSS max (MB) | growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        k = r["keepalive"]
        lines.append(
            f"| {names[r['server']]} | {fmt(k['count'])} | {k['errors']} | {k['seconds']} | {k['rss_start_mb']} "
            f"| {k['rss_end_mb']} | {k['rss_max_mb']} | {k['rss_growth_pct']}% |"
        )
    lines += [
        "",
        f"Uploads ({UPLOAD_SIZE // 1024} KiB files, each past the spool's memory limit of 64 KiB, so "
        "each rolled to a temporary file) and disconnects mid-body (a quarter each: a cut-short "
        "body closed with FIN or with RST; a multipart upload cut inside its rolled file, FIN or "
        "RST). The server's own counts, read inside the serving process before the phases and "
        "after each (once settled):",
        "",
        "| server | phase | count | errors | time (s) | asyncio tasks | open fds | temp files / fds left "
        "| live Request / UploadFile |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["diag_start"]
        lines.append(
            f"| {names[r['server']]} | before | | | | {s['tasks']} | {s['fds']} | {s['temp_files']} / "
            f"{s['temp_fds']} | {s['requests']} / {s['upload_files']} |"
        )
        for phase, label in (("uploads", "uploads"), ("disconnects", "disconnects")):
            p = r[phase]
            d = p["diag"]
            lines.append(
                f"| | {label} | {fmt(p['count'])} | {p['errors']} | {p['seconds']} | {d['tasks']} | {d['fds']} "
                f"| {d['temp_files']} / {d['temp_fds']} | {d['requests']} / {d['upload_files']} |"
            )
    lines.append("")
    for r in results:
        outcomes = ", ".join(f"{k}: {fmt(v)}" for k, v in r["disconnects"]["outcomes"].items())
        verdict = "passed" if not r["failures"] else "FAILED: " + "; ".join(r["failures"])
        lines.append(f"- {names[r['server']]}: disconnects ({outcomes}); {verdict}.")
    return "\n".join(lines) + "\n"


def write_docs(text: str) -> None:
    write_block(DOCS, BEGIN, END, HEADING, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="keep-alive requests per server")
    parser.add_argument("--uploads", type=int, default=10_000, help="multipart uploads per server")
    parser.add_argument("--disconnects", type=int, default=100_000, help="mid-body disconnects per server")
    parser.add_argument("--warmup", type=int, default=20_000, help="keep-alive requests before the RSS baseline")
    parser.add_argument("--connections", type=int, default=8, help="client connections (threads)")
    parser.add_argument("--client-processes", type=int, default=2, help="client processes the threads share")
    parser.add_argument("--phase-timeout", type=float, default=2400.0, help="seconds a phase may take at most")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for the server to settle")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--write-docs", action="store_true", help=f"put the tables in {DOCS.relative_to(ROOT)}")
    parser.add_argument("--log-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    meta = {**machine(), "connections": args.connections, "warmup": args.warmup}
    results = [soak(s, args) for s in args.servers]
    text = table(results, meta)
    print(text)
    for r in results:
        for phase in ("keepalive", "uploads", "disconnects"):
            for line in r[phase]["first_errors"]:
                print(f"  {r['server']} {phase}: {line}")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    if args.write_docs:
        if any(r["build_profile"] != "release" for r in results):
            raise SystemExit("--write-docs needs a release build (make develop-release)")
        write_docs(text)
    if any(r["failures"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
