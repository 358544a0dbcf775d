//! `tachyon.json`: `dumps` walks Python objects over the raw C API and writes
//! with tachyon-json; `loads` runs tachyon-json's reader with a sink that
//! builds Python objects directly.
//!
//! Both are plain `METH_O` C functions: the argument parsing of a
//! `#[pyfunction]` costs about as much as dumping a small dict.
//!
//! One file per concern:
//! - this one: registering the raw C functions, and what they share (the panic guard,
//!   [`Raised`], the GIL-bound statics' cell);
//! - `dumps`: the encoder, over `bytes_out` (the output, a `bytes` object written in place);
//! - `loads`: the input handling around tachyon-json's reader, with `sink` (building the
//!   Python objects), `strings` (building `str` objects) and `key_cache` (object keys);
//! - `errors`: raising json's exceptions, worded as `json` words them;
//! - `messages`: the texts that changed between Python versions, learned at import;
//! - `cpython`: the CPython structures read in place, and the versions they are gated on.
//!
//! Whatever depends on the Python version is decided once, at import: the CPython
//! structures in `cpython`, the messages in `messages` (from the running `json` module).

use core::ffi::CStr;
use core::ptr;
use std::cell::UnsafeCell;
use std::sync::atomic::Ordering;

use pyo3::ffi::{self, PyObject};
use pyo3::prelude::*;

/// `&raw mut ffi::PyX_Type`: the address of a static type object, to compare `Py_TYPE` with.
macro_rules! ty {
    ($t:ident) => {
        &raw mut ffi::$t
    };
}

mod bytes_out;
mod cpython;
mod dumps;
mod errors;
mod key_cache;
mod loads;
mod messages;
mod sink;
pub(crate) mod strings;

pub(crate) use dumps::dumps_raw;

/// Registers `json_dumps` and `json_loads` on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let json = py.import("json")?;
    let decode_error = json.getattr("JSONDecodeError")?;
    let std_loads = json.getattr("loads")?;
    errors::JSON_DECODE_ERROR.store(decode_error.into_ptr(), Ordering::Release);
    loads::STD_LOADS.store(std_loads.into_ptr(), Ordering::Release);
    messages::learn(&json)?;
    cpython::register(m)?;
    #[cfg(feature = "test-hooks")]
    m.add_function(wrap_pyfunction!(bytes_out::_test_json_fail_next_grow, m)?)?;
    add_function(m, c"json_dumps", dumps::dumps_raw, c"dumps(obj, /)\n--\n\nSerialize obj to JSON bytes exactly as json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode().")?;
    add_function(m, c"json_loads", loads::loads_raw, c"loads(data, /)\n--\n\nParse JSON from bytes, bytearray, memoryview or str, exactly as json.loads does.")?;
    add_function(m, c"json_loads_strict", loads::loads_strict_raw, c"loads_strict(data, /)\n--\n\nParse JSON as json_loads does, but as RFC 8259 has it: NaN, Infinity, -Infinity and numbers beyond a float's range (1e400) raise json.JSONDecodeError instead of becoming nan or inf.")?;
    Ok(())
}

/// Adds `f` to the module as a `METH_O` C function named `name`, with docstring `doc`.
fn add_function(
    m: &Bound<'_, PyModule>,
    name: &'static CStr,
    f: unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject,
    doc: &'static CStr,
) -> PyResult<()> {
    // The method table must outlive the function object: leak one per process.
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: f },
        ml_flags: ffi::METH_O,
        ml_doc: doc.as_ptr(),
    }));
    // SAFETY: `def` is 'static; the module name argument may be NULL.
    let func = unsafe {
        Bound::from_owned_ptr_or_err(
            m.py(),
            ffi::PyCFunction_NewEx(def, ptr::null_mut(), ptr::null_mut()),
        )?
    };
    m.add(name.to_str().unwrap_or("json"), func)
}

/// A Python exception has been set; unwind to the caller.
#[derive(Debug)]
struct Raised;

type Res = Result<(), Raised>;

/// State shared by calls under the GIL (this module is not free-threaded:
/// pyo3 marks it as using the GIL).
struct GilCell<T>(UnsafeCell<T>);
// SAFETY: only touched while holding the GIL, which serializes access.
unsafe impl<T> Sync for GilCell<T> {}

/// Runs `f`, turning a Rust panic into a Python exception instead of
/// unwinding through the interpreter: the exception already set when it panicked (the
/// MemoryError of a failed resize), else a SystemError.
///
/// # Safety
/// The caller holds the GIL.
unsafe fn guard(f: impl FnOnce() -> *mut PyObject + std::panic::UnwindSafe) -> *mut PyObject {
    match std::panic::catch_unwind(f) {
        Ok(r) => r,
        Err(_) => {
            // SAFETY: the GIL is held by our caller.
            unsafe {
                if ffi::PyErr_Occurred().is_null() {
                    ffi::PyErr_SetString(
                        ffi::PyExc_SystemError,
                        c"tachyon.json: internal error".as_ptr(),
                    );
                }
            };
            ptr::null_mut()
        }
    }
}
