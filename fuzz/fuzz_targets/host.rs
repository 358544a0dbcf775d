//! The `Host` header: Starlette's `_HOST_RE` + `parse_host_header` over any text. An
//! accepted header is exactly `host[:port]`, its host holds no `/`, `?`, `#` or `@` (so it
//! cannot alter the URL built from it), and the URL built from a scope never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_core::url::{Url, UrlScope, parse_host_header};

fuzz_target!(|data: (&str, &str, Option<u16>)| {
    let (host, path, port) = data;
    if let Some(h) = parse_host_header(host) {
        assert_eq!(h.authority(), host);
        assert!(!h.host.contains(['/', '?', '#', '@', ' ']), "{host:?}");
        let _ = h.is_valid_port();
    }
    let scope = UrlScope {
        scheme: "http",
        server: Some(("127.0.0.1", port)),
        path,
        query_string: b"a=1",
        host_header: Some(host.as_bytes()),
    };
    let _ = Url::from_scope(&scope);
});
