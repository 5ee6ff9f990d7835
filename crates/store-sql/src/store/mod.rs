//! The metadata ports over Diesel, shared by both backends: one file per port, each included
//! into both backend modules (`#[path]`). A backend module defines, before declaring this one:
//! `Conn` (its connection), `Db` (its backend), `schema` (the tables with its column types),
//! `MIGRATIONS` (its embedded migrations), `write_tx` (how it opens a write transaction),
//! `with_migration_lock` (how instances starting together take turns migrating),
//! `lock_artifact` / `lock_version` (how it locks one row for the rest of a transaction), and
//! `insert_blobs` (how it upserts many blob records at once), `upsert_folders` (how it adds to
//! many folder counters at once).
//!
//! Every port method is one transaction. Locks are always taken artifact first, then version,
//! so concurrent use cases cannot deadlock each other.

mod access_repo;
mod alias_repo;
mod artifact_repo;
mod blob_repo;
mod download_repo;
pub(crate) mod query;
mod rows;
mod run_repo;
mod version_repo;

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use wanllmdb_domain::entities::*;
use wanllmdb_domain::error::{Entity, ValidationError};
use wanllmdb_domain::ids::*;
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::manifest::ManifestHasher;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::types::*;

pub(super) use super::schema::*;
use super::{
    insert_blobs, lock_artifact, lock_version, upsert_folders, with_migration_lock, write_tx, Conn,
    Db, MIGRATIONS,
};
pub(crate) use crate::error::{DbError, DbResult};
use crate::types::{DbJson, DbUuid};
use query::{meta_condition, Order};
pub(super) use rows::*;

/// Rows per multi-row INSERT: 1,000 rows of at most 10 columns stay well under both backends'
/// bind-parameter limits.
const INSERT_CHUNK: usize = 1_000;
/// Digests per `IN (...)` list when looking blob records up in bulk.
const BLOB_LOOKUP_CHUNK: usize = 1_000;
/// Rows read per query when a transaction walks all files of a version.
const SCAN_CHUNK: i64 = 10_000;

trait AsDb {
    fn db(self) -> DbUuid;
}

macro_rules! as_db {
    ($($t:ty),*) => {
        $(impl AsDb for $t {
            fn db(self) -> DbUuid {
                DbUuid(self.into_uuid())
            }
        })*
    };
}
as_db!(
    UserId,
    ApiKeyId,
    SessionId,
    ProjectId,
    RunId,
    ArtifactId,
    VersionId,
    FileId,
    AliasEventId,
    DownloadId
);

#[diesel::declare_sql_function]
extern "SQL" {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
    fn substr(
        x: diesel::sql_types::Text,
        start: diesel::sql_types::Integer,
        len: diesel::sql_types::Integer,
    ) -> diesel::sql_types::Text;
}

fn nf(entity: Entity, key: impl std::fmt::Display) -> DbError {
    DbError::Store(StoreError::not_found(entity, key))
}

fn conflict(message: impl Into<String>) -> DbError {
    DbError::Store(StoreError::Conflict(message.into()))
}

fn to_i32(v: u32, what: &'static str) -> DbResult<i32> {
    i32::try_from(v).map_err(|_| {
        DbError::Store(StoreError::Invalid(ValidationError::new(
            what,
            "too large to store",
        )))
    })
}

fn to_i64(v: u64, what: &'static str) -> DbResult<i64> {
    i64::try_from(v).map_err(|_| {
        DbError::Store(StoreError::Invalid(ValidationError::new(
            what,
            "too large to store",
        )))
    })
}

/// Counters are checked non-negative by the schema.
fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn json(m: &Metadata) -> DbJson {
    DbJson(m.to_value())
}

fn metadata(j: DbJson) -> Metadata {
    match j.0 {
        serde_json::Value::Object(map) => Metadata::from_trusted(map),
        _ => Metadata::default(),
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
/// `%needle%` for a case-insensitive (ASCII) substring match with `lower(..) LIKE .. ESCAPE '\\'`.
fn contains_pattern(needle: &str) -> String {
    format!("%{}%", like_escape(&needle.to_ascii_lowercase()))
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The metadata store on a pool of connections. Blocking Diesel calls run on tokio's blocking
/// pool, inside the caller's tracing span.
#[derive(Clone)]
pub struct Store {
    pool: Pool<ConnectionManager<Conn>>,
    /// Something to drop with the last clone of the store (a test database that removes itself).
    guard: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl Store {
    pub fn from_pool(pool: Pool<ConnectionManager<Conn>>) -> Self {
        Self { pool, guard: None }
    }

    /// Keeps `guard` alive as long as any clone of the store, and drops it after the pool: how
    /// a test database is removed once the last test using it is done.
    pub fn keeping(mut self, guard: impl std::any::Any + Send + Sync) -> Self {
        self.guard = Some(std::sync::Arc::new(guard));
        self
    }

    pub fn pool(&self) -> &Pool<ConnectionManager<Conn>> {
        &self.pool
    }

    /// Runs `f` on a pooled connection off the async executor.
    pub(crate) async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> DbResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|e| {
                DbError::Store(StoreError::unexpected(format!(
                    "no database connection: {e}"
                )))
            })?;
            f(&mut conn)
        })
        .await
        .map_err(StoreError::unexpected)?
        .map_err(StoreError::from)
    }

    /// Runs `f` in one write transaction.
    async fn tx<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> DbResult<T> + Send + 'static,
    {
        self.run(move |c| write_tx(c, f)).await
    }
}

impl Store {
    /// Applies pending migrations (this backend's `MIGRATIONS`); returns the versions applied.
    /// Safe when several instances start at once on one database: they take the backend's
    /// migration lock in turn, and the later ones find nothing pending.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            with_migration_lock(c, |c| {
                let done =
                    diesel_migrations::MigrationHarness::run_pending_migrations(c, MIGRATIONS)
                        .map_err(migration_error)?;
                Ok(done.iter().map(ToString::to_string).collect())
            })
        })
        .await
    }

    /// Reverts every applied migration (down to an empty schema); returns the versions reverted.
    pub async fn revert_all(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            with_migration_lock(c, |c| {
                let done =
                    diesel_migrations::MigrationHarness::revert_all_migrations(c, MIGRATIONS)
                        .map_err(migration_error)?;
                Ok(done.iter().map(ToString::to_string).collect())
            })
        })
        .await
    }
}

impl Store {
    /// Reverts the newest applied migration; returns its version.
    pub async fn revert_last(&self) -> StoreResult<String> {
        self.run(|c| {
            with_migration_lock(c, |c| {
                let done =
                    diesel_migrations::MigrationHarness::revert_last_migration(c, MIGRATIONS)
                        .map_err(migration_error)?;
                Ok(done.to_string())
            })
        })
        .await
    }
}

fn migration_error(e: Box<dyn std::error::Error + Send + Sync>) -> DbError {
    DbError::Store(StoreError::Unexpected(
        format!("migration failed: {e}").into(),
    ))
}

fn require_user(c: &mut Conn, id: UserId) -> DbResult<()> {
    let found: Option<DbUuid> = users::table
        .find(id.db())
        .select(users::id)
        .first(c)
        .optional()?;
    found.map(|_| ()).ok_or_else(|| nf(Entity::User, id))
}

fn load_project(c: &mut Conn, id: ProjectId) -> DbResult<ProjectRow> {
    projects::table
        .find(id.db())
        .select(ProjectRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| nf(Entity::Project, id))
}

fn load_run(c: &mut Conn, id: RunId) -> DbResult<RunRow> {
    runs::table
        .find(id.db())
        .select(RunRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| nf(Entity::Run, id))
}

fn load_artifact(c: &mut Conn, id: ArtifactId) -> DbResult<ArtifactRow> {
    artifacts::table
        .find(id.db())
        .select(ArtifactRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| nf(Entity::Artifact, id))
}

fn load_version(c: &mut Conn, id: VersionId) -> DbResult<VersionRow> {
    artifact_versions::table
        .find(id.db())
        .select(VersionRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| nf(Entity::Version, id))
}

fn locked_artifact(c: &mut Conn, id: ArtifactId) -> DbResult<ArtifactRow> {
    lock_artifact(c, id.db())?.ok_or_else(|| nf(Entity::Artifact, id))
}

fn locked_version(c: &mut Conn, id: VersionId) -> DbResult<VersionRow> {
    lock_version(c, id.db())?.ok_or_else(|| nf(Entity::Version, id))
}

fn insert_alias_event(
    c: &mut Conn,
    artifact: DbUuid,
    alias: &str,
    from: Option<DbUuid>,
    to: Option<DbUuid>,
    actor: Option<UserId>,
    at: Timestamp,
) -> DbResult<AliasEvent> {
    let row = AliasEventRow {
        id: AliasEventId::new().db(),
        artifact_id: artifact,
        alias: alias.to_owned(),
        from_version: from,
        to_version: to,
        actor: actor.map(AsDb::db),
        moved_at: at,
    };
    Ok(diesel::insert_into(alias_events::table)
        .values(&row)
        .returning(AliasEventRow::as_returning())
        .get_result(c)?
        .into())
}

/// Points an alias at a version, recording the move unless it already pointed there.
fn point_alias(
    c: &mut Conn,
    version: &VersionRow,
    alias: &str,
    actor: Option<UserId>,
    at: Timestamp,
) -> DbResult<(Alias, Option<AliasEvent>)> {
    let current: Option<AliasRow> = aliases::table
        .find((version.artifact_id, alias))
        .select(AliasRow::as_select())
        .first(c)
        .optional()?;
    if let Some(cur) = current {
        if cur.version_id == version.id {
            return Ok((cur.into(), None));
        }
    }
    let from = current_target(c, version.artifact_id, alias)?;
    let row = AliasRow {
        artifact_id: version.artifact_id,
        name: alias.to_owned(),
        version_id: version.id,
        version: version.version,
        updated_by: actor.map(AsDb::db),
        updated_at: at,
    };
    let stored: AliasRow = diesel::insert_into(aliases::table)
        .values(&row)
        .on_conflict((aliases::artifact_id, aliases::name))
        .do_update()
        .set(&row)
        .returning(AliasRow::as_returning())
        .get_result(c)?;
    let event = insert_alias_event(
        c,
        version.artifact_id,
        alias,
        from,
        Some(version.id),
        actor,
        at,
    )?;
    Ok((stored.into(), Some(event)))
}

fn current_target(c: &mut Conn, artifact: DbUuid, alias: &str) -> DbResult<Option<DbUuid>> {
    Ok(aliases::table
        .find((artifact, alias))
        .select(aliases::version_id)
        .first(c)
        .optional()?)
}

#[async_trait]
impl MetadataStore for Store {
    async fn ping(&self) -> StoreResult<()> {
        self.run(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await
    }
}
