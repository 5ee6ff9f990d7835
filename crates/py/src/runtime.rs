//! One tokio runtime per process, and waiting on it from Python: the GIL released, signals
//! checked every tick (Ctrl-C cancels the work and raises `KeyboardInterrupt`), progress told to
//! a Python callable from the calling thread.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use pyo3::prelude::*;
use wanllmdb_client::ClientError;

use crate::errors::{internal, to_py};

/// How often a waiting call wakes to check for signals and report progress.
const TICK: Duration = Duration::from_millis(100);

/// How long a cancelled call waits for its work to stop before it raises.
const CANCEL_GRACE: Duration = Duration::from_millis(500);

/// The runtime and the process it was made in. A child of `fork()` inherits the memory but not
/// the worker threads, so it makes its own (and never touches the parent's).
static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);

pub(crate) fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((made_in, rt)) = slot.as_ref() {
        if *made_in == pid {
            return Ok(rt.clone());
        }
    }
    if let Some(inherited) = slot.take() {
        // Dropping it would wait for threads that do not exist in this process.
        std::mem::forget(inherited);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wanllmdb")
        .build()
        .map_err(|e| internal(format!("cannot start the transfer runtime: {e}")))?;
    let rt = Arc::new(rt);
    *slot = Some((pid, rt.clone()));
    Ok(rt)
}

/// Counts a transfer's bytes for the calling thread to report (no Python call from a worker).
#[derive(Debug, Default)]
pub(crate) struct Counter {
    what: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
    started: AtomicBool,
}

impl wanllmdb_client::Progress for Counter {
    fn start(&self, what: &str, total: u64) {
        if let Ok(mut w) = self.what.lock() {
            *w = what.to_owned();
        }
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.started.store(true, Ordering::Release);
    }

    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    fn grow(&self, bytes: u64) {
        self.total.fetch_add(bytes, Ordering::Relaxed);
    }

    fn finish(&self) {}
}

/// Where a call reports progress: `callback(what, done_bytes, total_bytes)`.
pub(crate) struct Report {
    pub counter: Arc<Counter>,
    pub callback: Py<PyAny>,
}

impl Report {
    fn tell(&self, py: Python<'_>) -> PyResult<()> {
        if !self.counter.started.load(Ordering::Acquire) {
            return Ok(());
        }
        let what = self
            .counter
            .what
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default();
        let done = self.counter.done.load(Ordering::Relaxed);
        let total = self.counter.total.load(Ordering::Relaxed);
        self.callback.call1(py, (what, done, total.max(done)))?;
        Ok(())
    }
}

type Outcome<T> = std::thread::Result<Result<T, ClientError>>;

/// Runs `work` on the runtime and waits for it with the GIL released. Every `TICK` the calling
/// thread takes the GIL back to check for signals (a `KeyboardInterrupt` cancels the work and
/// is raised) and to report progress. A panic in the work becomes a Python exception.
pub(crate) fn wait<T: Send + 'static>(
    py: Python<'_>,
    work: impl Future<Output = Result<T, ClientError>> + Send + 'static,
    report: Option<&Report>,
) -> PyResult<T> {
    let rt = runtime()?;
    let (tx, rx) = mpsc::channel::<Outcome<T>>();
    // Only this thread receives; the lock makes the receiver shareable with `detach`.
    let rx = Mutex::new(rx);
    let recv = |timeout| match rx.lock() {
        Ok(rx) => rx.recv_timeout(timeout),
        Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
    };
    let task = rt.spawn(async move {
        let outcome = AssertUnwindSafe(work).catch_unwind().await;
        let _ = tx.send(outcome);
    });
    loop {
        match py.detach(|| recv(TICK)) {
            Ok(outcome) => {
                if let Some(r) = report {
                    r.tell(py)?;
                }
                return match outcome {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(e)) => Err(to_py(py, e)),
                    Err(panic) => Err(internal(format!(
                        "the transfer failed unexpectedly: {}",
                        panic_message(&panic)
                    ))),
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let checked = py.check_signals().and_then(|()| match report {
                    Some(r) => r.tell(py),
                    None => Ok(()),
                });
                if let Err(interrupted) = checked {
                    task.abort();
                    // The sender goes when the task is dropped: then nothing of it runs on.
                    let _ = py.detach(|| recv(CANCEL_GRACE));
                    return Err(interrupted);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(internal("the transfer stopped without an answer".into()));
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic".to_owned()
    }
}
