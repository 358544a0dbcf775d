//! The loads sink: tachyon-json's reader calls it for every value, and it builds the
//! Python objects (`json.loads`' types) as it goes.

use core::ffi::c_char;
use core::ptr;
use std::vec::Drain;

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use tachyon_json::{Entries, Sink};

use super::key_cache::{self, KEY_CACHE_MAX_LEN};
use super::strings::{ascii_str, unicode_str};
use super::{Raised, cpython};

/// An owned reference, released on drop (the reader drops unfinished values
/// when it meets an error).
pub(super) struct Obj(pub(super) *mut PyObject);

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
    pub(super) fn into_raw(self) -> *mut PyObject {
        let p = self.0;
        core::mem::forget(self);
        p
    }
}

/// tachyon-json's reader [`Sink`] that builds Python objects.
pub(super) struct PySink {
    /// Scratch for NUL-terminating big-integer digits.
    pub(super) digits: Vec<u8>,
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
        // SAFETY: GIL held; `b` is ASCII and no longer than the cache takes.
        Obj::new(unsafe { key_cache::key_str(b) })
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
