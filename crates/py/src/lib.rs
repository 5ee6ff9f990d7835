//! `wanllmdb._core`: the native half of the Python package `wanllmdb`, a thin binding of the
//! Rust SDK (`wanllmdb-client`). One call per user action (log an artifact, download a version),
//! never one per file; the GIL is released while Rust hashes and transfers, and Ctrl-C cancels
//! the work within a tick. The ergonomic, W&B-style API is Python, in `python/wanllmdb`.

use pyo3::prelude::*;

mod errors;
mod runtime;
mod session;

/// Panics on the worker runtime with `message`: the test suite's check that a panic in the
/// core reaches Python as `wanllmdb.Error` and leaves the runtime usable.
#[pyfunction]
fn _panic_in_worker(py: Python<'_>, message: String) -> PyResult<()> {
    runtime::wait(
        py,
        async move {
            if !message.is_empty() {
                panic!("{message}");
            }
            Ok(())
        },
        None,
    )
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<session::Session>()?;
    m.add_function(wrap_pyfunction!(_panic_in_worker, m)?)?;
    Ok(())
}
