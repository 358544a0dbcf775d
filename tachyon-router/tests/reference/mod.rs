//! The reference matcher both differential checks compare the router with (the property
//! test, `tests/property.rs`, and the fuzz target, `fuzz/fuzz_targets/router_lookup.rs`,
//! which includes this file by path): the routes scanned in order, each template translated
//! to a regex as Starlette's `compile_path` does with Python's `re` (`$` written `\n?\z`,
//! which accepts the same end positions).

use regex::Regex;
use tachyon_router::{Lookup, Route, Router, Scope};

const UUID: &str =
    "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}";

/// What generated paths are made of (joined in segments by `/`; a piece may hold a `/`).
pub const PATH_PIECES: &[&str] = &[
    "a",
    "b",
    "ab",
    "1",
    "12",
    "1.5",
    ".",
    "x.y",
    "-",
    "",
    "\n",
    "é",
    "/",
    "%2F",
    "0d5c1bd5-3f29-4b9e-9e59-c6b1f0e6c8a2",
    "0d5c1bd53f294b9e9e59c6b1f0e6c8a2",
];

/// What a generated route is: an endpoint for any method, GET only or POST only, or a mount.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Any,
    Get,
    Post,
    Mount,
}

/// Every kind, for a generator to choose from.
pub const KINDS: [Kind; 4] = [Kind::Any, Kind::Get, Kind::Post, Kind::Mount];

/// A generated route: its template (params `{pN}` or `{pN:conv}`, names never repeated).
#[derive(Debug, Clone)]
pub struct Spec {
    pub template: String,
    pub kind: Kind,
}

/// Starlette's compile_path for path templates with built-in convertors only.
pub fn reference_regex(template: &str) -> Regex {
    let param = Regex::new(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?\}").unwrap();
    let mut out = String::from("^");
    let mut idx = 0;
    for caps in param.captures_iter(template) {
        let whole = caps.get(0).unwrap();
        out.push_str(&regex::escape(&template[idx..whole.start()]));
        let conv = caps.get(2).map_or("str", |m| &m.as_str()[1..]);
        let body = match conv {
            "str" => "[^/]+",
            "path" => ".*",
            "int" => "[0-9]+",
            "float" => r"[0-9]+(\.[0-9]+)?",
            "uuid" => UUID,
            _ => unreachable!(),
        };
        out.push_str(&format!("(?P<{}>{body})", &caps[1]));
        idx = whole.end();
    }
    out.push_str(&regex::escape(&template[idx..]));
    out.push_str(r"\n?\z");
    Regex::new(&out).unwrap()
}

/// The router under test, built from `specs` in order.
pub fn build(specs: &[Spec]) -> Router {
    let mut router = Router::new();
    for s in specs {
        let route = match s.kind {
            Kind::Any => Route::http(&s.template).unwrap(),
            Kind::Get => Route::http(&s.template).unwrap().with_methods(["GET"]),
            Kind::Post => Route::http(&s.template).unwrap().with_methods(["POST"]),
            Kind::Mount => Route::mount(&s.template).unwrap(),
        };
        router.push(route);
    }
    router
}

/// Each route's reference regex (a mount's template with `/{path:path}` appended), made by
/// `regex` (the fuzz target caches them).
pub fn compile(specs: &[Spec], mut regex: impl FnMut(&str) -> Regex) -> Vec<Regex> {
    specs
        .iter()
        .map(|s| match s.kind {
            Kind::Mount => format!("{}/{{path:path}}", s.template.trim_end_matches('/')),
            _ => s.template.clone(),
        })
        .map(|t| regex(&t))
        .collect()
}

/// A lookup's outcome: "full i", "partial i" or "none"; the params; a mount's
/// (remaining, matched).
pub type Outcome = (String, Vec<(String, String)>, Option<(String, String)>);

/// Starlette's ordered scan over the reference regexes.
pub fn reference(specs: &[Spec], regexes: &[Regex], method: &str, path: &str) -> Outcome {
    let mut partial = None;
    for (i, (s, re)) in specs.iter().zip(regexes).enumerate() {
        let Some(caps) = re.captures(path) else {
            continue;
        };
        let full = match s.kind {
            Kind::Any | Kind::Mount => true,
            Kind::Get => method == "GET" || method == "HEAD",
            Kind::Post => method == "POST",
        };
        if !full {
            partial.get_or_insert(i);
            continue;
        }
        let mut params: Vec<(String, String)> = re
            .capture_names()
            .flatten()
            .map(|n| (n.to_owned(), caps[n].to_owned()))
            .collect();
        let mut mount = None;
        if let Kind::Mount = s.kind {
            let remaining = format!("/{}", &caps["path"]);
            let matched = path[..path.len() - remaining.len()].to_owned();
            params.iter_mut().find(|(n, _)| n == "path").unwrap().1 = remaining.clone();
            mount = Some((remaining, matched));
        }
        return (format!("full {i}"), params, mount);
    }
    match partial {
        Some(i) => (format!("partial {i}"), vec![], None),
        None => ("none".to_owned(), vec![], None),
    }
}

/// The router's answer, in the reference's terms.
pub fn ours(router: &Router, method: &str, path: &str) -> Outcome {
    match router.lookup(&Scope::http(method, path)) {
        Lookup::Full(m) => {
            let mut params: Vec<(String, String)> = m
                .params
                .iter()
                .map(|p| (p.name.to_owned(), p.value.to_owned()))
                .collect();
            // The reference lists params in regex group order, which is template order.
            params.sort_by_key(|(n, _)| {
                m.route
                    .template()
                    .unwrap()
                    .params()
                    .position(|(k, _)| k == n)
            });
            let mount = m
                .mount
                .map(|mm| (mm.remaining.to_owned(), mm.matched.to_owned()));
            (format!("full {}", m.index), params, mount)
        }
        Lookup::Partial(i) => (format!("partial {i}"), vec![], None),
        Lookup::NotFound => ("none".to_owned(), vec![], None),
    }
}
