//! Glue for `tachyon.responses`: `JSONResponse.__init__` in native code.
//!
//! Building a small JSONResponse is on nearly every request. As a Python `__init__` its
//! own frame, argument binding and the `b"%d" % len(body)` formatting cost several times
//! the JSON encoding itself; here the common case (no extra headers, no media type, the
//! class itself) sets the same four attributes in one native call, and everything else is
//! handed to `Response.__init__` as the Python code did.

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple, PyType};

/// What `json_response_init` needs from `tachyon.responses`, given once at import.
struct Setup {
    /// `JSONResponse` itself: subclasses take the general path (they may override render).
    cls: Py<PyType>,
    /// `Response.__init__`, for the general path.
    response_init: Py<PyAny>,
    /// The shared `(b"content-type", b"application/json")` header pair.
    content_type: Py<PyTuple>,
    /// `b"content-length"`.
    content_length: Py<PyBytes>,
}

static SETUP: PyOnceLock<Setup> = PyOnceLock::new();

unsafe extern "C" {
    // Part of CPython's C API (not of the limited API), missing from pyo3-ffi: a bound
    // method of `func` on `obj`, as a Python function's `__get__` makes.
    fn PyMethod_New(func: *mut ffi::PyObject, obj: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// A native function that binds to instances as a method, so it can be a class's
/// `__init__`; read on the class itself it is `python` instead, a Python function with
/// the same behaviour, so `inspect.signature`, `help()` and explicit
/// `Class.__init__(self, ...)` calls see an ordinary function.
#[pyclass(frozen, module = "tachyon._tachyon")]
#[derive(Debug)]
pub struct NativeMethod {
    native: Py<PyAny>,
    python: Py<PyAny>,
}

#[pymethods]
impl NativeMethod {
    /// `native` is bound to instances; `python` is what the class attribute reads as.
    #[new]
    fn new(native: Py<PyAny>, python: Py<PyAny>) -> Self {
        Self { native, python }
    }

    fn __get__<'py>(
        &self,
        py: Python<'py>,
        obj: Option<&Bound<'py, PyAny>>,
        _owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match obj {
            // SAFETY: both objects are live; a NULL result is turned into the pending
            // Python exception.
            Some(obj) => unsafe {
                Bound::from_owned_ptr_or_err(py, PyMethod_New(self.native.as_ptr(), obj.as_ptr()))
            },
            None => Ok(self.python.bind(py).clone()),
        }
    }
}

/// Gives `json_response_init` the JSONResponse class, `Response.__init__` and the
/// content-type header pair. Called once, by `tachyon.responses`.
#[pyfunction]
fn setup_json_response(
    cls: Py<PyType>,
    response_init: Py<PyAny>,
    content_type: Py<PyTuple>,
    py: Python<'_>,
) -> PyResult<()> {
    SETUP
        .set(
            py,
            Setup {
                cls,
                response_init,
                content_type,
                content_length: PyBytes::new(py, b"content-length").unbind(),
            },
        )
        .map_err(|_| PyRuntimeError::new_err("setup_json_response was already called"))
}

/// `JSONResponse.__init__`: the body is `tachyon.json.dumps(content)`; headers are
/// `content-length` (unless the status has no body) and `content-type: application/json`.
/// With extra `headers`, a `media_type`, or on a subclass, it is `Response.__init__`.
#[pyfunction]
#[pyo3(signature = (slf, content, status_code = None, headers = None, media_type = None, background = None))]
fn json_response_init<'py>(
    slf: &Bound<'py, PyAny>,
    content: &Bound<'py, PyAny>,
    status_code: Option<&Bound<'py, PyAny>>,
    headers: Option<&Bound<'py, PyAny>>,
    media_type: Option<&Bound<'py, PyAny>>,
    background: Option<&Bound<'py, PyAny>>,
) -> PyResult<()> {
    let py = slf.py();
    let setup = SETUP
        .get(py)
        .ok_or_else(|| PyRuntimeError::new_err("setup_json_response was not called"))?;
    let none = py.None().into_bound(py);
    let default_status;
    let status_obj = match status_code {
        Some(status) => status,
        None => {
            default_status = 200_i32.into_pyobject(py)?.into_any();
            &default_status
        }
    };
    let background = background.unwrap_or(&none);
    let status = status_obj.extract::<i64>().ok();
    let (Some(status), None, None, true) = (
        status,
        headers.filter(|h| !h.is_none()),
        media_type.filter(|m| !m.is_none()),
        slf.get_type().is(setup.cls.bind(py)),
    ) else {
        setup.response_init.bind(py).call1((
            slf,
            content,
            status_obj,
            headers.unwrap_or(&none),
            media_type.unwrap_or(&none),
            background,
        ))?;
        return Ok(());
    };
    slf.setattr(intern!(py, "status_code"), status_obj)?;
    slf.setattr(intern!(py, "background"), background)?;
    // SAFETY: called with the GIL held and a live object; a NULL result is turned into
    // the pending Python exception (the same ones json.dumps raises).
    let body = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            crate::json::dumps_raw(std::ptr::null_mut(), content.as_ptr()),
        )?
    };
    let length = body.cast::<PyBytes>()?.as_bytes().len();
    slf.setattr(intern!(py, "body"), &body)?;
    let content_type = setup.content_type.bind(py);
    let raw_headers = if status < 200 || status == 204 || status == 304 {
        PyList::new(py, [content_type])?
    } else {
        let mut digits = itoa::Buffer::new();
        let length = PyBytes::new(py, digits.format(length).as_bytes());
        let pair = PyTuple::new(py, [setup.content_length.bind(py), &length])?;
        PyList::new(py, [pair.as_any(), content_type.as_any()])?
    };
    slf.setattr(intern!(py, "raw_headers"), raw_headers)?;
    Ok(())
}

/// Registers the response helpers on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeMethod>()?;
    m.add_function(wrap_pyfunction!(setup_json_response, m)?)?;
    m.add_function(wrap_pyfunction!(json_response_init, m)?)?;
    Ok(())
}
