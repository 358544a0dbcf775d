"""A FastAPI app on real Starlette and on Tachyon (the drop-in alias), byte for byte.

_fastapi_app.py is written as FastAPI users write it; _fastapi_driver.py sends it 60-odd
kinds of request (parameters of every kind, pydantic bodies, dependencies with cleanup,
response models, HTTPException and custom handlers, validation errors, middleware, CORS,
GZip, background tasks, forms and uploads, a router with a prefix, mounted sub-apps,
redirects, 404/405, OpenAPI and the docs pages, websockets, lifespan state) and prints every
response. The two runs happen in separate interpreters, because the alias replaces
`starlette` for the whole process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

HERE = Path(__file__).parent


def run_driver(alias: bool) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("TACHYON_AS_STARLETTE", None)
    if alias:
        env["TACHYON_AS_STARLETTE"] = "1"
    done = subprocess.run(
        [sys.executable, str(HERE / "_fastapi_driver.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, Any], dict[str, Any]]:
    return run_driver(alias=False), run_driver(alias=True)


def test_each_run_used_the_framework_it_claims(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    starlette, tachyon = runs
    assert starlette.pop("runs_on") == "starlette.routing"
    assert tachyon.pop("runs_on") == "tachyon.routing"
    assert starlette["starlette_version"] == tachyon["starlette_version"] == "1.10.0"


def test_at_least_forty_kinds_of_request(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    starlette, _ = runs
    assert len(starlette["responses"]) >= 40
    statuses = {entry[2]["status"] for entry in starlette["responses"]}
    # The error paths are there too.
    assert {200, 201, 204, 304, 307, 400, 401, 404, 405, 418, 422} <= statuses


def test_every_response_is_identical(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    starlette, tachyon = runs
    for expected, got in zip(starlette["responses"], tachyon["responses"], strict=True):
        assert got == expected, f"{expected[0]} {expected[1]}"


def test_websockets_events_and_lifespan_are_identical(runs: tuple[dict[str, Any], dict[str, Any]]) -> None:
    starlette, tachyon = runs
    assert tachyon["websocket"] == starlette["websocket"]
    assert starlette["websocket"][0] == ["denied", 1008, "bad token"]
    # Cleanup of yield dependencies and background tasks, in the same order.
    assert tachyon["events_after"] == starlette["events_after"]
    assert "db close" in starlette["events_after"] and "background queued" in starlette["events_after"]
    assert tachyon["events_final"] == starlette["events_final"]
    assert starlette["events_final"][0] == "startup" and starlette["events_final"][-1] == "shutdown"
    assert tachyon["bare"] == starlette["bare"]
