"""Which libdeflate level matches Python zlib's ratio at each gzip level, and at what cost.

Writes the GZip corpora of `comprehensive_benchmark.py` (JSON, text and incompressible; 32 KiB,
1 MiB and 10 MiB) to a temporary folder, compresses each at levels 1-9 with Python's zlib as
Starlette's GZipMiddleware does (`zlib.compressobj(level, DEFLATED, 16 + MAX_WBITS)`), runs the
`gzip_levels` example (libdeflate at levels 1-12, the same crate and version the one-shot path
uses) on the same files, and prints:

- for each zlib level, the cheapest libdeflate level whose gzip output is no larger than
  zlib's on every corpus and size (the "no worse ratio" mapping), and per corpus;
- libdeflate's size and time at the same number as zlib's, beside zlib's.

Usage: `.venv/bin/python benches/gzip_levels.py` (builds the example with cargo --release).
Timings are best-of-N on this machine; sizes are exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from comprehensive_benchmark import GZIP_KINDS, KIB, MIB, _gzip_body  # noqa: E402

SIZES = (32 * KIB, MIB, 10 * MIB)
ZLIB_LEVELS = range(1, 10)


def zlib_gzip(data: bytes, level: int) -> bytes:
    """Starlette's one-message gzip: one compressobj, compress then flush."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def best_ms(call: Callable[[bytes, int], bytes], data: bytes, level: int) -> float:
    best = float("inf")
    started = time.perf_counter()
    runs = 0
    while runs < 3 or (time.perf_counter() - started < 0.3 and runs < 100):
        start = time.perf_counter()
        call(data, level)
        best = min(best, time.perf_counter() - start)
        runs += 1
    return best * 1e3


def label(kind: str, size: int) -> str:
    return f"{kind} {size // MIB} MiB" if size >= MIB else f"{kind} {size // KIB} KiB"


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    corpora: dict[str, Path] = {}
    zlib_sizes: dict[str, list[int]] = {}
    zlib_ms: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in GZIP_KINDS:
            for size in SIZES:
                name = label(kind, size)
                body, _ = _gzip_body(kind, size)
                path = Path(folder) / name.replace(" ", "-")
                path.write_bytes(body)
                corpora[name] = path
                zlib_sizes[name] = [len(zlib_gzip(body, level)) for level in ZLIB_LEVELS]
                zlib_ms[name] = [best_ms(zlib_gzip, body, level) for level in ZLIB_LEVELS]
        command = ["cargo", "run", "--quiet", "--release", "-p", "tachyon-benches", "--example", "gzip_levels", "--"]
        output = subprocess.run(
            command + [str(path) for path in corpora.values()], cwd=root, check=True, capture_output=True, text=True
        ).stdout
    by_file = {Path(row["file"]).name: row for row in map(json.loads, output.splitlines())}
    ld_sizes = {name: by_file[path.name]["sizes"] for name, path in corpora.items()}
    ld_ms = {name: by_file[path.name]["ms"] for name, path in corpora.items()}

    print("Cheapest libdeflate level (1-12) whose gzip output is no larger than Python zlib's:\n")
    names = list(corpora)
    print("| zlib level | all corpora | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for index, level in enumerate(ZLIB_LEVELS):
        per = {}
        for name in names:
            fits = [ld for ld in range(1, 13) if ld_sizes[name][ld - 1] <= zlib_sizes[name][index]]
            per[name] = fits[0] if fits else None
        levels = [ld for ld in range(1, 13) if all(ld_sizes[n][ld - 1] <= zlib_sizes[n][index] for n in names)]
        overall = str(levels[0]) if levels else "none"
        print(f"| {level} | {overall} | " + " | ".join(str(per[n] or "none") for n in names) + " |")

    print("\nSame number: gzip bytes (libdeflate / zlib, ratio) and best time in ms (libdeflate / zlib):\n")
    print("| corpus | level | libdeflate bytes | zlib bytes | size ratio | libdeflate ms | zlib ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        for index, level in enumerate(ZLIB_LEVELS):
            ld, zl = ld_sizes[name][level - 1], zlib_sizes[name][index]
            print(
                f"| {name} | {level} | {ld} | {zl} | {ld / zl:.3f} | {ld_ms[name][level - 1]:.3f} | "
                f"{zlib_ms[name][index]:.3f} |"
            )
    print("\nlibdeflate levels 10-12 (bytes / ms):")
    for name in names:
        cells = [f"L{ld} {ld_sizes[name][ld - 1]} / {ld_ms[name][ld - 1]:.2f}" for ld in (10, 11, 12)]
        print(f"  {name}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
