//! The CPython-specific reads behind `tachyon.json`'s fast paths, and their version gates.
//!
//! Two reads skip a call into the interpreter on the hot path of `dumps`:
//! - a dict's entry table, walked directly instead of through `PyDict_Next` (which was 17%
//!   of dumping twitter.json on 3.11);
//! - a small int's value, read from the object instead of `PyLong_AsLongLongAndOverflow`.
//!   On 3.12 and 3.13 this is CPython's own unstable API (`PyUnstable_Long_IsCompact` and
//!   `PyUnstable_Long_CompactValue`, static inline functions over `lv_tag` in the headers),
//!   written out here because the exported versions of them cost a call each.
//!
//! and `loads` builds large dicts presized (`_PyDict_NewPresized`).
//!
//! None of these is stable API, so each is compiled in only for the versions whose headers
//! it was checked against: default (GIL) builds of CPython 3.11, 3.12 and 3.13 (checked on
//! 3.11.7, 3.12.1 and 3.13.0; build.rs sets `cpython_layout`). At import, [`init`] also
//! checks each read against the public API on sample objects and turns off any that
//! disagrees. Every other interpreter — CPython 3.14 and later, free-threaded or debug
//! builds, other implementations — uses only the public calls (`PyDict_Next`,
//! `PyLong_AsLongLongAndOverflow`, `PyDict_New`): the same bytes and the same results,
//! a little slower.
//!
//! `_json_fast_paths()` (for the tests) reports what was decided and, in debug builds,
//! how often each fast path ran.

use core::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::ffi::{self, Py_ssize_t, PyObject};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The version whose layouts this build reads (see build.rs), for reports.
const LAYOUT: Option<&str> = if cfg!(cpython_layout = "3.11") {
    Some("3.11")
} else if cfg!(cpython_layout = "3.12") {
    Some("3.12")
} else if cfg!(cpython_layout = "3.13") {
    Some("3.13")
} else {
    None
};

/// Whether dumps walks dict entry tables directly.
static DICT_ENTRIES: AtomicBool = AtomicBool::new(false);
/// Whether dumps reads small ints directly.
static COMPACT_INT: AtomicBool = AtomicBool::new(false);
/// Whether loads presizes large dicts.
static PRESIZED_DICT: AtomicBool = AtomicBool::new(false);
/// What the start-up checks allowed, so tests can switch the fast paths off and on again.
static CHECKED: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];

/// How often each fast path ran (debug builds only: the tests' proof that it is taken).
#[cfg(debug_assertions)]
static HITS: [std::sync::atomic::AtomicUsize; 3] =
    [const { std::sync::atomic::AtomicUsize::new(0) }; 3];

#[inline(always)]
fn hit(_which: usize) {
    #[cfg(debug_assertions)]
    HITS[_which].fetch_add(1, Ordering::Relaxed);
}

/// Decides the fast paths for the running interpreter (once, at import).
fn init(py: Python<'_>) -> PyResult<()> {
    // SAFETY: Py_Version is a constant exported by the running interpreter.
    let running = (unsafe { ffi::Py_Version } >> 16) as u32;
    let digit_bits: u32 = py
        .import("sys")?
        .getattr("int_info")?
        .getattr("bits_per_digit")?
        .extract()?;
    let layout_matches = LAYOUT.is_some_and(|v| {
        let minor = v.trim_start_matches("3.").parse::<u32>().unwrap_or(0);
        running == (0x03 << 8) | minor
    });
    let ints = layout_matches && digit_bits == 30 && ints_agree(py)?;
    let dicts = layout_matches && dicts_agree(py)?;
    let presized = layout_matches;
    for (flag, on) in [(0, dicts), (1, ints), (2, presized)] {
        CHECKED[flag].store(on, Ordering::Relaxed);
    }
    set_enabled(true);
    init_c_recursion_budget();
    Ok(())
}

/// Turns the fast paths that passed the start-up checks on, or all of them off.
fn set_enabled(on: bool) {
    let allowed = |i: usize| on && CHECKED[i].load(Ordering::Relaxed);
    DICT_ENTRIES.store(allowed(0), Ordering::Relaxed);
    COMPACT_INT.store(allowed(1), Ordering::Relaxed);
    PRESIZED_DICT.store(allowed(2), Ordering::Relaxed);
}

/// `_json_fast_paths()`: which fast paths are in use on this interpreter, the layout
/// version compiled in, and (debug builds) how often each ran; `None` counts in release.
#[pyfunction]
#[pyo3(name = "_json_fast_paths")]
fn json_fast_paths(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("layout", LAYOUT)?;
    d.set_item("dict_entries", DICT_ENTRIES.load(Ordering::Relaxed))?;
    d.set_item("compact_int", COMPACT_INT.load(Ordering::Relaxed))?;
    d.set_item("presized_dict", PRESIZED_DICT.load(Ordering::Relaxed))?;
    #[cfg(debug_assertions)]
    let hits = Some(HITS.each_ref().map(|h| h.load(Ordering::Relaxed)));
    #[cfg(not(debug_assertions))]
    let hits: Option<[usize; 3]> = None;
    d.set_item("hits", hits)?;
    Ok(d)
}

/// `_json_use_fast_paths(on)`: with `False`, json takes the portable path everywhere (for
/// tests comparing the two); with `True`, the fast paths that passed the checks again.
#[pyfunction]
#[pyo3(name = "_json_use_fast_paths")]
fn json_use_fast_paths(on: bool) {
    set_enabled(on);
}

/// Registers the introspection functions on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    init(m.py())?;
    m.add_function(wrap_pyfunction!(json_fast_paths, m)?)?;
    m.add_function(wrap_pyfunction!(json_use_fast_paths, m)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// ints
// ---------------------------------------------------------------------------

/// CPython 3.11's `PyLongObject` head (Include/cpython/longintrepr.h): `ob_size` is the
/// digit count with the value's sign; 30-bit digits follow.
#[cfg(cpython_layout = "3.11")]
#[repr(C)]
struct Long {
    ob_base: PyObject,
    ob_size: Py_ssize_t,
    digit: u32,
}

/// CPython 3.12's and 3.13's `PyLongObject` head (Include/cpython/longintrepr.h):
/// `lv_tag` holds the digit count above 3 flag bits, the sign in the low 2 bits
/// (0 positive, 1 zero, 2 negative); 30-bit digits follow.
#[cfg(any(cpython_layout = "3.12", cpython_layout = "3.13"))]
#[repr(C)]
struct Long {
    ob_base: PyObject,
    lv_tag: usize,
    digit: u32,
}

/// The value of an int that fits one digit (|v| < 2**30), read from the object, or `None`
/// when it is bigger or the fast path is off.
///
/// # Safety
/// `obj` is an int (or int subclass) and the GIL is held.
#[inline(always)]
pub unsafe fn compact_int(obj: *mut PyObject) -> Option<i64> {
    #[cfg(cpython_layout)]
    if COMPACT_INT.load(Ordering::Relaxed) {
        // SAFETY: the caller gives an int; this layout is the running version's (checked at init).
        let v = unsafe { read_compact(obj) };
        if v.is_some() {
            hit(1);
        }
        return v;
    }
    let _ = obj;
    None
}

/// # Safety
/// `obj` is an int and the layout is the running interpreter's.
#[cfg(cpython_layout = "3.11")]
#[inline(always)]
unsafe fn read_compact(obj: *mut PyObject) -> Option<i64> {
    // SAFETY: per the caller, `obj` points to a `Long` in this layout.
    unsafe {
        let long = obj.cast::<Long>();
        let size = (*long).ob_size;
        if size.unsigned_abs() > 1 {
            return None;
        }
        // ob_size is 0 for zero, else ±1: the sign times the one digit.
        Some(i64::from((*long).digit) * size as i64)
    }
}

/// # Safety
/// `obj` is an int and the layout is the running interpreter's.
#[cfg(any(cpython_layout = "3.12", cpython_layout = "3.13"))]
#[inline(always)]
unsafe fn read_compact(obj: *mut PyObject) -> Option<i64> {
    /// `_PyLong_NON_SIZE_BITS`: the flag bits below the digit count.
    const NON_SIZE_BITS: u32 = 3;
    // SAFETY: per the caller, `obj` points to a `Long` in this layout.
    unsafe {
        let long = obj.cast::<Long>();
        let tag = (*long).lv_tag;
        // _PyLong_IsCompact: at most one digit.
        if tag >= 2 << NON_SIZE_BITS {
            return None;
        }
        // _PyLong_CompactValue: (1 - sign bits) * digit; zero stores digit 0.
        let sign = 1 - (tag & 3) as i64;
        Some(sign * i64::from((*long).digit))
    }
}

#[cfg(any(cpython_layout = "3.12", cpython_layout = "3.13"))]
unsafe extern "C" {
    /// The exported form of the unstable API the layout above mirrors (3.12+).
    fn PyUnstable_Long_IsCompact(op: *const PyObject) -> core::ffi::c_int;
    /// The exported form of `PyUnstable_Long_CompactValue` (3.12+).
    fn PyUnstable_Long_CompactValue(op: *const PyObject) -> Py_ssize_t;
}

/// Whether the compact-int read gives `int`'s own answer on sample values, including
/// both sides of one 30-bit digit and of zero.
fn ints_agree(py: Python<'_>) -> PyResult<bool> {
    let samples: [i128; 12] = [
        0,
        1,
        -1,
        7,
        -123_456,
        (1 << 30) - 1,
        -((1 << 30) - 1),
        1 << 30,
        -(1 << 30),
        1 << 62,
        -(1 << 63),
        1 << 100,
    ];
    for v in samples {
        let obj = v.into_pyobject(py)?;
        let want = (v.unsigned_abs() < 1 << 30).then_some(v as i64);
        #[cfg(cpython_layout)]
        // SAFETY: `obj` is a live int; GIL held.
        let got = unsafe { read_compact(obj.as_ptr()) };
        #[cfg(not(cpython_layout))]
        let got: Option<i64> = None;
        if got != want {
            return Ok(false);
        }
        #[cfg(any(cpython_layout = "3.12", cpython_layout = "3.13"))]
        // SAFETY: `obj` is a live int; these are exported by 3.12 and 3.13.
        unsafe {
            let compact = PyUnstable_Long_IsCompact(obj.as_ptr()) != 0;
            if compact != got.is_some()
                || (compact && Some(PyUnstable_Long_CompactValue(obj.as_ptr()) as i64) != got)
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------
// dicts
// ---------------------------------------------------------------------------

/// The head of `PyDictKeysObject` (Include/internal/pycore_dict.h), the same in CPython
/// 3.11, 3.12 and 3.13 default builds (3.13's free-threaded build adds a mutex); the index
/// table (`1 << dk_log2_index_bytes` bytes), then the entries, follow it.
#[cfg(cpython_layout)]
#[repr(C)]
struct DictKeys {
    dk_refcnt: Py_ssize_t,
    dk_log2_size: u8,
    dk_log2_index_bytes: u8,
    dk_kind: u8,
    dk_version: u32,
    dk_usable: Py_ssize_t,
    dk_nentries: Py_ssize_t,
}

/// A combined dict's entry table, read in place.
#[derive(Debug, Clone, Copy)]
pub struct Entries {
    keys: *const (),
    /// First slot (of the first entry's key).
    first: *mut *mut PyObject,
    /// Pointers per entry: 3 for `(hash, key, value)`, 2 for str-keyed `(key, value)`.
    stride: usize,
    /// Entries used so far, deleted ones included (their value is NULL).
    len: usize,
}

impl Entries {
    /// The table of `dict`, if the fast path is on and the dict is combined (not split).
    ///
    /// # Safety
    /// `dict` is a live exact dict and the GIL is held.
    #[inline(always)]
    pub unsafe fn of(dict: *mut PyObject) -> Option<Entries> {
        #[cfg(cpython_layout)]
        // SAFETY: per the caller; the layout is the running version's (checked at init).
        unsafe {
            let d = dict.cast::<ffi::PyDictObject>();
            if !DICT_ENTRIES.load(Ordering::Relaxed) || !(*d).ma_values.is_null() {
                return None;
            }
            hit(0);
            let keys = (*d).ma_keys.cast::<DictKeys>();
            let first = keys
                .cast::<u8>()
                .add(size_of::<DictKeys>() + (1usize << (*keys).dk_log2_index_bytes))
                .cast::<*mut PyObject>();
            // DICT_KEYS_GENERAL (0) stores (hash, key, value); unicode ones (key, value).
            let (stride, first) = if (*keys).dk_kind == 0 {
                (3, first.add(1))
            } else {
                (2, first)
            };
            Some(Entries {
                keys: keys.cast(),
                first,
                stride,
                len: (*keys).dk_nentries as usize,
            })
        }
        #[cfg(not(cpython_layout))]
        {
            let _ = dict;
            None
        }
    }

    /// Entries used (deleted ones included).
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entry `i`'s key and value; the value is NULL for a deleted entry.
    ///
    /// # Safety
    /// `i < self.len()`, and the dict still has this table ([`Entries::still_of`]).
    #[inline(always)]
    pub unsafe fn get(&self, i: usize) -> (*mut PyObject, *mut PyObject) {
        // SAFETY: per the caller, entry `i` lies inside the live table.
        unsafe {
            let e = self.first.add(i * self.stride);
            (*e, *e.add(1))
        }
    }

    /// Whether `dict` still uses this table (Python code run meanwhile may have replaced it).
    ///
    /// # Safety
    /// `dict` is a live exact dict and the GIL is held.
    #[inline(always)]
    pub unsafe fn still_of(&self, dict: *mut PyObject) -> bool {
        // SAFETY: per the caller.
        unsafe {
            (*dict.cast::<ffi::PyDictObject>())
                .ma_keys
                .cast::<()>()
                .cast_const()
                == self.keys
        }
    }
}

/// Whether walking entry tables gives `PyDict_Next`'s items on sample dicts: str keys,
/// other keys, a deleted entry, and a split (instance) dict, which must be refused.
fn dicts_agree(py: Python<'_>) -> PyResult<bool> {
    let samples = py.eval(
        c"[{'a': 1, 'b': 2, 'c': 3}, {1: 'x', (2,): 'y', 'z': 3}, (lambda d: (d.pop('b'), d)[1])({'a': 1, 'b': 2, 'c': 3}), {}]",
        None,
        None,
    )?;
    for dict in samples.try_iter()? {
        let dict = dict?;
        // SAFETY: `dict` is a live exact dict; GIL held; nothing runs Python code meanwhile.
        let same = unsafe { walk_matches_next(dict.as_ptr()) };
        if !same {
            return Ok(false);
        }
    }
    // An instance __dict__ may be split (shared keys): the walk must not apply to it.
    let split = py.eval(
        c"(lambda C: [C(), C()][1].__dict__)(type('C', (), {'__init__': lambda s: setattr(s, 'a', 1)}))",
        None,
        None,
    )?;
    // SAFETY: as above.
    Ok(unsafe { walk_matches_next(split.as_ptr()) })
}

/// # Safety
/// `dict` is a live exact dict and the GIL is held.
unsafe fn walk_matches_next(dict: *mut PyObject) -> bool {
    // SAFETY: per the caller.
    unsafe {
        let mut expected = Vec::new();
        let (mut pos, mut k, mut v): (Py_ssize_t, *mut PyObject, *mut PyObject) =
            (0, ptr::null_mut(), ptr::null_mut());
        while ffi::PyDict_Next(dict, &mut pos, &mut k, &mut v) != 0 {
            expected.push((k, v));
        }
        #[cfg(cpython_layout)]
        let walked = {
            // Read the layout regardless of the switch: this is what decides it.
            let d = dict.cast::<ffi::PyDictObject>();
            if !(*d).ma_values.is_null() {
                return true; // split: refused by Entries::of, nothing to compare
            }
            let was = DICT_ENTRIES.swap(true, Ordering::Relaxed);
            let entries = Entries::of(dict);
            DICT_ENTRIES.store(was, Ordering::Relaxed);
            let Some(entries) = entries else {
                return false;
            };
            (0..entries.len())
                .map(|i| entries.get(i))
                .filter(|(_, v)| !v.is_null())
                .collect::<Vec<_>>()
        };
        #[cfg(not(cpython_layout))]
        let walked = expected.clone();
        walked == expected
    }
}

// ---------------------------------------------------------------------------
// loads
// ---------------------------------------------------------------------------

#[cfg(cpython_layout)]
unsafe extern "C" {
    /// A dict sized for `minused` entries: exported by CPython 3.11–3.13 (in the public
    /// `cpython/dictobject.h` there), not declared by pyo3-ffi.
    fn _PyDict_NewPresized(minused: Py_ssize_t) -> *mut PyObject;
}

/// A new empty dict with room for `n` entries when the fast path is on; else `PyDict_New()`.
///
/// # Safety
/// The GIL is held. Returns a new reference, or NULL with an exception set.
#[inline(always)]
pub unsafe fn new_dict(n: usize) -> *mut PyObject {
    // Below 6 entries the smallest table fits anyway.
    #[cfg(cpython_layout)]
    if n > 5 && PRESIZED_DICT.load(Ordering::Relaxed) {
        hit(2);
        // SAFETY: GIL held; exported by the versions this is compiled for.
        return unsafe { _PyDict_NewPresized(n as Py_ssize_t) };
    }
    let _ = n;
    // SAFETY: GIL held.
    unsafe { ffi::PyDict_New() }
}

// ---------------------------------------------------------------------------
// recursion
// ---------------------------------------------------------------------------

/// How deep `json` may nest on this interpreter, as its C code counts it.
///
/// json's C encoder and scanner call `Py_EnterRecursiveCall` once per container. On 3.11
/// that spends the Python recursion limit (`sys.getrecursionlimit()`, read per call); from
/// 3.12 a separate C recursion limit, fixed per build (1500 on 3.12, 10000 on 3.13 on
/// Linux), whose remaining budget [`init_c_recursion_budget`] counts once at import.
pub fn recursion_limit() -> usize {
    let c = C_RECURSION_BUDGET.load(Ordering::Relaxed);
    if c != 0 {
        return c;
    }
    // SAFETY: plain read of the interpreter's setting; GIL held by callers.
    (unsafe { ffi::Py_GetRecursionLimit() }).max(1) as usize
}

/// The C recursion budget counted at import; 0 where the limit is the Python one (3.11)
/// or no counter exists (3.14's stack-based check).
static C_RECURSION_BUDGET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// On 3.12 and 3.13, counts how many `Py_EnterRecursiveCall`s succeed from here (then
/// undoes them): json's own limit for containers, minus the few levels import is using.
fn init_c_recursion_budget() {
    // SAFETY: Py_Version is a constant exported by the running interpreter.
    let running = (unsafe { ffi::Py_Version } >> 16) as u32;
    if !(0x030C..=0x030D).contains(&running) {
        return;
    }
    const CAP: usize = 1 << 20;
    let mut n = 0;
    // SAFETY: GIL held (called from module init); every successful enter is left below,
    // and a failed one has already undone itself and set RecursionError, which we clear.
    unsafe {
        while n < CAP && ffi::Py_EnterRecursiveCall(c"".as_ptr()) == 0 {
            n += 1;
        }
        if n < CAP {
            ffi::PyErr_Clear();
        }
        for _ in 0..n {
            ffi::Py_LeaveRecursiveCall();
        }
    }
    if n < CAP {
        C_RECURSION_BUDGET.store(n, Ordering::Relaxed);
    }
}
