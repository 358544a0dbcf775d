//! JSON for Tachyon Engine, in pure Rust: a writer that produces exactly the
//! bytes of Python's `json.dumps(obj, ensure_ascii=False, allow_nan=False,
//! separators=(",", ":"))`, and a reader that accepts exactly what
//! `json.loads` accepts, feeding a [`Sink`] instead of building a tree.
//!
//! ```
//! use tachyon_json::{Value, from_slice, to_string, write_f64, write_str};
//!
//! // serde, compact, Python's float repr.
//! let text = to_string(&vec![1.0, 1e16, 1.5e-5]).unwrap();
//! assert_eq!(text, "[1.0,1e+16,1.5e-05]");
//!
//! // The direct writer API.
//! let mut out = Vec::new();
//! write_str(&mut out, "tab\there \u{2028}");
//! write_f64(&mut out, -0.0);
//! assert_eq!(out, "\"tab\\there \u{2028}\"-0.0".as_bytes());
//!
//! // The reader, into the bundled tree type.
//! let v = from_slice(br#"{"a": [1, 2.5, NaN]}"#).unwrap();
//! assert!(matches!(v, Value::Object(_)));
//! assert_eq!(from_slice(b"[1,]").unwrap_err().offset(), 3);
//! ```
#![deny(missing_docs)]

mod error;
mod escape;
mod number;
mod output;
mod read;
mod ser;
mod value;

pub use error::{Error, ErrorKind, ReadError};
pub use escape::write_str;
pub use number::{
    F64_ROOM, write_f32, write_f64, write_finite_f64_raw, write_i64, write_i128, write_u64,
};
pub use output::Output;
pub use read::{Buffers, DEFAULT_MAX_DEPTH, Entries, Reader, Sink, parse};
pub use ser::{Compound, SerError, Serializer, to_string, to_vec, to_writer};
pub use value::{Value, ValueSink, from_slice};

/// Appends UTF-8 `bytes` as a JSON string literal, quotes included.
///
/// # Safety
/// `bytes` must be valid UTF-8 (the caller's promise; it is copied as is).
#[inline]
pub unsafe fn write_str_unchecked<O: Output + ?Sized>(out: &mut O, bytes: &[u8]) {
    escape::write_escaped(out, bytes);
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// docs/rust.md, the guide to using the three crates from Rust: its examples run as doctests
/// of this crate, which has the other two as dev-dependencies.
#[cfg(doctest)]
#[doc = include_str!("../../docs/rust.md")]
struct RustGuideDoctests;
