//! The Tachyon Engine router: Starlette's routing semantics over a prefix tree, in pure Rust.
//!
//! Routes are tried as Starlette tries them — the first route in declaration order that
//! matches wins, a path match with the wrong method is a PARTIAL match (405), GET implies
//! HEAD — but a lookup walks a tree of path segments instead of a list of regexes, so its
//! cost does not grow with the number of routes. Templates, convertors (`str`, `path`,
//! `int`, `float`, `uuid`, and user ones given as regexes) and Python's regex quirks
//! (`$` before a final "\n", greedy parameters inside a segment) behave as in Starlette 1.10.
//!
//! ```
//! use tachyon_router::{Lookup, Route, Router, Scope};
//!
//! let mut router = Router::new();
//! router.push(Route::http("/users/{id:int}")?.with_methods(["GET"]).with_name("user"));
//! router.push(Route::http("/files/{name}.{ext}")?);
//! router.push(Route::mount("/static")?);
//!
//! let Lookup::Full(m) = router.lookup(&Scope::http("GET", "/users/42")) else { panic!() };
//! assert_eq!((m.index, m.params.get("id")), (0, Some("42")));
//!
//! // Wrong method: PARTIAL, the caller answers 405 with that route's methods.
//! assert!(matches!(router.lookup(&Scope::http("POST", "/users/42")), Lookup::Partial(0)));
//!
//! // Greedy like Python's regex engine.
//! let Lookup::Full(m) = router.lookup(&Scope::http("GET", "/files/a.b.c")) else { panic!() };
//! assert_eq!((m.params.get("name"), m.params.get("ext")), (Some("a.b"), Some("c")));
//!
//! // Mounts report the path split for `root_path`.
//! let Lookup::Full(m) = router.lookup(&Scope::http("GET", "/static/css/a.css")) else { panic!() };
//! let mount = m.mount.unwrap();
//! assert_eq!((mount.matched, mount.remaining), ("/static", "/css/a.css"));
//!
//! // Misses: 404, unless the other-slash form matches (redirect_slashes).
//! assert!(router.redirect_slash_matches(&Scope::http("GET", "/users/42/")));
//!
//! assert_eq!(router.url_path_for("user", &[("id", "42")])?.path, "/users/42");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Routes whose `matches()` is overridden in Python are [`Route::opaque`] slots: they keep
//! their declaration index; [`Router::resolve_with`] asks the caller about them where they
//! could win (the one definition of that ordering).
//!
//! The Python binding uses the lookup ([`Router::resolve_with`]), the redirect-slashes check,
//! [`route_path`], [`PathPattern`] (Starlette's `compile_path`) and [`rename_convertors`]
//! (user convertors given names of the binding's own).
//! Reverse routing ([`Router::url_path_for`], [`UrlPath`]) is a
//! Rust-only API, tested here: Python's `url_path_for` walks the Python route objects,
//! which users subclass and which carry Starlette's own `url_path_for` overrides.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod convertor;
mod error;
mod matcher;
mod params;
mod reverse;
mod route;
mod router;
mod table;
mod template;
mod tree;

pub use convertor::{Convertor, Convertors, CustomConvertor};
pub use error::{ConvertorError, ReverseError, TemplateError, TemplateErrorKind};
pub use params::{Param, Params};
pub use reverse::{Protocol, ToString, UrlPath};
pub use route::{Route, RouteKind, ScopeKind};
pub use router::{Lookup, Match, MountMatch, OpaqueMatch, Router, Scope, Winner, route_path};
pub use template::{PathPattern, Template, rename_convertors};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
