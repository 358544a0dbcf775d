"""Requests per second with 2 worker processes: Tachyon's native server vs Starlette on uvicorn.

    python benches/load/workers.py                      # 3 s warm-up, 10 s runs, 3 rounds
    python benches/load/workers.py --quick              # 1 s warm-up, 2 s runs, 1 round
    python benches/load/workers.py --json workers-results.json

Hello JSON (`GET /`, run.py's first scenario) against four rows, in one run, interleaved as in
run.py (every server up throughout, the order reversed every other round): Tachyon on its
native server and Starlette 1.10 on uvicorn (httptools, uvloop), each with `--workers 2` and
with `--workers 1`, so that each server's scaling is measured beside the other's. Unlike
run.py nothing is pinned: the workers may use both CPUs, and `wrk -t2 -c128` shares them
(on a 2-CPU machine the load generator competes with the servers; the ratio between the rows
is the figure to read). Any non-2xx response stops the run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from run import SCENARIOS, LoadError, Measurement, RunningServer, Target, check_response, require_tools, run_wrk

ALL_CPUS = "0,1"
WRK_THREADS, WRK_CONNECTIONS = 2, 128
TARGETS = [
    Target("tachyon-native-2w", "Tachyon, native server, 2 workers", "tachyon_app", "native", "native", workers=2),
    Target("starlette-uvicorn-2w", "Starlette 1.10, uvicorn, 2 workers", "starlette_app", "uvicorn", "asgi", workers=2),
    Target("tachyon-native-1w", "Tachyon, native server, 1 worker", "tachyon_app", "native", "native"),
    Target("starlette-uvicorn-1w", "Starlette 1.10, uvicorn, 1 worker", "starlette_app", "uvicorn", "asgi"),
]


def measure(rounds: int, warmup: float, duration: float) -> dict[str, Measurement]:
    scenario = SCENARIOS[0]  # hello JSON
    results = {t.key: Measurement() for t in TARGETS}
    wrk = {"cpus": ALL_CPUS, "threads": WRK_THREADS, "connections": WRK_CONNECTIONS}
    with tempfile.TemporaryDirectory(prefix="tachyon-workers-") as tmp:
        tmp_dir = Path(tmp)
        servers: dict[str, RunningServer] = {}
        try:
            for target in TARGETS:
                servers[target.key] = RunningServer(target, tmp_dir, 0, cpus=ALL_CPUS)
            for target in TARGETS:
                check_response(servers[target.key].port, scenario)
                if warmup > 0:
                    run_wrk(servers[target.key].port, scenario, warmup, tmp_dir, **wrk)  # type: ignore[arg-type]
            for round_index in range(rounds):
                order = TARGETS if round_index % 2 == 0 else list(reversed(TARGETS))
                for target in order:
                    rps, p99, requests = run_wrk(servers[target.key].port, scenario, duration, tmp_dir, **wrk)  # type: ignore[arg-type]
                    results[target.key].rps.append(rps)
                    results[target.key].p99_ms.append(p99)
                    results[target.key].requests.append(requests)
                    print(
                        f"round {round_index + 1}/{rounds}  {target.label:<36} {rps:>9.0f} req/s  p99 {p99:6.2f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s warm-up, 2 s runs, 1 round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds per timed run (default 10; 2 with --quick)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up (default 3; 1 with --quick)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    duration = args.duration or (2.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    require_tools()
    meta: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rounds": rounds,
        "duration_s": duration,
        "warmup_s": warmup,
        "wrk": f"-t{WRK_THREADS} -c{WRK_CONNECTIONS}",
        "pinning": {"server": ALL_CPUS, "wrk": ALL_CPUS},
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    try:
        results = measure(rounds, warmup, duration)
    except LoadError as exc:
        sys.exit(f"workers: {exc}")
    meta["load_average_after"] = round(os.getloadavg()[0], 2)
    payload = {
        "meta": meta,
        "results": [
            {
                "target": t.key,
                "label": t.label,
                "app": t.app,
                "server": t.server,
                "workers": t.workers,
                "scenario": SCENARIOS[0].key,
                "median_rps": statistics.median(results[t.key].rps),
                "median_p99_ms": statistics.median(results[t.key].p99_ms),
                "rps": results[t.key].rps,
                "p99_ms": results[t.key].p99_ms,
                "requests": results[t.key].requests,
            }
            for t in TARGETS
        ],
    }
    for row in payload["results"]:
        print(f"{row['label']:<36} {row['median_rps']:>9,.0f} req/s  p99 {row['median_p99_ms']:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
