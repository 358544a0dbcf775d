//! urlsplit, URL.replace, query-param helpers, URL(scope=...) and Host parsing against
//! CPython 3.11 / Starlette 1.10 (tests/data/*.json).
mod common;
use common::*;
use serde_json::Value;
use tachyon_core::Url;
use tachyon_core::url::{UrlReplace, UrlScope, parse_host_header, urlsplit};

#[test]
fn urlsplit_matches_cpython() {
    for case in load("urlsplit.json") {
        let input = s(&case[0]);
        let want = &case[1];
        let got = urlsplit(input);
        if let Some(err) = want.get("error") {
            assert!(got.is_err(), "{input:?}: python raised {err}");
            continue;
        }
        let p = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let parts: Vec<&str> = want["parts"].as_array().unwrap().iter().map(s).collect();
        assert_eq!(
            [&*p.scheme, &*p.netloc, &*p.path, &*p.query, &*p.fragment],
            parts[..],
            "{input:?}"
        );
        assert_eq!(p.geturl(), s(&want["geturl"]), "{input:?}");
        assert_eq!(p.username(), opt_s(&want["username"]), "{input:?}");
        assert_eq!(p.password(), opt_s(&want["password"]), "{input:?}");
        assert_eq!(
            p.hostname().as_deref(),
            opt_s(&want["hostname"]),
            "{input:?}"
        );
        match (want.get("port"), p.port()) {
            (Some(Value::Null), Ok(None)) => {}
            (Some(n), Ok(Some(got))) => assert_eq!(n.as_u64(), Some(u64::from(got)), "{input:?}"),
            (None, Err(e)) => assert_eq!(e.to_string(), s(&want["port_error"]), "{input:?}"),
            (w, g) => panic!("{input:?}: port python {w:?} rust {g:?}"),
        }
    }
}

fn check(label: &str, want: &Value, got: Result<Url, tachyon_core::UrlError>) {
    match (want.get("ok"), got) {
        (Some(w), Ok(u)) => assert_eq!(u.as_str(), s(w), "{label}"),
        (None, Err(_)) => {}
        (w, g) => panic!("{label}: python {w:?} rust {g:?}"),
    }
}

#[test]
fn replace_matches_starlette() {
    for case in load("url_replace.json") {
        let base = Url::parse(s(&case[0])).expect("base parses");
        let kw = &case[1];
        let text = |k: &str| kw.get(k).map(|v| s(v).to_owned());
        let opt = |k: &str| kw.get(k).map(|v| v.as_str().map(str::to_owned));
        let r = UrlReplace {
            scheme: text("scheme"),
            netloc: text("netloc"),
            path: text("path"),
            query: text("query"),
            fragment: text("fragment"),
            username: opt("username"),
            password: opt("password"),
            hostname: text("hostname"),
            port: kw.get("port").map(|p| p.as_u64().map(|n| n as u16)),
        };
        check(&format!("{} {kw}", case[0]), &case[2], base.replace(r));
    }
}

#[test]
fn query_param_helpers_match_starlette() {
    for case in load("url_query.json") {
        let base = Url::parse(s(&case[0])).expect("base parses");
        let inc = pairs(&case[1]);
        // Python kwargs: a repeated key keeps its last value at its first position.
        let keys: Vec<&str> = case[2].as_array().unwrap().iter().map(s).collect();
        let label = format!("{} {} {:?}", case[0], case[1], keys);
        check(&label, &case[3], base.include_query_params(&inc));
        let mut dedup: Vec<(String, String)> = Vec::new();
        for (k, v) in &inc {
            match dedup.iter_mut().find(|(dk, _)| dk == k) {
                Some(slot) => slot.1 = v.clone(),
                None => dedup.push((k.clone(), v.clone())),
            }
        }
        check(&label, &case[4], base.replace_query_params(&dedup));
        check(&label, &case[5], base.remove_query_params(&keys));
    }
}

#[test]
fn from_scope_matches_starlette() {
    for case in load("url_scope.json") {
        let server = case[1]
            .as_array()
            .map(|a| (s(&a[0]), a[1].as_u64().map(|p| p as u16)));
        let qs = bytes(&case[3]);
        let host = (!case[4].is_null()).then(|| bytes(&case[4]));
        let scope = UrlScope {
            scheme: s(&case[0]),
            server,
            path: s(&case[2]),
            query_string: &qs,
            host_header: host.as_deref(),
        };
        check(&format!("{case:?}"), &case[5], Url::from_scope(&scope));
    }
}

#[test]
fn host_header_matches_starlette() {
    for case in load("host_header.json") {
        let input = s(&case[0]);
        let got = parse_host_header(input).map(|h| {
            (
                h.host.to_owned(),
                h.port.map(str::to_owned),
                h.is_valid_port(),
            )
        });
        let want = case[1].as_array().map(|a| {
            (
                s(&a[0]).to_owned(),
                a[1].as_str().map(str::to_owned),
                a[2].as_bool().unwrap(),
            )
        });
        assert_eq!(got, want, "{input:?}");
    }
}

#[test]
fn invalid_utf8_query_string_does_not_fail() {
    let scope = UrlScope {
        scheme: "http",
        server: None,
        path: "//x",
        query_string: b"a=\xff",
        host_header: None,
    };
    assert_eq!(
        Url::from_scope(&scope).unwrap().as_str(),
        "/%2Fx?a=\u{fffd}"
    );
}

/// `quote_path` and `split_address` (moved here from the RSGI binding) against the values
/// Python's `quote(path, safe="/:@!$&'()*+,;=-._~")` and `rpartition(":")` give.
#[test]
fn rsgi_path_and_address_rules() {
    use tachyon_core::url::{quote_path, split_address};
    for (path, want) in [
        ("/a b/\u{e9}", "/a%20b/%C3%A9"),
        ("/%41?#x", "/%2541%3F%23x"),
        ("/\u{20ac}~!*", "/%E2%82%AC~!*"),
        ("/users/42", "/users/42"),
    ] {
        assert_eq!(quote_path(path), want);
    }
    for (text, want) in [
        ("127.0.0.1:8000", Some(("127.0.0.1", "8000"))),
        ("[::1]:8000", Some(("::1", "8000"))),
        ("sock", None),
        ("h:", None),
        ("h:12a", None),
        (
            "a:b:99999999999999999999999",
            Some(("a:b", "99999999999999999999999")),
        ),
    ] {
        assert_eq!(split_address(text), want, "{text:?}");
    }
}
