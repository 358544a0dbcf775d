//! Path and host templates: parsing `/users/{id:int}` as Starlette's `compile_path` does.

use std::sync::OnceLock;

use crate::convertor::{BUILTIN, Convertor, Convertors};
use crate::error::{TemplateError, TemplateErrorKind};

/// One piece of a compiled template.
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Text matched literally (case-insensitively in host templates).
    Literal(Box<str>),
    /// A parameter: an index into [`Template::params`].
    Param(usize),
}

/// A segment of a path template, as the prefix tree stores it.
#[derive(Debug, Clone)]
pub(crate) enum Seg {
    /// A whole segment of literal text.
    Static(Box<str>),
    /// A whole segment that is one `str`, `int`, `float` or `uuid` parameter.
    Param(usize),
    /// `{name:path}` as the whole last segment.
    Tail,
}

/// A compiled path or host template.
#[derive(Debug, Clone)]
pub struct Template {
    source: Box<str>,
    is_host: bool,
    pub(crate) pieces: Vec<Piece>,
    params: Vec<(Box<str>, Convertor)>,
    format: Box<str>,
    /// The tree form, when every segment has a shape the tree stores.
    pub(crate) segs: Option<Vec<Seg>>,
    /// The whole-template regex, only when a user convertor is used.
    pub(crate) regex: Option<regex::Regex>,
    /// The same regex for built-in shapes, built lazily for hostile inputs only.
    guard: OnceLock<Option<regex::Regex>>,
}

impl Template {
    /// Compiles a template with the built-in convertors only.
    ///
    /// A template starting with `/` matches paths; any other is a host template.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        Self::parse_with(template, &BUILTIN)
    }

    /// Compiles a template, looking convertor names up in `convertors`.
    pub fn parse_with(template: &str, convertors: &Convertors) -> Result<Self, TemplateError> {
        let Scanned {
            is_host,
            pieces,
            params,
            format,
        } = scan(template, |name| convertors.get(name))?;
        let uses_custom = params
            .iter()
            .any(|(_, c)| matches!(c, Convertor::Custom(_)));
        let regex = if uses_custom {
            Some(build_regex(template, &pieces, &params, is_host)?)
        } else {
            None
        };
        let segs = if is_host || uses_custom {
            None
        } else {
            tree_segments(&pieces, &params)
        };
        Ok(Self {
            source: template.into(),
            is_host,
            pieces,
            params,
            format,
            segs,
            regex,
            guard: OnceLock::new(),
        })
    }

    /// Compiles a mount's template: `prefix` without trailing `/`, then `/{path:path}`.
    pub fn mount(prefix: &str) -> Result<Self, TemplateError> {
        Self::mount_with(prefix, &BUILTIN)
    }

    /// Compiles a mount's template, looking convertor names up in `convertors`.
    pub fn mount_with(prefix: &str, convertors: &Convertors) -> Result<Self, TemplateError> {
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(TemplateError::new(prefix, TemplateErrorKind::NotAbsolute));
        }
        let full = format!("{}/{{path:path}}", prefix.trim_end_matches('/'));
        Self::parse_with(&full, convertors)
    }

    /// The template text as given (for mounts, with `/{path:path}` appended).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether this template matches hosts rather than paths.
    pub fn is_host(&self) -> bool {
        self.is_host
    }

    /// The parameters in template order, with their convertors.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &Convertor)> {
        self.params.iter().map(|(n, c)| (&**n, c))
    }

    /// The convertor of parameter `name`, if the template has it.
    pub fn convertor(&self, name: &str) -> Option<&Convertor> {
        self.params
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, c)| c)
    }

    /// Starlette's `path_format`: the template with `{name:conv}` written `{name}`.
    pub fn format(&self) -> &str {
        &self.format
    }

    pub(crate) fn param(&self, index: usize) -> (&str, &Convertor) {
        let (n, c) = &self.params[index];
        (n, c)
    }

    /// The literal text before the first parameter, if the template starts with text.
    pub(crate) fn pieces_text(&self) -> Option<&str> {
        match self.pieces.first() {
            Some(Piece::Literal(text)) => Some(text),
            _ => None,
        }
    }

    /// The linear-time regex form of this template (see `matcher::backtrack`).
    pub(crate) fn guard_regex(&self) -> Option<&regex::Regex> {
        self.guard
            .get_or_init(|| {
                build_regex(&self.source, &self.pieces, &self.params, self.is_host).ok()
            })
            .as_ref()
    }

    pub(crate) fn param_count(&self) -> usize {
        self.params.len()
    }
}

/// A template split into literal text and parameters, each parameter with what `lookup`
/// found for its convertor name (read by [`tokens`]), shared by [`Template::parse_with`]
/// and [`PathPattern::compile`].
struct Scanned<C> {
    is_host: bool,
    /// Literal text and parameters in order; a host template's literal tail has its
    /// `:port` dropped, as Starlette drops it from the regex.
    pieces: Vec<Piece>,
    params: Vec<(Box<str>, C)>,
    /// Starlette's `path_format`: the template with `{name:conv}` written `{name}`.
    format: Box<str>,
}

/// Reads `template` as Starlette's `compile_path` does (its `PARAM_REGEX`), with two
/// errors Starlette has (an unknown convertor, a duplicated name) and one it lacks: a
/// parameter whose closing brace is missing at the end of the template (Starlette would
/// take it as literal text, which never matches what the author meant).
fn scan<C>(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<C>,
) -> Result<Scanned<C>, TemplateError> {
    let is_host = !template.starts_with('/');
    let mut pieces = Vec::new();
    let mut params: Vec<(Box<str>, C)> = Vec::new();
    let mut format = String::with_capacity(template.len());
    let mut literal = String::new();
    let mut unclosed = false;
    for token in tokens(template) {
        match token {
            Token::Param { name, conv, .. } => {
                let conv_name = conv.unwrap_or("str");
                let Some(convertor) = lookup(conv_name) else {
                    return Err(TemplateError::new(
                        template,
                        TemplateErrorKind::UnknownConvertor(conv_name.to_owned()),
                    ));
                };
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal).into()));
                }
                pieces.push(Piece::Param(params.len()));
                params.push((name.into(), convertor));
                format.push('{');
                format.push_str(name);
                format.push('}');
            }
            Token::Text { text, opens } => {
                unclosed |= opens;
                literal.push_str(text);
                format.push_str(text);
            }
        }
    }

    let mut dups: Vec<String> = Vec::new();
    for (k, (name, _)) in params.iter().enumerate() {
        if params[..k].iter().any(|(n, _)| n == name) && !dups.iter().any(|d| **d == **name) {
            dups.push(name.to_string());
        }
    }
    if !dups.is_empty() {
        dups.sort();
        return Err(TemplateError::new(
            template,
            TemplateErrorKind::DuplicateParams(dups),
        ));
    }
    if unclosed {
        return Err(TemplateError::new(
            template,
            TemplateErrorKind::UnclosedBrace,
        ));
    }
    if is_host && !literal.ends_with(']') {
        // Starlette drops a `:port` from the host template's literal tail.
        if let Some(colon) = literal.rfind(':') {
            literal.truncate(colon);
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal.into()));
    }
    Ok(Scanned {
        is_host,
        pieces,
        params,
        format: format.into(),
    })
}

/// What Starlette's `compile_path` returns, as text: the regex source (Python syntax), the
/// format and each parameter's convertor name. The Python binding compiles the regex with
/// Python's `re` and looks the convertor objects up; the rule and its errors live here.
///
/// ```
/// use tachyon_router::PathPattern;
/// let p = PathPattern::compile("/users/{id:int}.json", |name| (name == "int").then_some("[0-9]+"))?;
/// assert_eq!(p.regex(), r"^/users/(?P<id>[0-9]+)\.json$");
/// assert_eq!(p.format(), "/users/{id}.json");
/// assert_eq!(p.params().collect::<Vec<_>>(), [("id", "int")]);
/// assert!(!p.ignore_case());
/// let host = PathPattern::compile("{sub}.example.org:8000", |_| Some("[^/]+"))?;
/// assert_eq!(host.regex(), r"^(?P<sub>[^/]+)\.example\.org$");
/// assert_eq!(host.format(), "{sub}.example.org:8000");
/// assert!(host.ignore_case());
/// # Ok::<(), tachyon_router::TemplateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    regex: String,
    format: Box<str>,
    params: Vec<(Box<str>, Box<str>)>,
    ignore_case: bool,
}

impl PathPattern {
    /// Compiles `template` as Starlette's `compile_path` does; `regex_of` gives the regex
    /// (Python syntax) of each convertor name, or None for a name that is not registered.
    pub fn compile<R: AsRef<str>>(
        template: &str,
        mut regex_of: impl FnMut(&str) -> Option<R>,
    ) -> Result<Self, TemplateError> {
        let scanned = scan(template, |name| {
            regex_of(name).map(|regex| (Box::<str>::from(name), Box::<str>::from(regex.as_ref())))
        })?;
        let mut regex = String::with_capacity(template.len() * 2);
        regex.push('^');
        for piece in &scanned.pieces {
            match piece {
                Piece::Literal(text) => python_re_escape(text, &mut regex),
                Piece::Param(i) => {
                    let (name, (_, convertor_regex)) = &scanned.params[*i];
                    regex.push_str("(?P<");
                    regex.push_str(name);
                    regex.push('>');
                    regex.push_str(convertor_regex);
                    regex.push(')');
                }
            }
        }
        regex.push('$');
        Ok(Self {
            regex,
            format: scanned.format,
            params: scanned
                .params
                .into_iter()
                .map(|(name, (convertor, _))| (name, convertor))
                .collect(),
            ignore_case: scanned.is_host,
        })
    }

    /// Starlette's `path_regex.pattern` (a host's `host_regex.pattern`).
    pub fn regex(&self) -> &str {
        &self.regex
    }

    /// Whether the regex is compiled case-insensitively (`re.IGNORECASE`): host templates.
    pub fn ignore_case(&self) -> bool {
        self.ignore_case
    }

    /// Starlette's `path_format`: the template with `{name:conv}` written `{name}`.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// Each parameter's name and convertor name, in template order.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, c)| (&**n, &**c))
    }
}

/// Appends `text` escaped as Python's `re.escape` escapes it (a backslash before each of
/// its special characters, every other character as is).
fn python_re_escape(text: &str, out: &mut String) {
    for ch in text.chars() {
        if matches!(
            ch,
            '\t' | '\n'
                | '\u{0b}'
                | '\u{0c}'
                | '\r'
                | ' '
                | '#'
                | '$'
                | '&'
                | '('
                | ')'
                | '*'
                | '+'
                | '-'
                | '.'
                | '?'
                | '['
                | '\\'
                | ']'
                | '^'
                | '{'
                | '|'
                | '}'
                | '~'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
}

/// `template` with each parameter's convertor name replaced by `rename(parameter name)`
/// (`Ok(None)` keeps the parameter as written), everything else as it stands: how a binding
/// gives convertors it registers under its own names to the route they belong to. Template
/// syntax is read as [`Template::parse_with`] and [`PathPattern::compile`] read it; the first
/// error `rename` returns is returned. Nothing is checked (an unknown convertor name, a
/// duplicated parameter): that is for the parse of the result.
///
/// ```
/// use tachyon_router::rename_convertors;
/// let renamed = rename_convertors("/{a}/{b:slug}/{c:int}", |name| {
///     Ok::<_, ()>((name != "c").then(|| format!("user_{name}")))
/// });
/// assert_eq!(renamed.unwrap(), "/{a:user_a}/{b:user_b}/{c:int}");
/// // Only `{name}` and `{name:conv}` are parameters; other braces are text.
/// assert_eq!(rename_convertors("/{1}/{a:}/{", |_| Ok::<_, ()>(Some("x".into()))).unwrap(), "/{1}/{a:}/{");
/// ```
pub fn rename_convertors<E>(
    template: &str,
    mut rename: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(template.len() + 16);
    for token in tokens(template) {
        match token {
            Token::Param { name, source, .. } => match rename(name)? {
                Some(convertor) => {
                    out.push('{');
                    out.push_str(name);
                    out.push(':');
                    out.push_str(&convertor);
                    out.push('}');
                }
                None => out.push_str(source),
            },
            Token::Text { text, .. } => out.push_str(text),
        }
    }
    Ok(out)
}

/// One piece of template text, as [`tokens`] reads it.
enum Token<'a> {
    /// `{name}` or `{name:conv}`; `source` is its text as written.
    Param {
        name: &'a str,
        conv: Option<&'a str>,
        source: &'a str,
    },
    /// One char of literal text; `opens` when it is a `{` that starts a parameter the
    /// template ends inside (its closing brace missing).
    Text { text: &'a str, opens: bool },
}

/// The template's parameters and literal chars in order: the one reading of template
/// syntax (Starlette's `PARAM_REGEX`, scanned left to right as `re.sub` does).
fn tokens(template: &str) -> impl Iterator<Item = Token<'_>> {
    let mut i = 0;
    std::iter::from_fn(move || {
        let rest = template.get(i..).filter(|rest| !rest.is_empty())?;
        let mut opens = false;
        if rest.starts_with('{') {
            match scan_param(template, i) {
                Scan::Param { name, conv, end } => {
                    let source = &template[i..end];
                    i = end;
                    return Some(Token::Param { name, conv, source });
                }
                Scan::Unclosed => opens = true,
                Scan::Literal => {}
            }
        }
        let ch_len = rest.chars().next().map_or(1, char::len_utf8);
        i += ch_len;
        Some(Token::Text {
            text: &rest[..ch_len],
            opens,
        })
    })
}

enum Scan<'a> {
    Param {
        name: &'a str,
        conv: Option<&'a str>,
        end: usize,
    },
    Unclosed,
    Literal,
}

/// Matches `{name(:conv)?}` at byte `start` (a `{`) like Starlette's PARAM_REGEX.
fn scan_param(t: &str, start: usize) -> Scan<'_> {
    let b = t.as_bytes();
    let ident = |from: usize| -> usize {
        let mut j = from;
        if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
            j += 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
        }
        j
    };
    let name_end = ident(start + 1);
    if name_end == start + 1 {
        return Scan::Literal;
    }
    let name = &t[start + 1..name_end];
    match b.get(name_end) {
        None => Scan::Unclosed,
        Some(b'}') => Scan::Param {
            name,
            conv: None,
            end: name_end + 1,
        },
        Some(b':') => {
            let conv_end = ident(name_end + 1);
            match b.get(conv_end) {
                None => Scan::Unclosed,
                Some(b'}') if conv_end > name_end + 1 => Scan::Param {
                    name,
                    conv: Some(&t[name_end + 1..conv_end]),
                    end: conv_end + 1,
                },
                _ => Scan::Literal,
            }
        }
        Some(_) => Scan::Literal,
    }
}

/// Splits a path template into tree segments, or `None` if some segment has another shape.
fn tree_segments(pieces: &[Piece], params: &[(Box<str>, Convertor)]) -> Option<Vec<Seg>> {
    // Regroup the pieces by `/` (parameter syntax can never contain a `/`).
    let mut segments: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pieces {
        match piece {
            Piece::Literal(text) => {
                for (k, part) in text.split('/').enumerate() {
                    if k > 0 {
                        segments.push(Vec::new());
                    }
                    if !part.is_empty() {
                        segments.last_mut()?.push(Piece::Literal(part.into()));
                    }
                }
            }
            Piece::Param(i) => segments.last_mut()?.push(Piece::Param(*i)),
        }
    }
    // The template starts with `/`, so the first group is empty.
    let count = segments.len();
    let mut out = Vec::with_capacity(count - 1);
    for (k, seg) in segments.into_iter().enumerate().skip(1) {
        let last = k == count - 1;
        out.push(match seg.as_slice() {
            [] => Seg::Static("".into()),
            [Piece::Literal(text)] => Seg::Static(text.clone()),
            [Piece::Param(i)] => match params[*i].1 {
                Convertor::Path if last => Seg::Tail,
                Convertor::Str | Convertor::Int | Convertor::Float | Convertor::Uuid => {
                    Seg::Param(*i)
                }
                _ => return None,
            },
            _ => return None,
        });
    }
    Some(out)
}

/// The whole-template regex for templates with user convertors.
fn build_regex(
    template: &str,
    pieces: &[Piece],
    params: &[(Box<str>, Convertor)],
    is_host: bool,
) -> Result<regex::Regex, TemplateError> {
    let mut re = String::from(if is_host { "(?i)^" } else { "^" });
    for piece in pieces {
        match piece {
            Piece::Literal(text) => re.push_str(&regex::escape(text)),
            Piece::Param(i) => {
                re.push_str(&format!("(?P<{}>", group_name(*i)));
                re.push_str(params[*i].1.regex());
                re.push(')');
            }
        }
    }
    // Python's `$` also matches before one final "\n".
    re.push_str(r"\n?\z");
    regex::Regex::new(&re)
        .map_err(|e| TemplateError::new(template, TemplateErrorKind::Regex(e.to_string())))
}

/// The regex group name of parameter `i` (never clashes with a Python identifier in use).
pub(crate) fn group_name(i: usize) -> String {
    format!("__tachyon_p{i}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convertor::is_identifier;

    #[test]
    fn identifier_rules() {
        assert!(is_identifier("_a1"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn segments_of_common_shapes() {
        let t = Template::parse("/users/{id:int}/{rest:path}").unwrap();
        let segs = t.segs.unwrap();
        assert!(matches!(segs[0], Seg::Static(ref s) if &**s == "users"));
        assert!(matches!(segs[1], Seg::Param(0)));
        assert!(matches!(segs[2], Seg::Tail));
        assert!(Template::parse("/f/{a}.{b}").unwrap().segs.is_none());
    }
}
