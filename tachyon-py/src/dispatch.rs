//! Glue for `tachyon._dispatch`: the fused request path as one native awaitable.
//!
//! An app whose stack is only the built-in layers (ServerErrorMiddleware, then
//! ExceptionMiddleware, then a plain Router) is served by one object, `FusedDispatch`,
//! decided once when the stack is built (`tachyon._dispatch.dispatcher_for`). Calling it
//! returns a `DispatchCall`: an awaitable that does, in one native frame, what the
//! layers' Python frames did for the common request: route (the native table writes the
//! child scope), build the Request, call a plain function endpoint and step its
//! coroutine, then send the returned plain Response as Starlette's `Response.__call__`
//! does (two ASGI messages, or one `send_response(response)` call for RSGI), then its
//! background task.
//!
//! The endpoint's coroutine is stepped here with `PyIter_Send`, so a handler that never
//! suspends costs no event-loop round trip; one that suspends has what it yields passed
//! up to the task that awaits us, and what the task sends or throws passed down, as
//! `await` would. Everything unusual is handed to a Python coroutine of the same object
//! (`FusedPath` in `tachyon._dispatch`), which this awaitable then drives to its end:
//! a route the table cannot answer alone, a 404, 405 or redirect, a route that is not a
//! plain function endpoint, a Response subclass with its own `__call__`, and every
//! exception (exception handlers, then ServerErrorMiddleware's 500). So the behaviour
//! is the Python code's; only the frames are gone.

use pyo3::exceptions::{PyException, PyStopIteration};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::{PyTraverseError, PyVisit};
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use crate::coroutine::{self, Step};
use crate::router::RouteTable;
use crate::rsgi::LazyScope;

/// The parts of a fused stack, read once from its `FusedPath` when the stack is built.
#[pyclass(module = "tachyon._tachyon", frozen)]
#[derive(Debug)]
pub struct FusedDispatch {
    /// The router (for `scope["router"]` and its compiled table).
    router: Py<PyAny>,
    /// `(exception_handlers, status_handlers)` of the ExceptionMiddleware, written to the
    /// scope under `scope_key` as that layer does.
    handlers: Py<PyAny>,
    scope_key: Py<PyString>,
    /// `tachyon.requests.Request`.
    request_class: Py<PyAny>,
    /// The Request built from a `LazyScope` (RSGI), whose scope is completed when read.
    lazy_request_class: Py<PyAny>,
    /// `Response.__call__`: a response whose type has this `__call__` is sent here.
    plain_call: Py<PyAny>,
    /// The outermost layer, which serves every scope that is not http.
    stack: Py<PyAny>,
    /// The `FusedPath`'s coroutine functions (bound methods) for everything else.
    serve_http: Py<PyAny>,
    serve_found: Py<PyAny>,
    plain_answer: Py<PyAny>,
    finish: Py<PyAny>,
    recover: Py<PyAny>,
    await_any: Py<PyAny>,
    /// The routes (by address) whose endpoint read its request's scope the last time it
    /// was served on a lazy scope (RSGI): they get the whole scope up front, which costs
    /// less than completing it from the Request's first missing attribute.
    reads_scope: Mutex<HashSet<usize>>,
}

impl FusedDispatch {
    fn reads_scope(&self, route: usize) -> bool {
        self.reads_scope
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&route)
    }

    fn learn_reads_scope(&self, route: usize) {
        self.reads_scope
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(route);
    }
}

#[pymethods]
impl FusedDispatch {
    /// Reads what the fused path needs from `path` (a `tachyon._dispatch.FusedPath`).
    #[new]
    fn new(path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| path.getattr(name).map(Bound::unbind);
        Ok(Self {
            router: get("router")?,
            handlers: get("handlers")?,
            scope_key: path.getattr("scope_key")?.cast_into::<PyString>()?.unbind(),
            request_class: get("request_class")?,
            lazy_request_class: get("lazy_request_class")?,
            plain_call: get("plain_call")?,
            stack: get("stack")?,
            serve_http: get("serve_http")?,
            serve_found: get("serve_found")?,
            plain_answer: get("plain_answer")?,
            finish: get("finish")?,
            recover: get("recover")?,
            await_any: get("await_any")?,
            reads_scope: Mutex::new(HashSet::new()),
        })
    }

    /// ASGI: `await dispatcher(scope, receive, send)`. An http scope is served by a
    /// `DispatchCall`; any other goes to the stack's outermost layer.
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        scope: &Bound<'py, PyAny>,
        receive: &Bound<'py, PyAny>,
        send: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        if let Ok(dict) = scope.cast_exact::<PyDict>()
            && is_http(dict)?
        {
            let call = DispatchCall::new(slf, dict, receive, send, None);
            return Ok(Bound::new(py, call)?.into_any());
        }
        slf.get().stack.bind(py).call1((scope, receive, send))
    }

    /// RSGI: serve an http `scope` with a plain Response handed whole to
    /// `send_response(response)` (anything else still goes through `send`).
    fn respond<'py>(
        slf: &Bound<'py, Self>,
        scope: &Bound<'py, PyDict>,
        receive: &Bound<'py, PyAny>,
        send: &Bound<'py, PyAny>,
        send_response: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = DispatchCall::new(slf, scope, receive, send, Some(send_response));
        Ok(Bound::new(slf.py(), call)?.into_any())
    }

    /// As `respond` (the same RSGI objects, so the same parameters written out), for a
    /// scope built only when read (`ScopeConverter.lazy`):
    /// routing works on `lazy.partial`; a plain function endpoint gets a Request that
    /// completes the scope on first read, and everything else (a miss, a 405, a route
    /// that is not a plain function endpoint, any exception) completes it first.
    fn respond_lazy<'py>(
        slf: &Bound<'py, Self>,
        lazy: &Bound<'py, LazyScope>,
        receive: &Bound<'py, PyAny>,
        send: &Bound<'py, PyAny>,
        send_response: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let scope = lazy.get().dict(slf.py());
        let call = DispatchCall {
            lazy: Some(lazy.clone().unbind()),
            ..DispatchCall::new(slf, &scope, receive, send, Some(send_response))
        };
        Ok(Bound::new(slf.py(), call)?.into_any())
    }
}

/// Whether `scope["type"] == "http"`.
fn is_http(scope: &Bound<'_, PyDict>) -> PyResult<bool> {
    match scope.get_item(intern!(scope.py(), "type"))? {
        Some(kind) => match kind.cast::<PyString>() {
            Ok(text) => Ok(text.to_str()? == "http"),
            Err(_) => Ok(false),
        },
        None => Ok(false),
    }
}

/// Where a `DispatchCall` is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    /// Not stepped yet: routing comes first.
    Start,
    /// Driving the endpoint's coroutine.
    Endpoint,
    /// Driving `send(start message)`.
    SendStart,
    /// Driving `send(body message)`.
    SendBody,
    /// Driving the response's background task.
    Background,
    /// Driving a `FusedPath` coroutine to its end (it handles its own errors).
    Tail,
    /// Finished.
    Done,
}

impl Stage {
    /// Whether the response had started when a failure happens in this stage (what
    /// ServerErrorMiddleware and the exception handlers are told).
    fn started(self) -> bool {
        matches!(self, Stage::SendStart | Stage::SendBody | Stage::Background)
    }
}

/// What to pass to the awaitable being driven.
enum Input<'py> {
    Send(Option<Bound<'py, PyAny>>),
    Throw(PyErr),
}

/// One http request through the fused path: an awaitable (its own iterator), stepped by
/// the task that awaits it.
#[pyclass(module = "tachyon._tachyon")]
#[derive(Debug)]
pub struct DispatchCall {
    dispatch: Py<FusedDispatch>,
    scope: Py<PyDict>,
    receive: Py<PyAny>,
    send: Py<PyAny>,
    send_response: Option<Py<PyAny>>,
    /// Set while `scope` is a `LazyScope`'s dict, not yet complete (see `materialize`).
    lazy: Option<Py<LazyScope>>,
    /// The route whose endpoint got a Request on the lazy scope (its address), to learn
    /// whether it read the scope.
    lazy_route: Option<usize>,
    stage: Stage,
    /// The awaitable's iterator being driven (an endpoint, send or tail coroutine).
    inner: Option<Py<PyAny>>,
    request: Option<Py<PyAny>>,
    response: Option<Py<PyAny>>,
}

impl DispatchCall {
    fn new(
        dispatch: &Bound<'_, FusedDispatch>,
        scope: &Bound<'_, PyDict>,
        receive: &Bound<'_, PyAny>,
        send: &Bound<'_, PyAny>,
        send_response: Option<&Bound<'_, PyAny>>,
    ) -> Self {
        Self {
            dispatch: dispatch.clone().unbind(),
            scope: scope.clone().unbind(),
            receive: receive.clone().unbind(),
            send: send.clone().unbind(),
            send_response: send_response.map(|f| f.clone().unbind()),
            lazy: None,
            lazy_route: None,
            stage: Stage::Start,
            inner: None,
            request: None,
            response: None,
        }
    }

    /// Runs until the driven awaitable yields (returned, for the task) or everything is
    /// done (None: StopIteration).
    fn resume(&mut self, py: Python<'_>, mut input: Input<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            let outcome = match self.stage {
                Stage::Done => {
                    return match input {
                        Input::Throw(err) => Err(err),
                        Input::Send(_) => Ok(None),
                    };
                }
                Stage::Start => {
                    if let Input::Throw(err) = input {
                        self.stage = Stage::Done;
                        return Err(err);
                    }
                    if let Err(err) = self.start(py) {
                        self.fail(py, err)?;
                    }
                    input = Input::Send(None);
                    continue;
                }
                _ => match &self.inner {
                    Some(inner) => drive(py, inner.bind(py), input),
                    None => Step::Return(py.None().into_bound(py)),
                },
            };
            input = Input::Send(None);
            match outcome {
                Step::Yield(value) => return Ok(Some(value.unbind())),
                Step::Return(value) => {
                    if let Err(err) = self.advance(py, value) {
                        self.fail(py, err)?;
                    }
                }
                Step::Error(err) => self.fail(py, err)?,
            }
        }
    }

    /// Makes `scope` the whole ASGI scope, if it was a `LazyScope`'s partial dict: done
    /// before anything but the plain endpoint call can see the scope.
    fn materialize(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(lazy) = &self.lazy {
            // The same dict, filled in.
            lazy.get().complete(py)?;
            self.lazy = None;
        }
        Ok(())
    }

    /// After a plain endpoint ran on a lazy scope: whether it read it (see `reads_scope`).
    fn learn(&mut self) {
        if let (Some(route), Some(lazy)) = (self.lazy_route.take(), &self.lazy)
            && lazy.get().completed()
        {
            self.dispatch.get().learn_reads_scope(route);
            self.lazy = None;
        }
    }

    /// Routes the request; on a plain function endpoint starts it, else hands the
    /// request to the Python path.
    fn start(&mut self, py: Python<'_>) -> PyResult<()> {
        // Owned, so that `materialize` can change `self` while it is in use.
        let owner = self.dispatch.clone_ref(py);
        let dispatch = owner.get();
        let scope = self.scope.bind(py).clone();
        scope.set_item(dispatch.scope_key.bind(py), dispatch.handlers.bind(py))?;
        let router = dispatch.router.bind(py);
        let key_router = intern!(py, "router");
        if !scope.contains(key_router)? {
            scope.set_item(key_router, router)?;
        }
        let table = router.getattr(intern!(py, "_table"))?;
        let found = match table.cast::<RouteTable>() {
            Ok(table) => table.get().answer(py, &scope)?,
            Err(_) => py.NotImplemented().into_bound(py),
        };
        if found.is(py.NotImplemented()) {
            // The table cannot answer alone: the Python path routes.
            self.materialize(py)?;
            let scope = self.scope.bind(py).clone();
            let args = (
                scope,
                self.receive.bind(py),
                self.send.bind(py),
                self.send_response(),
            );
            return self.tail(dispatch.serve_http.bind(py).call1(args)?);
        }
        if let Ok(tuple) = found.cast::<pyo3::types::PyTuple>()
            && tuple.len() == 3
        {
            let route = tuple.get_item(0)?;
            let direct = tuple.get_item(2)?;
            if !direct.is_none()
                && route
                    .getattr(intern!(py, "app"))?
                    .is(&route.getattr(intern!(py, "_direct_app"))?)
            {
                let key = route.as_ptr() as usize;
                if self.lazy.is_some() && dispatch.reads_scope(key) {
                    self.materialize(py)?;
                }
                let request = match &self.lazy {
                    Some(lazy) => {
                        self.lazy_route = Some(key);
                        dispatch.lazy_request_class.bind(py).call1((
                            lazy.bind(py),
                            self.receive.bind(py),
                            self.send.bind(py),
                        ))?
                    }
                    None => dispatch.request_class.bind(py).call1((
                        scope,
                        self.receive.bind(py),
                        self.send.bind(py),
                    ))?,
                };
                self.request = Some(request.clone().unbind());
                let awaitable = direct.call1((request,))?;
                self.inner = Some(self.iterator(py, awaitable)?.unbind());
                self.stage = Stage::Endpoint;
                return Ok(());
            }
        }
        // A miss or a wrong method that the default handlers answer: that plain 404 or 405
        // is sent from here, as an endpoint's Response would be.
        self.materialize(py)?;
        let scope = self.scope.bind(py).clone();
        let answer = dispatch.plain_answer.bind(py).call1((&found, &scope))?;
        if !answer.is_none() {
            self.stage = Stage::Endpoint;
            return self.advance(py, answer);
        }
        let args = (
            found,
            scope,
            self.receive.bind(py),
            self.send.bind(py),
            self.send_response(),
        );
        self.tail(dispatch.serve_found.bind(py).call1(args)?)
    }

    /// The next stage after the driven awaitable returned `value`.
    fn advance(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<()> {
        let owner = self.dispatch.clone_ref(py);
        let dispatch = owner.get();
        match self.stage {
            Stage::Endpoint => {
                self.learn();
                let plain = value
                    .get_type()
                    .getattr(intern!(py, "__call__"))
                    .is_ok_and(|call| call.is(dispatch.plain_call.bind(py)));
                if !plain {
                    // Anything but a plain Response (a subclass with its own `__call__`, or
                    // not a response at all) is sent, and fails, the Python way.
                    self.materialize(py)?;
                    let args = (
                        &value,
                        self.request.as_ref().map(|r| r.bind(py)),
                        self.scope.bind(py),
                        self.receive.bind(py),
                        self.send.bind(py),
                    );
                    return self.tail(dispatch.finish.bind(py).call1(args)?);
                }
                self.response = Some(value.clone().unbind());
                if let Some(send_response) = &self.send_response {
                    // Counted as started if it fails: the Python path says the same.
                    self.stage = Stage::SendBody;
                    send_response.bind(py).call1((&value,))?;
                    return self.background(py);
                }
                let message = PyDict::new(py);
                message.set_item(intern!(py, "type"), intern!(py, "http.response.start"))?;
                message.set_item(
                    intern!(py, "status"),
                    value.getattr(intern!(py, "status_code"))?,
                )?;
                message.set_item(
                    intern!(py, "headers"),
                    value.getattr(intern!(py, "raw_headers"))?,
                )?;
                self.stage = Stage::SendStart;
                self.await_send(py, message)
            }
            Stage::SendStart => {
                let response = self.response()?.bind(py).clone();
                let message = PyDict::new(py);
                message.set_item(intern!(py, "type"), intern!(py, "http.response.body"))?;
                message.set_item(intern!(py, "body"), response.getattr(intern!(py, "body"))?)?;
                self.stage = Stage::SendBody;
                self.await_send(py, message)
            }
            Stage::SendBody => self.background(py),
            Stage::Background | Stage::Tail => {
                self.finish_all();
                Ok(())
            }
            Stage::Start | Stage::Done => Ok(()),
        }
    }

    /// After the body: the response's background task, if it has one.
    fn background(&mut self, py: Python<'_>) -> PyResult<()> {
        let response = self.response()?.bind(py).clone();
        let task = response.getattr(intern!(py, "background"))?;
        if task.is_none() {
            self.finish_all();
            return Ok(());
        }
        self.stage = Stage::Background;
        let awaitable = task.call0()?;
        self.inner = Some(self.iterator(py, awaitable)?.unbind());
        Ok(())
    }

    /// Starts driving `send(message)`.
    fn await_send(&mut self, py: Python<'_>, message: Bound<'_, PyDict>) -> PyResult<()> {
        let awaitable = self.send.bind(py).call1((message,))?;
        self.inner = Some(self.iterator(py, awaitable)?.unbind());
        Ok(())
    }

    /// A failure in the current stage: an Exception (or a Rust panic) goes to the Python
    /// error path (handlers, then the 500); anything else (cancellation, exit) propagates.
    fn fail(&mut self, py: Python<'_>, err: PyErr) -> PyResult<()> {
        let server_error = err.is_instance_of::<PyException>(py)
            || err.is_instance_of::<pyo3::panic::PanicException>(py);
        if self.stage == Stage::Tail || !server_error {
            self.finish_all();
            return Err(err);
        }
        if self.stage == Stage::Endpoint {
            self.learn();
        }
        if let Err(failed) = self.materialize(py) {
            // The scope cannot be built (Granian handed over something it cannot be
            // built from): nothing can answer this request but the server.
            self.finish_all();
            return Err(failed);
        }
        let dispatch = self.dispatch.get();
        let args = (
            err.into_value(py),
            self.request.as_ref().map(|r| r.bind(py)),
            self.scope.bind(py),
            self.receive.bind(py),
            self.send.bind(py),
            self.stage.started(),
        );
        match dispatch.recover.bind(py).call1(args) {
            Ok(tail) => self.tail(tail),
            Err(err) => {
                self.finish_all();
                Err(err)
            }
        }
    }

    /// Hands the rest of the request to a `FusedPath` coroutine.
    fn tail(&mut self, coroutine: Bound<'_, PyAny>) -> PyResult<()> {
        self.stage = Stage::Tail;
        self.inner = Some(coroutine.unbind());
        Ok(())
    }

    fn finish_all(&mut self) {
        self.stage = Stage::Done;
        self.inner = None;
    }

    fn response(&self) -> PyResult<&Py<PyAny>> {
        self.response
            .as_ref()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no response"))
    }

    fn send_response(&self) -> Option<&Py<PyAny>> {
        self.send_response.as_ref()
    }

    /// What `await awaitable` would iterate: a coroutine itself, anything else through
    /// the `FusedPath`'s `await_any` coroutine (the interpreter's own rules and errors).
    fn iterator<'py>(
        &self,
        py: Python<'py>,
        awaitable: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: `awaitable` is a valid object reference held for the call.
        if unsafe { ffi::PyCoro_CheckExact(awaitable.as_ptr()) } != 0 {
            return Ok(awaitable);
        }
        self.dispatch.get().await_any.bind(py).call1((awaitable,))
    }
}

/// Steps `inner` once with `input`, as the interpreter's `await` does.
fn drive<'py>(py: Python<'py>, inner: &Bound<'py, PyAny>, input: Input<'py>) -> Step<'py> {
    match input {
        Input::Send(value) => {
            let value = value.unwrap_or_else(|| py.None().into_bound(py));
            coroutine::send(py, inner, &value)
        }
        Input::Throw(err) => {
            coroutine::throw(py, inner, err.into_value(py).into_bound(py).into_any())
        }
    }
}

#[pymethods]
impl DispatchCall {
    /// What the garbage collector may follow (a cycle through a request's objects can
    /// reach this awaitable, say through a stored traceback). Each pyclass lists its own
    /// fields (as `LazyScope` does in rsgi.rs): nothing to share.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.dispatch)?;
        visit.call(&self.scope)?;
        visit.call(&self.receive)?;
        visit.call(&self.send)?;
        visit.call(&self.send_response)?;
        visit.call(&self.lazy)?;
        visit.call(&self.inner)?;
        visit.call(&self.request)?;
        visit.call(&self.response)?;
        Ok(())
    }

    /// Drops what the collector may need to break a cycle (nothing runs afterwards).
    fn __clear__(&mut self) {
        self.stage = Stage::Done;
        self.inner = None;
        self.request = None;
        self.response = None;
        self.send_response = None;
        self.lazy = None;
    }

    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.resume(py, Input::Send(None))
    }

    /// `coroutine.send(value)`: resumes with `value` (what the awaited object expects).
    fn send(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let value = if value.is_none() { None } else { Some(value) };
        match self.resume(py, Input::Send(value))? {
            Some(yielded) => Ok(yielded),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// `coroutine.throw(exc)`: raises `exc` where the request is suspended. (The signature
    /// is the coroutine protocol's, as `Continuation.throw`'s in server.rs; the bodies differ.)
    #[pyo3(signature = (typ, val = None, tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = tb;
        let err = PyErr::from_value(coroutine::thrown(typ, val)?);
        match self.resume(py, Input::Throw(err))? {
            Some(yielded) => Ok(yielded),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    /// `coroutine.close()`: closes what is being driven; nothing more runs.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = self.inner.take();
        self.stage = Stage::Done;
        match inner {
            Some(inner) => coroutine::close(py, inner.bind(py)),
            None => Ok(()),
        }
    }
}

/// A `send` that remembers whether the response has started: what ServerErrorMiddleware
/// and the exception handlers need to know when something fails.
///
/// `tracker(message)` records a start message, then returns `send(message)` itself to be
/// awaited: the same effect as a Python `async def` that awaits it, without a coroutine
/// and frame per message.
#[pyclass(module = "tachyon._exception_handler")]
#[derive(Debug)]
pub struct ResponseTracker {
    /// The `send` every message goes to.
    #[pyo3(get, set)]
    send: Py<PyAny>,
    /// Whether an `http.response.start` message went through.
    #[pyo3(get, set)]
    started: bool,
}

#[pymethods]
impl ResponseTracker {
    #[new]
    fn new(send: Py<PyAny>) -> Self {
        Self {
            send,
            started: false,
        }
    }

    fn __call__<'py>(
        &mut self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = message.get_item(intern!(py, "type"))?;
        if let Ok(kind) = kind.cast::<PyString>()
            && kind.to_str()? == "http.response.start"
        {
            self.started = true;
        }
        self.send.bind(py).call1((message,))
    }
}

/// Registers the dispatcher's classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ResponseTracker>()?;
    m.add_class::<FusedDispatch>()?;
    m.add_class::<DispatchCall>()?;
    Ok(())
}
