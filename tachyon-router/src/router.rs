//! The router: an ordered route table, the lookup that picks Starlette's winner, and
//! the redirect-slash check.

use crate::matcher::{match_full, match_segs};
use crate::params::Params;
use crate::route::{Route, RouteKind, ScopeKind, method_bit};
use crate::table::StrTable;
use crate::template::Seg;
use crate::tree::{Best, Caps, Class, NONE, Tree};

/// Starlette's `get_route_path`: the part of an ASGI `path` below `root_path`, which is what
/// routes match. A `root_path` that is not a whole-segment prefix of `path` is ignored.
///
/// ```
/// use tachyon_router::route_path;
/// assert_eq!(route_path("/api/users", "/api"), "/users");
/// assert_eq!(route_path("/api", "/api"), "");
/// assert_eq!(route_path("/apiary", "/api"), "/apiary");
/// ```
pub fn route_path<'a>(path: &'a str, root_path: &str) -> &'a str {
    match path.strip_prefix(root_path) {
        Some(_) if root_path.is_empty() => path,
        Some("") => "",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// What is being routed: the parts of an ASGI scope the router reads.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'p> {
    /// `scope["type"]`.
    pub kind: ScopeKind,
    /// The request method (uppercase, as ASGI gives it); ignored for websockets.
    pub method: &'p str,
    /// The route path (the path with the mount's `root_path` already removed).
    pub path: &'p str,
    /// The request host without its port, `""` if absent. Literals match case-insensitively;
    /// params keep the case given, so pass it lowercased as Starlette 1.10 does
    /// (`parse_host_header(...).host.lower()`).
    pub host: &'p str,
}

impl<'p> Scope<'p> {
    /// An HTTP request.
    pub fn http(method: &'p str, path: &'p str) -> Self {
        Self {
            kind: ScopeKind::Http,
            method,
            path,
            host: "",
        }
    }

    /// A websocket connection.
    pub fn websocket(path: &'p str) -> Self {
        Self {
            kind: ScopeKind::WebSocket,
            method: "",
            path,
            host: "",
        }
    }

    /// The same scope with a host, for host routes.
    pub fn with_host(mut self, host: &'p str) -> Self {
        self.host = host;
        self
    }
}

/// The path arithmetic of a matched mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountMatch<'p> {
    /// `"/" + path`: the child's route path (also the value of the `path` param).
    pub remaining: &'p str,
    /// `route_path[:-len(remaining)]`: append it to `root_path` for the child scope.
    pub matched: &'p str,
}

/// A FULL match: which route, its raw parameters and, for mounts, the path split.
#[derive(Debug, Clone)]
pub struct Match<'r, 'p> {
    /// The declaration index of the route.
    pub index: usize,
    /// The route itself.
    pub route: &'r Route,
    /// The matched parameters, unconverted, in template order.
    pub params: Params<'r, 'p>,
    /// For mounts: the remaining path and the matched prefix.
    pub mount: Option<MountMatch<'p>>,
}

/// The outcome of a lookup, before opaque routes are consulted (see [`Router::lookup`]).
#[derive(Debug, Clone)]
// Boxing the match would allocate on every hit; the result is returned once, by value.
#[allow(clippy::large_enum_variant)]
pub enum Lookup<'r, 'p> {
    /// The lowest-index route that fully matches.
    Full(Match<'r, 'p>),
    /// No full match; the lowest-index route whose path matched but whose methods did not
    /// (answer 405, `Allow` from that route's methods).
    Partial(usize),
    /// Nothing matched (answer 404, or redirect if [`Router::redirect_slash_matches`]).
    NotFound,
}

/// How an opaque route's own `matches()` matched, for [`Router::resolve_with`], with what
/// the caller keeps from a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpaqueMatch<T> {
    /// No match.
    None,
    /// The path matched, the method did not.
    Partial(T),
    /// A full match.
    Full(T),
}

/// The winner [`Router::resolve_with`] finds: a native route's lookup (which may be
/// [`Lookup::NotFound`]), or an opaque route with what its `matches()` gave.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Winner<'r, 'p, T> {
    /// A native route won, or nothing matched.
    Native(Lookup<'r, 'p>),
    /// An opaque route won.
    Opaque {
        /// Its declaration index.
        index: usize,
        /// FULL (else PARTIAL).
        full: bool,
        /// What the caller kept from its match.
        value: T,
    },
}

/// Where the winning route's params come from.
#[derive(Clone, Copy)]
enum Source {
    Path,
    /// The path without its final "\n" (Python's `$` leeway, tree-shaped routes only).
    Trimmed,
    Host,
}

/// An ordered route table: the first route in declaration order that matches wins.
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
    tree: Tree,
    hosts: Vec<u32>,
    opaque: Vec<usize>,
    /// Whole-path index of the routes without parameters: (route, lowest index of another
    /// route whose template also matches that path, or NONE). A hit with no such route below
    /// it is the answer without walking the tree.
    statics: StrTable<Vec<(u32, u32)>>,
    /// The shapes of the paths in `statics` (see [`shape`]), so most paths with parameters
    /// skip hashing the whole path. Length alone let GitHub-table paths like
    /// "/gists/abc/star" through, to a probe costing about 140 instructions.
    /// (Two halves: `Default` stops at arrays of 32.)
    static_shapes: [[u64; 32]; 2],
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a route and returns its declaration index.
    pub fn push(&mut self, route: Route) -> usize {
        let index = self.routes.len();
        // Indexes are u32 in the tree; 4 billion routes would not fit in memory anyway.
        let id = u32::try_from(index).unwrap_or(NONE - 1);
        match (route.kind(), route.template()) {
            (RouteKind::Opaque, _) | (_, None) => self.opaque.push(index),
            (RouteKind::Host, Some(_)) => self.hosts.push(id),
            (kind, Some(t)) => match &t.segs {
                Some(segs) => {
                    let fully_static = kind != RouteKind::Mount
                        && segs.iter().all(|s| matches!(s, Seg::Static(_)));
                    if fully_static {
                        let shadow = self.lowest_other_match(t.as_str());
                        let (word, shape_bit) = shape(t.as_str());
                        self.static_shapes[word / 32][word % 32] |= shape_bit;
                        self.statics
                            .get_or_insert_with(t.as_str(), Vec::new)
                            .push((id, shadow));
                    }
                    self.tree.insert(id, segs, |i| t.param(i).1.clone());
                }
                None => {
                    let prefix = static_prefix(t.pieces_text());
                    self.tree.insert_complex(id, &prefix);
                }
            },
        }
        self.routes.push(route);
        index
    }

    /// Appends a route, builder style.
    pub fn with(mut self, route: Route) -> Self {
        self.push(route);
        self
    }

    /// The routes in declaration order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Declaration indexes of the opaque routes, ascending.
    pub fn opaque(&self) -> &[usize] {
        &self.opaque
    }

    /// Starlette's winner over every route, opaque ones included: `ask(index)` runs an
    /// opaque route's own `matches()` and says how it matched, with whatever the caller
    /// keeps from it (its child scope, say).
    ///
    /// The rule, written only here: opaque routes are asked in declaration order, and only
    /// those before the native FULL winner, if there is one. The first opaque FULL wins;
    /// failing that the native FULL; failing that the lower-index of the native PARTIAL
    /// and the first opaque PARTIAL; failing that nothing. An error from `ask` stops the
    /// search and is returned.
    ///
    /// ```
    /// use tachyon_router::{Lookup, OpaqueMatch, Route, Router, Scope, Winner};
    /// let router = Router::new()
    ///     .with(Route::http("/a")?.with_methods(["POST"]))
    ///     .with(Route::opaque())
    ///     .with(Route::http("/a")?);
    /// let scope = Scope::http("GET", "/a");
    /// // The opaque route (index 1) comes before the native FULL (index 2): it is asked.
    /// let winner = router.resolve_with(&scope, |i| Ok::<_, ()>(OpaqueMatch::Full(i)));
    /// assert!(matches!(winner, Ok(Winner::Opaque { index: 1, full: true, value: 1 })));
    /// // It declines: the native FULL wins over the native PARTIAL at index 0.
    /// let winner = router.resolve_with(&scope, |_| Ok::<_, ()>(OpaqueMatch::<()>::None));
    /// assert!(matches!(winner, Ok(Winner::Native(Lookup::Full(m))) if m.index == 2));
    /// # Ok::<(), tachyon_router::TemplateError>(())
    /// ```
    pub fn resolve_with<'r, 'p, T, E>(
        &'r self,
        scope: &Scope<'p>,
        mut ask: impl FnMut(usize) -> Result<OpaqueMatch<T>, E>,
    ) -> Result<Winner<'r, 'p, T>, E> {
        let native = self.lookup(scope);
        let limit = match &native {
            Lookup::Full(m) => m.index,
            _ => usize::MAX,
        };
        let mut partial: Option<(usize, T)> = None;
        for &index in self.opaque.iter().take_while(|&&i| i < limit) {
            match ask(index)? {
                OpaqueMatch::Full(value) => {
                    return Ok(Winner::Opaque {
                        index,
                        full: true,
                        value,
                    });
                }
                OpaqueMatch::Partial(value) if partial.is_none() => partial = Some((index, value)),
                _ => {}
            }
        }
        Ok(match (native, partial) {
            (Lookup::Full(m), _) => Winner::Native(Lookup::Full(m)),
            (Lookup::Partial(native), Some((index, value))) if index < native => Winner::Opaque {
                index,
                full: false,
                value,
            },
            (Lookup::NotFound, Some((index, value))) => Winner::Opaque {
                index,
                full: false,
                value,
            },
            (native, _) => Winner::Native(native),
        })
    }

    /// Finds Starlette's winner among the native routes: the lowest-index FULL match, else
    /// the lowest-index PARTIAL, else nothing.
    ///
    /// Opaque routes are not consulted: a caller that has any uses [`Router::resolve_with`].
    // Inlined into callers (perf: the match is then built where it is used, instead of
    // being moved out through two returns, which callgrind showed as three memcpy calls).
    #[inline]
    pub fn lookup<'r, 'p>(&'r self, scope: &Scope<'p>) -> Lookup<'r, 'p> {
        let mut caps = None;
        let (best, source) = self.best(scope.path, scope, &mut caps);
        if best.full != NONE {
            let index = best.full as usize;
            if let Some(m) = self.extract(index, scope, source, caps.as_ref()) {
                return Lookup::Full(m);
            }
        }
        if best.partial != NONE {
            return Lookup::Partial(best.partial as usize);
        }
        Lookup::NotFound
    }

    /// The path params of route `index` for `scope`, whatever the method: what Starlette's
    /// `Route.matches` puts in a PARTIAL match's child scope (the route a
    /// [`Lookup::Partial`] names). None if the route's path does not match.
    ///
    /// ```
    /// use tachyon_router::{Lookup, Route, Router, Scope};
    /// let router = Router::new().with(Route::http("/users/{id:int}")?.with_methods(["GET"]));
    /// let scope = Scope::http("POST", "/users/7");
    /// let Lookup::Partial(index) = router.lookup(&scope) else { panic!() };
    /// assert_eq!(router.params_of(index, &scope).unwrap().params.get("id"), Some("7"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn params_of<'r, 'p>(&'r self, index: usize, scope: &Scope<'p>) -> Option<Match<'r, 'p>> {
        match_alone(self.routes.get(index)?, index, scope)
    }

    /// On a miss, whether the other-slash form of the path matches any native route (FULL or
    /// PARTIAL): Starlette's `redirect_slashes`. The other form of `/a/` is `/a` (all trailing
    /// slashes stripped) and of `/a` is `/a/`; `/` has none. Call it for HTTP scopes only;
    /// opaque routes are the caller's to check.
    pub fn redirect_slash_matches(&self, scope: &Scope<'_>) -> bool {
        if scope.path == "/" {
            return false;
        }
        let other = if scope.path.ends_with('/') {
            scope.path.trim_end_matches('/').to_owned()
        } else {
            format!("{}/", scope.path)
        };
        let (best, _) = self.best(&other, scope, &mut None);
        best.full != NONE || best.partial != NONE
    }

    /// The lowest index of a route with parameters (any kind) whose path template matches
    /// `path` exactly (no trailing-"\n" leeway: such paths never take the static index).
    fn lowest_other_match(&self, path: &str) -> u32 {
        let mut best = Best::EMPTY;
        let mut classify = |r: u32| {
            if self.static_path(r).is_some() {
                Class::None
            } else {
                Class::Full
            }
        };
        let mut complex = |r: u32| {
            let mut scratch = Params::new();
            match self.routes[r as usize].template() {
                Some(t) if match_full(t, path, false, &mut scratch) => Class::Full,
                _ => Class::None,
            }
        };
        self.tree.search(
            path,
            true,
            &mut best,
            &mut classify,
            &mut complex,
            &mut None,
        );
        best.full
    }

    /// The path of route `r` if it is an HTTP or WebSocket route without parameters.
    fn static_path(&self, r: u32) -> Option<&str> {
        let route = self.routes.get(r as usize)?;
        let t = route.template()?;
        let segs = t.segs.as_ref()?;
        (matches!(route.kind(), RouteKind::Http | RouteKind::WebSocket)
            && segs.iter().all(|s| matches!(s, Seg::Static(_))))
        .then_some(t.as_str())
    }

    /// The answer from the static index alone, when it is certain.
    #[inline]
    fn static_hit(&self, path: &str, scope: &Scope<'_>, bit: u16) -> Option<Best> {
        let (word, shape_bit) = shape(path);
        if self.static_shapes[word / 32][word % 32] & shape_bit == 0 || path.ends_with('\n') {
            return None;
        }
        let entry = self.statics.get(path)?;
        let mut partial = NONE;
        for &(r, shadow) in entry {
            if shadow != NONE {
                return None;
            }
            match self.classify(r, scope, bit) {
                Class::Full => return Some(Best { full: r, partial }),
                Class::Partial => partial = partial.min(r),
                Class::None => {}
            }
        }
        // Only PARTIAL matches here: a later route with parameters may still be FULL.
        None
    }

    /// The lowest FULL and PARTIAL indexes for `path`, and where the FULL one matched;
    /// `caps` receives its parameter values when the tree kept them.
    fn best(&self, path: &str, scope: &Scope<'_>, caps: &mut Option<Caps>) -> (Best, Source) {
        let bit = method_bit(scope.method.as_bytes());
        let (best, source) = match self.static_hit(path, scope, bit) {
            Some(best) => (best, Source::Path),
            None => self.best_by_tree(path, scope, bit, caps),
        };
        if self.hosts.is_empty() {
            return (best, source);
        }
        self.hosts_below(best, source, scope)
    }

    fn best_by_tree(
        &self,
        path: &str,
        scope: &Scope<'_>,
        bit: u16,
        caps: &mut Option<Caps>,
    ) -> (Best, Source) {
        let mut best = Best::EMPTY;
        let mut classify = |r: u32| self.classify(r, scope, bit);
        let mut complex = |r: u32| {
            let class = self.classify(r, scope, bit);
            if class == Class::None {
                return class;
            }
            let route = &self.routes[r as usize];
            let mut scratch = Params::new();
            match route.template() {
                Some(t) if match_full(t, path, false, &mut scratch) => class,
                _ => Class::None,
            }
        };
        self.tree
            .search(path, true, &mut best, &mut classify, &mut complex, caps);
        let mut source = Source::Path;
        if let Some(trimmed) = path.strip_suffix('\n') {
            // Python's `$` matches before a final "\n": tree-shaped routes may match the
            // path without it (complex routes already applied that rule themselves). A
            // better winner there replaces `caps`.
            let before = best.full;
            self.tree
                .search(trimmed, false, &mut best, &mut classify, &mut complex, caps);
            if best.full < before {
                source = Source::Trimmed;
            }
        }
        (best, source)
    }

    /// Host routes declared before the best path match get their chance.
    fn hosts_below(&self, mut best: Best, mut source: Source, scope: &Scope<'_>) -> (Best, Source) {
        if self.hosts.is_empty() {
            return (best, source);
        }
        for &r in &self.hosts {
            if r >= best.full {
                break;
            }
            let route = &self.routes[r as usize];
            let mut scratch = Params::new();
            if let Some(t) = route.template() {
                if match_full(t, scope.host, true, &mut scratch) {
                    best.full = r;
                    source = Source::Host;
                }
            }
        }
        (best, source)
    }

    /// How route `r` (whose path matched) relates to the scope.
    /// `bit` is the scope method's [`method_bit`], computed once per lookup.
    #[inline]
    fn classify(&self, r: u32, scope: &Scope<'_>, bit: u16) -> Class {
        let Some(route) = self.routes.get(r as usize) else {
            return Class::None;
        };
        match (route.kind(), scope.kind) {
            (RouteKind::Http, ScopeKind::Http) => {
                if route.allows_bit(scope.method, bit) {
                    Class::Full
                } else {
                    Class::Partial
                }
            }
            (RouteKind::WebSocket, ScopeKind::WebSocket) => Class::Full,
            (RouteKind::Mount | RouteKind::Host, _) => Class::Full,
            _ => Class::None,
        }
    }

    /// Re-matches the winner alone to collect its params.
    #[inline]
    fn extract<'r, 'p>(
        &'r self,
        index: usize,
        scope: &Scope<'p>,
        source: Source,
        caps: Option<&Caps>,
    ) -> Option<Match<'r, 'p>> {
        extract(self.routes.get(index)?, index, scope, source, caps, true)
    }
}

/// Matches `route` (declaration index `index`) alone against the text `source` names.
/// `found`: the lookup already knows the route matches (a template without parameters
/// then needs no second look).
#[inline]
fn extract<'r, 'p>(
    route: &'r Route,
    index: usize,
    scope: &Scope<'p>,
    source: Source,
    caps: Option<&Caps>,
    found: bool,
) -> Option<Match<'r, 'p>> {
    let t = route.template()?;
    let mut params = Params::of(t);
    if found && t.param_count() == 0 {
        return Some(Match {
            index,
            route,
            params,
            mount: None,
        });
    }
    let text = match source {
        Source::Path => scope.path,
        Source::Trimmed => scope.path.strip_suffix('\n').unwrap_or(scope.path),
        Source::Host => scope.host,
    };
    let ok = match (&t.segs, source) {
        (_, Source::Host) => match_full(t, text, true, &mut params),
        (Some(segs), _) => match caps {
            // The tree kept the values: no second walk.
            Some(caps) if caps.count() == Some(t.param_count()) => {
                for v in caps.values(text) {
                    params.push(v);
                }
                true
            }
            _ => match_segs(t, segs, text, &mut params),
        },
        (None, _) => match_full(t, text, false, &mut params),
    };
    if !ok {
        return None;
    }
    let mut mount = None;
    if route.kind() == RouteKind::Mount {
        let last = params.last()?;
        let start = subslice_start(scope.path, last)?;
        let remaining = scope.path.get(start.checked_sub(1)?..start + last.len())?;
        let matched = scope
            .path
            .get(..scope.path.len().checked_sub(remaining.len())?)
            .unwrap_or("");
        params.set_last(remaining);
        mount = Some(MountMatch { remaining, matched });
    }
    Some(Match {
        index,
        route,
        params,
        mount,
    })
}

/// [`Route::match_alone`] and [`Router::params_of`]: one route matched by itself.
pub(crate) fn match_alone<'r, 'p>(
    route: &'r Route,
    index: usize,
    scope: &Scope<'p>,
) -> Option<Match<'r, 'p>> {
    if route.kind() == RouteKind::Host {
        return extract(route, index, scope, Source::Host, None, false);
    }
    extract(route, index, scope, Source::Path, None, false)
        .or_else(|| extract(route, index, scope, Source::Trimmed, None, false))
}

/// A path's shape for the static index's filter: its length modulo 64 picks the word, its
/// last byte modulo 64 the bit.
#[inline]
fn shape(path: &str) -> (usize, u64) {
    let last = path.as_bytes().last().copied().unwrap_or(0);
    (path.len() % 64, 1 << (last % 64))
}

/// The byte offset of `part` inside `whole`, when `part` was sliced from it.
fn subslice_start(whole: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (offset + part.len() <= whole.len()).then_some(offset)
}

/// The leading whole static segments of a path template (before any parameter).
fn static_prefix(pieces_text: Option<&str>) -> Vec<&str> {
    let Some(text) = pieces_text.and_then(|t| t.strip_prefix('/')) else {
        return Vec::new();
    };
    let mut segs: Vec<&str> = text.split('/').collect();
    // The last part runs into a parameter (or is the path's end): not a whole segment.
    segs.pop();
    segs
}
