//! Case-insensitive, multi-valued, order-preserving headers over raw `(name, value)` byte pairs,
//! with Starlette's `Headers` / `MutableHeaders` semantics.
//!
//! Names are lowercased once, when they enter through a `&str` method; raw pairs (what ASGI
//! delivers, already lowercase) are kept as given and compared byte for byte with the
//! lowercased lookup key, exactly as Starlette compares them. Text goes in and out as latin-1.

use std::borrow::Cow;

use bytes::Bytes;

use crate::error::HeaderError;
use crate::query::latin1_to_string;

/// A list of header pairs; the `&mut self` methods are Starlette's `MutableHeaders` operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    raw: Vec<(Bytes, Bytes)>,
}

/// Rust code mutates a [`Headers`] through `&mut`; this alias names Starlette's type.
pub type MutableHeaders = Headers;

/// A header name prepared for lookups: `name.lower().encode("latin-1")`, Starlette's key,
/// computed without allocating for ASCII names. [`HeaderKey::matches`] compares it byte for
/// byte with a stored (raw) name, as Starlette compares them; every lookup here uses it, and
/// so does the Python binding over the ASGI scope's own header list.
///
/// ```
/// use tachyon_core::headers::HeaderKey;
/// let key = HeaderKey::new("Content-Type");
/// assert!(key.matches(b"content-type"));
/// assert!(!key.matches(b"Content-Type")); // raw names are compared as given
/// assert_eq!(key.lowered().as_deref(), Some(&b"content-type"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct HeaderKey<'a>(Key<'a>);

#[derive(Debug, Clone)]
enum Key<'a> {
    Ascii(&'a [u8]),
    Owned(Vec<u8>),
    /// The lowered name is not latin-1: it matches no stored name.
    None,
}

impl<'a> HeaderKey<'a> {
    /// The key for `name`.
    pub fn new(name: &'a str) -> Self {
        if name.is_ascii() {
            return HeaderKey(Key::Ascii(name.as_bytes()));
        }
        HeaderKey(match encode_latin1(&name.to_lowercase()) {
            Ok(v) => Key::Owned(v),
            Err(_) => Key::None,
        })
    }

    /// Whether the stored name `stored` is this key.
    #[inline]
    pub fn matches(&self, stored: &[u8]) -> bool {
        match &self.0 {
            Key::Ascii(k) => {
                stored.len() == k.len()
                    && stored
                        .iter()
                        .zip(k.iter())
                        .all(|(s, k)| *s == k.to_ascii_lowercase())
            }
            Key::Owned(k) => stored == k.as_slice(),
            Key::None => false,
        }
    }

    /// The lowered latin-1 bytes themselves (allocated for ASCII names); `None` when the
    /// lowered name is not latin-1.
    pub fn lowered(&self) -> Option<Cow<'_, [u8]>> {
        match &self.0 {
            Key::Ascii(k) => Some(Cow::Owned(k.to_ascii_lowercase())),
            Key::Owned(k) => Some(Cow::Borrowed(k)),
            Key::None => None,
        }
    }
}

/// The first value named `name` in any pair list, with [`Headers::get`]'s matching rule.
///
/// For callers that keep their own storage.
///
/// ```
/// let raw = vec![(b"x".to_vec(), 1), (b"y".to_vec(), 2)];
/// assert_eq!(tachyon_core::headers::find_first(&raw, "Y"), Some(&2));
/// ```
pub fn find_first<'a, K: AsRef<[u8]>, V>(pairs: &'a [(K, V)], name: &str) -> Option<&'a V> {
    let key = HeaderKey::new(name);
    pairs
        .iter()
        .find(|(k, _)| key.matches(k.as_ref()))
        .map(|(_, v)| v)
}

/// The positions of every pair named `name` in any pair list, in order.
pub fn find_indices<K: AsRef<[u8]>, V>(pairs: &[(K, V)], name: &str) -> Vec<usize> {
    let key = HeaderKey::new(name);
    pairs
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| key.matches(k.as_ref()))
        .map(|(i, _)| i)
        .collect()
}

/// Encodes text as latin-1, failing on the first character above U+00FF.
pub fn encode_latin1(s: &str) -> Result<Vec<u8>, HeaderError> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| HeaderError::NotLatin1(c)))
        .collect()
}

/// Checks a header value set by the application: CR, LF and NUL are refused.
pub fn validate_value(value: &[u8]) -> Result<(), HeaderError> {
    match value.iter().find(|&&b| b == b'\r' || b == b'\n' || b == 0) {
        Some(&b) => Err(HeaderError::InvalidValueByte(b)),
        None => Ok(()),
    }
}

/// Checks a header name set by the application: non-empty, no CR, LF, NUL or `:`.
pub fn validate_name(name: &[u8]) -> Result<(), HeaderError> {
    if name.is_empty() || name.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0 | b':')) {
        return Err(HeaderError::InvalidName(
            latin1_to_string(name).into_owned(),
        ));
    }
    Ok(())
}

fn lowered_name(name: &str) -> Result<Bytes, HeaderError> {
    let bytes = if name.is_ascii() {
        name.as_bytes().to_ascii_lowercase()
    } else {
        encode_latin1(&name.to_lowercase())?
    };
    validate_name(&bytes)?;
    Ok(Bytes::from(bytes))
}

fn checked_value(value: &str) -> Result<Bytes, HeaderError> {
    let bytes = encode_latin1(value)?;
    validate_value(&bytes)?;
    Ok(Bytes::from(bytes))
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// Wraps raw pairs as delivered by ASGI (names already lowercase), without copying or checks.
    pub fn from_raw(raw: Vec<(Bytes, Bytes)>) -> Self {
        Headers { raw }
    }

    /// Builds headers from text pairs: names lowercased, both sides latin-1 encoded and checked.
    ///
    /// ```
    /// use tachyon_core::Headers;
    /// let h = Headers::from_pairs([("Content-Type", "text/plain"), ("X-A", "1")]).unwrap();
    /// assert_eq!(h.get_str("content-type").as_deref(), Some("text/plain"));
    /// ```
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, HeaderError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut h = Headers::new();
        for (k, v) in pairs {
            h.append(k.as_ref(), v.as_ref())?;
        }
        Ok(h)
    }

    /// Copies an `http::HeaderMap` (whose names are lowercase already), keeping its order.
    pub fn from_http(map: &http::HeaderMap) -> Self {
        let raw = map
            .iter()
            .map(|(k, v)| {
                (
                    Bytes::copy_from_slice(k.as_str().as_bytes()),
                    Bytes::copy_from_slice(v.as_bytes()),
                )
            })
            .collect();
        Headers { raw }
    }

    /// The raw pairs, in order.
    pub fn raw(&self) -> &[(Bytes, Bytes)] {
        &self.raw
    }

    /// Consumes the headers, giving the raw pairs.
    pub fn into_raw(self) -> Vec<(Bytes, Bytes)> {
        self.raw
    }

    /// The number of pairs (duplicates counted), like `len(headers)`.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The FIRST value for `name` (case-insensitive), as Starlette's `headers[name]`.
    ///
    /// ```
    /// use tachyon_core::Headers;
    /// let h = Headers::from_pairs([("a", "1"), ("A", "2")]).unwrap();
    /// assert_eq!(h.get("A"), Some(&b"1"[..]));
    /// ```
    #[inline]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let key = HeaderKey::new(name);
        self.raw
            .iter()
            .find(|(k, _)| key.matches(k))
            .map(|(_, v)| v.as_ref())
    }

    /// The first value for `name`, decoded as latin-1.
    pub fn get_str(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(latin1_to_string)
    }

    /// Every value for `name`, in order (Starlette's `getlist`).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let key = HeaderKey::new(name);
        self.raw
            .iter()
            .filter(move |(k, _)| key.matches(k))
            .map(|(_, v)| v.as_ref())
    }

    /// Whether any pair has the name `name` (case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        let key = HeaderKey::new(name);
        self.raw.iter().any(|(k, _)| key.matches(k))
    }

    /// Iterates over `(name, value)` byte pairs in order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.raw.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// The names in order, decoded as latin-1 (Starlette's `keys()`).
    pub fn keys(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.raw.iter().map(|(k, _)| latin1_to_string(k))
    }

    /// Sets `name` to `value`: replaces the first pair with that name in place and removes the
    /// others, or appends when absent (Starlette's `__setitem__`).
    ///
    /// ```
    /// use tachyon_core::Headers;
    /// let mut h = Headers::from_pairs([("a", "1"), ("b", "2"), ("a", "3")]).unwrap();
    /// h.set("A", "9").unwrap();
    /// assert_eq!(h.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"9"[..]), (b"b", b"2")]);
    /// assert!(h.set("x", "evil\r\nset-cookie: a=b").is_err());
    /// ```
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        let name = lowered_name(name)?;
        let value = checked_value(value)?;
        self.set_lowered(name, value);
        Ok(())
    }

    /// [`Headers::set`] with raw bytes; `name` is lowercased (ASCII) and both sides are checked.
    pub fn set_raw(&mut self, name: &[u8], value: &[u8]) -> Result<(), HeaderError> {
        let name = name.to_ascii_lowercase();
        validate_name(&name)?;
        validate_value(value)?;
        self.set_lowered(Bytes::from(name), Bytes::copy_from_slice(value));
        Ok(())
    }

    fn set_lowered(&mut self, name: Bytes, value: Bytes) {
        match self.raw.iter().position(|(k, _)| *k == name) {
            Some(first) => {
                let mut idx = 0;
                self.raw.retain(|(k, _)| {
                    let keep = idx <= first || *k != name;
                    idx += 1;
                    keep
                });
                self.raw[first] = (name, value);
            }
            None => self.raw.push((name, value)),
        }
    }

    /// Appends a pair, keeping any existing ones with the same name.
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        let name = lowered_name(name)?;
        let value = checked_value(value)?;
        self.raw.push((name, value));
        Ok(())
    }

    /// [`Headers::append`] with raw bytes; `name` is lowercased (ASCII) and both sides are checked.
    pub fn append_raw(&mut self, name: &[u8], value: &[u8]) -> Result<(), HeaderError> {
        let name = name.to_ascii_lowercase();
        validate_name(&name)?;
        validate_value(value)?;
        self.raw
            .push((Bytes::from(name), Bytes::copy_from_slice(value)));
        Ok(())
    }

    /// Removes every pair named `name`; returns how many were removed (`del headers[name]`).
    pub fn remove(&mut self, name: &str) -> usize {
        let key = HeaderKey::new(name);
        let before = self.raw.len();
        self.raw.retain(|(k, _)| !key.matches(k));
        before - self.raw.len()
    }

    /// Returns the first value for `name`, first appending `value` if the name is absent.
    pub fn setdefault(&mut self, name: &str, value: &str) -> Result<Cow<'_, str>, HeaderError> {
        let key = HeaderKey::new(name);
        if let Some(i) = self.raw.iter().position(|(k, _)| key.matches(k)) {
            return Ok(latin1_to_string(&self.raw[i].1));
        }
        self.append(name, value)?;
        Ok(Cow::Owned(value.to_owned()))
    }

    /// [`Headers::set`] for each pair in turn (Starlette's `update`).
    ///
    /// Every pair is checked before any is applied, so a bad pair leaves the headers unchanged.
    pub fn update<I, K, V>(&mut self, pairs: I) -> Result<(), HeaderError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let checked = pairs
            .into_iter()
            .map(|(k, v)| Ok((lowered_name(k.as_ref())?, checked_value(v.as_ref())?)))
            .collect::<Result<Vec<_>, HeaderError>>()?;
        for (k, v) in checked {
            self.set_lowered(k, v);
        }
        Ok(())
    }

    /// Adds `vary` to the `Vary` header: all current values and `vary` joined by `", "`.
    pub fn add_vary_header(&mut self, vary: &str) -> Result<(), HeaderError> {
        let mut joined: Vec<u8> = Vec::new();
        for v in self.get_all("vary") {
            joined.extend_from_slice(v);
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(&encode_latin1(vary)?);
        validate_value(&joined)?;
        self.set_lowered(Bytes::from_static(b"vary"), Bytes::from(joined));
        Ok(())
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Bytes, Bytes)>,
        fn(&'a (Bytes, Bytes)) -> (&'a [u8], &'a [u8]),
    >;

    fn into_iter(self) -> Self::IntoIter {
        fn pair(p: &(Bytes, Bytes)) -> (&[u8], &[u8]) {
            (p.0.as_ref(), p.1.as_ref())
        }
        self.raw.iter().map(pair)
    }
}
