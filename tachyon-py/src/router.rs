//! `RouteTable`: a Python router's routes compiled into one `tachyon_router::Router`.
//!
//! The Python `Router` keeps its Starlette route objects; this table answers "which
//! declaration index wins for this scope" and writes the child scope, in one call per
//! request.

use pyo3::exceptions::{PyAssertionError, PyKeyError, PyRuntimeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use tachyon_core::query::latin1_to_string;
use tachyon_core::url::parse_host_header;
use tachyon_router::{
    Convertor, Convertors, Lookup, OpaqueMatch, Param, Params, PathPattern, Route, RouteKind,
    Router, Scope, Template, TemplateErrorKind, Winner,
    rename_convertors as rename_template_convertors, route_path,
};

use crate::error::{PyTemplateError, set_template_error};

/// A route's kind as Python hands it to the native table, matchers and `child_scope`:
/// `OPAQUE` is a route only Python can match (its class overrides `matches`).
#[pyclass(
    module = "tachyon._tachyon",
    name = "RouteKind",
    eq,
    eq_int,
    frozen,
    from_py_object
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyRouteKind {
    /// A `Route`.
    #[pyo3(name = "HTTP")]
    Http,
    /// A `WebSocketRoute`.
    #[pyo3(name = "WEBSOCKET")]
    WebSocket,
    /// A `Mount`.
    #[pyo3(name = "MOUNT")]
    Mount,
    /// A `Host`.
    #[pyo3(name = "HOST")]
    Host,
    /// A route Python matches itself.
    #[pyo3(name = "OPAQUE")]
    Opaque,
}

/// What `RouteKind.__reduce__` returns: `(getattr, (RouteKind, member name))`.
type KindReduced<'py> = (
    Bound<'py, PyAny>,
    (Bound<'py, pyo3::types::PyType>, &'static str),
);

#[pymethods]
impl PyRouteKind {
    /// Pickles as the member's name looked up on the class (`getattr(RouteKind, "HTTP")`),
    /// so a route holding its matcher pickles.
    fn __reduce__<'py>(slf: &Bound<'py, Self>, py: Python<'py>) -> PyResult<KindReduced<'py>> {
        let name = match *slf.get() {
            Self::Http => "HTTP",
            Self::WebSocket => "WEBSOCKET",
            Self::Mount => "MOUNT",
            Self::Host => "HOST",
            Self::Opaque => "OPAQUE",
        };
        let getattr = py.import("builtins")?.getattr(intern!(py, "getattr"))?;
        Ok((getattr, (py.get_type::<Self>(), name)))
    }
}

impl PyRouteKind {
    /// The router crate's kind; None for `OPAQUE`.
    fn native(self) -> Option<RouteKind> {
        match self {
            Self::Http => Some(RouteKind::Http),
            Self::WebSocket => Some(RouteKind::WebSocket),
            Self::Mount => Some(RouteKind::Mount),
            Self::Host => Some(RouteKind::Host),
            Self::Opaque => None,
        }
    }
}

/// Starlette's winner for a scope, as `RouteTable.lookup` gives it: the route's declaration
/// `index`, whether the match is `full` (else PARTIAL: the path matched, the method did not),
/// and, for a route Python matched itself, the `child` scope its `matches()` returned (None
/// for a native route: its class's own `matches` gives the child scope).
#[pyclass(module = "tachyon._tachyon", frozen, get_all)]
#[derive(Debug)]
pub struct Found {
    index: usize,
    full: bool,
    child: Option<Py<PyAny>>,
}

/// What Starlette's `compile_path` returns, as the binding hands it to Python:
/// `tachyon.routing.compile_path` compiles `regex` with `re` (IGNORECASE when
/// `ignore_case`); `convertors` maps each parameter to its convertor object.
#[pyclass(module = "tachyon._tachyon", name = "PathPattern", frozen, get_all)]
#[derive(Debug)]
pub struct PyPathPattern {
    regex: Py<PyString>,
    format: Py<PyString>,
    convertors: Py<PyDict>,
    ignore_case: bool,
}

/// Compiles `template` as Starlette's `compile_path` (the rule is `tachyon_router::PathPattern`),
/// each convertor name looked up in `convertor_types` (name to convertor object with a
/// `regex`). Raises `tachyon.routing.RouteTemplateError` with Starlette's message.
#[pyfunction]
fn compile_path(
    py: Python<'_>,
    template: &str,
    convertor_types: &Bound<'_, PyDict>,
) -> PyResult<PyPathPattern> {
    let mut failure: Option<PyErr> = None;
    let compiled = PathPattern::compile(template, |name| {
        let found = convertor_types.get_item(name).and_then(|found| {
            found
                .map(|c| c.getattr(intern!(py, "regex"))?.str())
                .transpose()
        });
        match found {
            Ok(regex) => regex.map(|r| r.to_string()),
            Err(err) => {
                failure.get_or_insert(err);
                None
            }
        }
    });
    if let Some(err) = failure {
        return Err(err);
    }
    let compiled = compiled.map_err(PyTemplateError)?;
    let convertors = PyDict::new(py);
    for (name, convertor) in compiled.params() {
        let object = convertor_types
            .get_item(convertor)?
            .ok_or_else(|| PyKeyError::new_err(convertor.to_owned()))?;
        convertors.set_item(name, object)?;
    }
    Ok(PyPathPattern {
        regex: PyString::new(py, compiled.regex()).unbind(),
        format: PyString::new(py, compiled.format()).unbind(),
        convertors: convertors.unbind(),
        ignore_case: compiled.ignore_case(),
    })
}

/// `template` with each parameter's convertor renamed to `rename(parameter name)`, or kept
/// as written where that returns None (`tachyon_router::rename_convertors`: template syntax
/// is read there). An exception `rename` raises propagates.
#[pyfunction]
fn rename_convertors(template: &str, rename: &Bound<'_, PyAny>) -> PyResult<String> {
    rename_template_convertors(template, |name| rename.call1((name,))?.extract())
}

/// Builds the convertor registry; names whose regex the native engine cannot compile
/// (Python-only syntax) are collected in `unsupported`.
fn registry(convertors: &[(String, String)], unsupported: &mut Vec<String>) -> Convertors {
    let mut registry = Convertors::new();
    for (name, regex) in convertors {
        if registry.register(name, regex).is_err() {
            unsupported.push(name.clone());
        }
    }
    registry
}

/// The compiled routes of one Python `Router`, in declaration order.
#[pyclass(module = "tachyon._tachyon", frozen)]
#[derive(Debug)]
pub struct RouteTable {
    router: Router,
    has_hosts: bool,
    opaque: Vec<usize>,
    entries: Vec<Entry>,
    /// Whether `route` may answer alone: set when the table is built for a route list
    /// it can answer for (see `new`), cleared for good by `invalidate` when that list
    /// changes. One flag read per request (the list's `version` attribute cost a Python
    /// attribute lookup).
    standalone: AtomicBool,
}

/// The Python side of one route, for `resolve`: what goes into the child scope.
#[derive(Debug)]
struct Entry {
    /// The route object (`scope["route"]`).
    route: Py<PyAny>,
    /// `scope["endpoint"]`: the endpoint of a Route / WebSocketRoute, the app of a Mount / Host.
    endpoint: Py<PyAny>,
    /// The route's `param_convertors`, for convertors only Python can run (user ones); None
    /// when all are built-in.
    convertors: Option<Py<PyDict>>,
    /// The parameter names (the keys of `convertors`), as text and as the str objects
    /// that become `path_params` keys: no str is built or hashed per request.
    names: Vec<(Box<str>, Py<PyString>)>,
    /// What `resolve` returns for this route: `(route, True, direct)` (direct: the endpoint
    /// to call directly, see `Route._direct_app`, or None) and
    /// `(route, False, None)`, built once.
    resolved: Option<(Py<PyTuple>, Py<PyTuple>)>,
}

impl Entry {
    /// `resolve`'s answer for this route: `(route, True, direct)` or `(route, False, None)`.
    fn resolved(&self, py: Python<'_>, full: bool) -> PyResult<Py<PyTuple>> {
        match &self.resolved {
            Some((f, p)) => Ok(if full {
                f.clone_ref(py)
            } else {
                p.clone_ref(py)
            }),
            None => Err(PyValueError::new_err("RouteTable built without entries")),
        }
    }

    /// The `path_params` key for parameter `name`.
    fn key<'py>(&self, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
        match self.names.iter().find(|(text, _)| &**text == name) {
            Some((_, key)) => key.bind(py).clone(),
            None => PyString::new(py, name),
        }
    }
}

/// What `resolve` returns for a match: (route, full, direct endpoint or None), built
/// once per route.
type Resolved = Py<PyTuple>;

/// One route's Python objects as handed over: (route, endpoint, param_convertors, direct).
type EntrySpec = (Py<PyAny>, Py<PyAny>, Py<PyAny>, Py<PyAny>);

/// A path parameter's value as its convertor gives it: str and path as str, int and
/// float parsed here, uuid as `uuid.UUID(value)` (what the built-in convertor does), user
/// convertors through their Python `convert`.
fn convert<'py>(
    py: Python<'py>,
    param: &Param<'_, '_>,
    entry: &Entry,
) -> PyResult<Bound<'py, PyAny>> {
    match param.convertor {
        Convertor::Str | Convertor::Path => Ok(PyString::new(py, param.value).into_any()),
        Convertor::Int => match param.value.parse::<u64>() {
            Ok(n) => Ok(n.into_pyobject(py)?.into_any()),
            // Too long for u64: Python's int() decides (it refuses past its digit limit).
            Err(_) => py.get_type::<PyInt>().call1((param.value,)),
        },
        Convertor::Float => match param.value.parse::<f64>() {
            Ok(x) => Ok(PyFloat::new(py, x).into_any()),
            Err(_) => py.get_type::<PyFloat>().call1((param.value,)),
        },
        Convertor::Uuid => UUID_TYPE
            .get_or_try_init(py, || py.import("uuid")?.getattr("UUID").map(Bound::unbind))?
            .bind(py)
            .call1((param.value,)),
        _ => {
            let found = match &entry.convertors {
                Some(convertors) => convertors.bind(py).get_item(param.name)?,
                None => None,
            };
            match found {
                Some(c) => c.call_method1(intern!(py, "convert"), (param.value,)),
                None => Ok(PyString::new(py, param.value).into_any()),
            }
        }
    }
}

/// How one route is handed over from Python: its kind, its template and its methods.
type RouteSpec = (PyRouteKind, Option<String>, Option<Vec<String>>);

fn build_route(
    spec: &RouteSpec,
    registry: &Convertors,
    unsupported: &[String],
) -> PyResult<Option<Route>> {
    let (kind, template, methods) = spec;
    let Some(kind) = kind.native() else {
        return Ok(None);
    };
    let Some(template) = template else {
        return Ok(None);
    };
    let mut route = match Route::new(kind, template, registry) {
        Ok(route) => route,
        // A convertor whose regex only Python can run: Python matches this route.
        Err(e) if matches!(e.kind(), TemplateErrorKind::UnknownConvertor(n) if unsupported.contains(n)) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(PyTemplateError(e).into()),
    };
    if let Some(methods) = methods {
        route = route.with_methods(methods.iter().map(String::as_str));
    }
    Ok(Some(route))
}

/// `scope.get(key)` as a str (keys are interned: no str is built per request).
fn get_str<'py>(
    scope: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    match scope.get_item(key)? {
        Some(value) => Ok(Some(value.cast_into::<PyString>()?)),
        None => Ok(None),
    }
}

/// The text of `value`: read in place for a compact ASCII str (what ASGI servers put in a
/// scope: no call into the interpreter), else as `to_str` gives it (UTF-8, cached by the
/// str; an error for a lone surrogate).
#[inline]
fn text<'a>(value: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    let ptr = value.as_ptr();
    // SAFETY: `value` is a live str; a compact ASCII str's characters follow its header,
    // `PyUnicode_GET_LENGTH` bytes of ASCII (so valid UTF-8), alive while `value` is.
    unsafe {
        if ffi::PyUnicode_IS_COMPACT_ASCII(ptr) != 0 {
            let len = usize::try_from(ffi::PyUnicode_GET_LENGTH(ptr)).unwrap_or(0);
            let data = ptr.cast::<ffi::PyASCIIObject>().add(1).cast::<u8>();
            return Ok(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                data, len,
            )));
        }
    }
    value.to_str()
}

/// The text of an optional scope string (`root_path`, `method`), `""` when it is absent.
fn str_or_empty<'a>(value: &'a Option<Bound<'_, PyString>>) -> PyResult<&'a str> {
    match value {
        Some(value) => text(value),
        None => Ok(""),
    }
}

/// The strings of a scope that a route lookup reads (`RouteTable.lookup` and `.resolve`):
/// `type`, `path`, `root_path` and, for HTTP, `method`. They are kept here while the
/// lookup's [`Scope`] view borrows their text.
struct ScopeStrings<'py> {
    websocket: bool,
    path: Bound<'py, PyString>,
    root_path: Option<Bound<'py, PyString>>,
    method: Option<Bound<'py, PyString>>,
}

impl<'py> ScopeStrings<'py> {
    /// Reads them; a missing `type` or `path` is an AssertionError naming it.
    fn read(scope: &Bound<'py, PyDict>) -> PyResult<Self> {
        let py = scope.py();
        let kind = get_str(scope, intern!(py, "type"))?
            .ok_or_else(|| PyAssertionError::new_err("type"))?;
        let path = get_str(scope, intern!(py, "path"))?
            .ok_or_else(|| PyAssertionError::new_err("path"))?;
        let root_path = get_str(scope, intern!(py, "root_path"))?;
        let websocket = text(&kind)? == "websocket";
        let method = if websocket {
            None
        } else {
            get_str(scope, intern!(py, "method"))?
        };
        Ok(Self {
            websocket,
            path,
            root_path,
            method,
        })
    }

    /// The router's view: the path below `root_path`, the method, and `host` (the
    /// request's host without port, lowercased; `""` when the table has no Host routes).
    fn view<'a>(&'a self, host: Option<&'a str>) -> PyResult<Scope<'a>> {
        let route_path = route_path(text(&self.path)?, str_or_empty(&self.root_path)?);
        let view = if self.websocket {
            Scope::websocket(route_path)
        } else {
            Scope::http(str_or_empty(&self.method)?, route_path)
        };
        Ok(view.with_host(host.unwrap_or("")))
    }
}

/// `scope["path"]` (a KeyError when missing, as Starlette's `scope["path"]`) and
/// `scope.get("root_path")`: what [`route_path`] cuts the route's path from.
fn path_and_root<'py>(
    py: Python<'py>,
    scope: &Bound<'py, PyDict>,
) -> PyResult<(Bound<'py, PyString>, Option<Bound<'py, PyString>>)> {
    let path = scope
        .get_item(intern!(py, "path"))?
        .ok_or_else(|| PyKeyError::new_err("path"))?
        .cast_into::<PyString>()?;
    Ok((path, get_str(scope, intern!(py, "root_path"))?))
}

#[pymethods]
impl RouteTable {
    /// Compiles `specs`: one `(kind, template, methods)` per route, where kind is "http",
    /// "websocket", "mount", "host" or "opaque" (matched by Python only). `convertors` are
    /// the user convertors as (name, regex).
    /// `entries`, if given, holds each route's Python objects (route, endpoint,
    /// param_convertors, direct endpoint or None), enabling `resolve`.
    ///
    /// `standalone`: `route` may answer alone, until `invalidate` is called (the owner of
    /// the route list calls it when the list changes), provided `entries` are given, no
    /// route is opaque and none is a Host (else `route` always answers NotImplemented).
    #[new]
    #[pyo3(signature = (specs, convertors = Vec::new(), entries = Vec::new(), standalone = false))]
    fn new(
        py: Python<'_>,
        specs: Vec<RouteSpec>,
        convertors: Vec<(String, String)>,
        entries: Vec<EntrySpec>,
        standalone: bool,
    ) -> PyResult<Self> {
        if !entries.is_empty() && entries.len() != specs.len() {
            return Err(PyValueError::new_err("entries must match specs one to one"));
        }
        let mut unsupported = Vec::new();
        let registry = registry(&convertors, &mut unsupported);
        let mut router = Router::new();
        let mut has_hosts = false;
        let mut opaque = Vec::new();
        for spec in &specs {
            let index = match build_route(spec, &registry, &unsupported)? {
                Some(route) => {
                    has_hosts |= route.kind() == RouteKind::Host;
                    router.push(route)
                }
                None => {
                    let index = router.push(Route::opaque());
                    opaque.push(index);
                    index
                }
            };
            debug_assert_eq!(index + 1, router.routes().len());
        }
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|spec| Entry::new(py, spec))
            .collect::<PyResult<_>>()?;
        let standalone = standalone && opaque.is_empty() && !has_hosts && !entries.is_empty();
        Ok(Self {
            router,
            has_hosts,
            opaque,
            entries,
            standalone: AtomicBool::new(standalone),
        })
    }

    /// The route list this table was compiled from changed: from now on `route` answers
    /// NotImplemented (the router compiles a new table). Cannot be undone.
    fn invalidate(&self) {
        self.standalone.store(false, Ordering::Relaxed);
    }

    /// Whether `route` may still answer alone (see `new` and `invalidate`).
    #[getter]
    fn standalone(&self) -> bool {
        self.standalone.load(Ordering::Relaxed)
    }

    /// Whether any route is a Host route (the caller then passes the request's host).
    #[getter]
    fn has_hosts(&self) -> bool {
        self.has_hosts
    }

    /// Declaration indexes of the routes Python must match itself, ascending.
    #[getter]
    fn opaque(&self) -> Vec<usize> {
        self.opaque.clone()
    }

    /// Starlette's winner for an http or websocket `scope`, or None when nothing matched.
    ///
    /// Routes Python matches itself (`opaque`) are asked through their own `matches()`
    /// where the rule (`tachyon_router::Router::resolve_with`) says they could win; that
    /// needs `entries`. `host` is the request's host without port, lowercased (only needed
    /// when `has_hosts`).
    #[pyo3(signature = (scope, host = None))]
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
        host: Option<&str>,
    ) -> PyResult<Option<Found>> {
        let strings = ScopeStrings::read(scope)?;
        let scope_view = strings.view(host)?;
        let winner = self
            .router
            .resolve_with(&scope_view, |index| self.ask_opaque(py, index, scope))?;
        Ok(match winner {
            Winner::Native(Lookup::NotFound) => None,
            Winner::Native(Lookup::Partial(index)) => Some(Found {
                index,
                full: false,
                child: None,
            }),
            Winner::Native(Lookup::Full(found)) => Some(Found {
                index: found.index,
                full: true,
                child: None,
            }),
            Winner::Opaque { index, full, value } => Some(Found {
                index,
                full,
                child: Some(value),
            }),
        })
    }

    /// Matches `scope` and writes the child scope keys Starlette's Router writes for the
    /// winner (`route`, then `endpoint` and `path_params`, plus `app_root_path` and
    /// `root_path` for mounts), with the path params converted; a PARTIAL match writes
    /// what its route's `matches` gives too.
    ///
    /// Returns None when no native route matched, `(route, False, None)` for a PARTIAL
    /// match, or `(route, True, direct)` for a FULL one. Needs
    /// `entries`; opaque routes are not consulted (callers with any use `lookup`).
    /// A value its convertor refuses raises that convertor's error (ValueError).
    #[pyo3(signature = (scope, host = None))]
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
        host: Option<&str>,
    ) -> PyResult<Option<Resolved>> {
        let strings = ScopeStrings::read(scope)?;
        let view = strings.view(host)?;
        let (found, full) = match self.router.lookup(&view) {
            Lookup::NotFound => return Ok(None),
            // PARTIAL: the child scope Route.matches gives (endpoint and path params, for
            // the 405 answer or a handler that reads them).
            Lookup::Partial(index) => match self.router.params_of(index, &view) {
                Some(found)
                    if found.mount.is_none()
                        && self.router.routes()[index].kind() == RouteKind::Http =>
                {
                    (found, false)
                }
                _ => {
                    // Not expected (a PARTIAL is an HTTP route whose path just matched):
                    // the route's own Python `matches` decides.
                    let entry = self.entry(index)?;
                    let route = entry.route.bind(py);
                    scope.set_item(intern!(py, "route"), route)?;
                    let child = route
                        .call_method1(intern!(py, "matches"), (scope,))?
                        .get_item(1)?;
                    scope.update(child.cast::<pyo3::types::PyMapping>()?)?;
                    return Ok(Some(entry.resolved(py, false)?));
                }
            },
            Lookup::Full(found) => (found, true),
        };
        let entry = self.entry(found.index)?;
        let path_params = inherited_params(py, scope)?;
        let is_mount = found.mount.is_some();
        for param in found.params.iter() {
            if is_mount && param.name == "path" {
                continue;
            }
            path_params.set_item(entry.key(py, param.name), convert(py, &param, entry)?)?;
        }
        scope.set_item(intern!(py, "route"), entry.route.bind(py))?;
        let endpoint = entry.endpoint.bind(py).clone();
        let path_params = path_params.into_any();
        let child = match found.mount {
            Some(mount) => {
                // Set once, at the outermost mount (rewriting it would change nothing).
                let app_root_path = match scope.get_item(intern!(py, "app_root_path"))? {
                    Some(_) => None,
                    None => Some(match &strings.root_path {
                        Some(r) => r.clone().into_any(),
                        None => PyString::new(py, "").into_any(),
                    }),
                };
                let root = str_or_empty(&strings.root_path)?;
                let root_path = PyString::new(py, &format!("{root}{}", mount.matched)).into_any();
                ChildScope::Mount {
                    path_params,
                    app_root_path,
                    root_path,
                    endpoint,
                }
            }
            None if self.router.routes()[found.index].kind() == RouteKind::Host => {
                ChildScope::Host {
                    path_params,
                    endpoint,
                }
            }
            None => ChildScope::Endpoint {
                endpoint,
                path_params,
            },
        };
        child.write(scope)?;
        Ok(Some(entry.resolved(py, full)?))
    }

    /// Whether the other-slash form of the path would match a native route (FULL or
    /// PARTIAL): Starlette's `redirect_slashes` check. HTTP scopes only.
    #[pyo3(signature = (scope, host = None))]
    fn redirect_matches(&self, scope: &Bound<'_, PyDict>, host: Option<&str>) -> PyResult<bool> {
        let path = get_str(scope, intern!(scope.py(), "path"))?
            .ok_or_else(|| PyAssertionError::new_err("path"))?;
        let root_path = get_str(scope, intern!(scope.py(), "root_path"))?;
        let method = get_str(scope, intern!(scope.py(), "method"))?;
        let root = str_or_empty(&root_path)?;
        let method = str_or_empty(&method)?;
        let view =
            Scope::http(method, route_path(text(&path)?, root)).with_host(host.unwrap_or(""));
        Ok(self.router.redirect_slash_matches(&view))
    }

    fn __len__(&self) -> usize {
        self.router.routes().len()
    }

    /// Immutable: a copy is the table itself (so `copy.deepcopy` of a router works).
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Immutable: a deep copy is the table itself.
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
}

impl RouteTable {
    /// What `route(scope)` answers, for the native dispatcher too (see there).
    pub(crate) fn answer<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.standalone.load(Ordering::Relaxed) {
            return Ok(py.NotImplemented().into_bound(py));
        }
        match self.resolve(py, scope, None) {
            Ok(Some(found)) => Ok(found.into_bound(py).into_any()),
            Ok(None) => Ok(py.None().into_bound(py)),
            Err(err) => {
                let members = MATCH_MEMBERS
                    .get(py)
                    .ok_or_else(|| PyRuntimeError::new_err("set_match_members was not called"))?;
                Err(not_found(py, err, members[3].bind(py)))
            }
        }
    }
}

/// `Match.NONE`, `Match.PARTIAL` and `Match.FULL` of `tachyon.routing`, then
/// `HTTPException`, given once.
static MATCH_MEMBERS: PyOnceLock<[Py<PyAny>; 4]> = PyOnceLock::new();

/// Registers `tachyon.routing.Match`'s members and `HTTPException` for `RouteMatcher`,
/// and `RouteTemplateError`, what a template error is raised as (once, at import).
#[pyfunction]
fn set_match_members(
    py: Python<'_>,
    none: Py<PyAny>,
    partial: Py<PyAny>,
    full: Py<PyAny>,
    http_exception: Py<PyAny>,
    template_error: Bound<'_, pyo3::types::PyType>,
) -> PyResult<()> {
    set_template_error(template_error)?;
    MATCH_MEMBERS
        .set(py, [none, partial, full, http_exception])
        .map_err(|_| PyRuntimeError::new_err("set_match_members was already called"))
}

/// A value its convertor refuses (an int past Python's digit limit, say) is not a page
/// that exists: `HTTPException(404)` caused by the convertor's ValueError, where Starlette
/// would let the ValueError through as a 500.
fn not_found(py: Python<'_>, err: PyErr, http_exception: &Bound<'_, PyAny>) -> PyErr {
    if !err.is_instance_of::<PyValueError>(py) {
        return err;
    }
    match http_exception.call1((404,)) {
        Ok(exc) => {
            let not_found = PyErr::from_value(exc);
            not_found.set_cause(py, Some(err));
            not_found
        }
        Err(failed) => failed,
    }
}

/// `tachyon.convertors.CONVERTOR_TYPES` and the built-in convertor objects it held at
/// import (str, path, int, float, uuid), given once.
static CONVERTOR_REGISTRY: PyOnceLock<(Py<PyDict>, [Py<PyAny>; 5])> = PyOnceLock::new();

/// What `RouteMatcher.__reduce__` returns: `(RouteMatcher.compile, (kind, template))`.
type Reduced<'py> = (Bound<'py, PyAny>, (PyRouteKind, Py<PyString>));

/// `uuid.UUID`, what the built-in uuid convertor's `convert` calls.
static UUID_TYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers `CONVERTOR_TYPES` (once, at import of `tachyon.convertors`), so templates
/// compiled natively can check that each convertor name still means its built-in object.
#[pyfunction]
fn set_convertor_registry(py: Python<'_>, types: Py<PyDict>) -> PyResult<()> {
    let bound = types.bind(py);
    let get = |name: &str| -> PyResult<Py<PyAny>> {
        bound
            .get_item(name)?
            .map(Bound::unbind)
            .ok_or_else(|| PyKeyError::new_err(name.to_owned()))
    };
    let builtins = [
        get("str")?,
        get("path")?,
        get("int")?,
        get("float")?,
        get("uuid")?,
    ];
    CONVERTOR_REGISTRY
        .set(py, (types, builtins))
        .map_err(|_| PyRuntimeError::new_err("set_convertor_registry was already called"))
}

/// Whether every convertor `template` names is, in `CONVERTOR_TYPES` right now, the
/// built-in object of that name: then the native convertor is exactly what
/// `compile_path` would bind.
fn builtin_convertors(py: Python<'_>, template: &Template) -> PyResult<bool> {
    if template.params().len() == 0 {
        return Ok(true);
    }
    let Some((types, builtins)) = CONVERTOR_REGISTRY.get(py) else {
        return Ok(false);
    };
    let types = types.bind(py);
    for (_, convertor) in template.params() {
        let slot = match convertor {
            Convertor::Str => 0,
            Convertor::Path => 1,
            Convertor::Int => 2,
            Convertor::Float => 3,
            Convertor::Uuid => 4,
            _ => return Ok(false),
        };
        match types.get_item(convertor.name())? {
            Some(bound) if bound.is(builtins[slot].bind(py)) => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

/// What a route's match adds to the scope, by route kind: the one definition of the
/// child scope's keys and their order (Starlette's), used by the request path (written into
/// the scope), by the routes' native `matches` (a new dict) and, through `child_scope`, by
/// their Python fallbacks.
pub(crate) enum ChildScope<'py> {
    /// A Route or WebSocketRoute: `endpoint`, `path_params`.
    Endpoint {
        endpoint: Bound<'py, PyAny>,
        path_params: Bound<'py, PyAny>,
    },
    /// A Mount: `path_params`, `app_root_path` (None: what the target already holds is
    /// kept, as writing it again would keep it), `root_path`, `endpoint` (the mounted app).
    Mount {
        path_params: Bound<'py, PyAny>,
        app_root_path: Option<Bound<'py, PyAny>>,
        root_path: Bound<'py, PyAny>,
        endpoint: Bound<'py, PyAny>,
    },
    /// A Host: `path_params`, `endpoint` (the app served for that host).
    Host {
        path_params: Bound<'py, PyAny>,
        endpoint: Bound<'py, PyAny>,
    },
}

impl<'py> ChildScope<'py> {
    /// Writes the keys into `target`, in order.
    pub(crate) fn write(self, target: &Bound<'py, PyDict>) -> PyResult<()> {
        let py = target.py();
        match self {
            ChildScope::Endpoint {
                endpoint,
                path_params,
            } => {
                target.set_item(intern!(py, "endpoint"), endpoint)?;
                target.set_item(intern!(py, "path_params"), path_params)
            }
            ChildScope::Mount {
                path_params,
                app_root_path,
                root_path,
                endpoint,
            } => {
                target.set_item(intern!(py, "path_params"), path_params)?;
                if let Some(app_root_path) = app_root_path {
                    target.set_item(intern!(py, "app_root_path"), app_root_path)?;
                }
                target.set_item(intern!(py, "root_path"), root_path)?;
                target.set_item(intern!(py, "endpoint"), endpoint)
            }
            ChildScope::Host {
                path_params,
                endpoint,
            } => {
                target.set_item(intern!(py, "path_params"), path_params)?;
                target.set_item(intern!(py, "endpoint"), endpoint)
            }
        }
    }

    /// The keys as a new dict (what a route's `matches` returns).
    fn into_dict(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let child = PyDict::new(py);
        self.write(&child)?;
        Ok(child)
    }
}

/// The child scope of a match as a new dict, for the route classes' Python fallbacks (a
/// subclass matched by its own regex): `kind` is the route's (`HTTP` and `WEBSOCKET` give
/// an endpoint's keys; `MOUNT` takes `root_path` and `app_root_path`).
#[pyfunction]
#[pyo3(signature = (kind, endpoint, path_params, root_path = None, app_root_path = None))]
fn child_scope<'py>(
    py: Python<'py>,
    kind: PyRouteKind,
    endpoint: Bound<'py, PyAny>,
    path_params: Bound<'py, PyAny>,
    root_path: Option<Bound<'py, PyAny>>,
    app_root_path: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let child = match kind {
        PyRouteKind::Http | PyRouteKind::WebSocket => ChildScope::Endpoint {
            endpoint,
            path_params,
        },
        PyRouteKind::Mount => ChildScope::Mount {
            path_params,
            app_root_path: Some(app_root_path.unwrap_or_else(|| PyString::new(py, "").into_any())),
            root_path: root_path.unwrap_or_else(|| PyString::new(py, "").into_any()),
            endpoint,
        },
        PyRouteKind::Host => ChildScope::Host {
            path_params,
            endpoint,
        },
        PyRouteKind::Opaque => {
            return Err(PyValueError::new_err(
                "an OPAQUE route has no child scope of its own",
            ));
        }
    };
    child.into_dict(py)
}

/// `scope.get(key)` as a dict copy (`dict(scope.get("path_params", {}))`), or a new dict.
fn inherited_params<'py>(
    py: Python<'py>,
    scope: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    match scope.get_item(intern!(py, "path_params"))? {
        Some(existing) => match existing.cast::<PyDict>() {
            Ok(existing) => existing.copy(),
            Err(_) => py
                .get_type::<PyDict>()
                .call1((existing,))?
                .cast_into::<PyDict>()
                .map_err(PyErr::from),
        },
        None => Ok(PyDict::new(py)),
    }
}

/// The first header named exactly `b"host"` in `scope["headers"]`, as text (latin-1).
fn host_header(py: Python<'_>, scope: &Bound<'_, PyDict>) -> PyResult<Option<String>> {
    let headers = scope
        .get_item(intern!(py, "headers"))?
        .ok_or_else(|| PyKeyError::new_err("headers"))?;
    for item in headers.try_iter()? {
        let item = item?;
        let key = item.get_item(0)?;
        if key.cast::<PyBytes>().is_ok_and(|k| k.as_bytes() == b"host") {
            let value = item.get_item(1)?;
            let value = value.cast::<PyBytes>()?;
            return Ok(Some(latin1_to_string(value.as_bytes()).into_owned()));
        }
    }
    Ok(None)
}

/// One `Route`, `WebSocketRoute`, `Mount` or `Host` compiled alone: its `matches()` in one
/// native call.
///
/// It stands for the route's compiled template (`path_regex` / `host_regex` and
/// `param_convertors`). A matcher from [`RouteMatcher::compile`] is built when the route is,
/// before Starlette's attributes exist: Python compiles those only when something reads
/// them, and drops the matcher when one is assigned. A matcher from `new` stands for the
/// objects it was given and checks on each call that the route still holds them. While it
/// stands, `matches` gives what Starlette's `matches` gives (`endpoint`, `app` and `methods`
/// are read from the route on each call, as Starlette reads them), and None otherwise, so
/// the caller matches in Python.
#[pyclass(module = "tachyon._tachyon", frozen)]
pub struct RouteMatcher {
    route: Route,
    kind: RouteKind,
    entry: Entry,
    /// The template as given (for a mount, its prefix).
    template: Py<PyString>,
    /// Built by `compile`: the route's attributes may still be uncompiled (absent).
    lazy: bool,
    /// The (regex, param_convertors) objects a matcher from `new` stands for.
    compiled: PyOnceLock<(Py<PyAny>, Py<PyAny>)>,
}

impl std::fmt::Debug for RouteMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMatcher")
            .field("kind", &self.kind)
            .field("lazy", &self.lazy)
            .finish_non_exhaustive()
    }
}

impl RouteMatcher {
    fn from_route(
        py: Python<'_>,
        route: Route,
        template: Py<PyString>,
        convertors: Option<Py<PyDict>>,
        lazy: bool,
    ) -> PyResult<Self> {
        let kind = route.kind();
        let names = match route.template() {
            Some(t) => t
                .params()
                .map(|(name, _)| (name.into(), PyString::intern(py, name).unbind()))
                .collect(),
            None => Vec::new(),
        };
        let entry = Entry {
            route: py.None(),
            endpoint: py.None(),
            convertors,
            names,
            resolved: None,
        };
        Ok(Self {
            route,
            kind,
            entry,
            template,
            lazy,
            compiled: PyOnceLock::new(),
        })
    }

    /// Whether `route` still holds what this matcher was compiled from.
    fn stands_for(&self, py: Python<'_>, route: &Bound<'_, PyAny>) -> PyResult<bool> {
        // SAFETY: `route` is a live object; the call returns a new reference or NULL.
        let dict = unsafe { ffi::PyObject_GenericGetDict(route.as_ptr(), std::ptr::null_mut()) };
        if dict.is_null() {
            // No instance dict (slots): not a route this matcher can speak for.
            drop(PyErr::take(py));
            return Ok(false);
        }
        // SAFETY: non-null new reference, just checked.
        let dict = unsafe { Bound::from_owned_ptr(py, dict) };
        let Ok(dict) = dict.cast_into::<PyDict>() else {
            return Ok(false);
        };
        let regex_name = if self.kind == RouteKind::Host {
            intern!(py, "host_regex")
        } else {
            intern!(py, "path_regex")
        };
        let regex = dict.get_item(regex_name)?;
        let convertors = dict.get_item(intern!(py, "param_convertors"))?;
        let same = |held: Option<Bound<'_, PyAny>>, ours: Option<&Py<PyAny>>| match (held, ours) {
            // Never compiled: the template it was built from is the one we hold.
            (None, _) => self.lazy,
            (Some(held), Some(ours)) => held.is(ours.bind(py)),
            (Some(_), None) => false,
        };
        let compiled = self.compiled.get(py);
        Ok(same(regex, compiled.map(|c| &c.0)) && same(convertors, compiled.map(|c| &c.1)))
    }

    /// The child scope's `path_params`: the scope's own (copied), then each matched
    /// parameter but `skip`, converted; a value its convertor refuses raises
    /// `HTTPException(404)` (`members[3]`).
    #[inline]
    fn path_params<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
        params: &Params<'_, '_>,
        skip: Option<&str>,
        members: &[Py<PyAny>; 4],
    ) -> PyResult<Bound<'py, PyDict>> {
        let path_params = inherited_params(py, scope)?;
        for param in params.iter() {
            if skip == Some(param.name) {
                continue;
            }
            let value = convert(py, &param, &self.entry)
                .map_err(|err| not_found(py, err, members[3].bind(py)))?;
            path_params.set_item(self.entry.key(py, param.name), value)?;
        }
        Ok(path_params)
    }

    /// A route path's match for an HTTP or WebSocket route: `(Match, child_scope)`.
    fn match_endpoint<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
        members: &[Py<PyAny>; 4],
    ) -> PyResult<Bound<'py, PyTuple>> {
        let websocket = self.kind == RouteKind::WebSocket;
        let (path, root) = path_and_root(py, scope)?;
        let root_text = str_or_empty(&root)?;
        let route_path = route_path(text(&path)?, root_text);
        let view = if websocket {
            Scope::websocket(route_path)
        } else {
            Scope::http("", route_path)
        };
        let Some(found) = self.route.match_alone(&view) else {
            return no_match(py, members);
        };
        let path_params = self.path_params(py, scope, &found.params, None, members)?;
        let child = ChildScope::Endpoint {
            endpoint: route.getattr(intern!(py, "endpoint"))?,
            path_params: path_params.into_any(),
        }
        .into_dict(py)?;
        let mut level = 2;
        if !websocket {
            let methods = route.getattr(intern!(py, "methods"))?;
            if methods.is_truthy()? {
                let method = scope
                    .get_item(intern!(py, "method"))?
                    .ok_or_else(|| PyKeyError::new_err("method"))?;
                if !methods.contains(method)? {
                    level = 1;
                }
            }
        }
        PyTuple::new(py, [members[level].bind(py).clone(), child.into_any()])
    }

    /// Starlette's `Mount.matches` for an HTTP or WebSocket scope. (The three matchers
    /// take the same parameters, written out in each: `matches` calls one by kind.)
    fn match_mount<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
        members: &[Py<PyAny>; 4],
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (path, root) = path_and_root(py, scope)?;
        let root_text = str_or_empty(&root)?;
        let route_path = route_path(text(&path)?, root_text);
        let Some(found) = self.route.match_alone(&Scope::http("", route_path)) else {
            return no_match(py, members);
        };
        let Some(mount) = found.mount else {
            return no_match(py, members);
        };
        // Starlette converts `path` too, then pops it: the built-in path convertor's str()
        // has no effect to keep.
        let path_params = self.path_params(py, scope, &found.params, Some("path"), members)?;
        let root_value = match &root {
            Some(root) => root.clone(),
            None => PyString::new(py, ""),
        };
        let app_root = match scope.get_item(intern!(py, "app_root_path"))? {
            Some(value) => value,
            None => root_value.clone().into_any(),
        };
        let new_root = if mount.matched.is_empty() {
            root_value
        } else {
            let mut joined = String::with_capacity(root_text.len() + mount.matched.len());
            joined.push_str(root_text);
            joined.push_str(mount.matched);
            PyString::new(py, &joined)
        };
        let child = ChildScope::Mount {
            path_params: path_params.into_any(),
            app_root_path: Some(app_root),
            root_path: new_root.into_any(),
            endpoint: route.getattr(intern!(py, "app"))?,
        }
        .into_dict(py)?;
        PyTuple::new(py, [members[2].bind(py).clone(), child.into_any()])
    }

    /// Starlette's `Host.matches` for an HTTP or WebSocket scope (parameters as
    /// `match_endpoint`'s, see `match_mount`).
    fn match_host<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
        members: &[Py<PyAny>; 4],
    ) -> PyResult<Bound<'py, PyTuple>> {
        let Some(header) = host_header(py, scope)? else {
            return no_match(py, members);
        };
        let Some(parsed) = parse_host_header(&header) else {
            return no_match(py, members);
        };
        // The host part is ASCII (parse_host_header validated it): Python's lower() is this.
        let host = parsed.host.to_ascii_lowercase();
        let view = Scope::http("", "").with_host(&host);
        let Some(found) = self.route.match_alone(&view) else {
            return no_match(py, members);
        };
        let path_params = self.path_params(py, scope, &found.params, None, members)?;
        let child = ChildScope::Host {
            path_params: path_params.into_any(),
            endpoint: route.getattr(intern!(py, "app"))?,
        }
        .into_dict(py)?;
        PyTuple::new(py, [members[2].bind(py).clone(), child.into_any()])
    }
}

impl RouteMatcher {
    /// What `matches` answers (see there), for the route classes' native `matches` too.
    fn match_scope<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        // A matcher from `compile` is dropped by the route when one of its compiled
        // attributes is assigned (tachyon.routing._CompiledTemplate): no check needed.
        if !self.lazy && !self.stands_for(py, route)? {
            return Ok(None);
        }
        let members = MATCH_MEMBERS
            .get(py)
            .ok_or_else(|| PyRuntimeError::new_err("set_match_members was not called"))?;
        let kind = scope
            .get_item(intern!(py, "type"))?
            .ok_or_else(|| PyKeyError::new_err("type"))?;
        let kind = kind.cast::<PyString>().ok();
        let kind = kind.as_ref().and_then(|k| k.to_str().ok());
        let applies = match self.kind {
            RouteKind::Http => kind == Some("http"),
            RouteKind::WebSocket => kind == Some("websocket"),
            _ => matches!(kind, Some("http" | "websocket")),
        };
        if !applies {
            return no_match(py, members).map(Some);
        }
        match self.kind {
            RouteKind::Mount => self.match_mount(py, route, scope, members),
            RouteKind::Host => self.match_host(py, route, scope, members),
            _ => self.match_endpoint(py, route, scope, members),
        }
        .map(Some)
    }
}

/// `(Match.NONE, {})`.
fn no_match<'py>(py: Python<'py>, members: &[Py<PyAny>; 4]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [members[0].bind(py).clone(), PyDict::new(py).into_any()],
    )
}

/// The router crate's kind of a route Python matches natively (not `OPAQUE`).
fn route_kind(kind: PyRouteKind) -> PyResult<RouteKind> {
    kind.native()
        .ok_or_else(|| PyValueError::new_err("an OPAQUE route has no native matcher"))
}

#[pymethods]
impl RouteMatcher {
    /// Compiles `template` (a native template; user convertors renamed and given in
    /// `convertors` as (name, regex)) for an "http" or "websocket" route whose Python
    /// attributes are `path_regex` and `param_convertors`. Raises ValueError when the
    /// template needs a convertor only Python can run.
    #[new]
    fn new(
        py: Python<'_>,
        kind: PyRouteKind,
        template: Bound<'_, PyString>,
        convertors: Vec<(String, String)>,
        path_regex: Py<PyAny>,
        param_convertors: Py<PyDict>,
    ) -> PyResult<Self> {
        let mut unsupported = Vec::new();
        let registry = registry(&convertors, &mut unsupported);
        route_kind(kind)?;
        let spec: RouteSpec = (kind, Some(template.to_str()?.to_owned()), None);
        let route = build_route(&spec, &registry, &unsupported)?
            .ok_or_else(|| PyValueError::new_err("template needs a Python-only convertor"))?;
        let held = param_convertors.clone_ref(py).into_any();
        let matcher =
            Self::from_route(py, route, template.unbind(), Some(param_convertors), false)?;
        let _ = matcher.compiled.set(py, (path_regex, held));
        Ok(matcher)
    }

    /// The matcher of a route being built: `kind` is "http", "websocket", "mount" (template:
    /// the prefix, trailing `/` already removed) or "host". None when only Python's
    /// `compile_path` can say what the template means (a user convertor, a built-in name
    /// re-registered, or a template the native parser refuses: Python then raises its own
    /// error, or compiles it eagerly).
    #[staticmethod]
    fn compile(
        py: Python<'_>,
        kind: PyRouteKind,
        template: Bound<'_, PyString>,
    ) -> PyResult<Option<Self>> {
        let kind = route_kind(kind)?;
        let Ok(route) = Route::new(kind, template.to_str()?, &Convertors::new()) else {
            return Ok(None);
        };
        let Some(parsed) = route.template() else {
            return Ok(None);
        };
        if !builtin_convertors(py, parsed)? {
            return Ok(None);
        }
        Self::from_route(py, route, template.unbind(), None, true).map(Some)
    }

    /// Whether this matcher came from `compile` (the route's attributes compile lazily).
    #[getter]
    fn lazy(&self) -> bool {
        self.lazy
    }

    /// The template this matcher was compiled from (a mount's prefix for mounts).
    #[getter]
    fn template(&self, py: Python<'_>) -> Py<PyString> {
        self.template.clone_ref(py)
    }

    /// `route.matches(scope)`: `(Match, child_scope)`, or None when `route` no longer holds
    /// the regex and convertors this matcher was compiled from (checked for a matcher from
    /// `new`; one from `compile` is dropped by the route itself). A value its convertor
    /// refuses raises `HTTPException(404)`.
    fn matches<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.match_scope(py, route, scope)
    }

    /// Pickles a matcher from `compile` as that call (so a route pickles as Starlette's does);
    /// one built from a route's own attributes cannot be pickled.
    fn __reduce__<'py>(slf: &Bound<'py, Self>, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let this = slf.get();
        if !this.lazy {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "cannot pickle a RouteMatcher compiled from a route's attributes",
            ));
        }
        let kind = match this.kind {
            RouteKind::WebSocket => PyRouteKind::WebSocket,
            RouteKind::Mount => PyRouteKind::Mount,
            RouteKind::Host => PyRouteKind::Host,
            _ => PyRouteKind::Http,
        };
        let compile = slf.get_type().getattr(intern!(py, "compile"))?;
        Ok((compile, (kind, this.template.clone_ref(py))))
    }

    /// Immutable once compiled: a copy is the matcher itself (so `copy.deepcopy` of a
    /// route works; a copy's own attributes are checked against it on each call).
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// As `__copy__`.
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
}

impl Entry {
    /// An entry from its Python objects. The parameter names are read from `convertors`,
    /// which is the route's `param_convertors`, or its `RouteMatcher` for a route whose
    /// attributes were never compiled (its convertors are all built-in).
    fn new(py: Python<'_>, spec: EntrySpec) -> PyResult<Self> {
        let (route, endpoint, convertors, direct) = spec;
        let (names, convertors) = match convertors.bind(py).cast::<RouteMatcher>() {
            Ok(matcher) => {
                let names = matcher
                    .get()
                    .entry
                    .names
                    .iter()
                    .map(|(text, key)| (text.clone(), key.clone_ref(py)))
                    .collect();
                (names, None)
            }
            Err(_) => {
                let dict = convertors.bind(py).cast::<PyDict>()?.clone();
                let names = dict
                    .keys()
                    .iter()
                    .map(|key| {
                        let key = key.cast_into::<PyString>()?;
                        Ok((key.to_str()?.into(), key.unbind()))
                    })
                    .collect::<PyResult<_>>()?;
                (names, Some(dict.unbind()))
            }
        };
        let full = PyTuple::new(
            py,
            [
                route.clone_ref(py),
                true.into_pyobject(py)?.to_owned().into_any().unbind(),
                direct.clone_ref(py),
            ],
        )?
        .unbind();
        let partial = PyTuple::new(
            py,
            [
                route.clone_ref(py),
                false.into_pyobject(py)?.to_owned().into_any().unbind(),
                py.None(),
            ],
        )?
        .unbind();
        Ok(Entry {
            route,
            endpoint,
            convertors,
            names,
            resolved: Some((full, partial)),
        })
    }
}

impl RouteTable {
    fn entry(&self, index: usize) -> PyResult<&Entry> {
        self.entries
            .get(index)
            .ok_or_else(|| PyValueError::new_err("RouteTable built without entries"))
    }

    /// Route `index`'s own `route.matches(scope)`, unpacked as Starlette's router unpacks
    /// it (`match, child_scope = ...`), with the child scope kept.
    fn ask_opaque(
        &self,
        py: Python<'_>,
        index: usize,
        scope: &Bound<'_, PyDict>,
    ) -> PyResult<OpaqueMatch<Py<PyAny>>> {
        let members = MATCH_MEMBERS
            .get(py)
            .ok_or_else(|| PyRuntimeError::new_err("set_match_members was not called"))?;
        let result = self
            .entry(index)?
            .route
            .bind(py)
            .call_method1(intern!(py, "matches"), (scope,))?;
        let (found, child) = match result.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
            _ => {
                let items = result.try_iter()?.collect::<PyResult<Vec<_>>>()?;
                match <[_; 2]>::try_from(items) {
                    Ok([found, child]) => (found, child),
                    Err(items) if items.len() > 2 => {
                        return Err(PyValueError::new_err(
                            "too many values to unpack (expected 2)",
                        ));
                    }
                    Err(items) => {
                        return Err(PyValueError::new_err(format!(
                            "not enough values to unpack (expected 2, got {})",
                            items.len()
                        )));
                    }
                }
            }
        };
        Ok(if found.is(members[2].bind(py)) {
            OpaqueMatch::Full(child.unbind())
        } else if found.is(members[1].bind(py)) {
            OpaqueMatch::Partial(child.unbind())
        } else {
            OpaqueMatch::None
        })
    }
}

/// Starlette's `get_route_path(scope)` ([`route_path`] over `scope["path"]` and
/// `scope.get("root_path", "")`); the path itself comes back when nothing is cut.
#[pyfunction]
fn get_route_path<'py>(scope: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyString>> {
    let py = scope.py();
    let (path_obj, root_obj) = path_and_root(py, scope)?;
    let Some(root_obj) = root_obj else {
        return Ok(path_obj);
    };
    let path = text(&path_obj)?;
    let below = route_path(path, text(&root_obj)?);
    if below.len() == path.len() {
        Ok(path_obj)
    } else {
        Ok(PyString::new(py, below))
    }
}

/// A C method's definition, for the method descriptors made here (the route classes'
/// native `matches`, `RouteTable.route`): the descriptors point into it, so it is static.
struct MethodDef(ffi::PyMethodDef);
// SAFETY: the definitions are immutable and only read by the interpreter.
unsafe impl Sync for MethodDef {}

/// `matches`' docstring, with the signature of the Python method it stands in for.
const MATCHES_DOC: &std::ffi::CStr = c"matches($self, /, scope)\n--\n\nHow this route matches `scope`, and the scope keys to set if it does.";

const fn matches_def<const SLOT: usize>() -> MethodDef {
    MethodDef(ffi::PyMethodDef {
        ml_name: c"matches".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: matches_raw::<SLOT>,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: MATCHES_DOC.as_ptr(),
    })
}

/// The route classes' native `matches`, one per kind in [`matches_slot`]'s order.
static MATCHES_DEFS: [MethodDef; 4] = [
    matches_def::<0>(),
    matches_def::<1>(),
    matches_def::<2>(),
    matches_def::<3>(),
];

/// Per slot: the class's Python `matches`, which serves every call the native path does
/// not answer. Replaced, not kept, if the module defining the classes is imported again.
static MATCHES_FALLBACK: [std::sync::RwLock<Option<Py<PyAny>>>; 4] =
    [const { std::sync::RwLock::new(None) }; 4];

/// The slot of a route kind's `matches` (HTTP, WEBSOCKET, MOUNT, HOST).
fn matches_slot(kind: PyRouteKind) -> PyResult<usize> {
    match kind {
        PyRouteKind::Http => Ok(0),
        PyRouteKind::WebSocket => Ok(1),
        PyRouteKind::Mount => Ok(2),
        PyRouteKind::Host => Ok(3),
        PyRouteKind::Opaque => Err(PyValueError::new_err(
            "an OPAQUE route has no native matches",
        )),
    }
}

/// Returns the native `matches` for the route class `cls` of `kind`: a method descriptor
/// to set as `cls.matches`, so `route.matches(scope)` runs no Python frame. It answers
/// what `fallback` (the class's Python `matches`) answers: natively while the route's
/// `_matcher` is a `RouteMatcher` that still stands for it and the call is
/// `matches(scope)` with a dict, and by calling `fallback` itself otherwise.
#[pyfunction]
fn native_matches<'py>(
    cls: &Bound<'py, pyo3::types::PyType>,
    kind: PyRouteKind,
    fallback: Py<PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let slot = matches_slot(kind)?;
    let previous = {
        let mut held = MATCHES_FALLBACK[slot]
            .write()
            .map_err(|_| PyRuntimeError::new_err("native_matches: poisoned lock"))?;
        held.replace(fallback)
    };
    drop(previous);
    // SAFETY: `MATCHES_DEFS` is static and its pointers are only read; `cls` is a live
    // type; a NULL result is turned into the pending Python exception.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyDescr_NewMethod(
                cls.as_type_ptr(),
                ptr::from_ref(&MATCHES_DEFS[slot].0).cast_mut(),
            ),
        )
    }
}

/// The native answer of `route.matches(scope)`, or None when the Python `matches` must
/// answer (no standing `RouteMatcher`, a scope that is not a dict, an attribute error).
fn native_match<'py>(
    py: Python<'py>,
    route: &Bound<'py, PyAny>,
    scope: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Ok(scope) = scope.cast::<PyDict>() else {
        return Ok(None);
    };
    // `self._matcher`, as the Python method reads it; an error is the Python method's to raise.
    let Ok(matcher) = route.getattr(intern!(py, "_matcher")) else {
        return Ok(None);
    };
    let Ok(matcher) = matcher.cast_exact::<RouteMatcher>() else {
        return Ok(None);
    };
    matcher.get().match_scope(py, route, scope)
}

/// The Python `matches` of `slot` called with the descriptor's arguments (`slf` first).
///
/// # Safety
/// `args` holds `nargs` positional objects followed by one per name in `kwnames` (a tuple
/// of str, or NULL), as the vectorcall protocol gives them.
unsafe fn python_matches<'py>(
    py: Python<'py>,
    slot: usize,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: usize,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    let fallback = {
        let held = MATCHES_FALLBACK[slot]
            .read()
            .map_err(|_| PyRuntimeError::new_err("native_matches: poisoned lock"))?;
        held.as_ref()
            .map(|f| f.clone_ref(py))
            .ok_or_else(|| PyRuntimeError::new_err("native_matches was not called"))?
    };
    let keywords = if kwnames.is_null() {
        0
    } else {
        // SAFETY: a non-NULL `kwnames` is a tuple.
        usize::try_from(unsafe { ffi::PyTuple_GET_SIZE(kwnames) }).unwrap_or(0)
    };
    let mut vector = Vec::with_capacity(1 + nargs + keywords);
    vector.push(slf);
    for i in 0..nargs + keywords {
        // SAFETY: the vector holds `nargs + keywords` objects.
        vector.push(unsafe { *args.add(i) });
    }
    // SAFETY: the vector's objects are borrowed from the caller, alive for the call.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_Vectorcall(fallback.as_ptr(), vector.as_ptr(), nargs + 1, kwnames),
        )
    }
}

/// The descriptors' C function (METH_FASTCALL | METH_KEYWORDS) for `SLOT`: `(Match,
/// child_scope)`, or NULL with an exception set.
///
/// # Safety
/// Called by the interpreter only, attached, with its vectorcall arguments.
unsafe extern "C" fn matches_raw<const SLOT: usize>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter calls us attached, with a live `slf` and its arguments.
    let py = unsafe { Python::assume_attached() };
    let body = || {
        let nargs = usize::try_from(nargsf).unwrap_or(0);
        if kwnames.is_null() && nargs == 1 {
            // SAFETY: `slf` and the one argument are live objects the caller holds.
            let (route, scope) = unsafe {
                (
                    Bound::from_borrowed_ptr(py, slf),
                    Bound::from_borrowed_ptr(py, *args),
                )
            };
            if let Some(found) = native_match(py, &route, &scope)? {
                return Ok(found.into_any());
            }
        }
        // SAFETY: as the vectorcall protocol lays them out.
        unsafe { python_matches(py, SLOT, slf, args, nargs, kwnames) }
    };
    c_method_boundary(py, c"matches: internal error", body)
}

/// What a C method defined here runs as: `body`, its result returned as a new reference, its
/// error set as the Python exception (NULL returned), and a panic turned into
/// `SystemError(panicked)` instead of unwinding into the interpreter.
fn c_method_boundary<'py>(
    py: Python<'py>,
    panicked: &std::ffi::CStr,
    body: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> *mut ffi::PyObject {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match body() {
        Ok(value) => value.into_ptr(),
        Err(err) => {
            err.restore(py);
            ptr::null_mut()
        }
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: `py` proves the thread is attached.
        unsafe { ffi::PyErr_SetString(ffi::PyExc_SystemError, panicked.as_ptr()) };
        ptr::null_mut()
    })
}

/// `RouteTable.route`'s docstring (the method is defined below, outside `#[pymethods]`).
const ROUTE_DOC: &std::ffi::CStr = c"route($self, scope, /)\n--\n\n`Router.resolve(scope)` in one native call, for the request path: the same answer\n(None, or `(route, full, direct)` with the child scope written), with a value its\nconvertor refuses raised as `HTTPException(404)`. Returns NotImplemented when this\ntable cannot answer alone (not built `standalone`, or invalidated since: its route\nlist changed): the caller then calls `Router.resolve`.";

/// `RouteTable.route` as a one-argument C method (METH_O): called once per request by
/// the benchmarks' and tools' Python callers, it takes no argument parsing (the
/// `#[pymethods]` calling convention cost about a tenth of a lookup).
static ROUTE_DEF: MethodDef = MethodDef(ffi::PyMethodDef {
    ml_name: c"route".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: route_raw,
    },
    ml_flags: ffi::METH_O,
    ml_doc: ROUTE_DOC.as_ptr(),
});

/// The C function of `RouteTable.route`: `slf` is a RouteTable (the method descriptor
/// checks it), `scope` must be a dict.
///
/// # Safety
/// Called by the interpreter only, attached, with live `slf` and `scope`.
unsafe extern "C" fn route_raw(
    slf: *mut ffi::PyObject,
    scope: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the interpreter calls us attached, with live arguments.
    let py = unsafe { Python::assume_attached() };
    let body = || {
        // SAFETY: borrowed from the caller for the call.
        let (table, scope) = unsafe {
            (
                Bound::from_borrowed_ptr(py, slf),
                Bound::from_borrowed_ptr(py, scope),
            )
        };
        let table = table.cast::<RouteTable>()?;
        let scope = scope.cast::<PyDict>()?;
        table.get().answer(py, scope)
    };
    c_method_boundary(py, c"route: internal error", body)
}

/// Registers the router classes and functions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RouteTable>()?;
    {
        let py = m.py();
        let cls = py.get_type::<RouteTable>();
        // SAFETY: `ROUTE_DEF` is static and only read; `cls` is a live type; a NULL result
        // is turned into the pending Python exception.
        let method = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyDescr_NewMethod(cls.as_type_ptr(), ptr::from_ref(&ROUTE_DEF.0).cast_mut()),
            )?
        };
        cls.setattr(intern!(py, "route"), method)?;
    }
    m.add_class::<PyRouteKind>()?;
    m.add_class::<Found>()?;
    m.add_class::<PyPathPattern>()?;
    m.add_function(wrap_pyfunction!(compile_path, m)?)?;
    m.add_function(wrap_pyfunction!(rename_convertors, m)?)?;
    m.add_function(wrap_pyfunction!(get_route_path, m)?)?;
    m.add_function(wrap_pyfunction!(child_scope, m)?)?;
    m.add_class::<RouteMatcher>()?;
    m.add_function(wrap_pyfunction!(set_match_members, m)?)?;
    m.add_function(wrap_pyfunction!(native_matches, m)?)?;
    m.add_function(wrap_pyfunction!(set_convertor_registry, m)?)?;
    Ok(())
}
