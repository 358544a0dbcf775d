//! Error types: one per failing operation, each with a plain Display text.

use std::fmt;

/// Why a path or host template was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateErrorKind {
    /// `{name:conv}` names a convertor that is neither built in nor registered.
    UnknownConvertor(String),
    /// The same parameter name appears more than once (names sorted, deduplicated).
    DuplicateParams(Vec<String>),
    /// A `{` starts a parameter name but the template ends before its `}`.
    UnclosedBrace,
    /// A route or mount path does not start with `/`.
    NotAbsolute,
    /// A host template starts with `/`.
    HostStartsWithSlash,
    /// A template using a user convertor did not compile to a regex.
    Regex(String),
}

/// A template that cannot be compiled, with the template text and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    template: String,
    kind: TemplateErrorKind,
}

impl TemplateError {
    pub(crate) fn new(template: &str, kind: TemplateErrorKind) -> Self {
        Self {
            template: template.to_owned(),
            kind,
        }
    }

    /// The reason, for callers that map each kind to their own exception.
    pub fn kind(&self) -> &TemplateErrorKind {
        &self.kind
    }

    /// The template that was rejected.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The message Starlette 1.10 raises for this error, where it raises one: what the
    /// Python binding raises (as `tachyon.routing.RouteTemplateError`).
    ///
    /// Unknown convertor: `Unknown path convertor 'x'` (an `AssertionError` there);
    /// duplicates: `Duplicated param name(s) a, b at path /p` (a `ValueError`). An unclosed
    /// brace, which Starlette reads as literal text, is worded as the duplicates are:
    /// `Unclosed brace at path /p/{x`. Other kinds get the same text as
    /// [`Display`](fmt::Display).
    pub fn starlette_message(&self) -> String {
        match &self.kind {
            TemplateErrorKind::UnknownConvertor(name) => {
                format!("Unknown path convertor '{name}'")
            }
            TemplateErrorKind::DuplicateParams(names) => {
                let ending = if names.len() > 1 { "s" } else { "" };
                format!(
                    "Duplicated param name{ending} {} at path {}",
                    names.join(", "),
                    self.template
                )
            }
            TemplateErrorKind::UnclosedBrace => format!("Unclosed brace at path {}", self.template),
            TemplateErrorKind::NotAbsolute => "Routed paths must start with '/'".to_owned(),
            TemplateErrorKind::HostStartsWithSlash => "Host must not start with '/'".to_owned(),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid path template {:?}: ", self.template)?;
        match &self.kind {
            TemplateErrorKind::UnknownConvertor(name) => {
                write!(f, "unknown path convertor '{name}'")
            }
            TemplateErrorKind::DuplicateParams(names) => {
                write!(f, "duplicated param name(s) {}", names.join(", "))
            }
            TemplateErrorKind::UnclosedBrace => f.write_str("unclosed brace"),
            TemplateErrorKind::NotAbsolute => f.write_str("must start with '/'"),
            TemplateErrorKind::HostStartsWithSlash => {
                f.write_str("a host template must not start with '/'")
            }
            TemplateErrorKind::Regex(msg) => write!(f, "regex error: {msg}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// A user convertor whose name or regex is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertorError {
    name: String,
    reason: String,
}

impl ConvertorError {
    pub(crate) fn new(name: &str, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConvertorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid path convertor {:?}: {}", self.name, self.reason)
    }
}

impl std::error::Error for ConvertorError {}

/// Why reverse routing (`url_path_for`) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReverseError {
    /// No route has this name and exactly this parameter set (Starlette's `NoMatchFound`).
    NoMatch {
        /// The name that was asked for.
        name: String,
        /// The parameter names that were given, in the order given.
        params: Vec<String>,
    },
    /// A convertor refused a value (Starlette raises `AssertionError` with this text).
    InvalidValue {
        /// The parameter whose value was refused.
        param: String,
        /// The convertor's message, e.g. `Negative integers are not supported`.
        message: String,
    },
}

impl ReverseError {
    pub(crate) fn no_match<V>(name: &str, params: &[(&str, V)]) -> Self {
        Self::NoMatch {
            name: name.to_owned(),
            params: params.iter().map(|(k, _)| (*k).to_owned()).collect(),
        }
    }
}

impl fmt::Display for ReverseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Starlette's NoMatchFound text, word for word.
            Self::NoMatch { name, params } => write!(
                f,
                "No route exists for name \"{name}\" and params \"{}\".",
                params.join(", ")
            ),
            Self::InvalidValue { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for ReverseError {}
