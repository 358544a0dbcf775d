"""benches/comprehensive_benchmark.py --quick produces every row, with both columns filled.

This checks the rows, never the numbers: timings belong to the benchmark, not the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benches" / "comprehensive_benchmark.py"

EXPECTED_ROWS = {
    "Application creation",
    "Route creation",
    "JSON response (small dict)",
    "Route addition (10 routes)",
    "Path matching (int param)",
    "Path matching (last of 1000 routes)",
    "Header lookup (20 headers)",
    "Query params (10 pairs)",
    "Cookies (10 cookies)",
    "Hello JSON",
    "Int path param + query",
    "First of 1000 routes",
    "Last of 1000 routes",
    "404 Not Found",
    "405 Method Not Allowed",
    "POST JSON echo",
    "3 middlewares",
    "Seed dict dumps x10,000",
    "Mount creation",
    "Host creation",
    "Route.matches(scope)",
    "Mount.matches(scope)",
    "Host.matches(scope)",
    "body() 1 KiB, one chunk",
    "form() multipart 1 MiB, 64 KiB chunks",
    "form() urlencoded 1 MiB, one chunk",
    "StreamingResponse 16 x 64 KiB",
    "FileResponse Range 1 MiB of 10 MiB",
    "CORS (preflight)",
    "BaseHTTPMiddleware (pass-through)",
    "WebSocket echo (10 messages)",
    "GZip level 6, 32 KiB JSON",
    "Event-loop stall, GZip level 6 on 1 MiB JSON (longest gap)",
}


def test_quick_run_produces_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(out.read_text())
    rows = {row["name"]: row for row in payload["rows"]}
    assert EXPECTED_ROWS <= rows.keys()
    for row in rows.values():
        assert row["tachyon"] > 0 and row["peer"] > 0, row
    assert payload["machine"]["python"]
    assert "| Hello JSON |" in result.stdout


def test_a_debug_build_warns_and_refuses_to_write_the_docs(tmp_path: Path) -> None:
    from tachyon import build_profile

    if build_profile != "debug":
        pytest.skip("only a debug build (what make test installs) refuses")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "micro", "--write-docs"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "WARNING: benchmarking with a DEBUG build" in result.stderr
    assert "refusing to write docs/performance.md" in result.stderr
