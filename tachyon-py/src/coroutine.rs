//! Stepping an awaitable's iterator from native code, as the interpreter's `await` does:
//! shared by the dispatcher's `DispatchCall` and the native server's `Continuation`.

use core::ptr;

use pyo3::exceptions::{PyBaseException, PyStopIteration};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// What one step of an awaitable's iterator did.
pub(crate) enum Step<'py> {
    /// It suspended, yielding this to the task.
    Yield(Bound<'py, PyAny>),
    /// It finished with this value.
    Return(Bound<'py, PyAny>),
    /// It raised.
    Error(PyErr),
}

/// Resumes `iterator` with `value` (`coroutine.send(value)`).
pub(crate) fn send<'py>(
    py: Python<'py>,
    iterator: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> Step<'py> {
    let mut result: *mut ffi::PyObject = ptr::null_mut();
    // SAFETY: both objects are valid references held for the call; `result` receives a new
    // reference (or stays null on error), owned below.
    let status = unsafe { ffi::PyIter_Send(iterator.as_ptr(), value.as_ptr(), &mut result) };
    match status {
        ffi::PySendResult::PYGEN_NEXT => {
            // SAFETY: PyIter_Send returned a new reference in `result`.
            Step::Yield(unsafe { Bound::from_owned_ptr(py, result) })
        }
        ffi::PySendResult::PYGEN_RETURN => {
            // SAFETY: PyIter_Send returned a new reference in `result` (None when the
            // iterator simply ended).
            Step::Return(
                unsafe { Bound::from_owned_ptr_or_opt(py, result) }
                    .unwrap_or_else(|| py.None().into_bound(py)),
            )
        }
        ffi::PySendResult::PYGEN_ERROR => Step::Error(PyErr::fetch(py)),
    }
}

/// Raises `exc` inside `iterator` where it is suspended (`coroutine.throw(exc)`).
pub(crate) fn throw<'py>(
    py: Python<'py>,
    iterator: &Bound<'py, PyAny>,
    exc: Bound<'py, PyAny>,
) -> Step<'py> {
    match iterator.call_method1(intern!(py, "throw"), (exc,)) {
        Ok(value) => Step::Yield(value),
        Err(err) if err.is_instance_of::<PyStopIteration>(py) => {
            match err.value(py).getattr(intern!(py, "value")) {
                Ok(value) => Step::Return(value),
                Err(err) => Step::Error(err),
            }
        }
        Err(err) => Step::Error(err),
    }
}

/// The exception `coroutine.throw(typ, val, tb)` raises: `val` when it is an exception,
/// else `typ(val)`, else `typ()` for a class, else `typ` itself. (A traceback argument is
/// accepted, as the deprecated signature allows.)
pub(crate) fn thrown<'py>(
    typ: Bound<'py, PyAny>,
    val: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match val.filter(|val| !val.is_none()) {
        Some(val) if val.is_instance_of::<PyBaseException>() => Ok(val),
        Some(val) => typ.call1((val,)),
        None => match typ.cast::<PyType>() {
            Ok(cls) => cls.call0(),
            Err(_) => Ok(typ),
        },
    }
}

/// `iterator.close()`, if it has one.
pub(crate) fn close(py: Python<'_>, iterator: &Bound<'_, PyAny>) -> PyResult<()> {
    if iterator.hasattr(intern!(py, "close"))? {
        iterator.call_method0(intern!(py, "close"))?;
    }
    Ok(())
}
