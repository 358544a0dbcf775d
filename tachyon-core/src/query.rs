//! Query strings and `application/x-www-form-urlencoded` text, parsed and built exactly as
//! Python's `urllib.parse` does (which is what Starlette uses).

use std::borrow::Cow;

/// Parses a query string exactly like Python's `urllib.parse.parse_qsl(s, keep_blank_values=True)`.
///
/// Splits on `&` only (never `;`), skips empty pieces, gives a piece without `=` the value `""`,
/// turns `+` into a space and percent-decodes as UTF-8 with U+FFFD for invalid sequences;
/// malformed escapes such as `%zz` stay as they are. Borrows when nothing needs decoding.
///
/// `form_urlencoded::parse` has exactly these semantics (proved against CPython output in
/// `tests/query.rs`), so it does the work.
///
/// ```
/// use tachyon_core::query::parse_qsl;
/// let pairs = parse_qsl("a=1&b=x+y&c&a=%E2%82%AC");
/// let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
/// assert_eq!(pairs, [("a", "1"), ("b", "x y"), ("c", ""), ("a", "€")]);
/// ```
pub fn parse_qsl(s: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    // Sizing the Vec up front saves its regrowths (3 of them for a 10-pair query).
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'&', s.as_bytes()).count() + 1);
    out.extend(form_urlencoded::parse(s.as_bytes()));
    out
}

/// Parses a raw ASGI `query_string` the way Starlette does: `parse_qsl(raw.decode("latin-1"))`.
///
/// ```
/// use tachyon_core::query::parse_query_bytes;
/// assert_eq!(parse_query_bytes(b"q=caf\xe9"), [("q".to_string(), "café".to_string())]);
/// ```
pub fn parse_query_bytes(raw: &[u8]) -> Vec<(String, String)> {
    let text = latin1_to_string(raw);
    parse_qsl(&text)
        .into_iter()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Decodes latin-1 bytes to text; borrows when the bytes are all ASCII.
pub fn latin1_to_string(raw: &[u8]) -> Cow<'_, str> {
    if raw.is_ascii() {
        if let Ok(s) = std::str::from_utf8(raw) {
            return Cow::Borrowed(s);
        }
    }
    Cow::Owned(raw.iter().map(|&b| b as char).collect())
}

/// Python's `urllib.parse.unquote_plus(s)`: `+` to space, then `unquote` (UTF-8, `errors="replace"`).
///
/// ```
/// assert_eq!(tachyon_core::query::unquote_plus("a+b%21%zz"), "a b!%zz");
/// ```
pub fn unquote_plus(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    // memchr2: a 1 MiB form field is scanned at memory speed, not byte by byte.
    let Some(first) = memchr::memchr2(b'%', b'+', bytes) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'+' && b != b'%' {
            // Copy the run up to the next escape in one go.
            let run = memchr::memchr2(b'%', b'+', &bytes[i..]).unwrap_or(bytes.len() - i);
            out.extend_from_slice(&bytes[i..i + run]);
            i += run;
            continue;
        }
        if b == b'+' {
            out.push(b' ');
        } else if b == b'%' {
            match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    // A non-ASCII character already in `s` is a complete UTF-8 sequence; it ends a partial
    // escaped sequence exactly as the end of an ASCII run does in CPython, so one lossy
    // decode over the whole buffer gives CPython's result (tested in tests/query.rs).
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(err) => Cow::Owned(String::from_utf8_lossy(err.as_bytes()).into_owned()),
    }
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends Python's `quote_plus(s, safe="")` of `s` to `out`: only `A-Za-z0-9_.-~` stay
/// literal, a space becomes `+`, every other UTF-8 byte becomes `%XX` (upper case).
///
/// `form_urlencoded::byte_serialize` differs (it keeps `*` and escapes `~`), so it is not used;
/// `tests/query.rs` shows the difference.
pub fn quote_plus_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// Python's `urllib.parse.urlencode(pairs)`: `k=v` pairs joined by `&`, each side `quote_plus`ed.
///
/// ```
/// use tachyon_core::query::urlencode;
/// assert_eq!(urlencode([("a b", "1&2"), ("é", "~*")]), "a+b=1%262&%C3%A9=~%2A");
/// ```
pub fn urlencode<I, K, V>(pairs: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        quote_plus_into(k.as_ref(), &mut out);
        out.push('=');
        quote_plus_into(v.as_ref(), &mut out);
    }
    out
}

/// An immutable multi-dict of query parameters, like Starlette's `QueryParams`.
///
/// `get` returns the LAST value for a key (Starlette builds its dict from the pairs in order),
/// `get_list` all of them; `Display` re-encodes with [`urlencode`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    items: Vec<(String, String)>,
}

impl QueryParams {
    /// Parses a query string with [`parse_qsl`].
    pub fn parse(s: &str) -> Self {
        let items = parse_qsl(s)
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        QueryParams { items }
    }

    /// Parses a raw ASGI `query_string` (latin-1), as Starlette's `Request.query_params` does.
    pub fn from_bytes(raw: &[u8]) -> Self {
        QueryParams {
            items: parse_query_bytes(raw),
        }
    }

    /// Builds the multi-dict from pairs, keeping their order.
    pub fn from_pairs(items: Vec<(String, String)>) -> Self {
        QueryParams { items }
    }

    /// The last value for `key`, as Starlette's `params[key]`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, in order.
    pub fn get_list(&self, key: &str) -> Vec<&str> {
        self.items
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.items.iter().any(|(k, _)| k == key)
    }

    /// All pairs in order (Starlette's `multi_items()`).
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Consumes the multi-dict, giving its pairs.
    pub fn into_items(self) -> Vec<(String, String)> {
        self.items
    }
}

impl std::fmt::Display for QueryParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&urlencode(self.items.iter().map(|(k, v)| (k, v))))
    }
}
