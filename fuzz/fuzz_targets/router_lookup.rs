//! Differential: random route tables and paths, looked up by the prefix tree and by a
//! reference that scans the routes in order with each template translated to a regex, as
//! Starlette does with Python's `re` (`$` written `\n?\z`, which accepts the same ends).
//! The same idea as `tachyon-router/tests/property.rs`, driven by coverage instead.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use regex::Regex;
use tachyon_router::{Lookup, Route, Router, Scope};

const UUID: &str =
    "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}";
const LITERALS: &[&str] = &["", "a", "b", "ab", "1", "x.y", "-", "é", "%", ".."];
const CONVERTORS: &[&str] = &["", ":str", ":int", ":float", ":uuid", ":path"];
const PIECES: &[&str] = &[
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

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Kind {
    Any,
    Get,
    Post,
    Mount,
}

#[derive(Debug)]
struct Spec {
    template: String,
    kind: Kind,
}

/// A template of 1-3 segments; params are numbered p0, p1, ... so names never repeat.
fn template(u: &mut Unstructured<'_>) -> Result<String> {
    let mut out = String::new();
    let mut n = 0;
    let mut param = |u: &mut Unstructured<'_>, out: &mut String| -> Result<()> {
        out.push_str(&format!("{{p{n}{}}}", u.choose(CONVERTORS)?));
        n += 1;
        Ok(())
    };
    for _ in 0..u.int_in_range(1..=3)? {
        out.push('/');
        match u.int_in_range(0..=2)? {
            0 => out.push_str(u.choose(LITERALS)?),
            1 => param(u, &mut out)?,
            _ => {
                out.push_str(u.choose(LITERALS)?);
                param(u, &mut out)?;
                out.push_str(u.choose(LITERALS)?);
                param(u, &mut out)?;
                out.push_str(u.choose(LITERALS)?);
            }
        }
    }
    Ok(out)
}

fn path(u: &mut Unstructured<'_>) -> Result<String> {
    if u.arbitrary()? {
        // Any text at all.
        return Ok(format!("/{}", <&str>::arbitrary(u)?));
    }
    let mut out = String::new();
    for _ in 0..u.int_in_range(1..=4)? {
        out.push('/');
        for _ in 0..u.int_in_range(0..=2)? {
            out.push_str(u.choose(PIECES)?);
        }
    }
    Ok(out)
}

thread_local! {
    /// Compiled reference regexes by template: compiling dominates an execution otherwise.
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

fn reference_regex(template: &str) -> Regex {
    REGEXES.with(|cache| {
        cache
            .borrow_mut()
            .entry(template.to_owned())
            .or_insert_with(|| compile(template))
            .clone()
    })
}

fn compile(template: &str) -> Regex {
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

type Outcome = (String, Vec<(String, String)>, Option<(String, String)>);

fn reference(specs: &[Spec], regexes: &[Regex], method: &str, path: &str) -> Outcome {
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

fn ours(router: &Router, method: &str, path: &str) -> Outcome {
    match router.lookup(&Scope::http(method, path)) {
        Lookup::Full(m) => {
            let mut params: Vec<(String, String)> = m
                .params
                .iter()
                .map(|p| (p.name.to_owned(), p.value.to_owned()))
                .collect();
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

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut specs = Vec::new();
    for _ in 0..u.int_in_range(1..=6)? {
        specs.push(Spec {
            template: template(u)?,
            kind: u.arbitrary()?,
        });
    }
    let mut router = Router::new();
    for s in &specs {
        let route = match s.kind {
            Kind::Any => Route::http(&s.template).unwrap(),
            Kind::Get => Route::http(&s.template).unwrap().with_methods(["GET"]),
            Kind::Post => Route::http(&s.template).unwrap().with_methods(["POST"]),
            Kind::Mount => Route::mount(&s.template).unwrap(),
        };
        router.push(route);
    }
    let regexes: Vec<Regex> = specs
        .iter()
        .map(|s| match s.kind {
            Kind::Mount => format!("{}/{{path:path}}", s.template.trim_end_matches('/')),
            _ => s.template.clone(),
        })
        .map(|t| reference_regex(&t))
        .collect();
    for _ in 0..u.int_in_range(1..=5)? {
        let path = path(u)?;
        let method = if u.arbitrary()? { "GET" } else { "POST" };
        assert_eq!(
            ours(&router, method, &path),
            reference(&specs, &regexes, method, &path),
            "path {path:?}, routes {specs:?}"
        );
        if path != "/" {
            let other = if path.ends_with('/') {
                path.trim_end_matches('/').to_owned()
            } else {
                format!("{path}/")
            };
            let expect = reference(&specs, &regexes, method, &other).0 != "none";
            assert_eq!(
                router.redirect_slash_matches(&Scope::http(method, &path)),
                expect,
                "redirect for {path:?}, routes {specs:?}"
            );
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
