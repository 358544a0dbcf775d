//! Build script: tells the crate which CPython it is compiled for.
//!
//! `tachyon.json` reads a few CPython structures directly (see `src/json/cpython.rs`). Each
//! layout was checked against the headers of one CPython version, so it is compiled in only
//! for that version: this sets `cpython_layout = "3.11"`, `"3.12"` or `"3.13"` for a default
//! (GIL, non-debug, version-specific ABI) CPython build of those versions, and nothing for any
//! other interpreter, which then uses only public calls.

use pyo3_build_config::{BuildFlag, PythonAbiKind, PythonImplementation};

/// The CPython minor versions whose layouts `src/json/cpython.rs` was checked against.
const CHECKED_MINORS: [u8; 3] = [11, 12, 13];

fn main() {
    let config = pyo3_build_config::get();
    // `cpython_layout` alone: any checked version; `cpython_layout = "3.N"`: that one.
    println!(
        "cargo:rustc-check-cfg=cfg(cpython_layout, values(none(), \"3.11\", \"3.12\", \"3.13\"))"
    );
    let flags = &config.build_flags().0;
    let default_cpython = config.implementation() == PythonImplementation::CPython
        && matches!(
            config.target_abi().kind(),
            PythonAbiKind::VersionSpecific(_)
        )
        && !flags.contains(&BuildFlag::Py_GIL_DISABLED)
        && !flags.contains(&BuildFlag::Py_DEBUG);
    let version = config.version();
    if default_cpython && version.major == 3 && CHECKED_MINORS.contains(&version.minor) {
        println!("cargo:rustc-cfg=cpython_layout");
        println!("cargo:rustc-cfg=cpython_layout=\"3.{}\"", version.minor);
    }
}
