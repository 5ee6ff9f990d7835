//! Versions of an artifact.

use crate::prelude::*;
use crate::FileDto;
use wanllmdb_domain::manifest::{FileChange, VersionDiff};

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVersionDto {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    /// A JSON object (null or absent: empty).
    #[schema(value_type = Option<Object>)]
    pub metadata: serde_json::Value,
    pub run_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionDto {
    pub id: Uuid,
    pub artifact_id: Uuid,
    pub project_id: Uuid,
    pub version: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub file_count: u64,
    pub total_size: u64,
    /// Where the version's files are addressed in the registry (their bytes live at content
    /// addresses; see each file's `storage_key`).
    pub storage_path: String,
    pub digest: Option<String>,
    pub is_finalized: bool,
    pub finalized_at: Option<DateTime<Utc>>,
    pub run_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub aliases: Vec<String>,
}

impl VersionDto {
    pub fn new(v: ArtifactVersion, aliases: Vec<AliasName>) -> Self {
        Self {
            storage_path: format!(
                "projects/{}/artifacts/{}/{}",
                v.project_id, v.artifact_id, v.index
            ),
            id: v.id.into_uuid(),
            artifact_id: v.artifact_id.into_uuid(),
            project_id: v.project_id.into_uuid(),
            version: v.index.label(),
            description: v.description.into_string(),
            metadata: v.metadata.to_value(),
            file_count: v.file_count,
            total_size: v.total_size,
            digest: v.digest.map(Sha256::into_string),
            is_finalized: v.is_finalized,
            finalized_at: v.finalized_at,
            run_id: v.run_id.map(|r| r.into_uuid()),
            created_by: v.created_by.into_uuid(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            aliases: aliases.into_iter().map(AliasName::into_string).collect(),
        }
    }
}

impl From<VersionView> for VersionDto {
    fn from(v: VersionView) -> Self {
        Self::new(v.version, v.aliases)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionWithFilesDto {
    #[serde(flatten)]
    pub version: VersionDto,
    pub files: Vec<FileDto>,
    pub next_files_cursor: Option<String>,
}

/// A file whose bytes or path changed between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileChangeDto {
    pub from: FileDto,
    pub to: FileDto,
}

/// How version `to` differs from version `from`, by digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionDiffDto {
    /// In `to` only (and not a rename).
    pub added: Vec<FileDto>,
    /// In `from` only (and not a rename).
    pub removed: Vec<FileDto>,
    /// Same path, other bytes.
    pub modified: Vec<FileChangeDto>,
    /// Same bytes, other path.
    pub renamed: Vec<FileChangeDto>,
    /// Same path, same bytes (among this page's paths).
    pub unchanged: u64,
    /// More changes follow on further pages (ask again with `cursor` = `next_cursor`); renames
    /// are paired within a page.
    pub truncated: bool,
    /// Where the next page starts, when `truncated`.
    pub next_cursor: Option<String>,
}

/// A page of a comparison: at most `limit` changed files (default and most 10,000), from
/// `cursor` (a `next_cursor`) on, in path order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    #[param(max_length = 1024)]
    pub cursor: Option<String>,
}

impl From<VersionDiff> for VersionDiffDto {
    fn from(d: VersionDiff) -> Self {
        let files = |v: Vec<ArtifactFile>| v.into_iter().map(FileDto::from).collect();
        let changes = |v: Vec<FileChange>| {
            v.into_iter()
                .map(|c| FileChangeDto {
                    from: c.from.into(),
                    to: c.to.into(),
                })
                .collect()
        };
        Self {
            added: files(d.added),
            removed: files(d.removed),
            modified: changes(d.modified),
            renamed: changes(d.renamed),
            unchanged: d.unchanged,
            truncated: d.truncated,
            next_cursor: d.next.map(FilePath::into_string),
        }
    }
}
