//! Glue for `tachyon.rsgi`: Granian's RSGI scope turned into an ASGI scope dict, and
//! ASGI's byte header pairs turned into the str pairs RSGI responses take, in one crossing
//! each. In Python these two conversions were most of what RSGI cost per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use tachyon_core::url::{quote_path, split_address};

use crate::core::decode_value;

/// Python `str.encode("latin-1")` (CPython's own encoder: the same UnicodeEncodeError for a
/// character past U+00FF).
fn latin1_bytes<'py>(text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = text.py();
    if !text.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("header names and values must be str"));
    }
    // SAFETY: `text` is a live str (checked above); a NULL result is turned into the pending
    // Python exception.
    unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyUnicode_AsLatin1String(text.as_ptr())) }
}

/// The ASGI `(host, port)` pair for a `"host:port"` address (tachyon-core's
/// [`split_address`]), or None.
fn address<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let Some((host, port)) = split_address(value.cast::<PyString>()?.to_str()?) else {
        return Ok(py.None().into_bound(py));
    };
    let port = match port.parse::<u64>() {
        Ok(n) => n.into_pyobject(py)?.into_any(),
        // Longer than any u64: Python's int() still takes it.
        Err(_) => py
            .get_type::<pyo3::types::PyInt>()
            .call1((port,))?
            .into_any(),
    };
    Ok(PyTuple::new(py, [PyString::new(py, host).into_any(), port])?.into_any())
}

/// The keys of an ASGI http scope built from an RSGI one, in the order servers write them.
const HTTP_KEYS: [&str; 14] = [
    "type",
    "asgi",
    "http_version",
    "server",
    "client",
    "scheme",
    "method",
    "root_path",
    "path",
    "raw_path",
    "query_string",
    "headers",
    "state",
    "extensions",
];

/// A scope dict with every key in place: the constant values set, the others None. Each
/// request's scope starts as a copy of it (one block copy, no inserts or resizes), and then
/// only replaces values.
fn template<'py>(
    py: Python<'py>,
    kind: &str,
    asgi: &Bound<'py, PyDict>,
    extensions: &Bound<'py, PyDict>,
) -> PyResult<Py<PyDict>> {
    let out = PyDict::new(py);
    for key in HTTP_KEYS {
        if kind == "websocket" && key == "method" {
            continue;
        }
        // Interned, so a request's `intern!` key finds the slot by identity.
        out.set_item(PyString::intern(py, key), py.None())?;
    }
    out.set_item(intern!(py, "type"), kind)?;
    out.set_item(intern!(py, "asgi"), asgi)?;
    out.set_item(intern!(py, "root_path"), intern!(py, ""))?;
    out.set_item(intern!(py, "extensions"), extensions)?;
    Ok(out.unbind())
}

/// The last `"host:port"` string parsed and its tuple: a server's own address repeats on
/// every request, so it is parsed once.
#[derive(Debug, Default)]
struct AddressCache(Mutex<Option<(String, Py<PyAny>)>>);

impl AddressCache {
    fn get<'py>(&self, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let text = value.cast::<PyString>()?.to_str()?;
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, parsed)) = last.as_ref()
            && key == text
        {
            return Ok(parsed.bind(py).clone());
        }
        let parsed = address(py, value)?;
        *last = Some((text.to_owned(), parsed.clone().unbind()));
        Ok(parsed)
    }
}

/// Builds ASGI scope dicts from RSGI scopes; holds the constant parts every scope shares.
#[pyclass(frozen, module = "tachyon._tachyon")]
#[derive(Debug)]
pub struct ScopeConverter {
    http: Py<PyDict>,
    websocket: Py<PyDict>,
    server: AddressCache,
}

#[pymethods]
impl ScopeConverter {
    /// `http_asgi` / `ws_asgi` become the scopes' `"asgi"` entries, `extensions` their
    /// `"extensions"` (shared, as a server shares them).
    #[new]
    fn new(
        http_asgi: &Bound<'_, PyDict>,
        ws_asgi: &Bound<'_, PyDict>,
        extensions: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let py = http_asgi.py();
        Ok(Self {
            http: template(py, "http", http_asgi, extensions)?,
            websocket: template(py, "websocket", ws_asgi, extensions)?,
            server: AddressCache::default(),
        })
    }

    /// The ASGI scope for an RSGI `scope` (http or ws), with a copy of `state` (or `{}`).
    ///
    /// Granian hands over the path already percent-decoded, so `raw_path` is re-encoded from
    /// it. A websocket scope gets type "websocket", scheme ws/wss and no method; its
    /// `subprotocols` are the caller's to add. Header names and values are encoded as
    /// latin-1 (UnicodeEncodeError past U+00FF), the query string as UTF-8.
    #[pyo3(signature = (scope, state = None))]
    fn convert<'py>(
        &self,
        scope: &Bound<'py, PyAny>,
        state: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = scope.py();
        let websocket = scope
            .getattr(intern!(py, "proto"))?
            .cast::<PyString>()?
            .to_str()?
            == "ws";
        let (out, path) = self.begin(scope, websocket)?;
        self.fill_rest(&out, scope, &path, websocket, state)?;
        Ok(out)
    }

    /// An http `scope`'s ASGI scope, built only when something reads it: a `LazyScope`
    /// whose dict has, until `complete()`, only what routing reads (`type`, `method`,
    /// `root_path`, `path`) filled in. None for a websocket scope.
    #[pyo3(signature = (scope, state = None))]
    fn lazy<'py>(
        slf: &Bound<'py, Self>,
        scope: &Bound<'py, PyAny>,
        state: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Option<LazyScope>> {
        let py = slf.py();
        let proto = scope.getattr(intern!(py, "proto"))?;
        if proto.cast::<PyString>()?.to_str()? != "http" {
            return Ok(None);
        }
        let (dict, path) = slf.get().begin(scope, false)?;
        let fill = RsgiFill {
            converter: slf.clone().unbind(),
            rsgi: scope.clone().unbind(),
            state: state.map(|s| s.clone().unbind()),
            path: path.unbind(),
        };
        Ok(Some(LazyScope::new(dict, Box::new(fill))))
    }
}

/// What fills in an RSGI request's `LazyScope`: Granian's scope, converted.
#[derive(Debug)]
struct RsgiFill {
    converter: Py<ScopeConverter>,
    rsgi: Py<PyAny>,
    state: Option<Py<PyDict>>,
    path: Py<PyAny>,
}

impl ScopeFill for RsgiFill {
    fn fill(&self, dict: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = dict.py();
        self.converter.get().fill_rest(
            dict,
            self.rsgi.bind(py),
            self.path.bind(py),
            false,
            self.state.as_ref().map(|s| s.bind(py)),
        )
    }

    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.converter)?;
        visit.call(&self.rsgi)?;
        visit.call(&self.state)?;
        visit.call(&self.path)
    }
}

impl ScopeConverter {
    /// The scope dict with what routing reads filled in (`type`, `method` for http,
    /// `root_path`, `path`; the other keys are in place, valued None), and the path.
    fn begin<'py>(
        &self,
        scope: &Bound<'py, PyAny>,
        websocket: bool,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyAny>)> {
        let py = scope.py();
        let out = if websocket {
            self.websocket.bind(py).copy()?
        } else {
            let out = self.http.bind(py).copy()?;
            out.set_item(intern!(py, "method"), scope.getattr(intern!(py, "method"))?)?;
            out
        };
        let path = scope.getattr(intern!(py, "path"))?;
        out.set_item(intern!(py, "path"), &path)?;
        Ok((out, path))
    }

    /// Fills in everything `begin` left out.
    fn fill_rest<'py>(
        &self,
        out: &Bound<'py, PyDict>,
        scope: &Bound<'py, PyAny>,
        path: &Bound<'py, PyAny>,
        websocket: bool,
        state: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        let py = scope.py();
        out.set_item(
            intern!(py, "http_version"),
            scope.getattr(intern!(py, "http_version"))?,
        )?;
        out.set_item(
            intern!(py, "server"),
            self.server
                .get(py, &scope.getattr(intern!(py, "server"))?)?,
        )?;
        out.set_item(
            intern!(py, "client"),
            address(py, &scope.getattr(intern!(py, "client"))?)?,
        )?;
        let scheme = scope.getattr(intern!(py, "scheme"))?;
        if websocket {
            let secure = scheme.cast::<PyString>()?.to_str()? == "https";
            out.set_item(
                intern!(py, "scheme"),
                if secure {
                    intern!(py, "wss")
                } else {
                    intern!(py, "ws")
                },
            )?;
        } else {
            out.set_item(intern!(py, "scheme"), scheme)?;
        }
        out.set_item(
            intern!(py, "raw_path"),
            PyBytes::new(
                py,
                quote_path(path.cast::<PyString>()?.to_str()?).as_bytes(),
            ),
        )?;
        let query = scope.getattr(intern!(py, "query_string"))?;
        out.set_item(
            intern!(py, "query_string"),
            PyBytes::new(py, query.cast::<PyString>()?.to_str()?.as_bytes()),
        )?;

        let items = scope
            .getattr(intern!(py, "headers"))?
            .call_method0(intern!(py, "items"))?;
        let headers = PyList::empty(py);
        for item in items.try_iter()? {
            let item = item?;
            let pair = item.cast::<PyTuple>()?;
            if pair.len() != 2 {
                return Err(PyTypeError::new_err(
                    "header items must be (name, value) pairs",
                ));
            }
            let name = latin1_bytes(&*pair.get_borrowed_item(0)?)?;
            let value = latin1_bytes(&*pair.get_borrowed_item(1)?)?;
            headers.append(PyTuple::new(py, [name, value])?)?;
        }
        out.set_item(intern!(py, "headers"), headers)?;
        let state = match state {
            Some(state) => state.copy()?,
            None => PyDict::new(py),
        };
        out.set_item(intern!(py, "state"), state)?;
        Ok(())
    }
}

/// What completes a `LazyScope`'s dict: each server's own (RSGI's converts Granian's
/// scope; the native server's builds from the request it parsed).
pub(crate) trait ScopeFill: Send + Sync + std::fmt::Debug {
    /// Sets, in `dict`, the values of every key that was left out (in place: the dict's
    /// key order stays as it is).
    fn fill(&self, dict: &Bound<'_, PyDict>) -> PyResult<()>;

    /// Visits the Python objects held (for the garbage collector).
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError>;
}

/// One http request's ASGI scope, built only when something reads it.
///
/// Building a whole scope costs more than the rest of a small request (under RSGI,
/// Granian's attribute getters build new objects on every read; on any server the headers
/// become a list of byte pairs), and a handler that never reads its request does not need
/// it. The dict is the one the eager conversion would give, every key in place, but until
/// `complete()` only what routing reads has its value (at least `type`, `method`,
/// `root_path`, `path`); it must not reach anyone else before then. `complete()` fills in
/// the rest, in place, once: so keys the router added stay after the server's, as they
/// would be.
#[pyclass(module = "tachyon._tachyon", frozen)]
#[derive(Debug)]
pub struct LazyScope {
    dict: Py<PyDict>,
    fill: Box<dyn ScopeFill>,
    done: AtomicBool,
}

impl LazyScope {
    /// A scope whose `dict` is complete once `fill` has filled it in.
    pub(crate) fn new(dict: Bound<'_, PyDict>, fill: Box<dyn ScopeFill>) -> Self {
        Self {
            dict: dict.unbind(),
            fill,
            done: AtomicBool::new(false),
        }
    }

    /// The dict (complete or not: see the type's documentation).
    pub(crate) fn dict<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.dict.bind(py).clone()
    }
}

#[pymethods]
impl LazyScope {
    /// The dict routing reads and writes, before it is complete.
    #[getter]
    fn partial<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        self.dict(py)
    }

    /// The whole ASGI scope (filled in on the first call; the same dict every time).
    pub(crate) fn complete<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = self.dict(py);
        if !self.done.load(Ordering::Relaxed) {
            self.fill.fill(&dict)?;
            self.done.store(true, Ordering::Relaxed);
        }
        Ok(dict)
    }

    /// Whether `complete()` has run.
    #[getter]
    pub(crate) fn completed(&self) -> bool {
        self.done.load(Ordering::Relaxed)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.dict)?;
        self.fill.traverse(&visit)
    }
}

/// ASGI response headers (`(bytes, bytes)` pairs) as the `(str, str)` pairs RSGI's
/// `response_*` methods take, decoded as latin-1.
#[pyfunction]
fn str_headers<'py>(headers: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let py = headers.py();
    let out = PyList::empty(py);
    for item in headers.try_iter()? {
        let item = item?;
        let (name, value) = match item.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
            _ => {
                let parts = item.try_iter()?.collect::<PyResult<Vec<_>>>()?;
                let [name, value] = <[_; 2]>::try_from(parts)
                    .map_err(|_| PyTypeError::new_err("headers must be (name, value) pairs"))?;
                (name, value)
            }
        };
        out.append(PyTuple::new(
            py,
            [decode_value(&name)?, decode_value(&value)?],
        )?)?;
    }
    Ok(out)
}

/// Registers the RSGI helpers on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ScopeConverter>()?;
    m.add_class::<LazyScope>()?;
    m.add_function(wrap_pyfunction!(str_headers, m)?)?;
    Ok(())
}
