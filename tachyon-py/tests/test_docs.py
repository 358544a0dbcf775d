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


def load_table() -> dict[str, list[str]]:
    """performance.md's HTTP table (benches/load/run.py writes it): row -> its req/s cells."""
    text = (doc_examples.DOCS / "performance.md").read_text()
    section = text.split("<!-- load: begin -->", 1)[1].split("<!-- load: end -->", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and re.fullmatch(r"[\d,]+", cells[1]):
            rows[cells[0]] = cells[1::2]  # req/s columns; the others are p99 latencies
    return rows


def markdown_rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for line in (doc_examples.DOCS / page).read_text().splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_deployment_throughput_is_performance_mds() -> None:
    # If this fails after benches/load/run.py --write-docs, copy the new figures (and date).
    measured = load_table()
    assert "Tachyon, Granian RSGI" in measured
    rows = markdown_rows("deployment.md")
    copied = {name: cells for name, cells in rows.items() if name in measured}
    assert len(copied) == 5
    for name, cells in copied.items():
        assert cells == measured[name], name
    date = re.search(r"Measured (\d{4}-\d\d-\d\d)", (doc_examples.DOCS / "performance.md").read_text())
    assert date is not None and f"({date.group(1)};" in (doc_examples.DOCS / "deployment.md").read_text()


def test_index_server_table_is_performance_mds() -> None:
    measured = load_table()
    rows = markdown_rows("index.md")
    hello = {name: cells[0] for name, cells in measured.items()}  # the hello-JSON column
    assert rows["Granian, RSGI"][1] == hello["Tachyon, Granian RSGI"]
    assert rows["Granian, ASGI"][1:3] == [hello["Tachyon, Granian ASGI"], hello["Starlette 1.10, Granian ASGI"]]
    uvicorn = rows["uvicorn (httptools, uvloop)"]
    assert uvicorn[1:3] == [hello["Tachyon, uvicorn"], hello["Starlette 1.10, uvicorn"]]
