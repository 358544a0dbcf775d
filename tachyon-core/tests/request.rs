//! Request/Response wrappers over the `http` crate.
use bytes::Bytes;
use tachyon_core::multipart::{FormValue, Limits};
use tachyon_core::{Headers, Request, Response};

fn req(ct: &str, body: &'static [u8]) -> Request {
    Request::from_http(
        http::Request::builder()
            .method("POST")
            .uri("/submit?x=1")
            .header("content-type", ct)
            .body(Bytes::from_static(body))
            .unwrap(),
    )
}

#[test]
fn form_dispatches_on_content_type() {
    let r = req("application/x-www-form-urlencoded", b"a=1&b=%C3%A9");
    let f = r.form(Limits::default()).unwrap();
    assert!(matches!(&f.items[1].1, FormValue::Field(v) if v == "é"));

    let body = b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b--";
    let f = req("multipart/form-data; boundary=b", body)
        .form(Limits::default())
        .unwrap();
    assert!(matches!(&f.items[0].1, FormValue::Field(v) if v == "v"));

    let e = req("multipart/form-data", body)
        .form(Limits::default())
        .unwrap_err();
    assert_eq!(e.to_string(), "Missing boundary in multipart.");
    assert!(
        req("text/plain", b"x")
            .form(Limits::default())
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn url_falls_back_to_server_without_host() {
    let r = req("text/plain", b"");
    assert_eq!(
        r.url("https", Some(("10.0.0.1", Some(8443))))
            .unwrap()
            .as_str(),
        "https://10.0.0.1:8443/submit?x=1"
    );
    assert_eq!(r.url("http", None).unwrap().as_str(), "/submit?x=1");
}

#[test]
fn response_headers_follow_starlette_init_headers() {
    let r = Response::new(204, "", Some("application/json")).unwrap();
    assert_eq!(r.headers().get("content-length"), None);
    assert_eq!(
        r.headers().get_str("content-type").as_deref(),
        Some("application/json")
    );

    let h = Headers::from_pairs([("Content-Type", "text/html; charset=latin-1")]).unwrap();
    let r = Response::with_headers(200, "abc", Some("text/plain"), h).unwrap();
    let pairs: Vec<_> = r.headers().iter().collect();
    assert_eq!(
        pairs,
        [
            (&b"content-type"[..], &b"text/html; charset=latin-1"[..]),
            (b"content-length", b"3")
        ]
    );

    assert!(Response::new(200, "", Some("text/plain\r\nx: y")).is_err());
}

#[test]
fn response_into_http() {
    let mut r = Response::new(201, "ok", Some("text/plain")).unwrap();
    r.set_cookie(&tachyon_core::cookies::SetCookie::new("a", "b"))
        .unwrap();
    let h = r.into_http().unwrap();
    assert_eq!(h.status(), 201);
    assert_eq!(h.headers()["set-cookie"], "a=b; Path=/; SameSite=lax");
    assert_eq!(h.body(), &Bytes::from_static(b"ok"));
}
