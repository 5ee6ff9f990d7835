//! Users, API keys, projects and their members.

use crate::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectDto {
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberDto {
    #[schema(value_type = RoleName)]
    pub role: String,
}

/// A user looked up by exact name (adding a project member by name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    #[param(min_length = 1, max_length = 64)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserDto {
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub name: String,
    #[serde(default)]
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyDto {
    #[serde(default)]
    #[schema(max_length = 128)]
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub label: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.into_uuid(),
            user_id: k.user_id.into_uuid(),
            label: k.label,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub name: String,
    /// A registry-wide administrator: may act in every project.
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.into_uuid(),
            name: u.name.into_string(),
            is_admin: u.is_admin,
            created_at: u.created_at,
        }
    }
}

/// A new API key: `secret` is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKeyDto {
    pub key: ApiKeyDto,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectDto {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// How many artifacts the project holds.
    #[serde(default)]
    #[schema(required = true)]
    pub artifact_count: u64,
}

impl From<Project> for ProjectDto {
    fn from(p: Project) -> Self {
        Self::counted(p, 0)
    }
}

impl ProjectDto {
    pub fn counted(p: Project, artifact_count: u64) -> Self {
        Self {
            id: p.id.into_uuid(),
            name: p.name.into_string(),
            description: p.description.into_string(),
            created_by: p.created_by.into_uuid(),
            created_at: p.created_at,
            artifact_count,
        }
    }
}

/// A role in a project; each can do everything the one before can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Viewer,
    Editor,
    Admin,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::Viewer => RoleName::Viewer,
            Role::Editor => RoleName::Editor,
            Role::Admin => RoleName::Admin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MembershipDto {
    pub project_id: Uuid,
    pub user_id: Uuid,
    pub role: RoleName,
    pub created_at: DateTime<Utc>,
}

impl From<Membership> for MembershipDto {
    fn from(m: Membership) -> Self {
        Self {
            project_id: m.project_id.into_uuid(),
            user_id: m.user_id.into_uuid(),
            role: m.role.into(),
            created_at: m.created_at,
        }
    }
}

/// `POST /api/v1/session`: sign a browser in with an API key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionDto {
    pub api_key: String,
}

/// A browser session. The secret travels only in the HttpOnly cookie; `csrf_token` is what the
/// page sends back as `X-CSRF-Token` on every request that changes something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionDto {
    pub user: UserDto,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}
