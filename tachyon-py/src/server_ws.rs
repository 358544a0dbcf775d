//! WebSockets for `tachyon.native_server`: the ASGI side of `tachyon_server::WebSocket`.
//!
//! `WithWebSockets` wraps the native server's HTTP dispatcher and takes its WebSocket
//! handshakes: each becomes an ASGI `websocket` scope (built as uvicorn builds it) and a
//! `WebSocketExchange` (its `receive`, and the object itself as `send`), and the app's
//! `app(scope, receive, send)` runs as an ordinary asyncio task. The messages are the ASGI
//! spec's (`websocket.connect / accept / receive / send / close / disconnect`, and the
//! `websocket.http.response` extension, which uvicorn offers too); what happens at each edge
//! (close codes, a handshake never answered, an app done without closing) is uvicorn's, and
//! `tachyon_server`'s `ws` module documents it. The framing and limits are the server's.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PySet, PyString, PyTuple};
use tachyon_server::{
    Dispatch, Forwarded, Peer, Reply, RequestBody, ResponseBody, WakeHandle, WebSocket, WsError,
    WsEvent, WsMessage,
};
use tokio::sync::Notify;

/// What every WebSocket of one server shares.
pub(crate) struct WsShared {
    /// The ASGI app (never the fused dispatcher: it answers http requests only).
    app: Py<PyAny>,
    /// The lifespan state, copied into each scope.
    state: Py<PyDict>,
    /// The tasks in flight (the loop keeps only weak references to its tasks).
    tasks: Py<PySet>,
    /// `report(exc, message)`: logs a failure as uvicorn does.
    report: Py<PyAny>,
    event_loop: Py<PyAny>,
    /// Makes the current turn return, so the loop runs what was scheduled on it.
    wake: WakeHandle,
    root_path: String,
    /// "wss" with TLS, else "ws" (unless a trusted proxy says otherwise).
    scheme: &'static str,
}

impl WsShared {
    /// What the native server's WebSockets need; `app` is the ASGI app.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        py: Python<'_>,
        app: &Py<PyAny>,
        state: &Py<PyDict>,
        tasks: &Py<PySet>,
        report: &Py<PyAny>,
        event_loop: &Py<PyAny>,
        wake: WakeHandle,
        root_path: Option<&str>,
        tls: bool,
    ) -> Rc<WsShared> {
        Rc::new(WsShared {
            app: app.clone_ref(py),
            state: state.clone_ref(py),
            tasks: tasks.clone_ref(py),
            report: report.clone_ref(py),
            event_loop: event_loop.clone_ref(py),
            wake,
            root_path: root_path.unwrap_or_default().to_owned(),
            scheme: if tls { "wss" } else { "ws" },
        })
    }
}

/// A dispatcher that sends WebSocket handshakes to the Python app and everything else to
/// `inner`.
pub(crate) struct WithWebSockets<D> {
    inner: D,
    shared: Rc<WsShared>,
}

impl<D> WithWebSockets<D> {
    /// Wraps `inner` (the http dispatcher).
    pub(crate) fn new(inner: D, shared: Rc<WsShared>) -> Self {
        WithWebSockets { inner, shared }
    }
}

impl<D: Dispatch> Dispatch for WithWebSockets<D> {
    fn dispatch(&self, request: Request<RequestBody>, peer: &Peer) -> Reply {
        self.inner.dispatch(request, peer)
    }

    fn accepts_websockets(&self) -> bool {
        true
    }

    fn dispatch_websocket(&self, request: Request<()>, peer: &Peer, socket: WebSocket) {
        let shared = self.shared.clone();
        Python::attach(|py| {
            if let Err(err) = start(py, &shared, &request, peer, socket) {
                // The socket is gone with the error: the client gets a 500.
                report(py, &shared, Some(err), None);
            }
        });
    }
}

fn report(py: Python<'_>, shared: &WsShared, err: Option<PyErr>, message: Option<&str>) {
    let exc = err.map(|err| err.into_value(py));
    if let Err(err) = shared.report.bind(py).call1((exc, message)) {
        err.write_unraisable(py, None);
    }
}

/// `(host, port)` or None. (server.rs keeps a cache of these strings for its hot path; a
/// WebSocket handshake is rare enough to format its own.)
fn address(py: Python<'_>, addr: Option<SocketAddr>) -> PyResult<Bound<'_, PyAny>> {
    match addr {
        Some(addr) => Ok((addr.ip().to_string(), addr.port())
            .into_pyobject(py)?
            .into_any()),
        None => Ok(py.None().into_bound(py)),
    }
}

/// The ASGI websocket scope of a handshake, keys in uvicorn's order.
fn scope<'py>(
    py: Python<'py>,
    shared: &WsShared,
    request: &Request<()>,
    peer: &Peer,
    subprotocols: &[String],
) -> PyResult<Bound<'py, PyDict>> {
    let scope = PyDict::new(py);
    scope.set_item("type", "websocket")?;
    let asgi = PyDict::new(py);
    asgi.set_item("version", "3.0")?;
    asgi.set_item("spec_version", "2.4")?;
    scope.set_item("asgi", asgi)?;
    scope.set_item("http_version", "1.1")?;
    let forwarded = request.extensions().get::<Forwarded>();
    // uvicorn's proxy headers: a forwarded "http(s)" is "ws(s)" on a WebSocket.
    let scheme = match forwarded.and_then(|f| f.scheme) {
        Some("https" | "wss") => "wss",
        Some("http" | "ws") => "ws",
        _ => shared.scheme,
    };
    scope.set_item("scheme", scheme)?;
    scope.set_item("server", address(py, peer.local)?)?;
    match forwarded.and_then(|f| f.client.as_ref()) {
        Some(client) => scope.set_item("client", client)?,
        None => scope.set_item("client", address(py, peer.remote)?)?,
    }
    let root = shared.root_path.as_str();
    let raw_path = request.uri().path();
    let path = percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy();
    scope.set_item("root_path", root)?;
    scope.set_item("path", format!("{root}{path}"))?;
    scope.set_item(
        "raw_path",
        PyBytes::new(py, format!("{root}{raw_path}").as_bytes()),
    )?;
    let query = request.uri().query().unwrap_or("");
    scope.set_item("query_string", PyBytes::new(py, query.as_bytes()))?;
    let mut headers = Vec::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        headers.push(PyTuple::new(
            py,
            [
                PyBytes::new(py, name.as_str().as_bytes()),
                PyBytes::new(py, value.as_bytes()),
            ],
        )?);
    }
    scope.set_item("headers", PyList::new(py, headers)?)?;
    scope.set_item("subprotocols", PyList::new(py, subprotocols)?)?;
    scope.set_item("state", shared.state.bind(py).copy()?)?;
    let extensions = PyDict::new(py);
    extensions.set_item("websocket.http.response", PyDict::new(py))?;
    scope.set_item("extensions", extensions)?;
    Ok(scope)
}

/// Runs `app(scope, receive, send)` for a handshake, as an asyncio task.
fn start(
    py: Python<'_>,
    shared: &Rc<WsShared>,
    request: &Request<()>,
    peer: &Peer,
    socket: WebSocket,
) -> PyResult<()> {
    let scope = scope(py, shared, request, peer, socket.subprotocols())?;
    let socket = Rc::new(socket);
    let pump = Rc::new(Pump::default());
    let exchange = Bound::new(
        py,
        WebSocketExchange {
            shared: shared.clone(),
            socket: Some(socket.clone()),
            connect_sent: false,
            denial: None,
            pump: pump.clone(),
        },
    )?;
    tachyon_server::spawn(run_pump(pump, socket, shared.wake.clone()));
    let receive = exchange.getattr(intern!(py, "receive"))?;
    let coroutine = shared
        .app
        .bind(py)
        .call1((scope, receive, exchange.clone()))?;
    let task = shared
        .event_loop
        .bind(py)
        .call_method1(intern!(py, "create_task"), (coroutine,))?;
    shared.tasks.bind(py).add(&task)?;
    task.call_method1(
        intern!(py, "add_done_callback"),
        (exchange.getattr(intern!(py, "task_done"))?,),
    )?;
    shared.wake.wake();
    Ok(())
}

/// The futures the app awaits on: `receive()` calls waiting for a message, `send()` calls
/// waiting for the client to take what was queued. Python code runs outside the server's
/// runtime, so it cannot start a wait of the server's: each WebSocket has a task of the
/// server's (`run_pump`) that waits for it and resolves these futures.
#[derive(Default)]
struct Waiters {
    receive: VecDeque<Py<PyAny>>,
    writable: Vec<Py<PyAny>>,
    /// An event received for a `receive()` whose future was cancelled meanwhile: the next
    /// `receive()` gets it.
    stash: Option<WsEvent>,
    /// The app is done: the pump ends.
    done: bool,
}

#[derive(Default)]
struct Pump {
    waiters: RefCell<Waiters>,
    /// The waiters changed.
    changed: Notify,
}

/// `future.set_result(value)`; false if the future was already done (cancelled).
fn resolve(py: Python<'_>, future: &Py<PyAny>, value: &Bound<'_, PyAny>) -> bool {
    let future = future.bind(py);
    let result = future
        .call_method0(intern!(py, "done"))
        .and_then(|done| done.is_truthy())
        .and_then(|done| {
            if done {
                return Ok(false);
            }
            future.call_method1(intern!(py, "set_result"), (value,))?;
            Ok(true)
        });
    result.unwrap_or_else(|err| {
        err.write_unraisable(py, None);
        false
    })
}

/// Resolves a WebSocket's waiting futures (see `Waiters`) until the app is done.
async fn run_pump(pump: Rc<Pump>, socket: Rc<WebSocket>, wake: WakeHandle) {
    loop {
        let changed = pump.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let (want_receive, want_writable) = {
            let waiters = pump.waiters.borrow();
            if waiters.done {
                return;
            }
            (!waiters.receive.is_empty(), !waiters.writable.is_empty())
        };
        tokio::select! {
            event = socket.recv(), if want_receive => {
                Python::attach(|py| -> PyResult<()> {
                    let message = message_dict(py, event.clone())?;
                    let mut waiters = pump.waiters.borrow_mut();
                    while let Some(future) = waiters.receive.pop_front() {
                        if resolve(py, &future, message.as_any()) {
                            return Ok(());
                        }
                    }
                    waiters.stash = Some(event);
                    Ok(())
                })
                .unwrap_or_else(|err| Python::attach(|py| err.write_unraisable(py, None)));
                wake.wake();
            }
            () = socket.writable(), if want_writable => {
                let futures = std::mem::take(&mut pump.waiters.borrow_mut().writable);
                Python::attach(|py| {
                    for future in &futures {
                        resolve(py, future, &py.None().into_bound(py));
                    }
                });
                wake.wake();
            }
            () = &mut changed => {}
        }
    }
}

/// A `websocket.http.response` being sent: its status and headers, and the body so far.
struct Denial {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// One WebSocket's ASGI `receive` and `send` (`__call__`), on the native server.
#[pyclass(module = "tachyon._tachyon", unsendable)]
pub struct WebSocketExchange {
    shared: Rc<WsShared>,
    /// None once the app's task is done.
    socket: Option<Rc<WebSocket>>,
    connect_sent: bool,
    denial: Option<Denial>,
    pump: Rc<Pump>,
}

impl std::fmt::Debug for WebSocketExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketExchange")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

fn message_dict<'py>(py: Python<'py>, event: WsEvent) -> PyResult<Bound<'py, PyDict>> {
    let message = PyDict::new(py);
    match event {
        WsEvent::Message(WsMessage::Text(text)) => {
            message.set_item("type", "websocket.receive")?;
            message.set_item("text", text)?;
        }
        WsEvent::Message(WsMessage::Binary(bytes)) => {
            message.set_item("type", "websocket.receive")?;
            message.set_item("bytes", PyBytes::new(py, &bytes))?;
        }
        WsEvent::Closed { code, reason } => {
            message.set_item("type", "websocket.disconnect")?;
            message.set_item("code", code)?;
            message.set_item("reason", reason)?;
        }
    }
    Ok(message)
}

fn disconnected() -> PyErr {
    PyOSError::new_err("the client disconnected")
}

fn header_map(headers: Option<Bound<'_, PyAny>>) -> PyResult<HeaderMap> {
    let mut map = HeaderMap::new();
    let Some(headers) = headers else {
        return Ok(map);
    };
    for item in headers.try_iter()? {
        let (name, value): (Vec<u8>, Vec<u8>) = item?.extract()?;
        let name = HeaderName::from_bytes(&name)
            .map_err(|e| PyRuntimeError::new_err(format!("invalid header name: {e}")))?;
        let value = HeaderValue::from_bytes(&value)
            .map_err(|e| PyRuntimeError::new_err(format!("invalid header value: {e}")))?;
        map.append(name, value);
    }
    Ok(map)
}

impl WebSocketExchange {
    fn socket(&self) -> PyResult<&Rc<WebSocket>> {
        self.socket
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the WebSocket's app is done"))
    }

    /// A future already resolved with `value`.
    fn done<'py>(&self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Py<PyAny>> {
        let future = self
            .shared
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        future.call_method1(intern!(py, "set_result"), (value,))?;
        Ok(future.unbind())
    }

    /// A pending future of the loop's, which the pump resolves.
    fn pending<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))
    }

    fn handshake_message(&mut self, kind: &str, message: &Bound<'_, PyDict>) -> PyResult<()> {
        let socket = self.socket()?.clone();
        if let Some(denial) = &mut self.denial {
            if kind != "websocket.http.response.body" {
                return Err(PyRuntimeError::new_err(format!(
                    "Expected ASGI message 'websocket.http.response.body' but got '{kind}'."
                )));
            }
            if let Some(body) = message.get_item("body")? {
                denial
                    .body
                    .extend_from_slice(body.cast::<PyBytes>()?.as_bytes());
            }
            let more = match message.get_item("more_body")? {
                Some(more) => more.is_truthy()?,
                None => false,
            };
            if !more {
                let denial = self.denial.take().expect("matched above");
                let mut response = Response::new(ResponseBody::full(Bytes::from(denial.body)));
                *response.status_mut() = denial.status;
                *response.headers_mut() = denial.headers;
                response
                    .headers_mut()
                    .entry(header::CONTENT_TYPE)
                    .or_insert(HeaderValue::from_static("text/plain; charset=utf-8"));
                return socket.reject(response).map_err(|_| disconnected());
            }
            return Ok(());
        }
        match kind {
            "websocket.accept" => {
                let subprotocol: Option<String> = match message.get_item("subprotocol")? {
                    Some(p) if !p.is_none() => Some(p.extract()?),
                    _ => None,
                };
                let headers = header_map(message.get_item("headers")?)?;
                socket
                    .accept(subprotocol.as_deref(), headers)
                    .map_err(|_| disconnected())
            }
            "websocket.close" => {
                // As uvicorn: a close before accepting is an empty 403.
                let mut response = Response::new(ResponseBody::empty());
                *response.status_mut() = StatusCode::FORBIDDEN;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                socket.reject(response).map_err(|_| disconnected())
            }
            "websocket.http.response.start" => {
                let status: u16 = message
                    .get_item("status")?
                    .ok_or_else(|| {
                        PyRuntimeError::new_err("websocket.http.response.start without a status")
                    })?
                    .extract()?;
                let status = StatusCode::from_u16(status)
                    .ok()
                    .filter(|s| (100..600).contains(&s.as_u16()))
                    .ok_or_else(|| {
                        PyRuntimeError::new_err(format!(
                            "Invalid HTTP status code '{status}' in response."
                        ))
                    })?;
                self.denial = Some(Denial {
                    status,
                    headers: header_map(message.get_item("headers")?)?,
                    body: Vec::new(),
                });
                Ok(())
            }
            other => Err(PyRuntimeError::new_err(format!(
                "Expected ASGI message 'websocket.accept', 'websocket.close' or \
                 'websocket.http.response.start' but got '{other}'."
            ))),
        }
    }
}

#[pymethods]
impl WebSocketExchange {
    /// ASGI `receive()`: `websocket.connect` first, then each message the client sends
    /// (`websocket.receive`), then `websocket.disconnect` with the close code and reason.
    fn receive(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if !self.connect_sent {
            self.connect_sent = true;
            let message = PyDict::new(py);
            message.set_item("type", "websocket.connect")?;
            return self.done(py, message.into_any());
        }
        let stashed = self.pump.waiters.borrow_mut().stash.take();
        if let Some(event) = stashed.or_else(|| self.socket.as_ref()?.try_recv()) {
            return self.done(py, message_dict(py, event)?.into_any());
        }
        self.socket()?;
        let future = self.pending(py)?;
        let mut waiters = self.pump.waiters.borrow_mut();
        waiters.receive.push_back(future.clone().unbind());
        drop(waiters);
        self.pump.changed.notify_waiters();
        Ok(future.unbind())
    }

    /// ASGI `send(message)`.
    fn __call__(&mut self, py: Python<'_>, message: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        let kind: String = message
            .get_item("type")?
            .ok_or_else(|| PyRuntimeError::new_err("ASGI message without a type"))?
            .extract()?;
        let socket = self.socket()?.clone();
        if socket.is_disconnected() && self.denial.is_none() {
            return Err(disconnected());
        }
        if !socket.is_accepted() {
            self.handshake_message(&kind, message)?;
            return self.done(py, py.None().into_bound(py));
        }
        let result = match kind.as_str() {
            "websocket.send" => {
                let bytes = message.get_item("bytes")?.filter(|b| !b.is_none());
                let text = message.get_item("text")?.filter(|t| !t.is_none());
                let outgoing = match (bytes, text) {
                    (Some(bytes), _) => WsMessage::Binary(Bytes::copy_from_slice(
                        bytes.cast::<PyBytes>()?.as_bytes(),
                    )),
                    (None, Some(text)) => {
                        WsMessage::Text(text.cast::<PyString>()?.to_str()?.to_owned())
                    }
                    (None, None) => {
                        return Err(PyRuntimeError::new_err(
                            "websocket.send needs 'bytes' or 'text'",
                        ));
                    }
                };
                socket.send(outgoing)
            }
            "websocket.close" => {
                let code: u16 = match message.get_item("code")? {
                    Some(code) if !code.is_none() => code.extract()?,
                    _ => 1000,
                };
                let reason: String = match message.get_item("reason")? {
                    Some(reason) if !reason.is_none() => reason.extract()?,
                    _ => String::new(),
                };
                socket.close(code, &reason)
            }
            other => {
                return Err(PyRuntimeError::new_err(format!(
                    "Expected ASGI message 'websocket.send' or 'websocket.close', but got '{other}'."
                )));
            }
        };
        match result {
            Ok(()) => {}
            Err(WsError::Disconnected) => return Err(disconnected()),
            Err(_) => {
                return Err(PyRuntimeError::new_err(format!(
                    "Unexpected ASGI message '{kind}', after sending 'websocket.close'."
                )));
            }
        }
        if socket.is_backed_up() {
            let future = self.pending(py)?;
            let mut waiters = self.pump.waiters.borrow_mut();
            waiters.writable.push(future.clone().unbind());
            drop(waiters);
            self.pump.changed.notify_waiters();
            return Ok(future.unbind());
        }
        self.done(py, py.None().into_bound(py))
    }

    /// The done callback of the app's task: tells the server the app is done (a handshake
    /// it never answered becomes a 500) and logs a failure as uvicorn does.
    fn task_done(&mut self, py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        let shared = self.shared.clone();
        shared.tasks.bind(py).discard(task)?;
        let Some(socket) = self.socket.take() else {
            return Ok(());
        };
        let gone = socket.is_disconnected();
        let answered = socket.is_accepted() || gone;
        socket.finish();
        drop(socket);
        self.pump.waiters.borrow_mut().done = true;
        self.pump.changed.notify_waiters();
        let exc = if task.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            None
        } else {
            let exc = task.call_method0(intern!(py, "exception"))?;
            (!exc.is_none()).then_some(exc)
        };
        // A send that failed because the client left is not the app's fault (uvicorn's
        // ClientDisconnected is not logged either).
        let exc = exc.filter(|exc| !(gone && exc.is_instance_of::<PyOSError>()));
        let message = (exc.is_none() && !answered)
            .then_some("ASGI callable returned without completing handshake.");
        if exc.is_some() || message.is_some() {
            shared.report.bind(py).call1((exc, message))?;
        }
        shared.wake.wake();
        Ok(())
    }
}

/// Registers the WebSocket glue's classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<WebSocketExchange>()?;
    Ok(())
}
