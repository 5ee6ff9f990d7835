//! The registry's entities, as plain data. Invariants are kept by the service and the ports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::keys::ObjectKey;
use crate::types::*;

pub type Timestamp = DateTime<Utc>;

/// The current time at microsecond precision, the finest every store keeps, so a timestamp
/// reads back exactly as it was written.
pub fn now() -> Timestamp {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: ProjectName,
    pub description: Description,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: UserName,
    /// A registry-wide administrator: may act in every project.
    pub is_admin: bool,
    pub created_at: Timestamp,
}

/// An API key. The secret is shown once at creation; only its SHA-256 is stored (the secret has
/// 256 bits of entropy, so a fast hash is enough).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    /// A label the user chose, e.g. "laptop".
    pub label: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: Sha256,
    /// The first characters of the secret, to tell keys apart in listings.
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A browser's sign-in: a random secret the browser keeps in an HttpOnly cookie (only its
/// SHA-256 is stored, like an API key's), and a CSRF token the page sends back with every
/// request that changes something. Kept in the database, so every server instance accepts it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrowserSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub secret_hash: Sha256,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub project_id: ProjectId,
    pub name: RunName,
    pub metadata: Metadata,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub id: ArtifactId,
    pub project_id: ProjectId,
    pub name: ArtifactName,
    pub artifact_type: ArtifactType,
    pub description: Description,
    pub metadata: Metadata,
    pub created_by: UserId,
    /// How many versions exist now.
    pub version_count: u32,
    /// The index the next version will get; never reused, even after deletes.
    pub next_version_index: u32,
    /// The newest finalized version, which `latest` points at.
    pub latest_version: Option<VersionIndex>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactVersion {
    pub id: VersionId,
    pub artifact_id: ArtifactId,
    pub project_id: ProjectId,
    pub index: VersionIndex,
    pub description: Description,
    pub metadata: Metadata,
    pub file_count: u64,
    pub total_size: u64,
    /// The manifest digest, set when the version is finalized.
    pub digest: Option<Sha256>,
    pub is_finalized: bool,
    pub finalized_at: Option<Timestamp>,
    /// The run that produced this version.
    pub run_id: Option<RunId>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A folder inside a version: every file whose path starts with `path` (which ends in `/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub path: String,
    /// Files anywhere below it.
    pub file_count: u64,
    pub total_size: u64,
}

/// One child of a folder: a file, or a folder below it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FolderEntry {
    File(ArtifactFile),
    Folder(Folder),
}

impl FolderEntry {
    /// Its path; folders end in `/`, so entries sort and page by it.
    pub fn path(&self) -> &str {
        match self {
            FolderEntry::File(f) => f.path.as_str(),
            FolderEntry::Folder(f) => &f.path,
        }
    }
}

/// The folder a path sits in (`a/b/` for `a/b/c.txt`, empty at the root) and the folders above
/// that one, innermost last: `["a/", "a/b/"]`.
pub fn folders_of(path: &str) -> Vec<&str> {
    path.match_indices('/').map(|(i, _)| &path[..=i]).collect()
}

/// The folder directly holding `path` (a file path or a folder path ending in `/`).
pub fn parent_folder(path: &str) -> &str {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    match trimmed.rfind('/') {
        Some(i) => &trimmed[..=i],
        None => "",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactFile {
    pub id: FileId,
    pub version_id: VersionId,
    pub path: FilePath,
    pub size: u64,
    pub md5: Md5,
    pub sha256: Sha256,
    pub content_type: ContentType,
    pub storage_key: ObjectKey,
    pub created_at: Timestamp,
}

impl ArtifactFile {
    /// The file's name: the last segment of its path.
    pub fn name(&self) -> &str {
        self.path.file_name()
    }
}

/// An alias pointing at a finalized version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub artifact_id: ArtifactId,
    pub name: AliasName,
    pub version_id: VersionId,
    pub version_index: VersionIndex,
    pub updated_by: Option<UserId>,
    pub updated_at: Timestamp,
}

/// One move of an alias: set (`from` empty), moved, or removed (`to` empty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AliasEvent {
    pub id: AliasEventId,
    pub artifact_id: ArtifactId,
    pub alias: AliasName,
    pub from_version: Option<VersionId>,
    pub to_version: Option<VersionId>,
    /// Who moved it; `None` for moves the system made (e.g. `latest` after a delete).
    pub actor: Option<UserId>,
    pub at: Timestamp,
}

/// A fetch of a version's files (`file_id` empty) or of one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Download {
    pub id: DownloadId,
    pub version_id: VersionId,
    pub file_id: Option<FileId>,
    pub user_id: UserId,
    pub at: Timestamp,
}

/// Download counters of a version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DownloadStats {
    pub count: u64,
    pub unique_users: u64,
    pub last_at: Option<Timestamp>,
    /// The newest downloads (at most [`DownloadStats::RECENT`]), newest first.
    pub recent: Vec<RecentDownload>,
}

impl DownloadStats {
    pub const RECENT: usize = 50;
}

/// One download as the statistics list it: who, when, and which file (`None`: the version).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentDownload {
    pub user_id: UserId,
    pub user_name: UserName,
    pub file_id: Option<FileId>,
    /// The file's path, while the file exists.
    pub file_path: Option<FilePath>,
    pub at: Timestamp,
}

/// Bytes known to be stored for a project under their SHA-256. A blob that no file references is
/// garbage once it is older than the collector's grace period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    pub project_id: ProjectId,
    pub sha256: Sha256,
    pub md5: Md5,
    pub size: u64,
    pub storage_key: ObjectKey,
    pub created_at: Timestamp,
}
