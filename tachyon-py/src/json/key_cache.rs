//! A direct-mapped cache of the `str` objects of short ASCII object keys, kept across
//! `loads` calls (under the GIL).

use core::ptr;
use std::cell::UnsafeCell;

use pyo3::ffi::{self, PyObject};

use super::GilCell;
use super::strings::ascii_str;

/// Object keys recur across and within documents: a direct-mapped cache of
/// ASCII key strings saves building them and rehashing them on insert.
/// Slots in the cache (a power of two).
const KEY_CACHE_SLOTS: usize = 2048;
/// The longest key cached (longer ones are rarely repeated).
pub(super) const KEY_CACHE_MAX_LEN: usize = 64;

/// One cached key: its hash and the `str` (an owned reference, or NULL).
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

/// The `str` for the ASCII key `b`: a new reference, from the cache or built and cached
/// (hashed once, here); NULL with an exception set if it cannot be built.
///
/// # Safety
/// The GIL is held; `b` is ASCII and at most [`KEY_CACHE_MAX_LEN`] bytes long.
#[inline(always)]
pub(super) unsafe fn key_str(b: &[u8]) -> *mut PyObject {
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
            return cached;
        }
        let fresh = ascii_str(b);
        if fresh.is_null() {
            return fresh;
        }
        // Hash now, once: every dict insert of this key reuses it.
        ffi::PyObject_Hash(fresh);
        ffi::Py_INCREF(fresh);
        let old = core::mem::replace(&mut slot.obj, fresh);
        slot.hash = h;
        if !old.is_null() {
            ffi::Py_DECREF(old);
        }
        fresh
    }
}
