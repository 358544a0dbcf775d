//! Glue for `tachyon.responses`: `JSONResponse.__init__` in native code.
//!
//! Building a small JSONResponse is on nearly every request. As a Python `__init__` its
//! own frame, argument binding and the `b"%d" % len(body)` formatting cost several times
//! the JSON encoding itself. Here `__init__` is a method descriptor (what a C type's
//! methods are), so the interpreter calls it with no bound-method object in between; the
//! common case (no extra headers, no media type, the class itself) sets the same four
//! attributes in one call, and everything else is handed to `Response.__init__` as the
//! Python code did.

use core::ptr;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi::{self, Py_ssize_t, PyObject};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple, PyType};
use tachyon_core::request::{CONTENT_LENGTH_FROM, NO_CONTENT_LENGTH, sends_content_length};

/// What the native `__init__` needs from `tachyon.responses`, given once at import.
struct Setup {
    /// `JSONResponse` itself: subclasses take the general path (they may override render).
    cls: Py<PyType>,
    /// `Response.__init__`, for the general path.
    response_init: Py<PyAny>,
    /// The shared `(b"content-type", b"application/json")` header pair.
    content_type: Py<PyTuple>,
    /// `b"content-length"`.
    content_length: Py<PyBytes>,
    /// The parameter names, interned, in order.
    names: [Py<PyString>; PARAMS],
    /// `JSONResponse.render` as defined: if it is replaced on the class, the general path
    /// runs so the replacement renders.
    render: Py<PyAny>,
    /// The `json` module's namespace and its own `dumps`: if `json.dumps` is replaced (a
    /// mock, say), the general path runs, and `render` calls the replacement as
    /// Starlette's does.
    json_namespace: Py<PyDict>,
    json_dumps: Py<PyAny>,
}

static SETUP: PyOnceLock<Setup> = PyOnceLock::new();

/// `content, status_code, headers, media_type, background`.
const PARAMS: usize = 5;
const NAMES: [&str; PARAMS] = [
    "content",
    "status_code",
    "headers",
    "media_type",
    "background",
];

/// The method table of the descriptor: it must outlive it, so it is static.
struct MethodDef(ffi::PyMethodDef);
// SAFETY: the definition is immutable after construction and only read by the interpreter.
unsafe impl Sync for MethodDef {}

static INIT_DEF: MethodDef = MethodDef(ffi::PyMethodDef {
    ml_name: c"__init__".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunctionFastWithKeywords: init_raw,
    },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: c"__init__($self, /, content, status_code=200, headers=None, media_type=None, background=None)\n--\n\nA JSON response: content rendered as json.dumps would (compact, non-ASCII kept).".as_ptr(),
});

/// Returns the native `__init__` for `cls` (JSONResponse): a method descriptor to set as
/// `cls.__init__`. `response_init` (`Response.__init__`) serves every call the native
/// path does not; `content_type` is the header pair it appends. The native path also
/// steps aside while `cls.render` is not `render` or `json.dumps` is not `json_dumps`.
#[pyfunction]
fn json_response_init<'py>(
    cls: &Bound<'py, PyType>,
    response_init: Py<PyAny>,
    content_type: Py<PyTuple>,
    render: Py<PyAny>,
    json_module: &Bound<'py, PyModule>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let json_namespace = json_module.dict();
    let json_dumps = json_module.getattr(intern!(py, "dumps"))?.unbind();
    let setup = Setup {
        render,
        json_namespace: json_namespace.unbind(),
        json_dumps,
        cls: cls.clone().unbind(),
        response_init,
        content_type,
        content_length: PyBytes::new(py, b"content-length").unbind(),
        names: NAMES.map(|name| PyString::intern(py, name).unbind()),
    };
    SETUP
        .set(py, setup)
        .map_err(|_| PyRuntimeError::new_err("json_response_init was already called"))?;
    // SAFETY: `INIT_DEF` is static and its pointer is only read; `cls` is a live type; a
    // NULL result is turned into the pending Python exception.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewMethod(cls.as_type_ptr(), ptr::from_ref(&INIT_DEF.0).cast_mut()),
        )
    }
}

/// The arguments of one call, by parameter (borrowed from the caller's vector).
type Args = [*mut PyObject; PARAMS];

/// Sorts the vectorcall arguments into parameters, raising TypeError as a Python
/// function with this signature would.
///
/// # Safety
/// `args` holds `nargs` positional objects followed by one per name in `kwnames` (a
/// tuple of str, or NULL), as the vectorcall protocol gives them.
unsafe fn bind(
    py: Python<'_>,
    setup: &Setup,
    args: *const *mut PyObject,
    nargs: usize,
    kwnames: *mut PyObject,
) -> PyResult<Args> {
    let mut bound: Args = [ptr::null_mut(); PARAMS];
    if nargs > PARAMS {
        return Err(PyTypeError::new_err(format!(
            "__init__() takes from 2 to 6 positional arguments but {} were given",
            nargs + 1
        )));
    }
    for (i, slot) in bound.iter_mut().enumerate().take(nargs) {
        // SAFETY: i < nargs, within the caller's vector.
        *slot = unsafe { *args.add(i) };
    }
    if !kwnames.is_null() {
        // SAFETY: `kwnames` is a tuple of str (vectorcall protocol).
        let names = unsafe { Bound::from_borrowed_ptr(py, kwnames) };
        let names = names.cast::<PyTuple>()?;
        for (k, name) in names.iter().enumerate() {
            let index = setup
                .names
                .iter()
                .position(|n| n.as_ptr() == name.as_ptr())
                .or_else(|| {
                    let name = name.cast::<PyString>().ok()?.to_str().ok()?;
                    NAMES.iter().position(|n| *n == name)
                })
                .ok_or_else(|| {
                    PyTypeError::new_err(format!(
                        "__init__() got an unexpected keyword argument '{name}'"
                    ))
                })?;
            if !bound[index].is_null() {
                return Err(PyTypeError::new_err(format!(
                    "__init__() got multiple values for argument '{}'",
                    NAMES[index]
                )));
            }
            // SAFETY: keyword values follow the positional ones in the vector.
            bound[index] = unsafe { *args.add(nargs + k) };
        }
    }
    if bound[0].is_null() {
        return Err(PyTypeError::new_err(
            "__init__() missing 1 required positional argument: 'content'",
        ));
    }
    Ok(bound)
}

/// `JSONResponse.__init__`: the body is `tachyon.json.dumps(content)`; headers are
/// `content-length` (unless the status has no body) and `content-type: application/json`.
/// With extra `headers`, a `media_type`, or on a subclass, it is `Response.__init__`.
fn init(py: Python<'_>, setup: &Setup, slf: &Bound<'_, PyAny>, args: &Args) -> PyResult<()> {
    let none = py.None().into_bound(py);
    // SAFETY: each non-NULL pointer is an argument the caller keeps alive for the call.
    let arg = |i: usize| unsafe { Bound::from_borrowed_ptr_or_opt(py, args[i]) };
    let content = arg(0).unwrap_or_else(|| none.clone());
    let status_obj = match arg(1) {
        Some(status) => status,
        None => 200_i32.into_pyobject(py)?.into_any(),
    };
    let headers = arg(2).filter(|h| !h.is_none());
    let media_type = arg(3).filter(|m| !m.is_none());
    let background = arg(4).unwrap_or_else(|| none.clone());
    let status = status_obj.extract::<i64>().ok();
    let (Some(status), None, None, true) = (
        status,
        &headers,
        &media_type,
        slf.get_type().is(setup.cls.bind(py)) && unchanged(py, setup)?,
    ) else {
        setup.response_init.bind(py).call1((
            slf,
            content,
            status_obj,
            headers.unwrap_or_else(|| none.clone()),
            media_type.unwrap_or_else(|| none.clone()),
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
            crate::json::dumps_raw(ptr::null_mut(), content.as_ptr()),
        )?
    };
    let length = body.cast::<PyBytes>()?.as_bytes().len();
    slf.setattr(intern!(py, "body"), &body)?;
    let content_type = setup.content_type.bind(py);
    let raw_headers = if !sends_content_length(status) {
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

/// Whether `JSONResponse.render` and `json.dumps` are still the ones the native path
/// stands in for.
fn unchanged(py: Python<'_>, setup: &Setup) -> PyResult<bool> {
    let cls = setup.cls.bind(py);
    if !cls
        .getattr(intern!(py, "render"))?
        .is(setup.render.bind(py))
    {
        return Ok(false);
    }
    let dumps = setup
        .json_namespace
        .bind(py)
        .get_item(intern!(py, "dumps"))?;
    Ok(dumps.is_some_and(|dumps| dumps.is(setup.json_dumps.bind(py))))
}

/// The descriptor's C function (METH_FASTCALL | METH_KEYWORDS): returns None, or NULL
/// with an exception set.
///
/// # Safety
/// Called by the interpreter only, with the GIL held and its vectorcall arguments.
unsafe extern "C" fn init_raw(
    slf: *mut PyObject,
    args: *const *mut PyObject,
    nargsf: Py_ssize_t,
    kwnames: *mut PyObject,
) -> *mut PyObject {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the interpreter calls us attached, with a live `slf` and a vector laid
        // out as `bind` expects.
        let py = unsafe { Python::assume_attached() };
        let nargs = usize::try_from(nargsf).unwrap_or(0);
        let run = || -> PyResult<()> {
            let setup = SETUP.get(py).ok_or_else(not_set_up)?;
            // SAFETY: as above.
            let bound = unsafe { bind(py, setup, args, nargs, kwnames)? };
            // SAFETY: `slf` is the live instance being initialised.
            let slf = unsafe { Bound::from_borrowed_ptr(py, slf) };
            init(py, setup, &slf, &bound)
        };
        match run() {
            Ok(()) => py.None().into_ptr(),
            Err(err) => {
                err.restore(py);
                ptr::null_mut()
            }
        }
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: attached (see above).
        unsafe {
            ffi::PyErr_SetString(
                ffi::PyExc_SystemError,
                c"JSONResponse.__init__: internal error".as_ptr(),
            );
        }
        ptr::null_mut()
    })
}

/// The error for a call before `json_response_init` ran (not reachable from Python: the
/// descriptor only exists once it has).
fn not_set_up() -> PyErr {
    PyRuntimeError::new_err("json_response_init was not called")
}

/// Registers the response helpers on the module.
/// `b"content-length"`, made once.
static CONTENT_LENGTH: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();

/// The `(b"content-length", b"<length>")` pair `Response.init_headers` appends for a body of
/// `length` bytes, or None for a status that sends none (tachyon-core's
/// [`sends_content_length`]). A status that is not an int is compared with the core's
/// thresholds by Python's own operators, as Starlette compares it.
#[pyfunction]
fn content_length_header<'py>(
    status: &Bound<'py, PyAny>,
    length: usize,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let py = status.py();
    let sends = match status.extract::<i64>() {
        Ok(status) => sends_content_length(status),
        // An int past i64: only its sign matters to the rule.
        Err(_) if status.is_instance_of::<PyInt>() => !status.lt(0)?,
        Err(_) => {
            !status.lt(CONTENT_LENGTH_FROM)?
                && !NO_CONTENT_LENGTH
                    .iter()
                    .try_fold(false, |found, s| Ok::<_, PyErr>(found || status.eq(s)?))?
        }
    };
    if !sends {
        return Ok(None);
    }
    let name = CONTENT_LENGTH.get_or_init(py, || PyBytes::new(py, b"content-length").unbind());
    let mut digits = itoa::Buffer::new();
    let value = PyBytes::new(py, digits.format(length).as_bytes());
    Ok(Some(PyTuple::new(py, [name.bind(py), &value])?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(json_response_init, m)?)?;
    m.add_function(wrap_pyfunction!(content_length_header, m)?)?;
    Ok(())
}
