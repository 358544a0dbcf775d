//! Template compilation: syntax, convertors, errors.

use tachyon_router::{Convertor, Convertors, Route, RouteKind, Template, TemplateErrorKind};

fn kind(template: &str) -> TemplateErrorKind {
    Template::parse(template).unwrap_err().kind().clone()
}

#[test]
fn params_and_convertors_in_order() {
    let t = Template::parse("/a/{x}/{y:int}/{z:float}/{u:uuid}/{p:path}").unwrap();
    let names: Vec<_> = t
        .params()
        .map(|(n, c)| (n.to_owned(), c.name().to_owned()))
        .collect();
    assert_eq!(
        names,
        [
            ("x", "str"),
            ("y", "int"),
            ("z", "float"),
            ("u", "uuid"),
            ("p", "path")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(t.format(), "/a/{x}/{y}/{z}/{u}/{p}");
    assert!(!t.is_host());
}

#[test]
fn text_that_is_not_param_syntax_is_literal() {
    // Starlette's PARAM_REGEX does not match these, so they are plain text.
    for t in [
        "/a/{1x}", "/a/{}", "/a/{b-c}", "/a/}", "/a/{x:}", "/a/{x:1}", "/a/{ x}",
    ] {
        let t = Template::parse(t).unwrap();
        assert_eq!(t.params().len(), 0, "{}", t.as_str());
        assert_eq!(t.format(), t.as_str());
    }
}

#[test]
fn unclosed_brace_is_an_error() {
    for t in ["/a/{b", "/a/{b:int", "/a/{b:", "/{ok}/{b"] {
        assert_eq!(kind(t), TemplateErrorKind::UnclosedBrace, "{t}");
    }
    let err = Template::parse("/a/{b").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid path template "/a/{b": unclosed brace"#
    );
}

#[test]
fn unknown_convertor() {
    let err = Template::parse("/a/{b:nope}").unwrap_err();
    assert_eq!(
        err.kind(),
        &TemplateErrorKind::UnknownConvertor("nope".into())
    );
    assert_eq!(err.starlette_message(), "Unknown path convertor 'nope'");
    assert_eq!(
        err.to_string(),
        r#"invalid path template "/a/{b:nope}": unknown path convertor 'nope'"#
    );
}

#[test]
fn duplicated_params() {
    let err = Template::parse("/{b}/{a}/{b}/{a:int}/{b}").unwrap_err();
    assert_eq!(
        err.kind(),
        &TemplateErrorKind::DuplicateParams(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        err.starlette_message(),
        "Duplicated param names a, b at path /{b}/{a}/{b}/{a:int}/{b}"
    );
    let one = Template::parse("/{a}/{a}").unwrap_err();
    assert_eq!(
        one.starlette_message(),
        "Duplicated param name a at path /{a}/{a}"
    );
}

#[test]
fn route_kinds_check_the_leading_slash() {
    assert_eq!(
        Route::http("users").unwrap_err().kind(),
        &TemplateErrorKind::NotAbsolute
    );
    assert_eq!(
        Route::websocket("ws").unwrap_err().kind(),
        &TemplateErrorKind::NotAbsolute
    );
    assert_eq!(
        Route::host("/x").unwrap_err().kind(),
        &TemplateErrorKind::HostStartsWithSlash
    );
    assert_eq!(
        Route::mount("x").unwrap_err().kind(),
        &TemplateErrorKind::NotAbsolute
    );
    assert!(Route::mount("").is_ok());
    assert_eq!(Route::opaque().kind(), RouteKind::Opaque);
}

#[test]
fn mount_template_appends_path() {
    let t = Template::mount("/static/").unwrap();
    assert_eq!(t.as_str(), "/static/{path:path}");
    assert_eq!(t.format(), "/static/{path}");
    assert_eq!(Template::mount("").unwrap().as_str(), "/{path:path}");
}

#[test]
fn host_template_keeps_port_in_format() {
    let t = Template::parse("{sub}.example.org:8000").unwrap();
    assert!(t.is_host());
    assert_eq!(t.format(), "{sub}.example.org:8000");
}

#[test]
fn user_convertors() {
    let mut convs = Convertors::new();
    convs.register("slug", "[a-z0-9-]+").unwrap();
    assert!(convs.register("bad name", "x").is_err());
    assert!(convs.register("broken", "(").is_err());
    let t = Template::parse_with("/p/{s:slug}", &convs).unwrap();
    let (_, c) = t.params().next().unwrap();
    assert_eq!((c.name(), c.regex()), ("slug", "[a-z0-9-]+"));
    // Registering a built-in name shadows it.
    convs.register("int", "[0-9]{2}").unwrap();
    let t = Template::parse_with("/{i:int}", &convs).unwrap();
    assert!(matches!(t.convertor("i"), Some(Convertor::Custom(_))));
}

#[test]
fn arbitrary_text_never_panics() {
    for t in [
        "", "{", "}", "{{}}", "/%", "/\n{a}\n", "/é/{é}", "{a", "\u{0}", "/{a:path", "{:}",
    ] {
        let _ = Template::parse(t);
        let _ = Template::mount(t);
        let _ = Route::host(t);
    }
}

#[test]
fn to_url_string_follows_starlette() {
    assert_eq!(Convertor::Int.to_url_string("007").unwrap(), "7");
    assert_eq!(Convertor::Int.to_url_string("-0").unwrap(), "0");
    assert_eq!(
        Convertor::Int.to_url_string("-3").unwrap_err(),
        "Negative integers are not supported"
    );
    assert!(Convertor::Int.to_url_string("x").is_err());
    assert_eq!(Convertor::Float.to_url_string("1.5").unwrap(), "1.5");
    assert_eq!(Convertor::Float.to_url_string("2").unwrap(), "2");
    assert_eq!(
        Convertor::Float.to_url_string("0.1").unwrap(),
        "0.10000000000000000555"
    );
    assert_eq!(
        Convertor::Float.to_url_string("-1").unwrap_err(),
        "Negative floats are not supported"
    );
    assert_eq!(
        Convertor::Float.to_url_string("nan").unwrap_err(),
        "NaN values are not supported"
    );
    assert_eq!(
        Convertor::Float.to_url_string("inf").unwrap_err(),
        "Infinite values are not supported"
    );
    assert_eq!(
        Convertor::Str.to_url_string("a/b").unwrap_err(),
        "May not contain path separators"
    );
    assert_eq!(
        Convertor::Str.to_url_string("").unwrap_err(),
        "Must not be empty"
    );
    assert_eq!(Convertor::Path.to_url_string("a/b").unwrap(), "a/b");
}

#[test]
fn path_pattern_is_starlettes_compile_path_as_text() {
    use tachyon_router::PathPattern;
    let builtin = |name: &str| Convertors::new().get(name).map(|c| c.regex().to_owned());
    let p = PathPattern::compile("/a b/{x}-{y:int}/{rest:path}", builtin).unwrap();
    assert_eq!(
        p.regex(),
        r"^/a\ b/(?P<x>[^/]+)\-(?P<y>[0-9]+)/(?P<rest>.*)$"
    );
    assert_eq!(p.format(), "/a b/{x}-{y}/{rest}");
    let params: Vec<_> = p.params().collect();
    assert_eq!(params, [("x", "str"), ("y", "int"), ("rest", "path")]);
    // An IPv6 host keeps its brackets and port-less form; a port after it is dropped.
    let host = PathPattern::compile("[::1]:8000", builtin).unwrap();
    assert_eq!((host.regex(), host.ignore_case()), (r"^\[::1\]$", true));
    // The errors are Template's, with Starlette's messages.
    let err = PathPattern::compile("/{a}/{a:nope}", builtin).unwrap_err();
    assert_eq!(err.starlette_message(), "Unknown path convertor 'nope'");
    let err = PathPattern::compile("/{a}/{a}", builtin).unwrap_err();
    assert_eq!(
        err.starlette_message(),
        "Duplicated param name a at path /{a}/{a}"
    );
    let err = PathPattern::compile("/{a", builtin).unwrap_err();
    assert_eq!(err.starlette_message(), "Unclosed brace at path /{a");
}
