"""The runnable code blocks of docs/*.md, and running them.

The convention (docs/index.md, "About these docs"): a fenced block whose info string is
`python runnable` runs in a test. GitHub reads only the first word of the info string, so
the marker does not change how the page renders. Words after `runnable`:

- `file=NAME`: the block is also saved as NAME, so later blocks of the same page can import
  it (`from app import app`) and `make dist-test` can serve it (`python -m tachyon app:app`).

Each page's blocks run in order, each as its own script (`python _block_<line>.py`), in one
fresh directory per page, with the interpreter given; a block passes when it exits 0, so a
block shows what it claims with `assert`. Blocks without the marker (shell commands,
fragments) are not run.

`tachyon-py/tests/test_docs.py` runs them against the development build; `make dist-test`
(scripts/dist_test.py) runs them again against the installed wheel.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKER = "runnable"
BLOCK_TIMEOUT = 120.0
"""Seconds one block may run (a bound, so a hung example fails instead of hanging CI)."""

_FENCE = re.compile(r"^(?P<indent>[ ]{0,12})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    words: list[str]
    """The info string after the language, split on whitespace."""
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        """Whether the block is marked to run in a test."""
        return self.lang == "python" and MARKER in self.words

    @property
    def file(self) -> str | None:
        """The file name the block is saved as (`file=NAME`), if any."""
        return self.options.get("file")

    def where(self) -> str:
        """`docs/x.md:12`, for messages."""
        try:
            shown = self.path.relative_to(ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of the Markdown file `path`, in order (indented ones dedented)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        info = opening["info"].strip()
        words = info.split()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                if not closing["info"].strip():
                    break
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        else:
            raise ValueError(f"{path}:{i + 1}: code block never closed")
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        found.append(
            Block(
                path=path,
                line=i + 1,
                lang=words[0] if words else "",
                words=words[1:],
                code=textwrap.dedent("\n".join(body)) + "\n",
                options=options,
            )
        )
        i = j + 1
    return found


def documents() -> list[Path]:
    """The Markdown pages of docs/, sorted."""
    return sorted(DOCS.glob("*.md"))


def runnable_blocks(path: Path) -> list[Block]:
    """The blocks of `path` marked runnable."""
    return [b for b in blocks(path) if b.runnable]


def write_files(path: Path, workdir: Path) -> list[Path]:
    """Save the `file=NAME` blocks of `path` into `workdir`; returns the files written."""
    written = []
    for block in runnable_blocks(path):
        if block.file is not None:
            if "/" in block.file or block.file.startswith("."):
                raise ValueError(f"{block.where()}: file= must be a plain file name, not {block.file!r}")
            target = workdir / block.file
            target.write_text(block.code, encoding="utf-8")
            written.append(target)
    return written


def clean_env() -> dict[str, str]:
    """The environment blocks run in: this one, minus switches that would change what they show."""
    env = dict(os.environ)
    for name in ("TACHYON_AS_STARLETTE", "PYTHONPATH", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def run_document(python: str, path: Path, workdir: Path) -> list[str]:
    """Run the runnable blocks of `path` with `python` in `workdir` (which must be empty);
    returns one message per failing block (empty when all pass)."""
    write_files(path, workdir)
    failures = []
    for block in runnable_blocks(path):
        script = workdir / f"_block_{block.line}.py"
        script.write_text(block.code, encoding="utf-8")
        try:
            done = subprocess.run(
                [python, script.name],
                cwd=workdir,
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            failures.append(f"{block.where()}: still running after {BLOCK_TIMEOUT:.0f} s")
            continue
        if done.returncode != 0:
            failures.append(f"{block.where()}: exit status {done.returncode}\n{done.stdout}{done.stderr}")
    return failures


def main(argv: list[str]) -> int:
    """`python scripts/doc_examples.py [--python PY] [DOC...]`: run the runnable blocks."""
    import tempfile

    python = sys.executable
    if argv[:1] == ["--python"]:
        python, argv = argv[1], argv[2:]
    paths = [Path(a).resolve() for a in argv] or documents()
    failures: list[str] = []
    count = 0
    for path in paths:
        count += len(runnable_blocks(path))
        with tempfile.TemporaryDirectory(prefix="tachyon-doc-") as workdir:
            failures += run_document(python, path, Path(workdir))
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(f"doc examples: {count - len(failures)} of {count} runnable blocks passed ({python})")
    return 1 if failures or count == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
