//! Reverse routing: Starlette's `url_path_for`, including `mount:child` names and hosts.

use crate::convertor::Convertor;
use crate::error::ReverseError;
use crate::route::{Route, RouteKind};
use crate::router::Router;
use crate::template::Template;

/// The protocol a reversed URL is for (Starlette's `URLPath.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `""`: a mount's own URL, or a host's.
    None,
    /// `"http"`.
    Http,
    /// `"websocket"`.
    WebSocket,
}

/// A reversed URL: Starlette's `URLPath` (a path, a protocol and maybe a host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPath {
    /// The path, e.g. `/users/42`.
    pub path: String,
    /// The protocol of the route that produced it.
    pub protocol: Protocol,
    /// The host, set by a named host route; empty otherwise.
    pub host: String,
}

/// Renders one value with one convertor: Starlette's `convertor.to_string(value)`.
pub type ToString<'f, V> = dyn FnMut(&Convertor, &V) -> Result<String, String> + 'f;

/// A parameter value on its way down: as given, or text a mount put there itself.
enum Val<'a, V> {
    Given(&'a V),
    Text(String),
}

type Args<'a, V> = Vec<(&'a str, Val<'a, V>)>;

impl Router {
    /// Starlette's `url_path_for(name, **params)` with values given as text.
    ///
    /// Each value goes through its convertor's [`Convertor::to_url_string`]: `int` and
    /// `float` text is parsed and re-printed canonically, `str` refuses `/` and `""`.
    /// Names must be unique. Opaque routes are skipped (a binding with opaque routes walks
    /// [`Router::routes`] itself and calls [`Route::url_path_for`] on the native ones).
    pub fn url_path_for(
        &self,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<UrlPath, ReverseError> {
        self.url_path_for_with(name, params, &mut |conv, v: &&str| conv.to_url_string(v))
    }

    /// Like [`Router::url_path_for`], with values of any type rendered by `to_string`, which
    /// is called only for the route that is used, in Starlette's order (a binding passes the
    /// Python objects and calls each convertor's own `to_string`).
    pub fn url_path_for_with<V>(
        &self,
        name: &str,
        params: &[(&str, V)],
        to_string: &mut ToString<'_, V>,
    ) -> Result<UrlPath, ReverseError> {
        let args = given(name, params)?;
        for route in self.routes() {
            match reverse(route, name, &args, to_string) {
                Err(ReverseError::NoMatch { .. }) => continue,
                other => return other,
            }
        }
        Err(ReverseError::no_match(name, params))
    }
}

impl Route {
    /// This route's part of `url_path_for`, values rendered by `to_string`.
    pub fn url_path_for<V>(
        &self,
        name: &str,
        params: &[(&str, V)],
        to_string: &mut ToString<'_, V>,
    ) -> Result<UrlPath, ReverseError> {
        reverse(self, name, &given(name, params)?, to_string)
    }
}

fn given<'a, V>(name: &str, params: &'a [(&'a str, V)]) -> Result<Args<'a, V>, ReverseError> {
    for (k, (key, _)) in params.iter().enumerate() {
        if params[..k].iter().any(|(other, _)| other == key) {
            return Err(ReverseError::no_match(name, params));
        }
    }
    Ok(params.iter().map(|(k, v)| (*k, Val::Given(v))).collect())
}

fn no_match<V>(name: &str, args: &Args<'_, V>) -> ReverseError {
    ReverseError::NoMatch {
        name: name.to_owned(),
        params: args.iter().map(|(k, _)| (*k).to_owned()).collect(),
    }
}

fn render<V>(
    conv: &Convertor,
    key: &str,
    value: &Val<'_, V>,
    to_string: &mut ToString<'_, V>,
) -> Result<String, ReverseError> {
    match value {
        Val::Given(v) => to_string(conv, v),
        Val::Text(t) => conv.to_url_string(t),
    }
    .map_err(|message| ReverseError::InvalidValue {
        param: key.to_owned(),
        message,
    })
}

/// Starlette's `replace_params`: substitutes each `{key}` present (in argument order, all
/// occurrences) and returns the text and the unused arguments.
fn replace_params<'a, V>(
    t: &Template,
    args: Args<'a, V>,
    to_string: &mut ToString<'_, V>,
) -> Result<(String, Args<'a, V>), ReverseError> {
    let mut text = t.format().to_owned();
    let mut rest = Vec::new();
    for (key, value) in args {
        let needle = format!("{{{key}}}");
        match t.convertor(key) {
            Some(conv) if text.contains(&needle) => {
                let rendered = render(conv, key, &value, to_string)?;
                text = text.replace(&needle, &rendered);
            }
            _ => rest.push((key, value)),
        }
    }
    Ok((text, rest))
}

fn clone_args<'a, V>(args: &Args<'a, V>) -> Args<'a, V> {
    args.iter()
        .map(|(k, v)| {
            let v = match v {
                Val::Given(g) => Val::Given(*g),
                Val::Text(t) => Val::Text(t.clone()),
            };
            (*k, v)
        })
        .collect()
}

/// The child name for `name` under a mount or host called `own` (`None`: not ours).
fn child_name<'n>(own: Option<&str>, name: &'n str) -> Option<&'n str> {
    match own {
        None => Some(name),
        Some(own) => name.strip_prefix(own)?.strip_prefix(':'),
    }
}

fn reverse<V>(
    route: &Route,
    name: &str,
    args: &Args<'_, V>,
    to_string: &mut ToString<'_, V>,
) -> Result<UrlPath, ReverseError> {
    let Some(t) = route.template() else {
        return Err(no_match(name, args));
    };
    let has_path = args.iter().any(|(k, _)| *k == "path");
    match route.kind() {
        RouteKind::Http | RouteKind::WebSocket => {
            let same_set = args.len() == t.params().len()
                && args.iter().all(|(k, _)| t.convertor(k).is_some());
            if route.name() != Some(name) || !same_set {
                return Err(no_match(name, args));
            }
            let (path, _) = replace_params(t, clone_args(args), to_string)?;
            let protocol = if route.kind() == RouteKind::Http {
                Protocol::Http
            } else {
                Protocol::WebSocket
            };
            Ok(UrlPath {
                path,
                protocol,
                host: String::new(),
            })
        }
        RouteKind::Mount => {
            if route.name().is_some() && route.name() == Some(name) && has_path {
                // The mount's own URL: `path` loses its leading slashes.
                let mut own = Args::new();
                for (k, v) in clone_args(args) {
                    let v = match (k, v) {
                        ("path", v) => {
                            let text = render(&Convertor::Path, k, &v, to_string)?;
                            Val::Text(text.trim_start_matches('/').to_owned())
                        }
                        (_, v) => v,
                    };
                    own.push((k, v));
                }
                let (path, rest) = replace_params(t, own, to_string)?;
                if rest.is_empty() {
                    return Ok(UrlPath {
                        path,
                        protocol: Protocol::None,
                        host: String::new(),
                    });
                }
                return Err(no_match(name, args));
            }
            let Some(child) = child_name(route.name(), name) else {
                return Err(no_match(name, args));
            };
            // `path_params["path"] = ""` keeps the key's place, or appends it.
            let mut prefix_args = Args::new();
            let mut path_kwarg = None;
            for (k, v) in clone_args(args) {
                if k == "path" {
                    path_kwarg = Some(v);
                    prefix_args.push((k, Val::Text(String::new())));
                } else {
                    prefix_args.push((k, v));
                }
            }
            if path_kwarg.is_none() {
                prefix_args.push(("path", Val::Text(String::new())));
            }
            let (prefix, mut rest) = replace_params(t, prefix_args, to_string)?;
            rest.retain(|(k, _)| *k != "path");
            if let Some(v) = path_kwarg {
                rest.push(("path", v));
            }
            let prefix = prefix.trim_end_matches('/');
            for sub in route.child().map(Router::routes).unwrap_or(&[]) {
                match reverse(sub, child, &rest, to_string) {
                    Ok(url) => {
                        return Ok(UrlPath {
                            path: format!("{prefix}{}", url.path),
                            protocol: url.protocol,
                            host: String::new(),
                        });
                    }
                    Err(ReverseError::NoMatch { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(no_match(name, args))
        }
        RouteKind::Host => {
            if route.name().is_some() && route.name() == Some(name) && has_path {
                let mut path = String::new();
                let mut others = Args::new();
                for (k, v) in clone_args(args) {
                    if k == "path" {
                        path = render(&Convertor::Path, k, &v, to_string)?;
                    } else {
                        others.push((k, v));
                    }
                }
                let (host, rest) = replace_params(t, others, to_string)?;
                if rest.is_empty() {
                    return Ok(UrlPath {
                        path,
                        protocol: Protocol::None,
                        host,
                    });
                }
                return Err(no_match(name, args));
            }
            let Some(child) = child_name(route.name(), name) else {
                return Err(no_match(name, args));
            };
            let (host, rest) = replace_params(t, clone_args(args), to_string)?;
            for sub in route.child().map(Router::routes).unwrap_or(&[]) {
                match reverse(sub, child, &rest, to_string) {
                    Ok(url) => {
                        return Ok(UrlPath {
                            path: url.path,
                            protocol: url.protocol,
                            host,
                        });
                    }
                    Err(ReverseError::NoMatch { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(no_match(name, args))
        }
        RouteKind::Opaque => Err(no_match(name, args)),
    }
}
