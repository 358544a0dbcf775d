//! The `tachyon._tachyon` extension module: glue between Python objects and
//! the pure-Rust crates (tachyon-core, tachyon-router, tachyon-json).

use pyo3::prelude::*;

mod compress;
mod core;
mod cpython;
mod dispatch;
mod error;
mod json;
mod responses;
mod router;
mod rsgi;
mod server;

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
    server::register(m)?;
    Ok(())
}
