//! The metadata store on PostgreSQL: native `uuid`, `timestamptz`, `jsonb`, `bigint` sizes.
//! Transactions are READ COMMITTED; row locks (`SELECT ... FOR UPDATE`, or the `UPDATE` that
//! bumps a counter) serialize the use cases that must not interleave, also across separate pools
//! and server instances.

use std::time::Duration;

use diesel::Connection as _;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

type Conn = diesel::pg::PgConnection;
type Db = diesel::pg::Pg;

mod schema {
    pub mod sql {
        // Not named after the SQL types: `table!` special-cases those names.
        pub use diesel::sql_types::{Jsonb as Json, Timestamptz as Instant, Uuid as Id};
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

/// The PostgreSQL metadata store.
pub type PgStore = Store;

/// The PostgreSQL migrations, embedded.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

fn write_tx<T, F>(c: &mut Conn, f: F) -> DbResult<T>
where
    F: FnOnce(&mut Conn) -> DbResult<T>,
{
    c.transaction(f)
}

/// The session-level advisory lock every instance holds while it migrates ("wlmdb" + 1).
const MIGRATION_LOCK: i64 = 0x776c_6d64_6200_0001;

fn with_migration_lock<T>(c: &mut Conn, f: impl FnOnce(&mut Conn) -> DbResult<T>) -> DbResult<T> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
    let result = f(c);
    let unlocked =
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c);
    let value = result?;
    unlocked?;
    Ok(value)
}

fn lock_artifact(c: &mut Conn, id: DbUuid) -> DbResult<Option<ArtifactRow>> {
    Ok(artifacts::table
        .find(id)
        .select(ArtifactRow::as_select())
        .for_update()
        .first(c)
        .optional()?)
}

fn lock_version(c: &mut Conn, id: DbUuid) -> DbResult<Option<VersionRow>> {
    Ok(artifact_versions::table
        .find(id)
        .select(VersionRow::as_select())
        .for_update()
        .first(c)
        .optional()?)
}

// Metadata search on jsonb. Equality and `contains` are containment (`@>`), which the GIN
// indexes on the metadata columns serve; orderings read the value under a type check.

/// `(col -> $1 -> $2)`: the value at a path, NULL when absent.
fn json_at(col: &str, path: &MetaPath) -> Frag {
    let mut f = Frag::sql(format!("({col}"));
    for k in path.keys() {
        f = f.then(" -> ").text(k.clone());
    }
    f.then(")")
}

/// `{"a": {"b": leaf}}` for the path `a.b`.
fn nest(path: &MetaPath, leaf: serde_json::Value) -> String {
    path.keys()
        .iter()
        .rev()
        .fold(leaf, |inner, k| serde_json::json!({ k.as_str(): inner }))
        .to_string()
}

fn meta_is_number(col: &str, path: &MetaPath) -> Frag {
    Frag::sql("jsonb_typeof(")
        .append(json_at(col, path))
        .then(") = 'number'")
}

fn meta_is_string(col: &str, path: &MetaPath) -> Frag {
    Frag::sql("jsonb_typeof(")
        .append(json_at(col, path))
        .then(") = 'string'")
}

fn meta_number(col: &str, path: &MetaPath) -> Frag {
    // CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the cast fails on
    // anything but a number.
    Frag::sql("(CASE WHEN ")
        .append(meta_is_number(col, path))
        .then(" THEN ")
        .append(json_at(col, path))
        .then("::float8 END)")
}

/// Byte order, as everywhere else: the "C" collation.
fn meta_text(col: &str, path: &MetaPath) -> Frag {
    Frag::sql("((CASE WHEN ")
        .append(meta_is_string(col, path))
        .then(" THEN ")
        .append(json_at(col, path))
        .then(" #>> '{}' END) COLLATE \"C\")")
}

fn meta_equals(col: &str, path: &MetaPath, v: &MetaValue) -> Frag {
    match v {
        MetaValue::Null => Frag::sql("COALESCE(jsonb_typeof(")
            .append(json_at(col, path))
            .then("), 'null') = 'null'"),
        v => Frag::sql(format!("({col} @> "))
            .text(nest(path, v.to_json()))
            .then("::jsonb)"),
    }
}

fn meta_contains(col: &str, path: &MetaPath, v: &MetaValue) -> Frag {
    Frag::sql(format!("({col} @> "))
        .text(nest(path, serde_json::Value::Array(vec![v.to_json()])))
        .then("::jsonb)")
}

fn upsert_folders(c: &mut Conn, rows: &[FolderRow]) -> DbResult<()> {
    use diesel::upsert::excluded;
    diesel::insert_into(artifact_folders::table)
        .values(rows)
        .on_conflict((artifact_folders::version_id, artifact_folders::path))
        .do_update()
        .set((
            artifact_folders::file_count
                .eq(artifact_folders::file_count + excluded(artifact_folders::file_count)),
            artifact_folders::total_size
                .eq(artifact_folders::total_size + excluded(artifact_folders::total_size)),
        ))
        .execute(c)?;
    Ok(())
}

fn insert_blobs(c: &mut Conn, rows: &[BlobRow]) -> DbResult<()> {
    diesel::insert_into(blobs::table)
        .values(rows)
        .on_conflict_do_nothing()
        .execute(c)?;
    Ok(())
}

impl Store {
    /// A pool of up to `max_connections` to `url` (`postgres://...`). Fails when the server
    /// cannot be reached.
    pub fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let manager = ConnectionManager::<Conn>::new(url);
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| StoreError::unexpected(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Self::from_pool(pool))
    }
}
