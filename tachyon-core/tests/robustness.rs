//! No parser panics on arbitrary input (a small deterministic fuzz over every entry point).
use tachyon_core::cookies::{cookie_parser, parse_cookie_header, unquote};
use tachyon_core::form::parse_urlencoded;
use tachyon_core::headers::find_first;
use tachyon_core::multipart::{Limits, parse_options_header};
use tachyon_core::query::{parse_qsl, parse_query_bytes, unquote_plus};
use tachyon_core::url::{Url, UrlScope, parse_host_header, urlsplit};
use tachyon_core::{Headers, QueryParams};

fn inputs() -> Vec<Vec<u8>> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let special = b"%&=+;:/?#[]@\\\"' \t\r\n\x00\x7fvV.-09aAfF";
    (0..5000)
        .map(|_| {
            let len = (next() % 40) as usize;
            (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        (r >> 8) as u8
                    } else {
                        special[(r >> 8) as usize % special.len()]
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn parsers_never_panic() {
    for raw in inputs() {
        let text: String = raw.iter().map(|&b| b as char).collect();
        let lossy = String::from_utf8_lossy(&raw);
        let _ = parse_qsl(&text);
        let _ = parse_qsl(&lossy);
        let _ = parse_query_bytes(&raw);
        let _ = unquote_plus(&text);
        let _ = QueryParams::from_bytes(&raw).to_string();
        let _ = cookie_parser(&text);
        let _ = parse_cookie_header(&raw);
        let _ = unquote(&text);
        let _ = parse_options_header(&text);
        let _ = parse_urlencoded(&raw, Limits::default());
        let _ = parse_host_header(&text);
        if let Ok(parts) = urlsplit(&text) {
            let _ = (
                parts.geturl(),
                parts.hostname(),
                parts.port(),
                parts.username(),
                parts.password(),
            );
        }
        if let Ok(u) = Url::parse(&lossy) {
            let _ = u.include_query_params(&[("a", "b")]);
            let _ = u.remove_query_params(&["a"]);
            let _ = u.replace(Default::default());
        }
        let scope = UrlScope {
            scheme: "http",
            server: Some((&lossy, Some(1))),
            path: &lossy,
            query_string: &raw,
            host_header: Some(&raw),
        };
        let _ = Url::from_scope(&scope);
        let mut h = Headers::from_raw(vec![(raw.clone().into(), raw.clone().into())]);
        let _ = h.get(&lossy);
        let _ = h.set(&text, &text);
        let _ = h.append_raw(&raw, &raw);
        let _ = h.setdefault(&lossy, &lossy).map(|v| v.into_owned());
        let _ = h.add_vary_header(&text);
        let _ = h.remove(&text);
        let _ = find_first(h.raw(), &lossy);
    }
}
