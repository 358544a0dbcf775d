//! Glue for `tachyon.native_server`: the native server (`tachyon-server`) answering
//! requests with a Python app, on the asyncio loop's own thread.
//!
//! `NativeServer` owns a `tachyon_server::Runtime` and the server it runs. The event loop's
//! selector calls `NativeServer.turn(timeout, wake_fd)` instead of blocking in epoll: the
//! GIL is released while tokio waits on the sockets, its timers and the loop's own epoll
//! descriptor, all at once.
//!
//! Each request becomes an ASGI scope built here from hyper's request (for the fused
//! dispatcher a `LazyScope`, whose headers, addresses and raw path are filled in only when
//! something past routing reads the scope), and an `Exchange`: the request's `receive`, its
//! `send` (the object itself) and its `send_response`. The app's awaitable (the fused
//! dispatcher's `respond_lazy(...)`, or `app(scope, receive, send)`)
//! is stepped once, right away, in a fresh copy of the current `contextvars` context and
//! with the request's own asyncio task (made by Python's `begin`) as the current task: a
//! handler that does not suspend is answered at once, without waiting for the loop. The
//! task's first step then continues the call where it suspended (or just ends), and the
//! server waits for the `Exchange` to be given a response. HTTP itself (parsing, framing, limits) is the server crate's and hyper's.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyStopIteration, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

use crate::coroutine::{self, Step};
use crate::rsgi::{LazyScope, ScopeFill};
use pyo3::types::{PyBytes, PyDict, PyList, PySet, PyString, PyTuple};
use tachyon_server::{
    AccessLog, AccessRecord, AccessSink, BoxError, Config, Dispatch, Forwarded, Listener, Peer,
    ProxyHeaders, Reply, RequestBody, ResponseBody, Runtime, ServerHandle, TcpOptions, Tls,
    TrustedHosts, WakeHandle, Wakeup, WebSocketConfig,
};

/// Bytes of a streamed response body queued in the server beyond which `send` waits for
/// the client to take some (backpressure).
const STREAM_HIGH_WATER: usize = 64 * 1024;

/// What every request of one server shares.
struct Shared {
    /// The fused dispatcher (`fused`) or the ASGI app.
    app: Py<PyAny>,
    fused: bool,
    /// The lifespan state, copied into each scope.
    state: Py<PyDict>,
    /// What each scope starts as (`scope_template`), and its "asgi" entry (copied too).
    scope_template: Py<PyDict>,
    asgi: Py<PyDict>,
    /// The tasks of requests in flight (the loop keeps only weak references to tasks).
    tasks: Py<PySet>,
    /// Stands in for the loop's `call_soon` while a request's task is made, so that the
    /// task's first step runs at once, here (as an eagerly started task's does).
    catcher: Py<StepCatcher>,
    /// The loop's queue of callbacks ready to run and its heap of timers (`loop._ready`,
    /// `loop._scheduled`), if it has them: after a request whose task finished at once, the
    /// loop is woken only when something was added to either.
    queues: Option<(Py<PyAny>, Py<PyAny>)>,
    /// `asyncio.Task`, and the names of the keyword arguments it is called with.
    task_class: Py<PyAny>,
    task_kwnames: Py<PyTuple>,
    /// Python 3.12+: `asyncio.Task` takes `eager_start` (the first step runs in the
    /// constructor, and a task that finishes there is never scheduled nor added to the
    /// weak set of all tasks), which replaces catching `call_soon`.
    eager_start: bool,
    /// The text of the IP addresses last seen in scopes (few: usually one or two).
    hosts: RefCell<Vec<(std::net::IpAddr, Py<PyString>)>>,
    /// `report(exc, message)`: logs a request's failure.
    report: Py<PyAny>,
    /// The asyncio loop (for futures that `receive` and `send` return when they wait).
    event_loop: Py<PyAny>,
    /// Makes the current turn return, so the loop runs what Python code scheduled on it.
    wake: WakeHandle,
    /// `scope["root_path"]`, also prefixed to `path` and `raw_path` (uvicorn's `--root-path`).
    root_path: String,
    /// `scope["scheme"]` unless a trusted proxy says otherwise: "https" with TLS.
    scheme: &'static str,
}

/// The response of one request, as the server waits for it.
#[derive(Default)]
struct Slot {
    response: Option<Response<ResponseBody>>,
    /// Whether a response was given (it may have been taken since).
    placed: bool,
    waker: Option<Waker>,
    /// The response is complete or the client is gone: `receive` answers `http.disconnect`.
    disconnected: bool,
    /// Futures of `receive` calls waiting for the disconnect.
    waiters: Vec<Py<PyAny>>,
}

impl Slot {
    fn place(&mut self, response: Response<ResponseBody>) {
        self.response = Some(response);
        self.placed = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Marks `slot` disconnected and resolves the `receive` futures waiting for it.
fn disconnect(py: Python<'_>, slot: &RefCell<Slot>) {
    let waiters = {
        let mut slot = slot.borrow_mut();
        slot.disconnected = true;
        std::mem::take(&mut slot.waiters)
    };
    for waiter in waiters {
        let _ = resolve(py, waiter.bind(py), disconnect_message(py).as_any());
    }
}

fn disconnect_message(py: Python<'_>) -> Bound<'_, PyDict> {
    let message = PyDict::new(py);
    let _ = message.set_item(intern!(py, "type"), intern!(py, "http.disconnect"));
    message
}

/// `future.set_result(value)` unless the future is done (cancelled, say).
fn resolve(py: Python<'_>, future: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if !future.call_method0(intern!(py, "done"))?.is_truthy()? {
        future.call_method1(intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

/// A streamed response body, fed by `send` messages with `more_body`.
struct Stream {
    chunks: VecDeque<Bytes>,
    queued: usize,
    ended: bool,
    /// The app finished without ending the body: the client sees an incomplete response.
    aborted: bool,
    /// The server dropped the body (the client is gone, or the body was sent).
    closed: bool,
    waker: Option<Waker>,
    /// The future a `send` waits on while too much is queued.
    room: Option<Py<PyAny>>,
    slot: Rc<RefCell<Slot>>,
    wake: WakeHandle,
}

impl Stream {
    fn wake_body(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// The server's end of a [`Stream`].
struct StreamBody(Rc<RefCell<Stream>>);

// `poll_frame`'s signature is http_body's `Body` trait, written out by each body type here
// and in tachyon-server (`RequestBody`, `ServerBody`, `ResponseBody`); the bodies differ.
impl Body for StreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut stream = self.0.borrow_mut();
        if let Some(chunk) = stream.chunks.pop_front() {
            stream.queued -= chunk.len();
            if stream.queued <= STREAM_HIGH_WATER / 2
                && let Some(room) = stream.room.take()
            {
                let wake = stream.wake.clone();
                drop(stream);
                Python::attach(|py| {
                    let _ = resolve(py, room.bind(py), &py.None().into_bound(py));
                });
                wake.wake();
            }
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if stream.aborted {
            return Poll::Ready(Some(Err(
                "the app returned without completing the response".into(),
            )));
        }
        if stream.ended {
            return Poll::Ready(None);
        }
        stream.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        let stream = self.0.borrow();
        stream.ended && !stream.aborted && stream.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        let (room, slot, wake) = {
            let mut stream = self.0.borrow_mut();
            stream.closed = true;
            stream.chunks.clear();
            (stream.room.take(), stream.slot.clone(), stream.wake.clone())
        };
        Python::attach(|py| {
            if let Some(room) = room {
                let _ = resolve(py, room.bind(py), &py.None().into_bound(py));
            }
            disconnect(py, &slot);
        });
        wake.wake();
    }
}

/// Request bodies up to this size (declared with `Content-Length`) are read whole before the
/// app starts; larger ones, and chunked ones, are streamed to `receive` as they arrive.
const WHOLE_BODY_MAX: u64 = 64 * 1024;

/// A request body streamed to the app: `receive` asks for the next part, and the body's
/// reader (a task on the server's runtime) reads it from the connection only then, so an
/// app that reads slowly makes the client wait (backpressure).
#[derive(Default)]
struct Feed {
    /// The future of the `receive` call waiting for the next part.
    waiting: Option<Py<PyAny>>,
    /// The reader, waiting to be asked.
    waker: Option<Waker>,
    /// The whole body was given to the app.
    ended: bool,
    /// The body failed (too large, too slow, the connection broke): `receive` answers
    /// `http.disconnect`, and the app's failure for want of its body is not logged.
    failed: bool,
    /// The request is over: the reader stops (dropping the body).
    closed: bool,
}

impl Feed {
    fn close(&mut self) {
        self.closed = true;
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// What `receive` gives of the request body.
enum RequestContent {
    /// All of it, until given.
    Whole(Option<Bytes>),
    /// Streamed by a reader task.
    Streamed(Rc<RefCell<Feed>>),
}

fn body_message<'py>(py: Python<'py>, body: &[u8], more: bool) -> PyResult<Bound<'py, PyDict>> {
    let message = PyDict::new(py);
    message.set_item(intern!(py, "type"), intern!(py, "http.request"))?;
    message.set_item(intern!(py, "body"), PyBytes::new(py, body))?;
    message.set_item(intern!(py, "more_body"), more)?;
    Ok(message)
}

/// Reads `body` for the app, one part each time `receive` asks (see `Feed`).
async fn feed_body(feed: Rc<RefCell<Feed>>, mut body: RequestBody, wake: WakeHandle) {
    loop {
        let asked = std::future::poll_fn(|cx| {
            let mut feed = feed.borrow_mut();
            if feed.closed {
                return Poll::Ready(false);
            }
            if feed.waiting.is_some() {
                return Poll::Ready(true);
            }
            feed.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if !asked {
            return;
        }
        let frame = std::future::poll_fn(|cx| {
            if feed.borrow().closed {
                return Poll::Ready(None);
            }
            feed.borrow_mut().waker = Some(cx.waker().clone());
            Pin::new(&mut body).poll_frame(cx).map(Some)
        })
        .await;
        let outcome = match frame {
            // The request is over.
            None => return,
            Some(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => Ok((data, !body.is_end_stream())),
                // Trailers: nothing for the app.
                Err(_) => continue,
            },
            Some(None) => Ok((Bytes::new(), false)),
            Some(Some(Err(_))) => Err(()),
        };
        let (waiting, done) = {
            let mut feed = feed.borrow_mut();
            let done = match outcome {
                Ok((_, more)) => !more,
                Err(()) => true,
            };
            feed.ended = done && outcome.is_ok();
            feed.failed = outcome.is_err();
            (feed.waiting.take(), done)
        };
        if let Some(waiting) = waiting {
            Python::attach(|py| {
                let message = match &outcome {
                    Ok((data, more)) => body_message(py, data, *more),
                    Err(()) => Ok(disconnect_message(py)),
                };
                match message {
                    Ok(message) => {
                        let _ = resolve(py, waiting.bind(py), message.as_any());
                    }
                    Err(err) => err.write_unraisable(py, None),
                }
            });
            wake.wake();
        }
        if done {
            return;
        }
    }
}

/// An awaitable that is already done: `await` gives its value without suspending.
#[pyclass(module = "tachyon._tachyon", frozen)]
#[derive(Debug)]
pub struct Immediate {
    value: Py<PyAny>,
}

// The awaitable protocol (`__await__` and `__iter__` give the object itself) is written out
// here and in `Continuation`, as in dispatch.rs's `DispatchCall`: pyo3 has no shared
// implementation of it, and each `__next__` differs.
#[pymethods]
impl Immediate {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Err(PyStopIteration::new_err((self.value.clone_ref(py),)))
    }
}

fn immediate(py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    Ok(Bound::new(
        py,
        Immediate {
            value: value.unbind(),
        },
    )?
    .into_any()
    .unbind())
}

/// One request's ASGI channel: `receive` (a method), `send` (the object itself) and
/// `send_response` (a plain Response, whole).
#[pyclass(module = "tachyon._tachyon", unsendable)]
pub struct Exchange {
    slot: Rc<RefCell<Slot>>,
    shared: Rc<Shared>,
    /// The request body, as `receive` gives it.
    body: RequestContent,
    status: Option<StatusCode>,
    headers: HeaderMap,
    stream: Option<Rc<RefCell<Stream>>>,
    complete: bool,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("status", &self.status)
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if let RequestContent::Streamed(feed) = &self.body {
            feed.borrow_mut().close();
        }
    }
}

impl Exchange {
    fn place(&mut self, py: Python<'_>, status: StatusCode, body: ResponseBody) {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = std::mem::take(&mut self.headers);
        self.slot.borrow_mut().place(response);
        if self.stream.is_none() {
            self.complete = true;
            disconnect(py, &self.slot);
        }
    }

    /// What the app sent as a body chunk: bytes-like to `Bytes`.
    fn chunk(value: Option<Bound<'_, PyAny>>) -> PyResult<Bytes> {
        match value {
            None => Ok(Bytes::new()),
            Some(value) => match value.cast::<PyBytes>() {
                Ok(bytes) => Ok(Bytes::copy_from_slice(bytes.as_bytes())),
                Err(_) if value.is_none() => Ok(Bytes::new()),
                Err(_) => {
                    let bytes = value.py().get_type::<PyBytes>().call1((value,))?;
                    Ok(Bytes::copy_from_slice(bytes.cast::<PyBytes>()?.as_bytes()))
                }
            },
        }
    }
}

fn header_map(headers: &Bound<'_, PyAny>) -> PyResult<HeaderMap> {
    // A list of 2-tuples of bytes (what every Response's `raw_headers` is): read in place,
    // with no iterator and no copies of the names and values into vectors.
    if let Ok(list) = headers.cast_exact::<PyList>() {
        let mut map = HeaderMap::with_capacity(list.len());
        let mut exact = true;
        for item in list.iter() {
            let pair = match item.cast_exact::<PyTuple>() {
                Ok(pair) if pair.len() == 2 => pair,
                _ => {
                    exact = false;
                    break;
                }
            };
            let (name, value) = (pair.get_borrowed_item(0)?, pair.get_borrowed_item(1)?);
            let (Ok(name), Ok(value)) =
                (name.cast_exact::<PyBytes>(), value.cast_exact::<PyBytes>())
            else {
                exact = false;
                break;
            };
            map.append(
                header_name(name.as_bytes())?,
                header_value(value.as_bytes())?,
            );
        }
        if exact {
            return Ok(map);
        }
    }
    let mut map = HeaderMap::new();
    for item in headers.try_iter()? {
        let item = item?;
        let (name, value): (Vec<u8>, Vec<u8>) = item.extract()?;
        map.append(header_name(&name)?, header_value(&value)?);
    }
    Ok(map)
}

fn header_name(name: &[u8]) -> PyResult<HeaderName> {
    HeaderName::from_bytes(name)
        .map_err(|e| PyValueError::new_err(format!("invalid header name: {e}")))
}

fn header_value(value: &[u8]) -> PyResult<HeaderValue> {
    HeaderValue::from_bytes(value)
        .map_err(|e| PyValueError::new_err(format!("invalid header value: {e}")))
}

fn status_code(value: &Bound<'_, PyAny>) -> PyResult<StatusCode> {
    let code: u16 = value.extract()?;
    StatusCode::from_u16(code).map_err(|_| PyValueError::new_err(format!("invalid status {code}")))
}

#[pymethods]
impl Exchange {
    /// ASGI `receive()`: the request body (a small one whole, in one message; a large or
    /// chunked one in parts, each read from the client when asked for), then
    /// `http.disconnect` once the response is complete or the client is gone.
    fn receive(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // As uvicorn: once the client is gone or the response complete, that is all there is.
        if self.slot.borrow().disconnected {
            return immediate(py, disconnect_message(py).into_any());
        }
        match &mut self.body {
            RequestContent::Whole(body) => {
                if let Some(body) = body.take() {
                    return immediate(py, body_message(py, &body, false)?.into_any());
                }
            }
            RequestContent::Streamed(feed) => {
                let mut feed = feed.borrow_mut();
                if !feed.ended && !feed.failed && !feed.closed {
                    if feed.waiting.is_some() {
                        return Err(PyRuntimeError::new_err(
                            "receive() called again before the previous call returned",
                        ));
                    }
                    let future = self
                        .shared
                        .event_loop
                        .bind(py)
                        .call_method0(intern!(py, "create_future"))?;
                    feed.waiting = Some(future.clone().unbind());
                    if let Some(waker) = feed.waker.take() {
                        waker.wake();
                    }
                    return Ok(future.unbind());
                }
            }
        }
        let future = self
            .shared
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        self.slot.borrow_mut().waiters.push(future.clone().unbind());
        Ok(future.unbind())
    }

    /// ASGI `send(message)`.
    fn __call__(&mut self, py: Python<'_>, message: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        let kind = message
            .get_item(intern!(py, "type"))?
            .ok_or_else(|| PyRuntimeError::new_err("ASGI message without a type"))?;
        let kind: String = kind.extract()?;
        match kind.as_str() {
            "http.response.start" => {
                if self.status.is_some() {
                    return Err(PyRuntimeError::new_err(
                        "Unexpected ASGI message 'http.response.start' sent, after response already started.",
                    ));
                }
                let status = message.get_item(intern!(py, "status"))?.ok_or_else(|| {
                    PyRuntimeError::new_err("http.response.start without a status")
                })?;
                let headers = match message.get_item(intern!(py, "headers"))? {
                    Some(headers) => header_map(&headers)?,
                    None => HeaderMap::new(),
                };
                self.status = Some(status_code(&status)?);
                self.headers = headers;
                immediate(py, py.None().into_bound(py))
            }
            "http.response.body" => {
                let Some(status) = self.status else {
                    return Err(PyRuntimeError::new_err(
                        "Unexpected ASGI message 'http.response.body' sent, before 'http.response.start'.",
                    ));
                };
                if self.complete {
                    return Err(PyRuntimeError::new_err(
                        "Unexpected ASGI message 'http.response.body' sent, after response already completed.",
                    ));
                }
                let body = Self::chunk(message.get_item(intern!(py, "body"))?)?;
                let more = match message.get_item(intern!(py, "more_body"))? {
                    Some(more) => more.is_truthy()?,
                    None => false,
                };
                if self.stream.is_none() {
                    if !more {
                        self.place(py, status, ResponseBody::full(body));
                        return immediate(py, py.None().into_bound(py));
                    }
                    let stream = Rc::new(RefCell::new(Stream {
                        chunks: VecDeque::new(),
                        queued: 0,
                        ended: false,
                        aborted: false,
                        closed: false,
                        waker: None,
                        room: None,
                        slot: self.slot.clone(),
                        wake: self.shared.wake.clone(),
                    }));
                    self.stream = Some(stream.clone());
                    self.place(py, status, ResponseBody::from_body(StreamBody(stream)));
                }
                let stream = self.stream.as_ref().expect("set above").clone();
                let mut stream = stream.borrow_mut();
                if stream.closed {
                    return Err(PyOSError::new_err("the client disconnected"));
                }
                if !body.is_empty() {
                    stream.queued += body.len();
                    stream.chunks.push_back(body);
                }
                if !more {
                    stream.ended = true;
                    self.complete = true;
                }
                stream.wake_body();
                if stream.queued > STREAM_HIGH_WATER && !stream.ended {
                    let future = self
                        .shared
                        .event_loop
                        .bind(py)
                        .call_method0(intern!(py, "create_future"))?;
                    stream.room = Some(future.clone().unbind());
                    return Ok(future.unbind());
                }
                immediate(py, py.None().into_bound(py))
            }
            other => Err(PyRuntimeError::new_err(format!(
                "Unexpected ASGI message '{other}' sent, for an http request."
            ))),
        }
    }

    /// Sends a plain Response whole: its `status_code`, `raw_headers` and `body`.
    fn send_response(&mut self, py: Python<'_>, response: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.status.is_some() {
            return Err(PyRuntimeError::new_err("the response has already started"));
        }
        let status = status_code(&response.getattr(intern!(py, "status_code"))?)?;
        self.headers = header_map(&response.getattr(intern!(py, "raw_headers"))?)?;
        self.status = Some(status);
        let body = Self::chunk(Some(response.getattr(intern!(py, "body"))?))?;
        self.place(py, status, ResponseBody::full(body));
        Ok(())
    }

    /// The done callback of the request's task: finishes the exchange and logs a failure.
    fn task_done(&mut self, py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        let shared = self.shared.clone();
        shared.tasks.bind(py).discard(task)?;
        let body_failed =
            matches!(&self.body, RequestContent::Streamed(feed) if feed.borrow().failed);
        // An app that fails for want of a body that never came (too large, too slow, cut
        // off) is not logged: the server answers 413 or 408, or nobody is listening.
        // The exception is retrieved even when it is not logged, so asyncio does not report
        // it as never retrieved.
        let exc = if task.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            None
        } else {
            let exc = task.call_method0(intern!(py, "exception"))?;
            (!exc.is_none() && !body_failed).then_some(exc)
        };
        let message = self.finish(py);
        if exc.is_some() || message.is_some() {
            shared.report.bind(py).call1((exc, message))?;
        }
        Ok(())
    }

    /// Whether the response has started.
    #[getter]
    fn started(&self) -> bool {
        self.status.is_some()
    }

    /// The app is done with this request: a response it did not give becomes a 500 (not
    /// started) or an incomplete response. Returns what to log about that, if anything.
    fn finish(&mut self, py: Python<'_>) -> Option<&'static str> {
        if let RequestContent::Streamed(feed) = &self.body {
            feed.borrow_mut().close();
        }
        let (placed, gone) = {
            let slot = self.slot.borrow();
            (slot.placed, slot.disconnected)
        };
        let message = if !placed {
            match self.status {
                None => {
                    self.headers = HeaderMap::new();
                    let body = "Internal Server Error";
                    self.headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    );
                    self.headers
                        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                    self.headers
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                    self.place(
                        py,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        ResponseBody::from(body),
                    );
                    // After the client went away, nobody is waiting for the response.
                    (!gone).then_some("ASGI callable returned without starting response.")
                }
                Some(status) => {
                    let stream = Rc::new(RefCell::new(Stream {
                        chunks: VecDeque::new(),
                        queued: 0,
                        ended: true,
                        aborted: true,
                        closed: false,
                        waker: None,
                        room: None,
                        slot: self.slot.clone(),
                        wake: self.shared.wake.clone(),
                    }));
                    self.stream = Some(stream.clone());
                    self.place(py, status, ResponseBody::from_body(StreamBody(stream)));
                    Some("ASGI callable returned without completing response.")
                }
            }
        } else if !self.complete {
            if let Some(stream) = &self.stream {
                let mut stream = stream.borrow_mut();
                stream.aborted = true;
                stream.wake_body();
            }
            Some("ASGI callable returned without completing response.")
        } else {
            None
        };
        self.complete = true;
        message
    }
}

/// The coroutine of a request's asyncio task: it continues the app's call that the server
/// stepped once (`call`, suspended on `yielded`), or raises what that step raised
/// (`error`), or, if the call is done, just returns. It forwards `send` and `throw` to the
/// call as `await` would. (Registered as a `collections.abc.Coroutine` by
/// `tachyon.native_server`, so asyncio accepts it.)
#[pyclass(module = "tachyon._tachyon", unsendable)]
#[derive(Debug, Default)]
pub struct Continuation {
    call: Option<Py<PyAny>>,
    yielded: Option<Py<PyAny>>,
    error: Option<PyErr>,
    started: bool,
}

fn stop() -> PyErr {
    PyStopIteration::new_err(())
}

#[pymethods]
impl Continuation {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.send(py, py.None().into_bound(py))
    }

    /// `coroutine.send(value)`.
    fn send(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if !self.started {
            self.started = true;
            if let Some(err) = self.error.take() {
                self.call = None;
                return Err(err);
            }
            return match self.yielded.take() {
                Some(yielded) => Ok(yielded),
                None => {
                    self.call = None;
                    Err(stop())
                }
            };
        }
        let Some(call) = self.call.as_ref().map(|c| c.clone_ref(py)) else {
            return Err(stop());
        };
        match coroutine::send(py, call.bind(py), &value) {
            Step::Yield(yielded) => Ok(yielded.unbind()),
            Step::Return(_) => {
                self.call = None;
                Err(stop())
            }
            Step::Error(err) => {
                self.call = None;
                Err(err)
            }
        }
    }

    /// `coroutine.throw(exc)`: raises `exc` where the call is suspended. (The signature is
    /// the coroutine protocol's, as `DispatchCall.throw`'s in dispatch.rs; the bodies differ.)
    #[pyo3(signature = (typ, val = None, tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = tb;
        let exc = coroutine::thrown(typ, val)?;
        self.started = true;
        self.yielded = None;
        self.error = None;
        let Some(call) = self.call.as_ref().map(|c| c.clone_ref(py)) else {
            return Err(PyErr::from_value(exc));
        };
        match coroutine::throw(py, call.bind(py), exc) {
            Step::Yield(value) => Ok(value.unbind()),
            Step::Return(_) => {
                self.call = None;
                Err(stop())
            }
            Step::Error(err) => {
                self.call = None;
                Err(err)
            }
        }
    }

    /// `coroutine.close()`: closes the call; nothing more runs.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.started = true;
        self.yielded = None;
        self.error = None;
        match self.call.take() {
            Some(call) => coroutine::close(py, call.bind(py)),
            None => Ok(()),
        }
    }
}

/// What `await awaitable` iterates.
fn iterator<'py>(awaitable: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `awaitable` is a valid object reference held for the call.
    if unsafe { ffi::PyCoro_CheckExact(awaitable.as_ptr()) } != 0 {
        return Ok(awaitable);
    }
    awaitable.call_method0(intern!(awaitable.py(), "__await__"))
}

/// A plain-text response the server gives on its own.
fn plain(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::from(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Most distinct IP addresses whose text `address` keeps.
const HOSTS_KEPT: usize = 8;

/// The host text and port of a scope's "server" or "client", or None.
fn address(
    py: Python<'_>,
    shared: &Shared,
    addr: Option<SocketAddr>,
) -> Option<(Py<PyString>, u16)> {
    let addr = addr?;
    let ip = addr.ip();
    let mut hosts = shared.hosts.borrow_mut();
    let host = match hosts.iter().find(|(seen, _)| *seen == ip) {
        Some((_, host)) => host.clone_ref(py),
        None => {
            let host = PyString::new(py, &ip.to_string()).unbind();
            if hosts.len() == HOSTS_KEPT {
                hosts.remove(0);
            }
            hosts.push((ip, host.clone_ref(py)));
            host
        }
    };
    Some((host, addr.port()))
}

/// The ASGI http scope of a request, as uvicorn builds it.
fn scope<'py>(
    py: Python<'py>,
    shared: &Shared,
    parts: Parts,
    peer: &Peer,
) -> PyResult<Bound<'py, PyDict>> {
    let (scope, fill) = partial_scope(py, shared, parts, peer)?;
    fill.fill(&scope)?;
    Ok(scope)
}

/// A request's scope, built only when read (for the fused dispatcher, which routes on
/// what `partial_scope` fills in).
fn lazy_scope<'py>(
    py: Python<'py>,
    shared: &Shared,
    parts: Parts,
    peer: &Peer,
) -> PyResult<Bound<'py, LazyScope>> {
    let (scope, fill) = partial_scope(py, shared, parts, peer)?;
    Bound::new(py, LazyScope::new(scope, Box::new(fill)))
}

/// A request's scope with what routing reads filled in (`type`, `http_version`, `scheme`,
/// `method`, `root_path`, `path`, and `state`, copied now as uvicorn does when the request
/// arrives), every other key in place valued None; and what fills in the rest.
fn partial_scope<'py>(
    py: Python<'py>,
    shared: &Shared,
    parts: Parts,
    peer: &Peer,
) -> PyResult<(Bound<'py, PyDict>, NativeFill)> {
    // A copy of the template (its keys in uvicorn's order, constants set): the values below
    // replace the template's in place, so the dict never grows.
    let scope = shared.scope_template.bind(py).copy()?;
    match parts.version {
        Version::HTTP_11 => {}
        Version::HTTP_10 => scope.set_item(intern!(py, "http_version"), intern!(py, "1.0"))?,
        Version::HTTP_2 => scope.set_item(intern!(py, "http_version"), intern!(py, "2"))?,
        _ => {}
    }
    // A trusted proxy's word on the client and scheme (tachyon_server::ProxyHeaders).
    let forwarded = parts.extensions.get::<Forwarded>();
    let client = match forwarded.and_then(|f| f.client.as_ref()) {
        Some(client) => Client::Forwarded(client.clone()),
        None => Client::Peer(address(py, shared, peer.remote)),
    };
    let scheme = forwarded.and_then(|f| f.scheme).unwrap_or(shared.scheme);
    if scheme != "http" {
        // The template says "http".
        scope.set_item(intern!(py, "scheme"), PyString::intern(py, scheme))?;
    }
    let method = match parts.method.as_str() {
        "GET" => intern!(py, "GET").clone(),
        "POST" => intern!(py, "POST").clone(),
        other => PyString::new(py, other),
    };
    scope.set_item(intern!(py, "method"), method)?;
    let raw_path = parts.uri.path();
    let path = percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy();
    if shared.root_path.is_empty() {
        scope.set_item(intern!(py, "root_path"), intern!(py, ""))?;
        scope.set_item(intern!(py, "path"), path.as_ref())?;
    } else {
        let root = shared.root_path.as_str();
        scope.set_item(intern!(py, "root_path"), root)?;
        scope.set_item(intern!(py, "path"), format!("{root}{path}"))?;
    }
    scope.set_item(intern!(py, "state"), shared.state.bind(py).copy()?)?;
    let fill = NativeFill {
        asgi: shared.asgi.clone_ref(py),
        server: address(py, shared, peer.local),
        client,
        root_path: shared.root_path.clone(),
        uri: parts.uri,
        headers: parts.headers,
    };
    Ok((scope, fill))
}

/// A scope's "client": a trusted proxy's word, or the peer's address.
#[derive(Debug)]
enum Client {
    Forwarded((String, u16)),
    Peer(Option<(Py<PyString>, u16)>),
}

/// What a native request's scope is completed with (see `partial_scope`): `asgi`, `server`,
/// `client`, `raw_path`, `query_string` and `headers`.
#[derive(Debug)]
struct NativeFill {
    asgi: Py<PyDict>,
    server: Option<(Py<PyString>, u16)>,
    client: Client,
    root_path: String,
    uri: http::Uri,
    headers: HeaderMap,
}

impl ScopeFill for NativeFill {
    fn fill(&self, scope: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = scope.py();
        let address = |addr: &Option<(Py<PyString>, u16)>| -> PyResult<Bound<'_, PyAny>> {
            Ok(match addr {
                Some((host, port)) => (host.bind(py), *port).into_pyobject(py)?.into_any(),
                None => py.None().into_bound(py),
            })
        };
        scope.set_item(intern!(py, "asgi"), self.asgi.bind(py).copy()?)?;
        scope.set_item(intern!(py, "server"), address(&self.server)?)?;
        match &self.client {
            Client::Forwarded(client) => scope.set_item(intern!(py, "client"), client)?,
            Client::Peer(client) => scope.set_item(intern!(py, "client"), address(client)?)?,
        }
        let raw_path = self.uri.path();
        let raw_path = if self.root_path.is_empty() {
            PyBytes::new(py, raw_path.as_bytes())
        } else {
            PyBytes::new(py, format!("{}{raw_path}", self.root_path).as_bytes())
        };
        scope.set_item(intern!(py, "raw_path"), raw_path)?;
        let query = self.uri.query().unwrap_or("");
        scope.set_item(
            intern!(py, "query_string"),
            PyBytes::new(py, query.as_bytes()),
        )?;
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            headers.push(PyTuple::new(
                py,
                [
                    PyBytes::new(py, name.as_str().as_bytes()),
                    PyBytes::new(py, value.as_bytes()),
                ],
            )?);
        }
        scope.set_item(intern!(py, "headers"), PyList::new(py, headers)?)?;
        Ok(())
    }

    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.asgi)?;
        if let Some((host, _)) = &self.server {
            visit.call(host)?;
        }
        if let Client::Peer(Some((host, _))) = &self.client {
            visit.call(host)?;
        }
        Ok(())
    }
}

/// The scope every request's starts as (see `scope`): uvicorn's keys in uvicorn's order,
/// the constants set, the others None until set; and `app` last on the fused path.
fn scope_template<'py>(
    py: Python<'py>,
    scope_app: Option<&Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    let none = py.None();
    scope.set_item(intern!(py, "type"), intern!(py, "http"))?;
    scope.set_item(intern!(py, "asgi"), &none)?;
    scope.set_item(intern!(py, "http_version"), intern!(py, "1.1"))?;
    scope.set_item(intern!(py, "server"), &none)?;
    scope.set_item(intern!(py, "client"), &none)?;
    scope.set_item(intern!(py, "scheme"), intern!(py, "http"))?;
    scope.set_item(intern!(py, "method"), &none)?;
    scope.set_item(intern!(py, "root_path"), intern!(py, ""))?;
    for key in ["path", "raw_path", "query_string", "headers", "state"] {
        scope.set_item(PyString::intern(py, key), &none)?;
    }
    if let Some(app) = scope_app {
        scope.set_item(intern!(py, "app"), app.bind(py))?;
    }
    Ok(scope)
}

/// A callback a new task scheduled: the callback, its arguments and its context.
type Caught = (Py<PyAny>, Py<PyTuple>, Option<Py<PyAny>>);

/// Catches the first step a new task schedules: while it is the event loop's `call_soon`
/// (an instance attribute set around the task's creation only), the callback and context
/// the task asks to be run soon are kept here instead, and the server runs them at once.
#[pyclass(module = "tachyon._tachyon", unsendable)]
#[derive(Debug, Default)]
pub struct StepCatcher {
    caught: Option<Caught>,
}

#[pymethods]
impl StepCatcher {
    /// `loop.call_soon(callback, *args, context=None)`, kept for the server to run.
    #[pyo3(signature = (callback, *args, context = None))]
    fn __call__(
        &mut self,
        callback: Py<PyAny>,
        args: Py<PyTuple>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        if self.caught.is_some() {
            return Err(PyRuntimeError::new_err(
                "a second callback scheduled while a request's task was created",
            ));
        }
        self.caught = Some((callback, args, context));
        Ok(())
    }
}

/// A `contextvars` context, entered until dropped.
struct Entered<'py>(Bound<'py, PyAny>);

impl<'py> Entered<'py> {
    /// Enters `ctx` (a `contextvars.Context` not entered yet).
    fn enter(ctx: Bound<'py, PyAny>) -> PyResult<Self> {
        // SAFETY: the context type is checked by `PyContext_Enter`, which fails (with an
        // error set) on anything else; `ctx` is a valid reference held for the call.
        if unsafe { ffi::PyContext_Enter(ctx.as_ptr()) } != 0 {
            return Err(PyErr::fetch(ctx.py()));
        }
        Ok(Entered(ctx))
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        // SAFETY: the context was entered by `enter` on this thread, and nothing entered
        // since is still entered (every call in between returned).
        if unsafe { ffi::PyContext_Exit(self.0.as_ptr()) } != 0 {
            PyErr::fetch(self.0.py()).write_unraisable(self.0.py(), None);
        }
    }
}

/// A copy of the current `contextvars` context.
fn copy_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: called with the GIL held; returns a new reference or null with an error.
    let ctx = unsafe { ffi::PyContext_CopyCurrent() };
    if ctx.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `ctx` is a new, valid reference, owned here.
    Ok(unsafe { Bound::from_owned_ptr(py, ctx) })
}

/// Makes the request's asyncio task, running `coroutine` in `context`, with the loop's
/// `call_soon` caught while `asyncio.Task` is made: returns the task and the first step it
/// scheduled. With a task factory on the loop, the factory makes the task as usual, and
/// nothing is caught (the task starts when the loop, or the factory, starts it).
fn make_task<'py>(
    py: Python<'py>,
    shared: &Shared,
    coroutine: &Bound<'py, Continuation>,
    context: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Option<Caught>)> {
    let event_loop = shared.event_loop.bind(py);
    let catcher = shared.catcher.bind(py);
    let create_task = || {
        let options = PyDict::new(py);
        options.set_item(intern!(py, "context"), context)?;
        event_loop.call_method(intern!(py, "create_task"), (coroutine,), Some(&options))
    };
    let no_factory = event_loop
        .getattr(intern!(py, "_task_factory"))
        .is_ok_and(|factory| factory.is_none());
    if !no_factory {
        // A task factory is the app's own code: it may schedule callbacks of its own, or
        // start the task itself (`asyncio.eager_task_factory`), so `call_soon` is left alone
        // and the task starts as the factory has it.
        return Ok((create_task()?, None));
    }
    // What `loop.create_task` does, without its frame, when it would do just that: no debug
    // mode (which trims the task's source traceback).
    let plain = event_loop
        .getattr(intern!(py, "_debug"))
        .is_ok_and(|debug| debug.is(&*pyo3::types::PyBool::new(py, false)));
    if plain && shared.eager_start {
        // `asyncio.Task(coroutine, loop=, context=, eager_start=True)`: the loop is running
        // (this is its selector's wait), so the first step runs in the constructor, with
        // the task current, as the caught step would.
        let eager = pyo3::types::PyBool::new(py, true);
        let args = [
            coroutine.as_ptr(),
            event_loop.as_ptr(),
            context.as_ptr(),
            eager.as_ptr(),
        ];
        return Ok((new_task(py, shared, &args)?, None));
    }
    event_loop.setattr(intern!(py, "call_soon"), catcher)?;
    let task = if plain {
        let args = [coroutine.as_ptr(), event_loop.as_ptr(), context.as_ptr()];
        new_task(py, shared, &args)
    } else {
        create_task()
    };
    let restored = event_loop.delattr(intern!(py, "call_soon"));
    let caught = catcher.borrow_mut().caught.take();
    let task = task?;
    restored?;
    Ok((task, caught))
}

/// `asyncio.Task(coroutine, **dict(zip(shared.task_kwnames, rest)))`, called without a
/// frame: `args` is the coroutine then one value per name in `task_kwnames`.
fn new_task<'py>(
    py: Python<'py>,
    shared: &Shared,
    args: &[*mut ffi::PyObject],
) -> PyResult<Bound<'py, PyAny>> {
    let kwnames = shared.task_kwnames.bind(py);
    debug_assert_eq!(kwnames.len(), args.len() - 1);
    // SAFETY: `args` holds valid references the caller keeps alive for the call, one
    // positional argument then one per name in `kwnames` (a tuple of strings); the result is
    // a new reference or null with an error set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_Vectorcall(
                shared.task_class.as_ptr(),
                args.as_ptr(),
                1,
                kwnames.as_ptr(),
            ),
        )
    }
}

/// Starts the app on a request, in the request's own asyncio task (so
/// `asyncio.current_task()` is that task from the first line on), whose first step runs at
/// once, here: a handler that does not suspend is answered before this returns, without
/// the loop; one that suspends continues in its task, and the response follows.
fn start(
    py: Python<'_>,
    shared: &Rc<Shared>,
    parts: Parts,
    peer: &Peer,
    body: RequestContent,
) -> Reply {
    let slot = Rc::new(RefCell::new(Slot::default()));
    let before = queue_lengths(py, shared);
    let result = (|| -> PyResult<Option<Py<PyAny>>> {
        let exchange = Bound::new(
            py,
            Exchange {
                slot: slot.clone(),
                shared: shared.clone(),
                body,
                status: None,
                headers: HeaderMap::new(),
                stream: None,
                complete: false,
            },
        )?;
        let receive = exchange.getattr(intern!(py, "receive"))?;
        let app = shared.app.bind(py);
        let awaitable = if shared.fused {
            let scope = lazy_scope(py, shared, parts, peer)?;
            let send_response = exchange.getattr(intern!(py, "send_response"))?;
            app.call_method1(
                intern!(py, "respond_lazy"),
                (scope, receive, &exchange, send_response),
            )?
        } else {
            let scope = scope(py, shared, parts, peer)?;
            app.call1((scope, receive, &exchange))?
        };
        let continuation = Bound::new(
            py,
            Continuation {
                call: Some(iterator(awaitable)?.unbind()),
                started: true,
                ..Continuation::default()
            },
        )?;
        let context = copy_context(py)?;
        let (task, caught) = make_task(py, shared, &continuation, &context)?;
        if let Some((callback, args, step_context)) = caught {
            run_caught(
                py,
                shared,
                callback.bind(py),
                args.bind(py),
                step_context.as_ref().map(|c| c.bind(py)),
            );
        }
        if task.call_method0(intern!(py, "done"))?.is_truthy()? {
            exchange.borrow_mut().task_done(py, &task)?;
            Ok(None)
        } else {
            shared.tasks.bind(py).add(&task)?;
            task.call_method1(
                intern!(py, "add_done_callback"),
                (exchange.getattr(intern!(py, "task_done"))?,),
            )?;
            Ok(Some(task.unbind()))
        }
    })();
    // Let the loop run what the step queued on it (a task that yielded, or whose awaited
    // future was already done, queued its next step there), and take the timers it set into
    // account. A task that suspended on a pending future needs nothing from the loop now:
    // whatever completes the future (a descriptor the loop watches, a timer, another thread
    // through the self-pipe) wakes the loop's wait, which is this server's.
    let quiet = matches!(
        (before, queue_lengths(py, shared)),
        (Some((_, timers)), Some((0, now))) if now == timers
    );
    if !quiet {
        shared.wake.wake();
    }
    let pending = match result {
        Ok(pending) => pending,
        Err(err) => {
            report(py, shared, Some(err), None);
            if !slot.borrow().placed {
                return Reply::Ready(plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                ));
            }
            None
        }
    };
    if let Some(response) = slot.borrow_mut().response.take() {
        return Reply::Ready(response);
    }
    Reply::pending(Awaiting {
        slot,
        task: pending,
        answered: false,
        wake: shared.wake.clone(),
    })
}

/// The response of a request whose task had not given it when its first step ended. If
/// this is dropped before the response came (the client went away, or the connection was
/// cut), the request is over: its `receive` answers `http.disconnect`, and its task is
/// cancelled (what it awaits raises `CancelledError`, its `finally` blocks run).
struct Awaiting {
    slot: Rc<RefCell<Slot>>,
    task: Option<Py<PyAny>>,
    answered: bool,
    wake: WakeHandle,
}

impl Future for Awaiting {
    type Output = Response<ResponseBody>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<ResponseBody>> {
        let this = self.get_mut();
        let mut slot = this.slot.borrow_mut();
        if let Some(response) = slot.response.take() {
            this.answered = true;
            return Poll::Ready(response);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Awaiting {
    fn drop(&mut self) {
        if self.answered || self.slot.borrow().placed {
            return;
        }
        let Some(task) = self.task.take() else {
            return;
        };
        Python::attach(|py| {
            disconnect(py, &self.slot);
            if let Err(err) = task.bind(py).call_method0(intern!(py, "cancel")) {
                err.write_unraisable(py, None);
            }
        });
        self.wake.wake();
    }
}

/// The loop's `_ready` and `_scheduled` (asyncio's `BaseEventLoop` has both), if they are
/// there and sized.
fn loop_queues(event_loop: &Bound<'_, PyAny>) -> Option<(Py<PyAny>, Py<PyAny>)> {
    let py = event_loop.py();
    let ready = event_loop.getattr(intern!(py, "_ready")).ok()?;
    let scheduled = event_loop.getattr(intern!(py, "_scheduled")).ok()?;
    ready.len().ok()?;
    scheduled.len().ok()?;
    Some((ready.unbind(), scheduled.unbind()))
}

/// The lengths of the loop's queues (see `Shared::queues`).
fn queue_lengths(py: Python<'_>, shared: &Shared) -> Option<(usize, usize)> {
    let (ready, scheduled) = shared.queues.as_ref()?;
    Some((ready.bind(py).len().ok()?, scheduled.bind(py).len().ok()?))
}

/// Runs `callback(*args)` in `context` (or the current one), as the loop's handle would:
/// an exception goes to the loop's exception handler.
fn run_caught(
    py: Python<'_>,
    shared: &Shared,
    callback: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    context: Option<&Bound<'_, PyAny>>,
) {
    let result = match context {
        Some(context) => Entered::enter(context.clone()).and_then(|entered| {
            let result = callback.call1(args);
            drop(entered);
            result
        }),
        None => callback.call1(args),
    };
    if let Err(err) = result {
        let details = PyDict::new(py);
        let _ = details.set_item(intern!(py, "message"), "Exception in callback");
        let _ = details.set_item(intern!(py, "exception"), err.value(py));
        if let Err(err) = shared
            .event_loop
            .bind(py)
            .call_method1(intern!(py, "call_exception_handler"), (details,))
        {
            err.write_unraisable(py, None);
        }
    }
}

fn report(py: Python<'_>, shared: &Shared, err: Option<PyErr>, message: Option<&str>) {
    let exc = err.map(|err| err.into_value(py));
    if let Err(err) = shared.report.bind(py).call1((exc, message)) {
        err.write_unraisable(py, None);
    }
}

/// The `Dispatch` of a `NativeServer`: every request to the Python app.
struct PyDispatch(Rc<Shared>);

impl Dispatch for PyDispatch {
    fn dispatch(&self, request: http::Request<RequestBody>, peer: &Peer) -> Reply {
        let shared = self.0.clone();
        let (parts, body) = request.into_parts();
        match body.content_length() {
            Some(0) => {
                return Python::attach(|py| {
                    start(
                        py,
                        &shared,
                        parts,
                        peer,
                        RequestContent::Whole(Some(Bytes::new())),
                    )
                });
            }
            Some(length) if length <= WHOLE_BODY_MAX => {}
            _ => {
                let feed = Rc::new(RefCell::new(Feed::default()));
                tachyon_server::spawn(feed_body(feed.clone(), body, shared.wake.clone()));
                return Python::attach(|py| {
                    start(py, &shared, parts, peer, RequestContent::Streamed(feed))
                });
            }
        }
        let peer = *peer;
        Reply::pending(async move {
            let body = match body.collect_bytes().await {
                Ok(body) => body,
                // Too large or too slow: the server answers 413 or 408 whatever this is.
                Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad Request"),
            };
            let body = RequestContent::Whole(Some(body));
            match Python::attach(|py| start(py, &shared, parts, &peer, body)) {
                Reply::Ready(response) => response,
                Reply::Pending(future) => future.await,
            }
        })
    }
}

/// The access log of a `NativeServer`: `log(client, method, path, query, http_version,
/// status)`, a Python callable.
struct PyAccessLog(Py<PyAny>);

impl AccessSink for PyAccessLog {
    fn log(&self, record: &AccessRecord) {
        let version = match record.version {
            Version::HTTP_10 => "1.0",
            Version::HTTP_2 => "2",
            _ => "1.1",
        };
        Python::attach(|py| {
            let args = (
                record.client.as_str(),
                record.method.as_str(),
                record.uri.path(),
                record.uri.query().unwrap_or(""),
                version,
                record.status.as_u16(),
            );
            if let Err(err) = self.0.bind(py).call1(args) {
                err.write_unraisable(py, None);
            }
        });
    }
}

/// Lets a reference cross `Python::detach`, which runs its closure on the calling thread.
struct OnThisThread<T>(T);

// SAFETY: `Python::detach` runs the closure synchronously on the thread that calls it, so
// the value never reaches another thread.
unsafe impl<T> Send for OnThisThread<T> {}

impl<T> OnThisThread<T> {
    fn get(self) -> T {
        self.0
    }
}

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    if value <= 0.0 {
        // No deadline: a year is as good as none, and stays far from `Instant` overflow.
        return Ok(Duration::from_secs(365 * 24 * 3600));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("invalid {what}: {value}")))
}

/// A number of seconds for a setting that can be off: 0 is `None`; negative or not a number
/// is an error naming `what`.
fn optional_seconds(value: f64, what: &str) -> PyResult<Option<Duration>> {
    if value == 0.0 {
        return Ok(None);
    }
    if value.is_nan() || value < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{what} must be 0 (none) or a positive number of seconds, not {value}"
        )));
    }
    Duration::try_from_secs_f64(value)
        .map(Some)
        .map_err(|_| PyValueError::new_err(format!("invalid {what}: {value}")))
}

/// The native server on this thread, serving a Python app. Driven by `turn`, from an
/// asyncio selector (`tachyon.native_server`).
#[pyclass(module = "tachyon._tachyon", unsendable)]
pub struct NativeServer {
    runtime: Runtime,
    handle: ServerHandle,
}

impl std::fmt::Debug for NativeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeServer")
            .field("local_addr", &self.handle.local_addr())
            .finish_non_exhaustive()
    }
}

#[pymethods]
impl NativeServer {
    /// Listens on `host:port`, `uds` or the listening socket `fd`, and serves `app` (the
    /// fused dispatcher when `fused`, else an ASGI app) whenever `turn` runs.
    ///
    /// `root_path` is uvicorn's `--root-path`; `forwarded_allow_ips` (None: proxy headers
    /// off) the peers whose `X-Forwarded-For` / `X-Forwarded-Proto` set the scope's client
    /// and scheme; `access_log` (None: off) is called as `access_log(client, method, path,
    /// query, http_version, status)` for every response the app gives; `ssl_certfile` and
    /// `ssl_keyfile` (PEM, both or neither) turn TLS on. `ws_max_size` (bytes, at least 1),
    /// `ws_ping_interval` and `ws_ping_timeout` (seconds; 0: no pings, no deadline) are the
    /// WebSocket limits (uvicorn's `--ws-max-size`, `--ws-ping-interval`, `--ws-ping-timeout`).
    #[new]
    #[pyo3(signature = (
        app, *, fused, scope_app, state, tasks, report, event_loop,
        host = None, port = 0, uds = None, fd = None, reuse_port = false, backlog = 2048,
        header_timeout = 10.0, body_timeout = 30.0, write_timeout = 30.0,
        keep_alive_timeout = 5.0, shutdown_timeout = 30.0, max_body_size = 104_857_600,
        max_connections = 16384, root_path = None, forwarded_allow_ips = None,
        access_log = None, ssl_certfile = None, ssl_keyfile = None,
        ws_max_size = 16_777_216, ws_ping_interval = 20.0, ws_ping_timeout = 20.0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app: Py<PyAny>,
        fused: bool,
        scope_app: Option<Py<PyAny>>,
        state: Py<PyDict>,
        tasks: Py<PySet>,
        report: Py<PyAny>,
        event_loop: Py<PyAny>,
        host: Option<String>,
        port: u16,
        uds: Option<String>,
        fd: Option<i32>,
        reuse_port: bool,
        backlog: i32,
        header_timeout: f64,
        body_timeout: f64,
        write_timeout: f64,
        keep_alive_timeout: f64,
        shutdown_timeout: f64,
        max_body_size: u64,
        max_connections: usize,
        root_path: Option<String>,
        forwarded_allow_ips: Option<String>,
        access_log: Option<Py<PyAny>>,
        ssl_certfile: Option<String>,
        ssl_keyfile: Option<String>,
        ws_max_size: usize,
        ws_ping_interval: f64,
        ws_ping_timeout: f64,
    ) -> PyResult<Self> {
        if ws_max_size == 0 {
            return Err(PyValueError::new_err(
                "ws_max_size must be a positive number of bytes, not 0",
            ));
        }
        let websocket = WebSocketConfig {
            max_message_size: ws_max_size,
            ping_interval: optional_seconds(ws_ping_interval, "ws_ping_interval")?,
            ping_timeout: optional_seconds(ws_ping_timeout, "ws_ping_timeout")?,
            ..WebSocketConfig::default()
        };
        let tls = match (ssl_certfile, ssl_keyfile) {
            (Some(cert), Some(key)) => Some(Tls::from_pem_files(cert, key)?),
            (None, None) => None,
            _ => {
                return Err(PyValueError::new_err(
                    "TLS needs both ssl_certfile and ssl_keyfile",
                ));
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let config = Config {
            header_read_timeout: seconds(header_timeout, "header timeout")?,
            body_read_timeout: seconds(body_timeout, "body timeout")?,
            write_timeout: seconds(write_timeout, "write timeout")?,
            keep_alive_timeout: seconds(keep_alive_timeout, "keep-alive timeout")?,
            shutdown_timeout: seconds(shutdown_timeout, "shutdown timeout")?,
            max_body_size,
            max_connections,
            tls,
            websocket,
            ..Config::default()
        };
        let listener = match (uds, fd) {
            (Some(path), _) => Listener::bind_unix(path)?,
            (None, Some(fd)) => {
                // SAFETY: the caller hands this descriptor over; the listener owns it now.
                Listener::from_fd(unsafe { OwnedFd::from_raw_fd(fd) })?
            }
            (None, None) => {
                let host = host.unwrap_or_else(|| "127.0.0.1".to_owned());
                let ip: std::net::IpAddr = host
                    .parse()
                    .map_err(|_| PyValueError::new_err(format!("invalid host address {host:?}")))?;
                let options = TcpOptions {
                    reuse_port,
                    backlog,
                };
                Listener::bind_tcp(SocketAddr::new(ip, port), options)?
            }
        };
        let runtime = Runtime::new()?;
        let eager_start = py.version_info() >= (3, 12);
        // WebSockets go to the ASGI app itself (the fused dispatcher answers http only).
        let websockets = crate::server_ws::WsShared::new(
            py,
            if fused {
                scope_app.as_ref().unwrap_or(&app)
            } else {
                &app
            },
            &state,
            &tasks,
            &report,
            &event_loop,
            runtime.wake_handle(),
            root_path.as_deref(),
            scheme == "https",
        );
        let shared = Rc::new(Shared {
            app,
            fused,
            state,
            tasks,
            catcher: Py::new(py, StepCatcher::default())?,
            queues: loop_queues(event_loop.bind(py)),
            scope_template: scope_template(py, scope_app.as_ref())?.unbind(),
            asgi: {
                let asgi = PyDict::new(py);
                asgi.set_item("version", "3.0")?;
                asgi.set_item("spec_version", "2.4")?;
                asgi.unbind()
            },
            task_class: py.import("asyncio")?.getattr("Task")?.unbind(),
            task_kwnames: if eager_start {
                PyTuple::new(py, ["loop", "context", "eager_start"])?.unbind()
            } else {
                PyTuple::new(py, ["loop", "context"])?.unbind()
            },
            eager_start,
            hosts: RefCell::new(Vec::new()),
            report,
            event_loop,
            wake: runtime.wake_handle(),
            root_path: root_path.unwrap_or_default(),
            scheme,
        });
        let dispatch = ProxyHeaders::new(
            AccessLog::new(
                crate::server_ws::WithWebSockets::new(PyDispatch(shared), websockets),
                access_log.map(PyAccessLog),
            ),
            forwarded_allow_ips.as_deref().map(TrustedHosts::parse),
        );
        let handle = runtime.serve(listener, dispatch, config)?;
        Ok(NativeServer { runtime, handle })
    }

    /// Runs the server, with the GIL released, until `timeout` seconds pass (None: no
    /// timeout), the descriptor `wake_fd` is readable, or Python code needs the loop.
    /// Returns "timed_out", "host_ready" or "woken".
    #[pyo3(signature = (timeout, wake_fd = None))]
    fn turn(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        wake_fd: Option<i32>,
    ) -> PyResult<&'static str> {
        let timeout = match timeout {
            Some(t) if t <= 0.0 => Some(Duration::ZERO),
            Some(t) => Some(Duration::try_from_secs_f64(t).unwrap_or(Duration::from_secs(86400))),
            None => None,
        };
        let runtime = OnThisThread(&self.runtime);
        let wakeup = py.detach(move || {
            let runtime = runtime.get();
            // SAFETY: the caller's descriptor stays open for the call (the selector's own);
            // the runtime keeps its own duplicate of it.
            let fd = wake_fd.map(|fd| unsafe { BorrowedFd::borrow_raw(fd) });
            OnThisThread(runtime.turn(timeout, fd))
        });
        Ok(match wakeup.get()? {
            Wakeup::TimedOut => "timed_out",
            Wakeup::HostReady => "host_ready",
            Wakeup::Woken => "woken",
        })
    }

    /// Stops watching the descriptor last passed to `turn` (before it is closed).
    fn forget_wake_fd(&self) {
        self.runtime.forget_wake_fd();
    }

    /// Starts graceful shutdown: stop accepting, finish the requests in flight.
    fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Whether the server has stopped (listener closed, every connection gone).
    #[getter]
    fn stopped(&self) -> bool {
        self.handle.is_stopped()
    }

    /// The (host, port) the server listens on (None on a Unix socket).
    #[getter]
    fn local_addr(&self) -> Option<(String, u16)> {
        self.handle
            .local_addr()
            .map(|addr| (addr.ip().to_string(), addr.port()))
    }
}

/// Registers the native server's classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeServer>()?;
    m.add_class::<Exchange>()?;
    m.add_class::<Immediate>()?;
    m.add_class::<Continuation>()?;
    m.add_class::<StepCatcher>()?;
    Ok(())
}
