//! Property test: the tree (and its fallbacks) against the reference matcher of
//! `tests/reference` (the routes scanned in order, as Starlette does with Python's `re`).

use proptest::prelude::*;
use regex::Regex;
use tachyon_router::{Lookup, Route, Router, Scope, rename_convertors};

mod reference;

use reference::{KINDS, PATH_PIECES, Spec, build, compile, ours, reference, reference_regex};

fn segment() -> impl Strategy<Value = String> {
    let lit = prop::sample::select(vec!["", "a", "b", "ab", "1", "x.y", "-"]);
    let conv = prop::sample::select(vec!["", ":str", ":int", ":float", ":uuid", ":path"]);
    prop_oneof![
        4 => lit.clone().prop_map(|s: &str| s.to_owned()),
        4 => conv.clone().prop_map(|c: &str| format!("{{P{c}}}")),
        2 => (lit.clone(), conv.clone(), lit.clone(), conv, lit)
            .prop_map(|(a, c1, b, c2, d)| format!("{a}{{P{c1}}}{b}{{P{c2}}}{d}")),
    ]
}

/// A template with params numbered p0, p1, ... so names never repeat.
fn template() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..4).prop_map(|segs| {
        let joined = format!("/{}", segs.join("/"));
        let mut out = String::new();
        let mut n = 0;
        for part in joined.split('P') {
            if !out.is_empty() || joined.starts_with('P') {
                out.push_str(&format!("p{n}"));
                n += 1;
            }
            out.push_str(part);
        }
        out
    })
}

fn spec() -> impl Strategy<Value = Spec> {
    (template(), prop::sample::select(KINDS.to_vec()))
        .prop_map(|(template, kind)| Spec { template, kind })
}

fn path() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(PATH_PIECES);
    prop::collection::vec(prop::collection::vec(piece, 0..3), 1..5).prop_map(|segs| {
        let segs: Vec<String> = segs.into_iter().map(|s| s.concat()).collect();
        format!("/{}", segs.join("/"))
    })
}

/// A path built from a template by filling its params: makes hits likely.
fn filled(template: &str, fill: &[&str]) -> String {
    // Params are `{pN}` or `{pN:conv}`: the only braces the generator writes.
    let mut out = String::new();
    let mut k = 0;
    for (i, part) in template.split('{').enumerate() {
        if i == 0 {
            out.push_str(part);
            continue;
        }
        k += 1;
        out.push_str(fill[k % fill.len()]);
        out.push_str(part.split_once('}').map_or("", |(_, rest)| rest));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn tree_agrees_with_reference(
        specs in prop::collection::vec(spec(), 1..7),
        paths in prop::collection::vec(path(), 1..6),
        fill in prop::collection::vec(prop::sample::select(vec!["1", "a", "1.5", "a.b", "x/y", "0d5c1bd5-3f29-4b9e-9e59-c6b1f0e6c8a2", ""]), 1..4),
        pick in 0usize..7,
        newline in any::<bool>(),
        get in any::<bool>(),
    ) {
        let router = build(&specs);
        let regexes = compile(&specs, reference_regex);
        let method = if get { "GET" } else { "POST" };
        let mut all = paths;
        let mut hit = filled(&specs[pick % specs.len()].template, &fill);
        if newline {
            hit.push('\n');
        }
        all.push(hit);
        for path in &all {
            prop_assert_eq!(ours(&router, method, path), reference(&specs, &regexes, method, path), "path {:?}", path);
            // The redirect check is "does the other-slash form match anything".
            if path != "/" {
                let other = if path.ends_with('/') { path.trim_end_matches('/').to_owned() } else { format!("{path}/") };
                let expect = reference(&specs, &regexes, method, &other).0 != "none";
                prop_assert_eq!(router.redirect_slash_matches(&Scope::http(method, path)), expect);
            }
        }
    }

    #[test]
    fn hosts_agree_with_reference(
        sub in "[a-zA-Z]{1,3}",
        host in "[a-zA-Z.0-9]{0,12}",
        upper in any::<bool>(),
    ) {
        let template = format!("{{t}}.{sub}.org:80");
        let router = Router::new().with(Route::host(&template).unwrap());
        let re = Regex::new(&format!(r"(?i)^(?P<t>[^/]+)\.{}\.org\n?\z", regex::escape(&sub))).unwrap();
        let host = if upper { host.to_uppercase() } else { host };
        let expect = re.captures(&host).map(|c| c["t"].to_owned());
        let got = match router.lookup(&Scope::http("GET", "/").with_host(&host)) {
            Lookup::Full(m) => m.params.get("t").map(str::to_owned),
            _ => None,
        };
        prop_assert_eq!(got, expect);
    }

    /// `rename_convertors` reads parameters as Starlette's `PARAM_REGEX` does, which is how
    /// the Python side used to rename them (`PARAM_REGEX.sub`).
    #[test]
    fn renaming_agrees_with_param_regex(template in "[{}:/a_1 é.-]{0,24}") {
        let param = Regex::new(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?\}").unwrap();
        let rename = |name: &str| (name.len() % 2 == 1).then(|| format!("_user{}", name.len()));
        let expect = param.replace_all(&template, |caps: &regex::Captures<'_>| match rename(&caps[1]) {
            Some(conv) => format!("{{{}:{conv}}}", &caps[1]),
            None => caps[0].to_owned(),
        });
        let got = rename_convertors(&template, |name| Ok::<_, ()>(rename(name))).unwrap();
        prop_assert_eq!(got, expect.into_owned());
    }
}
