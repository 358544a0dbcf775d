//! Response compression for `tachyon.middleware.gzip` and `tachyon.middleware.compression`:
//! Python bytes in, compressed bytes out, with the GIL released while large bodies compress.

use std::sync::Mutex;

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use tachyon_core::compress::{CompressError, Encoder, Encoding, negotiate};

use crate::error::PyCompressError;

/// Inputs of at least this many bytes compress with the GIL released, so other Python
/// threads (the event loop, when the call runs in a worker thread) keep running; below it
/// the release costs more than it frees.
const DETACH_MIN: usize = 32 * 1024;

fn encoding_of(token: &str) -> PyResult<Encoding> {
    match token {
        "gzip" => Ok(Encoding::Gzip),
        "br" => Ok(Encoding::Brotli),
        "zstd" => Ok(Encoding::Zstd),
        _ => Err(PyValueError::new_err(format!(
            "unknown content coding {token:?}: expected \"gzip\", \"br\" or \"zstd\""
        ))),
    }
}

/// `level` as an i32 in `encoding`'s range, or the ValueError that names the range.
fn level_of(encoding: Encoding, level: i64) -> PyResult<i32> {
    let (low, high) = encoding.levels();
    match i32::try_from(level) {
        Ok(level) if encoding.check_level(level).is_ok() => Ok(level),
        _ => Err(PyValueError::new_err(format!(
            "invalid {} compression level {level}: expected an integer from {low} to {high}",
            encoding.token()
        ))),
    }
}

/// Runs `work` on the bytes of `data` (bytes, or any object with the buffer protocol),
/// detached from the interpreter when the input is large.
fn with_input<T: Send>(
    data: &Bound<'_, PyAny>,
    work: impl FnOnce(&[u8]) -> T + Send,
) -> PyResult<T> {
    let py = data.py();
    if let Ok(bytes) = data.cast::<PyBytes>() {
        let input = bytes.as_bytes();
        return Ok(if input.len() >= DETACH_MIN {
            py.detach(|| work(input))
        } else {
            work(input)
        });
    }
    // bytearray, memoryview, ...: copied first, since another thread could resize them
    // while the GIL is released.
    let buffer = PyBuffer::<u8>::get(data).map_err(|_| {
        let type_name = data
            .get_type()
            .name()
            .map(|name| name.to_string())
            .unwrap_or_else(|_| "object".to_owned());
        PyTypeError::new_err(format!(
            "a bytes-like object is required, not '{type_name}'"
        ))
    })?;
    let input = buffer.to_vec(py)?;
    Ok(if input.len() >= DETACH_MIN {
        py.detach(|| work(&input))
    } else {
        work(&input)
    })
}

/// `out` as a Python bytes object. A large one is allocated attached (uninitialised, so
/// nothing is written yet), then filled and `out` freed detached: the copy and the page
/// faults of a megabytes-long body do not hold the GIL, which the event loop may be
/// waiting for while a worker thread compresses.
fn into_pybytes(py: Python<'_>, out: Vec<u8>) -> PyResult<Bound<'_, PyBytes>> {
    if out.len() < DETACH_MIN {
        return Ok(PyBytes::new(py, &out));
    }
    let len = ffi::Py_ssize_t::try_from(out.len())
        .map_err(|_| PyValueError::new_err("compressed body too large"))?;
    // SAFETY: with a null source, PyBytes_FromStringAndSize returns a new bytes object of
    // `len` uninitialised bytes (or null with an exception set, which from_owned_ptr_or_err
    // turns into the error).
    let bytes = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), len))?
            .cast_into_unchecked::<PyBytes>()
    };
    // SAFETY: `bytes` is a bytes object; its buffer holds `len` bytes.
    let dst = unsafe { ffi::PyBytes_AsString(bytes.as_ptr()) } as usize;
    py.detach(move || {
        // SAFETY: the object was created above and is referenced by this function alone, so
        // no other thread can read or write its buffer while the GIL is released; the buffer
        // is `out.len()` bytes long and does not overlap `out`.
        unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), dst as *mut u8, out.len()) };
        drop(out);
    });
    Ok(bytes)
}

/// compress(data, encoding, level) -> bytes: a whole body in one call (one gzip member,
/// brotli stream or zstd frame).
#[pyfunction]
fn compress<'py>(
    data: &Bound<'py, PyAny>,
    encoding: &str,
    level: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let encoding = encoding_of(encoding)?;
    let level = level_of(encoding, level)?;
    let out = with_input(data, |input| {
        tachyon_core::compress::compress(encoding, level, input)
    })?
    .map_err(PyCompressError)?;
    into_pybytes(data.py(), out)
}

/// check_compression_level(encoding, level): raises ValueError when `level` is outside the
/// range `encoding` accepts.
#[pyfunction]
fn check_compression_level(encoding: &str, level: i64) -> PyResult<()> {
    level_of(encoding_of(encoding)?, level).map(|_| ())
}

/// negotiate_encoding(accept_encoding, preference) -> str | None: the coding of
/// `preference` (tokens, the server's order) that the Accept-Encoding header rates highest.
#[pyfunction]
fn negotiate_encoding<'py>(
    py: Python<'py>,
    accept_encoding: &str,
    preference: Vec<String>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    let mut order = Vec::with_capacity(preference.len());
    for token in &preference {
        order.push(encoding_of(token)?);
    }
    Ok(negotiate(accept_encoding, &order).map(|encoding| PyString::intern(py, encoding.token())))
}

/// A streaming compressor for one response body.
///
/// `compress(chunk)` returns the chunk compressed and flushed, so the client can decode
/// everything received so far; `compress(chunk, finish=True)` also ends the stream.
#[pyclass(module = "tachyon._tachyon", frozen)]
struct Compressor {
    encoding: Encoding,
    encoder: Mutex<Encoder>,
}

#[pymethods]
impl Compressor {
    #[new]
    fn new(encoding: &str, level: i64) -> PyResult<Self> {
        let encoding = encoding_of(encoding)?;
        let level = level_of(encoding, level)?;
        let encoder = Encoder::new(encoding, level).map_err(PyCompressError)?;
        Ok(Compressor {
            encoding,
            encoder: Mutex::new(encoder),
        })
    }

    /// The content coding produced: "gzip", "br" or "zstd".
    #[getter]
    fn encoding(&self) -> &'static str {
        self.encoding.token()
    }

    /// Whether the stream has been finished.
    #[getter]
    fn finished(&self) -> bool {
        self.encoder.lock().map(|e| e.is_finished()).unwrap_or(true)
    }

    /// Compresses `data`; flushed when `finish` is false, the end of the stream when true.
    #[pyo3(signature = (data, finish = false))]
    fn compress<'py>(
        &self,
        data: &Bound<'py, PyAny>,
        finish: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let out = with_input(data, |input| {
            let mut encoder = self.encoder.lock().map_err(|_| {
                CompressError::Backend("compressor poisoned by an earlier failure".into())
            })?;
            let mut out = Vec::new();
            encoder.write(input, finish, &mut out)?;
            Ok::<_, CompressError>(out)
        })?
        .map_err(PyCompressError)?;
        into_pybytes(data.py(), out)
    }
}

/// Adds the compression functions and `Compressor` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(check_compression_level, m)?)?;
    m.add_function(wrap_pyfunction!(negotiate_encoding, m)?)?;
    m.add_class::<Compressor>()?;
    Ok(())
}
