//! The client's small SQLite files (the cache index, the hash cache): opened on first use,
//! shared by clones, one transaction per call, and safe for several processes at once (WAL,
//! SQLite's locks, a 30 s busy timeout).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

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
        let conn = Connection::open(file).map_err(|e| self.error(e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| self.error(e))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(|e| self.error(e))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.error(e))?;
        conn.execute_batch(schema).map_err(|e| self.error(e))?;
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
