//! The client's small SQLite files (the cache index, the hash cache): opened on first use,
//! shared by clones, one transaction per call, and safe for several processes at once (WAL,
//! SQLite's locks, a 30 s busy timeout).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// How long a call waits for another process's turn at the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

#[derive(Clone)]
pub(crate) struct LocalDb {
    /// Named in errors ("cache index", "hash cache").
    what: &'static str,
    conn: Arc<Mutex<Option<Connection>>>,
}

impl LocalDb {
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            conn: Arc::default(),
        }
    }

    pub fn error(&self, e: rusqlite::Error) -> std::io::Error {
        std::io::Error::other(format!("{}: {e}", self.what))
    }

    /// Opens `file` with `schema` applied. Commits are not synced one by one: a power cut can
    /// only lose the last entries, which the callers recover from.
    pub fn open_file(&self, file: &Path, schema: &str) -> std::io::Result<Connection> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Switching a new file to WAL, or two processes creating the schema at once, can be
        // refused at once with SQLITE_BUSY (SQLite skips the busy handler where waiting could
        // deadlock): such an open is tried again.
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match Self::try_open(file, schema) {
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => return other.map_err(|e| self.error(e)),
            }
        }
    }

    fn try_open(file: &Path, schema: &str) -> rusqlite::Result<Connection> {
        let conn = Connection::open(file)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Under the write lock from the start: a read that turns into a write can be refused.
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{schema}\nCOMMIT;"))?;
        Ok(conn)
    }

    /// Runs `f` in one transaction, opening the connection with `open` on first use.
    pub fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        open: impl FnOnce() -> std::io::Result<Connection>,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> std::io::Result<T> {
        let mut guard = self.conn.lock().map_err(|_| {
            std::io::Error::other(format!("{}: a thread panicked holding it", self.what))
        })?;
        if guard.is_none() {
            *guard = Some(open()?);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(std::io::Error::other(format!("{}: not open", self.what)));
        };
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| self.error(e))?;
        let out = f(&tx).map_err(|e| self.error(e))?;
        tx.commit().map_err(|e| self.error(e))?;
        Ok(out)
    }
}
