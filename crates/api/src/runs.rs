//! Runs, lineage and reference resolution.

use crate::prelude::*;
use crate::{ArtifactDto, VersionDto};
use wanllmdb_domain::service::{EdgeKind, Lineage};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    #[serde(rename = "ref")]
    pub reference: String,
    pub project_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRunDto {
    pub project_id: Uuid,
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub name: String,
    #[serde(default)]
    /// A JSON object (null or absent: empty).
    #[schema(value_type = Option<Object>)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    pub project_id: Uuid,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRefDto {
    pub version_id: Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LineageQuery {
    /// Version hops each way (default 3).
    #[param(minimum = 1, maximum = 10)]
    pub depth: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunDto {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<Run> for RunDto {
    fn from(r: Run) -> Self {
        Self {
            id: r.id.into_uuid(),
            project_id: r.project_id.into_uuid(),
            name: r.name.into_string(),
            metadata: r.metadata.to_value(),
            created_by: r.created_by.into_uuid(),
            created_at: r.created_at,
        }
    }
}

/// What a reference names: the artifact and the version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolvedDto {
    pub artifact: ArtifactDto,
    pub version: VersionDto,
}

/// How a run relates to a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKindName {
    /// The run produced the version.
    Produced,
    /// The run used the version as an input.
    Used,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineageEdgeDto {
    pub run: Uuid,
    pub version: Uuid,
    pub kind: EdgeKindName,
}

/// The graph around a version: its producer, that run's inputs (upstream), the runs that used
/// it and what they produced (downstream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineageDto {
    pub root: Uuid,
    pub versions: Vec<VersionDto>,
    pub runs: Vec<RunDto>,
    pub edges: Vec<LineageEdgeDto>,
    /// Whether the node limit cut the graph short.
    pub truncated: bool,
}

impl From<Lineage> for LineageDto {
    fn from(l: Lineage) -> Self {
        Self {
            root: l.root.into_uuid(),
            versions: l
                .versions
                .into_iter()
                .map(|v| VersionDto::new(v, vec![]))
                .collect(),
            runs: l.runs.into_iter().map(RunDto::from).collect(),
            edges: l
                .edges
                .into_iter()
                .map(|e| LineageEdgeDto {
                    run: e.run.into_uuid(),
                    version: e.version.into_uuid(),
                    kind: match e.kind {
                        EdgeKind::Produced => EdgeKindName::Produced,
                        EdgeKind::Used => EdgeKindName::Used,
                    },
                })
                .collect(),
            truncated: l.truncated,
        }
    }
}

/// One fetch of a whole version (`file_id` empty) or of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownloadDto {
    pub id: Uuid,
    pub version_id: Uuid,
    pub file_id: Option<Uuid>,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

impl From<Download> for DownloadDto {
    fn from(d: Download) -> Self {
        Self {
            id: d.id.into_uuid(),
            version_id: d.version_id.into_uuid(),
            file_id: d.file_id.map(|f| f.into_uuid()),
            user_id: d.user_id.into_uuid(),
            at: d.at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DownloadStatsDto {
    pub count: u64,
    pub unique_users: u64,
    pub last_at: Option<DateTime<Utc>>,
    /// The newest downloads (at most 50), newest first.
    #[serde(default)]
    #[schema(required = true)]
    pub recent: Vec<RecentDownloadDto>,
}

/// Who downloaded, when, and which file (`null`: the whole version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecentDownloadDto {
    pub user_id: Uuid,
    pub user_name: String,
    pub file_id: Option<Uuid>,
    /// The file's path (`null` for the whole version, or a file deleted since).
    pub file_path: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<DownloadStats> for DownloadStatsDto {
    fn from(s: DownloadStats) -> Self {
        Self {
            count: s.count,
            unique_users: s.unique_users,
            last_at: s.last_at,
            recent: s
                .recent
                .into_iter()
                .map(|d| RecentDownloadDto {
                    user_id: d.user_id.into_uuid(),
                    user_name: d.user_name.into_string(),
                    file_id: d.file_id.map(|f| f.into_uuid()),
                    file_path: d.file_path.map(|p| p.as_str().to_owned()),
                    at: d.at,
                })
                .collect(),
        }
    }
}
