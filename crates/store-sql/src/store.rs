// The metadata ports over Diesel, shared by both backends. Each backend module includes this
// file after defining: `Conn` (its connection), `Db` (its backend), `schema` (the tables with its
// column types), `MIGRATIONS` (its embedded migrations), `write_tx` (how it opens a write
// transaction), `with_migration_lock` (how instances starting together take turns migrating), `lock_artifact` / `lock_version` (how it locks one row for the rest of a
// transaction), and `insert_blobs` (how it upserts many blob records at once).
//
// Every port method is one transaction. Locks are always taken artifact first, then version, so
// concurrent use cases cannot deadlock each other.

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

use crate::error::{DbError, DbResult};
use crate::types::{DbJson, DbUuid};
use schema::*;

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
as_db!(UserId, ApiKeyId, ProjectId, RunId, ArtifactId, VersionId, FileId, AliasEventId, DownloadId);

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
    i32::try_from(v).map_err(|_| DbError::Store(StoreError::Invalid(ValidationError::new(what, "too large to store"))))
}

fn to_i64(v: u64, what: &'static str) -> DbResult<i64> {
    i64::try_from(v).map_err(|_| DbError::Store(StoreError::Invalid(ValidationError::new(what, "too large to store"))))
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

// ---------------------------------------------------------------------------------------------
// Rows

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: DbUuid,
    name: String,
    is_admin: bool,
    created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User { id: UserId::from_uuid(r.id.0), name: UserName::from_trusted(r.name), is_admin: r.is_admin, created_at: r.created_at }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
struct ApiKeyRow {
    id: DbUuid,
    user_id: DbUuid,
    label: String,
    secret_hash: String,
    prefix: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(r: ApiKeyRow) -> Self {
        ApiKey {
            id: ApiKeyId::from_uuid(r.id.0),
            user_id: UserId::from_uuid(r.user_id.0),
            label: r.label,
            secret_hash: Sha256::from_trusted(r.secret_hash),
            prefix: r.prefix,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = projects)]
struct ProjectRow {
    id: DbUuid,
    name: String,
    description: String,
    created_by: DbUuid,
    created_at: DateTime<Utc>,
}

impl From<ProjectRow> for Project {
    fn from(r: ProjectRow) -> Self {
        Project {
            id: ProjectId::from_uuid(r.id.0),
            name: ProjectName::from_trusted(r.name),
            description: Description::from_trusted(r.description),
            created_by: UserId::from_uuid(r.created_by.0),
            created_at: r.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
struct MembershipRow {
    project_id: DbUuid,
    user_id: DbUuid,
    role: String,
    created_at: DateTime<Utc>,
}

fn role(s: &str) -> DbResult<Role> {
    s.parse().map_err(|e: ValidationError| DbError::Store(StoreError::Invalid(e)))
}

impl TryFrom<MembershipRow> for Membership {
    type Error = DbError;
    fn try_from(r: MembershipRow) -> DbResult<Self> {
        Ok(Membership {
            project_id: ProjectId::from_uuid(r.project_id.0),
            user_id: UserId::from_uuid(r.user_id.0),
            role: role(&r.role)?,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = runs)]
struct RunRow {
    id: DbUuid,
    project_id: DbUuid,
    name: String,
    metadata: DbJson,
    created_by: DbUuid,
    created_at: DateTime<Utc>,
}

impl From<RunRow> for Run {
    fn from(r: RunRow) -> Self {
        Run {
            id: RunId::from_uuid(r.id.0),
            project_id: ProjectId::from_uuid(r.project_id.0),
            name: RunName::from_trusted(r.name),
            metadata: metadata(r.metadata),
            created_by: UserId::from_uuid(r.created_by.0),
            created_at: r.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifacts, treat_none_as_default_value = false)]
struct ArtifactRow {
    id: DbUuid,
    project_id: DbUuid,
    name: String,
    artifact_type: String,
    description: String,
    metadata: DbJson,
    created_by: DbUuid,
    version_count: i32,
    next_version_index: i32,
    latest_version: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ArtifactRow> for Artifact {
    type Error = DbError;
    fn try_from(r: ArtifactRow) -> DbResult<Self> {
        Ok(Artifact {
            id: ArtifactId::from_uuid(r.id.0),
            project_id: ProjectId::from_uuid(r.project_id.0),
            name: ArtifactName::from_trusted(r.name),
            artifact_type: r.artifact_type.parse().map_err(|e: ValidationError| DbError::Store(StoreError::Invalid(e)))?,
            description: Description::from_trusted(r.description),
            metadata: metadata(r.metadata),
            created_by: UserId::from_uuid(r.created_by.0),
            version_count: to_u32(r.version_count),
            next_version_index: to_u32(r.next_version_index),
            latest_version: r.latest_version.map(|v| VersionIndex(to_u32(v))),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifact_versions, treat_none_as_default_value = false)]
struct VersionRow {
    id: DbUuid,
    artifact_id: DbUuid,
    project_id: DbUuid,
    version: i32,
    description: String,
    metadata: DbJson,
    file_count: i64,
    total_size: i64,
    digest: Option<String>,
    is_finalized: bool,
    finalized_at: Option<DateTime<Utc>>,
    run_id: Option<DbUuid>,
    created_by: DbUuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<VersionRow> for ArtifactVersion {
    fn from(r: VersionRow) -> Self {
        ArtifactVersion {
            id: VersionId::from_uuid(r.id.0),
            artifact_id: ArtifactId::from_uuid(r.artifact_id.0),
            project_id: ProjectId::from_uuid(r.project_id.0),
            index: VersionIndex(to_u32(r.version)),
            description: Description::from_trusted(r.description),
            metadata: metadata(r.metadata),
            file_count: to_u64(r.file_count),
            total_size: to_u64(r.total_size),
            digest: r.digest.map(Sha256::from_trusted),
            is_finalized: r.is_finalized,
            finalized_at: r.finalized_at,
            run_id: r.run_id.map(|u| RunId::from_uuid(u.0)),
            created_by: UserId::from_uuid(r.created_by.0),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifact_files)]
struct FileRow {
    id: DbUuid,
    version_id: DbUuid,
    project_id: DbUuid,
    path: String,
    size: i64,
    md5_hash: String,
    sha256_hash: String,
    content_type: String,
    storage_key: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<FileRow> for ArtifactFile {
    type Error = DbError;
    fn try_from(r: FileRow) -> DbResult<Self> {
        Ok(ArtifactFile {
            id: FileId::from_uuid(r.id.0),
            version_id: VersionId::from_uuid(r.version_id.0),
            path: FilePath::from_trusted(r.path),
            size: to_u64(r.size),
            md5: Md5::from_trusted(r.md5_hash),
            sha256: Sha256::from_trusted(r.sha256_hash),
            content_type: ContentType::from_trusted(r.content_type),
            storage_key: ObjectKey::parse(r.storage_key).map_err(|e| DbError::Store(StoreError::Invalid(e)))?,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = blobs)]
struct BlobRow {
    project_id: DbUuid,
    sha256: String,
    md5: String,
    size: i64,
    storage_key: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<BlobRow> for Blob {
    type Error = DbError;
    fn try_from(r: BlobRow) -> DbResult<Self> {
        Ok(Blob {
            project_id: ProjectId::from_uuid(r.project_id.0),
            sha256: Sha256::from_trusted(r.sha256),
            md5: Md5::from_trusted(r.md5),
            size: to_u64(r.size),
            storage_key: ObjectKey::parse(r.storage_key).map_err(|e| DbError::Store(StoreError::Invalid(e)))?,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = aliases, treat_none_as_default_value = false, treat_none_as_null = true)]
struct AliasRow {
    artifact_id: DbUuid,
    name: String,
    version_id: DbUuid,
    version: i32,
    updated_by: Option<DbUuid>,
    updated_at: DateTime<Utc>,
}

impl From<AliasRow> for Alias {
    fn from(r: AliasRow) -> Self {
        Alias {
            artifact_id: ArtifactId::from_uuid(r.artifact_id.0),
            name: AliasName::from_trusted(r.name),
            version_id: VersionId::from_uuid(r.version_id.0),
            version_index: VersionIndex(to_u32(r.version)),
            updated_by: r.updated_by.map(|u| UserId::from_uuid(u.0)),
            updated_at: r.updated_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = alias_events, treat_none_as_default_value = false)]
struct AliasEventRow {
    id: DbUuid,
    artifact_id: DbUuid,
    alias: String,
    from_version: Option<DbUuid>,
    to_version: Option<DbUuid>,
    actor: Option<DbUuid>,
    moved_at: DateTime<Utc>,
}

impl From<AliasEventRow> for AliasEvent {
    fn from(r: AliasEventRow) -> Self {
        AliasEvent {
            id: AliasEventId::from_uuid(r.id.0),
            artifact_id: ArtifactId::from_uuid(r.artifact_id.0),
            alias: AliasName::from_trusted(r.alias),
            from_version: r.from_version.map(|u| VersionId::from_uuid(u.0)),
            to_version: r.to_version.map(|u| VersionId::from_uuid(u.0)),
            actor: r.actor.map(|u| UserId::from_uuid(u.0)),
            at: r.moved_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifact_downloads, treat_none_as_default_value = false)]
struct DownloadRow {
    id: DbUuid,
    version_id: DbUuid,
    file_id: Option<DbUuid>,
    user_id: DbUuid,
    downloaded_at: DateTime<Utc>,
}

#[derive(AsChangeset)]
#[diesel(table_name = artifacts)]
struct ArtifactChanges {
    description: Option<String>,
    metadata: Option<DbJson>,
    updated_at: DateTime<Utc>,
}

#[derive(AsChangeset)]
#[diesel(table_name = artifact_versions)]
struct VersionChanges {
    description: Option<String>,
    metadata: Option<DbJson>,
    updated_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// The store

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
        f.debug_struct("Store").field("pool", &self.pool.state()).finish()
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
            let mut conn = pool
                .get()
                .map_err(|e| DbError::Store(StoreError::unexpected(format!("no database connection: {e}"))))?;
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
                let done = diesel_migrations::MigrationHarness::run_pending_migrations(c, MIGRATIONS).map_err(migration_error)?;
                Ok(done.iter().map(ToString::to_string).collect())
            })
        })
        .await
    }

    /// Reverts every applied migration (down to an empty schema); returns the versions reverted.
    pub async fn revert_all(&self) -> StoreResult<Vec<String>> {
        self.run(|c| {
            with_migration_lock(c, |c| {
                let done = diesel_migrations::MigrationHarness::revert_all_migrations(c, MIGRATIONS).map_err(migration_error)?;
                Ok(done.iter().map(ToString::to_string).collect())
            })
        })
        .await
    }
}

fn migration_error(e: Box<dyn std::error::Error + Send + Sync>) -> DbError {
    DbError::Store(StoreError::Unexpected(format!("migration failed: {e}").into()))
}

// ---------------------------------------------------------------------------------------------
// Lookups used inside transactions

fn require_user(c: &mut Conn, id: UserId) -> DbResult<()> {
    let found: Option<DbUuid> = users::table.find(id.db()).select(users::id).first(c).optional()?;
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
    runs::table.find(id.db()).select(RunRow::as_select()).first(c).optional()?.ok_or_else(|| nf(Entity::Run, id))
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
    let event = insert_alias_event(c, version.artifact_id, alias, from, Some(version.id), actor, at)?;
    Ok((stored.into(), Some(event)))
}

fn current_target(c: &mut Conn, artifact: DbUuid, alias: &str) -> DbResult<Option<DbUuid>> {
    Ok(aliases::table.find((artifact, alias)).select(aliases::version_id).first(c).optional()?)
}

// ---------------------------------------------------------------------------------------------
// Access

#[async_trait]
impl AccessRepo for Store {
    async fn create_user(&self, user: User) -> StoreResult<User> {
        self.tx(move |c| {
            let row = UserRow { id: user.id.db(), name: user.name.into_string(), is_admin: user.is_admin, created_at: user.created_at };
            Ok(diesel::insert_into(users::table).values(&row).returning(UserRow::as_returning()).get_result(c)?.into())
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.run(move |c| {
            let row: Option<UserRow> = users::table.find(id.db()).select(UserRow::as_select()).first(c).optional()?;
            row.map(User::from).ok_or_else(|| nf(Entity::User, id))
        })
        .await
    }

    async fn get_user_by_name(&self, name: &UserName) -> StoreResult<User> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<UserRow> =
                users::table.filter(users::name.eq(name.as_str())).select(UserRow::as_select()).first(c).optional()?;
            row.map(User::from).ok_or_else(|| nf(Entity::User, &name))
        })
        .await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.run(|c| Ok(to_u64(users::table.count().get_result::<i64>(c)?))).await
    }

    async fn create_api_key(&self, key: ApiKey) -> StoreResult<ApiKey> {
        self.tx(move |c| {
            require_user(c, key.user_id)?;
            let row = ApiKeyRow {
                id: key.id.db(),
                user_id: key.user_id.db(),
                label: key.label,
                secret_hash: key.secret_hash.into_string(),
                prefix: key.prefix,
                created_at: key.created_at,
                revoked_at: key.revoked_at,
            };
            Ok(diesel::insert_into(api_keys::table).values(&row).returning(ApiKeyRow::as_returning()).get_result(c)?.into())
        })
        .await
    }

    async fn find_api_key(&self, secret_hash: &Sha256) -> StoreResult<ApiKey> {
        let hash = secret_hash.clone();
        self.run(move |c| {
            let row: Option<ApiKeyRow> = api_keys::table
                .filter(api_keys::secret_hash.eq(hash.as_str()))
                .select(ApiKeyRow::as_select())
                .first(c)
                .optional()?;
            row.map(ApiKey::from).ok_or_else(|| nf(Entity::ApiKey, "with that secret"))
        })
        .await
    }

    async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
        self.run(move |c| {
            let rows: Vec<ApiKeyRow> = api_keys::table
                .filter(api_keys::user_id.eq(user.db()))
                .order(api_keys::id.asc())
                .select(ApiKeyRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(ApiKey::from).collect())
        })
        .await
    }

    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey> {
        self.tx(move |c| {
            diesel::update(api_keys::table.find(id.db()).filter(api_keys::revoked_at.is_null()))
                .set(api_keys::revoked_at.eq(at))
                .execute(c)?;
            let row: Option<ApiKeyRow> = api_keys::table.find(id.db()).select(ApiKeyRow::as_select()).first(c).optional()?;
            row.map(ApiKey::from).ok_or_else(|| nf(Entity::ApiKey, id))
        })
        .await
    }

    async fn create_project(&self, project: Project) -> StoreResult<Project> {
        self.tx(move |c| {
            require_user(c, project.created_by)?;
            let row = ProjectRow {
                id: project.id.db(),
                name: project.name.into_string(),
                description: project.description.into_string(),
                created_by: project.created_by.db(),
                created_at: project.created_at,
            };
            let stored: ProjectRow =
                diesel::insert_into(projects::table).values(&row).returning(ProjectRow::as_returning()).get_result(c)?;
            let admin = MembershipRow {
                project_id: stored.id,
                user_id: stored.created_by,
                role: Role::Admin.as_str().to_owned(),
                created_at: stored.created_at,
            };
            diesel::insert_into(memberships::table).values(&admin).execute(c)?;
            Ok(stored.into())
        })
        .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        self.run(move |c| Ok(load_project(c, id)?.into())).await
    }

    async fn get_project_by_name(&self, name: &ProjectName) -> StoreResult<Project> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<ProjectRow> = projects::table
                .filter(projects::name.eq(name.as_str()))
                .select(ProjectRow::as_select())
                .first(c)
                .optional()?;
            row.map(Project::from).ok_or_else(|| nf(Entity::Project, &name))
        })
        .await
    }

    async fn list_projects(&self, member: Option<UserId>, page: PageRequest<ProjectName>) -> StoreResult<Page<Project, ProjectName>> {
        self.run(move |c| {
            let mut q = projects::table.select(ProjectRow::as_select()).order(projects::name.asc()).into_boxed::<Db>();
            if let Some(u) = member {
                q = q.filter(
                    projects::id.eq_any(memberships::table.filter(memberships::user_id.eq(u.db())).select(memberships::project_id)),
                );
            }
            if let Some(after) = &page.after {
                q = q.filter(projects::name.gt(after.as_str().to_owned()));
            }
            let rows: Vec<ProjectRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows: Vec<Project> = rows.into_iter().map(Project::from).collect();
            Ok(Page::from_overfetch(rows, page.limit, |p| p.name.clone()))
        })
        .await
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<()> {
        self.tx(move |c| {
            load_project(c, id)?;
            let p = id.db();
            // Files first: they reference the project's blob records.
            diesel::delete(artifact_files::table.filter(artifact_files::project_id.eq(p))).execute(c)?;
            diesel::delete(artifacts::table.filter(artifacts::project_id.eq(p))).execute(c)?;
            diesel::delete(runs::table.filter(runs::project_id.eq(p))).execute(c)?;
            diesel::delete(blobs::table.filter(blobs::project_id.eq(p))).execute(c)?;
            diesel::delete(projects::table.find(p)).execute(c)?;
            Ok(())
        })
        .await
    }

    async fn upsert_membership(&self, m: Membership) -> StoreResult<Membership> {
        self.tx(move |c| {
            load_project(c, m.project_id)?;
            require_user(c, m.user_id)?;
            let row = MembershipRow {
                project_id: m.project_id.db(),
                user_id: m.user_id.db(),
                role: m.role.as_str().to_owned(),
                created_at: m.created_at,
            };
            let stored: MembershipRow = diesel::insert_into(memberships::table)
                .values(&row)
                .on_conflict((memberships::project_id, memberships::user_id))
                .do_update()
                .set(memberships::role.eq(m.role.as_str()))
                .returning(MembershipRow::as_returning())
                .get_result(c)?;
            stored.try_into()
        })
        .await
    }

    async fn remove_membership(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        self.tx(move |c| {
            let n = diesel::delete(memberships::table.find((project.db(), user.db()))).execute(c)?;
            if n == 0 {
                return Err(nf(Entity::Membership, format!("{user} in {project}")));
            }
            Ok(())
        })
        .await
    }

    async fn get_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        self.run(move |c| {
            let r: Option<String> =
                memberships::table.find((project.db(), user.db())).select(memberships::role).first(c).optional()?;
            r.map(|r| role(&r)).transpose()
        })
        .await
    }

    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Membership>> {
        self.run(move |c| {
            load_project(c, project)?;
            let rows: Vec<MembershipRow> = memberships::table
                .filter(memberships::project_id.eq(project.db()))
                .order(memberships::user_id.asc())
                .select(MembershipRow::as_select())
                .load(c)?;
            rows.into_iter().map(Membership::try_from).collect()
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Runs

#[async_trait]
impl RunRepo for Store {
    async fn create_run(&self, run: Run) -> StoreResult<Run> {
        self.tx(move |c| {
            load_project(c, run.project_id)?;
            let row = RunRow {
                id: run.id.db(),
                project_id: run.project_id.db(),
                name: run.name.into_string(),
                metadata: json(&run.metadata),
                created_by: run.created_by.db(),
                created_at: run.created_at,
            };
            Ok(diesel::insert_into(runs::table).values(&row).returning(RunRow::as_returning()).get_result(c)?.into())
        })
        .await
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        self.run(move |c| Ok(load_run(c, id)?.into())).await
    }

    async fn list_runs(&self, project: ProjectId, page: PageRequest<RunId>) -> StoreResult<Page<Run, RunId>> {
        self.run(move |c| {
            load_project(c, project)?;
            let mut q = runs::table
                .filter(runs::project_id.eq(project.db()))
                .select(RunRow::as_select())
                .order(runs::id.asc())
                .into_boxed::<Db>();
            if let Some(after) = page.after {
                q = q.filter(runs::id.gt(after.db()));
            }
            let rows: Vec<RunRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows: Vec<Run> = rows.into_iter().map(Run::from).collect();
            Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
        })
        .await
    }

    async fn add_run_input(&self, run: RunId, version: VersionId, at: Timestamp) -> StoreResult<()> {
        self.tx(move |c| {
            load_run(c, run)?;
            load_version(c, version)?;
            diesel::insert_into(run_inputs::table)
                .values((run_inputs::run_id.eq(run.db()), run_inputs::version_id.eq(version.db()), run_inputs::created_at.eq(at)))
                .on_conflict_do_nothing()
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn run_inputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        self.run(move |c| {
            load_run(c, run)?;
            let ids: Vec<DbUuid> = run_inputs::table
                .filter(run_inputs::run_id.eq(run.db()))
                .order(run_inputs::version_id.asc())
                .select(run_inputs::version_id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| VersionId::from_uuid(u.0)).collect())
        })
        .await
    }

    async fn run_outputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        self.run(move |c| {
            load_run(c, run)?;
            let ids: Vec<DbUuid> = artifact_versions::table
                .filter(artifact_versions::run_id.eq(run.db()))
                .order(artifact_versions::id.asc())
                .select(artifact_versions::id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| VersionId::from_uuid(u.0)).collect())
        })
        .await
    }

    async fn version_consumers(&self, version: VersionId) -> StoreResult<Vec<RunId>> {
        self.run(move |c| {
            load_version(c, version)?;
            let ids: Vec<DbUuid> = run_inputs::table
                .filter(run_inputs::version_id.eq(version.db()))
                .order(run_inputs::run_id.asc())
                .select(run_inputs::run_id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| RunId::from_uuid(u.0)).collect())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Artifacts

#[async_trait]
impl ArtifactRepo for Store {
    async fn create_artifact(&self, a: Artifact) -> StoreResult<Artifact> {
        self.tx(move |c| {
            load_project(c, a.project_id)?;
            let row = ArtifactRow {
                id: a.id.db(),
                project_id: a.project_id.db(),
                name: a.name.into_string(),
                artifact_type: a.artifact_type.as_str().to_owned(),
                description: a.description.into_string(),
                metadata: json(&a.metadata),
                created_by: a.created_by.db(),
                version_count: 0,
                next_version_index: 0,
                latest_version: None,
                created_at: a.created_at,
                updated_at: a.updated_at,
            };
            diesel::insert_into(artifacts::table).values(&row).returning(ArtifactRow::as_returning()).get_result(c)?.try_into()
        })
        .await
    }

    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        self.run(move |c| load_artifact(c, id)?.try_into()).await
    }

    async fn get_artifact_by_name(&self, project: ProjectId, name: &ArtifactName) -> StoreResult<Artifact> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<ArtifactRow> = artifacts::table
                .filter(artifacts::project_id.eq(project.db()))
                .filter(artifacts::name.eq(name.as_str()))
                .select(ArtifactRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::Artifact, &name))?.try_into()
        })
        .await
    }

    async fn list_artifacts(&self, filter: &ArtifactFilter, page: PageRequest<ArtifactId>) -> StoreResult<Page<Artifact, ArtifactId>> {
        let filter = filter.clone();
        self.run(move |c| {
            let mut q = artifacts::table.select(ArtifactRow::as_select()).order(artifacts::id.asc()).into_boxed::<Db>();
            if let Some(p) = filter.project_id {
                q = q.filter(artifacts::project_id.eq(p.db()));
            }
            if let Some(ps) = &filter.project_ids {
                q = q.filter(artifacts::project_id.eq_any(ps.iter().map(|p| p.db()).collect::<Vec<_>>()));
            }
            if let Some(t) = filter.artifact_type {
                q = q.filter(artifacts::artifact_type.eq(t.as_str()));
            }
            if let Some(u) = filter.created_by {
                q = q.filter(artifacts::created_by.eq(u.db()));
            }
            if let Some(needle) = &filter.name_contains {
                let pattern = format!("%{}%", like_escape(&needle.to_lowercase()));
                q = q.filter(lower(artifacts::name).like(pattern).escape('\\'));
            }
            if let Some(after) = page.after {
                q = q.filter(artifacts::id.gt(after.db()));
            }
            let rows: Vec<ArtifactRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows = rows.into_iter().map(Artifact::try_from).collect::<DbResult<Vec<_>>>()?;
            Ok(Page::from_overfetch(rows, page.limit, |a| a.id))
        })
        .await
    }

    async fn update_artifact(&self, id: ArtifactId, patch: Patch, at: Timestamp) -> StoreResult<Artifact> {
        self.tx(move |c| {
            let changes = ArtifactChanges {
                description: patch.description.map(Description::into_string),
                metadata: patch.metadata.as_ref().map(json),
                updated_at: at,
            };
            let row: Option<ArtifactRow> = diesel::update(artifacts::table.find(id.db()))
                .set(&changes)
                .returning(ArtifactRow::as_returning())
                .get_result(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::Artifact, id))?.try_into()
        })
        .await
    }

    async fn delete_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        self.tx(move |c| {
            let row = locked_artifact(c, id)?;
            // Versions cascade to files, aliases, lineage edges and downloads.
            diesel::delete(artifacts::table.find(id.db())).execute(c)?;
            row.try_into()
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Versions and files

fn file_rows(c: &mut Conn, version: DbUuid, prefix: Option<&str>, after: Option<&str>, limit: i64) -> DbResult<Vec<FileRow>> {
    let mut q = artifact_files::table
        .filter(artifact_files::version_id.eq(version))
        .select(FileRow::as_select())
        .order(artifact_files::path.asc())
        .into_boxed::<Db>();
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        // A range the path index can use, and an exact check of the leading characters.
        let n = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        q = q
            .filter(artifact_files::path.ge(prefix.to_owned()))
            .filter(substr(artifact_files::path, 1, n).eq(prefix.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(artifact_files::path.gt(after.to_owned()));
    }
    Ok(q.limit(limit).load(c)?)
}

#[async_trait]
impl VersionRepo for Store {
    async fn create_next_version(&self, v: NewVersion) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let artifact = load_artifact(c, v.artifact_id)?;
            if let Some(run) = v.run_id {
                if load_run(c, run)?.project_id != artifact.project_id {
                    // Another project's run is as unknown here as a missing one.
                    return Err(nf(Entity::Run, run));
                }
            }
            // The row update takes the artifact's lock: concurrent creators queue here and each
            // reads the counter the previous one committed.
            let next: i32 = diesel::update(artifacts::table.find(v.artifact_id.db()))
                .set((
                    artifacts::next_version_index.eq(artifacts::next_version_index + 1),
                    artifacts::version_count.eq(artifacts::version_count + 1),
                ))
                .returning(artifacts::next_version_index)
                .get_result(c)?;
            let row = VersionRow {
                id: v.id.db(),
                artifact_id: artifact.id,
                project_id: artifact.project_id,
                version: next - 1,
                description: v.description.into_string(),
                metadata: json(&v.metadata),
                file_count: 0,
                total_size: 0,
                digest: None,
                is_finalized: false,
                finalized_at: None,
                run_id: v.run_id.map(AsDb::db),
                created_by: v.created_by.db(),
                created_at: v.created_at,
                updated_at: v.created_at,
            };
            Ok(diesel::insert_into(artifact_versions::table)
                .values(&row)
                .returning(VersionRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn get_version(&self, id: VersionId) -> StoreResult<ArtifactVersion> {
        self.run(move |c| Ok(load_version(c, id)?.into())).await
    }

    async fn stale_drafts(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<ArtifactVersion>> {
        self.run(move |c| {
            let rows: Vec<VersionRow> = artifact_versions::table
                // `NOT is_finalized`, literally: the predicate of the partial index.
                .filter(diesel::dsl::not(artifact_versions::is_finalized))
                .filter(artifact_versions::created_at.lt(before))
                .order((artifact_versions::created_at.asc(), artifact_versions::id.asc()))
                .limit(i64::from(limit))
                .select(VersionRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(ArtifactVersion::from).collect())
        })
        .await
    }

    async fn get_version_by_index(&self, artifact: ArtifactId, index: VersionIndex) -> StoreResult<ArtifactVersion> {
        self.run(move |c| {
            let i = to_i32(index.0, "version")?;
            let row: Option<VersionRow> = artifact_versions::table
                .filter(artifact_versions::artifact_id.eq(artifact.db()))
                .filter(artifact_versions::version.eq(i))
                .select(VersionRow::as_select())
                .first(c)
                .optional()?;
            row.map(ArtifactVersion::from).ok_or_else(|| nf(Entity::Version, format!("{index} of artifact {artifact}")))
        })
        .await
    }

    async fn list_versions(&self, artifact: ArtifactId, page: PageRequest<VersionIndex>) -> StoreResult<Page<ArtifactVersion, VersionIndex>> {
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let mut q = artifact_versions::table
                .filter(artifact_versions::artifact_id.eq(artifact.db()))
                .select(VersionRow::as_select())
                .order(artifact_versions::version.asc())
                .into_boxed::<Db>();
            if let Some(after) = page.after {
                q = q.filter(artifact_versions::version.gt(to_i32(after.0, "version")?));
            }
            let rows: Vec<VersionRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows: Vec<ArtifactVersion> = rows.into_iter().map(ArtifactVersion::from).collect();
            Ok(Page::from_overfetch(rows, page.limit, |v| v.index))
        })
        .await
    }

    async fn update_version(&self, id: VersionId, patch: Patch, at: Timestamp) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let changes = VersionChanges {
                description: patch.description.map(Description::into_string),
                metadata: patch.metadata.as_ref().map(json),
                updated_at: at,
            };
            let row: Option<VersionRow> = diesel::update(artifact_versions::table.find(id.db()))
                .set(&changes)
                .returning(VersionRow::as_returning())
                .get_result(c)
                .optional()?;
            row.map(ArtifactVersion::from).ok_or_else(|| nf(Entity::Version, id))
        })
        .await
    }

    async fn set_version_run(&self, id: VersionId, run: RunId) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let run_row = load_run(c, run)?;
            let v = locked_version(c, id)?;
            if v.run_id == Some(run.db()) {
                return Ok(v.into());
            }
            if v.is_finalized {
                return Err(conflict(format!("version v{} is finalized", v.version)));
            }
            if let Some(other) = v.run_id {
                return Err(conflict(format!("version v{} was already produced by run {}", v.version, other.0)));
            }
            if run_row.project_id != v.project_id {
                return Err(nf(Entity::Run, run));
            }
            Ok(diesel::update(artifact_versions::table.find(id.db()))
                .set(artifact_versions::run_id.eq(Some(run.db())))
                .returning(VersionRow::as_returning())
                .get_result::<VersionRow>(c)?
                .into())
        })
        .await
    }

    async fn finalize_version(&self, id: VersionId, actor: UserId, at: Timestamp) -> StoreResult<Finalized> {
        self.tx(move |c| {
            let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
            let artifact = locked_artifact(c, artifact_id)?;
            let v = locked_version(c, id)?;
            if v.is_finalized {
                return Err(conflict(format!("version v{} is already finalized", v.version)));
            }
            // The version row is locked, so no file can be added or removed while we hash.
            let mut hasher = ManifestHasher::default();
            let mut after: Option<String> = None;
            loop {
                let page: Vec<(String, String, i64)> = {
                    let mut q = artifact_files::table
                        .filter(artifact_files::version_id.eq(v.id))
                        .select((artifact_files::path, artifact_files::sha256_hash, artifact_files::size))
                        .order(artifact_files::path.asc())
                        .into_boxed::<Db>();
                    if let Some(a) = &after {
                        q = q.filter(artifact_files::path.gt(a.clone()));
                    }
                    q.limit(SCAN_CHUNK).load(c)?
                };
                for (path, sha, size) in &page {
                    hasher.update(path, sha, to_u64(*size));
                }
                if (page.len() as i64) < SCAN_CHUNK {
                    break;
                }
                after = page.last().map(|(p, _, _)| p.clone());
            }
            let digest = hasher.finish();
            let v: VersionRow = diesel::update(artifact_versions::table.find(v.id))
                .set((
                    artifact_versions::is_finalized.eq(true),
                    artifact_versions::finalized_at.eq(Some(at)),
                    artifact_versions::digest.eq(Some(digest.as_str())),
                    artifact_versions::updated_at.eq(at),
                ))
                .returning(VersionRow::as_returning())
                .get_result(c)?;
            let mut latest_moved = None;
            if artifact.latest_version.is_none_or(|l| v.version > l) {
                let (_, event) = point_alias(c, &v, wanllmdb_domain::types::LATEST, Some(actor), at)?;
                latest_moved = event;
                diesel::update(artifacts::table.find(artifact.id))
                    .set(artifacts::latest_version.eq(Some(v.version)))
                    .execute(c)?;
            }
            Ok(Finalized { version: v.into(), latest_moved })
        })
        .await
    }

    async fn delete_stale_draft(&self, id: VersionId, before: Timestamp) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
            let artifact = locked_artifact(c, artifact_id)?;
            let v = locked_version(c, id)?;
            if v.is_finalized || v.created_at >= before {
                return Err(conflict(format!("version v{} is no stale draft", v.version)));
            }
            // A draft has no aliases and is never `latest`. Files, edges and downloads cascade.
            diesel::delete(artifact_versions::table.find(v.id)).execute(c)?;
            diesel::update(artifacts::table.find(artifact.id))
                .set(artifacts::version_count.eq(artifacts::version_count - 1))
                .execute(c)?;
            Ok(v.into())
        })
        .await
    }

    async fn delete_version(&self, id: VersionId, at: Timestamp) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
            let artifact = locked_artifact(c, artifact_id)?;
            let v = locked_version(c, id)?;
            let mut latest_version = artifact.latest_version;
            if artifact.latest_version == Some(v.version) {
                let newest: Option<VersionRow> = artifact_versions::table
                    .filter(artifact_versions::artifact_id.eq(artifact.id))
                    .filter(artifact_versions::is_finalized.eq(true))
                    .filter(artifact_versions::id.ne(v.id))
                    .order(artifact_versions::version.desc())
                    .select(VersionRow::as_select())
                    .first(c)
                    .optional()?;
                match &newest {
                    Some(n) => {
                        point_alias(c, n, LATEST, None, at)?;
                    }
                    None => {
                        diesel::delete(aliases::table.find((artifact.id, LATEST))).execute(c)?;
                        insert_alias_event(c, artifact.id, LATEST, Some(v.id), None, None, at)?;
                    }
                }
                latest_version = newest.map(|n| n.version);
            }
            let others: Vec<String> = aliases::table
                .filter(aliases::version_id.eq(v.id))
                .filter(aliases::name.ne(LATEST))
                .order(aliases::name.asc())
                .select(aliases::name)
                .load(c)?;
            for name in others {
                insert_alias_event(c, artifact.id, &name, Some(v.id), None, None, at)?;
            }
            // Files, aliases, lineage edges and downloads cascade.
            diesel::delete(artifact_versions::table.find(v.id)).execute(c)?;
            diesel::update(artifacts::table.find(artifact.id))
                .set((artifacts::version_count.eq(artifacts::version_count - 1), artifacts::latest_version.eq(latest_version)))
                .execute(c)?;
            Ok(v.into())
        })
        .await
    }

    async fn add_files(&self, version: VersionId, files: Vec<NewFile>) -> StoreResult<Vec<ArtifactFile>> {
        self.tx(move |c| {
            let mut seen = BTreeSet::new();
            for f in &files {
                if !seen.insert(f.path.as_str()) {
                    return Err(DbError::Store(StoreError::already_exists(Entity::File, &f.path)));
                }
            }
            let count = to_i64(files.len() as u64, "file_count")?;
            let size = to_i64(files.iter().map(|f| f.size).sum(), "total_size")?;
            // Updating the counters locks the version and proves it is still a draft.
            let project: Option<DbUuid> = diesel::update(
                artifact_versions::table.find(version.db()).filter(artifact_versions::is_finalized.eq(false)),
            )
            .set((
                artifact_versions::file_count.eq(artifact_versions::file_count + count),
                artifact_versions::total_size.eq(artifact_versions::total_size + size),
            ))
            .returning(artifact_versions::project_id)
            .get_result(c)
            .optional()?;
            let Some(project) = project else {
                let v = load_version(c, version)?;
                return Err(conflict(format!("version v{} is finalized; its files cannot change", v.version)));
            };
            for chunk in files.chunks(INSERT_CHUNK) {
                let paths: Vec<&str> = chunk.iter().map(|f| f.path.as_str()).collect();
                let taken: Option<String> = artifact_files::table
                    .filter(artifact_files::version_id.eq(version.db()))
                    .filter(artifact_files::path.eq_any(paths))
                    .select(artifact_files::path)
                    .first(c)
                    .optional()?;
                if let Some(path) = taken {
                    return Err(DbError::Store(StoreError::already_exists(Entity::File, path)));
                }
                let blobs_rows: Vec<BlobRow> = chunk
                    .iter()
                    .map(|f| {
                        Ok(BlobRow {
                            project_id: project,
                            sha256: f.sha256.as_str().to_owned(),
                            md5: f.md5.as_str().to_owned(),
                            size: to_i64(f.size, "size")?,
                            storage_key: f.storage_key.as_str().to_owned(),
                            created_at: f.created_at,
                        })
                    })
                    .collect::<DbResult<_>>()?;
                insert_blobs(c, &blobs_rows)?;
                let rows: Vec<FileRow> = chunk
                    .iter()
                    .map(|f| {
                        Ok(FileRow {
                            id: f.id.db(),
                            version_id: version.db(),
                            project_id: project,
                            path: f.path.as_str().to_owned(),
                            size: to_i64(f.size, "size")?,
                            md5_hash: f.md5.as_str().to_owned(),
                            sha256_hash: f.sha256.as_str().to_owned(),
                            content_type: f.content_type.as_str().to_owned(),
                            storage_key: f.storage_key.as_str().to_owned(),
                            created_at: f.created_at,
                        })
                    })
                    .collect::<DbResult<_>>()?;
                diesel::insert_into(artifact_files::table).values(&rows).execute(c)?;
            }
            Ok(files
                .into_iter()
                .map(|f| ArtifactFile {
                    id: f.id,
                    version_id: version,
                    path: f.path,
                    size: f.size,
                    md5: f.md5,
                    sha256: f.sha256,
                    content_type: f.content_type,
                    storage_key: f.storage_key,
                    created_at: f.created_at,
                })
                .collect())
        })
        .await
    }

    async fn get_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        self.run(move |c| {
            let row: Option<FileRow> =
                artifact_files::table.find(id.db()).select(FileRow::as_select()).first(c).optional()?;
            row.ok_or_else(|| nf(Entity::File, id))?.try_into()
        })
        .await
    }

    async fn get_file_by_path(&self, version: VersionId, path: &FilePath) -> StoreResult<ArtifactFile> {
        let path = path.clone();
        self.run(move |c| {
            let row: Option<FileRow> = artifact_files::table
                .filter(artifact_files::version_id.eq(version.db()))
                .filter(artifact_files::path.eq(path.as_str()))
                .select(FileRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::File, &path))?.try_into()
        })
        .await
    }

    async fn list_files(&self, version: VersionId, prefix: Option<&str>, page: PageRequest<FilePath>) -> StoreResult<Page<ArtifactFile, FilePath>> {
        let prefix = prefix.map(str::to_owned);
        self.run(move |c| {
            load_version(c, version)?;
            let rows = file_rows(
                c,
                version.db(),
                prefix.as_deref(),
                page.after.as_ref().map(FilePath::as_str),
                i64::from(page.limit) + 1,
            )?;
            let rows = rows.into_iter().map(ArtifactFile::try_from).collect::<DbResult<Vec<_>>>()?;
            Ok(Page::from_overfetch(rows, page.limit, |f| f.path.clone()))
        })
        .await
    }

    async fn delete_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        self.tx(move |c| {
            let row: FileRow = artifact_files::table
                .find(id.db())
                .select(FileRow::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| nf(Entity::File, id))?;
            let updated = diesel::update(
                artifact_versions::table.find(row.version_id).filter(artifact_versions::is_finalized.eq(false)),
            )
            .set((
                artifact_versions::file_count.eq(artifact_versions::file_count - 1),
                artifact_versions::total_size.eq(artifact_versions::total_size - row.size),
            ))
            .execute(c)?;
            if updated == 0 {
                return Err(conflict("the file's version is finalized; its files cannot change"));
            }
            diesel::delete(artifact_files::table.find(id.db())).execute(c)?;
            row.try_into()
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Aliases

#[async_trait]
impl AliasRepo for Store {
    async fn set_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        version: VersionId,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<(Alias, Option<AliasEvent>)> {
        let alias = alias.clone();
        self.tx(move |c| {
            locked_artifact(c, artifact)?;
            let v = load_version(c, version)?;
            if v.artifact_id != artifact.db() {
                return Err(nf(Entity::Version, format!("{version} in artifact {artifact}")));
            }
            if !v.is_finalized {
                return Err(conflict(format!("version v{} is a draft; aliases only point at finalized versions", v.version)));
            }
            point_alias(c, &v, alias.as_str(), actor, at)
        })
        .await
    }

    async fn remove_alias(&self, artifact: ArtifactId, alias: &AliasName, actor: Option<UserId>, at: Timestamp) -> StoreResult<AliasEvent> {
        let alias = alias.clone();
        self.tx(move |c| {
            let from: Option<DbUuid> = diesel::delete(aliases::table.find((artifact.db(), alias.as_str())))
                .returning(aliases::version_id)
                .get_result(c)
                .optional()?;
            let from = from.ok_or_else(|| nf(Entity::Alias, &alias))?;
            insert_alias_event(c, artifact.db(), alias.as_str(), Some(from), None, actor, at)
        })
        .await
    }

    async fn get_alias(&self, artifact: ArtifactId, alias: &AliasName) -> StoreResult<Alias> {
        let alias = alias.clone();
        self.run(move |c| {
            let row: Option<AliasRow> = aliases::table
                .find((artifact.db(), alias.as_str()))
                .select(AliasRow::as_select())
                .first(c)
                .optional()?;
            row.map(Alias::from).ok_or_else(|| nf(Entity::Alias, &alias))
        })
        .await
    }

    async fn list_aliases(&self, artifact: ArtifactId) -> StoreResult<Vec<Alias>> {
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let rows: Vec<AliasRow> = aliases::table
                .filter(aliases::artifact_id.eq(artifact.db()))
                .order(aliases::name.asc())
                .select(AliasRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(Alias::from).collect())
        })
        .await
    }

    async fn version_aliases(&self, version: VersionId) -> StoreResult<Vec<Alias>> {
        self.run(move |c| {
            load_version(c, version)?;
            let rows: Vec<AliasRow> = aliases::table
                .filter(aliases::version_id.eq(version.db()))
                .order(aliases::name.asc())
                .select(AliasRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(Alias::from).collect())
        })
        .await
    }

    async fn alias_history(&self, artifact: ArtifactId, alias: Option<&AliasName>) -> StoreResult<Vec<AliasEvent>> {
        let alias = alias.cloned();
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let mut q = alias_events::table
                .filter(alias_events::artifact_id.eq(artifact.db()))
                .order(alias_events::id.asc())
                .select(AliasEventRow::as_select())
                .into_boxed::<Db>();
            if let Some(a) = &alias {
                q = q.filter(alias_events::alias.eq(a.as_str().to_owned()));
            }
            let rows: Vec<AliasEventRow> = q.load(c)?;
            Ok(rows.into_iter().map(AliasEvent::from).collect())
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Downloads and blobs

#[async_trait]
impl DownloadRepo for Store {
    async fn record_download(&self, d: Download) -> StoreResult<Download> {
        self.tx(move |c| {
            load_version(c, d.version_id)?;
            if let Some(f) = d.file_id {
                let owner: Option<DbUuid> =
                    artifact_files::table.find(f.db()).select(artifact_files::version_id).first(c).optional()?;
                if owner != Some(d.version_id.db()) {
                    return Err(nf(Entity::File, f));
                }
            }
            let row = DownloadRow {
                id: d.id.db(),
                version_id: d.version_id.db(),
                file_id: d.file_id.map(AsDb::db),
                user_id: d.user_id.db(),
                downloaded_at: d.at,
            };
            diesel::insert_into(artifact_downloads::table).values(&row).execute(c)?;
            Ok(d)
        })
        .await
    }

    async fn download_stats(&self, version: VersionId) -> StoreResult<DownloadStats> {
        self.run(move |c| {
            load_version(c, version)?;
            let mine = artifact_downloads::table.filter(artifact_downloads::version_id.eq(version.db()));
            let count: i64 = mine.count().get_result(c)?;
            let unique_users: i64 =
                mine.select(diesel::dsl::count(artifact_downloads::user_id).aggregate_distinct()).get_result(c)?;
            let last_at: Option<DateTime<Utc>> = mine
                .order(artifact_downloads::downloaded_at.desc())
                .select(artifact_downloads::downloaded_at)
                .first(c)
                .optional()?;
            Ok(DownloadStats { count: to_u64(count), unique_users: to_u64(unique_users), last_at })
        })
        .await
    }
}

#[async_trait]
impl BlobRepo for Store {
    async fn get_blob(&self, project: ProjectId, sha256: &Sha256) -> StoreResult<Blob> {
        let sha = sha256.clone();
        self.run(move |c| {
            let row: Option<BlobRow> =
                blobs::table.find((project.db(), sha.as_str())).select(BlobRow::as_select()).first(c).optional()?;
            row.ok_or_else(|| nf(Entity::Blob, &sha))?.try_into()
        })
        .await
    }

    async fn get_blobs(&self, project: ProjectId, sha256s: &[Sha256]) -> StoreResult<Vec<Blob>> {
        let mut wanted: Vec<String> = sha256s.iter().map(|s| s.as_str().to_owned()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.run(move |c| {
            let mut out = Vec::with_capacity(wanted.len());
            // Bounded IN lists: SQLite caps bound parameters per statement.
            for chunk in wanted.chunks(BLOB_LOOKUP_CHUNK) {
                let rows: Vec<BlobRow> = blobs::table
                    .filter(blobs::project_id.eq(project.db()))
                    .filter(blobs::sha256.eq_any(chunk))
                    .select(BlobRow::as_select())
                    .load(c)?;
                for row in rows {
                    out.push(Blob::try_from(row)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn unreferenced_blobs(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<Blob>> {
        self.run(move |c| {
            let referenced = artifact_files::table
                .filter(artifact_files::project_id.eq(blobs::project_id))
                .filter(artifact_files::sha256_hash.eq(blobs::sha256));
            let rows: Vec<BlobRow> = blobs::table
                .filter(blobs::created_at.lt(before))
                .filter(diesel::dsl::not(diesel::dsl::exists(referenced)))
                .order((blobs::project_id.asc(), blobs::sha256.asc()))
                .limit(i64::from(limit))
                .select(BlobRow::as_select())
                .load(c)?;
            rows.into_iter().map(Blob::try_from).collect()
        })
        .await
    }

    async fn delete_blob_record(&self, project: ProjectId, sha256: &Sha256) -> StoreResult<Blob> {
        let sha = sha256.clone();
        self.tx(move |c| {
            let row: BlobRow = blobs::table
                .find((project.db(), sha.as_str()))
                .select(BlobRow::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| nf(Entity::Blob, &sha))?;
            let referenced: bool = diesel::select(diesel::dsl::exists(
                artifact_files::table
                    .filter(artifact_files::project_id.eq(project.db()))
                    .filter(artifact_files::sha256_hash.eq(sha.as_str())),
            ))
            .get_result(c)?;
            if referenced {
                return Err(conflict(format!("blob {sha} is referenced by files")));
            }
            // A file inserted concurrently makes this fail on the foreign key: a Conflict.
            diesel::delete(blobs::table.find((project.db(), sha.as_str()))).execute(c)?;
            row.try_into()
        })
        .await
    }
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
