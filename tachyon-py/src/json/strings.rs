//! Building `str` objects from text the reader has already validated, without the
//! decoding pass of `PyUnicode_DecodeUTF8`.

use core::ptr;

use pyo3::ffi::{self, Py_ssize_t, PyObject};

/// Builds a str from ASCII bytes without a decode pass.
///
/// # Safety
/// The GIL is held and `b` is ASCII.
#[inline(always)]
pub(crate) unsafe fn ascii_str(b: &[u8]) -> *mut PyObject {
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
///
/// # Safety
/// The GIL is held.
#[inline]
pub(super) unsafe fn unicode_str(s: &str) -> *mut PyObject {
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
