//! The json messages that differ between Python versions, learned from the running `json`
//! module at import instead of hard-coding one version's texts.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use tachyon_json::ErrorKind;

/// The messages that differ between Python versions, as the running `json` words them.
pub(super) struct Messages {
    /// The start of the "Out of range float values" ValueError.
    pub(super) float_prefix: String,
    /// Whether the float's repr follows it (3.12 and later: `...: nan`).
    pub(super) float_repr: bool,
}

pub(super) static MESSAGES: OnceLock<Messages> = OnceLock::new();

/// Whether the running json reports `[1,]` as "Illegal trailing comma before end of
/// array" at the comma (3.13 and later) rather than "Expecting value" at the bracket.
pub(super) static TRAILING_COMMA_ERRORS: AtomicBool = AtomicBool::new(false);

/// Learns the version-dependent messages from the running `json` module itself, so
/// Tachyon follows it across versions instead of hard-coding one version's texts.
pub(super) fn learn(json: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = json.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("allow_nan", false)?;
    let nan = f64::NAN.into_pyobject(py)?;
    let float_message = match json.getattr("dumps")?.call((nan,), Some(&kwargs)) {
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyValueError>(py) => {
            e.value(py).str()?.to_string()
        }
        _ => "Out of range float values are not JSON compliant".to_owned(),
    };
    let messages = match float_message.strip_suffix("nan") {
        Some(prefix) => Messages {
            float_prefix: prefix.to_owned(),
            float_repr: true,
        },
        None => Messages {
            float_prefix: float_message,
            float_repr: false,
        },
    };
    let _ = MESSAGES.set(messages);
    let trailing = match json.getattr("loads")?.call1(("[1,]",)) {
        Err(e) => {
            let msg: String = e.value(py).getattr("msg")?.extract()?;
            msg == ErrorKind::TrailingCommaInArray.message()
        }
        Ok(_) => false,
    };
    TRAILING_COMMA_ERRORS.store(trailing, Ordering::Relaxed);
    Ok(())
}
