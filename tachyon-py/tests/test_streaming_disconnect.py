"""StreamingResponse and FileResponse below ASGI 2.4: the body races the disconnect listener.

Starlette runs the body in an anyio task group beside a task reading `receive` until
`http.disconnect`. On asyncio Tachyon does it without the task group; every scenario here
records what the app, the body and the server saw on each framework and asserts the same
trace: who is cancelled when, what is sent, what is raised (type, message, cause), whether
the background task runs, and which context the body ran in.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from conftest import STARLETTE, TACHYON

FRAMEWORKS = [STARLETTE, TACHYON]
BACKENDS = ["asyncio", "trio"]

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


class Boom(Exception):
    """Raised by a body or a receive in these scenarios."""


def describe(exc: BaseException | None) -> Any:
    """An exception as comparable data: type, message, cause, nested ones for a group."""
    if exc is None:
        return None
    if isinstance(exc, BaseExceptionGroup):
        return ("group", sorted(repr(describe(e)) for e in exc.exceptions))
    return (type(exc).__name__, str(exc), describe(exc.__cause__), exc.__suppress_context__)


def drive(
    fw: SimpleNamespace,
    make_body: Callable[[list[Any]], Any],
    incoming: Callable[[list[Any]], Any],
    backend: str = "asyncio",
    cancel_after: int | None = None,
    response_class: str = "StreamingResponse",
    **response_kwargs: Any,
) -> list[Any]:
    """Send a response built from `make_body(trace)` once; `incoming(trace)` is the receive.

    Returns the trace: the body's and receive's own events, each message sent, the outcome
    of the call and whether the background task ran.
    """
    trace: list[Any] = []
    seen: list[Any] = []
    response_type = getattr(fw.responses, response_class)

    async def send(message: dict[str, Any]) -> None:
        trace.append(("sent", message["type"], message.get("body"), message.get("more_body")))
        await anyio.sleep(0)

    async def background() -> None:
        trace.append("background ran")

    async def main() -> None:
        body = make_body(trace)
        response = response_type(body, background=fw.background.BackgroundTask(background), **response_kwargs)
        scope: dict[str, Any] = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "asgi": {"spec_version": "2.3"},
        }
        try:
            if cancel_after is None:
                await response(scope, incoming(trace), send)
            else:
                with anyio.CancelScope() as outer:

                    async def cancel_later() -> None:
                        for _ in range(cancel_after):
                            await anyio.sleep(0)
                        outer.cancel()

                    async with anyio.create_task_group() as group:
                        group.start_soon(cancel_later)
                        await response(scope, incoming(trace), send)
                trace.append(("cancelled from outside", outer.cancelled_caught))
        except BaseException as exc:
            trace.append(("raised", describe(exc)))
        else:
            trace.append("returned")
        trace.append(("marker after", marker.get()))
        seen.extend(trace)  # what happened during the call (not the generator's finalisation)
        iterator = getattr(response, "body_iterator", None)
        if iterator is not None:
            await iterator.aclose()
        if hasattr(body, "close"):
            body.close()

    anyio.run(main, backend=backend)
    return seen


def stays_connected(trace: list[Any]) -> Callable[[], Any]:
    """A receive that gives the request, then waits (a client that stays connected)."""
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        try:
            await anyio.sleep_forever()
        except BaseException:
            trace.append("receive cancelled")
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


def disconnects_after(ticks: int) -> Callable[[list[Any]], Callable[[], Any]]:
    """A receive that answers `http.disconnect` after `ticks` zero-sleeps."""

    def make(trace: list[Any]) -> Callable[[], Any]:
        async def receive() -> dict[str, Any]:
            for _ in range(ticks):
                await anyio.sleep(0)
            trace.append("disconnect received")
            return {"type": "http.disconnect"}

        return receive

    return make


def outcome(trace: list[Any]) -> list[Any]:
    """What the caller saw: the result, the background task, the context afterwards."""
    kept = ("raised", "cancelled from outside", "marker after")
    return [e for e in trace if e in ("background ran", "returned") or (isinstance(e, tuple) and e[0] in kept)]


def same_on_both(*args: Any, **kwargs: Any) -> list[Any]:
    """The trace on both frameworks: equal on asyncio (whose scheduling is deterministic);
    under trio, which shuffles the order tasks run in, the outcomes are compared."""
    theirs, ours = (drive(fw, *args, **kwargs) for fw in FRAMEWORKS)
    if kwargs.get("backend", "asyncio") == "asyncio":
        assert ours == theirs
    else:
        assert outcome(ours) == outcome(theirs)
    return ours


def chunks(count: int, then: BaseException | None = None, sleep: bool = True) -> Callable[[list[Any]], Any]:
    def make(trace: list[Any]) -> AsyncIterator[bytes]:
        async def body() -> AsyncIterator[bytes]:
            marker.set("set by the body")
            try:
                for i in range(count):
                    yield b"%d" % i
                    if sleep:
                        await anyio.sleep(0)
                if then is not None:
                    raise then
            except BaseException as exc:
                trace.append(("body stopped by", type(exc).__name__))
                raise
            finally:
                trace.append("body finally")

        return body()

    return make


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_body_that_finishes_cancels_the_listener(backend: str) -> None:
    trace = same_on_both(chunks(3), stays_connected, backend=backend)
    assert "receive cancelled" in trace and "background ran" in trace
    assert ("marker after", "unset") in trace  # the body ran in a copy of the context


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ticks", [0, 1, 2, 5])
def test_a_disconnect_cancels_the_body(backend: str, ticks: int) -> None:
    trace = same_on_both(chunks(1000), disconnects_after(ticks), backend=backend)
    assert "background ran" in trace
    assert ("sent", "http.response.body", b"", False) not in trace  # cut off, never finished


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_body_raises_its_error_alone(backend: str) -> None:
    cause = KeyError("root")
    error = Boom("body failed")
    error.__cause__ = cause
    trace = same_on_both(chunks(2, then=error), stays_connected, backend=backend)
    assert trace[-2][0] == "raised" and trace[-2][1][0] == "Boom"
    assert "background ran" not in trace


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_error_raised_during_an_error_keeps_its_context_as_cause(backend: str) -> None:
    def make(trace: list[Any]) -> AsyncIterator[bytes]:
        async def body() -> AsyncIterator[bytes]:
            yield b"a"
            try:
                raise KeyError("first")
            except KeyError:
                raise Boom("second")  # noqa: B904 - the implicit context is the point

        return body()

    trace = same_on_both(make, stays_connected, backend=backend)
    assert trace[-2] == ("raised", ("Boom", "second", ("KeyError", "'first'", None, False), True))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ticks", [0, 2, 3])
def test_a_failing_receive_cancels_the_body_and_raises(backend: str, ticks: int) -> None:
    def receive(trace: list[Any]) -> Callable[[], Any]:
        async def fail() -> dict[str, Any]:
            for _ in range(ticks):
                await anyio.sleep(0)
            raise Boom("receive failed")

        return fail

    trace = same_on_both(chunks(1000), receive, backend=backend)
    assert trace[-2] == ("raised", ("Boom", "receive failed", None, True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_both_failing_raise_a_group(backend: str) -> None:
    def receive(trace: list[Any]) -> Callable[[], Any]:
        async def fail() -> dict[str, Any]:
            for _ in range(5):  # the body is in its sleep by then
                await anyio.sleep(0)
            raise Boom("receive failed")

        return fail

    def body(trace: list[Any]) -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            yield b"x"
            try:
                await anyio.sleep_forever()
            finally:
                raise ValueError("cleanup failed")
            yield b"unreachable"  # pragma: no cover

        return gen()

    trace = same_on_both(body, receive, backend=backend)
    assert trace[-2][1][0] == "group"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ticks", [0, 1, 2, 3, 8])
def test_an_outer_cancellation_stops_the_body_and_propagates(backend: str, ticks: int) -> None:
    """A cancel scope around the app (a timeout, say) is cancelled while the body streams.

    Starlette's task group is inside that scope, so the cancellation reaches the body and the
    listener in the same delivery; here it reaches the listener, which cancels the body: the
    body may take one more step (send one more chunk) before it stops. Everything else is
    the same: the body stops, the cancellation propagates, no background task runs.
    """
    theirs, ours = (drive(fw, chunks(10**9), stays_connected, backend=backend, cancel_after=ticks) for fw in FRAMEWORKS)
    assert outcome(ours) == outcome(theirs)
    assert ("cancelled from outside", True) in ours and "background ran" not in ours
    if backend == "asyncio":  # (trio shuffles the order tasks run in: the same code differs run to run)
        sent = [[e for e in trace if isinstance(e, tuple) and e[0] == "sent"] for trace in (theirs, ours)]
        assert sent[1][: len(sent[0])] == sent[0] and len(sent[1]) - len(sent[0]) <= 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_body_that_swallows_one_cancellation_is_cancelled_again(backend: str) -> None:
    def body(trace: list[Any]) -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            yield b"0"
            try:
                await anyio.sleep_forever()
            except BaseException as exc:
                trace.append(("swallowed", type(exc).__name__))
            try:
                await anyio.sleep(0)
            except BaseException as exc:
                trace.append(("cancelled again", type(exc).__name__))
                raise
            yield b"1"  # pragma: no cover

        return gen()

    trace = same_on_both(body, disconnects_after(6), backend=backend)
    events = [e[0] for e in trace if isinstance(e, tuple) and str(e[-1]).startswith("Cancelled")]
    assert events == ["swallowed", "cancelled again"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sync_iterator_is_not_torn_while_its_thread_runs(backend: str) -> None:
    import threading

    release, blocked = threading.Event(), threading.Event()

    def body(trace: list[Any]) -> Iterator[bytes]:
        def gen() -> Iterator[bytes]:
            yield b"first"
            blocked.set()
            release.wait(5)  # the disconnect arrives while this thread is blocked
            trace.append("thread resumed")
            yield b"second"

        return gen()

    def receive(trace: list[Any]) -> Callable[[], Any]:
        async def disconnect() -> dict[str, Any]:
            while not blocked.is_set():
                await anyio.sleep(0.001)
            trace.append("disconnect received")
            release.set()
            return {"type": "http.disconnect"}

        return disconnect

    traces = []
    for fw in FRAMEWORKS:
        release.clear()
        blocked.clear()
        traces.append(drive(fw, body, receive, backend=backend))
    assert outcome(traces[0]) == outcome(traces[1])
    if backend == "asyncio":
        assert traces[0] == traces[1]
    assert "thread resumed" in traces[1]


@pytest.mark.parametrize("ticks", [1, 2, 3, 4, 9])
def test_a_native_cancel_of_the_request_task_stops_the_body(ticks: int) -> None:
    """A server cancelling the request's task (asyncio's `Task.cancel`) while it streams."""

    def run(fw: SimpleNamespace) -> list[Any]:
        trace: list[Any] = []

        async def main() -> None:
            response = fw.responses.StreamingResponse(chunks(10**9)(trace))
            scope = {"type": "http", "method": "GET", "path": "/", "headers": []}

            async def send(message: dict[str, Any]) -> None:
                await asyncio.sleep(0)

            task = asyncio.ensure_future(response(scope, stays_connected(trace), send))
            for _ in range(ticks):
                await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                trace.append("cancelled")
            trace.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]
            seen.extend(trace)

        seen: list[Any] = []
        asyncio.run(main())
        return seen

    theirs, ours = run(STARLETTE), run(TACHYON)
    assert ours == theirs
    assert ours[-2:] == ["cancelled", 0]


def test_overrides_take_the_task_group_path() -> None:
    """A subclass's own `listen_for_disconnect` or `stream_response` is called, as Starlette calls it."""
    calls: list[str] = []

    class Listening(TACHYON.responses.StreamingResponse):
        async def listen_for_disconnect(self, receive: Any) -> None:
            calls.append("listen")
            await super().listen_for_disconnect(receive)

    class Streaming(TACHYON.responses.StreamingResponse):
        async def stream_response(self, send: Any) -> None:
            calls.append("stream")
            await super().stream_response(send)

    fw = SimpleNamespace(
        responses=SimpleNamespace(Listening=Listening, Streaming=Streaming), background=TACHYON.background
    )
    for name in ("Listening", "Streaming"):
        trace = drive(fw, chunks(2), stays_connected, response_class=name)
        assert "returned" in trace and "background ran" in trace
    assert calls == ["listen", "stream"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_file_response_disconnect_and_completion(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"z" * (3 * 64 * 1024 + 5))
    same_on_both(lambda trace: path, stays_connected, backend=backend, response_class="FileResponse")
    same_on_both(lambda trace: path, disconnects_after(0), backend=backend, response_class="FileResponse")
