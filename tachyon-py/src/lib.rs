//! The `tachyon._tachyon` extension module: glue between Python objects and
//! the pure-Rust crates (tachyon-core, tachyon-router, tachyon-json).

use pyo3::prelude::*;

mod compress;
mod core;
mod coroutine;
mod dispatch;
mod error;
mod json;
mod range;
mod responses;
mod router;
mod rsgi;
mod server;
mod server_ws;

/// The native module imported as `tachyon._tachyon`.
#[pymodule]
fn _tachyon(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // "debug" builds (what `make test` installs) run about 10x slower: serving and
    // benchmarking code warns about them.
    m.add(
        "build_profile",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    )?;
    router::register(m)?;
    json::register(m)?;
    core::register(m)?;
    rsgi::register(m)?;
    responses::register(m)?;
    compress::register(m)?;
    dispatch::register(m)?;
    range::register(m)?;
    // A Rust panic reaches Python as this BaseException subclass; the built-in error layer
    // answers it with a 500 like any Exception (tachyon._exception_handler.SERVER_ERRORS).
    m.add(
        "PanicException",
        m.py().get_type::<pyo3::panic::PanicException>(),
    )?;
    // Whether the panicking test hooks are compiled in (`make develop`; never in a wheel).
    m.add("_test_hooks", cfg!(feature = "test-hooks"))?;
    #[cfg(feature = "test-hooks")]
    test_hooks::register(m)?;
    server::register(m)?;
    server_ws::register(m)?;
    // The default bound on a request head, in bytes: the native server's, and the one
    // tachyon.uvicorn_deadlines applies under uvicorn.
    m.add(
        "DEFAULT_MAX_HEAD_BYTES",
        tachyon_server::DEFAULT_MAX_HEADER_SIZE,
    )?;
    Ok(())
}

/// Hooks for the test suite only, compiled in with the `test-hooks` cargo feature (which
/// `make develop` enables and release builds and wheels do not).
#[cfg(feature = "test-hooks")]
mod test_hooks {
    use pyo3::prelude::*;

    /// Panics with `message`: the tests check that a Rust panic inside a binding reaches
    /// Python as an exception (PyO3's `PanicException`) and the worker keeps serving.
    #[pyfunction]
    fn _test_panic(message: &str) -> PyResult<()> {
        panic!("{message}");
    }

    /// Registers the hooks on the extension module.
    pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add_function(wrap_pyfunction!(_test_panic, m)?)
    }
}
