"""Writing a generated block into docs/performance.md (the load and soak tables)."""

from __future__ import annotations

from pathlib import Path


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
