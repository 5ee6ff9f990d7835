//! SDK errors as the Python package's exceptions (`wanllmdb.errors`), which subclass Python's
//! built-ins (`LookupError`, `PermissionError`, `ValueError`, `ConnectionError`, ...), with the
//! server's problem document kept on the exception.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wanllmdb_client::{ApiProblem, ClientError};

/// The exception class `name` of `wanllmdb.errors`, raised with `message` and attributes.
fn raise(py: Python<'_>, name: &str, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let class = py.import("wanllmdb.errors")?.getattr(name)?;
        let exc = class.call1((message.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v)?;
        }
        Ok(PyErr::from_value(exc))
    })();
    // Only a broken installation gets here; the message still says what went wrong.
    made.unwrap_or_else(|e| PyRuntimeError::new_err(format!("{message} (and {e})")))
}

fn problem_dict(py: Python<'_>, p: &ApiProblem) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("status", p.status)?;
    d.set_item("code", &p.code)?;
    d.set_item("detail", &p.detail)?;
    Ok(d.into_any().unbind())
}

fn api_class(p: &ApiProblem) -> &'static str {
    match p.status {
        404 => "NotFoundError",
        401 | 403 => "PermissionError",
        409 => "ConflictError",
        400 | 413 | 422 => "InvalidError",
        _ => "ApiError",
    }
}

fn io_class(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind::*;
    match kind {
        NotFound => "FileNotFoundError",
        PermissionDenied => "FilePermissionError",
        AlreadyExists => "FileExistsError",
        IsADirectory => "IsADirectoryError",
        NotADirectory => "NotADirectoryError",
        _ => "LocalIOError",
    }
}

/// An exception attribute's name and value (`None`: left unset).
type Attr = (&'static str, Option<Py<PyAny>>);

/// `value` as a Python object, for an exception's attribute.
fn attr<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> Option<Py<PyAny>> {
    pyo3::IntoPyObjectExt::into_py_any(value, py).ok()
}

pub(crate) fn to_py(py: Python<'_>, e: ClientError) -> PyErr {
    let message = e.to_string();
    let (class, attrs): (&str, Vec<Attr>) = match e {
        ClientError::Api(p) => (
            api_class(&p),
            vec![
                ("status", attr(py, p.status)),
                ("code", attr(py, p.code.as_str())),
                ("problem", problem_dict(py, &p).ok()),
            ],
        ),
        ClientError::Http(h) if h.is_timeout() => ("TimeoutError", vec![]),
        ClientError::Http(_) => ("ConnectionError", vec![]),
        ClientError::Io { path, source } => {
            (io_class(source.kind()), vec![("filename", attr(py, path))])
        }
        ClientError::Integrity { path, .. } => ("IntegrityError", vec![("path", attr(py, path))]),
        ClientError::Store { status, .. } => ("StoreError", vec![("status", attr(py, status))]),
        ClientError::Invalid(_) => ("InvalidError", vec![]),
        ClientError::Config(_) => ("ConfigError", vec![]),
    };
    let attrs: Vec<(&str, Py<PyAny>)> = attrs
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    raise(py, class, message, &attrs)
}

/// An error that is nobody's input: a bug or a broken environment.
pub(crate) fn internal(message: String) -> PyErr {
    Python::attach(|py| raise(py, "Error", message, &[]))
}
