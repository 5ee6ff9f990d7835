//! The metadata store on SQLite (bundled): WAL journal, foreign keys on, a busy timeout, and
//! `BEGIN IMMEDIATE` write transactions, so writers queue instead of failing. The embedded
//! default: nothing to install.

use std::time::Duration;

use diesel::connection::SimpleConnection as _;
use diesel::r2d2::CustomizeConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

type Conn = diesel::sqlite::SqliteConnection;
type Db = diesel::sqlite::Sqlite;

mod schema {
    pub mod sql {
        // Not named after the SQL types: `table!` special-cases those names.
        pub use crate::types::sqlite_sql::{JsonText as Json, UuidText as Id};
        pub use diesel::sql_types::TimestamptzSqlite as Instant;
    }
    include!("schema.rs");
}

// One implementation for both backends, compiled against each one's types.
#[allow(clippy::duplicate_mod)]
#[path = "store/mod.rs"]
mod store;

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use wanllmdb_domain::ports::{StoreError, StoreResult};

use crate::types::DbUuid;
use store::query::Frag;
use store::*;
use wanllmdb_domain::query::{MetaPath, MetaValue};

/// The SQLite metadata store.
pub type SqliteStore = Store;

/// The SQLite migrations, embedded.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT_MS: u32 = 30_000;
/// Page cache per connection, grown on use. The default 2 MiB thrashes on the random-order
/// blob indexes once a project holds some 10^5 files.
const CACHE_KIB: u32 = 64 * 1024;
/// Reads through a memory map instead of copies into the page cache.
const MMAP_BYTES: u64 = 256 * 1024 * 1024;

fn write_tx<T, F>(c: &mut Conn, f: F) -> DbResult<T>
where
    F: FnOnce(&mut Conn) -> DbResult<T>,
{
    // IMMEDIATE takes the write lock up front: no upgrade from a read lock that could fail.
    c.immediate_transaction(f)
}

/// One exclusive transaction around the whole run: a second process waits (busy timeout) until
/// the first has committed, then finds nothing pending. Diesel's per-migration transactions
/// become savepoints inside it.
fn with_migration_lock<T>(c: &mut Conn, f: impl FnOnce(&mut Conn) -> DbResult<T>) -> DbResult<T> {
    c.exclusive_transaction(f)
}

// The immediate transaction already holds the database's only write lock.
fn lock_artifact(c: &mut Conn, id: DbUuid) -> DbResult<Option<ArtifactRow>> {
    Ok(artifacts::table
        .find(id)
        .select(ArtifactRow::as_select())
        .first(c)
        .optional()?)
}

fn lock_version(c: &mut Conn, id: DbUuid) -> DbResult<Option<VersionRow>> {
    Ok(artifact_versions::table
        .find(id)
        .select(VersionRow::as_select())
        .first(c)
        .optional()?)
}

/// One upsert per folder (no multi-row `ON CONFLICT` on SQLite); all in the caller's
/// transaction, in process.
fn upsert_folders(c: &mut Conn, rows: &[FolderRow]) -> DbResult<()> {
    use diesel::upsert::excluded;
    for row in rows {
        diesel::insert_into(artifact_folders::table)
            .values(row)
            .on_conflict((artifact_folders::version_id, artifact_folders::path))
            .do_update()
            .set((
                artifact_folders::file_count
                    .eq(artifact_folders::file_count + excluded(artifact_folders::file_count)),
                artifact_folders::total_size
                    .eq(artifact_folders::total_size + excluded(artifact_folders::total_size)),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Diesel has no multi-row `ON CONFLICT` on SQLite; `INSERT OR IGNORE` is SQLite's own form of it.
fn insert_blobs(c: &mut Conn, rows: &[BlobRow]) -> DbResult<()> {
    diesel::insert_or_ignore_into(blobs::table)
        .values(rows)
        .execute(c)?;
    Ok(())
}

// Metadata search: SQLite's JSON1 functions. `json_type` names the kind at a path ('integer',
// 'real', 'text', 'true', 'false', 'null', 'array', 'object'; NULL when absent).

/// `$."a"."b"`: keys are `[A-Za-z0-9_-]` (checked by the domain) and bound, never spliced.
fn json_path(path: &MetaPath) -> String {
    let mut s = String::from("$");
    for k in path.keys() {
        s.push_str(".\"");
        s.push_str(k);
        s.push('"');
    }
    s
}

fn json_type(col: &str, path: &MetaPath) -> Frag {
    Frag::sql(format!("json_type({col}, "))
        .text(json_path(path))
        .then(")")
}

fn meta_is_number(col: &str, path: &MetaPath) -> Frag {
    json_type(col, path).then(" IN ('integer', 'real')")
}

fn meta_is_string(col: &str, path: &MetaPath) -> Frag {
    json_type(col, path).then(" = 'text'")
}

fn extract_if(is: Frag, col: &str, path: &MetaPath) -> Frag {
    Frag::sql("(CASE WHEN ")
        .append(is)
        .then(format!(" THEN json_extract({col}, "))
        .text(json_path(path))
        .then(") END)")
}

fn meta_number(col: &str, path: &MetaPath) -> Frag {
    extract_if(meta_is_number(col, path), col, path)
}

/// Byte order: SQLite's default BINARY collation.
fn meta_text(col: &str, path: &MetaPath) -> Frag {
    extract_if(meta_is_string(col, path), col, path)
}

/// Never NULL: `IS` compares with NULL as a value.
fn meta_equals(col: &str, path: &MetaPath, v: &MetaValue) -> Frag {
    match v {
        MetaValue::Null => Frag::sql("COALESCE(")
            .append(json_type(col, path))
            .then(", 'null') = 'null'"),
        MetaValue::Bool(b) => {
            json_type(col, path).then(if *b { " IS 'true'" } else { " IS 'false'" })
        }
        MetaValue::Number(n) => Frag::sql("COALESCE(")
            .append(meta_number(col, path))
            .then(" = ")
            .float(*n)
            .then(", 0)"),
        MetaValue::String(t) => Frag::sql("COALESCE(")
            .append(meta_text(col, path))
            .then(" = ")
            .text(t.clone())
            .then(", 0)"),
    }
}

fn meta_contains(col: &str, path: &MetaPath, v: &MetaValue) -> Frag {
    let element = match v {
        MetaValue::Null => Frag::sql("e.type = 'null'"),
        MetaValue::Bool(b) => Frag::sql(if *b {
            "e.type = 'true'"
        } else {
            "e.type = 'false'"
        }),
        MetaValue::Number(n) => Frag::sql("e.type IN ('integer', 'real') AND e.value = ").float(*n),
        MetaValue::String(t) => Frag::sql("e.type = 'text' AND e.value = ").text(t.clone()),
    };
    json_type(col, path)
        .then(format!(
            " IS 'array' AND EXISTS (SELECT 1 FROM json_each({col}, "
        ))
        .text(json_path(path))
        .then(") AS e WHERE ")
        .append(element)
        .then(")")
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<Conn, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, c: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        c.batch_execute(&format!(
            "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{CACHE_KIB}; PRAGMA mmap_size = {MMAP_BYTES}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url`: a path, or `sqlite://path`.
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Self> {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::unexpected(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let manager = ConnectionManager::<Conn>::new(path);
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(Pragmas))
            .build(manager)
            .map_err(|e| {
                StoreError::unexpected(format!("cannot open SQLite database {path}: {e}"))
            })?;
        Ok(Self::from_pool(pool))
    }
}
