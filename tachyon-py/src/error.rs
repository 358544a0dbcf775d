//! Mapping the core crates' errors to Python exceptions, in one place.
//!
//! The orphan rule forbids `impl From<tachyon_router::TemplateError> for PyErr`, so each
//! error crosses through a local newtype.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use tachyon_router::TemplateError;

/// `tachyon.routing.RouteTemplateError` (a ValueError and an AssertionError, the types
/// Starlette raises for a bad template), given once at import of `tachyon.routing`.
static TEMPLATE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Registers the class template errors are raised as (see `set_match_members`).
pub fn set_template_error(cls: Bound<'_, PyType>) -> PyResult<()> {
    TEMPLATE_ERROR.set(cls.py(), cls.unbind()).map_err(|_| {
        pyo3::exceptions::PyRuntimeError::new_err("the template error class was already set")
    })
}

/// A template error on its way to Python: `RouteTemplateError` with Starlette's message
/// (`TemplateError::starlette_message`; ValueError before `tachyon.routing` registered the
/// class).
#[derive(Debug)]
pub struct PyTemplateError(pub TemplateError);

impl From<PyTemplateError> for PyErr {
    fn from(err: PyTemplateError) -> Self {
        let message = err.0.starlette_message();
        Python::attach(|py| match TEMPLATE_ERROR.get(py) {
            Some(cls) => PyErr::from_type(cls.bind(py).clone(), message),
            None => PyValueError::new_err(message),
        })
    }
}

pyo3::create_exception!(
    tachyon._tachyon,
    FormParseError,
    pyo3::exceptions::PyValueError,
    "A form body that cannot be accepted; args are (kind, message). `tachyon.formparsers` \
     turns it into Starlette's `MultiPartException`."
);

/// A form error on its way to Python, where it becomes `FormParseError(kind, message)`.
///
/// The kind lets Python word the message with the caller's own limit values, as Starlette
/// formats them (`max_files` may be a float there).
#[derive(Debug)]
pub struct PyFormError(pub tachyon_core::FormError);

impl From<PyFormError> for PyErr {
    fn from(err: PyFormError) -> Self {
        use tachyon_core::FormError as E;
        let kind = match &err.0 {
            E::MissingBoundary => "missing_boundary",
            E::TooManyFiles(_) => "too_many_files",
            E::TooManyFields(_) => "too_many_fields",
            E::PartTooLarge(_) => "part_too_large",
            E::FieldTooLarge(_) => "field_too_large",
            E::MissingName => "missing_name",
            E::Truncated => "truncated",
            E::Io(_) => "io",
            _ => "invalid",
        };
        FormParseError::new_err((kind, err.0.to_string()))
    }
}

/// A `Set-Cookie` that cannot be rendered, raised as Starlette's `set_cookie` would fail:
/// `http.cookies.CookieError` for a bad key, AssertionError for a bad samesite,
/// UnicodeEncodeError for text that is not latin-1, ValueError for CR/LF/NUL in an attribute
/// (which Starlette would send; see `Response.set_cookie`). The texts are tachyon-core's.
#[derive(Debug)]
pub struct PyCookieError(pub tachyon_core::CookieError);

impl From<PyCookieError> for PyErr {
    fn from(err: PyCookieError) -> Self {
        use pyo3::exceptions::{PyAssertionError, PyUnicodeEncodeError};
        use tachyon_core::CookieError as E;
        let message = err.0.to_string();
        match err.0 {
            E::IllegalKey(_) | E::ReservedKey(_) => pyo3::Python::attach(|py| {
                use pyo3::types::{PyAnyMethods, PyType};
                let cls = py
                    .import("http.cookies")
                    .and_then(|m| m.getattr("CookieError"))
                    .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
                match cls {
                    Ok(cls) => PyErr::from_type(cls, message),
                    Err(e) => e,
                }
            }),
            E::InvalidSameSite(_) => PyAssertionError::new_err(message),
            // The arguments of the error `str.encode("latin-1")` raises, so its text and
            // attributes are Python's.
            E::NotLatin1 { text, start, end } => PyUnicodeEncodeError::new_err((
                "latin-1".to_owned(),
                text,
                start,
                end,
                "ordinal not in range(256)".to_owned(),
            )),
            _ => PyValueError::new_err(message),
        }
    }
}

/// A compression error on its way to Python: a bad level is a `ValueError` (which
/// `tachyon.middleware.gzip._check_level` re-raises as `CompressionLevelError`); writing to a
/// finished stream, or a failure inside the compression library, is a `RuntimeError`.
#[derive(Debug)]
pub struct PyCompressError(pub tachyon_core::compress::CompressError);

impl From<PyCompressError> for PyErr {
    fn from(err: PyCompressError) -> Self {
        use tachyon_core::compress::CompressError as E;
        match err.0 {
            E::Level(err) => PyValueError::new_err(err.to_string()),
            other => pyo3::exceptions::PyRuntimeError::new_err(other.to_string()),
        }
    }
}
