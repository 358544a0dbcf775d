//! Tachyon's pure-Rust core: the request data structures of Starlette, with its exact behaviour.
//!
//! - [`query`]: `parse_qsl` / `urlencode` exactly as Python's `urllib.parse`, and [`QueryParams`].
//! - [`headers`]: case-insensitive, multi-valued, order-preserving [`Headers`] over raw byte pairs.
//! - [`cookies`]: Starlette's `cookie_parser` and `Set-Cookie` rendering.
//! - [`url`]: `urlsplit` semantics and Starlette's [`Url`], built from an ASGI scope.
//! - [`form`] and [`multipart`]: urlencoded and streaming multipart form parsing with limits.
//! - [`compress`]: gzip, brotli and zstd response compression and `Accept-Encoding` negotiation.
//! - [`repr`]: Python's `repr()` of a str, for error texts that read as Python's.
//! - [`request`]: thin [`Request`] / [`Response`] helpers over the `http` crate.
//!
//! Nothing here links Python; the `tachyon-py` binding converts to and from these types.
//! No function panics on any input: malformed input is either handled as Python handles it or
//! reported by a typed error from [`error`].
//!
//! ```
//! use tachyon_core::{Headers, QueryParams, Url, cookies::cookie_parser};
//!
//! let q = QueryParams::from_bytes(b"a=1&a=2&b=%E2%82%AC");
//! assert_eq!(q.get("a"), Some("2"));
//! assert_eq!(q.get_list("a"), ["1", "2"]);
//! assert_eq!(q.get("b"), Some("€"));
//!
//! let mut h = Headers::from_pairs([("Host", "example.com"), ("Accept", "*/*")]).unwrap();
//! assert_eq!(h.get_str("HOST").as_deref(), Some("example.com"));
//! h.append("vary", "accept").unwrap();
//!
//! assert_eq!(cookie_parser("a=1; b=\"2\"")["b"], "2");
//!
//! let u = Url::parse("http://example.com/p?a=1").unwrap();
//! assert_eq!(u.include_query_params(&[("b", "2")]).unwrap().as_str(), "http://example.com/p?a=1&b=2");
//! ```

#![deny(missing_docs)]

pub mod compress;
pub mod cookies;
pub mod error;
pub mod form;
pub mod headers;
pub mod multipart;
pub mod query;
pub mod repr;
pub mod request;
pub mod url;

pub use error::{CookieError, FormError, HeaderError, UrlError};
pub use headers::{HeaderKey, Headers, MutableHeaders};
pub use query::{QueryParams, parse_qsl, urlencode};
pub use request::{Request, Response};
pub use url::Url;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
