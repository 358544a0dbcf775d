//! `tachyon.json`: `dumps` walks Python objects over the raw C API and writes
//! with tachyon-json; `loads` runs tachyon-json's reader with a sink that
//! builds Python objects directly.
//!
//! Both are plain `METH_O` C functions: the argument parsing of a
//! `#[pyfunction]` costs about as much as dumping a small dict.
//!
//! Whatever depends on the Python version is decided once, at import: the
//! CPython structures read in place (and the versions they are gated on) are in
//! `cpython.rs`; the messages that changed between versions are taken from the
//! running `json` module itself (`learn_messages`).

use core::ffi::{CStr, c_char, c_int};
use core::ptr;
use std::cell::UnsafeCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::vec::Drain;

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use pyo3::prelude::*;
use tachyon_json::{Buffers, Entries, ErrorKind, Output, ReadError, Reader, Sink};

use crate::cpython;

/// Registers `json_dumps` and `json_loads` on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let json = py.import("json")?;
    let decode_error = json.getattr("JSONDecodeError")?;
    let std_loads = json.getattr("loads")?;
    JSON_DECODE_ERROR.store(decode_error.into_ptr(), Ordering::Release);
    STD_LOADS.store(std_loads.into_ptr(), Ordering::Release);
    learn_messages(&json)?;
    cpython::register(m)?;
    add_function(m, c"json_dumps", dumps_raw, c"dumps(obj, /)\n--\n\nSerialize obj to JSON bytes exactly as json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode().")?;
    add_function(m, c"json_loads", loads_raw, c"loads(data, /)\n--\n\nParse JSON from bytes, bytearray, memoryview or str, exactly as json.loads does.")?;
    add_function(m, c"json_loads_strict", loads_strict_raw, c"loads_strict(data, /)\n--\n\nParse JSON as json_loads does, but as RFC 8259 has it: NaN, Infinity, -Infinity and numbers beyond a float's range (1e400) raise json.JSONDecodeError instead of becoming nan or inf.")?;
    Ok(())
}

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

/// The messages that differ between Python versions, as the running `json` words them.
struct Messages {
    /// The start of the "Out of range float values" ValueError.
    float_prefix: String,
    /// Whether the float's repr follows it (3.12 and later: `...: nan`).
    float_repr: bool,
}

static MESSAGES: OnceLock<Messages> = OnceLock::new();

/// Whether the running json reports `[1,]` as "Illegal trailing comma before end of
/// array" at the comma (3.13 and later) rather than "Expecting value" at the bracket.
static TRAILING_COMMA_ERRORS: AtomicBool = AtomicBool::new(false);

/// Learns the version-dependent messages from the running `json` module itself, so
/// Tachyon follows it across versions instead of hard-coding one version's texts.
fn learn_messages(json: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = json.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    let nan = f64::NAN.into_pyobject(py)?;
    let float_message = match json.getattr("dumps")?.call((nan,), Some(&kwargs)) {
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyValueError>(py) => {
            e.value(py).str()?.to_string()
        }
        _ => "Out of range float values are not JSON compliant".to_owned(),
    };
    let messages = match float_message.strip_suffix("nan") {
        Some(prefix) => Messages {
            float_prefix: prefix.to_owned(),
            float_repr: true,
        },
        None => Messages {
            float_prefix: float_message,
            float_repr: false,
        },
    };
    let _ = MESSAGES.set(messages);
    let trailing = match json.getattr("loads")?.call1(("[1,]",)) {
        Err(e) => {
            let msg: String = e.value(py).getattr("msg")?.extract()?;
            msg == ErrorKind::TrailingCommaInArray.message()
        }
        Ok(_) => false,
    };
    TRAILING_COMMA_ERRORS.store(trailing, Ordering::Relaxed);
    Ok(())
}

static JSON_DECODE_ERROR: AtomicPtr<PyObject> = AtomicPtr::new(ptr::null_mut());
static STD_LOADS: AtomicPtr<PyObject> = AtomicPtr::new(ptr::null_mut());

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

// ---------------------------------------------------------------------------
// dumps
// ---------------------------------------------------------------------------

/// The deepest nesting dumps follows even if `sys.getrecursionlimit()` is
/// higher: the walk is recursive, and this keeps it well inside any thread's stack.
const MAX_DUMPS_DEPTH: usize = 3000;

/// Size of the previous output: the next call starts with about that much
/// room (responses of one app tend to be alike), so large documents do not
/// grow through a chain of reallocations.
static LAST_LEN: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    /// Resizes a fresh (unshared) bytes object; public in CPython's headers
    /// but crate-private in pyo3-ffi. On failure it frees the object, sets
    /// `*bytes` to NULL and raises MemoryError.
    fn _PyBytes_Resize(bytes: *mut *mut PyObject, newsize: Py_ssize_t) -> c_int;
}

/// The output: a `bytes` object written in place and trimmed at the end,
/// so the result is never copied.
struct BytesOut {
    obj: *mut PyObject,
    len: usize,
    cap: usize,
}

impl BytesOut {
    unsafe fn new(cap: usize) -> Option<BytesOut> {
        // SAFETY: GIL held; NULL data makes an uninitialized bytes of that size.
        let obj = unsafe { ffi::PyBytes_FromStringAndSize(ptr::null(), cap as Py_ssize_t) };
        if obj.is_null() {
            None
        } else {
            Some(BytesOut { obj, len: 0, cap })
        }
    }

    /// Trims to the written length and hands over the object.
    unsafe fn finish(mut self) -> *mut PyObject {
        // SAFETY: GIL held; the object is ours alone. Resizing also writes
        // the trailing NUL and the size.
        unsafe {
            if _PyBytes_Resize(&mut self.obj, self.len as Py_ssize_t) != 0 {
                self.obj = ptr::null_mut();
                return ptr::null_mut();
            }
        }
        core::mem::replace(&mut self.obj, ptr::null_mut())
    }

    #[cold]
    fn grow(&mut self, additional: usize) {
        let want = (self.len + additional).max(self.cap * 2);
        // SAFETY: GIL held; the object is ours alone.
        if unsafe { _PyBytes_Resize(&mut self.obj, want as Py_ssize_t) } != 0 {
            // MemoryError is set; unwinding reaches `guard`, which reports it.
            panic!("out of memory growing the JSON output");
        }
        self.cap = want;
    }
}

impl Drop for BytesOut {
    fn drop(&mut self) {
        // SAFETY: GIL held; NULL after finish() or a failed resize.
        unsafe { ffi::Py_XDECREF(self.obj) }
    }
}

// SAFETY: `reserve` grows the bytes object to at least `len + additional` (or unwinds),
// `as_mut_ptr` is its data pointer, valid for `cap` bytes, and `len`/`set_len` track
// what was written.
unsafe impl Output for BytesOut {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }
    #[inline(always)]
    fn capacity(&self) -> usize {
        self.cap
    }
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        if self.cap - self.len < additional {
            self.grow(additional);
        }
    }
    #[inline(always)]
    fn as_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: `obj` is a live bytes object.
        unsafe { ffi::PyBytes_AS_STRING(self.obj).cast_mut().cast::<u8>() }
    }
    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes are written.
        unsafe {
            std::slice::from_raw_parts(ffi::PyBytes_AS_STRING(self.obj).cast::<u8>(), self.len)
        }
    }
    #[inline(always)]
    unsafe fn set_len(&mut self, len: usize) {
        self.len = len;
    }
}

pub(crate) unsafe extern "C" fn dumps_raw(
    _module: *mut PyObject,
    obj: *mut PyObject,
) -> *mut PyObject {
    // SAFETY: called by the interpreter with the GIL held and a valid `obj`.
    unsafe {
        guard(|| {
            let hint = LAST_LEN.load(Ordering::Relaxed);
            let Some(out) = BytesOut::new((hint + hint / 8).clamp(256, 64 << 20)) else {
                return ptr::null_mut();
            };
            let limit = cpython::recursion_limit().min(MAX_DUMPS_DEPTH);
            let mut enc = Encoder {
                out,
                depth: 0,
                max_depth: limit,
                deep: ptr::null_mut(),
                cyclic: false,
            };
            match enc.encode(obj) {
                Ok(()) => {
                    LAST_LEN.store(enc.out.len, Ordering::Relaxed);
                    enc.out.finish()
                }
                Err(Raised) => {
                    if !enc.deep.is_null() {
                        enc.raise_too_deep();
                    }
                    ptr::null_mut()
                }
            }
        })
    }
}

/// A Python exception has been set; unwind to the caller.
#[derive(Debug)]
struct Raised;

type Res = Result<(), Raised>;

struct Encoder {
    out: BytesOut,
    /// Containers currently open.
    depth: usize,
    max_depth: usize,
    /// The container met at the depth limit (no Python error is set yet);
    /// the containers being unwound check whether they are it: a cycle.
    deep: *mut PyObject,
    cyclic: bool,
}

unsafe fn set_error(exc: *mut PyObject, msg: &str) -> Raised {
    let msg = std::ffi::CString::new(msg).unwrap_or_default();
    // SAFETY: GIL held by callers.
    unsafe { ffi::PyErr_SetString(exc, msg.as_ptr()) };
    Raised
}

/// `type(obj).__name__` as `json` spells it in its messages.
unsafe fn class_name(obj: *mut PyObject) -> String {
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
unsafe fn type_name(obj: *mut PyObject) -> String {
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
unsafe fn raise_out_of_range(obj: *mut PyObject) -> Raised {
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

macro_rules! ty {
    ($t:ident) => {
        &raw mut ffi::$t
    };
}

impl Encoder {
    #[inline(always)]
    unsafe fn encode(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held; `obj` is a valid borrowed reference.
        unsafe {
            let ty = ffi::Py_TYPE(obj);
            if ty == ty!(PyUnicode_Type) {
                self.write_str(obj)
            } else if ty == ty!(PyLong_Type) {
                self.write_int(obj)
            } else if ty == ty!(PyDict_Type) {
                self.write_dict(obj)
            } else if ty == ty!(PyList_Type) {
                self.write_list(obj)
            } else if ty == ty!(PyFloat_Type) {
                self.write_float(obj)
            } else if obj == ffi::Py_None() {
                self.out.extend_from_slice(b"null");
                Ok(())
            } else if obj == ffi::Py_True() {
                self.out.extend_from_slice(b"true");
                Ok(())
            } else if obj == ffi::Py_False() {
                self.out.extend_from_slice(b"false");
                Ok(())
            } else if ty == ty!(PyTuple_Type) {
                self.write_tuple(obj)
            } else {
                self.encode_other(obj)
            }
        }
    }

    /// Subclasses, in the order `json`'s C encoder tests them, then the error.
    #[cold]
    unsafe fn encode_other(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held. Python code may run below (a subclass's `items()`
        // or `__iter__`), so hold our own reference to `obj` meanwhile.
        unsafe {
            ffi::Py_INCREF(obj);
            let r = if ffi::PyUnicode_Check(obj) != 0 {
                self.write_str(obj)
            } else if ffi::PyLong_Check(obj) != 0 {
                self.write_int(obj)
            } else if ffi::PyFloat_Check(obj) != 0 {
                self.write_float(obj)
            } else if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 {
                self.write_sequence_subclass(obj)
            } else if ffi::PyDict_Check(obj) != 0 {
                self.write_dict_subclass(obj)
            } else {
                let msg = format!(
                    "Object of type {} is not JSON serializable",
                    class_name(obj)
                );
                Err(set_error(ffi::PyExc_TypeError, &msg))
            };
            ffi::Py_DECREF(obj);
            r
        }
    }

    #[inline(always)]
    unsafe fn write_str(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is a str (or subclass); GIL held.
        unsafe {
            if ffi::PyUnicode_IS_COMPACT_ASCII(obj) != 0 {
                let len = ffi::PyUnicode_GET_LENGTH(obj) as usize;
                let data = obj.cast::<ffi::PyASCIIObject>().add(1).cast::<u8>();
                tachyon_json::write_str_unchecked(
                    &mut self.out,
                    std::slice::from_raw_parts(data, len),
                );
                return Ok(());
            }
            let mut len: Py_ssize_t = 0;
            // Fails (UnicodeEncodeError) on lone surrogates, as `.encode()` would.
            let data = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
            if data.is_null() {
                return Err(Raised);
            }
            tachyon_json::write_str_unchecked(
                &mut self.out,
                std::slice::from_raw_parts(data.cast::<u8>(), len as usize),
            );
            Ok(())
        }
    }

    #[inline(always)]
    unsafe fn write_int(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is an int (or subclass); GIL held.
        unsafe {
            // One 30-bit digit covers most ints: read in place, a call saved per int.
            if let Some(v) = cpython::compact_int(obj) {
                tachyon_json::write_i64(&mut self.out, v);
                return Ok(());
            }
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
            if overflow == 0 {
                tachyon_json::write_i64(&mut self.out, v);
                Ok(())
            } else {
                self.write_big_int(obj)
            }
        }
    }

    /// Beyond 64 bits: `int.__repr__`, as json does (it also applies
    /// Python's digit limit for huge values).
    #[cold]
    unsafe fn write_big_int(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held; PyLong_Type.tp_repr is int.__repr__.
        unsafe {
            let Some(repr) = (*ty!(PyLong_Type)).tp_repr else {
                return Err(set_error(ffi::PyExc_SystemError, "int has no repr"));
            };
            let text = repr(obj);
            if text.is_null() {
                return Err(Raised);
            }
            let r = self.append_ascii(text);
            ffi::Py_DECREF(text);
            r
        }
    }

    /// Appends an ASCII `str` object's characters verbatim.
    unsafe fn append_ascii(&mut self, text: *mut PyObject) -> Res {
        // SAFETY: GIL held; `text` is a str.
        unsafe {
            let mut len: Py_ssize_t = 0;
            let data = ffi::PyUnicode_AsUTF8AndSize(text, &mut len);
            if data.is_null() {
                return Err(Raised);
            }
            self.out
                .extend_from_slice(std::slice::from_raw_parts(data.cast::<u8>(), len as usize));
            Ok(())
        }
    }

    #[inline(always)]
    unsafe fn write_float(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is a float (or subclass).
        let v = unsafe { ffi::PyFloat_AS_DOUBLE(obj) };
        if !v.is_finite() {
            // SAFETY: GIL held; `obj` is valid.
            return Err(unsafe { raise_out_of_range(obj) });
        }
        tachyon_json::write_f64(&mut self.out, v);
        Ok(())
    }

    #[inline(always)]
    fn enter(&mut self, obj: *mut PyObject) -> Res {
        if self.depth >= self.max_depth {
            self.deep = obj;
            return Err(Raised);
        }
        self.depth += 1;
        Ok(())
    }

    #[inline(always)]
    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// On the way out of `obj` after an error: at the depth limit, meeting
    /// the deepest container again on the path means the data is circular.
    #[cold]
    fn unwinding(&mut self, obj: *mut PyObject) -> Raised {
        if !self.deep.is_null() && self.deep == obj {
            self.cyclic = true;
        }
        Raised
    }

    /// Reports the depth limit: json's "Circular reference detected" for a
    /// cycle, otherwise a RecursionError.
    #[cold]
    unsafe fn raise_too_deep(&mut self) {
        // SAFETY: GIL held.
        unsafe {
            if self.cyclic {
                set_error(ffi::PyExc_ValueError, "Circular reference detected");
            } else {
                set_error(
                    ffi::PyExc_RecursionError,
                    "maximum recursion depth exceeded while encoding a JSON object",
                );
            }
        }
    }

    /// Writes `items[from..n]` while they are finite exact floats (each after a `,` but
    /// the first of the sequence); returns the index of the first item not written.
    /// Arrays of numbers (canada.json's coordinates) are where most floats live. The
    /// output's length, data pointer and capacity are held in locals meanwhile: `BytesOut`
    /// lives in the encoder, in memory, so each append through it reloads and stores the
    /// length, and every byte written waits on the previous store.
    ///
    /// # Safety
    /// `items` points to `n` valid objects, which stay alive: no Python code runs here.
    // Inlined into the array writers in release builds (measured); kept out of line in
    // debug builds, whose unoptimised frames would otherwise grow the recursive writers'
    // frames past what 3000 levels of nesting fit in a thread's stack (3.13's depth).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline(never))]
    unsafe fn write_floats(&mut self, items: *const *mut PyObject, from: usize, n: usize) -> usize {
        const ROOM: usize = 1 + tachyon_json::F64_ROOM;
        let mut base = self.out.as_mut_ptr();
        let mut len = self.out.len;
        let mut cap = self.out.cap;
        let mut i = from;
        // SAFETY: per the caller, `items[i]` is valid for i < n. `ROOM` bytes are spare at
        // `base + len` before each float is written (grown first if not), and `len` counts
        // exactly the bytes written.
        unsafe {
            while i < n {
                let item = *items.add(i);
                if ffi::Py_TYPE(item) != ty!(PyFloat_Type) {
                    break;
                }
                let v = ffi::PyFloat_AS_DOUBLE(item);
                if !v.is_finite() {
                    break; // the general path raises json's error
                }
                if cap - len < ROOM {
                    self.out.len = len;
                    self.out.grow(ROOM);
                    base = self.out.as_mut_ptr();
                    cap = self.out.cap;
                }
                if i > 0 {
                    *base.add(len) = b',';
                    len += 1;
                }
                len += tachyon_json::write_finite_f64_raw(base.add(len), v);
                i += 1;
            }
        }
        self.out.len = len;
        i
    }

    #[inline]
    unsafe fn write_list(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is a list; the size is re-read each step because
        // nested subclass hooks may run Python code that mutates it.
        unsafe {
            if ffi::PyList_GET_SIZE(obj) == 0 {
                self.out.extend_from_slice(b"[]");
                return Ok(());
            }
            self.enter(obj)?;
            // Held while walking, like json's PySequence_Fast (see write_dict).
            ffi::Py_INCREF(obj);
            self.out.push(b'[');
            let mut i = 0;
            let mut r = Ok(());
            while i < ffi::PyList_GET_SIZE(obj) {
                let item = ffi::PyList_GET_ITEM(obj, i);
                if ffi::Py_TYPE(item) == ty!(PyFloat_Type) {
                    // The item array and size are read afresh: an earlier item's hook may
                    // have run Python code that resized the list.
                    let n = ffi::PyList_GET_SIZE(obj) as usize;
                    let items = (*obj.cast::<ffi::PyListObject>()).ob_item;
                    let next = self.write_floats(items, i as usize, n) as Py_ssize_t;
                    if next > i {
                        i = next;
                        continue;
                    }
                }
                if i > 0 {
                    self.out.push(b',');
                }
                r = self.encode(item);
                if r.is_err() {
                    break;
                }
                i += 1;
            }
            ffi::Py_DECREF(obj);
            r.map_err(|_| self.unwinding(obj))?;
            self.out.push(b']');
            self.leave();
            Ok(())
        }
    }

    #[inline]
    unsafe fn write_tuple(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is a tuple (immutable).
        unsafe {
            let n = ffi::PyTuple_GET_SIZE(obj);
            if n == 0 {
                self.out.extend_from_slice(b"[]");
                return Ok(());
            }
            self.enter(obj)?;
            ffi::Py_INCREF(obj);
            self.out.push(b'[');
            let mut r = Ok(());
            let items = (*obj.cast::<ffi::PyTupleObject>()).ob_item.as_ptr();
            let mut i = 0;
            while i < n {
                let item = *items.add(i as usize);
                if ffi::Py_TYPE(item) == ty!(PyFloat_Type) {
                    let next = self.write_floats(items, i as usize, n as usize) as Py_ssize_t;
                    if next > i {
                        i = next;
                        continue;
                    }
                }
                if i > 0 {
                    self.out.push(b',');
                }
                r = self.encode(item);
                if r.is_err() {
                    break;
                }
                i += 1;
            }
            ffi::Py_DECREF(obj);
            r.map_err(|_| self.unwinding(obj))?;
            self.out.push(b']');
            self.leave();
            Ok(())
        }
    }

    /// A list or tuple subclass: json iterates it (so an overridden `__iter__` counts).
    unsafe fn write_sequence_subclass(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held; `obj` is referenced by encode_other.
        unsafe {
            let seq = ffi::PySequence_Fast(obj, c"_iterencode_list needs a sequence".as_ptr());
            if seq.is_null() {
                return Err(Raised);
            }
            let n = ffi::PySequence_Fast_GET_SIZE(seq);
            let r = if n == 0 {
                self.out.extend_from_slice(b"[]");
                Ok(())
            } else {
                self.enter(obj).and_then(|()| {
                    self.out.push(b'[');
                    let items = ffi::PySequence_Fast_ITEMS(seq);
                    for i in 0..n {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        self.encode(*items.add(i as usize))
                            .map_err(|_| self.unwinding(obj))?;
                    }
                    self.out.push(b']');
                    self.leave();
                    Ok(())
                })
            };
            ffi::Py_DECREF(seq);
            r
        }
    }

    #[inline]
    unsafe fn write_dict(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: `obj` is an exact dict; GIL held. We hold a reference while
        // walking it: a subclass hook below may run Python code that drops
        // the dict from its parent.
        unsafe {
            let dict = obj.cast::<ffi::PyDictObject>();
            if (*dict).ma_used == 0 {
                self.out.extend_from_slice(b"{}");
                return Ok(());
            }
            self.enter(obj)?;
            ffi::Py_INCREF(obj);
            self.out.push(b'{');
            let r = match cpython::Entries::of(obj) {
                Some(entries) => self.write_dict_entries(obj, entries),
                None => self.write_dict_next(obj),
            };
            ffi::Py_DECREF(obj);
            r.map_err(|_| self.unwinding(obj))?;
            self.out.push(b'}');
            self.leave();
            Ok(())
        }
    }

    /// Items through the public `PyDict_Next`.
    #[inline]
    unsafe fn write_dict_next(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held; `obj` is a referenced exact dict.
        unsafe {
            let mut pos: Py_ssize_t = 0;
            let mut key: *mut PyObject = ptr::null_mut();
            let mut value: *mut PyObject = ptr::null_mut();
            let mut first = true;
            while ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.write_key(key)?;
                self.out.push(b':');
                self.encode(value)?;
            }
            Ok(())
        }
    }

    /// Items read straight from a combined table's entries (see `cpython.rs`,
    /// checked versions only): `PyDict_Next` was 17% of dumping twitter.json.
    #[inline]
    unsafe fn write_dict_entries(&mut self, obj: *mut PyObject, entries: cpython::Entries) -> Res {
        // SAFETY: GIL held; `obj` is a referenced exact dict whose table is
        // `entries`. If Python code run by a nested hook replaces the table, we
        // stop instead of reading it.
        unsafe {
            let mut first = true;
            for i in 0..entries.len() {
                let (key, value) = entries.get(i);
                if value.is_null() {
                    continue;
                }
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.write_key(key)?;
                self.out.push(b':');
                self.encode(value)?;
                if !entries.still_of(obj) {
                    return Err(set_error(
                        ffi::PyExc_RuntimeError,
                        "dictionary changed size during iteration",
                    ));
                }
            }
            Ok(())
        }
    }

    /// A dict subclass: json walks `items()` (an override counts).
    unsafe fn write_dict_subclass(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: GIL held; `obj` is referenced by encode_other.
        unsafe {
            if (*obj.cast::<ffi::PyDictObject>()).ma_used == 0 {
                self.out.extend_from_slice(b"{}");
                return Ok(());
            }
            let items = ffi::PyMapping_Items(obj);
            if items.is_null() {
                return Err(Raised);
            }
            let r = self.enter(obj).and_then(|()| {
                self.out.push(b'{');
                let n = ffi::PyList_GET_SIZE(items);
                for i in 0..n {
                    let item = ffi::PyList_GET_ITEM(items, i);
                    if ffi::PyTuple_Check(item) == 0 || ffi::PyTuple_GET_SIZE(item) != 2 {
                        return Err(set_error(
                            ffi::PyExc_ValueError,
                            "items must return 2-tuples",
                        ));
                    }
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.write_key(ffi::PyTuple_GET_ITEM(item, 0))?;
                    self.out.push(b':');
                    self.encode(ffi::PyTuple_GET_ITEM(item, 1))
                        .map_err(|_| self.unwinding(obj))?;
                }
                self.out.push(b'}');
                self.leave();
                Ok(())
            });
            ffi::Py_DECREF(items);
            r
        }
    }

    // Exact-type test first, the rest out of line (each position keeps its own inlined hot
    // test, as arrays do for floats).
    #[inline(always)]
    unsafe fn write_key(&mut self, key: *mut PyObject) -> Res {
        // SAFETY: GIL held; `key` is valid.
        unsafe {
            if ffi::Py_TYPE(key) == ty!(PyUnicode_Type) {
                self.write_str(key)
            } else {
                self.write_key_other(key)
            }
        }
    }

    /// Non-str keys, converted as json converts them (same test order).
    #[cold]
    unsafe fn write_key_other(&mut self, key: *mut PyObject) -> Res {
        // SAFETY: GIL held; `key` is valid.
        unsafe {
            if ffi::PyUnicode_Check(key) != 0 {
                return self.write_str(key);
            }
            self.out.push(b'"');
            if ffi::PyFloat_Check(key) != 0 {
                self.write_float(key)?;
            } else if key == ffi::Py_True() {
                self.out.extend_from_slice(b"true");
            } else if key == ffi::Py_False() {
                self.out.extend_from_slice(b"false");
            } else if key == ffi::Py_None() {
                self.out.extend_from_slice(b"null");
            } else if ffi::PyLong_Check(key) != 0 {
                self.write_int(key)?;
            } else {
                let name: String = type_name(key).chars().take(100).collect();
                let msg = format!("keys must be str, int, float, bool or None, not {name}");
                return Err(set_error(ffi::PyExc_TypeError, &msg));
            }
            self.out.push(b'"');
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// loads
// ---------------------------------------------------------------------------

/// An owned reference, released on drop (the reader drops unfinished values
/// when it meets an error).
struct Obj(*mut PyObject);

impl Drop for Obj {
    fn drop(&mut self) {
        // SAFETY: we own one reference; the GIL is held while loads runs.
        unsafe { ffi::Py_DECREF(self.0) }
    }
}

impl Obj {
    #[inline(always)]
    fn new(p: *mut PyObject) -> Result<Obj, Raised> {
        if p.is_null() { Err(Raised) } else { Ok(Obj(p)) }
    }

    #[inline(always)]
    fn into_raw(self) -> *mut PyObject {
        let p = self.0;
        core::mem::forget(self);
        p
    }
}

/// The reader's working memory, reused by every `loads` (under the GIL).
static LOADS_BUFFERS: GilCell<Buffers<Obj>> = GilCell(UnsafeCell::new(Buffers::new()));

/// Object keys recur across and within documents: a direct-mapped cache of
/// ASCII key strings saves building them and rehashing them on insert.
const KEY_CACHE_SLOTS: usize = 2048;
const KEY_CACHE_MAX_LEN: usize = 64;

struct KeySlot {
    hash: u64,
    obj: *mut PyObject,
}

static KEY_CACHE: GilCell<[KeySlot; KEY_CACHE_SLOTS]> = GilCell(UnsafeCell::new(
    [const {
        KeySlot {
            hash: 0,
            obj: ptr::null_mut(),
        }
    }; KEY_CACHE_SLOTS],
));

/// A cheap hash of a short key: two overlapping word loads (the cache
/// compares the bytes anyway, so collisions only cost a miss).
#[inline(always)]
fn hash_key(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let len = b.len();
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let half = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    };
    let mixed = if len >= 8 {
        word(0) ^ word(len - 8).rotate_left(23)
    } else if len >= 4 {
        half(0) | (half(len - 4) << 32)
    } else {
        let mut v = 0u64;
        for &c in b {
            v = (v << 8) | u64::from(c);
        }
        v
    };
    let h = (mixed ^ (len as u64)).wrapping_mul(K);
    h ^ (h >> 32)
}

/// Builds a str from ASCII bytes without a decode pass.
#[inline(always)]
unsafe fn ascii_str(b: &[u8]) -> *mut PyObject {
    // SAFETY: GIL held; a fresh compact ASCII str has room for `len` bytes.
    unsafe {
        let s = ffi::PyUnicode_New(b.len() as Py_ssize_t, 127);
        if !s.is_null() {
            let data = s.cast::<ffi::PyASCIIObject>().add(1).cast::<u8>();
            ptr::copy_nonoverlapping(b.as_ptr(), data, b.len());
        }
        s
    }
}

/// Builds a str from already-validated UTF-8, choosing the narrowest kind
/// as CPython requires: the largest lead byte decides it exactly
/// (C2-C3: Latin-1, C4-EF: BMP, F0-F4: astral). Skips the second UTF-8
/// validation `PyUnicode_DecodeUTF8` would do.
#[inline]
unsafe fn unicode_str(s: &str) -> *mut PyObject {
    let bytes = s.as_bytes();
    let mut chars = 0usize;
    let mut max_lead = 0u8;
    for &b in bytes {
        chars += usize::from((b as i8) >= -0x40);
        max_lead = max_lead.max(b);
    }
    let max_char: u32 = match max_lead {
        0..=0x7F => 0x7F,
        0x80..=0xC3 => 0xFF,
        0xC4..=0xEF => 0xFFFF,
        _ => 0x10FFFF,
    };
    // SAFETY: GIL held; the fresh str has room for `chars` code units of
    // the kind PyUnicode_New picked for `max_char`, and we write exactly that many.
    unsafe {
        let obj = ffi::PyUnicode_New(chars as Py_ssize_t, max_char);
        if obj.is_null() {
            return obj;
        }
        let data = ffi::PyUnicode_DATA(obj);
        match max_char {
            0x7F | 0xFF => {
                let p = data.cast::<u8>();
                for (i, c) in s.chars().enumerate() {
                    *p.add(i) = c as u8;
                }
            }
            0xFFFF => {
                let p = data.cast::<u16>();
                for (i, c) in s.chars().enumerate() {
                    *p.add(i) = c as u16;
                }
            }
            _ => {
                let p = data.cast::<u32>();
                for (i, c) in s.chars().enumerate() {
                    *p.add(i) = c as u32;
                }
            }
        }
        obj
    }
}

struct PySink {
    /// Scratch for NUL-terminating big-integer digits.
    digits: Vec<u8>,
}

impl Sink for PySink {
    type Value = Obj;
    type Error = Raised;

    #[inline(always)]
    fn null(&mut self) -> Result<Obj, Raised> {
        // SAFETY: GIL held.
        unsafe {
            let p = ffi::Py_None();
            ffi::Py_INCREF(p);
            Ok(Obj(p))
        }
    }

    #[inline(always)]
    fn bool(&mut self, v: bool) -> Result<Obj, Raised> {
        // SAFETY: GIL held.
        unsafe {
            let p = if v { ffi::Py_True() } else { ffi::Py_False() };
            ffi::Py_INCREF(p);
            Ok(Obj(p))
        }
    }

    #[inline(always)]
    fn int(&mut self, v: i64) -> Result<Obj, Raised> {
        // SAFETY: GIL held.
        Obj::new(unsafe { ffi::PyLong_FromLongLong(v) })
    }

    fn big_int(&mut self, text: &str) -> Result<Obj, Raised> {
        self.digits.clear();
        self.digits.extend_from_slice(text.as_bytes());
        self.digits.push(0);
        // SAFETY: GIL held; NUL-terminated digits. Python's digit limit applies.
        Obj::new(unsafe {
            ffi::PyLong_FromString(self.digits.as_ptr().cast::<c_char>(), ptr::null_mut(), 10)
        })
    }

    #[inline(always)]
    fn float(&mut self, _text: &str, v: f64) -> Result<Obj, Raised> {
        // SAFETY: GIL held.
        Obj::new(unsafe { ffi::PyFloat_FromDouble(v) })
    }

    #[inline(always)]
    fn str(&mut self, s: &str, ascii: bool) -> Result<Obj, Raised> {
        // SAFETY: GIL held; `s` is UTF-8.
        Obj::new(unsafe {
            if ascii {
                ascii_str(s.as_bytes())
            } else {
                unicode_str(s)
            }
        })
    }

    fn str_with_surrogates(&mut self, wtf8: &[u8]) -> Result<Obj, Raised> {
        // SAFETY: GIL held; surrogatepass decodes WTF-8 surrogates as json does.
        Obj::new(unsafe {
            ffi::PyUnicode_DecodeUTF8(
                wtf8.as_ptr().cast::<c_char>(),
                wtf8.len() as Py_ssize_t,
                c"surrogatepass".as_ptr(),
            )
        })
    }

    #[inline(always)]
    fn key(&mut self, s: &str, ascii: bool) -> Result<Obj, Raised> {
        let b = s.as_bytes();
        if !ascii || b.len() > KEY_CACHE_MAX_LEN {
            return self.str(s, ascii);
        }
        let h = hash_key(b);
        // SAFETY: GIL held (the cache is only touched under it); cached
        // objects are compact ASCII strs owned by the cache.
        unsafe {
            let slot = &mut (*KEY_CACHE.0.get())[(h as usize) & (KEY_CACHE_SLOTS - 1)];
            let cached = slot.obj;
            if !cached.is_null()
                && slot.hash == h
                && ffi::PyUnicode_GET_LENGTH(cached) as usize == b.len()
                && std::slice::from_raw_parts(
                    cached.cast::<ffi::PyASCIIObject>().add(1).cast::<u8>(),
                    b.len(),
                ) == b
            {
                ffi::Py_INCREF(cached);
                return Ok(Obj(cached));
            }
            let fresh = ascii_str(b);
            if fresh.is_null() {
                return Err(Raised);
            }
            // Hash now, once: every dict insert of this key reuses it.
            ffi::PyObject_Hash(fresh);
            ffi::Py_INCREF(fresh);
            let old = core::mem::replace(&mut slot.obj, fresh);
            slot.hash = h;
            if !old.is_null() {
                ffi::Py_DECREF(old);
            }
            Ok(Obj(fresh))
        }
    }

    #[inline]
    fn array(&mut self, items: Drain<'_, Obj>) -> Result<Obj, Raised> {
        // SAFETY: GIL held; PyList_SET_ITEM steals each reference into a
        // fresh list of exactly this length.
        unsafe {
            let list = Obj::new(ffi::PyList_New(items.len() as Py_ssize_t))?;
            for (i, item) in items.enumerate() {
                ffi::PyList_SET_ITEM(list.0, i as Py_ssize_t, item.into_raw());
            }
            Ok(list)
        }
    }

    #[inline]
    fn object(&mut self, entries: Entries<'_, Obj>) -> Result<Obj, Raised> {
        // SAFETY: GIL held; PyDict_SetItem does not steal (our Obj drops release).
        unsafe {
            let n = entries.len();
            let dict = Obj::new(cpython::new_dict(n))?;
            // Later duplicates overwrite earlier ones, keeping the first's position: dict(pairs).
            for (k, v) in entries {
                if ffi::PyDict_SetItem(dict.0, k.0, v.0) != 0 {
                    return Err(Raised);
                }
            }
            Ok(dict)
        }
    }
}

/// The input's bytes, and what to release after.
enum Input {
    Borrowed,
    Buffer(Box<ffi::Py_buffer>),
}

unsafe extern "C" fn loads_raw(_module: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
    // SAFETY: called by the interpreter with the GIL held and a valid `arg`.
    unsafe { guard(|| loads_impl(arg, false)) }
}

/// `json_loads_strict`: `loads` without NaN and the infinities (what `request.json()` uses).
unsafe extern "C" fn loads_strict_raw(_module: *mut PyObject, arg: *mut PyObject) -> *mut PyObject {
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

/// Raises `json.JSONDecodeError(msg, doc, pos)`; returns NULL.
unsafe fn decode_error(msg: &str, doc: *mut PyObject, pos: usize) -> *mut PyObject {
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
