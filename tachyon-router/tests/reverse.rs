//! Reverse routing: `url_path_for` as Starlette does it.

use tachyon_router::{Convertor, Protocol, ReverseError, Route, Router};

fn http(t: &str, name: &str) -> Route {
    Route::http(t).unwrap().with_name(name)
}

fn app() -> Router {
    let users = Router::new()
        .with(http("/", "list"))
        .with(http("/{id:int}", "detail"))
        .with(
            Route::websocket("/{id:int}/live")
                .unwrap()
                .with_name("live"),
        );
    let org = Router::new().with(http("/repos/{repo}", "repo"));
    let api = Router::new()
        .with(
            Route::mount("/users")
                .unwrap()
                .with_name("users")
                .with_child(users),
        )
        .with(
            Route::mount("/orgs/{org}")
                .unwrap()
                .with_name("orgs")
                .with_child(org),
        );
    let sub = Router::new().with(http("/page/{n:int}", "page"));
    Router::new()
        .with(http("/", "home"))
        .with(http("/files/{name}.{ext}", "file"))
        .with(http("/price/{p:float}", "price"))
        .with(http("/static/{path:path}", "static"))
        .with(Route::opaque())
        .with(
            Route::mount("/api")
                .unwrap()
                .with_name("api")
                .with_child(api),
        )
        .with(
            Route::mount("/unnamed")
                .unwrap()
                .with_child(Router::new().with(http("/x/{k}", "x"))),
        )
        .with(
            Route::host("{tenant}.example.org:8080")
                .unwrap()
                .with_name("tenant")
                .with_child(sub),
        )
}

fn path(r: &Router, name: &str, params: &[(&str, &str)]) -> String {
    r.url_path_for(name, params).unwrap().path
}

#[test]
fn plain_routes() {
    let r = app();
    assert_eq!(path(&r, "home", &[]), "/");
    assert_eq!(
        path(&r, "file", &[("ext", "txt"), ("name", "a.b")]),
        "/files/a.b.txt"
    );
    assert_eq!(path(&r, "price", &[("p", "2.50")]), "/price/2.5");
    assert_eq!(
        path(&r, "static", &[("path", "css/a.css")]),
        "/static/css/a.css"
    );
    let url = r.url_path_for("home", &[]).unwrap();
    assert_eq!((url.protocol, url.host.as_str()), (Protocol::Http, ""));
}

#[test]
fn parameter_set_must_match_exactly() {
    let r = app();
    let err = r.url_path_for("file", &[("name", "a")]).unwrap_err();
    assert_eq!(
        err,
        ReverseError::NoMatch {
            name: "file".into(),
            params: vec!["name".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        r#"No route exists for name "file" and params "name"."#
    );
    assert!(r.url_path_for("home", &[("x", "1")]).is_err());
    assert!(r.url_path_for("nope", &[]).is_err());
    // Duplicated names cannot happen with Python kwargs; here they are refused.
    assert!(
        r.url_path_for("file", &[("name", "a"), ("name", "b")])
            .is_err()
    );
}

#[test]
fn convertor_rules_apply() {
    let r = app();
    let err = r
        .url_path_for("file", &[("name", "a/b"), ("ext", "x")])
        .unwrap_err();
    assert_eq!(err.to_string(), "May not contain path separators");
    assert!(matches!(err, ReverseError::InvalidValue { ref param, .. } if param == "name"));
    assert_eq!(
        r.url_path_for("price", &[("p", "-1")])
            .unwrap_err()
            .to_string(),
        "Negative floats are not supported"
    );
    assert_eq!(
        path(&r, "api:users:detail", &[("id", "0042")]),
        "/api/users/42"
    );
    assert_eq!(
        r.url_path_for("api:users:detail", &[("id", "-1")])
            .unwrap_err()
            .to_string(),
        "Negative integers are not supported"
    );
}

#[test]
fn nested_mount_names() {
    let r = app();
    assert_eq!(path(&r, "api:users:list", &[]), "/api/users/");
    assert_eq!(
        path(&r, "api:orgs:repo", &[("org", "acme"), ("repo", "x")]),
        "/api/orgs/acme/repos/x"
    );
    let live = r.url_path_for("api:users:live", &[("id", "1")]).unwrap();
    assert_eq!(
        (live.path.as_str(), live.protocol),
        ("/api/users/1/live", Protocol::WebSocket)
    );
    // An unnamed mount passes the whole name through.
    assert_eq!(path(&r, "x", &[("k", "v")]), "/unnamed/x/v");
    assert!(r.url_path_for("api:nope", &[]).is_err());
}

#[test]
fn a_mounts_own_url() {
    let r = app();
    let url = r
        .url_path_for("api", &[("path", "/docs/index.html")])
        .unwrap();
    assert_eq!(
        (url.path.as_str(), url.protocol),
        ("/api/docs/index.html", Protocol::None)
    );
    assert_eq!(
        path(&r, "api:orgs", &[("org", "acme"), ("path", "x")]),
        "/api/orgs/acme/x"
    );
    // Extra params: no match.
    assert!(
        r.url_path_for("api", &[("path", "/"), ("zzz", "1")])
            .is_err()
    );
}

#[test]
fn hosts() {
    let r = app();
    let url = r
        .url_path_for("tenant:page", &[("tenant", "acme"), ("n", "3")])
        .unwrap();
    assert_eq!(
        (url.path.as_str(), url.host.as_str(), url.protocol),
        ("/page/3", "acme.example.org:8080", Protocol::Http)
    );
    let url = r
        .url_path_for("tenant", &[("tenant", "acme"), ("path", "/x")])
        .unwrap();
    assert_eq!(
        (url.path.as_str(), url.host.as_str()),
        ("/x", "acme.example.org:8080")
    );
}

#[test]
fn replacement_is_sequential_like_python_str_replace() {
    // Starlette replaces "{key}" in argument order, so a value can contain a later key.
    let r = Router::new().with(http("/{a}/{b}", "r"));
    assert_eq!(path(&r, "r", &[("a", "{b}"), ("b", "x")]), "/x/x");
    assert_eq!(path(&r, "r", &[("b", "x"), ("a", "{b}")]), "/{b}/x");
}

#[test]
fn values_of_any_type_through_a_callback() {
    let r = app();
    let mut calls = Vec::new();
    let url = r
        .url_path_for_with(
            "api:users:detail",
            &[("id", 7_i64)],
            &mut |conv: &Convertor, v: &i64| {
                calls.push(conv.name().to_owned());
                Ok(v.to_string())
            },
        )
        .unwrap();
    assert_eq!(url.path, "/api/users/7");
    // Only the route that is used converts its value.
    assert_eq!(calls, ["int"]);
}
