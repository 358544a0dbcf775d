//! Lookups: which route wins, its params, 405s, redirects, mounts, hosts, regex quirks.

use tachyon_router::{
    Convertors, Lookup, Match, OpaqueMatch, Route, RouteKind, Router, Scope, Winner,
};

fn router(routes: Vec<Route>) -> Router {
    let mut r = Router::new();
    for route in routes {
        r.push(route);
    }
    r
}

fn http(t: &str) -> Route {
    Route::http(t).unwrap()
}

fn full<'r, 'p>(r: &'r Router, scope: &Scope<'p>) -> Match<'r, 'p> {
    match r.lookup(scope) {
        Lookup::Full(m) => m,
        other => panic!("expected a full match for {scope:?}, got {other:?}"),
    }
}

fn get<'r, 'p>(r: &'r Router, path: &'p str) -> Match<'r, 'p> {
    full(r, &Scope::http("GET", path))
}

fn params(m: &Match<'_, '_>) -> Vec<(String, String)> {
    m.params
        .iter()
        .map(|p| (p.name.to_owned(), p.value.to_owned()))
        .collect()
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn missing(r: &Router, path: &str) {
    assert!(
        matches!(r.lookup(&Scope::http("GET", path)), Lookup::NotFound),
        "{path:?} should not match"
    );
}

#[test]
fn each_convertor() {
    let r = router(vec![
        http("/s/{v}"),
        http("/i/{v:int}"),
        http("/f/{v:float}"),
        http("/u/{v:uuid}"),
        http("/p/{v:path}"),
    ]);
    assert_eq!(params(&get(&r, "/s/a b%20é")), p(&[("v", "a b%20é")]));
    missing(&r, "/s/");
    missing(&r, "/s/a/b");
    assert_eq!(params(&get(&r, "/i/0042")), p(&[("v", "0042")]));
    missing(&r, "/i/-1");
    missing(&r, "/i/1.5");
    missing(&r, "/i/");
    assert_eq!(params(&get(&r, "/f/1.50")), p(&[("v", "1.50")]));
    assert_eq!(params(&get(&r, "/f/3")), p(&[("v", "3")]));
    missing(&r, "/f/1.");
    missing(&r, "/f/.5");
    missing(&r, "/f/1e5");
    let uuid = "0d5c1bd5-3f29-4b9e-9e59-c6b1f0e6c8a2";
    assert_eq!(params(&get(&r, &format!("/u/{uuid}"))), p(&[("v", uuid)]));
    assert_eq!(
        params(&get(&r, "/u/0D5C1BD53F294B9E9E59C6B1F0E6C8A2")),
        p(&[("v", "0D5C1BD53F294B9E9E59C6B1F0E6C8A2")])
    );
    assert_eq!(
        params(&get(&r, "/u/0d5c1bd53f29-4b9e9e59c6b1f0e6c8a2")).len(),
        1
    );
    missing(&r, "/u/0d5c1bd5-3f29-4b9e-9e59-c6b1f0e6c8a");
    missing(&r, "/u/0d5c1bd5--3f29-4b9e-9e59-c6b1f0e6c8a2");
    assert_eq!(params(&get(&r, "/p/a/b/c.txt")), p(&[("v", "a/b/c.txt")]));
    assert_eq!(params(&get(&r, "/p/")), p(&[("v", "")]));
    missing(&r, "/p");
}

#[test]
fn first_declared_wins_not_most_specific() {
    let r = router(vec![
        http("/users/{name}"),
        http("/users/me"),
        http("/{a}/{b}"),
        http("/users/{id:int}"),
    ]);
    // The general route declared first beats the later, more specific ones.
    assert_eq!(get(&r, "/users/me").index, 0);
    assert_eq!(get(&r, "/users/42").index, 0);
    assert_eq!(get(&r, "/other/42").index, 2);
}

#[test]
fn later_static_loses_to_earlier_path_param() {
    let r = router(vec![http("/{rest:path}"), http("/api/users")]);
    assert_eq!(get(&r, "/api/users").index, 0);
}

#[test]
fn partial_and_get_implies_head() {
    let r = router(vec![
        http("/items").with_methods(["post"]),
        http("/items").with_methods(["GET"]),
        http("/only-put").with_methods(["PUT"]),
        http("/any"),
        http("/empty").with_methods(Vec::<String>::new()),
    ]);
    assert_eq!(full(&r, &Scope::http("POST", "/items")).index, 0);
    assert_eq!(full(&r, &Scope::http("GET", "/items")).index, 1);
    assert_eq!(full(&r, &Scope::http("HEAD", "/items")).index, 1);
    assert!(matches!(
        r.lookup(&Scope::http("DELETE", "/items")),
        Lookup::Partial(0)
    ));
    assert!(matches!(
        r.lookup(&Scope::http("GET", "/only-put")),
        Lookup::Partial(2)
    ));
    assert_eq!(full(&r, &Scope::http("BREW", "/any")).index, 3);
    // An empty method set is falsy in Starlette: any method.
    assert_eq!(full(&r, &Scope::http("PATCH", "/empty")).index, 4);
    let methods: Vec<_> = r.routes()[1].methods().unwrap().collect();
    assert_eq!(methods, ["GET", "HEAD"]);
}

#[test]
fn full_at_higher_index_beats_partial() {
    let r = router(vec![
        http("/x/{id:int}").with_methods(["POST"]),
        http("/x/{name}").with_methods(["GET"]),
    ]);
    assert_eq!(get(&r, "/x/1").index, 1);
    assert!(matches!(
        r.lookup(&Scope::http("PUT", "/x/1")),
        Lookup::Partial(0)
    ));
}

#[test]
fn websocket_routes_only_match_websockets() {
    let r = router(vec![Route::websocket("/ws").unwrap(), http("/ws")]);
    assert_eq!(full(&r, &Scope::websocket("/ws")).index, 0);
    assert_eq!(get(&r, "/ws").index, 1);
    let r = router(vec![http("/ws").with_methods(["GET"])]);
    assert!(matches!(
        r.lookup(&Scope::websocket("/ws")),
        Lookup::NotFound
    ));
}

#[test]
fn redirect_slashes() {
    let r = router(vec![
        http("/a"),
        http("/b/"),
        http("/c").with_methods(["POST"]),
    ]);
    let check = |path| r.redirect_slash_matches(&Scope::http("GET", path));
    assert!(check("/a/"));
    assert!(check("/a///"));
    assert!(check("/b"));
    assert!(!check("/b/"));
    // A PARTIAL match is enough for the redirect.
    assert!(check("/c/"));
    assert!(!check("/"));
    assert!(!check("/zzz"));
}

#[test]
fn mounts_split_the_path() {
    let r = router(vec![
        Route::mount("/static/").unwrap(),
        Route::mount("/users/{uid:int}").unwrap(),
        Route::mount("").unwrap(),
    ]);
    let m = get(&r, "/static/css/site.css");
    let mm = m.mount.unwrap();
    assert_eq!(
        (m.index, mm.matched, mm.remaining),
        (0, "/static", "/css/site.css")
    );
    assert_eq!(params(&m), p(&[("path", "/css/site.css")]));
    let m = get(&r, "/static/");
    assert_eq!(m.mount.unwrap().remaining, "/");
    // "/static" has no slash after the prefix: only the catch-all mount takes it.
    let m = get(&r, "/static");
    assert_eq!(
        (
            m.index,
            m.mount.unwrap().matched,
            m.mount.unwrap().remaining
        ),
        (2, "", "/static")
    );
    let m = get(&r, "/users/7/posts");
    assert_eq!(params(&m), p(&[("uid", "7"), ("path", "/posts")]));
    assert_eq!(m.mount.unwrap().matched, "/users/7");
    // Mounts match websockets too.
    assert_eq!(full(&r, &Scope::websocket("/static/x")).index, 0);
}

#[test]
fn mount_with_trailing_newline_keeps_python_arithmetic() {
    // re.match(r"^/static/(?P<path>.*)$", "/static/a\n") gives path="a";
    // matched_path = route_path[:-len("/a")] = "/static/".
    let r = router(vec![Route::mount("/static").unwrap()]);
    let m = get(&r, "/static/a\n");
    assert_eq!(m.mount.unwrap().remaining, "/a");
    assert_eq!(m.mount.unwrap().matched, "/static/");
}

#[test]
fn mount_child_router_is_reachable() {
    let child = router(vec![http("/item/{id:int}")]);
    let r = router(vec![Route::mount("/api").unwrap().with_child(child)]);
    let m = get(&r, "/api/item/3");
    let rest = m.mount.unwrap().remaining;
    let inner = get(m.route.child().unwrap(), rest);
    assert_eq!(params(&inner), p(&[("id", "3")]));
}

#[test]
fn hosts_match_case_insensitively_and_keep_case_in_params() {
    let r = router(vec![
        Route::host("{sub}.Example.org:8000").unwrap(),
        Route::host("api.example.org").unwrap(),
        http("/"),
    ]);
    let m = full(&r, &Scope::http("GET", "/").with_host("Docs.EXAMPLE.org"));
    assert_eq!((m.index, params(&m)), (0, p(&[("sub", "Docs")])));
    // The template's port is ignored.
    assert_eq!(
        full(&r, &Scope::http("GET", "/x").with_host("a.example.org")).index,
        0
    );
    // The first route wins even for a more specific host.
    assert_eq!(
        full(&r, &Scope::http("GET", "/").with_host("api.example.org")).index,
        0
    );
    assert_eq!(
        full(&r, &Scope::http("GET", "/").with_host("other.net")).index,
        2
    );
    assert_eq!(
        full(&r, &Scope::websocket("/").with_host("x.example.org")).index,
        0
    );
    // No host header: "" matches nothing here.
    assert_eq!(get(&r, "/").index, 2);
    // A bracketed (IPv6) tail keeps its colons.
    let r = router(vec![Route::host("[::1]").unwrap()]);
    assert_eq!(
        full(&r, &Scope::http("GET", "/").with_host("[::1]")).index,
        0
    );
}

#[test]
fn trailing_newline_quirk() {
    // Python's `$` matches before a final "\n".
    let r = router(vec![
        http("/users"),
        http("/n/{id:int}"),
        http("/s/{name}"),
        http("/p/{rest:path}"),
        http("/f/{a}.{b:int}"),
    ]);
    assert_eq!(get(&r, "/users\n").index, 0);
    missing(&r, "/users\n\n");
    missing(&r, "/users\nx");
    assert_eq!(params(&get(&r, "/n/12\n")), p(&[("id", "12")]));
    // `[^/]+` does match "\n", and greedily takes it.
    assert_eq!(params(&get(&r, "/s/ab\n")), p(&[("name", "ab\n")]));
    assert_eq!(params(&get(&r, "/s/a\nb")), p(&[("name", "a\nb")]));
    // `.` does not match "\n".
    assert_eq!(params(&get(&r, "/p/x/y\n")), p(&[("rest", "x/y")]));
    missing(&r, "/p/x\ny");
    assert_eq!(
        params(&get(&r, "/f/a.b.3\n")),
        p(&[("a", "a.b"), ("b", "3")])
    );
}

#[test]
fn trailing_newline_lowest_index_across_both_readings() {
    // Route 0 matches only "/x/5" (int), route 1 matches "/x/5\n" itself: 0 wins.
    let r = router(vec![http("/x/{i:int}"), http("/x/{s}")]);
    let m = get(&r, "/x/5\n");
    assert_eq!((m.index, params(&m)), (0, p(&[("i", "5")])));
    let r = router(vec![http("/x/{s}"), http("/x/{i:int}")]);
    let m = get(&r, "/x/5\n");
    assert_eq!((m.index, params(&m)), (0, p(&[("s", "5\n")])));
}

#[test]
fn greedy_params_inside_segments() {
    let r = router(vec![
        http("/files/{name}.{ext}"),
        http("/a/{p:path}/end"),
        http("/v{major:int}.{minor:int}/x"),
        http("/f/{x:float}{y:int}"),
        http("/pre-{id}-post"),
    ]);
    assert_eq!(
        params(&get(&r, "/files/a.b.c")),
        p(&[("name", "a.b"), ("ext", "c")])
    );
    assert_eq!(params(&get(&r, "/a/x/end/y/end")), p(&[("p", "x/end/y")]));
    assert_eq!(params(&get(&r, "/a//end")), p(&[("p", "")]));
    assert_eq!(
        params(&get(&r, "/v12.3/x")),
        p(&[("major", "12"), ("minor", "3")])
    );
    // float is greedy: "1.23" then int "4"; with "123": float "12", int "3".
    assert_eq!(
        params(&get(&r, "/f/1.234")),
        p(&[("x", "1.23"), ("y", "4")])
    );
    assert_eq!(params(&get(&r, "/f/123")), p(&[("x", "12"), ("y", "3")]));
    assert_eq!(params(&get(&r, "/pre-a-b-post")), p(&[("id", "a-b")]));
    missing(&r, "/files/abc");
}

#[test]
fn complex_routes_keep_declaration_order() {
    let r = router(vec![
        http("/x/{a}"),
        http("/x/{a}.{b}"),
        http("/y/{a}.{b}"),
        http("/y/{a}"),
    ]);
    assert_eq!(get(&r, "/x/1.2").index, 0);
    assert_eq!(get(&r, "/y/1.2").index, 2);
    assert_eq!(get(&r, "/y/12").index, 3);
}

#[test]
fn user_convertor_routes() {
    let mut convs = Convertors::new();
    convs.register("slug", "[a-z]+(-[a-z]+)*").unwrap();
    convs.register("any", "[^!]*").unwrap();
    let r = router(vec![
        Route::new(RouteKind::Http, "/post/{s:slug}", &convs).unwrap(),
        Route::new(RouteKind::Http, "/any/{a:any}", &convs).unwrap(),
        http("/post/{other}"),
    ]);
    assert_eq!(
        params(&get(&r, "/post/hello-world")),
        p(&[("s", "hello-world")])
    );
    assert_eq!(get(&r, "/post/Hello").index, 2);
    // A user regex may match "/" (and this one "\n", greedily, as in Python).
    assert_eq!(params(&get(&r, "/any/a/b\n")), p(&[("a", "a/b\n")]));
    let m = &r.routes()[0].template().unwrap();
    assert_eq!(m.convertor("s").unwrap().name(), "slug");
}

#[test]
fn opaque_slots_take_an_index() {
    let r = router(vec![
        http("/a"),
        Route::opaque(),
        http("/b"),
        Route::opaque(),
    ]);
    assert_eq!(get(&r, "/b").index, 2);
    assert_eq!(r.opaque(), [1, 3]);
}

/// `r.resolve_with(scope)` with each opaque route answering `answer(index)`: the indexes
/// asked, and the winner as (what won, its index).
fn resolve(
    r: &Router,
    scope: &Scope<'_>,
    answer: &dyn Fn(usize) -> OpaqueMatch<usize>,
) -> (Vec<usize>, (&'static str, usize)) {
    let mut asked = Vec::new();
    let winner = r
        .resolve_with(scope, |i| {
            asked.push(i);
            Ok::<_, ()>(answer(i))
        })
        .unwrap();
    let winner = match winner {
        Winner::Native(Lookup::Full(m)) => ("native full", m.index),
        Winner::Native(Lookup::Partial(i)) => ("native partial", i),
        Winner::Native(Lookup::NotFound) => ("none", usize::MAX),
        Winner::Opaque { index, full, value } => {
            assert_eq!(index, value);
            (
                if full {
                    "opaque full"
                } else {
                    "opaque partial"
                },
                index,
            )
        }
    };
    (asked, winner)
}

/// Which opaque routes `resolve_with` asks, and the winner, for each answer they give.
#[test]
fn opaque_routes_are_asked_in_order_before_the_native_winner() {
    let r = router(vec![
        Route::opaque(),
        http("/a").with_methods(["POST"]),
        Route::opaque(),
        http("/a"),
        Route::opaque(),
    ]);
    let get = Scope::http("GET", "/a");
    let none = |_| OpaqueMatch::None;
    let full_at_2 = |i| match i {
        2 => OpaqueMatch::Full(i),
        _ => OpaqueMatch::None,
    };
    // Only those before the native FULL (index 3) are asked.
    assert_eq!(resolve(&r, &get, &none), (vec![0, 2], ("native full", 3)));
    assert_eq!(
        resolve(&r, &get, &full_at_2),
        (vec![0, 2], ("opaque full", 2))
    );
    // A PARTIAL never beats a native FULL.
    assert_eq!(
        resolve(&r, &get, &OpaqueMatch::Partial),
        (vec![0, 2], ("native full", 3))
    );

    // No native FULL: every opaque route is asked; the lower PARTIAL wins.
    let delete = Scope::http("DELETE", "/a");
    let native_first = router(vec![http("/a").with_methods(["POST"]), Route::opaque()]);
    assert_eq!(
        resolve(&native_first, &delete, &OpaqueMatch::Partial),
        (vec![1], ("native partial", 0))
    );
    let opaque_first = router(vec![Route::opaque(), http("/a").with_methods(["POST"])]);
    assert_eq!(
        resolve(&opaque_first, &delete, &OpaqueMatch::Partial),
        (vec![0], ("opaque partial", 0))
    );
    // No native match at all.
    let other = Scope::http("GET", "/b");
    assert_eq!(
        resolve(&opaque_first, &other, &OpaqueMatch::Partial),
        (vec![0], ("opaque partial", 0))
    );
    assert_eq!(
        resolve(&opaque_first, &other, &none),
        (vec![0], ("none", usize::MAX))
    );
    // An error stops the search.
    let failed = opaque_first.resolve_with(&delete, |_| Err::<OpaqueMatch<()>, _>("boom"));
    assert_eq!(failed.unwrap_err(), "boom");
}

#[test]
fn static_lookup_among_many_routes() {
    let mut r = Router::new();
    for i in 0..1000 {
        r.push(http(&format!("/route{i}/x")));
    }
    r.push(http("/{a}/{b}"));
    assert_eq!(get(&r, "/route999/x").index, 999);
    assert_eq!(get(&r, "/route0/x").index, 0);
    assert_eq!(get(&r, "/route1000/x").index, 1000);
}

/// Guards the segment scan and the static edges' word compares (prefix word, length, then
/// the text past 8 bytes), in small nodes and in hashed ones, against near misses.
#[test]
fn long_and_near_miss_static_segments() {
    let keys = [
        "abcdefgh",
        "abcdefghi",
        "abcdefghijklmnop",
        "abcdefghijklmnoq",
        "abcdefghijklmnopq",
        "abc",
        "abcdefg",
        "\u{e9}t\u{e9}-caf\u{e9}",
    ];
    for extra in [0usize, 20] {
        let mut r = Router::new();
        for k in keys {
            r.push(http(&format!("/{k}/{k}")));
        }
        // Push the root node past the linear-scan size into a hash table.
        for i in 0..extra {
            r.push(http(&format!("/filler-{i}-segment/{i}")));
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(get(&r, &format!("/{k}/{k}")).index, i, "{k}");
            missing(&r, &format!("/{k}/{k}x"));
            missing(&r, &format!("/{k}x/{k}"));
        }
        for path in [
            "/abcdefgh/abcdefghijklmnoq",
            "/abcdefgha/abcdefgha",
            "/abcdefghijklmnoz/abcdefghijklmnoz",
            "/abcdefghijklmno/abcdefghijklmno",
            "/abcdefg\0/abcdefg\0",
            "/abc\0/abc",
            "/",
            "//",
            "/abcdefgh/",
        ] {
            missing(&r, path);
        }
    }
}

#[test]
fn hostile_paths_do_not_panic_or_hang() {
    let r = router(vec![
        http("/{a}{b}{c}{d}{e}{f}x"),
        http("/{a:path}{b:path}{c:path}y"),
        http("/é/{x}"),
        Route::mount("/m").unwrap(),
    ]);
    let long = format!("/{}", "a".repeat(3000));
    missing(&r, &long);
    let long = format!("/{}", "é".repeat(2000));
    missing(&r, &long);
    for path in [
        "",
        "x",
        "/",
        "//",
        "/é/é",
        "/%",
        "/\n",
        "\n",
        "/m",
        "/\u{0}/\r\n",
        "/é/\n",
    ] {
        let _ = r.lookup(&Scope::http("GET", path));
        let _ = r.redirect_slash_matches(&Scope::http("GET", path));
    }
    assert_eq!(get(&r, "/é/ü").index, 2);
    // Long inputs take the linear-time guard; results are the same.
    let long = format!("/{}x", "a".repeat(3000));
    assert_eq!(get(&r, &long).params.get("f"), Some("a"));
}

#[test]
fn static_index_respects_earlier_param_routes() {
    // Guards the whole-path static index: a hit there must not skip an earlier route.
    let r = router(vec![
        http("/a").with_methods(["POST"]),
        http("/{x}"),
        http("/a").with_methods(["GET"]),
        http("/b"),
        http("/c/{y}.{z}"),
        http("/c/d.e"),
    ]);
    assert_eq!(get(&r, "/a").index, 1);
    assert_eq!(full(&r, &Scope::http("POST", "/a")).index, 0);
    assert_eq!(get(&r, "/b").index, 1);
    assert_eq!(get(&r, "/c/d.e").index, 4);
    let r = router(vec![http("/b").with_methods(["POST"]), http("/b/")]);
    assert!(matches!(
        r.lookup(&Scope::http("GET", "/b")),
        Lookup::Partial(0)
    ));
    let r = router(vec![Route::host("h.org").unwrap(), http("/b")]);
    assert_eq!(
        full(&r, &Scope::http("GET", "/b").with_host("h.org")).index,
        0
    );
    assert_eq!(
        full(&r, &Scope::http("GET", "/b").with_host("x.org")).index,
        1
    );
}

/// `Route::match_alone` and `Router::params_of` check templates without parameters too
/// (the lookup's shortcut for them assumed the tree had already matched).
#[test]
fn a_route_matched_alone_checks_its_literal_template() {
    let host = Route::host("example.org").unwrap();
    assert!(
        host.match_alone(&Scope::http("GET", "/").with_host("example.org"))
            .is_some()
    );
    assert!(
        host.match_alone(&Scope::http("GET", "/").with_host("other.org"))
            .is_none()
    );
    let route = Route::http("/static").unwrap();
    assert!(route.match_alone(&Scope::http("GET", "/static")).is_some());
    assert!(route.match_alone(&Scope::http("GET", "/other")).is_none());
    let router = Router::new().with(Route::http("/a").unwrap());
    assert!(router.params_of(0, &Scope::http("GET", "/b")).is_none());
    let mount = Route::mount("/m").unwrap();
    let m = mount.match_alone(&Scope::http("GET", "/m/x/y")).unwrap();
    assert_eq!(
        m.mount.map(|m| (m.matched, m.remaining)),
        Some(("/m", "/x/y"))
    );
    assert!(mount.match_alone(&Scope::http("GET", "/mx")).is_none());
}
