//! The output of `dumps`: a `bytes` object written in place, as a tachyon-json [`Output`].

use core::ffi::c_int;
use core::ptr;

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use tachyon_json::Output;

unsafe extern "C" {
    /// Resizes a fresh (unshared) bytes object; public in CPython's headers
    /// but crate-private in pyo3-ffi. On failure it frees the object, sets
    /// `*bytes` to NULL and raises MemoryError.
    fn _PyBytes_Resize(bytes: *mut *mut PyObject, newsize: Py_ssize_t) -> c_int;
}

/// The output: a `bytes` object written in place and trimmed at the end,
/// so the result is never copied.
pub(super) struct BytesOut {
    obj: *mut PyObject,
    /// Bytes written.
    pub(super) len: usize,
    /// Bytes allocated (the object's size until `finish`).
    pub(super) cap: usize,
}

impl BytesOut {
    /// A fresh `bytes` of `cap` uninitialized bytes to write into; `None` with MemoryError set.
    ///
    /// # Safety
    /// The GIL is held.
    pub(super) unsafe fn new(cap: usize) -> Option<BytesOut> {
        // SAFETY: GIL held; NULL data makes an uninitialized bytes of that size.
        let obj = unsafe { ffi::PyBytes_FromStringAndSize(ptr::null(), cap as Py_ssize_t) };
        if obj.is_null() {
            None
        } else {
            Some(BytesOut { obj, len: 0, cap })
        }
    }

    /// Trims to the written length and hands over the object.
    ///
    /// # Safety
    /// The GIL is held.
    pub(super) unsafe fn finish(mut self) -> *mut PyObject {
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

    /// Grows the object to at least `len + additional` bytes (doubling).
    ///
    /// # Panics
    /// When the interpreter cannot grow it: `_PyBytes_Resize` has freed the object and
    /// raised MemoryError, and the panic unwinds to `json::guard`, which returns NULL with
    /// that MemoryError still set (it sets a SystemError only when no exception is).
    #[cold]
    pub(super) fn grow(&mut self, additional: usize) {
        let want = (self.len + additional).max(self.cap * 2);
        // SAFETY: GIL held; the object is ours alone.
        if unsafe { resize(&mut self.obj, want) } != 0 {
            panic!("out of memory growing the JSON output");
        }
        self.cap = want;
    }
}

/// `_PyBytes_Resize`; in test builds, failing once as it fails without memory after
/// [`fail_next_grow`].
///
/// # Safety
/// The GIL is held and `*obj` is a bytes object nobody else references.
unsafe fn resize(obj: &mut *mut PyObject, size: usize) -> c_int {
    #[cfg(feature = "test-hooks")]
    if FAIL_NEXT_GROW.swap(false, std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: as `_PyBytes_Resize` does on failure: free the object, clear the
        // pointer, raise MemoryError (GIL held, the object ours alone).
        unsafe {
            ffi::Py_DECREF(*obj);
            *obj = ptr::null_mut();
            ffi::PyErr_NoMemory();
        }
        return -1;
    }
    // SAFETY: per the caller.
    unsafe { _PyBytes_Resize(obj, size as Py_ssize_t) }
}

/// Test builds: the next growth of a `dumps` output fails as if out of memory.
#[cfg(feature = "test-hooks")]
static FAIL_NEXT_GROW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `_test_json_fail_next_grow()`: makes the next growth of a `dumps` output fail with
/// MemoryError, as a failed `_PyBytes_Resize` does (test builds only).
#[cfg(feature = "test-hooks")]
#[pyo3::pyfunction]
pub(super) fn _test_json_fail_next_grow() {
    FAIL_NEXT_GROW.store(true, std::sync::atomic::Ordering::Relaxed);
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
