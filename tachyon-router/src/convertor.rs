//! Path convertors: the built-in five, matched by hand-written scanners, and user ones by regex.

use std::sync::Arc;

use crate::error::ConvertorError;

/// A user convertor: a name usable as `{param:name}` and the regex its values match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomConvertor {
    name: Box<str>,
    regex: Box<str>,
}

impl CustomConvertor {
    /// The name used in templates.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The regex (Python syntax, compiled with the `regex` crate) that values match.
    pub fn regex(&self) -> &str {
        &self.regex
    }
}

/// How one parameter's text is matched and rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convertor {
    /// `str` (the default): `[^/]+`.
    Str,
    /// `path`: `.*`.
    Path,
    /// `int`: `[0-9]+`.
    Int,
    /// `float`: `[0-9]+(\.[0-9]+)?`.
    Float,
    /// `uuid`: 32 hex digits in groups 8-4-4-4-12, each hyphen optional.
    Uuid,
    /// A registered user convertor.
    Custom(Arc<CustomConvertor>),
}

impl Convertor {
    /// The name as written in templates (`str`, `path`, `int`, `float`, `uuid` or the user's).
    pub fn name(&self) -> &str {
        match self {
            Self::Str => "str",
            Self::Path => "path",
            Self::Int => "int",
            Self::Float => "float",
            Self::Uuid => "uuid",
            Self::Custom(c) => c.name(),
        }
    }

    /// The Python regex Starlette uses for this convertor.
    pub fn regex(&self) -> &str {
        match self {
            Self::Str => "[^/]+",
            Self::Path => ".*",
            Self::Int => "[0-9]+",
            Self::Float => r"[0-9]+(\.[0-9]+)?",
            Self::Uuid => {
                "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
            }
            Self::Custom(c) => c.regex(),
        }
    }

    /// Renders a value for `url_path_for` as Starlette's `to_string` does, from its text form.
    ///
    /// `str` refuses empty values and `/`; `int` and `float` parse the text and refuse
    /// negatives (and NaN, infinities), then print it canonically (`float` as
    /// `("%0.20f" % v).rstrip("0").rstrip(".")`); `path`, `uuid` and user convertors pass the
    /// text through. The error text is Starlette's assertion message.
    pub fn to_url_string(&self, value: &str) -> Result<String, String> {
        match self {
            Self::Str => {
                if value.contains('/') {
                    Err("May not contain path separators".to_owned())
                } else if value.is_empty() {
                    Err("Must not be empty".to_owned())
                } else {
                    Ok(value.to_owned())
                }
            }
            Self::Int => int_to_string(value),
            Self::Float => float_to_string(value),
            Self::Path | Self::Uuid | Self::Custom(_) => Ok(value.to_owned()),
        }
    }
}

/// The registry of user convertors (Starlette's `register_url_convertor`).
///
/// A registered name shadows a built-in one of the same name, as in Starlette.
#[derive(Debug, Clone, Default)]
pub struct Convertors {
    custom: Vec<Arc<CustomConvertor>>,
}

/// The registry with no user convertors, used by the `Route` shorthands.
pub(crate) static BUILTIN: Convertors = Convertors::new();

impl Convertors {
    /// An empty registry: only the built-in convertors.
    pub const fn new() -> Self {
        Self { custom: Vec::new() }
    }

    /// Registers (or replaces) a user convertor whose values match `regex`.
    pub fn register(&mut self, name: &str, regex: &str) -> Result<(), ConvertorError> {
        if !is_identifier(name) {
            return Err(ConvertorError::new(name, "not an identifier"));
        }
        if let Err(e) = regex::Regex::new(regex) {
            return Err(ConvertorError::new(name, e.to_string()));
        }
        let conv = Arc::new(CustomConvertor {
            name: name.into(),
            regex: regex.into(),
        });
        match self.custom.iter_mut().find(|c| &*c.name == name) {
            Some(slot) => *slot = conv,
            None => self.custom.push(conv),
        }
        Ok(())
    }

    /// The convertor a template name refers to, if any.
    pub fn get(&self, name: &str) -> Option<Convertor> {
        if let Some(c) = self.custom.iter().find(|c| &*c.name == name) {
            return Some(Convertor::Custom(Arc::clone(c)));
        }
        match name {
            "str" => Some(Convertor::Str),
            "path" => Some(Convertor::Path),
            "int" => Some(Convertor::Int),
            "float" => Some(Convertor::Float),
            "uuid" => Some(Convertor::Uuid),
            _ => None,
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, the name syntax of Starlette's parameter regex.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn int_to_string(value: &str) -> Result<String, String> {
    let invalid = || format!("invalid literal for int() with base 10: {value:?}");
    let text = value.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    // Python's int() accepts single underscores between digits.
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid());
    }
    let canonical: String = digits.chars().filter(|c| *c != '_').collect();
    let canonical = canonical.trim_start_matches('0');
    if canonical.is_empty() {
        return Ok("0".to_owned());
    }
    if negative {
        return Err("Negative integers are not supported".to_owned());
    }
    Ok(canonical.to_owned())
}

fn float_to_string(value: &str) -> Result<String, String> {
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("could not convert string to float: {value:?}"))?;
    if v.is_nan() {
        return Err("NaN values are not supported".to_owned());
    }
    if v < 0.0 {
        return Err("Negative floats are not supported".to_owned());
    }
    if v.is_infinite() {
        return Err("Infinite values are not supported".to_owned());
    }
    // Rust's fixed-precision formatting is exact, like C's "%0.20f".
    let text = format!("{v:.20}");
    Ok(text.trim_end_matches('0').trim_end_matches('.').to_owned())
}

// ---- scanners -------------------------------------------------------------------------------

/// Does `seg` (which holds no `/`) match the convertor's regex in full? Built-ins only.
#[inline]
pub(crate) fn segment_matches(conv: &Convertor, seg: &[u8]) -> bool {
    let b = seg;
    match conv {
        Convertor::Str => !b.is_empty(),
        Convertor::Int => !b.is_empty() && b.iter().all(u8::is_ascii_digit),
        Convertor::Float => float_end(b, 0) == Some(b.len()),
        Convertor::Uuid => uuid_end(b, 0) == Some(b.len()),
        Convertor::Path => !b.contains(&b'\n'),
        Convertor::Custom(_) => false,
    }
}

/// The length of the run of ASCII digits at `start`.
#[inline]
fn digits(b: &[u8], start: usize) -> usize {
    b.get(start..).map_or(0, |rest| {
        rest.iter().take_while(|c| c.is_ascii_digit()).count()
    })
}

/// The greedy end of `[0-9]+(\.[0-9]+)?` at `start`.
fn float_end(b: &[u8], start: usize) -> Option<usize> {
    let int = digits(b, start);
    if int == 0 {
        return None;
    }
    let dot = start + int;
    if b.get(dot) == Some(&b'.') {
        let frac = digits(b, dot + 1);
        if frac > 0 {
            return Some(dot + 1 + frac);
        }
    }
    Some(dot)
}

/// The end of a uuid at `start`. Only one end is possible: a `-` can never be skipped.
pub(crate) fn uuid_end(b: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    for (i, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 && b.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let group = b.get(pos..pos + len)?;
        if !group.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        pos += len;
    }
    Some(pos)
}

/// The candidate ends of one built-in convertor at `start`, longest first, as a
/// backtracking regex engine tries them (greedy quantifiers).
#[derive(Debug)]
pub(crate) struct Candidates {
    kind: Kind,
    start: usize,
    /// The next end to offer (inclusive); `None` when exhausted.
    next: Option<usize>,
    /// For floats: the end of the integer part.
    int_end: usize,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Every char boundary in `start + min ..= max` is a candidate.
    Run {
        min: usize,
    },
    Float,
    Single,
}

impl Candidates {
    /// The candidates of `conv` (a built-in) at `start` in `text`.
    pub(crate) fn new(conv: &Convertor, text: &str, start: usize) -> Self {
        let b = text.as_bytes();
        let rest = b.get(start..).unwrap_or(&[]);
        let (kind, next, int_end) = match conv {
            Convertor::Str => {
                let run = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
                (Kind::Run { min: 1 }, (run > 0).then_some(start + run), 0)
            }
            Convertor::Path => {
                let run = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                (Kind::Run { min: 0 }, Some(start + run), 0)
            }
            Convertor::Int => {
                let run = digits(b, start);
                (Kind::Run { min: 1 }, (run > 0).then_some(start + run), 0)
            }
            Convertor::Float => {
                let int = digits(b, start);
                (Kind::Float, float_end(b, start), start + int)
            }
            Convertor::Uuid => (Kind::Single, uuid_end(b, start), 0),
            Convertor::Custom(_) => (Kind::Single, None, 0),
        };
        Self {
            kind,
            start,
            next,
            int_end,
        }
    }

    /// The next candidate end, or `None` when all were tried.
    pub(crate) fn next(&mut self, text: &str) -> Option<usize> {
        let end = self.next?;
        self.next = match self.kind {
            Kind::Single => None,
            Kind::Run { min } => {
                // Step back one char (never split a UTF-8 sequence).
                let mut prev = end.checked_sub(1);
                while let Some(p) = prev {
                    if text.is_char_boundary(p) {
                        break;
                    }
                    prev = p.checked_sub(1);
                }
                prev.filter(|&p| p >= self.start + min)
            }
            Kind::Float => {
                if end > self.int_end + 2 {
                    Some(end - 1)
                } else if end == self.int_end + 2 {
                    // `digits.` alone is not a float: skip to the integer part.
                    Some(self.int_end)
                } else {
                    Some(end - 1).filter(|&p| p > self.start)
                }
            }
        };
        Some(end)
    }
}
