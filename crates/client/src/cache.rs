//! A local content cache: files by SHA-256 under `dir/sha256/aa/{sha}`, bounded in size, least
//! recently used evicted first. An index (SQLite, `dir/index.sqlite`) knows every entry's size,
//! modification time and last use and the total, so no operation walks the folder, and two
//! processes sharing the cache take turns through SQLite's locks.
//!
//! The index heals itself where it and the files disagree: an entry whose file was deleted, or
//! whose size or modification time moved (edited in place), is dropped (and the file with it)
//! the next time it is asked for; a file without an entry (an older cache, or a crash between
//! storing it and recording it) is adopted when its size matches; copies a crash left half
//! written sit in `dir/tmp` and are removed after an hour.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use wanllmdb_domain::types::Sha256;

use crate::local_db::LocalDb;

/// The cache's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheInfo {
    pub files: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// Half-written copies older than this are a crash's leftovers.
const STALE_TMP: Duration = Duration::from_secs(3600);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    sha256    TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    used      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
CREATE TABLE IF NOT EXISTS totals (
    id     INTEGER PRIMARY KEY CHECK (id = 0),
    bytes  INTEGER NOT NULL
);
";

/// The cache's default bound.
pub const DEFAULT_MAX_BYTES: u64 = 20 << 30;

/// Files above this size are not copied into the cache when they cannot be linked.
pub const DEFAULT_COPY_LIMIT: u64 = 1 << 30;

/// How a file and its cached copy came to share bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// A copy-on-write clone: two files, one set of blocks until either is written.
    Reflinked,
    /// Two names of one read-only file.
    Linked,
    /// The bytes were written twice.
    Copied,
    /// Not cached: too large to copy, and linking was impossible.
    Skipped,
}

/// See the module documentation. Clones share one connection to the index.
#[derive(Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    copy_limit: u64,
    index: LocalDb,
    /// Cleared after the first failure, so a filesystem without reflinks (or a cache on another
    /// filesystem than the targets) is not asked again for every file.
    reflinks: Arc<AtomicBool>,
    hardlinks: Arc<AtomicBool>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

fn other(e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(format!("cache index: {e}"))
}

fn ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified().map(ns).unwrap_or(0)
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// Records an entry (new or replacing one), keeping the total.
fn record(
    tx: &Transaction<'_>,
    sha: &str,
    size: u64,
    mtime: i64,
    used: i64,
) -> rusqlite::Result<()> {
    let old: Option<i64> = tx
        .query_row("SELECT size FROM entries WHERE sha256 = ?1", [sha], |r| {
            r.get(0)
        })
        .optional()?;
    tx.execute(
        "INSERT INTO entries (sha256, size, mtime_ns, used) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sha256) DO UPDATE SET size = ?2, mtime_ns = ?3, used = ?4",
        params![sha, size_i64(size), mtime, used],
    )?;
    tx.execute(
        "UPDATE totals SET bytes = bytes + ?1 WHERE id = 0",
        [size_i64(size) - old.unwrap_or(0)],
    )?;
    Ok(())
}

/// Drops an entry, keeping the total.
fn forget(tx: &Transaction<'_>, sha: &str) -> rusqlite::Result<()> {
    let old: Option<i64> = tx
        .query_row("SELECT size FROM entries WHERE sha256 = ?1", [sha], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(size) = old {
        tx.execute("DELETE FROM entries WHERE sha256 = ?1", [sha])?;
        tx.execute("UPDATE totals SET bytes = bytes - ?1 WHERE id = 0", [size])?;
    }
    Ok(())
}

impl Cache {
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self {
            dir,
            max_bytes,
            copy_limit: DEFAULT_COPY_LIMIT,
            index: LocalDb::new("cache index"),
            reflinks: Arc::new(AtomicBool::new(true)),
            hardlinks: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Files above `bytes` are cached only when they can be linked, never copied (default
    /// 1 GiB).
    pub fn with_copy_limit(mut self, bytes: u64) -> Self {
        self.copy_limit = bytes;
        self
    }

    /// Makes `to` (which must not exist) share `from`'s bytes: a reflink where the filesystem
    /// clones, else a hard link (`from` made read-only first, as cached copies are), else
    /// nothing. What failed once is not tried again.
    fn share(&self, from: &Path, to: &Path) -> Option<Shared> {
        if self.reflinks.load(Ordering::Relaxed) {
            match reflink_copy::reflink(from, to) {
                Ok(()) => return Some(Shared::Reflinked),
                Err(_) => {
                    let _ = std::fs::remove_file(to);
                    self.reflinks.store(false, Ordering::Relaxed);
                }
            }
        }
        if self.hardlinks.load(Ordering::Relaxed) {
            let before = std::fs::metadata(from).ok()?.permissions();
            let mut readonly = before.clone();
            readonly.set_readonly(true);
            if readonly != before && std::fs::set_permissions(from, readonly).is_err() {
                return None;
            }
            match std::fs::hard_link(from, to) {
                Ok(()) => return Some(Shared::Linked),
                Err(_) => {
                    self.hardlinks.store(false, Ordering::Relaxed);
                    let _ = std::fs::set_permissions(from, before);
                }
            }
        }
        None
    }

    /// Puts the cached copy `cached` at `dest` (which must not exist) without writing its bytes
    /// again, if the filesystem allows; `None` when the caller must copy.
    pub fn place(&self, cached: &Path, dest: &Path) -> Option<Shared> {
        self.share(cached, dest)
    }

    /// The cache the CLI and the Python package use: `Cache::default_dir()`, at most
    /// `$WANLLMDB_CACHE_MAX_BYTES` (default 20 GiB); files it cannot link are copied into it up
    /// to `$WANLLMDB_CACHE_COPY_LIMIT` bytes (default 1 GiB).
    pub fn from_env() -> Self {
        Self::from_env_with(None, None)
    }

    /// `from_env`, with the folder and the bound given where they are `Some` (the rest, such
    /// as the copy limit, still from the environment).
    pub fn from_env_with(dir: Option<PathBuf>, max_bytes: Option<u64>) -> Self {
        fn bytes_var(name: &str, default: u64) -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        }
        Self::new(
            dir.unwrap_or_else(Self::default_dir),
            max_bytes.unwrap_or_else(|| bytes_var("WANLLMDB_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES)),
        )
        .with_copy_limit(bytes_var("WANLLMDB_CACHE_COPY_LIMIT", DEFAULT_COPY_LIMIT))
    }

    /// The bound on the cache's size, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Files above this many bytes are cached only by linking.
    pub fn copy_limit(&self) -> u64 {
        self.copy_limit
    }

    /// `$WANLLMDB_CACHE_DIR`, else `$XDG_CACHE_HOME/wanllmdb`, else `~/.cache/wanllmdb`.
    pub fn default_dir() -> PathBuf {
        std::env::var_os("WANLLMDB_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("wanllmdb"))
            })
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wanllmdb")))
            .unwrap_or_else(|| PathBuf::from(".wanllmdb-cache"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, sha: &Sha256) -> PathBuf {
        self.dir
            .join("sha256")
            .join(&sha.as_str()[..2])
            .join(sha.as_str())
    }

    /// Runs `f` in one write transaction of the index, opened (and created) on first use.
    fn with_index<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> std::io::Result<T> {
        self.in_index(rusqlite::TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in one transaction that only reads (other processes keep writing meanwhile).
    fn read_index<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> std::io::Result<T> {
        self.in_index(rusqlite::TransactionBehavior::Deferred, f)
    }

    fn in_index<T>(
        &self,
        behavior: rusqlite::TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> std::io::Result<T> {
        self.index.transaction(behavior, || self.open(), f)
    }

    fn open(&self) -> std::io::Result<Connection> {
        std::fs::create_dir_all(self.dir.join("tmp"))?;
        self.remove_stale_tmp();
        // Losing the last commits in a power cut only forgets entries; `get` re-adopts them.
        let mut conn = self
            .index
            .open_file(&self.dir.join("index.sqlite"), SCHEMA)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(other)?;
        let fresh = tx
            .execute("INSERT OR IGNORE INTO totals (id, bytes) VALUES (0, 0)", [])
            .map_err(other)?
            == 1;
        if fresh {
            // A cache from before the index: adopt its files once.
            for (sha, meta) in self.files_on_disk() {
                let mtime = mtime_ns(&meta);
                record(&tx, &sha, meta.len(), mtime, mtime).map_err(other)?;
            }
        }
        tx.commit().map_err(other)?;
        Ok(conn)
    }

    fn remove_stale_tmp(&self) {
        let cutoff = SystemTime::now() - STALE_TMP;
        for e in std::fs::read_dir(self.dir.join("tmp"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff);
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Every `sha256/aa/{sha}` file (walked only when the index is created).
    fn files_on_disk(&self) -> Vec<(String, std::fs::Metadata)> {
        let mut out = Vec::new();
        for shard in std::fs::read_dir(self.dir.join("sha256"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for e in std::fs::read_dir(shard.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = e.file_name().to_string_lossy().into_owned();
                if Sha256::parse(&name).is_err() {
                    continue;
                }
                if let Ok(meta) = e.metadata() {
                    if meta.is_file() {
                        out.push((name, meta));
                    }
                }
            }
        }
        out
    }

    /// Whether these bytes are cached, without marking them used.
    pub fn has(&self, sha: &Sha256, size: u64) -> bool {
        let path = self.path_of(sha);
        let Ok(meta) = std::fs::metadata(&path) else {
            return false;
        };
        let entry = self.read_index(|tx| {
            tx.query_row(
                "SELECT size, mtime_ns FROM entries WHERE sha256 = ?1",
                [sha.as_str()],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
        });
        match entry {
            Ok(Some((s, m))) => s == size_i64(size) && meta.len() == size && mtime_ns(&meta) == m,
            // Not recorded: `get` will adopt it when its size matches.
            Ok(None) => meta.len() == size,
            Err(_) => false,
        }
    }

    /// The cached copy of these bytes, if present and untouched since it was stored (marks it
    /// used). A copy whose size or modification time moved is dropped.
    pub fn get(&self, sha: &Sha256, size: u64) -> Option<PathBuf> {
        self.get_many(&[(sha.clone(), size)]).pop().flatten()
    }

    /// `get` for many files in one transaction of the index (a page of a download).
    pub fn get_many(&self, wanted: &[(Sha256, u64)]) -> Vec<Option<PathBuf>> {
        let found: Vec<(PathBuf, Option<std::fs::Metadata>)> = wanted
            .iter()
            .map(|(sha, _)| {
                let path = self.path_of(sha);
                let meta = std::fs::metadata(&path).ok();
                (path, meta)
            })
            .collect();
        let now = ns(SystemTime::now());
        let kept = self.with_index(|tx| {
            let mut entry_of =
                tx.prepare_cached("SELECT size, mtime_ns FROM entries WHERE sha256 = ?1")?;
            let mut touch = tx.prepare_cached("UPDATE entries SET used = ?1 WHERE sha256 = ?2")?;
            let mut kept = Vec::with_capacity(wanted.len());
            for ((sha, size), (_, meta)) in wanted.iter().zip(&found) {
                let (sha, size) = (sha.as_str(), *size);
                let entry: Option<(i64, i64)> = entry_of
                    .query_row([sha], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let intact = match (&entry, meta) {
                    (Some((s, m)), Some(meta)) => {
                        *s == size_i64(size) && meta.len() == size && mtime_ns(meta) == *m
                    }
                    (None, Some(meta)) => meta.len() == size,
                    _ => false,
                };
                match (meta, intact, entry.is_some()) {
                    (_, true, true) => {
                        touch.execute(params![now, sha])?;
                    }
                    (Some(meta), true, false) => record(tx, sha, size, mtime_ns(meta), now)?,
                    _ => forget(tx, sha)?,
                }
                kept.push(intact);
            }
            Ok(kept)
        });
        let Ok(kept) = kept else {
            return vec![None; wanted.len()];
        };
        found
            .into_iter()
            .zip(kept)
            .map(|((path, meta), intact)| {
                if !intact && meta.is_some() {
                    let _ = std::fs::remove_file(&path);
                }
                intact.then_some(path)
            })
            .collect()
    }

    /// Drops these bytes from the cache (e.g. a copy that failed its digest check).
    pub fn remove(&self, sha: &Sha256) -> std::io::Result<()> {
        let path = self.path_of(sha);
        self.with_index(|tx| forget(tx, sha.as_str()))?;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Keeps a verified file in the cache (`store` then `record`).
    pub fn put(&self, sha: &Sha256, verified: &Path) -> std::io::Result<Shared> {
        let shared = self.store(sha, verified)?;
        if shared != Shared::Skipped {
            self.record(std::slice::from_ref(sha))?;
        }
        Ok(shared)
    }

    /// Moves a verified file's bytes into the cache folder, sharing them where the filesystem
    /// allows (a reflink, else a hard link: then `verified` becomes read-only, as the cache's
    /// copies are), else copying them unless they are above the copy limit. The index learns of
    /// it with `record` (until then `get` adopts it, so a crash in between loses nothing).
    pub fn store(&self, sha: &Sha256, verified: &Path) -> std::io::Result<Shared> {
        let dest = self.path_of(sha);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir_all(self.dir.join("tmp"))?;
        let tmp = self
            .dir
            .join("tmp")
            .join(uuid::Uuid::now_v7().simple().to_string());
        let shared = match self.share(verified, &tmp) {
            Some(how) => how,
            None => {
                if std::fs::metadata(verified)?.len() > self.copy_limit {
                    return Ok(Shared::Skipped);
                }
                if let Err(e) = std::fs::copy(verified, &tmp) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
                Shared::Copied
            }
        };
        // A reflink or a copy is a file of its own: read-only like every cached copy.
        if shared != Shared::Linked {
            if let Ok(meta) = std::fs::metadata(&tmp) {
                let mut readonly = meta.permissions();
                readonly.set_readonly(true);
                let _ = std::fs::set_permissions(&tmp, readonly);
            }
        }
        if let Err(e) = std::fs::rename(&tmp, &dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(shared)
    }

    /// Records stored files in the index in one transaction (each with the size and time its
    /// file has now: another process may have stored the same bytes since), then evicts the
    /// least recently used entries down to the size bound (the index knows the total: nothing
    /// is walked).
    pub fn record(&self, stored: &[Sha256]) -> std::io::Result<()> {
        let max = size_i64(self.max_bytes);
        let now = ns(SystemTime::now());
        let evicted = self.with_index(|tx| {
            // Stat under the index's write lock: another process storing the same bytes
            // replaces the file before it takes the lock, so what is recorded is what is there.
            for sha in stored {
                if let Ok(meta) = std::fs::metadata(self.path_of(sha)) {
                    record(tx, sha.as_str(), meta.len(), mtime_ns(&meta), now)?;
                }
            }
            let mut evicted = Vec::new();
            loop {
                let total: i64 =
                    tx.query_row("SELECT bytes FROM totals WHERE id = 0", [], |r| r.get(0))?;
                if total <= max {
                    break;
                }
                let oldest: Vec<(String, i64)> = tx
                    .prepare_cached("SELECT sha256, size FROM entries ORDER BY used LIMIT 256")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                if oldest.is_empty() {
                    break;
                }
                let mut remaining = total;
                for (victim, size) in oldest {
                    if remaining <= max {
                        break;
                    }
                    forget(tx, &victim)?;
                    remaining -= size;
                    evicted.push(victim);
                }
            }
            Ok(evicted)
        })?;
        for victim in evicted {
            if let Ok(sha) = Sha256::parse(&victim) {
                let _ = std::fs::remove_file(self.path_of(&sha));
            }
        }
        Ok(())
    }

    pub fn info(&self) -> CacheInfo {
        let counted = self.read_index(|tx| {
            tx.query_row(
                "SELECT (SELECT count(*) FROM entries), (SELECT bytes FROM totals WHERE id = 0)",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
        });
        let (files, bytes) = counted.unwrap_or((0, 0));
        CacheInfo {
            files: u64::try_from(files).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
            max_bytes: self.max_bytes,
        }
    }

    /// Empties the cache.
    pub fn clean(&self) -> std::io::Result<CacheInfo> {
        let before = self.info();
        self.with_index(|tx| {
            tx.execute("DELETE FROM entries", [])?;
            tx.execute("UPDATE totals SET bytes = 0 WHERE id = 0", [])?;
            Ok(())
        })?;
        match std::fs::remove_dir_all(self.dir.join("sha256")) {
            Ok(()) => Ok(before),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(before),
            Err(e) => Err(e),
        }
    }
}
