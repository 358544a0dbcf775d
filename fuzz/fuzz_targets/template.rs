//! Path templates as a user (or a hostile config) could write them: compiling any text must
//! return a route or an error, never panic; a compiled route must then answer lookups of
//! its own text and of arbitrary paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tachyon_router::{Route, Router, Scope, Template};

fuzz_target!(|data: (&str, &str)| {
    let (template, path) = data;
    let _ = Template::parse(template);
    let _ = Template::mount(template);
    let mut router = Router::new();
    for route in [
        Route::http(template),
        Route::websocket(template),
        Route::mount(template),
        Route::host(template),
    ]
    .into_iter()
    .flatten()
    {
        router.push(route);
    }
    for p in [template, path] {
        let _ = router.lookup(&Scope::http("GET", p));
        let _ = router.lookup(&Scope::websocket(p));
        let _ = router.lookup(&Scope::http("GET", p).with_host(path));
        let _ = router.redirect_slash_matches(&Scope::http("GET", p));
    }
    if let (Ok(t), Ok(route)) = (Template::parse(template), Route::http(template)) {
        let params: Vec<(String, String)> = t
            .params()
            .map(|(name, _)| (name.to_owned(), path.to_owned()))
            .collect();
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (&**k, &**v)).collect();
        let named = Router::new().with(route.with_name("r"));
        let _ = named.url_path_for("r", &params);
    }
});
