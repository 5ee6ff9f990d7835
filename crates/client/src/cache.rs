//! A local content cache: files by SHA-256, bounded in size, least recently used evicted first.

use std::path::{Path, PathBuf};

use wanllmdb_domain::types::Sha256;

/// The cache's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheInfo {
    pub files: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// Files keyed by SHA-256 under `dir/sha256/aa/{sha}`. Using a file refreshes its modification
/// time, which orders eviction.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
}

impl Cache {
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes }
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

    /// The cached copy of these bytes, if present (and marks it used).
    pub fn get(&self, sha: &Sha256, size: u64) -> Option<PathBuf> {
        let p = self.path_of(sha);
        let meta = std::fs::metadata(&p).ok()?;
        if meta.len() != size {
            let _ = std::fs::remove_file(&p);
            return None;
        }
        let _ = std::fs::File::options()
            .append(true)
            .open(&p)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        Some(p)
    }

    /// Copies a verified file into the cache, then evicts down to the size bound.
    pub fn put(&self, sha: &Sha256, verified: &Path) -> std::io::Result<()> {
        let dest = self.path_of(sha);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = dest.with_extension(format!("tmp-{}", uuid::Uuid::now_v7().simple()));
        std::fs::copy(verified, &tmp)?;
        std::fs::rename(&tmp, &dest)?;
        self.evict()
    }

    fn entries(&self) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.join("sha256")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let Ok(meta) = e.metadata() else { continue };
                if meta.is_dir() {
                    stack.push(e.path());
                } else {
                    out.push((
                        e.path(),
                        meta.len(),
                        meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                    ));
                }
            }
        }
        out
    }

    fn evict(&self) -> std::io::Result<()> {
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort_by_key(|e| e.2);
        for (path, size, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            total -= size;
        }
        Ok(())
    }

    pub fn info(&self) -> CacheInfo {
        let entries = self.entries();
        CacheInfo {
            files: entries.len() as u64,
            bytes: entries.iter().map(|e| e.1).sum(),
            max_bytes: self.max_bytes,
        }
    }

    /// Empties the cache.
    pub fn clean(&self) -> std::io::Result<CacheInfo> {
        let before = self.info();
        match std::fs::remove_dir_all(self.dir.join("sha256")) {
            Ok(()) => Ok(before),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(before),
            Err(e) => Err(e),
        }
    }
}
