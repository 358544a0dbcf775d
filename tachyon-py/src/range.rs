//! Glue over `tachyon_core::range` for `FileResponse._parse_range_header`.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::PyString;
use tachyon_core::range::{RangeSpec, parse_range_header as core_parse_range_header};

/// Parses a `Range` header as Starlette 1.10's `FileResponse._parse_range_header` does.
///
/// Returns a list of half-open `(start, end)` ranges (empty: ignore the header and send the
/// whole file), a str (malformed: answer 400 with that text), an int (the file size: answer
/// 416), or None when the header holds text that Python's `str.strip()` / `int()` read
/// differently from ASCII digits (or an argument is not a plain int or str): the caller
/// then runs the Python parser.
#[pyfunction]
fn parse_range_header<'py>(
    py: Python<'py>,
    header: &Bound<'py, PyAny>,
    file_size: &Bound<'py, PyAny>,
    max_ranges: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let none = || Ok(py.None().into_bound(py));
    let Ok(header) = header.cast::<PyString>() else {
        return none();
    };
    // A str with lone surrogates is not UTF-8: Python's parser decides.
    let (Ok(text), Ok(size), Ok(max)) = (
        header.to_str(),
        file_size.extract::<u64>(),
        max_ranges.extract::<i64>(),
    ) else {
        return none();
    };
    // `count(",") >= max_ranges` holds for every count when max_ranges <= 0.
    let max = usize::try_from(max).unwrap_or(0);
    match core_parse_range_header(text, size, max) {
        RangeSpec::Whole => Vec::<(u64, u64)>::new().into_bound_py_any(py),
        RangeSpec::Ranges(ranges) => ranges.into_bound_py_any(py),
        RangeSpec::Malformed(message) => message.into_bound_py_any(py),
        RangeSpec::NotSatisfiable => size.into_bound_py_any(py),
        RangeSpec::Unsure => none(),
    }
}

/// Registers the function on the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_range_header, m)?)
}
