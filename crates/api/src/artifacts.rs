//! Artifacts, their search and their updates.

use crate::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArtifactDto {
    pub project_id: Uuid,
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = ArtifactTypeName)]
    pub artifact_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    /// A JSON object (null or absent: empty).
    #[schema(value_type = Option<Object>)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDto {
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// `GET /api/v1/artifacts`: search and filters, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArtifactQuery {
    pub project_id: Option<Uuid>,
    /// One or more types (`type=model&type=code` or `type=model,code`).
    #[serde(rename = "type", default)]
    #[param(value_type = Option<Vec<ArtifactTypeName>>)]
    pub artifact_type: Vec<String>,
    /// A substring of the name (case-insensitive).
    pub name: Option<String>,
    /// A substring of the name or the description (case-insensitive).
    pub q: Option<String>,
    pub created_by: Option<Uuid>,
    /// Artifacts with a version carrying this alias.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub alias: Option<String>,
    /// Metadata conditions, e.g. `metadata.accuracy >= 0.9 and metadata.tags contains "prod"`.
    pub filter: Option<String>,
    /// `name`, `created_at`, `updated_at`, `version_count` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /api/v1/artifacts/{id}/versions`: filters, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub alias: Option<String>,
    pub finalized: Option<bool>,
    pub run_id: Option<Uuid>,
    /// Metadata conditions, as for artifacts.
    pub filter: Option<String>,
    /// `index`, `created_at`, `total_size` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtifactDto {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = ArtifactTypeName)]
    pub artifact_type: ArtifactType,
    pub description: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_by: Uuid,
    pub version_count: u32,
    pub latest_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Artifact> for ArtifactDto {
    fn from(a: Artifact) -> Self {
        Self {
            id: a.id.into_uuid(),
            project_id: a.project_id.into_uuid(),
            name: a.name.into_string(),
            artifact_type: a.artifact_type,
            description: a.description.into_string(),
            metadata: a.metadata.to_value(),
            created_by: a.created_by.into_uuid(),
            version_count: a.version_count,
            latest_version: a.latest_version.map(|v| v.label()),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The kind of an artifact (the schema of the domain's `ArtifactType`).
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ArtifactTypeName {
    Model,
    Dataset,
    File,
    Code,
}
