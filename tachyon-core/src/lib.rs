//! Tachyon's pure-Rust core: the request data structures of Starlette, with its exact behaviour.
//!
//! - [`query`]: `parse_qsl` / `urlencode` exactly as Python's `urllib.parse`, and [`QueryParams`].
//! - [`headers`]: case-insensitive, multi-valued, order-preserving [`Headers`] over raw byte pairs.
//! - [`cookies`]: Starlette's `cookie_parser` and `Set-Cookie` rendering.
//! - [`url`]: `urlsplit` semantics and Starlette's [`Url`], built from an ASGI scope.
//! - [`form`] and [`multipart`]: urlencoded and streaming multipart form parsing with limits.
//! - [`range`]: `Range` request headers, as Starlette's `FileResponse` reads them.
//! - [`compress`]: gzip, brotli and zstd response compression and `Accept-Encoding` negotiation.
//! - [`repr`]: Python's `repr()` of a str, for error texts that read as Python's.
//! - [`request`]: thin [`Request`] / [`Response`] helpers over the `http` crate.
//!
//! Nothing here links Python; the `tachyon-py` binding converts to and from these types.
//!
//! What the Python package runs, and what is a Rust-only API:
//! - Used by the binding on the request path: [`query`] (`parse_qsl`), [`headers::HeaderKey`]
//!   (header lookups over the ASGI scope's own list), [`cookies`] (parsing and `Set-Cookie`),
//!   [`form`] and [`multipart`], [`range`], [`compress`], and from [`url`] the `Host` header rule
//!   ([`url::parse_host_header`]) and the RSGI helpers ([`url::quote_path`],
//!   [`url::split_address`]); [`request::sends_content_length`] is the content-length rule of
//!   every response.
//! - Rust-only API, tested and documented here but not called by the Python package:
//!   [`Headers`] / [`MutableHeaders`] as owned types, [`Url`] and `urlsplit`, and the
//!   [`Request`] / [`Response`] types of [`request`]. Python keeps its own `URL` and
//!   `MutableHeaders` because they hold and mutate Python objects (the scope's header list,
//!   a `str` URL) that a Rust copy would have to convert on every access; a Rust server
//!   (the planned `tachyon-server`) is where these types pay.
//!
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
#![forbid(unsafe_code)]

pub mod compress;
pub mod cookies;
pub mod error;
pub mod form;
pub mod headers;
pub mod multipart;
pub mod query;
pub mod range;
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
