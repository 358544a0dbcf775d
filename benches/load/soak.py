"""Soak: many keep-alive requests through a real server, counting errors and watching RSS.

Serves `apps:tachyon_app` under uvicorn and under the default server (`python -m tachyon`,
Granian over RSGI), then sends `--requests` requests per server over `--connections`
keep-alive connections, cycling through the four load scenarios: GET / (hello), GET
/users/123?q=hello (param), POST /echo (JSON echo) and GET /missing (404). Each answer's
status and body are checked. Reports, per server: the error count (wrong status or body,
socket errors), and the server's RSS (the whole process tree) after a warm-up and at the end.

```sh
python benches/load/soak.py                       # 1,000,000 requests per server (the issue's figure)
python benches/load/soak.py --requests 50000      # a scaled-down run
```

Use a release build (`make develop-release`); the figures are for one run on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCENARIOS: list[tuple[str, str, bytes | None, int, bytes]] = [
    ("GET", "/", None, 200, b'{"message":"Hello, World!"}'),
    ("GET", "/users/123?q=hello", None, 200, b'{"id":123,"q":"hello"}'),
    ("POST", "/echo", b'{"a":[1,2,3],"b":"x"}', 200, b'{"a":[1,2,3],"b":"x"}'),
    ("GET", "/missing", None, 404, b"Not Found"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(server: str, port: int) -> list[str]:
    if server == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "apps:tachyon_app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "tachyon", "apps:tachyon_app", "--app-dir", str(HERE),
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
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


def client(port: int, count: int, offset: int, errors: list[str]) -> None:
    """`count` requests on one keep-alive connection (reconnecting only after an error)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(count):
        method, path, body, status, expected = SCENARIOS[(i + offset) % len(SCENARIOS)]
        headers = {"content-type": "application/json"} if body else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != status or data != expected:
                errors.append(f"{method} {path}: {response.status} {data[:80]!r}")
            if response.will_close:
                errors.append(f"{method} {path}: the server closed a keep-alive connection")
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            conn.close()
    conn.close()


def soak(server: str, requests: int, connections: int, log_dir: Path) -> dict[str, object]:
    port = free_port()
    log = open(log_dir / f"soak-{server}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(server_command(server, port), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server}: did not start:\n{(log_dir / f'soak-{server}.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            time.sleep(0.05)
        warmup: list[str] = []
        client(port, 2000, 0, warmup)
        rss_start = tree_rss(proc.pid)
        errors: list[str] = []
        per = requests // connections
        threads = [threading.Thread(target=client, args=(port, per, n, errors)) for n in range(connections)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        rss_end = tree_rss(proc.pid)
        alive = proc.poll() is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)
        log.close()
    return {
        "server": server,
        "requests": per * connections,
        "errors": len(errors) + len(warmup),
        "first_errors": (warmup + errors)[:5],
        "seconds": round(elapsed, 1),
        "rss_start_mb": round(rss_start / 2**20, 1),
        "rss_end_mb": round(rss_end / 2**20, 1),
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1) if rss_start else None,
        "alive_at_end": alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests per server")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (client threads)")
    parser.add_argument("--servers", nargs="+", default=["uvicorn", "default"], choices=["uvicorn", "default"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    results = [soak(s, args.requests, args.connections, args.log_dir) for s in args.servers]
    print("| server | requests | errors | time (s) | RSS start (MB) | RSS end (MB) | growth |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['server']} | {r['requests']:,} | {r['errors']} | {r['seconds']} | {r['rss_start_mb']} "
            f"| {r['rss_end_mb']} | {r['rss_growth_pct']}% |"
        )
        for line in r["first_errors"]:  # type: ignore[attr-defined]
            print(f"  {r['server']}: {line}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if any(r["errors"] or not r["alive_at_end"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
