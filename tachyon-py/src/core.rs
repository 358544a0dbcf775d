//! Glue over `tachyon-core` for `tachyon.datastructures`, `tachyon.requests` and
//! `tachyon.formparsers`: query strings, header lookups over the ASGI scope's own list,
//! cookies, `Set-Cookie` rendering and streaming form parsing.
//!
//! Each function is one Python→Rust crossing per operation and builds its Python result
//! directly (no intermediate Rust collection that is then converted again).

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PySequence, PySlice, PyString, PyTuple};
use tachyon_core::cookies::{Expires, SetCookie, cookie_parser};
use tachyon_core::form::UrlencodedParser as CoreUrlencodedParser;
use tachyon_core::headers::HeaderKey as CoreHeaderKey;
use tachyon_core::multipart::{
    Charset, FileSink, FormValue, Limits, MultipartParser as CoreMultipartParser, PartInfo,
    SinkFactory, parse_options_header as core_parse_options_header,
};
use tachyon_core::query::{latin1_to_string, parse_qsl};
use tachyon_core::url::parse_host_header as core_parse_host_header;

use crate::error::{FormParseError, PyCookieError, PyFormError};

/// Latin-1 bytes to a Python str, as `bytes.decode("latin-1")` (CPython's own decoder).
fn latin1<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let len = isize::try_from(raw.len()).unwrap_or(isize::MAX);
    // SAFETY: the pointer and length describe `raw`, which outlives the call; a NULL
    // result is turned into the pending Python exception.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyUnicode_DecodeLatin1(raw.as_ptr().cast(), len, std::ptr::null()),
        )
        .map(|s| s.cast_into_unchecked())
    }
}

/// Parses a query string (str, or bytes read as latin-1) exactly as Starlette's `QueryParams`
/// does with `parse_qsl(..., keep_blank_values=True)`; returns its `(_list, _dict)`.
///
/// A str that is not valid UTF-8 (lone surrogates) raises UnicodeEncodeError; the caller
/// then falls back to Python's parser.
#[pyfunction]
fn parse_query<'py>(
    py: Python<'py>,
    qs: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyDict>)> {
    let text = if let Ok(b) = qs.cast::<PyBytes>() {
        latin1_to_string(b.as_bytes()).into_owned()
    } else {
        qs.cast::<PyString>()?.to_str()?.to_owned()
    };
    let pairs = parse_qsl(&text);
    let list = PyList::empty(py);
    let dict = PyDict::new(py);
    for (k, v) in &pairs {
        let k = PyString::new(py, k);
        let v = PyString::new(py, v);
        dict.set_item(&k, &v)?;
        list.append(PyTuple::new(py, [k, v])?)?;
    }
    Ok((list, dict))
}

/// `key.lower().encode("latin-1")`: tachyon-core's [`CoreHeaderKey`] for an ASCII str, Python's
/// own methods otherwise (so a key that is not a str, or not latin-1, raises exactly as in
/// Starlette).
enum HeaderKey<'a, 'py> {
    Ascii(CoreHeaderKey<'a>),
    Python(Bound<'py, PyBytes>),
}

impl<'a, 'py> HeaderKey<'a, 'py> {
    fn new(key: &'a Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = key.cast::<PyString>() {
            if let Ok(text) = s.to_str() {
                if text.is_ascii() {
                    return Ok(HeaderKey::Ascii(CoreHeaderKey::new(text)));
                }
            }
        }
        let lowered = key.call_method0("lower")?;
        let encoded = lowered.call_method1("encode", ("latin-1",))?;
        Ok(HeaderKey::Python(encoded.cast_into::<PyBytes>()?))
    }

    /// `stored == key`, with Python's `==` for anything that is not exactly bytes.
    fn matches(&self, stored: &Bound<'py, PyAny>) -> PyResult<bool> {
        match (self, stored.cast_exact::<PyBytes>()) {
            (HeaderKey::Ascii(k), Ok(b)) => Ok(k.matches(b.as_bytes())),
            (HeaderKey::Python(k), Ok(b)) => Ok(b.as_bytes() == k.as_bytes()),
            (HeaderKey::Ascii(k), Err(_)) => {
                let lowered = k.lowered().unwrap_or_default();
                stored.eq(PyBytes::new(stored.py(), &lowered))
            }
            (HeaderKey::Python(k), Err(_)) => stored.eq(k),
        }
    }
}

/// `value.decode("latin-1")`, in Rust for bytes.
pub(crate) fn decode_value<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    match value.cast_exact::<PyBytes>() {
        Ok(b) => latin1(value.py(), b.as_bytes()).map(Bound::into_any),
        Err(_) => value.call_method1("decode", ("latin-1",)),
    }
}

/// One `(name, value)` pair of a header list; the value is fetched only when asked for.
enum Pair<'a, 'py> {
    Tuple(&'a Bound<'py, PyTuple>),
    Owned(Bound<'py, PyAny>, Bound<'py, PyAny>),
}

impl<'py> Pair<'_, 'py> {
    fn name(&self) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Pair::Tuple(t) => t.get_item(0),
            Pair::Owned(k, _) => Ok(k.clone()),
        }
    }

    fn value(&self) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Pair::Tuple(t) => t.get_item(1),
            Pair::Owned(_, v) => Ok(v.clone()),
        }
    }
}

/// Walks a header list as Starlette's `for k, v in self._list` does, calling `f` per pair
/// until it returns `false`.
fn for_each_pair<'py>(
    raw: &Bound<'py, PyAny>,
    mut f: impl FnMut(&Pair<'_, 'py>) -> PyResult<bool>,
) -> PyResult<()> {
    let mut visit = |item: Bound<'py, PyAny>| -> PyResult<bool> {
        if let Ok(t) = item.cast_exact::<PyTuple>() {
            if t.len() == 2 {
                return f(&Pair::Tuple(t));
            }
        }
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item
            .cast::<PySequence>()?
            .to_tuple()?
            .extract()
            .map_err(|_| {
                pyo3::exceptions::PyValueError::new_err("header pairs must have two items")
            })?;
        f(&Pair::Owned(k, v))
    };
    if let Ok(list) = raw.cast_exact::<PyList>() {
        // Indexing (not a snapshot) so a list changed by a Python `__eq__` stays in bounds.
        let mut i = 0;
        while i < list.len() {
            if !visit(list.get_item(i)?)? {
                break;
            }
            i += 1;
        }
    } else {
        for item in raw.try_iter()? {
            if !visit(item?)? {
                break;
            }
        }
    }
    Ok(())
}

/// The first value of header `key` in `raw`, or `default` (Starlette's `Headers.get`;
/// `__getitem__` passes a sentinel default to raise its KeyError).
#[pyfunction]
#[pyo3(signature = (raw, key, default = None))]
fn headers_get<'py>(
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let key = HeaderKey::new(key)?;
    let mut found = None;
    for_each_pair(raw, |pair| {
        if key.matches(&pair.name()?)? {
            found = Some(decode_value(&pair.value()?)?);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(match (found, default) {
        (Some(v), _) => v,
        (None, Some(d)) => d,
        (None, None) => raw.py().None().into_bound(raw.py()),
    })
}

/// Every value of header `key` in `raw`, in order (Starlette's `Headers.getlist`).
#[pyfunction]
fn headers_getlist<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let key = HeaderKey::new(key)?;
    let out = PyList::empty(py);
    for_each_pair(raw, |pair| {
        if key.matches(&pair.name()?)? {
            out.append(decode_value(&pair.value()?)?)?;
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Whether header `key` is in `raw` (Starlette's `Headers.__contains__`).
#[pyfunction]
fn headers_contains(raw: &Bound<'_, PyAny>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
    let key = HeaderKey::new(key)?;
    let mut found = false;
    for_each_pair(raw, |pair| {
        found = key.matches(&pair.name()?)?;
        Ok(!found)
    })?;
    Ok(found)
}

fn insert_cookies(dict: &Bound<'_, PyDict>, header: &str) -> PyResult<()> {
    for (k, v) in cookie_parser(header) {
        dict.set_item(k, v)?;
    }
    Ok(())
}

/// Starlette's `cookie_parser`: a lenient Cookie header parse, later duplicates winning.
#[pyfunction]
fn parse_cookie<'py>(py: Python<'py>, cookie: &str) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    insert_cookies(&dict, cookie)?;
    Ok(dict)
}

/// Starlette's `request.cookies`: every `cookie` header of the raw list, parsed in order
/// into one dict.
#[pyfunction]
fn request_cookies<'py>(py: Python<'py>, raw: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let key = HeaderKey::Ascii(CoreHeaderKey::new("cookie"));
    for_each_pair(raw, |pair| {
        if key.matches(&pair.name()?)? {
            let v = pair.value()?;
            match v.cast_exact::<PyBytes>() {
                Ok(b) => insert_cookies(&dict, &latin1_to_string(b.as_bytes()))?,
                Err(_) => {
                    let text = decode_value(&v)?;
                    insert_cookies(&dict, text.cast::<PyString>()?.to_str()?)?;
                }
            }
        }
        Ok(true)
    })?;
    Ok(dict)
}

/// The `Set-Cookie` value Starlette's `Response.set_cookie` appends
/// (`cookie.output(header="").strip()`), for the common argument types: str key, value,
/// path, domain and samesite, `max_age` an int, `expires` an int (seconds from now) or a str
/// (already formatted; format a datetime with `email.utils.format_datetime(dt, usegmt=True)`
/// first). All ten arguments are positional and required. For any other type, and for
/// `partitioned`, it returns None: only `http.cookies` renders those (and raises Starlette's
/// errors for them). Invalid cookies raise as [`PyCookieError`] says.
#[pyfunction]
#[pyo3(signature = (key, value, max_age, expires, path, domain, secure, httponly, samesite, partitioned, /))]
#[allow(clippy::too_many_arguments)]
fn render_set_cookie(
    key: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
    max_age: Option<&Bound<'_, PyAny>>,
    expires: Option<&Bound<'_, PyAny>>,
    path: Option<&Bound<'_, PyAny>>,
    domain: Option<&Bound<'_, PyAny>>,
    secure: &Bound<'_, PyAny>,
    httponly: &Bound<'_, PyAny>,
    samesite: Option<&Bound<'_, PyAny>>,
    partitioned: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    /// `Some(Some(text))` for an exact str, `Some(None)` for None, `None` for other types.
    fn text(obj: Option<&Bound<'_, PyAny>>) -> Option<Option<String>> {
        match obj {
            None => Some(None),
            Some(o) if o.is_none() => Some(None),
            Some(o) => o
                .cast_exact::<PyString>()
                .ok()?
                .to_str()
                .ok()
                .map(|s| Some(s.to_owned())),
        }
    }
    fn int(obj: Option<&Bound<'_, PyAny>>) -> Option<Option<i64>> {
        match obj {
            None => Some(None),
            Some(o) if o.is_none() => Some(None),
            Some(o) if o.is_exact_instance_of::<pyo3::types::PyInt>() => o.extract().ok().map(Some),
            Some(_) => None,
        }
    }
    if partitioned.is_truthy()? {
        // Python's http.cookies decides (it needs 3.14); Starlette's error comes from there.
        return Ok(None);
    }
    let (Some(Some(key)), Some(Some(value)), Some(max_age)) =
        (text(Some(key)), text(Some(value)), int(max_age))
    else {
        return Ok(None);
    };
    let expires = match expires {
        Some(e) if e.is_exact_instance_of::<pyo3::types::PyInt>() => match e.extract() {
            Ok(secs) => Some(Expires::In(secs)),
            Err(_) => return Ok(None),
        },
        other => match text(other) {
            Some(t) => t.map(Expires::Text),
            None => return Ok(None),
        },
    };
    let (Some(path), Some(domain), Some(samesite)) = (text(path), text(domain), text(samesite))
    else {
        return Ok(None);
    };
    let mut cookie = SetCookie::new(key, value);
    // Every argument is given (Response.set_cookie passes Starlette's defaults itself), so
    // None is always the caller's None.
    cookie.max_age = max_age;
    cookie.expires = expires;
    cookie.path = path;
    cookie.domain = domain;
    cookie.secure = secure.is_truthy()?;
    cookie.httponly = httponly.is_truthy()?;
    cookie.samesite = samesite;
    cookie
        .render()
        .map(Some)
        .map_err(|e| PyCookieError(e).into())
}

/// Starlette's `parse_host_header` (tachyon-core's [`parse_host_header`]): `(host, port,
/// port_is_valid)`, or None for a header that could alter the URL (or text that is not UTF-8).
#[pyfunction]
fn parse_host_header<'py>(
    value: &Bound<'py, PyString>,
) -> Option<(Bound<'py, PyString>, Option<Bound<'py, PyString>>, bool)> {
    let py = value.py();
    let parsed = core_parse_host_header(value.to_str().ok()?)?;
    Some((
        PyString::new(py, parsed.host),
        parsed.port.map(|p| PyString::new(py, p)),
        parsed.is_valid_port(),
    ))
}

/// Whether the multipart parser decodes a part labelled `charset=label` as UTF-8 itself
/// (tachyon-core's `Charset::from_label`); every other label is read as latin-1.
#[pyfunction]
fn charset_is_native_utf8(label: &str) -> bool {
    matches!(Charset::from_label(label), Charset::Utf8)
}

/// python-multipart's `parse_options_header` on a str: the lowercased value and its
/// parameters in order (later duplicates replace earlier ones).
#[pyfunction]
fn parse_options_header(value: &str) -> (String, Vec<(String, String)>) {
    core_parse_options_header(value)
}

/// Limits from Python, where Starlette allows floats (`float("inf")` for "no limit"):
/// the caller passes them already floored and clamped to `0..=sys.maxsize`.
fn limits(max_files: usize, max_fields: usize, max_part_size: usize) -> Limits {
    Limits {
        max_files,
        max_fields,
        max_part_size,
    }
}

/// What the sinks of one parser share: the Python upload objects created so far and the
/// file bytes produced by the current `feed`, already as Python bytes (one copy of each
/// piece: a Rust buffer first would add a chunk-sized copy to the peak memory).
#[derive(Debug, Default)]
struct Shared {
    uploads: Vec<Py<PyAny>>,
    pending: Vec<(usize, Py<PyAny>)>,
    /// The chunk being fed, and where its bytes are: a write of exactly those bytes (a
    /// chunk that is all file content) hands on the chunk itself, copying nothing.
    chunk: Option<(Py<PyBytes>, usize, usize)>,
    /// Whether a large write of part of the chunk may be handed on as a memoryview of it
    /// (the parser's own uploads, whose `write` takes any bytes-like object).
    views: bool,
    /// The factory's exception, if creating an upload raised.
    error: Option<PyErr>,
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Pieces of a fed chunk at least this long are handed on as a memoryview of the chunk
/// (when the parser allows views): copying one would add a chunk-sized block to the peak
/// memory that later zero-copy chunks never reuse.
const VIEW_MIN: usize = 16 * 1024;

/// A file part's sink: its bytes are queued for Python, which writes them to the part's
/// `UploadFile` (a `SpooledTemporaryFile`, as in Starlette) after each `feed`.
#[derive(Debug)]
struct UploadSink {
    index: usize,
    shared: SharedRef,
}

impl FileSink for UploadSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        // Called inside `feed`, so the thread is attached already: attaching is a check.
        let mut shared = lock(&self.shared);
        let bytes = Python::attach(|py| {
            if let Some((chunk, at, len)) = &shared.chunk {
                let start = (data.as_ptr() as usize).wrapping_sub(*at);
                if start == 0 && *len == data.len() {
                    return chunk.clone_ref(py).into_any();
                }
                if shared.views
                    && data.len() >= VIEW_MIN
                    && start < *len
                    && data.len() <= len - start
                {
                    // Inside the chunk: a view of it rather than a copy (the first and last
                    // pieces of a file, around the part's headers and the delimiter).
                    let view = PyMemoryView::from(chunk.bind(py)).and_then(|view| {
                        view.get_item(PySlice::new(
                            py,
                            start as isize,
                            (start + data.len()) as isize,
                            1,
                        ))
                    });
                    if let Ok(view) = view {
                        return view.unbind();
                    }
                }
            }
            PyBytes::new(py, data).into_any().unbind()
        });
        shared.pending.push((self.index, bytes));
        Ok(())
    }
}

/// Creates each file part's Python `UploadFile` with `factory(filename, headers)`.
#[derive(Debug)]
struct UploadFactory {
    factory: Py<PyAny>,
    shared: SharedRef,
}

impl SinkFactory for UploadFactory {
    type Sink = UploadSink;

    fn create(&mut self, part: &PartInfo<'_>) -> std::io::Result<UploadSink> {
        Python::attach(|py| {
            let headers = PyList::empty(py);
            for (k, v) in part.headers {
                headers.append((PyBytes::new(py, k), PyBytes::new(py, v)))?;
            }
            let upload = self.factory.call1(py, (part.filename, headers))?;
            let mut shared = lock(&self.shared);
            shared.uploads.push(upload);
            Ok(UploadSink {
                index: shared.uploads.len() - 1,
                shared: self.shared.clone(),
            })
        })
        .map_err(|e: PyErr| {
            lock(&self.shared).error = Some(e);
            std::io::Error::other("the upload factory raised")
        })
    }
}

/// A streaming `multipart/form-data` parser for `Request.form()`.
///
/// `feed(chunk)` returns the file writes it produced as `[(upload, bytes)]`, which the
/// caller awaits `upload.write(bytes)` for; `finish()` returns the form items in order,
/// each `(name, str | upload)`. Errors raise `FormParseError(kind, message)`.
#[pyclass(module = "tachyon._tachyon")]
#[derive(Debug)]
pub struct MultipartParser {
    // Boxed: the parser holds a SIMD searcher aligned to 32 bytes, more than Python's
    // allocator guarantees for the object itself (PyO3 aborts on the misaligned pointer).
    parser: Option<Box<CoreMultipartParser<UploadFactory>>>,
    shared: SharedRef,
}

impl MultipartParser {
    fn form_error(&self, err: tachyon_core::FormError) -> PyErr {
        match lock(&self.shared).error.take() {
            Some(e) => e,
            None => PyFormError(err).into(),
        }
    }
}

#[pymethods]
impl MultipartParser {
    /// A parser for a request's `content_type`; `factory(filename, raw_headers)` makes the
    /// upload object of each file part. With `views`, `feed` may hand on a large piece of
    /// the chunk as a memoryview of it instead of a bytes copy.
    #[new]
    #[pyo3(signature = (content_type, max_files, max_fields, max_part_size, factory, views = false))]
    fn new(
        content_type: &str,
        max_files: usize,
        max_fields: usize,
        max_part_size: usize,
        factory: Py<PyAny>,
        views: bool,
    ) -> PyResult<Self> {
        let shared = SharedRef::default();
        lock(&shared).views = views;
        let factory = UploadFactory {
            factory,
            shared: shared.clone(),
        };
        let parser = CoreMultipartParser::from_content_type(
            content_type,
            limits(max_files, max_fields, max_part_size),
            factory,
        )
        .map_err(PyFormError)?;
        Ok(Self {
            parser: Some(Box::new(parser)),
            shared,
        })
    }

    /// Parses the next chunk; returns the file writes it produced.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        chunk: &Bound<'py, PyBytes>,
    ) -> PyResult<Bound<'py, PyList>> {
        let parser = self.parser.as_mut().ok_or_else(finished)?;
        let data = chunk.as_bytes();
        lock(&self.shared).chunk =
            Some((chunk.clone().unbind(), data.as_ptr() as usize, data.len()));
        let fed = parser.feed(data);
        lock(&self.shared).chunk = None;
        if let Err(e) = fed {
            return Err(self.form_error(e));
        }
        let mut shared = lock(&self.shared);
        let pending = std::mem::take(&mut shared.pending);
        let out = PyList::empty(py);
        for (index, data) in pending {
            out.append((shared.uploads[index].bind(py), data))?;
        }
        Ok(out)
    }

    /// Ends the body; returns the items `[(name, str | upload)]` in body order.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let parser = self.parser.take().ok_or_else(finished)?;
        let form = parser.finish().map_err(|e| self.form_error(e))?;
        let shared = lock(&self.shared);
        let out = PyList::empty(py);
        for (name, value) in form.items {
            let value = match value {
                FormValue::Field(text) => PyString::new(py, &text).into_any(),
                FormValue::File(part) => shared.uploads[part.sink.index].bind(py).clone(),
            };
            out.append((name, value))?;
        }
        Ok(out)
    }

    /// Every upload object created so far (for closing them on error).
    #[getter]
    fn uploads<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyAny>> {
        lock(&self.shared)
            .uploads
            .iter()
            .map(|u| u.bind(py).clone())
            .collect()
    }
}

fn finished() -> PyErr {
    FormParseError::new_err(("invalid", "the parser has already finished"))
}

/// A chunked `application/x-www-form-urlencoded` parser with Starlette's limits.
///
/// Each field becomes its pair of strs as it ends, straight from the raw bytes: a field
/// that lies whole in a chunk from the chunk itself (a field that starts at the end of a
/// chunk is held there, by reference, until the next chunk or the end of the body shows
/// whether it continues), one that spans chunks from the parser's buffer. A megabytes-long
/// value sent in one chunk is copied once, into its str.
#[pyclass(module = "tachyon._tachyon")]
#[derive(Debug)]
pub struct UrlencodedParser {
    parser: Option<CoreUrlencodedParser>,
    items: Vec<(Py<PyString>, Py<PyString>)>,
    /// The last chunk fed and where the field it ends with starts, when that field has not
    /// been handed to the parser yet.
    deferred: Option<(Py<PyBytes>, usize)>,
}

/// How [`UrlencodedParser::parse_with`] steps the core parser: feed a chunk (its deferred
/// tail, if any, first), or end the body.
enum Step<'a> {
    Feed(&'a [u8]),
    Finish,
}

impl UrlencodedParser {
    /// Runs one step, turning each ended field into its strs; returns where the chunk's
    /// deferred tail starts. The first Python error (a MemoryError) is returned after the
    /// step, and no str is built after it.
    fn parse_with(&mut self, py: Python<'_>, step: Step<'_>) -> PyResult<usize> {
        let parser = self.parser.as_mut().ok_or_else(finished)?;
        let items = &mut self.items;
        let mut error: Option<PyErr> = None;
        let mut on_field = |name: &[u8], value: &[u8]| {
            if error.is_some() {
                return;
            }
            match (field_str(py, name), field_str(py, value)) {
                (Ok(name), Ok(value)) => items.push((name.unbind(), value.unbind())),
                (Err(e), _) | (_, Err(e)) => error = Some(e),
            }
        };
        let deferred = self.deferred.take();
        let tail = deferred
            .as_ref()
            .map(|(chunk, at)| &chunk.as_bytes(py)[*at..]);
        let result = match (step, tail) {
            (Step::Feed(chunk), tail) => tail
                .map_or(Ok(()), |tail| parser.feed_raw(tail, &mut on_field))
                .and_then(|()| parser.feed_raw_deferring(chunk, &mut on_field)),
            (Step::Finish, tail) => parser
                .finish_raw_with(tail.unwrap_or(b""), &mut on_field)
                .map(|()| 0),
        };
        let at = result.map_err(PyFormError)?;
        error.map_or(Ok(at), Err)
    }
}

#[pymethods]
impl UrlencodedParser {
    /// A parser refusing more than `max_fields` fields or a field over `max_part_size` bytes.
    #[new]
    fn new(max_fields: usize, max_part_size: usize) -> Self {
        Self {
            parser: Some(CoreUrlencodedParser::new(limits(
                usize::MAX,
                max_fields,
                max_part_size,
            ))),
            items: Vec::new(),
            deferred: None,
        }
    }

    /// Parses the next chunk.
    fn feed(&mut self, chunk: &Bound<'_, PyBytes>) -> PyResult<()> {
        let py = chunk.py();
        let bytes = chunk.as_bytes();
        let at = self.parse_with(py, Step::Feed(bytes))?;
        if at < bytes.len() {
            self.deferred = Some((chunk.clone().unbind(), at));
        }
        Ok(())
    }

    /// `(fields ended, refused one included; raw name; raw value)` of the field being
    /// read: what Starlette's FormParser keeps as `_current_fields`, `_field_name` and
    /// `_field_value`.
    fn progress<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(usize, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let parser = self.parser.as_ref().ok_or_else(finished)?;
        let (name, value) = match &self.deferred {
            // A field held in its chunk is the one being read (the parser's own is empty).
            Some((chunk, at)) => tachyon_core::form::split_field(&chunk.as_bytes(py)[*at..]),
            None => (parser.field_name(), parser.field_value()),
        };
        Ok((
            parser.fields_seen(),
            PyBytes::new(py, name),
            PyBytes::new(py, value),
        ))
    }

    /// Ends the body; returns the fields `[(name, value)]` in order.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.parse_with(py, Step::Finish)?;
        let items = std::mem::take(&mut self.items);
        PyList::new(py, items)
    }
}

/// A raw field name or value as the str Starlette's parser gives: latin-1, then
/// `unquote_plus`. Without `%` or `+` that is latin-1 alone, decoded by CPython straight
/// from the bytes (for ASCII, one scan and one copy into the str).
fn field_str<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyString>> {
    if tachyon_core::form::has_escapes(raw) {
        Ok(PyString::new(py, &tachyon_core::form::decode_field(raw)))
    } else {
        latin1(py, raw)
    }
}

/// Registers the core functions and classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_query, m)?)?;
    m.add_function(wrap_pyfunction!(headers_get, m)?)?;
    m.add_function(wrap_pyfunction!(headers_getlist, m)?)?;
    m.add_function(wrap_pyfunction!(headers_contains, m)?)?;
    m.add_function(wrap_pyfunction!(parse_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(request_cookies, m)?)?;
    m.add_function(wrap_pyfunction!(render_set_cookie, m)?)?;
    m.add_function(wrap_pyfunction!(parse_options_header, m)?)?;
    m.add_function(wrap_pyfunction!(parse_host_header, m)?)?;
    m.add_function(wrap_pyfunction!(charset_is_native_utf8, m)?)?;
    m.add_class::<MultipartParser>()?;
    m.add_class::<UrlencodedParser>()?;
    m.add("FormParseError", m.py().get_type::<FormParseError>())?;
    Ok(())
}
