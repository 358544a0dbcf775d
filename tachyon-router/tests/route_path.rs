//! `route_path` against Starlette 1.10's `get_route_path`.
use tachyon_router::route_path;

#[test]
fn matches_starlettes_get_route_path() {
    for (path, root, want) in [
        ("/a/b", "", "/a/b"),
        ("/a/b", "/a", "/b"),
        ("/a", "/a", ""),
        ("/ab", "/a", "/ab"),
        ("/a/b", "/a/", "/a/b"), // the rest does not start with "/": unchanged
        ("/b", "/a", "/b"),
        ("/a", "/a/b", "/a"),
        ("/é/x", "/é", "/x"),
    ] {
        assert_eq!(route_path(path, root), want, "{path:?} below {root:?}");
    }
}
