//! Rows as the tables hold them, and their conversions into the domain's entities.

use super::*;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: DbUuid,
    pub(crate) name: String,
    pub(crate) is_admin: bool,
    pub(crate) created_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId::from_uuid(r.id.0),
            name: UserName::from_trusted(r.name),
            is_admin: r.is_admin,
            created_at: r.created_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub(crate) struct SessionRow {
    pub(crate) id: DbUuid,
    pub(crate) user_id: DbUuid,
    pub(crate) secret_hash: String,
    pub(crate) csrf_token: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for BrowserSession {
    fn from(r: SessionRow) -> Self {
        BrowserSession {
            id: SessionId::from_uuid(r.id.0),
            user_id: UserId::from_uuid(r.user_id.0),
            secret_hash: Sha256::from_trusted(r.secret_hash),
            csrf_token: r.csrf_token,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub(crate) struct ApiKeyRow {
    pub(crate) id: DbUuid,
    pub(crate) user_id: DbUuid,
    pub(crate) label: String,
    pub(crate) secret_hash: String,
    pub(crate) prefix: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) revoked_at: Option<DateTime<Utc>>,
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
pub(crate) struct ProjectRow {
    pub(crate) id: DbUuid,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) created_by: DbUuid,
    pub(crate) created_at: DateTime<Utc>,
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
pub(crate) struct MembershipRow {
    pub(crate) project_id: DbUuid,
    pub(crate) user_id: DbUuid,
    pub(crate) role: String,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) fn role(s: &str) -> DbResult<Role> {
    s.parse()
        .map_err(|e: ValidationError| DbError::Store(StoreError::Invalid(e)))
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
pub(crate) struct RunRow {
    pub(crate) id: DbUuid,
    pub(crate) project_id: DbUuid,
    pub(crate) name: String,
    pub(crate) metadata: DbJson,
    pub(crate) created_by: DbUuid,
    pub(crate) created_at: DateTime<Utc>,
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
pub(crate) struct ArtifactRow {
    pub(crate) id: DbUuid,
    pub(crate) project_id: DbUuid,
    pub(crate) name: String,
    pub(crate) artifact_type: String,
    pub(crate) description: String,
    pub(crate) metadata: DbJson,
    pub(crate) created_by: DbUuid,
    pub(crate) version_count: i32,
    pub(crate) next_version_index: i32,
    pub(crate) latest_version: Option<i32>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl TryFrom<ArtifactRow> for Artifact {
    type Error = DbError;
    fn try_from(r: ArtifactRow) -> DbResult<Self> {
        Ok(Artifact {
            id: ArtifactId::from_uuid(r.id.0),
            project_id: ProjectId::from_uuid(r.project_id.0),
            name: ArtifactName::from_trusted(r.name),
            artifact_type: r
                .artifact_type
                .parse()
                .map_err(|e: ValidationError| DbError::Store(StoreError::Invalid(e)))?,
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
pub(crate) struct VersionRow {
    pub(crate) id: DbUuid,
    pub(crate) artifact_id: DbUuid,
    pub(crate) project_id: DbUuid,
    pub(crate) version: i32,
    pub(crate) description: String,
    pub(crate) metadata: DbJson,
    pub(crate) file_count: i64,
    pub(crate) total_size: i64,
    pub(crate) digest: Option<String>,
    pub(crate) is_finalized: bool,
    pub(crate) finalized_at: Option<DateTime<Utc>>,
    pub(crate) run_id: Option<DbUuid>,
    pub(crate) created_by: DbUuid,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
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
pub(crate) struct FileRow {
    pub(crate) id: DbUuid,
    pub(crate) version_id: DbUuid,
    pub(crate) project_id: DbUuid,
    pub(crate) path: String,
    pub(crate) size: i64,
    pub(crate) md5_hash: String,
    pub(crate) sha256_hash: String,
    pub(crate) content_type: String,
    pub(crate) storage_key: String,
    pub(crate) created_at: DateTime<Utc>,
    /// The folder it sits in (`a/b/` for `a/b/c.txt`, empty at the root).
    pub(crate) dir: String,
}

/// A folder's counters, or a change to them.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = artifact_folders)]
pub(crate) struct FolderRow {
    pub(crate) version_id: DbUuid,
    pub(crate) path: String,
    pub(crate) parent: String,
    pub(crate) file_count: i64,
    pub(crate) total_size: i64,
}

/// One number in an artifact's metadata, for sorting by it (`query::number_leaves`).
#[derive(Insertable)]
#[diesel(table_name = artifact_numbers)]
pub(crate) struct NumberRow {
    pub(crate) artifact_id: DbUuid,
    pub(crate) project_id: DbUuid,
    pub(crate) path: String,
    pub(crate) value: f64,
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
            storage_key: ObjectKey::parse(r.storage_key)
                .map_err(|e| DbError::Store(StoreError::Invalid(e)))?,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = blobs)]
pub(crate) struct BlobRow {
    pub(crate) project_id: DbUuid,
    pub(crate) sha256: String,
    pub(crate) md5: String,
    pub(crate) size: i64,
    pub(crate) storage_key: String,
    pub(crate) created_at: DateTime<Utc>,
}

impl TryFrom<BlobRow> for Blob {
    type Error = DbError;
    fn try_from(r: BlobRow) -> DbResult<Self> {
        Ok(Blob {
            project_id: ProjectId::from_uuid(r.project_id.0),
            sha256: Sha256::from_trusted(r.sha256),
            md5: Md5::from_trusted(r.md5),
            size: to_u64(r.size),
            storage_key: ObjectKey::parse(r.storage_key)
                .map_err(|e| DbError::Store(StoreError::Invalid(e)))?,
            created_at: r.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = aliases, treat_none_as_default_value = false, treat_none_as_null = true)]
pub(crate) struct AliasRow {
    pub(crate) artifact_id: DbUuid,
    pub(crate) name: String,
    pub(crate) version_id: DbUuid,
    pub(crate) version: i32,
    pub(crate) updated_by: Option<DbUuid>,
    pub(crate) updated_at: DateTime<Utc>,
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
pub(crate) struct AliasEventRow {
    pub(crate) id: DbUuid,
    pub(crate) artifact_id: DbUuid,
    pub(crate) alias: String,
    pub(crate) from_version: Option<DbUuid>,
    pub(crate) to_version: Option<DbUuid>,
    pub(crate) actor: Option<DbUuid>,
    pub(crate) moved_at: DateTime<Utc>,
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
pub(crate) struct DownloadRow {
    pub(crate) id: DbUuid,
    pub(crate) version_id: DbUuid,
    pub(crate) file_id: Option<DbUuid>,
    pub(crate) user_id: DbUuid,
    pub(crate) downloaded_at: DateTime<Utc>,
}

#[derive(AsChangeset)]
#[diesel(table_name = artifacts)]
pub(crate) struct ArtifactChanges {
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<DbJson>,
    pub(crate) updated_at: DateTime<Utc>,
}

#[derive(AsChangeset)]
#[diesel(table_name = artifact_versions)]
pub(crate) struct VersionChanges {
    pub(crate) description: Option<String>,
    pub(crate) metadata: Option<DbJson>,
    pub(crate) updated_at: DateTime<Utc>,
}
