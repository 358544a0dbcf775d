//! Thin [`Request`] and [`Response`] types over the `http` crate, for Rust users: a request
//! whose headers, query parameters and cookies are parsed lazily, once, with Starlette's
//! semantics; a response whose header list is built once, as Starlette's `init_headers` does.

use std::sync::OnceLock;

use bytes::Bytes;
use indexmap::IndexMap;

use crate::cookies::{SetCookie, parse_cookie_header};
use crate::error::{CookieError, FormError, HeaderError, UrlError};
use crate::form::parse_urlencoded;
use crate::headers::Headers;
use crate::multipart::{FormData, FormValue, Limits, MultipartParser, SpoolFactory, SpooledFile};
use crate::query::QueryParams;
use crate::url::{Url, UrlScope};

/// Statuses below this one send no `content-length` (informational responses).
pub const CONTENT_LENGTH_FROM: i64 = 200;
/// Statuses at or above [`CONTENT_LENGTH_FROM`] that send no `content-length` either.
pub const NO_CONTENT_LENGTH: [i64; 2] = [204, 304];

/// Whether a response with this status gets an automatic `content-length` (Starlette's
/// `init_headers`: not below 200, not 204, not 304). The one definition of the rule: the
/// binding's `Response.init_headers`, its native `JSONResponse` and [`Response`] all ask it.
///
/// ```
/// use tachyon_core::request::sends_content_length;
/// assert!(sends_content_length(200) && sends_content_length(404));
/// assert!(!sends_content_length(101) && !sends_content_length(204) && !sends_content_length(304));
/// ```
pub fn sends_content_length(status: i64) -> bool {
    status >= CONTENT_LENGTH_FROM && !NO_CONTENT_LENGTH.contains(&status)
}

/// An HTTP request with a fully read body; parsed views are computed on first use.
///
/// ```
/// use tachyon_core::Request;
/// let req = http::Request::builder()
///     .uri("/items?id=3&id=4")
///     .header("Host", "example.com")
///     .header("Cookie", "session=abc")
///     .body(bytes::Bytes::new())
///     .unwrap();
/// let req = Request::from_http(req);
/// assert_eq!(req.query_params().get("id"), Some("4"));
/// assert_eq!(req.cookies()["session"], "abc");
/// assert_eq!(req.url("http", None).unwrap().as_str(), "http://example.com/items?id=3&id=4");
/// ```
#[derive(Debug)]
pub struct Request {
    inner: http::Request<Bytes>,
    headers: OnceLock<Headers>,
    query: OnceLock<QueryParams>,
    cookies: OnceLock<IndexMap<String, String>>,
}

impl Request {
    /// Wraps an `http::Request` whose body has been read.
    pub fn from_http(inner: http::Request<Bytes>) -> Self {
        Request {
            inner,
            headers: OnceLock::new(),
            query: OnceLock::new(),
            cookies: OnceLock::new(),
        }
    }

    /// The wrapped `http::Request`.
    pub fn as_http(&self) -> &http::Request<Bytes> {
        &self.inner
    }

    /// Unwraps the `http::Request`.
    pub fn into_http(self) -> http::Request<Bytes> {
        self.inner
    }

    /// The method.
    pub fn method(&self) -> &http::Method {
        self.inner.method()
    }

    /// The path, not decoded.
    pub fn path(&self) -> &str {
        self.inner.uri().path()
    }

    /// The raw query string (without `?`).
    pub fn query_string(&self) -> &str {
        self.inner.uri().query().unwrap_or("")
    }

    /// The headers, in order, with duplicates.
    pub fn headers(&self) -> &Headers {
        self.headers
            .get_or_init(|| Headers::from_http(self.inner.headers()))
    }

    /// The query parameters, parsed like Starlette's `request.query_params`.
    pub fn query_params(&self) -> &QueryParams {
        self.query
            .get_or_init(|| QueryParams::from_bytes(self.query_string().as_bytes()))
    }

    /// The cookies from the first `Cookie` header, like Starlette's `request.cookies`.
    pub fn cookies(&self) -> &IndexMap<String, String> {
        self.cookies.get_or_init(|| {
            self.headers()
                .get("cookie")
                .map(parse_cookie_header)
                .unwrap_or_default()
        })
    }

    /// The request URL as Starlette builds it, given the scheme and the server address.
    pub fn url(&self, scheme: &str, server: Option<(&str, Option<u16>)>) -> Result<Url, UrlError> {
        Url::from_scope(&UrlScope {
            scheme,
            server,
            path: self.path(),
            query_string: self.query_string().as_bytes(),
            host_header: self.headers().get("host"),
        })
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        self.inner.body()
    }

    /// Parses the body as a form (multipart or urlencoded, by Content-Type), like
    /// Starlette's `request.form()`; any other Content-Type gives an empty form.
    pub fn form(&self, limits: Limits) -> Result<FormData<SpooledFile>, FormError> {
        let ct = self.headers().get_str("content-type").unwrap_or_default();
        let (media, _) = crate::multipart::parse_options_header(&ct);
        match media.as_str() {
            "multipart/form-data" => {
                let mut p =
                    MultipartParser::from_content_type(&ct, limits, SpoolFactory::default())?;
                p.feed(self.body())?;
                p.finish()
            }
            "application/x-www-form-urlencoded" => {
                let items = parse_urlencoded(self.body(), limits)?;
                Ok(FormData {
                    items: items
                        .into_iter()
                        .map(|(k, v)| (k, FormValue::Field(v)))
                        .collect(),
                })
            }
            _ => Ok(FormData { items: Vec::new() }),
        }
    }
}

/// A response: status, header list and body bytes, built once like Starlette's `Response`.
///
/// ```
/// use tachyon_core::Response;
/// let r = Response::new(200, "hi", Some("text/plain")).unwrap();
/// assert_eq!(r.headers().get_str("content-type").as_deref(), Some("text/plain; charset=utf-8"));
/// assert_eq!(r.headers().get_str("content-length").as_deref(), Some("2"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Headers,
    body: Bytes,
}

impl Response {
    /// A response with Starlette's automatic `content-length` and `content-type` headers.
    pub fn new(
        status: u16,
        body: impl Into<Bytes>,
        media_type: Option<&str>,
    ) -> Result<Self, HeaderError> {
        Self::with_headers(status, body, media_type, Headers::new())
    }

    /// Like [`Response::new`], starting from `headers`; an explicit `content-length` or
    /// `content-type` there suppresses the automatic one.
    pub fn with_headers(
        status: u16,
        body: impl Into<Bytes>,
        media_type: Option<&str>,
        mut headers: Headers,
    ) -> Result<Self, HeaderError> {
        let body = body.into();
        let has = |h: &Headers, k: &[u8]| h.raw().iter().any(|(n, _)| n.as_ref() == k);
        if sends_content_length(i64::from(status)) && !has(&headers, b"content-length") {
            let len = body.len().to_string();
            headers = push(headers, b"content-length", len.as_bytes());
        }
        if let Some(mt) = media_type.filter(|_| !has(&headers, b"content-type")) {
            let mut ct = mt.to_owned();
            if ct.starts_with("text/") && !ct.to_lowercase().contains("charset=") {
                ct.push_str("; charset=utf-8");
            }
            let ct = crate::headers::encode_latin1(&ct)?;
            crate::headers::validate_value(&ct)?;
            headers = push(headers, b"content-type", &ct);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, for changes (values are checked for CR, LF and NUL).
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Appends a `set-cookie` header rendered like Starlette's `set_cookie`.
    pub fn set_cookie(&mut self, cookie: &SetCookie) -> Result<(), CookieError> {
        let value = cookie.render()?;
        self.headers
            .append("set-cookie", &value)
            .map_err(|_| CookieError::InvalidAttribute("set-cookie"))
    }

    /// Converts to an `http::Response`; fails if a header is not valid for the `http` crate.
    pub fn into_http(self) -> Result<http::Response<Bytes>, HeaderError> {
        let mut out = http::Response::new(self.body);
        *out.status_mut() = http::StatusCode::from_u16(self.status)
            .map_err(|_| HeaderError::InvalidName(format!("status {}", self.status)))?;
        let map = out.headers_mut();
        for (k, v) in self.headers.iter() {
            let name = http::HeaderName::from_bytes(k)
                .map_err(|_| HeaderError::InvalidName(String::from_utf8_lossy(k).into_owned()))?;
            let value = http::HeaderValue::from_bytes(v).map_err(|_| {
                HeaderError::InvalidValueByte(
                    v.iter()
                        .copied()
                        .find(|b| *b < 0x20 && *b != b'\t')
                        .unwrap_or(0),
                )
            })?;
            map.append(name, value);
        }
        Ok(out)
    }
}

/// Appends a pair already checked by the caller.
fn push(mut headers: Headers, name: &'static [u8], value: &[u8]) -> Headers {
    let mut raw = std::mem::take(&mut headers).into_raw();
    raw.push((Bytes::from_static(name), Bytes::copy_from_slice(value)));
    Headers::from_raw(raw)
}
