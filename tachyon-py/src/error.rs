//! Mapping the core crates' errors to Python exceptions, in one place.
//!
//! The orphan rule forbids `impl From<tachyon_router::TemplateError> for PyErr`, so each
//! error crosses through a local newtype.

use pyo3::PyErr;
use pyo3::exceptions::PyValueError;
use tachyon_router::{TemplateError, TemplateErrorKind};

/// A template error on its way to Python, where it becomes a `ValueError` (which
/// `tachyon.routing` re-raises as `RouteTemplateError`).
#[derive(Debug)]
pub struct PyTemplateError(pub TemplateError);

impl From<PyTemplateError> for PyErr {
    fn from(err: PyTemplateError) -> Self {
        let err = err.0;
        let message = match err.kind() {
            TemplateErrorKind::UnknownConvertor(name) => format!(
                "Unknown path convertor '{name}' in path template {}",
                python_repr(err.template())
            ),
            TemplateErrorKind::DuplicateParams(_) => err.starlette_message(),
            _ => err.to_string(),
        };
        PyValueError::new_err(message)
    }
}

/// A str as Python's `repr` shows it, for the common case of printable text.
fn python_repr(text: &str) -> String {
    if text.contains('\'') && !text.contains('"') {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}
