//! `RouteTable`: a Python router's routes compiled into one `tachyon_router::Router`.
//!
//! The Python `Router` keeps its Starlette route objects; this table answers "which
//! declaration index wins for this scope" and writes the child scope, in one call per
//! request.

use pyo3::exceptions::{PyAssertionError, PyKeyError, PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString, PyTuple};
use tachyon_router::{
    Convertor, Convertors, Lookup, Param, Route, RouteKind, Router, Scope, TemplateErrorKind,
    route_path,
};

use crate::error::PyTemplateError;

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
}

/// The Python side of one route, for `resolve`: what goes into the child scope.
#[derive(Debug)]
struct Entry {
    /// The route object (`scope["route"]`).
    route: Py<PyAny>,
    /// `scope["endpoint"]`: the endpoint of a Route / WebSocketRoute, the app of a Mount / Host.
    endpoint: Py<PyAny>,
    /// The route's `param_convertors`, for convertors only Python can run (uuid, user ones).
    convertors: Py<PyDict>,
    /// The endpoint to call directly (see `Route.direct_call`), or None.
    direct: Py<PyAny>,
    /// The parameter names (the keys of `convertors`), as text and as the str objects
    /// that become `path_params` keys: no str is built or hashed per request.
    names: Vec<(Box<str>, Py<PyString>)>,
}

impl Entry {
    /// The `path_params` key for parameter `name`.
    fn key<'py>(&self, py: Python<'py>, name: &str) -> Bound<'py, PyString> {
        match self.names.iter().find(|(text, _)| &**text == name) {
            Some((_, key)) => key.bind(py).clone(),
            None => PyString::new(py, name),
        }
    }
}

/// What `resolve` returns for a match: (route, full, direct endpoint or None).
type Resolved = (Py<PyAny>, bool, Py<PyAny>);

/// One route's Python objects as handed over: (route, endpoint, param_convertors, direct).
type EntrySpec = (Py<PyAny>, Py<PyAny>, Py<PyDict>, Py<PyAny>);

/// A path parameter's value as its convertor gives it: str and path as str, int and
/// float parsed here, uuid and user convertors through their Python `convert`.
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
        _ => {
            let convertors = entry.convertors.bind(py);
            match convertors.get_item(param.name)? {
                Some(c) => c.call_method1(intern!(py, "convert"), (param.value,)),
                None => Ok(PyString::new(py, param.value).into_any()),
            }
        }
    }
}

/// How one route is handed over from Python: its kind, its template and its methods.
type RouteSpec = (String, Option<String>, Option<Vec<String>>);

fn build_route(
    spec: &RouteSpec,
    registry: &Convertors,
    unsupported: &[String],
) -> PyResult<Option<Route>> {
    let (kind, template, methods) = spec;
    let kind = match kind.as_str() {
        "http" => RouteKind::Http,
        "websocket" => RouteKind::WebSocket,
        "mount" => RouteKind::Mount,
        "host" => RouteKind::Host,
        "opaque" => return Ok(None),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown route kind {other:?}"
            )));
        }
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

#[pymethods]
impl RouteTable {
    /// Compiles `specs`: one `(kind, template, methods)` per route, where kind is "http",
    /// "websocket", "mount", "host" or "opaque" (matched by Python only). `convertors` are
    /// the user convertors as (name, regex).
    /// `entries`, if given, holds each route's Python objects (route, endpoint,
    /// param_convertors, direct endpoint or None), enabling `resolve`.
    #[new]
    #[pyo3(signature = (specs, convertors = Vec::new(), entries = Vec::new()))]
    fn new(
        py: Python<'_>,
        specs: Vec<RouteSpec>,
        convertors: Vec<(String, String)>,
        entries: Vec<EntrySpec>,
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
        let entries = entries
            .into_iter()
            .map(|spec| Entry::new(py, spec))
            .collect::<PyResult<_>>()?;
        Ok(Self {
            router,
            has_hosts,
            opaque,
            entries,
        })
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

    /// Starlette's winner among the native routes for an http or websocket `scope`.
    ///
    /// Returns None when nothing matched, `(index, False, None, None)` for a PARTIAL match
    /// (path matched, method did not), or `(index, True, params, mount)` for a FULL match,
    /// where params is a tuple of (name, raw value) pairs and mount is None or
    /// (remaining path, matched prefix). `host` is the request's host without port,
    /// lowercased (only needed when `has_hosts`).
    #[pyo3(signature = (scope, host = None))]
    fn lookup<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
        host: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = get_str(scope, intern!(scope.py(), "type"))?
            .ok_or_else(|| PyAssertionError::new_err("type"))?;
        let path = get_str(scope, intern!(scope.py(), "path"))?
            .ok_or_else(|| PyAssertionError::new_err("path"))?;
        let root_path = get_str(scope, intern!(scope.py(), "root_path"))?;
        let path = path.to_str()?;
        let root = match &root_path {
            Some(root) => root.to_str()?,
            None => "",
        };
        let route_path = route_path(path, root);
        let method_obj;
        let scope_view = if kind.to_str()? == "websocket" {
            Scope::websocket(route_path)
        } else {
            method_obj = get_str(scope, intern!(scope.py(), "method"))?;
            let method = match &method_obj {
                Some(m) => m.to_str()?,
                None => "",
            };
            Scope::http(method, route_path)
        };
        let scope_view = scope_view.with_host(host.unwrap_or(""));
        match self.router.lookup(&scope_view) {
            Lookup::NotFound => Ok(py.None().into_bound(py)),
            Lookup::Partial(index) => (index, false, py.None(), py.None())
                .into_pyobject(py)
                .map(Bound::into_any),
            Lookup::Full(found) => {
                let pairs: Vec<(&str, &str)> =
                    found.params.iter().map(|p| (p.name, p.value)).collect();
                let params = PyTuple::new(py, pairs)?;
                let mount = match found.mount {
                    Some(m) => (m.remaining, m.matched).into_pyobject(py)?.into_any(),
                    None => py.None().into_bound(py),
                };
                (found.index, true, params, mount)
                    .into_pyobject(py)
                    .map(Bound::into_any)
            }
        }
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
        let kind = get_str(scope, intern!(scope.py(), "type"))?
            .ok_or_else(|| PyAssertionError::new_err("type"))?;
        let path_obj = get_str(scope, intern!(scope.py(), "path"))?
            .ok_or_else(|| PyAssertionError::new_err("path"))?;
        let root_obj = get_str(scope, intern!(scope.py(), "root_path"))?;
        let method_obj = get_str(scope, intern!(scope.py(), "method"))?;
        let path = path_obj.to_str()?;
        let root = match &root_obj {
            Some(root) => root.to_str()?,
            None => "",
        };
        let route_path = route_path(path, root);
        let view = if kind.to_str()? == "websocket" {
            Scope::websocket(route_path)
        } else {
            let method = match &method_obj {
                Some(m) => m.to_str()?,
                None => "",
            };
            Scope::http(method, route_path)
        };
        let view = view.with_host(host.unwrap_or(""));
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
                    return Ok(Some((entry.route.clone_ref(py), false, py.None())));
                }
            },
            Lookup::Full(found) => (found, true),
        };
        let entry = self.entry(found.index)?;
        let path_params = match scope.get_item(intern!(py, "path_params"))? {
            Some(existing) => existing.cast_into::<PyDict>()?.copy()?,
            None => PyDict::new(py),
        };
        let is_mount = found.mount.is_some();
        for param in found.params.iter() {
            if is_mount && param.name == "path" {
                continue;
            }
            path_params.set_item(entry.key(py, param.name), convert(py, &param, entry)?)?;
        }
        scope.set_item(intern!(py, "route"), entry.route.bind(py))?;
        match found.mount {
            Some(mount) => {
                scope.set_item(intern!(py, "path_params"), path_params)?;
                let root_value = match &root_obj {
                    Some(r) => r.clone().into_any(),
                    None => PyString::new(py, "").into_any(),
                };
                // Set once, at the outermost mount (rewriting it would change nothing).
                if scope.get_item(intern!(py, "app_root_path"))?.is_none() {
                    scope.set_item(intern!(py, "app_root_path"), &root_value)?;
                }
                let new_root = format!("{root}{}", mount.matched);
                scope.set_item(intern!(py, "root_path"), new_root)?;
                scope.set_item(intern!(py, "endpoint"), entry.endpoint.bind(py))?;
            }
            None if self.router.routes()[found.index].kind() == RouteKind::Host => {
                scope.set_item(intern!(py, "path_params"), path_params)?;
                scope.set_item(intern!(py, "endpoint"), entry.endpoint.bind(py))?;
            }
            None => {
                scope.set_item(intern!(py, "endpoint"), entry.endpoint.bind(py))?;
                scope.set_item(intern!(py, "path_params"), path_params)?;
            }
        }
        let direct = if full {
            entry.direct.clone_ref(py)
        } else {
            py.None()
        };
        Ok(Some((entry.route.clone_ref(py), full, direct)))
    }

    /// Whether the other-slash form of the path would match a native route (FULL or
    /// PARTIAL): Starlette's `redirect_slashes` check. HTTP scopes only.
    #[pyo3(signature = (scope, host = None))]
    fn redirect_matches(&self, scope: &Bound<'_, PyDict>, host: Option<&str>) -> PyResult<bool> {
        let path = get_str(scope, intern!(scope.py(), "path"))?
            .ok_or_else(|| PyAssertionError::new_err("path"))?;
        let root_path = get_str(scope, intern!(scope.py(), "root_path"))?;
        let method = get_str(scope, intern!(scope.py(), "method"))?;
        let root = match &root_path {
            Some(root) => root.to_str()?,
            None => "",
        };
        let method = match &method {
            Some(m) => m.to_str()?,
            None => "",
        };
        let view =
            Scope::http(method, route_path(path.to_str()?, root)).with_host(host.unwrap_or(""));
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

/// `Match.NONE`, `Match.PARTIAL` and `Match.FULL` of `tachyon.routing`, then
/// `HTTPException`, given once.
static MATCH_MEMBERS: PyOnceLock<[Py<PyAny>; 4]> = PyOnceLock::new();

/// Registers `tachyon.routing.Match`'s members and `HTTPException` for `RouteMatcher`
/// (once, at import).
#[pyfunction]
fn set_match_members(
    py: Python<'_>,
    none: Py<PyAny>,
    partial: Py<PyAny>,
    full: Py<PyAny>,
    http_exception: Py<PyAny>,
) -> PyResult<()> {
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

/// One `Route` or `WebSocketRoute` compiled alone: its `matches()` in one native call.
///
/// It stands for the route's `path_regex` and `param_convertors` as compiled with it;
/// while the route still holds those very objects, `matches` gives what Starlette's
/// `Route.matches` gives (`endpoint` and `methods` are read from the route on each call, as
/// Starlette reads them), and None otherwise, so the caller matches in Python.
#[pyclass(module = "tachyon._tachyon", frozen)]
#[derive(Debug)]
pub struct RouteMatcher {
    router: Router,
    websocket: bool,
    entry: Entry,
    path_regex: Py<PyAny>,
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
        kind: &str,
        template: &str,
        convertors: Vec<(String, String)>,
        path_regex: Py<PyAny>,
        param_convertors: Py<PyDict>,
    ) -> PyResult<Self> {
        let mut unsupported = Vec::new();
        let registry = registry(&convertors, &mut unsupported);
        let spec: RouteSpec = (kind.to_owned(), Some(template.to_owned()), None);
        let route = build_route(&spec, &registry, &unsupported)?
            .ok_or_else(|| PyValueError::new_err("template needs a Python-only convertor"))?;
        let websocket = route.kind() == RouteKind::WebSocket;
        let mut router = Router::new();
        router.push(route);
        let entry = Entry::new(py, (py.None(), py.None(), param_convertors, py.None()))?;
        Ok(Self {
            router,
            websocket,
            entry,
            path_regex,
        })
    }

    /// `route.matches(scope)`: `(Match, child_scope)`, or None when `route` no longer holds
    /// the regex and convertors this matcher was compiled from. A value its convertor
    /// refuses raises `HTTPException(404)`.
    fn matches<'py>(
        &self,
        py: Python<'py>,
        route: &Bound<'py, PyAny>,
        scope: &Bound<'py, PyDict>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if !route
            .getattr(intern!(py, "path_regex"))?
            .is(self.path_regex.bind(py))
            || !route
                .getattr(intern!(py, "param_convertors"))?
                .is(self.entry.convertors.bind(py))
        {
            return Ok(None);
        }
        let members = MATCH_MEMBERS
            .get(py)
            .ok_or_else(|| PyRuntimeError::new_err("set_match_members was not called"))?;
        let none = || {
            PyTuple::new(
                py,
                [members[0].bind(py).clone(), PyDict::new(py).into_any()],
            )
        };
        let kind = scope
            .get_item(intern!(py, "type"))?
            .ok_or_else(|| PyKeyError::new_err("type"))?;
        let wanted = if self.websocket { "websocket" } else { "http" };
        if kind
            .cast::<PyString>()
            .map_or(true, |k| k.to_str().ok() != Some(wanted))
        {
            return none().map(Some);
        }
        let path = scope
            .get_item(intern!(py, "path"))?
            .ok_or_else(|| PyKeyError::new_err("path"))?
            .cast_into::<PyString>()?;
        let root = get_str(scope, intern!(py, "root_path"))?;
        let root_text = match &root {
            Some(root) => root.to_str()?,
            None => "",
        };
        let route_path = route_path(path.to_str()?, root_text);
        let view = if self.websocket {
            Scope::websocket(route_path)
        } else {
            Scope::http("", route_path)
        };
        let Lookup::Full(found) = self.router.lookup(&view) else {
            return none().map(Some);
        };
        // `dict(scope.get("path_params", {}))`, then this route's values on top.
        let path_params = match scope.get_item(intern!(py, "path_params"))? {
            Some(existing) => match existing.cast::<PyDict>() {
                Ok(existing) => existing.copy()?,
                Err(_) => py
                    .get_type::<PyDict>()
                    .call1((existing,))?
                    .cast_into::<PyDict>()?,
            },
            None => PyDict::new(py),
        };
        for param in found.params.iter() {
            let value = convert(py, &param, &self.entry)
                .map_err(|err| not_found(py, err, members[3].bind(py)))?;
            path_params.set_item(self.entry.key(py, param.name), value)?;
        }
        let child = PyDict::new(py);
        child.set_item(
            intern!(py, "endpoint"),
            route.getattr(intern!(py, "endpoint"))?,
        )?;
        child.set_item(intern!(py, "path_params"), path_params)?;
        let mut level = 2;
        if !self.websocket {
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
        PyTuple::new(py, [members[level].bind(py).clone(), child.into_any()]).map(Some)
    }

    /// Immutable: a copy is the matcher itself (so `copy.deepcopy` of a route works).
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Immutable: a deep copy is the matcher itself.
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
}

impl Entry {
    /// An entry from its Python objects (the parameter names are read from `convertors`).
    fn new(py: Python<'_>, spec: EntrySpec) -> PyResult<Self> {
        let (route, endpoint, convertors, direct) = spec;
        let names = convertors
            .bind(py)
            .keys()
            .iter()
            .map(|key| {
                let key = key.cast_into::<PyString>()?;
                Ok((key.to_str()?.into(), key.unbind()))
            })
            .collect::<PyResult<_>>()?;
        Ok(Entry {
            route,
            endpoint,
            convertors,
            direct,
            names,
        })
    }
}

impl RouteTable {
    fn entry(&self, index: usize) -> PyResult<&Entry> {
        self.entries
            .get(index)
            .ok_or_else(|| PyValueError::new_err("RouteTable built without entries"))
    }
}

/// Registers the router classes and functions on the module.
/// Starlette's `get_route_path(scope)` ([`route_path`] over `scope["path"]` and
/// `scope.get("root_path", "")`); the path itself comes back when nothing is cut.
#[pyfunction]
fn get_route_path<'py>(scope: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyString>> {
    let py = scope.py();
    let path_obj = scope
        .get_item(intern!(py, "path"))?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("path"))?
        .cast_into::<PyString>()?;
    let Some(root_obj) = get_str(scope, intern!(py, "root_path"))? else {
        return Ok(path_obj);
    };
    let path = path_obj.to_str()?;
    let below = route_path(path, root_obj.to_str()?);
    if below.len() == path.len() {
        Ok(path_obj)
    } else {
        Ok(PyString::new(py, below))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RouteTable>()?;
    m.add_function(wrap_pyfunction!(get_route_path, m)?)?;
    m.add_class::<RouteMatcher>()?;
    m.add_function(wrap_pyfunction!(set_match_members, m)?)?;
    Ok(())
}
