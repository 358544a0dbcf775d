"""The documentation runs: every `python runnable` block of docs/*.md (scripts/doc_examples.py
explains the convention), and every relative link and anchor in the Markdown resolves."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import doc_examples  # noqa: E402

DOCS_WITH_EXAMPLES = [p for p in doc_examples.documents() if doc_examples.runnable_blocks(p)]


@pytest.mark.parametrize("doc", DOCS_WITH_EXAMPLES, ids=lambda p: p.name)
def test_runnable_blocks_run(doc: Path, tmp_path: Path) -> None:
    failures = doc_examples.run_document(sys.executable, doc, tmp_path)
    assert not failures, "\n".join(failures)


def test_the_pages_users_start_from_have_runnable_examples() -> None:
    with_examples = {p.name for p in DOCS_WITH_EXAMPLES}
    assert {"index.md", "migrating-from-starlette.md", "deployment.md", "api.md"} <= with_examples
    # The quick start is saved as app.py, which `make dist-test` serves with `python -m tachyon`.
    quick_start = [b for b in doc_examples.runnable_blocks(doc_examples.DOCS / "index.md") if b.file]
    assert [b.file for b in quick_start] == ["app.py"]


def test_blocks_are_parsed_by_the_documented_convention(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n"
        "```python runnable file=app.py\n"
        "app = 1\n"
        "```\n\n"
        "```python\n"
        "not run\n"
        "```\n\n"
        "- an item:\n\n"
        "  ```python runnable\n"
        "  from app import app\n"
        "\n"
        "  assert app == 1\n"
        "  ```\n\n"
        "~~~sh\n"
        "```python runnable\n"
        "~~~\n"
    )
    found = doc_examples.blocks(page)
    assert [(b.line, b.lang, b.runnable, b.file) for b in found] == [
        (3, "python", True, "app.py"),
        (7, "python", False, None),
        (13, "python", True, None),
        (19, "sh", False, None),
    ]
    assert found[2].code == "from app import app\n\nassert app == 1\n"
    assert found[3].code == "```python runnable\n"
    workdir = tmp_path / "run"
    workdir.mkdir()
    assert doc_examples.run_document(sys.executable, page, workdir) == []
    assert (workdir / "app.py").read_text() == "app = 1\n"


def test_a_failing_block_is_reported_with_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python runnable\nassert 1 == 2, 'wrong'\n```\n")
    workdir = tmp_path / "run"
    workdir.mkdir()
    [failure] = doc_examples.run_document(sys.executable, page, workdir)
    assert failure.startswith(f"{page}:1: exit status 1")
    assert "AssertionError: wrong" in failure


def test_an_unclosed_block_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python runnable\nx = 1\n")
    with pytest.raises(ValueError, match="never closed"):
        doc_examples.blocks(page)


# Links --------------------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    """The repository's own Markdown: README, docs/, the crates' READMEs, benches/load."""
    files = [ROOT / "README.md", *doc_examples.documents()]
    files += sorted(ROOT.glob("tachyon-*/README.md")) + sorted(ROOT.glob("benches/**/*.md"))
    return [f for f in files if f.exists()]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of `path` (outside code blocks)."""
    found: set[str] = set()
    in_code = False
    for line in path.read_text().splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            in_code = not in_code
        elif not in_code and (match := re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)):
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def test_slug_matches_githubs() -> None:
    assert slug("Python versions") == "python-versions"
    assert slug("`tachyon.middleware.gzip.GZipMiddleware`") == "tachyonmiddlewaregzipgzipmiddleware"
    assert slug("Proxies and `root_path`") == "proxies-and-root_path"
    assert slug("Wheels: why not abi3?") == "wheels-why-not-abi3"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, broken


def test_nothing_refers_to_the_renamed_migration_page() -> None:
    # docs/migration.md became docs/migrating-from-starlette.md.
    assert not (ROOT / "docs" / "migration.md").exists()
    stale = []
    for pattern in ("*.md", "docs/*.md", "tachyon-py/python/**/*.py", "tachyon-py/tests/**/*.py", "scripts/*"):
        for path in ROOT.glob(pattern):
            if path.is_file() and path != Path(__file__) and re.search(r"\bmigration\.md", path.read_text()):
                stale.append(str(path.relative_to(ROOT)))
    assert not stale


# Figures copied from performance.md ----------------------------------------------------------

sys.path.insert(0, str(ROOT / "benches" / "load"))

import docs_block  # noqa: E402
import run as load_run  # noqa: E402


def load_table() -> dict[str, list[str]]:
    """performance.md's HTTP table (benches/load/run.py writes it): row -> its req/s cells."""
    return docs_block.load_table((doc_examples.DOCS / "performance.md").read_text())[2]


def markdown_rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for line in (doc_examples.DOCS / page).read_text().splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_the_load_table_is_read_whatever_its_scenarios_and_rows() -> None:
    # The table run.py writes today: every target, every scenario (6, so 13 cells a row).
    targets, scenarios = load_run.TARGETS, load_run.SCENARIOS
    results = {}
    for i, target in enumerate(targets):
        for j, scenario in enumerate(scenarios):
            results[(target.key, scenario.key)] = load_run.Measurement(
                rps=[1000.0 * (i + 1) + j, 0.0, 2000.0 * (i + 1) + j], p99_ms=[1.0, 2.0, 3.0], requests=[1, 1, 1]
            )
    meta = {
        "date": "2026-12-31",
        "machine": "x86_64 Linux",
        "cpus": 2,
        "python": "3.11.7",
        "warmup_s": 1,
        "rounds": 3,
        "duration_s": 2,
        "load_average_before": 1.0,
        "load_average_after": 1.0,
    }
    text = f"<!-- load: begin -->\n{load_run.markdown(results, targets, scenarios, meta)}<!-- load: end -->\n"
    date, titles, rows = docs_block.load_table(text)
    assert date == "2026-12-31"
    assert titles == [s.title for s in scenarios]
    assert list(rows) == [t.label for t in targets]
    assert rows["Tachyon, native server"] == [f"{1000 + j:,}" for j in range(len(scenarios))]
    # And the copies follow it: every scenario in deployment.md, the first in index.md.
    deployment = docs_block.throughput_copy(text)
    assert "| app, server | " + " | ".join(titles) + " |" in deployment
    assert "| Tachyon, native server | " + " | ".join(rows["Tachyon, native server"]) + " |" in deployment
    assert "(2026-12-31;" in deployment
    assert "| native | `python -m tachyon app:app` (the default on Linux) | 1,000 |" in docs_block.servers_copy(text)


def test_deployment_and_index_figures_are_performance_mds() -> None:
    # If this fails after benches/load/run.py --write-docs: python benches/load/docs_block.py
    performance = (doc_examples.DOCS / "performance.md").read_text()
    deployment = (doc_examples.DOCS / "deployment.md").read_text()
    index = (doc_examples.DOCS / "index.md").read_text()
    assert docs_block._block(deployment, "throughput") == "\n" + docs_block.throughput_copy(performance)
    assert docs_block._block(index, "servers") == "\n" + docs_block.servers_copy(performance)


def test_deployment_throughput_is_performance_mds() -> None:
    measured = load_table()
    assert "Tachyon, Granian RSGI" in measured
    rows = markdown_rows("deployment.md")
    copied = {name: cells for name, cells in rows.items() if name in measured}
    assert len(copied) >= 5
    if "Tachyon, native server" in measured:
        assert "Tachyon, native server" in copied
    for name, cells in copied.items():
        assert cells == measured[name], name
    date = re.search(r"Measured (\d{4}-\d\d-\d\d)", (doc_examples.DOCS / "performance.md").read_text())
    assert date is not None and f"({date.group(1)};" in (doc_examples.DOCS / "deployment.md").read_text()


def test_index_server_table_is_performance_mds() -> None:
    measured = load_table()
    rows = markdown_rows("index.md")
    hello = {name: cells[0] for name, cells in measured.items()}  # the hello-JSON column
    assert rows["native"][1] == hello.get("Tachyon, native server", "not measured")
    assert rows["Granian, RSGI"][1] == hello["Tachyon, Granian RSGI"]
    assert rows["Granian, ASGI"][1:3] == [hello["Tachyon, Granian ASGI"], hello["Starlette 1.10, Granian ASGI"]]
    uvicorn = rows["uvicorn (httptools, uvloop)"]
    assert uvicorn[1:3] == [hello["Tachyon, uvicorn"], hello["Starlette 1.10, uvicorn"]]


def test_idle_and_workers_tables_render_the_scripts_json() -> None:
    idle = {
        "meta": {
            "date": "2026-12-31",
            "machine": "x86_64 Linux",
            "cpus": 2,
            "python": "3.11.7",
            "rounds": 1,
            "seconds": 5.0,
            "connections": 10000,
            "keep_alive_s": 600,
            "load_average_before": 1.0,
            "load_average_after": 2.0,
        },
        "summary": [
            {
                "target": "tachyon-native",
                "label": "Tachyon, native server",
                "connections": 10000,
                "idle_cpu_percent": 0.0,
                "rss_idle_bytes": 32 * 2**20,
                "rss_with_connections_bytes": 182 * 2**20,
                "rss_per_connection_bytes": 150 * 2**20 / 10000,
                "cpu_percent_with_connections": 0.2,
            }
        ],
    }
    assert "| Tachyon, native server | 0.00% | 32.0 | 182.0 | 15.4 | 0.20% |" in docs_block.idle_table(idle)
    workers = {
        "meta": {
            "date": "2026-12-31",
            "machine": "x86_64 Linux",
            "cpus": 2,
            "python": "3.11.7",
            "wrk": "-t2 -c128",
            "warmup_s": 1.0,
            "rounds": 1,
            "duration_s": 2.0,
            "load_average_before": 1.0,
            "load_average_after": 2.0,
        },
        "results": [
            {"target": "tachyon-native-2w", "label": "native, 2", "median_rps": 30000.0, "median_p99_ms": 5.0},
            {"target": "starlette-uvicorn-2w", "label": "uvicorn, 2", "median_rps": 7500.0, "median_p99_ms": 9.0},
        ],
    }
    table = docs_block.workers_table(workers)
    assert "| native, 2 | 30,000 | 5.00 |" in table
    assert "| Tachyon native / Starlette on uvicorn, 2 workers each | 4.00x |" in table
