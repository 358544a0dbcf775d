"""A 10 MiB multipart upload, fed in 64 KiB chunks, is parsed in about one chunk plus the
spooled file's in-memory limit (1 MiB) of extra memory: nothing accumulates the body.

Measured in a fresh interpreter as the growth of the process's peak RSS (VmHWM, which Linux
resets when 5 is written to /proc/self/clear_refs), so Rust and Python allocations both count.
The benchmark's form-memory row (benches/comprehensive_benchmark.py) measures the same way; this
script stays self-contained so that the test depends on nothing outside tests/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import asyncio, gc, re

from tachyon.requests import Request

MIB = 1024 * 1024
boundary = b"----TachyonMemoryBoundary"
head = (
    b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)
payload = bytes(range(256)) * (10 * MIB // 256)
body = head + payload + b"\r\n--" + boundary + b"--\r\n"
chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
del body


def hwm() -> int:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read())[1]) * 1024


async def parse(pieces):
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in pieces]
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    messages.reverse()

    async def receive():
        return messages.pop()

    headers = [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}
    return await Request(scope, receive).form()


async def main():
    small = await parse([head + b"x" * 4096 + b"\r\n--" + boundary + b"--\r\n"])  # warm up
    await small.close()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = hwm()
    form = await parse(chunks)
    peak = hwm()
    upload = form["file"]
    assert upload.size == len(payload), upload.size
    await upload.seek(0)
    assert await upload.read(1024) == payload[:1024]
    await form.close()
    print(peak - base)


asyncio.run(main())
"""


def test_a_10_mib_upload_takes_about_a_chunk_plus_the_spool_limit() -> None:
    clear_refs = Path("/proc/self/clear_refs")
    if not clear_refs.exists():
        pytest.skip("needs Linux /proc/self/clear_refs to reset the peak RSS")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 and "clear_refs" in done.stderr:
        pytest.skip("cannot reset the peak RSS here: " + done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr
    growth = int(done.stdout.strip())
    mib = 1024 * 1024
    # One 64 KiB chunk in flight plus the spooled file's 1 MiB in memory before it rolls to
    # disk, with room for the allocator and the temporary file's buffers; the body is 10 MiB.
    assert growth < 3 * mib, f"peak RSS grew by {growth / mib:.2f} MiB"
