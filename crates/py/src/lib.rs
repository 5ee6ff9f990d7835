//! `wanllmdb._core`: the native half of the Python package `wanllmdb`, a thin binding of the
//! Rust SDK (`wanllmdb-client`). One call per user action (log an artifact, download a version),
//! never one per file; the GIL is released while Rust hashes and transfers, and Ctrl-C cancels
//! the work within a tick. The ergonomic, W&B-style API is Python, in `python/wanllmdb`.

use pyo3::prelude::*;

mod errors;
mod runtime;
mod session;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<session::Session>()?;
    Ok(())
}
