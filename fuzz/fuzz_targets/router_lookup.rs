//! Differential: random route tables and paths, looked up by the prefix tree and by a
//! reference that scans the routes in order with each template translated to a regex, as
//! Starlette does with Python's `re` (`$` written `\n?\z`, which accepts the same ends).
//! The same idea as `tachyon-router/tests/property.rs`, driven by coverage instead, with
//! the same reference (`tachyon-router/tests/reference`).
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use regex::Regex;
use tachyon_router::Scope;

#[path = "../../tachyon-router/tests/reference/mod.rs"]
mod reference;

use reference::{KINDS, PATH_PIECES, Spec, build, compile, ours, reference};

const LITERALS: &[&str] = &["", "a", "b", "ab", "1", "x.y", "-", "é", "%", ".."];
const CONVERTORS: &[&str] = &["", ":str", ":int", ":float", ":uuid", ":path"];

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
            out.push_str(u.choose(PATH_PIECES)?);
        }
    }
    Ok(out)
}

thread_local! {
    /// Compiled reference regexes by template: compiling dominates an execution otherwise.
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// The reference regex of `template`, cached.
fn cached_regex(template: &str) -> Regex {
    REGEXES.with(|cache| {
        cache
            .borrow_mut()
            .entry(template.to_owned())
            .or_insert_with(|| reference::reference_regex(template))
            .clone()
    })
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let mut specs = Vec::new();
    for _ in 0..u.int_in_range(1..=6)? {
        specs.push(Spec {
            template: template(u)?,
            kind: *u.choose(&KINDS)?,
        });
    }
    let router = build(&specs);
    let regexes = compile(&specs, cached_regex);
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
