//! `Cookie` header parsing (Starlette's `cookie_parser`) and `Set-Cookie` rendering
//! (Starlette's `Response.set_cookie`, which goes through Python's `http.cookies`).

use std::time::{SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use crate::error::CookieError;
use crate::query::latin1_to_string;

/// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Parses a `Cookie` header as Starlette's `cookie_parser` does.
///
/// Splits on `;`, then on the first `=` (a chunk without `=` gets the key `""`), strips both
/// sides, skips a chunk whose key and value are both empty, unquotes the value with
/// `http.cookies._unquote`, and lets the last occurrence of a key win (at its first position).
///
/// ```
/// use tachyon_core::cookies::cookie_parser;
/// let c = cookie_parser(r#"a=1; b="x\073y"; a=2; lone"#);
/// assert_eq!(c["a"], "2");
/// assert_eq!(c["b"], "x;y");
/// assert_eq!(c[""], "lone");
/// ```
pub fn cookie_parser(cookie: &str) -> IndexMap<String, String> {
    let mut out = IndexMap::with_capacity(memchr::memchr_iter(b';', cookie.as_bytes()).count() + 1);
    for chunk in cookie.split(';') {
        let (key, val) = match chunk.split_once('=') {
            Some((k, v)) => (k, v),
            None => ("", chunk),
        };
        let (key, val) = (py_strip(key), py_strip(val));
        if !key.is_empty() || !val.is_empty() {
            out.insert(key.to_owned(), unquote(val));
        }
    }
    out
}

/// Parses a raw `Cookie` header value, decoded as latin-1 the way Starlette reads headers.
pub fn parse_cookie_header(raw: &[u8]) -> IndexMap<String, String> {
    cookie_parser(&latin1_to_string(raw))
}

/// Python's `http.cookies._unquote`: strips surrounding double quotes and resolves `\ooo`
/// octal escapes (first digit 0-3) and `\x` escapes; anything else is returned unchanged.
pub fn unquote(s: &str) -> String {
    // `"` is one byte, so two bytes with a quote at each end are at least two characters.
    if s.len() < 2 || !s.starts_with('"') || !s.ends_with('"') {
        return s.to_owned();
    }
    let inner = &s[1..s.len() - 1];
    if !inner.contains('\\') {
        return inner.to_owned();
    }
    let inner: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        // `[\\].` does not match a backslash before a newline or at the end: keep it.
        if c != '\\' || i + 1 >= inner.len() || inner[i + 1] == '\n' {
            out.push(c);
            i += 1;
            continue;
        }
        let octal = inner.get(i + 1..i + 4).and_then(|d| {
            let ok =
                matches!(d[0], '0'..='3') && matches!(d[1], '0'..='7') && matches!(d[2], '0'..='7');
            ok.then(|| {
                let v = d
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + (*c as u32 - '0' as u32));
                char::from_u32(v).unwrap_or('\u{fffd}')
            })
        });
        match octal {
            Some(ch) => {
                out.push(ch);
                i += 4;
            }
            None => {
                out.push(inner[i + 1]);
                i += 2;
            }
        }
    }
    out
}

/// The characters `http.cookies` accepts in a key and leaves unquoted in a value.
fn is_legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c)
}

/// Python's `http.cookies._quote`: the value unchanged if it is non-empty and all legal
/// characters, else double-quoted with `"`, `\` and every byte outside the unescaped set
/// (below U+0100) written as `\"`, `\\` or `\ooo`.
pub fn quote(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_legal_char) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_legal_char(c) || " ()/<=>?@[]{}".contains(c) => out.push(c),
            c if (c as u32) < 256 => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const RESERVED: [&str; 10] = [
    "expires",
    "path",
    "comment",
    "domain",
    "max-age",
    "secure",
    "httponly",
    "version",
    "samesite",
    "partitioned",
];

/// The `Expires` attribute of a [`SetCookie`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expires {
    /// Written as given (Starlette passes a `str` through unchanged).
    Text(String),
    /// Seconds from now, rendered as an HTTP date (Starlette's `int` argument).
    In(i64),
    /// An absolute time, rendered as an HTTP date (Starlette's `datetime` argument).
    At(SystemTime),
}

/// A `Set-Cookie` header value, with the arguments and defaults of Starlette's `set_cookie`.
///
/// ```
/// use tachyon_core::cookies::SetCookie;
/// let mut c = SetCookie::new("session", "a b");
/// c.max_age = Some(60);
/// c.httponly = true;
/// assert_eq!(c.render().unwrap(), r#"session="a b"; HttpOnly; Max-Age=60; Path=/; SameSite=lax"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie name; must be made of legal characters and not be a reserved attribute.
    pub key: String,
    /// The value; quoted as `http.cookies` does when it holds other characters.
    pub value: String,
    /// `Max-Age` in seconds.
    pub max_age: Option<i64>,
    /// `expires`.
    pub expires: Option<Expires>,
    /// `Path` (Starlette's default is `/`).
    pub path: Option<String>,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub httponly: bool,
    /// `SameSite`: `strict`, `lax` or `none` in any case (Starlette's default is `lax`).
    pub samesite: Option<String>,
    /// `Partitioned` (Starlette allows it only on Python 3.14+).
    pub partitioned: bool,
}

impl SetCookie {
    /// A cookie with Starlette's defaults: `Path=/`, `SameSite=lax`, nothing else.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        SetCookie {
            key: key.into(),
            value: value.into(),
            max_age: None,
            expires: None,
            path: Some("/".to_owned()),
            domain: None,
            secure: false,
            httponly: false,
            samesite: Some("lax".to_owned()),
            partitioned: false,
        }
    }

    /// The cookie Starlette's `delete_cookie` sends: empty value, `Max-Age=0`, expires now.
    pub fn delete(key: impl Into<String>) -> Self {
        let mut c = SetCookie::new(key, "");
        c.max_age = Some(0);
        c.expires = Some(Expires::In(0));
        c
    }

    /// Renders the header value (`cookie.output(header="").strip()`), attributes sorted by name
    /// as `http.cookies.Morsel` sorts them.
    pub fn render(&self) -> Result<String, CookieError> {
        self.render_at(SystemTime::now())
    }

    /// [`SetCookie::render`] with a fixed "now", for `Expires::In` (and for tests).
    pub fn render_at(&self, now: SystemTime) -> Result<String, CookieError> {
        if RESERVED.contains(&self.key.to_lowercase().as_str()) {
            return Err(CookieError::ReservedKey(self.key.clone()));
        }
        if self.key.is_empty() || !self.key.chars().all(is_legal_char) {
            return Err(CookieError::IllegalKey(self.key.clone()));
        }
        // Starlette asserts samesite before anything is rendered (so before the CR/LF checks).
        if let Some(s) = &self.samesite {
            if !["strict", "lax", "none"].contains(&s.to_lowercase().as_str()) {
                return Err(CookieError::InvalidSameSite(s.clone()));
            }
        }
        let mut out = format!("{}={}", self.key, quote(&self.value));
        let mut attr = |name: &str, value: Option<&str>, what: &'static str| {
            if value.is_some_and(|v| v.contains(['\r', '\n', '\0'])) {
                return Err(CookieError::InvalidAttribute(what));
            }
            out.push_str("; ");
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                out.push_str(v);
            }
            Ok(())
        };
        // Morsel skips attributes whose value is "" and sorts by attribute key:
        // domain, expires, httponly, max-age, partitioned, path, samesite, secure.
        if let Some(d) = self.domain.as_deref().filter(|d| !d.is_empty()) {
            attr("Domain", Some(d), "Domain")?;
        }
        if let Some(e) = &self.expires {
            let text = match e {
                Expires::Text(t) => t.clone(),
                Expires::In(secs) => http_date(unix_secs(now).saturating_add(*secs)),
                Expires::At(t) => http_date(unix_secs(*t)),
            };
            if !text.is_empty() {
                attr("expires", Some(&text), "expires")?;
            }
        }
        if self.httponly {
            attr("HttpOnly", None, "HttpOnly")?;
        }
        if let Some(m) = self.max_age {
            attr("Max-Age", Some(&m.to_string()), "Max-Age")?;
        }
        if self.partitioned {
            attr("Partitioned", None, "Partitioned")?;
        }
        if let Some(p) = self.path.as_deref().filter(|p| !p.is_empty()) {
            attr("Path", Some(p), "Path")?;
        }
        if let Some(s) = &self.samesite {
            attr("SameSite", Some(s), "SameSite")?;
        }
        if self.secure {
            attr("Secure", None, "Secure")?;
        }
        if let Some(start) = out.chars().position(|c| u32::from(c) > 0xff) {
            let run = out.chars().skip(start).take_while(|&c| u32::from(c) > 0xff);
            let end = start + run.count();
            return Err(CookieError::NotLatin1 {
                text: out,
                start,
                end,
            });
        }
        Ok(out)
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Formats Unix seconds as an HTTP date, `Thu, 01 Jan 1970 00:00:00 GMT`.
///
/// ```
/// assert_eq!(tachyon_core::cookies::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
pub fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{weekday}, {day:02} {} {year:4} {:02}:{:02}:{:02} GMT",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
