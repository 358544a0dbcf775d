//! Routes: HTTP endpoints, WebSocket endpoints, mounts, hosts and opaque slots.

use crate::convertor::{BUILTIN, Convertors};
use crate::error::{TemplateError, TemplateErrorKind};
use crate::router::{Match, Router, Scope};
use crate::template::Template;

/// What a route matches, mirroring Starlette's route classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `Route`: HTTP requests whose path matches; the method decides FULL or PARTIAL.
    Http,
    /// `WebSocketRoute`: websocket connections whose path matches.
    WebSocket,
    /// `Mount`: HTTP and websocket paths under a prefix (`prefix/{path:path}`).
    Mount,
    /// `Host`: HTTP and websocket requests whose host matches.
    Host,
    /// A slot that never matches natively (a Python route overriding `matches()`).
    Opaque,
}

/// The kind of connection being routed (ASGI `scope["type"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// `"http"`.
    Http,
    /// `"websocket"`.
    WebSocket,
}

/// One route: a kind, a template, and optionally a name, methods and child router.
#[derive(Debug)]
pub struct Route {
    kind: RouteKind,
    template: Option<Template>,
    name: Option<Box<str>>,
    methods: Option<Vec<Box<str>>>,
    /// `methods` as bits of [`method_bit`], when every method has one (the usual case).
    method_bits: Option<u16>,
    child: Option<Router>,
}

/// A bit for each standard method, so the hot path compares no strings.
#[inline]
pub(crate) fn method_bit(method: &[u8]) -> u16 {
    match method {
        b"GET" => 1,
        b"HEAD" => 1 << 1,
        b"POST" => 1 << 2,
        b"PUT" => 1 << 3,
        b"DELETE" => 1 << 4,
        b"PATCH" => 1 << 5,
        b"OPTIONS" => 1 << 6,
        b"TRACE" => 1 << 7,
        b"CONNECT" => 1 << 8,
        _ => 0,
    }
}

impl Route {
    /// An HTTP route for `path` (must start with `/`), any method until [`Route::with_methods`].
    pub fn http(path: &str) -> Result<Self, TemplateError> {
        Self::new(RouteKind::Http, path, &BUILTIN)
    }

    /// A WebSocket route for `path` (must start with `/`).
    pub fn websocket(path: &str) -> Result<Self, TemplateError> {
        Self::new(RouteKind::WebSocket, path, &BUILTIN)
    }

    /// A mount at `prefix` (empty or starting with `/`; a trailing `/` is dropped).
    pub fn mount(prefix: &str) -> Result<Self, TemplateError> {
        Self::new(RouteKind::Mount, prefix, &BUILTIN)
    }

    /// A host route for `host` (must not start with `/`; a `:port` at its end is ignored).
    pub fn host(host: &str) -> Result<Self, TemplateError> {
        Self::new(RouteKind::Host, host, &BUILTIN)
    }

    /// A slot that never matches natively; it only takes a declaration index.
    pub fn opaque() -> Self {
        Self {
            kind: RouteKind::Opaque,
            template: None,
            name: None,
            methods: None,
            method_bits: None,
            child: None,
        }
    }

    /// A route of any kind, with user convertors; `template` is the prefix for mounts.
    pub fn new(
        kind: RouteKind,
        template: &str,
        convertors: &Convertors,
    ) -> Result<Self, TemplateError> {
        let template = match kind {
            RouteKind::Http | RouteKind::WebSocket => {
                if !template.starts_with('/') {
                    return Err(TemplateError::new(template, TemplateErrorKind::NotAbsolute));
                }
                Template::parse_with(template, convertors)?
            }
            RouteKind::Mount => Template::mount_with(template, convertors)?,
            RouteKind::Host => {
                if template.starts_with('/') {
                    return Err(TemplateError::new(
                        template,
                        TemplateErrorKind::HostStartsWithSlash,
                    ));
                }
                Template::parse_with(template, convertors)?
            }
            RouteKind::Opaque => return Ok(Self::opaque()),
        };
        Ok(Self {
            kind,
            template: Some(template),
            name: None,
            methods: None,
            method_bits: None,
            child: None,
        })
    }

    /// Restricts an HTTP route to `methods` (uppercased; GET adds HEAD; empty means any,
    /// as an empty set does in Starlette).
    pub fn with_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set: Vec<Box<str>> = Vec::new();
        for m in methods {
            let m = m.as_ref().to_uppercase();
            if !set.iter().any(|s| **s == *m) {
                set.push(m.into());
            }
        }
        if set.iter().any(|m| &**m == "GET") && !set.iter().any(|m| &**m == "HEAD") {
            set.push("HEAD".into());
        }
        let bits: Vec<u16> = set.iter().map(|m| method_bit(m.as_bytes())).collect();
        self.method_bits =
            (!set.is_empty() && !bits.contains(&0)).then(|| bits.iter().fold(0, |acc, b| acc | b));
        self.methods = Some(set);
        self
    }

    /// Names the route, for reverse routing.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Gives a mount or host route its child router.
    pub fn with_child(mut self, router: Router) -> Self {
        self.child = Some(router);
        self
    }

    /// The route kind.
    pub fn kind(&self) -> RouteKind {
        self.kind
    }

    /// The compiled template (`None` for opaque slots).
    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The route name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The allowed methods (`None`: any), uppercased, HEAD added when GET is present.
    pub fn methods(&self) -> Option<impl ExactSizeIterator<Item = &str>> {
        self.methods.as_ref().map(|m| m.iter().map(|s| &**s))
    }

    /// The child router of a mount or host route, if it has one.
    pub fn child(&self) -> Option<&Router> {
        self.child.as_ref()
    }

    /// Matches this route by itself against `scope`'s path (a host route: its host), whatever
    /// the method and the scope's kind: what one Starlette route's `path_regex` (or
    /// `host_regex`) gives, as a [`Match`] with index 0. No router is needed, so a route
    /// matched alone (Starlette's `Route.matches`) costs no tree.
    ///
    /// ```
    /// use tachyon_router::{Route, Scope};
    /// let route = Route::mount("/static")?;
    /// let m = route.match_alone(&Scope::http("GET", "/static/css/a.css")).unwrap();
    /// assert_eq!(m.mount.unwrap().matched, "/static");
    /// assert!(Route::http("/a/{n:int}")?.match_alone(&Scope::http("GET", "/a/x")).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn match_alone<'r, 'p>(&'r self, scope: &Scope<'p>) -> Option<Match<'r, 'p>> {
        crate::router::match_alone(self, 0, scope)
    }

    /// Whether `method` is allowed (Starlette: `not self.methods or method in self.methods`).
    #[inline]
    pub fn allows(&self, method: &str) -> bool {
        self.allows_bit(method, method_bit(method.as_bytes()))
    }

    /// [`Route::allows`] with `method`'s [`method_bit`] already computed (once per lookup).
    #[inline]
    pub(crate) fn allows_bit(&self, method: &str, bit: u16) -> bool {
        if let Some(bits) = self.method_bits {
            if bit != 0 {
                return bits & bit != 0;
            }
        }
        match &self.methods {
            None => true,
            Some(set) => set.is_empty() || set.iter().any(|m| **m == *method),
        }
    }
}
