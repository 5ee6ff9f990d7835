//! Users, API keys, projects and memberships.

use base64::Engine;
use rand::RngCore;

use super::{now, Actor, Registry};
use crate::entities::*;
use crate::error::{Entity, Error, Result, ValidationError};
use crate::ids::*;
use crate::ports::{Page, PageRequest, StoreError};
use crate::types::*;

/// The prefix of every API key secret, so leaked keys are easy to scan for.
pub const API_KEY_PREFIX: &str = "wlm_";

/// A key as created: the secret is in here once and never again.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// The prefix of browser session secrets (the cookie's value).
pub const SESSION_PREFIX: &str = "wls_";

/// A session as created: the secret goes into the browser's cookie, once.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub session: BrowserSession,
    pub user: User,
    pub secret: String,
}

/// Makes a fresh secret: the prefix and 32 random bytes, base64url.
pub fn generate_secret() -> String {
    random_token(API_KEY_PREFIX)
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

fn well_formed(secret: &str, prefix: &str) -> bool {
    secret.starts_with(prefix)
        && secret.len() >= prefix.len() + 32
        && secret.len() <= 256
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_secret(secret: &str) -> Result<(), ValidationError> {
    let ok = well_formed(secret, API_KEY_PREFIX);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "api_key",
            format!(
                "must start with {API_KEY_PREFIX:?} and have at least 32 more characters of [A-Za-z0-9_-]"
            ),
        ))
    }
}

impl Registry {
    /// On an empty registry, creates the administrator `name` with one key (`secret` when given,
    /// e.g. from the environment for automation; random otherwise). Returns `None` when users
    /// already exist, so calling it on every start is safe, also from several instances at once.
    pub async fn bootstrap(
        &self,
        name: UserName,
        secret: Option<String>,
    ) -> Result<Option<(User, NewApiKey)>> {
        if self.meta.count_users().await? > 0 {
            return Ok(None);
        }
        if let Some(s) = &secret {
            check_secret(s)?;
        }
        let user = User {
            id: UserId::new(),
            name,
            is_admin: true,
            created_at: now(),
        };
        let user = match self.meta.create_user(user).await {
            Ok(u) => u,
            // Another instance bootstrapped first.
            Err(StoreError::AlreadyExists { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let key = self
            .store_key(
                user.id,
                "bootstrap".into(),
                secret.unwrap_or_else(generate_secret),
            )
            .await?;
        Ok(Some((user, key)))
    }

    /// Creates a user. Only administrators may.
    pub async fn create_user(&self, actor: &Actor, name: UserName, is_admin: bool) -> Result<User> {
        if !actor.is_admin {
            return Err(Error::Forbidden("only administrators create users".into()));
        }
        let user = User {
            id: UserId::new(),
            name,
            is_admin,
            created_at: now(),
        };
        Ok(self.meta.create_user(user).await?)
    }

    pub async fn get_user(&self, _actor: &Actor, id: UserId) -> Result<User> {
        Ok(self.meta.get_user(id).await?)
    }

    pub async fn get_user_by_name(&self, _actor: &Actor, name: &UserName) -> Result<User> {
        Ok(self.meta.get_user_by_name(name).await?)
    }

    /// Creates a key for `user`: your own, or anyone's as an administrator.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        user: UserId,
        label: &str,
    ) -> Result<NewApiKey> {
        self.require_self_or_admin(actor, user)?;
        if label.len() > 128 || label.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "label",
                "must be at most 128 characters without control characters",
            )
            .into());
        }
        self.meta.get_user(user).await?;
        self.store_key(user, label.to_owned(), generate_secret())
            .await
    }

    async fn store_key(&self, user: UserId, label: String, secret: String) -> Result<NewApiKey> {
        let key = ApiKey {
            id: ApiKeyId::new(),
            user_id: user,
            label,
            secret_hash: Sha256::of(secret.as_bytes()),
            prefix: secret.chars().take(API_KEY_PREFIX.len() + 6).collect(),
            created_at: now(),
            revoked_at: None,
        };
        let key = self.meta.create_api_key(key).await?;
        Ok(NewApiKey { key, secret })
    }

    /// The caller behind a secret. Unknown, malformed or revoked keys are `Unauthenticated`.
    pub async fn authenticate(&self, secret: &str) -> Result<Actor> {
        let denied = || Error::Unauthenticated("invalid or revoked API key".into());
        check_secret(secret).map_err(|_| denied())?;
        let key = match self.meta.find_api_key(&Sha256::of(secret.as_bytes())).await {
            Ok(k) => k,
            Err(StoreError::NotFound { .. }) => return Err(denied()),
            Err(e) => return Err(e.into()),
        };
        if key.revoked_at.is_some() {
            return Err(denied());
        }
        let user = self.meta.get_user(key.user_id).await?;
        Ok(Actor {
            user_id: user.id,
            is_admin: user.is_admin,
        })
    }

    /// Signs a browser in with an API key: a new session of the key's user, lasting
    /// `RegistryConfig::session_ttl`. Sessions that ended a day ago or more are deleted.
    pub async fn create_session(&self, api_key: &str) -> Result<NewSession> {
        let actor = self.authenticate(api_key).await?;
        let secret = random_token(SESSION_PREFIX);
        let at = now();
        let ttl = chrono::Duration::from_std(self.config.session_ttl)
            .map_err(|e| Error::Unexpected(Box::new(e)))?;
        let session = self
            .meta
            .create_session(BrowserSession {
                id: SessionId::new(),
                user_id: actor.user_id,
                secret_hash: Sha256::of(secret.as_bytes()),
                csrf_token: random_token(""),
                created_at: at,
                expires_at: at + ttl,
                revoked_at: None,
            })
            .await?;
        self.meta
            .delete_stale_sessions(at - chrono::Duration::days(1))
            .await?;
        let user = self.meta.get_user(actor.user_id).await?;
        Ok(NewSession {
            session,
            user,
            secret,
        })
    }

    /// The caller behind a session cookie, with the session (whose CSRF token requests that
    /// change something must carry). Unknown, ended or expired: `Unauthenticated`.
    pub async fn authenticate_session(&self, secret: &str) -> Result<(Actor, BrowserSession)> {
        let denied = || Error::Unauthenticated("no live session: sign in again".into());
        if !well_formed(secret, SESSION_PREFIX) {
            return Err(denied());
        }
        let session = match self.meta.find_session(&Sha256::of(secret.as_bytes())).await {
            Ok(s) => s,
            Err(StoreError::NotFound { .. }) => return Err(denied()),
            Err(e) => return Err(e.into()),
        };
        if session.revoked_at.is_some() || session.expires_at <= now() {
            return Err(denied());
        }
        let user = self.meta.get_user(session.user_id).await?;
        let actor = Actor {
            user_id: user.id,
            is_admin: user.is_admin,
        };
        Ok((actor, session))
    }

    /// Signs out: the session's cookie stops working on every server instance.
    pub async fn end_session(&self, session: SessionId) -> Result<BrowserSession> {
        Ok(self.meta.revoke_session(session, now()).await?)
    }

    pub async fn list_api_keys(&self, actor: &Actor, user: UserId) -> Result<Vec<ApiKey>> {
        self.require_self_or_admin(actor, user)?;
        Ok(self.meta.list_api_keys(user).await?)
    }

    /// Revokes one of your keys, or anyone's as an administrator.
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        user: UserId,
        key: ApiKeyId,
    ) -> Result<ApiKey> {
        self.require_self_or_admin(actor, user)?;
        let owned = self.meta.list_api_keys(user).await?;
        if !owned.iter().any(|k| k.id == key) {
            return Err(Error::not_found(Entity::ApiKey, key));
        }
        Ok(self.meta.revoke_api_key(key, now()).await?)
    }

    fn require_self_or_admin(&self, actor: &Actor, user: UserId) -> Result<()> {
        if actor.is_admin || actor.user_id == user {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only the user themselves or an administrator may do this".into(),
            ))
        }
    }

    /// Creates a project; the caller becomes its admin.
    pub async fn create_project(
        &self,
        actor: &Actor,
        name: ProjectName,
        description: Description,
    ) -> Result<Project> {
        let project = Project {
            id: ProjectId::new(),
            name,
            description,
            created_by: actor.user_id,
            created_at: now(),
        };
        Ok(self.meta.create_project(project).await?)
    }

    pub async fn get_project(&self, actor: &Actor, id: ProjectId) -> Result<Project> {
        self.authorize(actor, id, Role::Viewer, (Entity::Project, &id))
            .await?;
        Ok(self.meta.get_project(id).await?)
    }

    pub async fn get_project_by_name(&self, actor: &Actor, name: &ProjectName) -> Result<Project> {
        let project = self.meta.get_project_by_name(name).await?;
        self.authorize(actor, project.id, Role::Viewer, (Entity::Project, name))
            .await?;
        Ok(project)
    }

    /// The projects the caller can see (all of them for an administrator), by name, each with
    /// how many artifacts it holds.
    pub async fn list_projects(
        &self,
        actor: &Actor,
        page: PageRequest<ProjectName>,
    ) -> Result<Page<(Project, u64), ProjectName>> {
        let member = (!actor.is_admin).then_some(actor.user_id);
        let page = self.meta.list_projects(member, page).await?;
        let ids = page.items.iter().map(|p| p.id).collect();
        let counts = self.meta.count_artifacts(ids).await?;
        Ok(Page {
            items: page.items.into_iter().zip(counts).collect(),
            next: page.next,
        })
    }

    /// A project with how many artifacts it holds. Needs the viewer role.
    pub async fn get_project_counted(
        &self,
        actor: &Actor,
        id: ProjectId,
    ) -> Result<(Project, u64)> {
        let project = self.get_project(actor, id).await?;
        let counts = self.meta.count_artifacts(vec![id]).await?;
        Ok((project, counts.first().copied().unwrap_or(0)))
    }

    /// Deletes a project with everything in it. Needs the admin role.
    pub async fn delete_project(&self, actor: &Actor, id: ProjectId) -> Result<()> {
        self.authorize(actor, id, Role::Admin, (Entity::Project, &id))
            .await?;
        Ok(self.meta.delete_project(id).await?)
    }

    /// Gives `user` a role in the project. Needs the admin role.
    pub async fn set_member(
        &self,
        actor: &Actor,
        project: ProjectId,
        user: UserId,
        role: Role,
    ) -> Result<Membership> {
        self.authorize(actor, project, Role::Admin, (Entity::Project, &project))
            .await?;
        self.guard_last_admin(project, user, Some(role)).await?;
        let m = Membership {
            project_id: project,
            user_id: user,
            role,
            created_at: now(),
        };
        Ok(self.meta.upsert_membership(m).await?)
    }

    /// Takes a user's role away. Needs the admin role, or is yourself leaving.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        project: ProjectId,
        user: UserId,
    ) -> Result<()> {
        let need = if actor.user_id == user {
            Role::Viewer
        } else {
            Role::Admin
        };
        self.authorize(actor, project, need, (Entity::Project, &project))
            .await?;
        self.guard_last_admin(project, user, None).await?;
        Ok(self.meta.remove_membership(project, user).await?)
    }

    pub async fn list_members(&self, actor: &Actor, project: ProjectId) -> Result<Vec<Membership>> {
        self.authorize(actor, project, Role::Viewer, (Entity::Project, &project))
            .await?;
        Ok(self.meta.list_members(project).await?)
    }

    /// A project keeps at least one admin: demoting or removing the last one is a conflict.
    async fn guard_last_admin(
        &self,
        project: ProjectId,
        user: UserId,
        new: Option<Role>,
    ) -> Result<()> {
        if new == Some(Role::Admin) {
            return Ok(());
        }
        let members = self.meta.list_members(project).await?;
        let admins: Vec<_> = members.iter().filter(|m| m.role == Role::Admin).collect();
        if admins.len() == 1 && admins[0].user_id == user {
            return Err(Error::conflict(
                "a project must keep at least one admin; make another member admin first",
            ));
        }
        Ok(())
    }
}
