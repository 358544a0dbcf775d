//! URLs split and rebuilt with Python's `urllib.parse.urlsplit` / `urlunsplit` semantics, and
//! Starlette's `URL` (including how it is built from an ASGI scope and the `Host` header).

use std::borrow::Cow;
use std::net::Ipv6Addr;

use crate::error::UrlError;
use crate::query::{parse_qsl, urlencode};

const USES_NETLOC: [&str; 26] = [
    "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp",
    "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git",
    "git+ssh", "ws", "wss",
];

/// The five parts of a URL, as Python's `SplitResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitResult {
    /// Lowercased scheme, or `""`.
    pub scheme: String,
    /// Everything between `//` and the path: `user:pass@host:port`.
    pub netloc: String,
    /// The path, not decoded.
    pub path: String,
    /// The query, without `?`, not decoded.
    pub query: String,
    /// The fragment, without `#`.
    pub fragment: String,
}

/// Splits a URL exactly like Python 3.11's `urllib.parse.urlsplit(url)`.
///
/// Leading C0 controls and spaces are stripped and tab, CR and LF removed first.
/// (Python's extra NFKC check on non-ASCII netlocs is not reproduced.)
///
/// ```
/// let p = tachyon_core::url::urlsplit("HTTP://u:p@Example.com:8080/a b?x=1#f").unwrap();
/// assert_eq!((p.scheme.as_str(), p.netloc.as_str(), p.path.as_str()), ("http", "u:p@Example.com:8080", "/a b"));
/// assert_eq!((p.query.as_str(), p.fragment.as_str()), ("x=1", "f"));
/// ```
pub fn urlsplit(url: &str) -> Result<SplitResult, UrlError> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let cleaned: String;
    let mut url: &str = if url.contains(['\t', '\r', '\n']) {
        cleaned = url
            .chars()
            .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
            .collect();
        &cleaned
    } else {
        url
    };
    let mut out = SplitResult::default();
    if let Some(i) = url.find(':') {
        let candidate = &url[..i];
        if i > 0
            && candidate.as_bytes()[0].is_ascii_alphabetic()
            && candidate
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            out.scheme = candidate.to_ascii_lowercase();
            url = &url[i + 1..];
        }
    }
    if let Some(rest) = url.strip_prefix("//") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let netloc = &rest[..end];
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err(UrlError::InvalidIpv6);
        }
        if open {
            let after = netloc.split_once('[').map_or("", |(_, a)| a);
            let host = after.split_once(']').map_or(after, |(h, _)| h);
            check_bracketed_host(host)?;
        }
        out.netloc = netloc.to_owned();
        url = &rest[end..];
    }
    if let Some((u, f)) = url.split_once('#') {
        out.fragment = f.to_owned();
        url = u;
    }
    if let Some((u, q)) = url.split_once('?') {
        out.query = q.to_owned();
        url = u;
    }
    out.path = url.to_owned();
    Ok(out)
}

fn check_bracketed_host(host: &str) -> Result<(), UrlError> {
    let bad = || UrlError::InvalidBracketedHost(host.to_owned());
    if let Some(rest) = host.strip_prefix('v') {
        // \Av[a-fA-F0-9]+\..+\Z
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        let ok = hex > 0 && rest[hex..].starts_with('.') && rest.len() > hex + 1;
        return if ok { Ok(()) } else { Err(bad()) };
    }
    if is_ipv6(host) { Ok(()) } else { Err(bad()) }
}

/// Python's `ipaddress.IPv6Address` check, including an optional `%scope` suffix.
fn is_ipv6(s: &str) -> bool {
    let (addr, scope) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    if scope.is_some_and(|z| z.is_empty() || z.contains('%')) {
        return false;
    }
    addr.parse::<Ipv6Addr>().is_ok()
}

impl SplitResult {
    /// Joins the parts back, exactly like Python's `urlunsplit` (`SplitResult.geturl()`).
    pub fn geturl(&self) -> String {
        let mut url = String::new();
        if !self.netloc.is_empty()
            || (!self.scheme.is_empty()
                && USES_NETLOC.contains(&self.scheme.as_str())
                && !self.path.starts_with("//"))
        {
            url.push_str("//");
            url.push_str(&self.netloc);
            if !self.path.is_empty() && !self.path.starts_with('/') {
                url.push('/');
            }
        }
        url.push_str(&self.path);
        if !self.scheme.is_empty() {
            url.insert_str(0, &format!("{}:", self.scheme));
        }
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        if !self.fragment.is_empty() {
            url.push('#');
            url.push_str(&self.fragment);
        }
        url
    }

    fn hostinfo(&self) -> (&str, Option<&str>) {
        let hostinfo = self
            .netloc
            .rsplit_once('@')
            .map_or(self.netloc.as_str(), |(_, h)| h);
        let (host, port) = match hostinfo.split_once('[') {
            Some((_, bracketed)) => {
                let (h, rest) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (h, rest.split_once(':').map_or("", |(_, p)| p))
            }
            None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
        };
        (host, (!port.is_empty()).then_some(port))
    }

    /// The user name before `@`, if the netloc has one.
    pub fn username(&self) -> Option<&str> {
        let (info, _) = self.netloc.rsplit_once('@')?;
        Some(info.split_once(':').map_or(info, |(u, _)| u))
    }

    /// The password after `user:`, if the netloc has one.
    pub fn password(&self) -> Option<&str> {
        let (info, _) = self.netloc.rsplit_once('@')?;
        info.split_once(':').map(|(_, p)| p)
    }

    /// The host, lowercased (an IPv6 zone after `%` keeps its case), without brackets.
    pub fn hostname(&self) -> Option<String> {
        let (host, _) = self.hostinfo();
        if host.is_empty() {
            return None;
        }
        Some(match host.split_once('%') {
            Some((h, zone)) => format!("{}%{zone}", h.to_lowercase()),
            None => host.to_lowercase(),
        })
    }

    /// The port; errors where Python's `.port` raises `ValueError`.
    pub fn port(&self) -> Result<Option<u16>, UrlError> {
        let Some(port) = self.hostinfo().1 else {
            return Ok(None);
        };
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UrlError::InvalidPort(port.to_owned()));
        }
        let digits = port.trim_start_matches('0');
        if digits.len() > 5 {
            return Err(UrlError::PortOutOfRange);
        }
        let n: u32 = digits.parse().unwrap_or(0);
        u16::try_from(n)
            .map(Some)
            .map_err(|_| UrlError::PortOutOfRange)
    }
}

/// A URL with Starlette's `URL` API: the string as given, and its split parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    url: String,
    parts: SplitResult,
}

/// The changes for [`Url::replace`]; `None` leaves a part as it is.
///
/// `username`, `password` and `port` take `Some(None)` to remove the part, as passing `None`
/// to Starlette's `replace` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlReplace {
    /// New scheme.
    pub scheme: Option<String>,
    /// New netloc (ignored when any of username, password, hostname, port is given).
    pub netloc: Option<String>,
    /// New path.
    pub path: Option<String>,
    /// New query.
    pub query: Option<String>,
    /// New fragment.
    pub fragment: Option<String>,
    /// New user name, or `Some(None)` to drop it.
    pub username: Option<Option<String>>,
    /// New password, or `Some(None)` to drop it.
    pub password: Option<Option<String>>,
    /// New host name (an IPv6 address gets brackets).
    pub hostname: Option<String>,
    /// New port, or `Some(None)` to drop it.
    pub port: Option<Option<u16>>,
}

/// The parts of an ASGI scope that Starlette's `URL(scope=...)` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlScope<'a> {
    /// `scope["scheme"]` (`"http"` when absent).
    pub scheme: &'a str,
    /// `scope["server"]`: host and port (the port is `None` for a Unix socket).
    pub server: Option<(&'a str, Option<u16>)>,
    /// `scope["path"]`.
    pub path: &'a str,
    /// `scope["query_string"]`.
    pub query_string: &'a [u8],
    /// The value of the first header named exactly `b"host"`.
    pub host_header: Option<&'a [u8]>,
}

impl Url {
    /// Parses a URL; fails where Python's `urlsplit` raises.
    ///
    /// ```
    /// use tachyon_core::Url;
    /// let u = Url::parse("https://example.org:8443/p?q=1").unwrap();
    /// assert_eq!(u.port().unwrap(), Some(8443));
    /// assert!(u.is_secure());
    /// ```
    pub fn parse(url: &str) -> Result<Url, UrlError> {
        Ok(Url {
            url: url.to_owned(),
            parts: urlsplit(url)?,
        })
    }

    /// Builds the URL of a request from its scope, exactly as Starlette does.
    ///
    /// A valid `Host` header gives the netloc; else `server` does (its default port omitted);
    /// else the URL is the path and query alone. Differences: a query string that is not UTF-8
    /// is decoded lossily (Starlette raises), and a server without a port or with an unknown
    /// scheme gives `host` (Starlette writes `host:None` / raises).
    ///
    /// ```
    /// use tachyon_core::url::{Url, UrlScope};
    /// let scope = UrlScope { scheme: "http", server: Some(("10.0.0.1", Some(80))), path: "/a?b",
    ///     query_string: b"x=1", host_header: Some(b"Example.com:8000") };
    /// assert_eq!(Url::from_scope(&scope).unwrap().as_str(), "http://Example.com:8000/a%3Fb?x=1");
    /// ```
    pub fn from_scope(scope: &UrlScope<'_>) -> Result<Url, UrlError> {
        let path = scope
            .path
            .replace('?', "%3F")
            .replace('#', "%23")
            .replace('\\', "%5C");
        let query = String::from_utf8_lossy(scope.query_string);
        let host_header = scope.host_header.map(crate::query::latin1_to_string);
        let parsed = host_header.as_deref().and_then(parse_host_header);
        let netloc = match (parsed, scope.server) {
            (Some(h), _) if h.is_valid_port() => Some(h.authority()),
            (_, Some((host, port))) => {
                let host = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]")
                } else {
                    host.to_owned()
                };
                let default = match scope.scheme {
                    "http" | "ws" => Some(80),
                    "https" | "wss" => Some(443),
                    _ => None,
                };
                match port {
                    Some(p) if Some(p) != default => Some(format!("{host}:{p}")),
                    _ => Some(host),
                }
            }
            _ => None,
        };
        let url = match netloc {
            Some(netloc) => SplitResult {
                scheme: scope.scheme.to_owned(),
                netloc,
                path,
                query: query.into_owned(),
                fragment: String::new(),
            }
            .geturl(),
            None => {
                let path = match path.strip_prefix("//") {
                    Some(rest) => format!("/%2F{rest}"),
                    None => path,
                };
                if query.is_empty() {
                    path
                } else {
                    format!("{path}?{query}")
                }
            }
        };
        Url::parse(&url)
    }

    /// The URL as a string (as given, not normalised).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The split parts.
    pub fn components(&self) -> &SplitResult {
        &self.parts
    }

    /// The scheme, lowercased.
    pub fn scheme(&self) -> &str {
        &self.parts.scheme
    }

    /// The netloc.
    pub fn netloc(&self) -> &str {
        &self.parts.netloc
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.parts.path
    }

    /// The query, without `?`.
    pub fn query(&self) -> &str {
        &self.parts.query
    }

    /// The fragment, without `#`.
    pub fn fragment(&self) -> &str {
        &self.parts.fragment
    }

    /// The user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.parts.username()
    }

    /// The password, if any.
    pub fn password(&self) -> Option<&str> {
        self.parts.password()
    }

    /// The host name, lowercased.
    pub fn hostname(&self) -> Option<String> {
        self.parts.hostname()
    }

    /// The port, if any; errors when it is not a number in 0..=65535.
    pub fn port(&self) -> Result<Option<u16>, UrlError> {
        self.parts.port()
    }

    /// Whether the scheme is `https` or `wss`.
    pub fn is_secure(&self) -> bool {
        matches!(self.scheme(), "https" | "wss")
    }

    /// A copy with some parts replaced, as Starlette's `URL.replace(**kwargs)`.
    ///
    /// ```
    /// use tachyon_core::url::{Url, UrlReplace};
    /// let u = Url::parse("http://a:b@host:1/p").unwrap();
    /// let r = UrlReplace { port: Some(Some(2)), path: Some("/q".into()), ..Default::default() };
    /// assert_eq!(u.replace(r).unwrap().as_str(), "http://a:b@host:2/q");
    /// ```
    pub fn replace(&self, r: UrlReplace) -> Result<Url, UrlError> {
        let mut parts = self.parts.clone();
        if r.username.is_some() || r.password.is_some() || r.hostname.is_some() || r.port.is_some()
        {
            let port = match r.port {
                Some(p) => p,
                None => self.port()?,
            };
            let username = r
                .username
                .unwrap_or_else(|| self.username().map(str::to_owned));
            let password = r
                .password
                .unwrap_or_else(|| self.password().map(str::to_owned));
            let mut netloc = match r.hostname {
                None => {
                    let host = self
                        .netloc()
                        .rsplit_once('@')
                        .map_or(self.netloc(), |(_, h)| h);
                    if !host.is_empty() && !host.ends_with(']') {
                        host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned()
                    } else {
                        host.to_owned()
                    }
                }
                Some(h) if h.contains(':') && !h.starts_with('[') && is_ipv6(&h) => {
                    format!("[{h}]")
                }
                Some(h) => h,
            };
            if let Some(p) = port {
                netloc = format!("{netloc}:{p}");
            }
            if let Some(user) = username {
                let userpass = match password {
                    Some(pw) => format!("{user}:{pw}"),
                    None => user,
                };
                netloc = format!("{userpass}@{netloc}");
            }
            parts.netloc = netloc;
        } else if let Some(n) = r.netloc {
            parts.netloc = n;
        }
        if let Some(s) = r.scheme {
            parts.scheme = s;
        }
        if let Some(p) = r.path {
            parts.path = p;
        }
        if let Some(q) = r.query {
            parts.query = q;
        }
        if let Some(f) = r.fragment {
            parts.fragment = f;
        }
        Url::parse(&parts.geturl())
    }

    fn with_query(&self, query: String) -> Result<Url, UrlError> {
        self.replace(UrlReplace {
            query: Some(query),
            ..UrlReplace::default()
        })
    }

    /// Sets the given parameters: existing pairs with those keys are dropped, the new ones go last.
    pub fn include_query_params<K: AsRef<str>, V: AsRef<str>>(
        &self,
        params: &[(K, V)],
    ) -> Result<Url, UrlError> {
        let mut new: Vec<(&str, &str)> = Vec::new();
        for (k, v) in params {
            // A repeated keyword keeps its last value, at its first position.
            match new.iter_mut().find(|(nk, _)| *nk == k.as_ref()) {
                Some(slot) => slot.1 = v.as_ref(),
                None => new.push((k.as_ref(), v.as_ref())),
            }
        }
        let old = parse_qsl(self.query());
        let mut pairs: Vec<(&str, &str)> = old
            .iter()
            .filter(|(k, _)| !new.iter().any(|(nk, _)| nk == k))
            .map(|(k, v)| (&**k, &**v))
            .collect();
        pairs.extend(new);
        self.with_query(urlencode(pairs))
    }

    /// Replaces the whole query with the given parameters.
    pub fn replace_query_params<K: AsRef<str>, V: AsRef<str>>(
        &self,
        params: &[(K, V)],
    ) -> Result<Url, UrlError> {
        self.with_query(urlencode(
            params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
        ))
    }

    /// Drops every pair whose key is one of `keys`.
    pub fn remove_query_params<K: AsRef<str>>(&self, keys: &[K]) -> Result<Url, UrlError> {
        let old = parse_qsl(self.query());
        let kept = old
            .iter()
            .filter(|(k, _)| !keys.iter().any(|r| r.as_ref() == k))
            .map(|(k, v)| (&**k, &**v));
        self.with_query(urlencode(kept))
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// A `Host` header split by Starlette's `parse_host_header` (brackets kept on IP literals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostHeader<'a> {
    /// The host, brackets included for IP literals.
    pub host: &'a str,
    /// The port digits, if any (not range-checked; see [`HostHeader::is_valid_port`]).
    pub port: Option<&'a str>,
}

impl HostHeader<'_> {
    /// `host` or `host:port`.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_owned(),
        }
    }

    /// Whether the port is absent or at most 65535 (leading zeros ignored).
    pub fn is_valid_port(&self) -> bool {
        let Some(p) = self.port else { return true };
        let digits = p.trim_start_matches('0');
        digits.len() <= 5 && digits.parse::<u32>().unwrap_or(0) <= 65535
    }
}

/// A character of Starlette's `[a-z0-9._~%!$&'()*+,;=-]` under `re.IGNORECASE`: besides
/// ASCII, Python's case folding lets four letters in (İ ı ſ K), and Starlette accepts them.
fn is_reg_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "._~%!$&'()*+,;=-".contains(c)
        || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

/// Validates and splits a `Host` header like Starlette's `_HOST_RE` + `parse_host_header`;
/// `None` when invalid.
///
/// ```
/// use tachyon_core::url::parse_host_header;
/// assert_eq!(parse_host_header("[::1]:8000").unwrap().host, "[::1]");
/// assert!(parse_host_header("evil.com/path").is_none());
/// ```
pub fn parse_host_header(h: &str) -> Option<HostHeader<'_>> {
    let (host, rest) = if h.starts_with('[') {
        let close = h.find(']')?;
        let inner = &h[1..close];
        let ok = if let Some(v) = inner.strip_prefix('v') {
            let hex = v.bytes().take_while(u8::is_ascii_hexdigit).count();
            let tail = v[hex..].strip_prefix('.')?;
            hex > 0
                && !tail.is_empty()
                && tail
                    .chars()
                    .all(|c| is_reg_name_char(c) && c != '%' || c == ':')
        } else {
            let colon = inner.find(':')?;
            let (pre, post) = (&inner[..colon], &inner[colon + 1..]);
            pre.bytes().all(|b| b.is_ascii_hexdigit())
                && !post.is_empty()
                && post
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':')
                && inner.parse::<Ipv6Addr>().is_ok()
        };
        if !ok {
            return None;
        }
        h.split_at(close + 1)
    } else {
        let end = h.find(':').unwrap_or(h.len());
        let host = &h[..end];
        if host.is_empty() || !host.chars().all(is_reg_name_char) {
            return None;
        }
        h.split_at(end)
    };
    let port = if rest.is_empty() {
        None
    } else {
        let p = rest.strip_prefix(':')?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(p)
    };
    Some(HostHeader { host, port })
}

/// Characters `urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~")` leaves as they are.
fn path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"/:@!$&'()*+,;=-._~".contains(&b)
}

/// An ASGI `raw_path` for a server that hands over the path already percent-decoded
/// (Granian's RSGI): `quote(path, safe="/:@!$&'()*+,;=-._~")` (UTF-8, `%XX` upper-case).
/// A path of safe characters only is its own encoding and is borrowed.
///
/// ```
/// use tachyon_core::url::quote_path;
/// assert_eq!(quote_path("/a b/é"), "/a%20b/%C3%A9");
/// assert!(matches!(quote_path("/users/42"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn quote_path(path: &str) -> Cow<'_, str> {
    if path.bytes().all(path_safe) {
        return Cow::Borrowed(path);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len() * 3);
    for &b in path.as_bytes() {
        if path_safe(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    Cow::Owned(out)
}

/// A server's `"host:port"` address text split for an ASGI `client` / `server` pair:
/// `"127.0.0.1:8000"` → `("127.0.0.1", "8000")`, `"[::1]:8000"` → `("::1", "8000")` (brackets
/// trimmed). `None` without a `:port` of ASCII digits, as `rpartition(":")` + `str.isdigit`
/// decide for ASCII ports. The port stays text: it may be longer than any integer type.
///
/// ```
/// use tachyon_core::url::split_address;
/// assert_eq!(split_address("[::1]:8000"), Some(("::1", "8000")));
/// assert_eq!(split_address("unix-socket"), None);
/// ```
pub fn split_address(text: &str) -> Option<(&str, &str)> {
    let (host, port) = text.rsplit_once(':')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host.trim_matches(|c| c == '[' || c == ']'), port))
}
