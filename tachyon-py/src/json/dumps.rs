//! `dumps`: the encoder, walking Python objects over the raw C API in the order and with
//! the errors of `json`'s C encoder, writing with tachyon-json into a [`BytesOut`].

use core::ffi::c_int;
use core::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use tachyon_json::Output;

use super::bytes_out::BytesOut;
use super::cpython;
use super::errors::{class_name, raise_out_of_range, set_error, type_name};
use super::{Raised, Res, guard};

/// The deepest nesting dumps follows even if `sys.getrecursionlimit()` is
/// higher: the walk is recursive, and this keeps it well inside any thread's stack.
const MAX_DUMPS_DEPTH: usize = 3000;

/// Size of the previous output: the next call starts with about that much
/// room (responses of one app tend to be alike), so large documents do not
/// grow through a chain of reallocations.
static LAST_LEN: AtomicUsize = AtomicUsize::new(0);

/// `json_dumps(obj)`: the C function registered as a `METH_O` method.
///
/// # Safety
/// Called by the interpreter only: the GIL is held and `obj` is a valid object.
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

/// A tuple's item array. The struct declares `ob_item` as `[_; 1]` while CPython allocates
/// `ob_size` items in its place, so the address is taken from the field itself (`&raw const`,
/// no reference to the one-element array): reading item `i < size` through it stays within
/// the object the pointer came from. (pyo3-ffi's `PyTuple_GET_ITEM` goes through
/// `ob_item.as_ptr()`, which does form that reference.)
///
/// # Safety
/// `obj` points to a live tuple.
#[inline(always)]
unsafe fn tuple_items(obj: *mut PyObject) -> *const *mut PyObject {
    // SAFETY: per the caller, `obj` is a tuple: the field exists; no reference is formed.
    unsafe { (&raw const (*obj.cast::<ffi::PyTupleObject>()).ob_item).cast() }
}

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

impl Encoder {
    /// Writes `obj`: exact types first, in `json`'s order, then [`Encoder::encode_other`].
    ///
    /// # Safety
    /// The GIL is held and `obj` is a valid object (a borrowed reference kept alive by its container or caller).
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
    ///
    /// # Safety
    /// The GIL is held and `obj` is a valid object.
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

    /// Writes a `str` (or subclass) as a JSON string; lone surrogates raise UnicodeEncodeError.
    ///
    /// # Safety
    /// The GIL is held and `obj` is a `str` (or subclass).
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

    /// Writes an `int` (or subclass) in decimal.
    ///
    /// # Safety
    /// The GIL is held and `obj` is an `int` (or subclass).
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
    ///
    /// # Safety
    /// The GIL is held and `obj` is an `int` (or subclass).
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
    ///
    /// # Safety
    /// The GIL is held and `text` is a `str`.
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

    /// Writes a `float` (or subclass) as `repr` spells it; NaN and the infinities raise json's ValueError.
    ///
    /// # Safety
    /// The GIL is held and `obj` is a `float` (or subclass).
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
    ///
    /// # Safety
    /// The GIL is held.
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

    /// Writes an exact `list` as a JSON array.
    ///
    /// # Safety
    /// The GIL is held and `obj` is an exact `list`.
    #[inline]
    unsafe fn write_list(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: per the caller; the size and item array are those of the list as it is
        // when read (nested subclass hooks may run Python code that resizes it).
        unsafe {
            self.write_array(obj, |obj| {
                let items = (*obj.cast::<ffi::PyListObject>()).ob_item;
                (ffi::PyList_GET_SIZE(obj), items.cast_const())
            })
        }
    }

    /// Writes an exact `tuple` as a JSON array.
    ///
    /// # Safety
    /// The GIL is held and `obj` is an exact `tuple`.
    #[inline]
    unsafe fn write_tuple(&mut self, obj: *mut PyObject) -> Res {
        // SAFETY: per the caller; a tuple's size and items never change.
        unsafe { self.write_array(obj, |obj| (ffi::PyTuple_GET_SIZE(obj), tuple_items(obj))) }
    }

    /// Writes an exact `list` or `tuple` by index, runs of floats through
    /// [`Encoder::write_floats`]. `view(obj)` gives its item count and item array, read
    /// afresh at each step: an earlier item's hook may have run Python code that resized
    /// a list. (The reads are those of the list-only loop this replaced, so a list
    /// compiles to the same code; a tuple's re-reads cost nothing.)
    ///
    /// # Safety
    /// The GIL is held, `obj` is an exact `list` or `tuple`, and `view(obj)` returns its
    /// current size and item array.
    #[inline(always)]
    unsafe fn write_array(
        &mut self,
        obj: *mut PyObject,
        view: impl Fn(*mut PyObject) -> (Py_ssize_t, *const *mut PyObject),
    ) -> Res {
        // SAFETY: per the caller, `items[..n]` are valid for the `n` of the same view.
        unsafe {
            if view(obj).0 == 0 {
                self.out.extend_from_slice(b"[]");
                return Ok(());
            }
            self.enter(obj)?;
            // Held while walking, like json's PySequence_Fast (see write_dict).
            ffi::Py_INCREF(obj);
            self.out.push(b'[');
            let mut i = 0;
            let mut r = Ok(());
            while i < view(obj).0 {
                let item = *view(obj).1.offset(i);
                if ffi::Py_TYPE(item) == ty!(PyFloat_Type) {
                    let (n, items) = view(obj);
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
    ///
    /// # Safety
    /// The GIL is held and `obj` is a `list` or `tuple` subclass the caller holds a reference to.
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

    /// Writes an exact `dict`: its entry table in place where `cpython` allows, else through `PyDict_Next`.
    ///
    /// # Safety
    /// The GIL is held and `obj` is an exact `dict`.
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
    ///
    /// # Safety
    /// The GIL is held and `obj` is an exact `dict` the caller holds a reference to.
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
    ///
    /// # Safety
    /// The GIL is held, `obj` is an exact `dict` the caller holds a reference to, and `entries` was read from it.
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
    ///
    /// # Safety
    /// The GIL is held and `obj` is a `dict` subclass the caller holds a reference to.
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
                    let pair = tuple_items(item);
                    self.write_key(*pair)?;
                    self.out.push(b':');
                    self.encode(*pair.add(1)).map_err(|_| self.unwinding(obj))?;
                }
                self.out.push(b'}');
                self.leave();
                Ok(())
            });
            ffi::Py_DECREF(items);
            r
        }
    }

    /// Writes a dict key: a `str` as is, the other types json accepts quoted.
    ///
    /// # Safety
    /// The GIL is held and `key` is a valid object.
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
    ///
    /// Alike in shape to `encode`'s type tests, on purpose not shared: a key is quoted
    /// and written in the order json tests keys, a value in the order it tests values.
    ///
    /// # Safety
    /// The GIL is held and `key` is a valid object.
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
