//! `loads`: what the input is (str, bytes, bytearray, memoryview; UTF-16/32 and lone
//! surrogates left to the stdlib), the reader run with the [`PySink`], and the errors
//! reported at json's positions.

use core::ffi::c_char;
use core::ptr;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use tachyon_json::{Buffers, ErrorKind, ReadError, Reader};

use super::errors::{class_name, decode_error, set_error};
use super::messages::TRAILING_COMMA_ERRORS;
use super::sink::{Obj, PySink};
use super::{GilCell, Raised, cpython, guard};

/// The stdlib's `json.loads`, stored at registration (for the inputs left to it).
pub(super) static STD_LOADS: AtomicPtr<PyObject> = AtomicPtr::new(ptr::null_mut());

/// The reader's working memory, reused by every `loads` (under the GIL).
static LOADS_BUFFERS: GilCell<Buffers<Obj>> = GilCell(UnsafeCell::new(Buffers::new()));

/// The input's bytes, and what to release after.
enum Input {
    Borrowed,
    Buffer(Box<ffi::Py_buffer>),
}

/// `json_loads(data)`: the C function registered as a `METH_O` method.
///
/// # Safety
/// Called by the interpreter only: the GIL is held and `arg` is a valid object.
pub(super) unsafe extern "C" fn loads_raw(
    _module: *mut PyObject,
    arg: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: called by the interpreter with the GIL held and a valid `arg`.
    unsafe { guard(|| loads_impl(arg, false)) }
}

/// `json_loads_strict`: `loads` without NaN and the infinities (what `request.json()` uses).
///
/// # Safety
/// Called by the interpreter only: the GIL is held and `arg` is a valid object.
pub(super) unsafe extern "C" fn loads_strict_raw(
    _module: *mut PyObject,
    arg: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: called by the interpreter with the GIL held and a valid `arg`.
    unsafe { guard(|| loads_impl(arg, true)) }
}

/// `loads`; with `rfc8259`, non-finite numbers are syntax errors (read in the same pass).
///
/// # Safety
/// The GIL is held and `arg` is a valid object.
unsafe fn loads_impl(arg: *mut PyObject, rfc8259: bool) -> *mut PyObject {
    // SAFETY: GIL held throughout; the input bytes stay alive (and, for
    // bytearray/memoryview, unmodified: no Python code runs while parsing).
    unsafe {
        let is_str = ffi::PyUnicode_Check(arg) != 0;
        let mut holder = Input::Borrowed;
        let data: &[u8] = if is_str {
            let mut len: Py_ssize_t = 0;
            let p = if ffi::PyUnicode_IS_COMPACT_ASCII(arg) != 0 {
                len = ffi::PyUnicode_GET_LENGTH(arg);
                arg.cast::<ffi::PyASCIIObject>()
                    .add(1)
                    .cast::<c_char>()
                    .cast_const()
            } else {
                ffi::PyUnicode_AsUTF8AndSize(arg, &mut len)
            };
            if p.is_null() {
                // Lone surrogates cannot be UTF-8: let the stdlib handle it.
                ffi::PyErr_Clear();
                return std_loads(arg, rfc8259);
            }
            let data = std::slice::from_raw_parts(p.cast::<u8>(), len as usize);
            if data.starts_with("\u{feff}".as_bytes()) {
                return decode_error("Unexpected UTF-8 BOM (decode using utf-8-sig)", arg, 0);
            }
            data
        } else if ffi::PyBytes_Check(arg) != 0 {
            std::slice::from_raw_parts(
                ffi::PyBytes_AS_STRING(arg).cast::<u8>(),
                ffi::PyBytes_Size(arg) as usize,
            )
        } else if ffi::PyByteArray_Check(arg) != 0 {
            std::slice::from_raw_parts(
                ffi::PyByteArray_AS_STRING(arg).cast::<u8>(),
                ffi::PyByteArray_GET_SIZE(arg) as usize,
            )
        } else if ffi::PyMemoryView_Check(arg) != 0 {
            let mut view: Box<ffi::Py_buffer> = Box::new(core::mem::zeroed());
            if ffi::PyObject_GetBuffer(arg, &mut *view, ffi::PyBUF_SIMPLE) != 0 {
                return ptr::null_mut();
            }
            let data = if view.buf.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(view.buf.cast::<u8>(), view.len as usize)
            };
            holder = Input::Buffer(view);
            data
        } else {
            let msg = format!(
                "the JSON object must be str, bytes or bytearray, not {}",
                class_name(arg)
            );
            set_error(ffi::PyExc_TypeError, &msg);
            return ptr::null_mut();
        };
        let result = if is_str {
            parse(data, arg, true, rfc8259)
        } else {
            parse_bytes(data, arg, rfc8259)
        };
        if let Input::Buffer(mut view) = holder {
            ffi::PyBuffer_Release(&mut *view);
        }
        result
    }
}

/// Bytes input: json.loads detects UTF-16/32 and strips a UTF-8 BOM.
///
/// # Safety
/// The GIL is held, `arg` is the valid object `data` was read from, and `data` stays alive and unchanged meanwhile.
unsafe fn parse_bytes(data: &[u8], arg: *mut PyObject, rfc8259: bool) -> *mut PyObject {
    let utf16_or_32 = data.starts_with(&[0xFF, 0xFE])
        || data.starts_with(&[0xFE, 0xFF])
        || ((data.len() >= 4 || data.len() == 2) && (data[0] == 0 || data[1] == 0));
    // SAFETY: GIL held.
    unsafe {
        if utf16_or_32 {
            return std_loads(arg, rfc8259);
        }
        let data = data.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(data);
        parse(data, arg, false, rfc8259)
    }
}

/// The stdlib's `json.loads(arg)`, for the rare inputs the reader leaves to it (UTF-16 and
/// UTF-32 bytes, lone surrogates). With `rfc8259`, a non-finite float in its result is a
/// `JSONDecodeError` (at position 0: the stdlib does not say where the value stood).
///
/// # Safety
/// The GIL is held and `arg` is a valid object.
unsafe fn std_loads(arg: *mut PyObject, rfc8259: bool) -> *mut PyObject {
    // SAFETY: GIL held; STD_LOADS was set at registration.
    unsafe {
        let v = ffi::PyObject_CallOneArg(STD_LOADS.load(Ordering::Acquire), arg);
        if v.is_null() || !rfc8259 || all_finite(v) {
            return v;
        }
        ffi::Py_DECREF(v);
        let doc = ffi::PyUnicode_FromStringAndSize(ptr::null(), 0);
        if doc.is_null() {
            return ptr::null_mut();
        }
        let r = decode_error(ErrorKind::NumberOutOfRange.message(), doc, 0);
        ffi::Py_DECREF(doc);
        r
    }
}

/// Whether every float in `v` (a tree of exact dicts, lists and scalars, as `json.loads`
/// builds them) is finite. Recursive: the nesting is what `json.loads` allowed.
///
/// # Safety
/// The GIL is held and `v` is a valid object; no Python code runs meanwhile.
unsafe fn all_finite(v: *mut PyObject) -> bool {
    // SAFETY: GIL held; only exact containers are walked, by index or PyDict_Next,
    // and nothing here runs Python code that could change them.
    unsafe {
        let ty = ffi::Py_TYPE(v);
        if ty == ty!(PyFloat_Type) {
            ffi::PyFloat_AS_DOUBLE(v).is_finite()
        } else if ty == ty!(PyList_Type) {
            (0..ffi::PyList_GET_SIZE(v)).all(|i| all_finite(ffi::PyList_GET_ITEM(v, i)))
        } else if ty == ty!(PyDict_Type) {
            let (mut pos, mut k, mut item): (Py_ssize_t, *mut PyObject, *mut PyObject) =
                (0, ptr::null_mut(), ptr::null_mut());
            while ffi::PyDict_Next(v, &mut pos, &mut k, &mut item) != 0 {
                if !all_finite(item) {
                    return false;
                }
            }
            true
        } else {
            true
        }
    }
}

/// Runs the reader over `data` and returns the value built (a new reference), or NULL with json's exception set.
///
/// # Safety
/// The GIL is held, `arg` is the valid object `data` was read from (a `str` if `is_str`), and `data` stays alive and unchanged meanwhile.
unsafe fn parse(data: &[u8], arg: *mut PyObject, is_str: bool, rfc8259: bool) -> *mut PyObject {
    // SAFETY: GIL held.
    unsafe {
        let depth = cpython::recursion_limit();
        let mut sink = PySink { digits: Vec::new() };
        // No Python code runs while parsing and nothing built becomes garbage
        // before the end, so a cycle collection mid-parse can free nothing:
        // it only re-scans the document so far (40% of loading canada.json).
        // Pause the collector (if enabled) and let it run afterwards as usual.
        let paused = data.len() >= 1024 && ffi::PyGC_Disable() != 0;
        // The reader's buffers are kept between calls. Taken out while parsing: a
        // collection during a small parse may run a finalizer that calls loads again.
        let mut buffers = core::mem::take(&mut *LOADS_BUFFERS.0.get());
        let parsed = Reader::new()
            .max_depth(depth)
            .trailing_comma_errors(TRAILING_COMMA_ERRORS.load(Ordering::Relaxed))
            .allow_non_finite(!rfc8259)
            .parse_reusing(data, &mut sink, &mut buffers);
        *LOADS_BUFFERS.0.get() = buffers;
        if paused {
            ffi::PyGC_Enable();
        }
        match parsed {
            Ok(v) => v.into_raw(),
            Err(ReadError::Sink(Raised)) => ptr::null_mut(),
            Err(ReadError::Syntax(e)) => {
                let (kind, offset) = match (is_str, core::str::from_utf8(data)) {
                    // json.loads decodes bytes with surrogatepass: encoded
                    // surrogates are accepted there, so let it decide.
                    (false, Err(_)) if utf8_with_surrogates(data) => {
                        return std_loads(arg, rfc8259);
                    }
                    // json.loads decodes bytes before parsing: report bad UTF-8 first.
                    (false, Err(u)) => (ErrorKind::InvalidUtf8, u.valid_up_to()),
                    _ => (e.kind(), e.offset()),
                };
                if kind == ErrorKind::TooDeep {
                    // json's own wording; the offset is the bracket that went too deep.
                    let what = if data.get(offset) == Some(&b'{') {
                        "object"
                    } else {
                        "array"
                    };
                    let msg = format!(
                        "maximum recursion depth exceeded while decoding a JSON {what} from a unicode string"
                    );
                    set_error(ffi::PyExc_RecursionError, &msg);
                    return ptr::null_mut();
                }
                // Python reports positions in characters, not bytes.
                let pos = data[..offset.min(data.len())]
                    .iter()
                    .filter(|&&b| (b as i8) >= -0x40)
                    .count();
                let doc = if is_str {
                    ffi::Py_INCREF(arg);
                    arg
                } else {
                    ffi::PyUnicode_DecodeUTF8(
                        data.as_ptr().cast::<c_char>(),
                        data.len() as Py_ssize_t,
                        c"replace".as_ptr(),
                    )
                };
                if doc.is_null() {
                    return ptr::null_mut();
                }
                let r = decode_error(kind.message(), doc, pos);
                ffi::Py_DECREF(doc);
                r
            }
        }
    }
}

/// Whether `data` is UTF-8 once encoded surrogates (`ED A0..BF xx`, which
/// Python's surrogatepass decodes) are allowed.
fn utf8_with_surrogates(mut data: &[u8]) -> bool {
    loop {
        match core::str::from_utf8(data) {
            Ok(_) => return true,
            Err(e) => {
                let rest = &data[e.valid_up_to()..];
                match rest {
                    [0xED, 0xA0..=0xBF, 0x80..=0xBF, ..] => data = &rest[3..],
                    _ => return false,
                }
            }
        }
    }
}
