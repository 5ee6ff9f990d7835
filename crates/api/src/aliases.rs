//! Aliases and their move history.

use crate::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAliasDto {
    /// `v3`, or give `version_id`.
    pub version: Option<String>,
    pub version_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AliasHistoryQuery {
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AliasDto {
    pub name: String,
    pub version_id: Uuid,
    pub version: String,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl From<Alias> for AliasDto {
    fn from(a: Alias) -> Self {
        Self {
            name: a.name.into_string(),
            version_id: a.version_id.into_uuid(),
            version: a.version_index.label(),
            updated_by: a.updated_by.map(|u| u.into_uuid()),
            updated_at: a.updated_at,
        }
    }
}

/// One move of an alias: from a version (none when it was set) to a version (none when it was
/// removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AliasEventDto {
    pub id: Uuid,
    pub artifact_id: Uuid,
    pub alias: String,
    pub from_version: Option<Uuid>,
    pub to_version: Option<Uuid>,
    /// Who moved it; empty for moves the registry made (e.g. `latest` after a delete).
    pub actor: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<AliasEvent> for AliasEventDto {
    fn from(e: AliasEvent) -> Self {
        Self {
            id: e.id.into_uuid(),
            artifact_id: e.artifact_id.into_uuid(),
            alias: e.alias.into_string(),
            from_version: e.from_version.map(|v| v.into_uuid()),
            to_version: e.to_version.map(|v| v.into_uuid()),
            actor: e.actor.map(|u| u.into_uuid()),
            at: e.at,
        }
    }
}
