"""The native server tunes glibc's malloc so that asyncio's 256 KiB socket reads come from the
heap instead of a `mmap` / `mremap` / `munmap` each (`tachyon.native_server.tune_malloc`)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from _servers import free_port, request, serving, tachyon_cli

from tachyon import native_server
from tachyon.native_server import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, tune_malloc

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only"
)

# Whether allocating a 900 KB bytes object (below the tuned 1 MiB threshold, above the 128 KiB
# default and above what glibc's own adjustment reaches while tachyon is imported) maps memory
# of its own (a new anonymous mapping in /proc/self/maps) or takes it from the heap.
PROBE = textwrap.dedent(
    """
    def new_anonymous_mappings():
        def maps():
            return {line.split()[0]: line.split() for line in open("/proc/self/maps")}
        before = maps()
        block = bytes(900_000)
        after = maps()
        del block
        # An anonymous mapping has no path; the heap grows as "[heap]".
        return sorted(k for k in after.keys() - before.keys() if len(after[k]) == 5)
    """
)


class FakeLibc:
    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = result

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


def test_sets_the_mmap_and_trim_thresholds() -> None:
    libc = FakeLibc()
    assert tune_malloc({}, libc) is True
    assert libc.calls == [(M_MMAP_THRESHOLD, 1024 * 1024), (M_TRIM_THRESHOLD, 2 * 1024 * 1024)]


def test_reports_a_refused_setting() -> None:
    assert tune_malloc({}, FakeLibc(result=0)) is False


@pytest.mark.parametrize(
    "environ",
    [
        {"TACHYON_MALLOC_TUNING": "0"},
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"MALLOC_TRIM_THRESHOLD_": "0"},
        {"MALLOC_TOP_PAD_": "0"},
        {"MALLOC_MMAP_MAX_": "0"},
        {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
    ],
)
def test_leaves_a_users_own_malloc_settings_alone(environ: dict[str, str]) -> None:
    libc = FakeLibc()
    assert tune_malloc(environ, libc) is False
    assert libc.calls == []


def test_other_tunables_do_not_stop_it() -> None:
    libc = FakeLibc()
    assert tune_malloc({"GLIBC_TUNABLES": "glibc.pthread.rseq=0", "TACHYON_MALLOC_TUNING": "1"}, libc) is True
    assert len(libc.calls) == 2


def _clean_env() -> dict[str, str]:
    drop = ("MALLOC_", "GLIBC_TUNABLES", "TACHYON_MALLOC_TUNING", "PYTHONMALLOC")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@glibc_only
@pytest.mark.parametrize("tuned", [False, True])
def test_a_large_read_buffer_comes_from_the_heap_once_tuned(tuned: bool) -> None:
    code = PROBE + textwrap.dedent(
        f"""
        import json
        from tachyon.native_server import tune_malloc  # imported in both cases
        tuned = tune_malloc() if {tuned} else False
        print(json.dumps([tuned, new_anonymous_mappings()]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_clean_env())
    did_tune, mappings = json.loads(out.stdout)
    assert did_tune is tuned
    # Untuned, glibc maps the 900 KB block by itself (the control: the probe sees mappings).
    assert (mappings == []) is tuned


@glibc_only
def test_the_native_server_worker_is_tuned(tmp_path: Path) -> None:
    (tmp_path / "malloc_app.py").write_text(
        PROBE
        + textwrap.dedent(
            """
            from tachyon import JSONResponse, Route, TachyonEngine

            async def probe(request):
                return JSONResponse(new_anonymous_mappings())

            app = TachyonEngine(routes=[Route("/", probe)])
            """
        )
    )
    port = free_port()
    args = tachyon_cli("malloc_app:app", tmp_path, port, "--server", "native")
    with serving(args, tmp_path / "server.log", port, env=_clean_env()):
        status, _, body = request(port, "GET", "/")
    assert status == 200
    assert json.loads(body) == []


def test_serve_tunes_before_the_loop_starts(monkeypatch: Any) -> None:
    order: list[str] = []
    monkeypatch.setattr(native_server, "tune_malloc", lambda: order.append("tune"))

    class Stop(Exception):
        pass

    def selector() -> None:
        order.append("selector")
        raise Stop

    monkeypatch.setattr(native_server, "TurnSelector", selector)
    with pytest.raises(Stop):
        native_server.serve(object())
    assert order == ["tune", "selector"]
