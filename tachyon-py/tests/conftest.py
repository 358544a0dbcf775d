"""Shared fixtures: building the same app on Starlette and on Tachyon."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest


def framework(name: str) -> SimpleNamespace:
    """The modules of `starlette` or `tachyon`, under the same attribute names."""
    return SimpleNamespace(
        name=name,
        applications=importlib.import_module(f"{name}.applications"),
        routing=importlib.import_module(f"{name}.routing"),
        requests=importlib.import_module(f"{name}.requests"),
        responses=importlib.import_module(f"{name}.responses"),
        middleware=importlib.import_module(f"{name}.middleware"),
        exceptions=importlib.import_module(f"{name}.exceptions"),
        datastructures=importlib.import_module(f"{name}.datastructures"),
        testclient=importlib.import_module(f"{name}.testclient"),
        websockets=importlib.import_module(f"{name}.websockets"),
        endpoints=importlib.import_module(f"{name}.endpoints"),
        status=importlib.import_module(f"{name}.status"),
        background=importlib.import_module(f"{name}.background"),
        staticfiles=importlib.import_module(f"{name}.staticfiles"),
        templating=importlib.import_module(f"{name}.templating"),
    )


STARLETTE = framework("starlette")
TACHYON = framework("tachyon")


def raw_response(response: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw header pairs in order, and body: what byte-for-byte comparison uses."""
    return response.status_code, list(response.headers.raw), response.content


@pytest.fixture
def both() -> Callable[..., Any]:
    """`both(build, ...)` builds an app with `build(fw)` on each framework and returns
    a function that sends one request to both and asserts identical raw responses."""

    def make(build: Callable[[SimpleNamespace], Any], **client_kwargs: Any) -> Callable[..., Any]:
        clients = [fw.testclient.TestClient(build(fw), **client_kwargs) for fw in (STARLETTE, TACHYON)]

        def request(method: str, url: str, **kwargs: Any) -> Any:
            theirs, ours = (client.request(method, url, **kwargs) for client in clients)
            assert raw_response(ours) == raw_response(theirs), f"{method} {url}"
            return ours

        return request

    return make


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-security-table",
        action="store_true",
        help="test_hostile_requests.py: write each case's outcome per server into docs/security.md",
    )
