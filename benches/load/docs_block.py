"""Generated blocks in the docs: the load harness's tables and the figures copied from them.

    python benches/load/docs_block.py          # after run.py --write-docs, idle.py and workers.py

`write_block` puts a block between two markers (run.py and soak.py use it for their tables).
Run as a script, this reads what the harness left and writes the rest:

- docs/performance.md: the idle-cost table from `idle-results.json` (`idle.py --json`) and the
  two-worker table from `workers-results.json` (`workers.py --json`), each when its file exists;
- docs/deployment.md and docs/index.md: the req/s figures they quote, copied from the HTTP
  table run.py wrote into docs/performance.md (whatever scenarios and rows it has), so that no
  figure is typed by hand. tachyon-py/tests/test_docs.py checks that they agree.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs"
PERFORMANCE = DOCS / "performance.md"


def write_block(docs: Path, begin: str, end: str, heading: str, body: str) -> None:
    """Put `body` between the `begin` and `end` markers of `docs`, replacing what stood there;
    the first time, right under `heading` (a line such as "## Soak\\n"), which must exist."""
    text = docs.read_text()
    block = f"{begin}\n{body}{end}"
    if begin in text and end in text:
        start, stop = text.index(begin), text.index(end) + len(end)
        text = text[:start] + block + text[stop:]
    elif heading in text:
        text = text.replace(heading, f"{heading}\n{block}\n", 1)
    else:
        raise SystemExit(f"{docs}: no '{heading.strip()}' heading to put the table under")
    docs.write_text(text)


def _block(text: str, name: str) -> str:
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    if begin not in text or end not in text:
        raise ValueError(f"no {begin} / {end} block")
    return text.split(begin, 1)[1].split(end, 1)[0]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def load_table(performance: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """From performance.md's text, run.py's HTTP table: (its date, the scenario titles, and for
    each row label its req/s cells, one per scenario; the p99 cells between them are left out)."""
    section = _block(performance, "load")
    date = re.search(r"Measured (\d{4}-\d\d-\d\d)", section)
    titles: list[str] = []
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if cells[0] == "App, server":
            titles = [c.removesuffix(" req/s") for c in cells[1::2]]
        elif titles and len(cells) == 1 + 2 * len(titles) and re.fullmatch(r"[\d,]+", cells[1]):
            rows[cells[0]] = cells[1::2]
    if date is None or not titles or not rows:
        raise ValueError("performance.md's load block has no dated table")
    return date.group(1), titles, rows


# Rows of the HTTP table that deployment.md quotes, in its order.
THROUGHPUT_ROWS = [
    "Tachyon, native server",
    "Tachyon, Granian RSGI",
    "Tachyon, Granian ASGI",
    "Tachyon, uvicorn",
    "Starlette 1.10, Granian ASGI",
    "Starlette 1.10, uvicorn",
]


def throughput_copy(performance: str) -> str:
    """deployment.md's throughput block: the req/s of THROUGHPUT_ROWS, every scenario."""
    date, titles, rows = load_table(performance)
    lines = [
        "Throughput on one 2-CPU machine, one worker pinned to one CPU, `wrk -t1 -c64` on the other,",
        f"median req/s of one run ({date}; the full table, with p99 latencies and the bare-ASGI",
        "ceilings, is in [performance.md](performance.md#http-throughput)):",
        "",
        "| app, server | " + " | ".join(titles) + " |",
        "|---|" + "---:|" * len(titles),
    ]
    lines += [f"| {label} | " + " | ".join(rows[label]) + " |" for label in THROUGHPUT_ROWS if label in rows]
    return "\n".join(lines) + "\n"


# index.md's server table: (server, how, the Tachyon row, the Starlette row or what to say).
SERVER_ROWS = [
    ("native", "`python -m tachyon app:app` (the default on Linux)", "Tachyon, native server", None),
    (
        "Granian, RSGI",
        "`python -m tachyon app:app --server granian` (the default elsewhere, when Granian is installed)",
        "Tachyon, Granian RSGI",
        "(no RSGI)",
    ),
    (
        "Granian, ASGI",
        "`python -m tachyon app:app --server granian --interface asgi` (Granian's default for apps with"
        " WebSocket routes)",
        "Tachyon, Granian ASGI",
        "Starlette 1.10, Granian ASGI",
    ),
    (
        "uvicorn (httptools, uvloop)",
        "`python -m tachyon app:app --server uvicorn`, or `uvicorn app:app`",
        "Tachyon, uvicorn",
        "Starlette 1.10, uvicorn",
    ),
    ("hypercorn", "`python -m tachyon app:app --server hypercorn`", None, None),
]


def servers_copy(performance: str) -> str:
    """index.md's server block: the hello-JSON req/s (the first scenario) of each server."""
    _, _, rows = load_table(performance)

    def hello(label: str | None, otherwise: str) -> str:
        return rows[label][0] if label is not None and label in rows else otherwise

    lines = ["| server | how | Tachyon req/s | Starlette req/s on it |", "|---|---|---:|---:|"]
    for server, how, ours, theirs in SERVER_ROWS:
        peer = theirs if theirs is not None and theirs.startswith("(") else hello(theirs, "not measured")
        lines.append(f"| {server} | {how} | {hello(ours, 'not measured')} | {peer} |")
    return "\n".join(lines) + "\n"


def _mib(value: float) -> str:
    return f"{value / 2**20:,.1f}"


def idle_table(payload: dict[str, Any]) -> str:
    """performance.md's idle-cost block, from idle.py's JSON."""
    meta = payload["meta"]
    n = meta["connections"]
    lines = [
        f"Measured {meta['date']} by `benches/load/idle.py` on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}: one worker pinned to CPU 0, {meta['rounds']} round(s), median of the rounds; CPU is user +"
        f" system time of the server's processes over {meta['seconds']:g} s (from /proc, in clock ticks of 10 ms), as a"
        f" percentage of one CPU; {n:,} connections opened with plain sockets, each after one `GET /` answered, kept"
        f" alive (keep-alive deadline raised to {meta['keep_alive_s']} s for the run), all answered again afterwards."
        f" Machine load average (1 min) {meta['load_average_before']:g} before, {meta['load_average_after']:g} after.",
        "",
        f"| app, server | idle CPU | RSS idle (MiB) | RSS with {n:,} idle connections (MiB) | per connection (KiB)"
        f" | CPU with them open |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in payload["summary"]:
        lines.append(
            f"| {row['label']} | {row['idle_cpu_percent']:.2f}% | {_mib(row['rss_idle_bytes'])}"
            f" | {_mib(row['rss_with_connections_bytes'])} | {row['rss_per_connection_bytes'] / 1024:.1f}"
            f" | {row['cpu_percent_with_connections']:.2f}% |"
        )
    return "\n".join(lines) + "\n"


def workers_table(payload: dict[str, Any]) -> str:
    """performance.md's two-worker block, from workers.py's JSON."""
    meta = payload["meta"]
    rps = {row["target"]: row["median_rps"] for row in payload["results"]}
    lines = [
        f"Measured {meta['date']} by `benches/load/workers.py` on {meta['machine']} ({meta['cpus']} CPUs), Python "
        f"{meta['python']}: hello JSON, servers and `wrk {meta['wrk']}` unpinned (sharing the CPUs),"
        f" {meta['warmup_s']:g} s warm-up, {meta['rounds']} round(s) of {meta['duration_s']:g} s, rows interleaved;"
        f" median req/s and p99 latency. Machine load average (1 min) {meta['load_average_before']:g} before,"
        f" {meta['load_average_after']:g} after.",
        "",
        "| app, server, workers | req/s | p99 ms |",
        "|---|---:|---:|",
    ]
    for row in payload["results"]:
        lines.append(f"| {row['label']} | {row['median_rps']:,.0f} | {row['median_p99_ms']:.2f} |")
    pairs = [
        ("Tachyon native / Starlette on uvicorn, 2 workers each", "tachyon-native-2w", "starlette-uvicorn-2w"),
        ("Tachyon native, 2 workers / 1 worker", "tachyon-native-2w", "tachyon-native-1w"),
        ("Starlette on uvicorn, 2 workers / 1 worker", "starlette-uvicorn-2w", "starlette-uvicorn-1w"),
    ]
    lines += ["", "| ratio (req/s) | |", "|---|---:|"]
    for label, top, bottom in pairs:
        if top in rps and bottom in rps:
            lines.append(f"| {label} | {rps[top] / rps[bottom]:.2f}x |")
    return "\n".join(lines) + "\n"


def write_copies() -> None:
    """deployment.md's and index.md's figures, from performance.md's HTTP table."""
    performance = PERFORMANCE.read_text()
    write_block(
        DOCS / "deployment.md",
        "<!-- throughput: begin -->",
        "<!-- throughput: end -->",
        "## Servers\n",
        throughput_copy(performance),
    )
    write_block(
        DOCS / "index.md", "<!-- servers: begin -->", "<!-- servers: end -->", "## Choosing a server\n",
        servers_copy(performance),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=Path, default=HERE / "idle-results.json", help="idle.py's JSON")
    parser.add_argument("--workers", type=Path, default=HERE / "workers-results.json", help="workers.py's JSON")
    args = parser.parse_args()
    if args.idle.exists():
        body = idle_table(json.loads(args.idle.read_text()))
        write_block(PERFORMANCE, "<!-- idle: begin -->", "<!-- idle: end -->", "### Idle cost\n", body)
    if args.workers.exists():
        body = workers_table(json.loads(args.workers.read_text()))
        write_block(PERFORMANCE, "<!-- workers: begin -->", "<!-- workers: end -->", "### Two workers\n", body)
    write_copies()


if __name__ == "__main__":
    main()
