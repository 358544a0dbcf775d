"""HTTP load: Tachyon, Starlette and bare callables under real servers, side by side.

    python benches/load/run.py                      # 3 s warm-up, 10 s runs, 3 rounds
    python benches/load/run.py --quick              # 1 s warm-up, 2 s runs, 1 round (~2 minutes)
    python benches/load/run.py --json out.json --write-docs

One worker per server, pinned to CPU 0 (`taskset -c 0`); the load generator
(`wrk -t1 -c64`, Debian package `wrk`) pinned to CPU 1, as is the TCP echo server the
round-trip scenario's handlers await (`echo_server.py`). All the (app, server) rows are
started once and stay up, idle but for their turn; each scenario warms every row up, then
runs the rounds, each round one timed run per row, the order of the rows reversed every
other round, so that runs compared with each other are seconds apart and no framework
always runs first.
Reported: the median req/s and the median p99 latency over the rounds. A run with any
non-2xx response (any response other than 404 in the 404 scenario), or any socket error,
is an error: the harness stops rather than print a fast wrong number.

Needs: wrk (`apt-get install -y wrk`), taskset (util-linux), and the pinned peers in
benches/load/requirements.txt. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docs_block import write_block  # this folder's (run as a script from here)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOCS = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- load: begin -->", "<!-- load: end -->"
SERVER_CPU, LOAD_CPU = "0", "1"
ECHO_BODY = '{"id":123,"name":"Test","items":[1,2,3,4,5],"metadata":{"key":"value"}}'
PRODUCT_CLAIM = 2.4


@dataclass(frozen=True)
class Scenario:
    """One request shape: what wrk sends and the status every response must have."""

    key: str
    title: str
    method: str
    path: str
    status: int
    body: str | None = None


SCENARIOS = [
    Scenario("hello", "hello JSON", "GET", "/", 200),
    Scenario("param", "int param + query", "GET", "/users/123?q=hello", 200),
    Scenario("echo", "POST JSON echo", "POST", "/echo", 200, ECHO_BODY),
    Scenario("big", "10 KB JSON", "GET", "/big", 200),
    Scenario("roundtrip", "TCP round trip", "GET", "/roundtrip", 200),
    Scenario("404", "404", "GET", "/missing", 404),
]


@dataclass(frozen=True)
class Target:
    """One table row: an app on a server over an interface."""

    key: str
    label: str
    app: str
    server: str
    interface: str
    workers: int = 1


TARGETS = [
    Target("tachyon-native", "Tachyon, native server", "tachyon_app", "native", "native"),
    Target("tachyon-uvicorn", "Tachyon, uvicorn", "tachyon_app", "uvicorn", "asgi"),
    Target("tachyon-granian-asgi", "Tachyon, Granian ASGI", "tachyon_app", "granian", "asgi"),
    Target("tachyon-granian-rsgi", "Tachyon, Granian RSGI", "tachyon_app", "granian", "rsgi"),
    Target("starlette-uvicorn", "Starlette 1.10, uvicorn", "starlette_app", "uvicorn", "asgi"),
    Target("starlette-granian-asgi", "Starlette 1.10, Granian ASGI", "starlette_app", "granian", "asgi"),
    Target("bare-uvicorn", "bare ASGI, uvicorn", "bare_asgi", "uvicorn", "asgi"),
    Target("bare-granian-asgi", "bare ASGI, Granian ASGI", "bare_asgi", "granian", "asgi"),
    Target("bare-granian-rsgi", "bare RSGI, Granian RSGI", "bare_rsgi", "granian", "rsgi"),
]


@dataclass
class Measurement:
    """All timed runs of one (target, scenario)."""

    rps: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)

    @property
    def median_p99(self) -> float:
        return statistics.median(self.p99_ms)


class LoadError(RuntimeError):
    """A run that cannot be reported: the server failed, or a response was wrong."""


# --- tools -------------------------------------------------------------------------------------


def require_tools() -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"load harness: missing {', '.join(missing)}; install with: apt-get install -y wrk util-linux")
    if (os.cpu_count() or 1) < 2:
        sys.exit("load harness: needs 2 CPUs (server on CPU 0, wrk on CPU 1)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(target: Target, port: int) -> list[str]:
    python = sys.executable
    if target.server == "native":
        return [
            python, "-m", "tachyon", f"apps:{target.app}", "--app-dir", str(HERE), "--server", "native",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(target.workers), "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
    if target.server == "uvicorn":
        return [
            python, "-m", "uvicorn", f"apps:{target.app}", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(target.workers),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            "--lifespan", "auto",
        ]  # fmt: skip
    return [
        python, "-m", "granian", f"apps:{target.app}", "--working-dir", str(HERE),
        "--interface", target.interface, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(target.workers), "--runtime-threads", "1", "--loop", "uvloop", "--log-level", "warning",
        "--no-ws",
    ]  # fmt: skip


class RunningServer:
    """A server subprocess pinned to `cpus` (SERVER_CPU by default; a helper `command` to
    LOAD_CPU); stopped with SIGTERM (then SIGKILL)."""

    def __init__(
        self,
        target: Target,
        log_dir: Path,
        echo_port: int,
        command: list[str] | None = None,
        cpus: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        # A helper process (`command`, on LOAD_CPU) listens on the port it was given.
        self.port = free_port() if command is None else echo_port
        self.log = log_dir / f"{target.key}.log"
        self._log_file = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(HERE), "LOAD_ECHO_PORT": str(echo_port)}
        env.update(extra_env or {})
        cpu = cpus or (SERVER_CPU if command is None else LOAD_CPU)
        self.proc = subprocess.Popen(
            ["taskset", "-c", cpu, *(command or server_command(target, self.port))],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise LoadError(f"{target.key}: server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LoadError(f"{target.key}: server did not start within 30 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
        # Nothing of the session may outlive the run (a worker orphaned by its parent).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log_file.close()


def check_response(port: int, scenario: Scenario) -> bytes:
    """One request before the load: the status must be the scenario's; returns the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"content-type": "application/json"} if scenario.body else {}
        conn.request(scenario.method, scenario.path, body=scenario.body, headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != scenario.status:
        raise LoadError(f"{scenario.key}: expected {scenario.status}, got {response.status}: {body[:200]!r}")
    return body


_DURATION_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _DURATION_UNITS[unit]


def run_wrk(
    port: int,
    scenario: Scenario,
    seconds: float,
    script_dir: Path,
    *,
    cpus: str = LOAD_CPU,
    threads: int = 1,
    connections: int = 64,
) -> tuple[float, float, int]:
    """(req/s, p99 ms, requests) of one wrk run (`wrk -t<threads> -c<connections>`, pinned to
    `cpus`); LoadError on any unexpected response."""
    args = ["taskset", "-c", cpus, "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    args.append("--latency")
    if scenario.body is not None:
        script = script_dir / f"{scenario.key}.lua"
        script.write_text(
            f"wrk.method = {json.dumps(scenario.method)}\n"
            f"wrk.body = {json.dumps(scenario.body)}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        args += ["-s", str(script)]
    args.append(f"http://127.0.0.1:{port}{scenario.path}")
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=False).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p99 and total):
        raise LoadError(f"{scenario.key}: could not read wrk's output:\n{out}")
    requests = int(total.group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        raise LoadError(f"{scenario.key}: socket errors: {errors.group(1)}")
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    expected_non_2xx = requests if scenario.status >= 400 else 0
    # wrk counts only completed requests in "requests"; a 404 run must be all 404 (checked
    # for one request before), any other run all 2xx.
    if non_2xx != expected_non_2xx:
        raise LoadError(f"{scenario.key}: {non_2xx} non-2xx responses out of {requests} (expected {expected_non_2xx})")
    return float(rps.group(1)), _ms(p99.group(1)), requests


# --- the run -------------------------------------------------------------------------------------


def measure(
    targets: list[Target], scenarios: list[Scenario], rounds: int, warmup: float, duration: float
) -> dict[tuple[str, str], Measurement]:
    """Every target's server runs (idle but for its turn) through the whole measurement, so
    that the runs of one scenario can be interleaved closely: on a shared machine, runs
    minutes apart are not comparable, runs seconds apart are."""
    results = {(t.key, s.key): Measurement() for t in targets for s in scenarios}
    with tempfile.TemporaryDirectory(prefix="tachyon-load-") as tmp:
        tmp_dir = Path(tmp)
        servers: dict[str, RunningServer] = {}
        try:
            # The TCP echo server the round-trip handlers await, beside wrk on LOAD_CPU.
            echo_port = free_port()
            echo = Target("echo-server", "TCP echo server", "", "asyncio", "tcp")
            command = [sys.executable, str(HERE / "echo_server.py"), str(echo_port)]
            servers[echo.key] = RunningServer(echo, tmp_dir, echo_port, command)
            for target in targets:
                servers[target.key] = RunningServer(target, tmp_dir, echo_port)
            for scenario in scenarios:
                for target in targets:
                    check_response(servers[target.key].port, scenario)
                    if warmup > 0:
                        run_wrk(servers[target.key].port, scenario, warmup, tmp_dir)
                for round_index in range(rounds):
                    # Alternate the order, so that no row always runs first (or last).
                    order = targets if round_index % 2 == 0 else list(reversed(targets))
                    for target in order:
                        rps, p99, requests = run_wrk(servers[target.key].port, scenario, duration, tmp_dir)
                        measurement = results[(target.key, scenario.key)]
                        measurement.rps.append(rps)
                        measurement.p99_ms.append(p99)
                        measurement.requests.append(requests)
                        print(
                            f"{scenario.title:<18} round {round_index + 1}/{rounds}  {target.label:<30}"
                            f" {rps:>9.0f} req/s  p99 {p99:6.2f} ms",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            for server in servers.values():
                server.stop()
    return results


def ratio(results: dict[tuple[str, str], Measurement], top: str, bottom: str, scenario: str) -> float | None:
    a, b = results.get((top, scenario)), results.get((bottom, scenario))
    if a is None or b is None or not a.rps or not b.rps:
        return None
    return a.median_rps / b.median_rps


def best_tachyon(results: dict[tuple[str, str], Measurement], scenario: str) -> str | None:
    keys = [
        k
        for k in ("tachyon-native", "tachyon-uvicorn", "tachyon-granian-asgi", "tachyon-granian-rsgi")
        if (k, scenario) in results
    ]
    return max(keys, key=lambda k: results[(k, scenario)].median_rps) if keys else None


def markdown(
    results: dict[tuple[str, str], Measurement],
    targets: list[Target],
    scenarios: list[Scenario],
    meta: dict[str, Any],
) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}: "
        f"one worker pinned to CPU 0, `wrk -t1 -c64` pinned to CPU 1, {meta['warmup_s']:g} s warm-up, "
        f"{meta['rounds']} round(s) of {meta['duration_s']:g} s per scenario, rows interleaved and alternating. "
        f"Machine load average (1 min) {meta['load_average_before']:g} before, {meta['load_average_after']:g} after"
        " (2 CPUs: above 2 means other work competed for them). "
        "Median req/s, and median p99 latency in ms. Every response was 2xx (404 in the 404 column). "
        "Generated by `benches/load/run.py`; figures from one run compare with each other only.",
        "",
        "| App, server | " + " | ".join(f"{s.title} req/s | p99 ms" for s in scenarios) + " |",
        "|---|" + "---:|---:|" * len(scenarios),
    ]
    for target in targets:
        cells = []
        for scenario in scenarios:
            m = results[(target.key, scenario.key)]
            cells.append(f"{m.median_rps:,.0f} | {m.median_p99:.2f}")
        lines.append(f"| {target.label} | " + " | ".join(cells) + " |")

    def ratio_row(label: str, top: str, bottom: str, target: str) -> str:
        cells = []
        for scenario in scenarios:
            value = ratio(results, top, bottom, scenario.key)
            cells.append("-" if value is None else f"{value:.2f}x")
        return f"| {label} | " + " | ".join(cells) + f" | {target} |"

    lines += [
        "",
        "| Ratio (req/s) | " + " | ".join(s.title for s in scenarios) + " | target |",
        "|---|" + "---:|" * len(scenarios) + "---|",
        ratio_row("Tachyon native / Starlette on uvicorn", "tachyon-native", "starlette-uvicorn",
                  ">= 4x hello JSON, >= 2x every scenario"),
        ratio_row("Tachyon native / bare RSGI on Granian", "tachyon-native", "bare-granian-rsgi", "> 1x hello JSON"),
        ratio_row("Tachyon on uvicorn / bare ASGI on uvicorn", "tachyon-uvicorn", "bare-uvicorn", ">= 0.9x"),
        ratio_row("Tachyon on Granian RSGI / bare RSGI on Granian", "tachyon-granian-rsgi",
                  "bare-granian-rsgi", ">= 0.9x"),
        ratio_row("Tachyon on uvicorn / Starlette on uvicorn", "tachyon-uvicorn", "starlette-uvicorn", "same server"),
        ratio_row("Tachyon on Granian ASGI / Starlette on Granian ASGI", "tachyon-granian-asgi",
                  "starlette-granian-asgi", "same server"),
    ]  # fmt: skip
    cells = []
    for scenario in scenarios:
        best = best_tachyon(results, scenario.key)
        value = None if best is None else ratio(results, best, "starlette-uvicorn", scenario.key)
        names = {"tachyon-native": "native", "tachyon-uvicorn": "uvicorn", "tachyon-granian-asgi": "Granian ASGI"}
        name = names.get(best or "", "Granian RSGI")
        cells.append("-" if value is None else f"{value:.2f}x ({name})")
    lines.append(
        "| Tachyon's best deployment / Starlette on uvicorn | "
        + " | ".join(cells)
        + f" | product claim: {PRODUCT_CLAIM}x |"
    )
    return "\n".join(lines) + "\n"


def write_docs(table: str) -> None:
    write_block(DOCS, BEGIN, END, "## HTTP throughput\n", table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 2 s runs, 1 round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds per timed run (default 10; 2 with --quick)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per scenario (default 3; 1 with --quick)")
    parser.add_argument("--only", nargs="*", help="target keys to run (default: all)")
    parser.add_argument("--scenarios", nargs="*", help="scenario keys to run (default: all)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--write-docs", action="store_true", help=f"put the table in {DOCS.relative_to(ROOT)}")
    args = parser.parse_args()

    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (2.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    targets = [t for t in TARGETS if not args.only or t.key in args.only]
    scenarios = [s for s in SCENARIOS if not args.scenarios or s.key in args.scenarios]
    require_tools()

    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rounds": rounds,
        "duration_s": duration,
        "warmup_s": warmup,
        "wrk": "-t1 -c64",
        "pinning": {"server": SERVER_CPU, "wrk": LOAD_CPU},
    }
    meta["load_average_before"] = round(os.getloadavg()[0], 2)
    try:
        results = measure(targets, scenarios, rounds, warmup, duration)
    except LoadError as exc:
        sys.exit(f"load harness: {exc}")
    meta["load_average_after"] = round(os.getloadavg()[0], 2)

    table = markdown(results, targets, scenarios, meta)
    print(table)
    if args.json:
        payload = {
            "meta": meta,
            "results": [
                {
                    "target": t.key,
                    "label": t.label,
                    "app": t.app,
                    "server": t.server,
                    "interface": t.interface,
                    "scenario": s.key,
                    "median_rps": results[(t.key, s.key)].median_rps,
                    "median_p99_ms": results[(t.key, s.key)].median_p99,
                    **asdict(results[(t.key, s.key)]),
                }
                for t in targets
                for s in scenarios
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.write_docs:
        if set(targets) != set(TARGETS) or set(scenarios) != set(SCENARIOS):
            sys.exit("load harness: --write-docs needs every target and scenario")
        write_docs(table)


if __name__ == "__main__":
    main()
