//! The metadata ports. Each method is one use-case-sized, atomic operation: an adapter implements
//! it in one database transaction, so a failure changes nothing.
//!
//! Common contract for every method, unless its doc says otherwise:
//! - a referenced row that does not exist MUST yield `StoreError::NotFound` naming that entity;
//! - a unique key that is taken MUST yield `StoreError::AlreadyExists`, never `Unexpected`;
//! - on any error, nothing is written.

use async_trait::async_trait;

use crate::entities::*;
use crate::error::{Entity, ValidationError};
use crate::ids::*;
use crate::types::*;

pub use crate::query::{ArtifactSortField, MetaFilter, Sort, SortKey, VersionSortField};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found: {key}")]
    NotFound { entity: Entity, key: String },
    #[error("{entity} already exists: {key}")]
    AlreadyExists { entity: Entity, key: String },
    /// The operation clashes with the stored state (e.g. a file added to a finalized version).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A value the store cannot hold (e.g. a number past the column's range).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A concurrent transaction got in the way (a serialization failure, a deadlock, a row
    /// referenced or removed meanwhile): nothing changed, and the same call may succeed.
    #[error("concurrent change, retry: {0}")]
    Retryable(String),
    #[error("unexpected store error: {0}")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn not_found(entity: Entity, key: impl std::fmt::Display) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    pub fn already_exists(entity: Entity, key: impl std::fmt::Display) -> Self {
        StoreError::AlreadyExists {
            entity,
            key: key.to_string(),
        }
    }

    pub fn unexpected(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Unexpected(e.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Why `finalize_version` did not finalize.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    #[error("artifact version not found: {0}")]
    NotFound(VersionId),
    #[error("version {0} is already finalized")]
    AlreadyFinalized(VersionIndex),
    /// See `StoreError::Retryable`.
    #[error("concurrent change, retry: {0}")]
    Retryable(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Why `add_files` registered nothing.
#[derive(Debug, thiserror::Error)]
pub enum AddFilesError {
    #[error("artifact version not found: {0}")]
    VersionNotFound(VersionId),
    /// The version was finalized: its files cannot change.
    #[error("version {0} is finalized; its files cannot change")]
    Finalized(VersionIndex),
    /// A path already in the version, or twice in the batch.
    #[error("file already exists: {0}")]
    PathTaken(String),
    /// See `StoreError::Retryable`.
    #[error("concurrent change, retry: {0}")]
    Retryable(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Why `delete_stale_draft` deleted nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeleteDraftError {
    #[error("artifact version not found: {0}")]
    NotFound(VersionId),
    /// Finalized meanwhile, or created at or after the cutoff.
    #[error("version {0} is no stale draft")]
    NotStale(VersionIndex),
    /// See `StoreError::Retryable`.
    #[error("concurrent change, retry: {0}")]
    Retryable(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Why `delete_blob_record` deleted nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeleteBlobError {
    #[error("blob not found: {0}")]
    NotFound(Sha256),
    /// A file references the bytes: they are not garbage.
    #[error("blob {0} is referenced by a file")]
    Referenced(Sha256),
    /// See `StoreError::Retryable` (e.g. a file registered on the blob concurrently).
    #[error("concurrent change, retry: {0}")]
    Retryable(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Errors that say whether the same call may succeed if made again.
pub trait Retry {
    fn is_retryable(&self) -> bool;
}

macro_rules! from_store_error {
    ($($t:ident),*) => {
        $(impl Retry for $t {
            fn is_retryable(&self) -> bool {
                matches!(self, $t::Retryable(_))
            }
        }
        impl From<StoreError> for $t {
            /// The store's own failures: a race is retryable, the rest passes through.
            fn from(e: StoreError) -> Self {
                match e {
                    StoreError::Retryable(m) => $t::Retryable(m),
                    other => $t::Store(other),
                }
            }
        })*
    };
}
from_store_error!(
    FinalizeError,
    AddFilesError,
    DeleteDraftError,
    DeleteBlobError
);

/// The most rows one page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Keyset pagination: the rows strictly after `after` in the listing's order, at most `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub limit: u32,
}

impl<K> PageRequest<K> {
    /// A request with `limit` checked against 1..=`MAX_PAGE_SIZE`.
    pub fn new(after: Option<K>, limit: Option<u32>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {MAX_PAGE_SIZE}, got {limit}"),
            ));
        }
        Ok(Self { after, limit })
    }

    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.clamp(1, MAX_PAGE_SIZE),
        }
    }
}

/// One page of results. `next` is the key to pass as `after` for the next page, present exactly
/// when more rows follow.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<K>,
}

impl<T, K> Page<T, K> {
    /// Builds a page from up to `limit + 1` rows in order: the extra row only says more follow.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }
}

// ---------------------------------------------------------------------------------------------
// Projects, users, keys, memberships

#[async_trait]
pub trait AccessRepo: Send + Sync {
    /// Creates a user. Name taken: `AlreadyExists(User)`.
    async fn create_user(&self, user: User) -> StoreResult<User>;
    /// `NotFound(User)` when absent.
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    /// `NotFound(User)` when absent.
    async fn get_user_by_name(&self, name: &UserName) -> StoreResult<User>;
    /// How many users exist (0 means the registry needs bootstrapping).
    async fn count_users(&self) -> StoreResult<u64>;

    /// Stores a key. Unknown user: `NotFound(User)`; same secret hash: `AlreadyExists(ApiKey)`.
    async fn create_api_key(&self, key: ApiKey) -> StoreResult<ApiKey>;
    /// The key with this secret hash, revoked or not; `NotFound(ApiKey)` when none.
    async fn find_api_key(&self, secret_hash: &Sha256) -> StoreResult<ApiKey>;
    /// A user's keys, oldest first, including revoked ones.
    async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>>;
    /// Sets `revoked_at` (keeps the first time if already revoked). `NotFound(ApiKey)` when absent.
    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey>;

    /// Stores a browser session. Unknown user: `NotFound(User)`; same secret hash:
    /// `AlreadyExists(Session)`.
    async fn create_session(&self, session: BrowserSession) -> StoreResult<BrowserSession>;
    /// The session with this secret hash, revoked, expired or not; `NotFound(Session)` when
    /// none.
    async fn find_session(&self, secret_hash: &Sha256) -> StoreResult<BrowserSession>;
    /// Sets `revoked_at` (keeps the first time if already revoked). `NotFound(Session)` when
    /// absent.
    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> StoreResult<BrowserSession>;
    /// Deletes the sessions that expired, or were revoked, before `before`; returns how many.
    async fn delete_stale_sessions(&self, before: Timestamp) -> StoreResult<u64>;

    /// Creates a project and makes its creator an admin member, atomically.
    /// Name taken: `AlreadyExists(Project)`; unknown creator: `NotFound(User)`.
    async fn create_project(&self, project: Project) -> StoreResult<Project>;
    async fn get_project(&self, id: ProjectId) -> StoreResult<Project>;
    async fn get_project_by_name(&self, name: &ProjectName) -> StoreResult<Project>;
    /// Projects by ascending name; with `member`, only those the user has a role in.
    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: PageRequest<ProjectName>,
    ) -> StoreResult<Page<Project, ProjectName>>;
    /// Deletes a project and everything in it (artifacts, versions, files, aliases, runs,
    /// memberships, blob records). `NotFound(Project)` when absent.
    async fn delete_project(&self, id: ProjectId) -> StoreResult<()>;

    /// Gives a user a role in a project, replacing any role they had.
    /// Unknown project or user: `NotFound`.
    async fn upsert_membership(&self, membership: Membership) -> StoreResult<Membership>;
    /// `NotFound(Membership)` when the user has no role there.
    async fn remove_membership(&self, project: ProjectId, user: UserId) -> StoreResult<()>;
    /// The user's role in the project, `None` without one (never `NotFound`).
    async fn get_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>>;
    /// Members by ascending user id.
    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Membership>>;
}

// ---------------------------------------------------------------------------------------------
// Runs and lineage

#[async_trait]
pub trait RunRepo: Send + Sync {
    /// Unknown project: `NotFound(Project)`.
    async fn create_run(&self, run: Run) -> StoreResult<Run>;
    async fn get_run(&self, id: RunId) -> StoreResult<Run>;
    /// A project's runs, oldest first.
    async fn list_runs(
        &self,
        project: ProjectId,
        page: PageRequest<RunId>,
    ) -> StoreResult<Page<Run, RunId>>;
    /// Records that `run` used `version`. Idempotent. Unknown run or version: `NotFound`.
    async fn add_run_input(&self, run: RunId, version: VersionId, at: Timestamp)
        -> StoreResult<()>;
    /// The versions a run used, by ascending version id.
    async fn run_inputs(&self, run: RunId) -> StoreResult<Vec<VersionId>>;
    /// The versions a run produced, by ascending version id.
    async fn run_outputs(&self, run: RunId) -> StoreResult<Vec<VersionId>>;
    /// The runs that used a version, by ascending run id.
    async fn version_consumers(&self, version: VersionId) -> StoreResult<Vec<RunId>>;
}

// ---------------------------------------------------------------------------------------------
// Artifacts

/// What to list; every field given must hold. Substring matches are case-insensitive for
/// ASCII letters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArtifactFilter {
    pub project_id: Option<ProjectId>,
    /// Restrict to these projects (the caller's visible projects); `None` means no restriction.
    pub project_ids: Option<Vec<ProjectId>>,
    /// Any of these types; empty means any type.
    pub artifact_types: Vec<ArtifactType>,
    /// A substring of the name.
    pub name_contains: Option<String>,
    /// A substring of the name or of the description.
    pub text: Option<String>,
    pub created_by: Option<UserId>,
    /// Artifacts with a version carrying this alias.
    pub alias: Option<AliasName>,
    /// Conditions on the artifact's metadata (see `query`).
    pub metadata: MetaFilter,
}

/// Which versions of an artifact to list; every field given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VersionFilter {
    /// Versions carrying this alias.
    pub alias: Option<AliasName>,
    pub finalized: Option<bool>,
    /// Versions this run produced.
    pub run_id: Option<RunId>,
    /// Conditions on the version's metadata (see `query`).
    pub metadata: MetaFilter,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    pub description: Option<Description>,
    pub metadata: Option<Metadata>,
}

#[async_trait]
pub trait ArtifactRepo: Send + Sync {
    /// `version_count`, `next_version_index` MUST start at 0 and `latest_version` empty whatever
    /// the input says. Unknown project: `NotFound(Project)`; name taken in the project:
    /// `AlreadyExists(Artifact)`.
    async fn create_artifact(&self, artifact: Artifact) -> StoreResult<Artifact>;
    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Artifact>;
    async fn get_artifact_by_name(
        &self,
        project: ProjectId,
        name: &ArtifactName,
    ) -> StoreResult<Artifact>;
    /// Matching artifacts in `sort` order (ties by ascending id), keyset-paginated on
    /// `sort.key(..)`: MUST give exactly the rows and order that `query::MetaFilter::matches`
    /// and `query::sort_and_seek` give, so every store pages alike.
    async fn list_artifacts(
        &self,
        filter: &ArtifactFilter,
        sort: &Sort<ArtifactSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<Artifact, SortKey>>;
    /// For each id of `projects`, in the same order, how many artifacts that project holds
    /// (MUST be 0 for a project with none and for an unknown id).
    async fn count_artifacts(&self, projects: Vec<ProjectId>) -> StoreResult<Vec<u64>>;
    async fn update_artifact(
        &self,
        id: ArtifactId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<Artifact>;
    /// Deletes the artifact with its versions, files, aliases, alias history, lineage edges and
    /// downloads. Blob records stay (they become garbage when unreferenced).
    async fn delete_artifact(&self, id: ArtifactId) -> StoreResult<Artifact>;
}

// ---------------------------------------------------------------------------------------------
// Versions and files

/// A version to create. The store assigns the index.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVersion {
    pub id: VersionId,
    pub artifact_id: ArtifactId,
    pub description: Description,
    pub metadata: Metadata,
    pub run_id: Option<RunId>,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// A file to register, with the blob that holds its bytes (verified by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct NewFile {
    pub id: FileId,
    pub path: FilePath,
    pub size: u64,
    pub md5: Md5,
    pub sha256: Sha256,
    pub content_type: ContentType,
    pub storage_key: crate::keys::ObjectKey,
    pub created_at: Timestamp,
}

/// The outcome of a finalize.
#[derive(Clone, Debug, PartialEq)]
pub struct Finalized {
    pub version: ArtifactVersion,
    /// The move of `latest`, when this version became the newest finalized one.
    pub latest_moved: Option<AliasEvent>,
}

#[async_trait]
pub trait VersionRepo: Send + Sync {
    /// Creates the artifact's next version, a draft with index = the artifact's
    /// `next_version_index`, and increments `next_version_index` and `version_count` in the same
    /// transaction. MUST give distinct, contiguous indices to concurrent callers, also across
    /// separate connections or processes. Unknown artifact: `NotFound(Artifact)`; unknown run:
    /// `NotFound(Run)`; a run of another project: also `NotFound(Run)` (an outsider learns nothing
    /// from the id).
    async fn create_next_version(&self, version: NewVersion) -> StoreResult<ArtifactVersion>;
    async fn get_version(&self, id: VersionId) -> StoreResult<ArtifactVersion>;
    async fn get_version_by_index(
        &self,
        artifact: ArtifactId,
        index: VersionIndex,
    ) -> StoreResult<ArtifactVersion>;
    /// Matching versions of an artifact in `sort` order (ties by ascending id), keyset-paginated
    /// on `sort.key(..)`, with the same MUST as `list_artifacts`. Unknown artifact:
    /// `NotFound(Artifact)`.
    async fn list_versions(
        &self,
        artifact: ArtifactId,
        filter: &VersionFilter,
        sort: &Sort<VersionSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<ArtifactVersion, SortKey>>;
    /// Changes description or metadata (allowed on finalized versions: they annotate, they are
    /// not content).
    async fn update_version(
        &self,
        id: VersionId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<ArtifactVersion>;
    /// Sets the producing run of a draft. Finalized: `Conflict`; another producer already set:
    /// `Conflict`; same run again: no change; run of another project: `NotFound(Run)`.
    async fn set_version_run(&self, id: VersionId, run: RunId) -> StoreResult<ArtifactVersion>;
    /// Makes a draft immutable: in one transaction that excludes concurrent `add_files` and
    /// `delete_file` on the version, computes the manifest digest over its files (see
    /// `manifest::manifest_digest`), stores it, and, if the index is above the artifact's
    /// `latest_version`, moves `latest` to it (recording an alias event with `actor`) and updates
    /// `latest_version`. Absent: `NotFound`; already finalized: `AlreadyFinalized`; a race with
    /// another transaction: `Retryable`.
    async fn finalize_version(
        &self,
        id: VersionId,
        actor: UserId,
        at: Timestamp,
    ) -> Result<Finalized, FinalizeError>;
    /// Deletes a version with its files, aliases, lineage edges and downloads, and decrements
    /// `version_count`. If `latest` pointed at it, `latest` moves to the newest remaining
    /// finalized version (or is removed), recorded as a system move.
    async fn delete_version(&self, id: VersionId, at: Timestamp) -> StoreResult<ArtifactVersion>;
    /// Drafts (never finalized) created before `before`, oldest first, at most `limit`: the
    /// abandoned uploads garbage collection deletes.
    async fn stale_drafts(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ArtifactVersion>>;
    /// Deletes a version (with its files, lineage edges and downloads, decrementing
    /// `version_count`) only if it is still a draft created before `before`, checked in the same
    /// transaction: finalized meanwhile, or younger -> `NotStale`; absent -> `NotFound`; a race
    /// with another transaction -> `Retryable`.
    async fn delete_stale_draft(
        &self,
        id: VersionId,
        before: Timestamp,
    ) -> Result<ArtifactVersion, DeleteDraftError>;

    /// Registers files in a draft, all or none, and upserts the blob record (project, sha256) of
    /// each; `file_count` and `total_size` grow accordingly. Unknown version: `VersionNotFound`;
    /// finalized version: `Finalized`; a path already in the version or twice in the batch:
    /// `PathTaken`; a race with another transaction (e.g. a blob record collected meanwhile):
    /// `Retryable`.
    async fn add_files(
        &self,
        version: VersionId,
        files: Vec<NewFile>,
    ) -> Result<Vec<ArtifactFile>, AddFilesError>;
    async fn get_file(&self, id: FileId) -> StoreResult<ArtifactFile>;
    async fn get_file_by_path(
        &self,
        version: VersionId,
        path: &FilePath,
    ) -> StoreResult<ArtifactFile>;
    /// A version's files by ascending path (byte order), only those whose path starts with
    /// `prefix` when given. Unknown version: `NotFound(Version)`.
    async fn list_files(
        &self,
        version: VersionId,
        prefix: Option<&str>,
        page: PageRequest<FilePath>,
    ) -> StoreResult<Page<ArtifactFile, FilePath>>;
    /// The immediate children of the folder `folder` (empty for the root, else a path ending in
    /// `/`): the files directly in it and the folders below it with their `file_count` and
    /// `total_size` (of every file anywhere below), merged in ascending path order (byte order;
    /// a folder's path ends in `/`), keyset-paginated on the path. MUST cost a bounded number of
    /// queries per page, whatever the version's size. Unknown version: `NotFound(Version)`.
    async fn list_folder(
        &self,
        version: VersionId,
        folder: &str,
        page: PageRequest<String>,
    ) -> StoreResult<Page<FolderEntry, String>>;
    /// Removes a file from a draft; `file_count` and `total_size` shrink. Finalized: `Conflict`.
    async fn delete_file(&self, id: FileId) -> StoreResult<ArtifactFile>;
}

// ---------------------------------------------------------------------------------------------
// Aliases

#[async_trait]
pub trait AliasRepo: Send + Sync {
    /// Points `alias` at `version` (which MUST belong to `artifact`, else `NotFound(Version)`,
    /// and be finalized, else `Conflict`), recording an event from the old target. Setting the
    /// target it already has records nothing. Returns the alias and the event if one was recorded.
    async fn set_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        version: VersionId,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<(Alias, Option<AliasEvent>)>;
    /// Removes an alias, recording the event. Absent: `NotFound(Alias)`.
    async fn remove_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<AliasEvent>;
    /// `NotFound(Alias)` when absent.
    async fn get_alias(&self, artifact: ArtifactId, alias: &AliasName) -> StoreResult<Alias>;
    /// An artifact's aliases by name.
    async fn list_aliases(&self, artifact: ArtifactId) -> StoreResult<Vec<Alias>>;
    /// The aliases pointing at one version, by name.
    async fn version_aliases(&self, version: VersionId) -> StoreResult<Vec<Alias>>;
    /// Alias moves, oldest first (by event id), of one alias or of all the artifact's aliases.
    async fn alias_history(
        &self,
        artifact: ArtifactId,
        alias: Option<&AliasName>,
    ) -> StoreResult<Vec<AliasEvent>>;
}

// ---------------------------------------------------------------------------------------------
// Downloads and blobs

#[async_trait]
pub trait DownloadRepo: Send + Sync {
    /// Unknown version (or file): `NotFound`.
    async fn record_download(&self, download: Download) -> StoreResult<Download>;
    /// Counts, the last time, and the newest [`DownloadStats::RECENT`] downloads newest first
    /// (ties by descending id) with their users' names. `NotFound(Version)` when absent.
    async fn download_stats(&self, version: VersionId) -> StoreResult<DownloadStats>;
}

#[async_trait]
pub trait BlobRepo: Send + Sync {
    /// The blob record for these bytes in the project; `NotFound(Blob)` when none.
    async fn get_blob(&self, project: ProjectId, sha256: &Sha256) -> StoreResult<Blob>;
    /// The project's blob records among `sha256s` (any number, repeats allowed), in any order;
    /// digests without a record are simply absent from the answer.
    async fn get_blobs(&self, project: ProjectId, sha256s: &[Sha256]) -> StoreResult<Vec<Blob>>;
    /// Blob records no file references, created before `before`, by ascending (project, sha256).
    async fn unreferenced_blobs(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<Blob>>;
    /// Deletes a blob record only if still unreferenced: referenced -> `Referenced`, absent ->
    /// `NotFound`, a file registered on it by a concurrent transaction -> `Retryable` (or
    /// `Referenced` once that transaction committed). The caller deletes the bytes afterwards.
    async fn delete_blob_record(
        &self,
        project: ProjectId,
        sha256: &Sha256,
    ) -> Result<Blob, DeleteBlobError>;
}

/// Everything the service needs from the metadata store.
#[async_trait]
pub trait MetadataStore:
    AccessRepo + RunRepo + ArtifactRepo + VersionRepo + AliasRepo + DownloadRepo + BlobRepo
{
    /// Whether the store answers (for readiness checks).
    async fn ping(&self) -> StoreResult<()>;
}
