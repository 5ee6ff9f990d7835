//! The hash cache: what a file's digests were when it last had this size, modification time
//! and inode (`dir/hashes.sqlite`, keyed by absolute path), so re-logging an unchanged folder
//! reads none of its bytes. Any change of those fields, or of the path, means hashing anew.
//!
//! A big file's MD5 is taken while it is uploaded, so a file hashed but not (yet) uploaded is
//! remembered with its SHA-256 only (an empty `md5`); its upload fills the MD5 in.
//!
//! A file modified within `RACY` of its hashing is not remembered: a filesystem with coarse
//! timestamps could give a later write the same modification time (git's "racily clean"
//! problem), and the next log hashes it again instead.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{params, Connection, OptionalExtension};
use wanllmdb_domain::types::{Md5, Sha256};

use crate::local_db::LocalDb;

/// Files modified this close to their hashing are hashed again next time (FAT's timestamps
/// are 2 s apart, ext3's 1 s).
const RACY: Duration = Duration::from_secs(2);

/// Entries not looked at for this long are dropped when the cache is opened.
const UNUSED: Duration = Duration::from_secs(90 * 24 * 3600);

/// How often an entry's last use is written (not on every log of a big folder).
const TOUCH_EVERY: Duration = Duration::from_secs(24 * 3600);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS hashes (
    path      TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    inode     INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    md5       TEXT NOT NULL,
    used      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hashes_used ON hashes (used);
";

/// A file's SHA-256, and its MD5 once known.
pub(crate) type Remembered = (Sha256, Option<Md5>);

/// What identifies a file's contents without reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    mtime_ns: i64,
    inode: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Self {
            size: meta.len(),
            mtime_ns: meta.modified().map(ns).unwrap_or(0),
            inode,
        }
    }

    /// Whether a hash taken at `hashed_at` may be trusted for this stamp later.
    pub fn settled(&self, hashed_at: SystemTime) -> bool {
        self.mtime_ns.saturating_add(nanos(RACY)) < ns(hashed_at)
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(nanos)
        .unwrap_or(0)
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// See the module documentation. Clones share one connection.
#[derive(Clone)]
pub(crate) struct HashCache {
    file: PathBuf,
    db: LocalDb,
}

impl std::fmt::Debug for HashCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashCache")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl HashCache {
    /// The hash cache kept in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            file: dir.join("hashes.sqlite"),
            db: LocalDb::new("hash cache"),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> std::io::Result<T> {
        self.db
            .transaction(rusqlite::TransactionBehavior::Immediate, || self.open(), f)
    }

    fn open(&self) -> std::io::Result<Connection> {
        let conn = self.db.open_file(&self.file, SCHEMA)?;
        conn.execute(
            "DELETE FROM hashes WHERE used < ?1",
            [ns(SystemTime::now()) - nanos(UNUSED)],
        )
        .map_err(|e| self.db.error(e))?;
        Ok(conn)
    }

    /// The remembered digests of each file whose stamp is unchanged (`None` for the rest), in
    /// one transaction.
    pub fn lookup(&self, files: &[(PathBuf, Stamp)]) -> std::io::Result<Vec<Option<Remembered>>> {
        let now = ns(SystemTime::now());
        self.with(|tx| {
            let mut get = tx.prepare_cached(
                "SELECT size, mtime_ns, inode, sha256, md5, used FROM hashes WHERE path = ?1",
            )?;
            let mut touch = tx.prepare_cached("UPDATE hashes SET used = ?1 WHERE path = ?2")?;
            let mut out = Vec::with_capacity(files.len());
            for (path, stamp) in files {
                let key = path.to_string_lossy();
                let row = get
                    .query_row([key.as_ref()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .optional()?;
                let hit = row.and_then(|(size, mtime, inode, sha, md5, used)| {
                    let same = size == as_i64(stamp.size)
                        && mtime == stamp.mtime_ns
                        && inode == as_i64(stamp.inode);
                    if !same {
                        return None;
                    }
                    let md5 = match md5.as_str() {
                        "" => None,
                        m => Some(Md5::parse(m).ok()?),
                    };
                    let digests = (Sha256::parse(&sha).ok()?, md5);
                    Some((digests, used))
                });
                if let Some((_, used)) = &hit {
                    if *used < now - nanos(TOUCH_EVERY) {
                        touch.execute(params![now, key.as_ref()])?;
                    }
                }
                out.push(hit.map(|(d, _)| d));
            }
            Ok(out)
        })
    }

    /// Remembers freshly hashed files, in one transaction.
    pub fn remember(&self, files: &[(PathBuf, Stamp, Sha256, Option<Md5>)]) -> std::io::Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let now = ns(SystemTime::now());
        self.with(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO hashes (path, size, mtime_ns, inode, sha256, md5, used)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (path) DO UPDATE SET size = ?2, mtime_ns = ?3, inode = ?4,
                     sha256 = ?5, md5 = ?6, used = ?7",
            )?;
            for (path, stamp, sha, md5) in files {
                put.execute(params![
                    path.to_string_lossy().as_ref(),
                    as_i64(stamp.size),
                    stamp.mtime_ns,
                    as_i64(stamp.inode),
                    sha.as_str(),
                    md5.as_ref().map_or("", |m| m.as_str()),
                    now
                ])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64, mtime_ns: i64, inode: u64) -> Stamp {
        Stamp {
            size,
            mtime_ns,
            inode,
        }
    }

    #[test]
    fn a_hit_needs_the_same_size_time_and_inode() {
        let dir = std::env::temp_dir().join(format!("wanllmdb-hashes-{}", uuid::Uuid::now_v7()));
        let cache = HashCache::in_dir(&dir);
        let path = PathBuf::from("/data/a.bin");
        let (sha, md5) = (Sha256::of(b"a"), Some(Md5::of(b"a")));
        let big = PathBuf::from("/data/big.bin");
        cache
            .remember(&[
                (path.clone(), stamp(1, 10, 7), sha.clone(), md5.clone()),
                (big.clone(), stamp(1, 10, 9), sha.clone(), None),
            ])
            .expect("remember");
        let again = HashCache::in_dir(&dir);
        let found = again
            .lookup(&[
                (path.clone(), stamp(1, 10, 7)),
                (path.clone(), stamp(2, 10, 7)),
                (path.clone(), stamp(1, 11, 7)),
                (path.clone(), stamp(1, 10, 8)),
                (PathBuf::from("/data/b.bin"), stamp(1, 10, 7)),
                (big, stamp(1, 10, 9)),
            ])
            .expect("lookup");
        assert_eq!(found[0], Some((sha.clone(), md5)));
        assert!(found[1..5].iter().all(Option::is_none), "{found:?}");
        assert_eq!(found[5], Some((sha, None)), "remembered without its MD5");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_modified_just_before_hashing_is_not_settled() {
        let now = SystemTime::now();
        let fresh = stamp(1, ns(now), 1);
        let old = stamp(1, ns(now - Duration::from_secs(3)), 1);
        assert!(!fresh.settled(now));
        assert!(old.settled(now));
    }
}
