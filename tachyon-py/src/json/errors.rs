//! Raising json's exceptions from native code, worded as the `json` module words them.

use core::ffi::{CStr, c_char};
use core::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi::{self, Py_ssize_t, PyObject};

use super::Raised;
use super::messages::{MESSAGES, Messages};

/// `json.JSONDecodeError`, stored at registration.
pub(super) static JSON_DECODE_ERROR: AtomicPtr<PyObject> = AtomicPtr::new(ptr::null_mut());

/// Raises `exc(msg)`; returns [`Raised`] for the caller to propagate.
///
/// # Safety
/// The GIL is held and `exc` is an exception class.
pub(super) unsafe fn set_error(exc: *mut PyObject, msg: &str) -> Raised {
    let msg = std::ffi::CString::new(msg).unwrap_or_default();
    // SAFETY: GIL held by callers.
    unsafe { ffi::PyErr_SetString(exc, msg.as_ptr()) };
    Raised
}

/// `type(obj).__name__` as `json` spells it in its messages.
///
/// # Safety
/// The GIL is held and `obj` is a valid object.
pub(super) unsafe fn class_name(obj: *mut PyObject) -> String {
    // SAFETY: GIL held; `obj` is valid.
    unsafe {
        let cls = ffi::PyObject_GetAttrString(obj, c"__class__".as_ptr());
        if !cls.is_null() {
            let name = ffi::PyObject_GetAttrString(cls, c"__name__".as_ptr());
            ffi::Py_DECREF(cls);
            if !name.is_null() {
                let mut len: Py_ssize_t = 0;
                let p = ffi::PyUnicode_AsUTF8AndSize(name, &mut len);
                let s = if p.is_null() {
                    None
                } else {
                    Some(
                        String::from_utf8_lossy(std::slice::from_raw_parts(
                            p.cast::<u8>(),
                            len as usize,
                        ))
                        .into_owned(),
                    )
                };
                ffi::Py_DECREF(name);
                if let Some(s) = s {
                    return s;
                }
            }
        }
        ffi::PyErr_Clear();
        type_name(obj)
    }
}

/// `Py_TYPE(obj)->tp_name`, as C code spells a type in messages.
///
/// # Safety
/// `obj` is a valid object (its type's `tp_name` is read).
pub(super) unsafe fn type_name(obj: *mut PyObject) -> String {
    // SAFETY: every type has a NUL-terminated tp_name.
    unsafe {
        CStr::from_ptr((*ffi::Py_TYPE(obj)).tp_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// Raises json's ValueError for a NaN or infinite float, worded as the running
/// `json` words it (3.12 added the float's repr: `...not JSON compliant: nan`).
///
/// # Safety
/// The GIL is held and `obj` is a float (or float subclass).
#[cold]
pub(super) unsafe fn raise_out_of_range(obj: *mut PyObject) -> Raised {
    let messages = MESSAGES.get_or_init(|| Messages {
        float_prefix: "Out of range float values are not JSON compliant".to_owned(),
        float_repr: false,
    });
    if !messages.float_repr {
        // SAFETY: GIL held.
        return unsafe { set_error(ffi::PyExc_ValueError, &messages.float_prefix) };
    }
    // SAFETY: GIL held; json formats the object with %R, so a subclass's __repr__ counts.
    unsafe {
        let repr = ffi::PyObject_Repr(obj);
        if repr.is_null() {
            return Raised;
        }
        let mut len: Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(repr, &mut len);
        let r = if p.is_null() {
            Raised
        } else {
            let text =
                String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len as usize));
            set_error(
                ffi::PyExc_ValueError,
                &format!("{}{text}", messages.float_prefix),
            )
        };
        ffi::Py_DECREF(repr);
        r
    }
}

/// Raises `json.JSONDecodeError(msg, doc, pos)`; returns NULL.
///
/// # Safety
/// The GIL is held, `doc` is a valid `str` and registration has stored `json.JSONDecodeError`.
pub(super) unsafe fn decode_error(msg: &str, doc: *mut PyObject, pos: usize) -> *mut PyObject {
    // SAFETY: GIL held; JSON_DECODE_ERROR was set at registration.
    unsafe {
        let cls = JSON_DECODE_ERROR.load(Ordering::Acquire);
        let py_msg = ffi::PyUnicode_FromStringAndSize(
            msg.as_ptr().cast::<c_char>(),
            msg.len() as Py_ssize_t,
        );
        let py_pos = ffi::PyLong_FromSsize_t(pos as Py_ssize_t);
        if py_msg.is_null() || py_pos.is_null() {
            ffi::Py_XDECREF(py_msg);
            ffi::Py_XDECREF(py_pos);
            return ptr::null_mut();
        }
        let exc = ffi::PyObject_CallFunctionObjArgs(
            cls,
            py_msg,
            doc,
            py_pos,
            ptr::null_mut::<PyObject>(),
        );
        ffi::Py_DECREF(py_msg);
        ffi::Py_DECREF(py_pos);
        if !exc.is_null() {
            ffi::PyErr_SetObject(cls, exc);
            ffi::Py_DECREF(exc);
        }
        ptr::null_mut()
    }
}
