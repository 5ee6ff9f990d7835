use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::entities::*;
use crate::error::Entity;
use crate::ids::*;
use crate::manifest::ManifestHasher;
use crate::ports::*;
use crate::query::page_of;
use crate::types::*;

/// The metadata ports over maps behind one mutex.
#[derive(Debug, Default)]
pub struct MemoryMetadataStore {
    state: Mutex<State>,
}

impl MemoryMetadataStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, User>,
    user_names: HashMap<UserName, UserId>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    key_hashes: HashMap<Sha256, ApiKeyId>,
    sessions: BTreeMap<SessionId, BrowserSession>,
    session_hashes: HashMap<Sha256, SessionId>,
    projects: HashMap<ProjectId, Project>,
    project_names: BTreeMap<ProjectName, ProjectId>,
    memberships: BTreeMap<(ProjectId, UserId), Membership>,
    runs: BTreeMap<RunId, Run>,
    /// (run, version) edges: the run used the version.
    run_inputs: BTreeSet<(RunId, VersionId)>,
    artifacts: BTreeMap<ArtifactId, Artifact>,
    artifact_names: HashMap<(ProjectId, ArtifactName), ArtifactId>,
    versions: HashMap<VersionId, ArtifactVersion>,
    version_indices: BTreeMap<(ArtifactId, VersionIndex), VersionId>,
    files: HashMap<FileId, ArtifactFile>,
    file_paths: BTreeMap<(VersionId, FilePath), FileId>,
    aliases: BTreeMap<(ArtifactId, AliasName), Alias>,
    alias_events: BTreeMap<AliasEventId, AliasEvent>,
    downloads: Vec<Download>,
    blobs: BTreeMap<(ProjectId, Sha256), Blob>,
    /// How many files reference each blob.
    blob_refs: HashMap<(ProjectId, Sha256), u64>,
}

fn nf(entity: Entity, key: impl std::fmt::Display) -> StoreError {
    StoreError::not_found(entity, key)
}

impl State {
    fn user(&self, id: UserId) -> StoreResult<&User> {
        self.users.get(&id).ok_or_else(|| nf(Entity::User, id))
    }
    fn project(&self, id: ProjectId) -> StoreResult<&Project> {
        self.projects
            .get(&id)
            .ok_or_else(|| nf(Entity::Project, id))
    }
    fn run(&self, id: RunId) -> StoreResult<&Run> {
        self.runs.get(&id).ok_or_else(|| nf(Entity::Run, id))
    }
    fn artifact(&self, id: ArtifactId) -> StoreResult<&Artifact> {
        self.artifacts
            .get(&id)
            .ok_or_else(|| nf(Entity::Artifact, id))
    }
    fn artifact_mut(&mut self, id: ArtifactId) -> StoreResult<&mut Artifact> {
        self.artifacts
            .get_mut(&id)
            .ok_or_else(|| nf(Entity::Artifact, id))
    }
    fn version(&self, id: VersionId) -> StoreResult<&ArtifactVersion> {
        self.versions
            .get(&id)
            .ok_or_else(|| nf(Entity::Version, id))
    }
    fn version_mut(&mut self, id: VersionId) -> StoreResult<&mut ArtifactVersion> {
        self.versions
            .get_mut(&id)
            .ok_or_else(|| nf(Entity::Version, id))
    }

    fn record_alias_event(
        &mut self,
        artifact: ArtifactId,
        alias: &AliasName,
        from: Option<VersionId>,
        to: Option<VersionId>,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> AliasEvent {
        let event = AliasEvent {
            id: AliasEventId::new(),
            artifact_id: artifact,
            alias: alias.clone(),
            from_version: from,
            to_version: to,
            actor,
            at,
        };
        self.alias_events.insert(event.id, event.clone());
        event
    }

    /// Points an alias at a version (no checks), recording the move if it is one.
    fn point_alias(
        &mut self,
        version: &ArtifactVersion,
        alias: &AliasName,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> (Alias, Option<AliasEvent>) {
        let key = (version.artifact_id, alias.clone());
        let from = self.aliases.get(&key).map(|a| a.version_id);
        let new = Alias {
            artifact_id: version.artifact_id,
            name: alias.clone(),
            version_id: version.id,
            version_index: version.index,
            updated_by: actor,
            updated_at: at,
        };
        if from == Some(version.id) {
            let current = self.aliases.get(&key).cloned().unwrap_or(new);
            return (current, None);
        }
        self.aliases.insert(key, new.clone());
        let event = self.record_alias_event(
            version.artifact_id,
            alias,
            from,
            Some(version.id),
            actor,
            at,
        );
        (new, Some(event))
    }

    fn remove_file_row(&mut self, id: FileId) -> Option<ArtifactFile> {
        let file = self.files.remove(&id)?;
        self.file_paths
            .remove(&(file.version_id, file.path.clone()));
        if let Some(v) = self.versions.get(&file.version_id) {
            let key = (v.project_id, file.sha256.clone());
            if let Some(n) = self.blob_refs.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.blob_refs.remove(&key);
                }
            }
        }
        Some(file)
    }

    /// Removes a version and everything hanging off it; moves `latest` if it pointed there.
    fn remove_version_rows(&mut self, id: VersionId, at: Timestamp) -> Option<ArtifactVersion> {
        let file_ids: Vec<FileId> = self
            .file_paths
            .range((id, FilePath::from_trusted(""))..)
            .take_while(|((v, _), _)| *v == id)
            .map(|(_, f)| *f)
            .collect();
        for f in file_ids {
            self.remove_file_row(f);
        }
        let version = self.versions.remove(&id)?;
        self.version_indices
            .remove(&(version.artifact_id, version.index));
        self.run_inputs.retain(|(_, v)| *v != id);
        self.downloads.retain(|d| d.version_id != id);
        let pointing: Vec<(ArtifactId, AliasName)> = self
            .aliases
            .iter()
            .filter(|(_, a)| a.version_id == id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in pointing {
            // `latest` is moved below, not dropped.
            if key.1.is_latest() {
                continue;
            }
            self.aliases.remove(&key);
            self.record_alias_event(key.0, &key.1, Some(id), None, None, at);
        }
        if let Some(artifact) = self.artifacts.get(&version.artifact_id).cloned() {
            let newest = self
                .version_indices
                .range((artifact.id, VersionIndex(0))..=(artifact.id, VersionIndex(u32::MAX)))
                .rev()
                .filter_map(|(_, vid)| self.versions.get(vid))
                .find(|v| v.is_finalized)
                .cloned();
            if artifact.latest_version == Some(version.index) {
                let latest = AliasName::latest();
                match &newest {
                    Some(n) => {
                        self.point_alias(n, &latest, None, at);
                    }
                    None => {
                        self.aliases.remove(&(artifact.id, latest.clone()));
                        self.record_alias_event(artifact.id, &latest, Some(id), None, None, at);
                    }
                }
            }
            if let Some(a) = self.artifacts.get_mut(&artifact.id) {
                a.version_count = a.version_count.saturating_sub(1);
                a.latest_version = newest.map(|n| n.index);
            }
        }
        Some(version)
    }

    fn remove_artifact_rows(&mut self, id: ArtifactId, at: Timestamp) -> Option<Artifact> {
        let version_ids: Vec<VersionId> = self
            .version_indices
            .range((id, VersionIndex(0))..=(id, VersionIndex(u32::MAX)))
            .map(|(_, v)| *v)
            .collect();
        for v in version_ids {
            self.remove_version_rows(v, at);
        }
        self.aliases.retain(|(a, _), _| *a != id);
        self.alias_events.retain(|_, e| e.artifact_id != id);
        let artifact = self.artifacts.remove(&id)?;
        self.artifact_names
            .remove(&(artifact.project_id, artifact.name.clone()));
        Some(artifact)
    }
}

fn page_after<'a, K: Ord + Clone, V>(
    map: &'a BTreeMap<K, V>,
    after: Option<&K>,
) -> impl Iterator<Item = (&'a K, &'a V)> {
    let lower = match after {
        Some(k) => Bound::Excluded(k.clone()),
        None => Bound::Unbounded,
    };
    map.range((lower, Bound::Unbounded))
}

#[async_trait]
impl AccessRepo for MemoryMetadataStore {
    async fn create_user(&self, user: User) -> StoreResult<User> {
        let mut s = lock(&self.state);
        if s.user_names.contains_key(&user.name) {
            return Err(StoreError::already_exists(Entity::User, &user.name));
        }
        s.user_names.insert(user.name.clone(), user.id);
        s.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        lock(&self.state).user(id).cloned()
    }

    async fn get_user_by_name(&self, name: &UserName) -> StoreResult<User> {
        let s = lock(&self.state);
        let id = s
            .user_names
            .get(name)
            .ok_or_else(|| nf(Entity::User, name))?;
        s.user(*id).cloned()
    }

    async fn count_users(&self) -> StoreResult<u64> {
        Ok(lock(&self.state).users.len() as u64)
    }

    async fn create_api_key(&self, key: ApiKey) -> StoreResult<ApiKey> {
        let mut s = lock(&self.state);
        s.user(key.user_id)?;
        if s.key_hashes.contains_key(&key.secret_hash) || s.api_keys.contains_key(&key.id) {
            return Err(StoreError::already_exists(Entity::ApiKey, &key.prefix));
        }
        s.key_hashes.insert(key.secret_hash.clone(), key.id);
        s.api_keys.insert(key.id, key.clone());
        Ok(key)
    }

    async fn find_api_key(&self, secret_hash: &Sha256) -> StoreResult<ApiKey> {
        let s = lock(&self.state);
        s.key_hashes
            .get(secret_hash)
            .and_then(|id| s.api_keys.get(id))
            .cloned()
            .ok_or_else(|| nf(Entity::ApiKey, "with that secret"))
    }

    async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
        let s = lock(&self.state);
        Ok(s.api_keys
            .values()
            .filter(|k| k.user_id == user)
            .cloned()
            .collect())
    }

    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey> {
        let mut s = lock(&self.state);
        let key = s
            .api_keys
            .get_mut(&id)
            .ok_or_else(|| nf(Entity::ApiKey, id))?;
        key.revoked_at.get_or_insert(at);
        Ok(key.clone())
    }

    async fn create_session(&self, session: BrowserSession) -> StoreResult<BrowserSession> {
        let mut s = lock(&self.state);
        s.user(session.user_id)?;
        if s.session_hashes.contains_key(&session.secret_hash)
            || s.sessions.contains_key(&session.id)
        {
            return Err(StoreError::already_exists(Entity::Session, session.id));
        }
        s.session_hashes
            .insert(session.secret_hash.clone(), session.id);
        s.sessions.insert(session.id, session.clone());
        Ok(session)
    }

    async fn find_session(&self, secret_hash: &Sha256) -> StoreResult<BrowserSession> {
        let s = lock(&self.state);
        s.session_hashes
            .get(secret_hash)
            .and_then(|id| s.sessions.get(id))
            .cloned()
            .ok_or_else(|| nf(Entity::Session, "with that secret"))
    }

    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> StoreResult<BrowserSession> {
        let mut s = lock(&self.state);
        let session = s
            .sessions
            .get_mut(&id)
            .ok_or_else(|| nf(Entity::Session, id))?;
        session.revoked_at.get_or_insert(at);
        Ok(session.clone())
    }

    async fn delete_stale_sessions(&self, before: Timestamp) -> StoreResult<u64> {
        let mut s = lock(&self.state);
        let stale: Vec<BrowserSession> = s
            .sessions
            .values()
            .filter(|x| x.expires_at < before || x.revoked_at.is_some_and(|r| r < before))
            .cloned()
            .collect();
        for x in &stale {
            s.sessions.remove(&x.id);
            s.session_hashes.remove(&x.secret_hash);
        }
        Ok(stale.len() as u64)
    }

    async fn create_project(&self, project: Project) -> StoreResult<Project> {
        let mut s = lock(&self.state);
        s.user(project.created_by)?;
        if s.project_names.contains_key(&project.name) {
            return Err(StoreError::already_exists(Entity::Project, &project.name));
        }
        s.project_names.insert(project.name.clone(), project.id);
        s.projects.insert(project.id, project.clone());
        s.memberships.insert(
            (project.id, project.created_by),
            Membership {
                project_id: project.id,
                user_id: project.created_by,
                role: Role::Admin,
                created_at: project.created_at,
            },
        );
        Ok(project)
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        lock(&self.state).project(id).cloned()
    }

    async fn get_project_by_name(&self, name: &ProjectName) -> StoreResult<Project> {
        let s = lock(&self.state);
        let id = s
            .project_names
            .get(name)
            .ok_or_else(|| nf(Entity::Project, name))?;
        s.project(*id).cloned()
    }

    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: PageRequest<ProjectName>,
    ) -> StoreResult<Page<Project, ProjectName>> {
        let s = lock(&self.state);
        let rows: Vec<Project> = page_after(&s.project_names, page.after.as_ref())
            .filter(|(_, id)| member.is_none_or(|u| s.memberships.contains_key(&(**id, u))))
            .filter_map(|(_, id)| s.projects.get(id).cloned())
            .take(page.limit as usize + 1)
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |p| p.name.clone()))
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<()> {
        let mut s = lock(&self.state);
        let project = s.project(id)?.clone();
        let at = crate::entities::now();
        let artifacts: Vec<ArtifactId> = s
            .artifacts
            .values()
            .filter(|a| a.project_id == id)
            .map(|a| a.id)
            .collect();
        for a in artifacts {
            s.remove_artifact_rows(a, at);
        }
        let runs: Vec<RunId> = s
            .runs
            .values()
            .filter(|r| r.project_id == id)
            .map(|r| r.id)
            .collect();
        for r in runs {
            s.runs.remove(&r);
            s.run_inputs.retain(|(run, _)| *run != r);
            for v in s.versions.values_mut() {
                if v.run_id == Some(r) {
                    v.run_id = None;
                }
            }
        }
        s.memberships.retain(|(p, _), _| *p != id);
        s.blobs.retain(|(p, _), _| *p != id);
        s.blob_refs.retain(|(p, _), _| *p != id);
        s.project_names.remove(&project.name);
        s.projects.remove(&id);
        Ok(())
    }

    async fn upsert_membership(&self, membership: Membership) -> StoreResult<Membership> {
        let mut s = lock(&self.state);
        s.project(membership.project_id)?;
        s.user(membership.user_id)?;
        let key = (membership.project_id, membership.user_id);
        let stored = match s.memberships.get(&key) {
            Some(old) => Membership {
                created_at: old.created_at,
                ..membership
            },
            None => membership,
        };
        s.memberships.insert(key, stored.clone());
        Ok(stored)
    }

    async fn remove_membership(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        let mut s = lock(&self.state);
        s.memberships
            .remove(&(project, user))
            .map(|_| ())
            .ok_or_else(|| nf(Entity::Membership, format!("{user} in {project}")))
    }

    async fn get_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        Ok(lock(&self.state)
            .memberships
            .get(&(project, user))
            .map(|m| m.role))
    }

    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Membership>> {
        let s = lock(&self.state);
        s.project(project)?;
        Ok(s.memberships
            .range(
                (project, UserId::from_uuid(uuid::Uuid::nil()))
                    ..=(project, UserId::from_uuid(uuid::Uuid::max())),
            )
            .map(|(_, m)| m.clone())
            .collect())
    }
}

#[async_trait]
impl RunRepo for MemoryMetadataStore {
    async fn create_run(&self, run: Run) -> StoreResult<Run> {
        let mut s = lock(&self.state);
        s.project(run.project_id)?;
        s.runs.insert(run.id, run.clone());
        Ok(run)
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        lock(&self.state).run(id).cloned()
    }

    async fn list_runs(
        &self,
        project: ProjectId,
        page: PageRequest<RunId>,
    ) -> StoreResult<Page<Run, RunId>> {
        let s = lock(&self.state);
        s.project(project)?;
        let rows: Vec<Run> = page_after(&s.runs, page.after.as_ref())
            .filter(|(_, r)| r.project_id == project)
            .map(|(_, r)| r.clone())
            .take(page.limit as usize + 1)
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
    }

    async fn add_run_input(
        &self,
        run: RunId,
        version: VersionId,
        _at: Timestamp,
    ) -> StoreResult<()> {
        let mut s = lock(&self.state);
        s.run(run)?;
        s.version(version)?;
        s.run_inputs.insert((run, version));
        Ok(())
    }

    async fn run_inputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        let s = lock(&self.state);
        s.run(run)?;
        Ok(s.run_inputs
            .iter()
            .filter(|(r, _)| *r == run)
            .map(|(_, v)| *v)
            .collect())
    }

    async fn run_outputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        let s = lock(&self.state);
        s.run(run)?;
        let mut out: Vec<VersionId> = s
            .versions
            .values()
            .filter(|v| v.run_id == Some(run))
            .map(|v| v.id)
            .collect();
        out.sort();
        Ok(out)
    }

    async fn version_consumers(&self, version: VersionId) -> StoreResult<Vec<RunId>> {
        let s = lock(&self.state);
        s.version(version)?;
        let mut out: Vec<RunId> = s
            .run_inputs
            .iter()
            .filter(|(_, v)| *v == version)
            .map(|(r, _)| *r)
            .collect();
        out.sort();
        Ok(out)
    }
}

#[async_trait]
impl ArtifactRepo for MemoryMetadataStore {
    async fn create_artifact(&self, artifact: Artifact) -> StoreResult<Artifact> {
        let mut s = lock(&self.state);
        s.project(artifact.project_id)?;
        let key = (artifact.project_id, artifact.name.clone());
        if s.artifact_names.contains_key(&key) {
            return Err(StoreError::already_exists(Entity::Artifact, &artifact.name));
        }
        let artifact = Artifact {
            version_count: 0,
            next_version_index: 0,
            latest_version: None,
            ..artifact
        };
        s.artifact_names.insert(key, artifact.id);
        s.artifacts.insert(artifact.id, artifact.clone());
        Ok(artifact)
    }

    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        lock(&self.state).artifact(id).cloned()
    }

    async fn count_artifacts(&self, projects: Vec<ProjectId>) -> StoreResult<Vec<u64>> {
        let s = lock(&self.state);
        Ok(projects
            .iter()
            .map(|p| s.artifacts.values().filter(|a| a.project_id == *p).count() as u64)
            .collect())
    }

    async fn get_artifact_by_name(
        &self,
        project: ProjectId,
        name: &ArtifactName,
    ) -> StoreResult<Artifact> {
        let s = lock(&self.state);
        let id = s
            .artifact_names
            .get(&(project, name.clone()))
            .ok_or_else(|| nf(Entity::Artifact, name))?;
        s.artifact(*id).cloned()
    }

    async fn list_artifacts(
        &self,
        filter: &ArtifactFilter,
        sort: &Sort<ArtifactSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<Artifact, SortKey>> {
        let s = lock(&self.state);
        let name = filter
            .name_contains
            .as_ref()
            .map(|n| n.to_ascii_lowercase());
        let text = filter.text.as_ref().map(|n| n.to_ascii_lowercase());
        let has_alias =
            |a: &Artifact, alias: &AliasName| s.aliases.contains_key(&(a.id, alias.clone()));
        let matching = s
            .artifacts
            .values()
            .filter(|a| filter.project_id.is_none_or(|p| a.project_id == p))
            .filter(|a| {
                filter
                    .project_ids
                    .as_ref()
                    .is_none_or(|ps| ps.contains(&a.project_id))
            })
            .filter(|a| {
                filter.artifact_types.is_empty() || filter.artifact_types.contains(&a.artifact_type)
            })
            .filter(|a| filter.created_by.is_none_or(|u| a.created_by == u))
            .filter(|a| {
                name.as_ref()
                    .is_none_or(|n| a.name.as_str().to_ascii_lowercase().contains(n.as_str()))
            })
            .filter(|a| {
                text.as_ref().is_none_or(|n| {
                    a.name.as_str().to_ascii_lowercase().contains(n.as_str())
                        || a.description
                            .as_str()
                            .to_ascii_lowercase()
                            .contains(n.as_str())
                })
            })
            .filter(|a| filter.alias.as_ref().is_none_or(|al| has_alias(a, al)))
            .filter(|a| filter.metadata.matches(&a.metadata));
        let rows = page_of(
            matching,
            |a| sort.key(a),
            sort.descending,
            page.after.as_ref(),
            page.limit as usize + 1,
        );
        let rows = rows.into_iter().cloned().collect();
        Ok(Page::from_overfetch(rows, page.limit, |a| sort.key(a)))
    }

    async fn update_artifact(
        &self,
        id: ArtifactId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<Artifact> {
        let mut s = lock(&self.state);
        let a = s.artifact_mut(id)?;
        if let Some(d) = patch.description {
            a.description = d;
        }
        if let Some(m) = patch.metadata {
            a.metadata = m;
        }
        a.updated_at = at;
        Ok(a.clone())
    }

    async fn delete_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        let mut s = lock(&self.state);
        s.artifact(id)?;
        s.remove_artifact_rows(id, crate::entities::now())
            .ok_or_else(|| nf(Entity::Artifact, id))
    }
}

#[async_trait]
impl VersionRepo for MemoryMetadataStore {
    async fn create_next_version(&self, new: NewVersion) -> StoreResult<ArtifactVersion> {
        let mut s = lock(&self.state);
        let artifact = s.artifact(new.artifact_id)?.clone();
        if let Some(run) = new.run_id {
            if s.run(run)?.project_id != artifact.project_id {
                return Err(StoreError::NotFound {
                    entity: Entity::Run,
                    key: run.to_string(),
                });
            }
        }
        let version = ArtifactVersion {
            id: new.id,
            artifact_id: artifact.id,
            project_id: artifact.project_id,
            index: VersionIndex(artifact.next_version_index),
            description: new.description,
            metadata: new.metadata,
            file_count: 0,
            total_size: 0,
            digest: None,
            is_finalized: false,
            finalized_at: None,
            run_id: new.run_id,
            created_by: new.created_by,
            created_at: new.created_at,
            updated_at: new.created_at,
        };
        let a = s.artifact_mut(artifact.id)?;
        a.next_version_index = a.next_version_index.checked_add(1).ok_or_else(|| {
            StoreError::Conflict("the artifact has run out of version numbers".into())
        })?;
        a.version_count += 1;
        s.version_indices
            .insert((artifact.id, version.index), version.id);
        s.versions.insert(version.id, version.clone());
        Ok(version)
    }

    async fn get_version(&self, id: VersionId) -> StoreResult<ArtifactVersion> {
        lock(&self.state).version(id).cloned()
    }

    async fn stale_drafts(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ArtifactVersion>> {
        let s = lock(&self.state);
        let mut drafts: Vec<ArtifactVersion> = s
            .versions
            .values()
            .filter(|v| !v.is_finalized && v.created_at < before)
            .cloned()
            .collect();
        drafts.sort_by_key(|v| (v.created_at, v.id));
        drafts.truncate(limit as usize);
        Ok(drafts)
    }

    async fn get_version_by_index(
        &self,
        artifact: ArtifactId,
        index: VersionIndex,
    ) -> StoreResult<ArtifactVersion> {
        let s = lock(&self.state);
        let id = s
            .version_indices
            .get(&(artifact, index))
            .ok_or_else(|| nf(Entity::Version, format!("{index} of artifact {artifact}")))?;
        s.version(*id).cloned()
    }

    async fn list_versions(
        &self,
        artifact: ArtifactId,
        filter: &VersionFilter,
        sort: &Sort<VersionSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<ArtifactVersion, SortKey>> {
        let s = lock(&self.state);
        s.artifact(artifact)?;
        let aliased = filter
            .alias
            .as_ref()
            .map(|al| s.aliases.get(&(artifact, al.clone())).map(|a| a.version_id));
        let matching = s
            .version_indices
            .range((
                Bound::Included((artifact, VersionIndex(0))),
                Bound::Included((artifact, VersionIndex(u32::MAX))),
            ))
            .filter_map(|(_, id)| s.versions.get(id))
            .filter(|v| aliased.is_none_or(|target| target == Some(v.id)))
            .filter(|v| filter.finalized.is_none_or(|f| v.is_finalized == f))
            .filter(|v| filter.run_id.is_none_or(|r| v.run_id == Some(r)))
            .filter(|v| filter.metadata.matches(&v.metadata));
        let rows = page_of(
            matching,
            |v| sort.key(v),
            sort.descending,
            page.after.as_ref(),
            page.limit as usize + 1,
        );
        let rows = rows.into_iter().cloned().collect();
        Ok(Page::from_overfetch(rows, page.limit, |v| sort.key(v)))
    }

    async fn update_version(
        &self,
        id: VersionId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<ArtifactVersion> {
        let mut s = lock(&self.state);
        let v = s.version_mut(id)?;
        if let Some(d) = patch.description {
            v.description = d;
        }
        if let Some(m) = patch.metadata {
            v.metadata = m;
        }
        v.updated_at = at;
        Ok(v.clone())
    }

    async fn set_version_run(&self, id: VersionId, run: RunId) -> StoreResult<ArtifactVersion> {
        let mut s = lock(&self.state);
        let run_project = s.run(run)?.project_id;
        let v = s.version_mut(id)?;
        if v.run_id == Some(run) {
            return Ok(v.clone());
        }
        if v.is_finalized {
            return Err(StoreError::Conflict(format!(
                "version {} is finalized",
                v.index
            )));
        }
        if let Some(other) = v.run_id {
            return Err(StoreError::Conflict(format!(
                "version {} was already produced by run {other}",
                v.index
            )));
        }
        if run_project != v.project_id {
            return Err(StoreError::NotFound {
                entity: Entity::Run,
                key: run.to_string(),
            });
        }
        v.run_id = Some(run);
        Ok(v.clone())
    }

    async fn finalize_version(
        &self,
        id: VersionId,
        actor: UserId,
        at: Timestamp,
    ) -> Result<Finalized, FinalizeError> {
        let mut s = lock(&self.state);
        let digest = {
            let mut h = ManifestHasher::default();
            let files = s
                .file_paths
                .range((id, FilePath::from_trusted(""))..)
                .take_while(|((v, _), _)| *v == id)
                .filter_map(|(_, f)| s.files.get(f));
            for f in files {
                h.update(f.path.as_str(), f.sha256.as_str(), f.size);
            }
            h.finish()
        };
        let v = s.version_mut(id).map_err(|_| FinalizeError::NotFound(id))?;
        if v.is_finalized {
            return Err(FinalizeError::AlreadyFinalized(v.index));
        }
        v.is_finalized = true;
        v.finalized_at = Some(at);
        v.digest = Some(digest);
        v.updated_at = at;
        let version = v.clone();
        let artifact = s.artifact(version.artifact_id)?.clone();
        let mut latest_moved = None;
        if artifact.latest_version.is_none_or(|l| version.index > l) {
            let (_, event) = s.point_alias(&version, &AliasName::latest(), Some(actor), at);
            latest_moved = event;
            s.artifact_mut(artifact.id)?.latest_version = Some(version.index);
        }
        Ok(Finalized {
            version,
            latest_moved,
        })
    }

    async fn delete_stale_draft(
        &self,
        id: VersionId,
        before: Timestamp,
    ) -> Result<ArtifactVersion, DeleteDraftError> {
        let mut s = lock(&self.state);
        let v = s.version(id).map_err(|_| DeleteDraftError::NotFound(id))?;
        if v.is_finalized || v.created_at >= before {
            return Err(DeleteDraftError::NotStale(v.index));
        }
        let at = v.created_at;
        s.remove_version_rows(id, at)
            .ok_or(DeleteDraftError::NotFound(id))
    }

    async fn delete_version(&self, id: VersionId, at: Timestamp) -> StoreResult<ArtifactVersion> {
        let mut s = lock(&self.state);
        s.version(id)?;
        s.remove_version_rows(id, at)
            .ok_or_else(|| nf(Entity::Version, id))
    }

    async fn add_files(
        &self,
        version: VersionId,
        files: Vec<NewFile>,
    ) -> Result<Vec<ArtifactFile>, AddFilesError> {
        let mut s = lock(&self.state);
        let v = s
            .version(version)
            .map_err(|_| AddFilesError::VersionNotFound(version))?
            .clone();
        if v.is_finalized {
            return Err(AddFilesError::Finalized(v.index));
        }
        let mut seen = BTreeSet::new();
        for f in &files {
            if s.file_paths.contains_key(&(version, f.path.clone())) || !seen.insert(&f.path) {
                return Err(AddFilesError::PathTaken(f.path.to_string()));
            }
        }
        let mut out = Vec::with_capacity(files.len());
        let (mut count, mut size) = (0u64, 0u64);
        for f in files {
            let blob_key = (v.project_id, f.sha256.clone());
            s.blobs.entry(blob_key.clone()).or_insert_with(|| Blob {
                project_id: v.project_id,
                sha256: f.sha256.clone(),
                md5: f.md5.clone(),
                size: f.size,
                storage_key: f.storage_key.clone(),
                created_at: f.created_at,
            });
            *s.blob_refs.entry(blob_key).or_insert(0) += 1;
            let file = ArtifactFile {
                id: f.id,
                version_id: version,
                path: f.path,
                size: f.size,
                md5: f.md5,
                sha256: f.sha256,
                content_type: f.content_type,
                storage_key: f.storage_key,
                created_at: f.created_at,
            };
            count += 1;
            size += file.size;
            s.file_paths.insert((version, file.path.clone()), file.id);
            s.files.insert(file.id, file.clone());
            out.push(file);
        }
        let v = s
            .version_mut(version)
            .map_err(|_| AddFilesError::VersionNotFound(version))?;
        v.file_count += count;
        v.total_size += size;
        Ok(out)
    }

    async fn get_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        let s = lock(&self.state);
        s.files
            .get(&id)
            .cloned()
            .ok_or_else(|| nf(Entity::File, id))
    }

    async fn get_file_by_path(
        &self,
        version: VersionId,
        path: &FilePath,
    ) -> StoreResult<ArtifactFile> {
        let s = lock(&self.state);
        s.file_paths
            .get(&(version, path.clone()))
            .and_then(|id| s.files.get(id))
            .cloned()
            .ok_or_else(|| nf(Entity::File, path))
    }

    async fn list_files(
        &self,
        version: VersionId,
        prefix: Option<&str>,
        page: PageRequest<FilePath>,
    ) -> StoreResult<Page<ArtifactFile, FilePath>> {
        let s = lock(&self.state);
        s.version(version)?;
        let prefix = prefix.unwrap_or("");
        // Start at whichever is later: just after the cursor, or the prefix itself.
        let start = FilePath::from_trusted(prefix);
        let lower = match page.after {
            Some(after) if after > start => Bound::Excluded((version, after)),
            _ => Bound::Included((version, start)),
        };
        let rows: Vec<ArtifactFile> = s
            .file_paths
            .range((lower, Bound::Unbounded))
            .take_while(|((v, p), _)| *v == version && p.has_prefix(prefix))
            .filter_map(|(_, id)| s.files.get(id).cloned())
            .take(page.limit as usize + 1)
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |f| f.path.clone()))
    }

    async fn list_folder(
        &self,
        version: VersionId,
        folder: &str,
        page: PageRequest<String>,
    ) -> StoreResult<Page<FolderEntry, String>> {
        let s = lock(&self.state);
        s.version(version)?;
        // Every file below the folder, in path order: a subfolder's files are contiguous, and
        // its entry sorts where they start.
        let mut entries: Vec<FolderEntry> = Vec::new();
        let mut open: Option<Folder> = None;
        let below = s
            .file_paths
            .range((
                Bound::Included((version, FilePath::from_trusted(folder))),
                Bound::Unbounded,
            ))
            .take_while(|((v, p), _)| *v == version && p.has_prefix(folder))
            .filter_map(|(_, id)| s.files.get(id));
        for f in below {
            let rest = &f.path.as_str()[folder.len()..];
            match rest.find('/') {
                None => {
                    entries.extend(open.take().map(FolderEntry::Folder));
                    entries.push(FolderEntry::File(f.clone()));
                }
                Some(i) => {
                    let path = &f.path.as_str()[..folder.len() + i + 1];
                    match &mut open {
                        Some(o) if o.path == path => {
                            o.file_count += 1;
                            o.total_size += f.size;
                        }
                        _ => {
                            entries.extend(open.take().map(FolderEntry::Folder));
                            open = Some(Folder {
                                path: path.to_owned(),
                                file_count: 1,
                                total_size: f.size,
                            });
                        }
                    }
                }
            }
        }
        entries.extend(open.map(FolderEntry::Folder));
        let rows: Vec<FolderEntry> = entries
            .into_iter()
            .filter(|e| page.after.as_deref().is_none_or(|a| e.path() > a))
            .take(page.limit as usize + 1)
            .collect();
        Ok(Page::from_overfetch(rows, page.limit, |e| {
            e.path().to_owned()
        }))
    }

    async fn delete_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        let mut s = lock(&self.state);
        let file = s
            .files
            .get(&id)
            .cloned()
            .ok_or_else(|| nf(Entity::File, id))?;
        let v = s.version(file.version_id)?;
        if v.is_finalized {
            return Err(StoreError::Conflict(format!(
                "version {} is finalized; its files cannot change",
                v.index
            )));
        }
        s.remove_file_row(id);
        let v = s.version_mut(file.version_id)?;
        v.file_count -= 1;
        v.total_size -= file.size;
        Ok(file)
    }
}

#[async_trait]
impl AliasRepo for MemoryMetadataStore {
    async fn set_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        version: VersionId,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<(Alias, Option<AliasEvent>)> {
        let mut s = lock(&self.state);
        s.artifact(artifact)?;
        let v = s.version(version)?.clone();
        if v.artifact_id != artifact {
            return Err(nf(
                Entity::Version,
                format!("{version} in artifact {artifact}"),
            ));
        }
        if !v.is_finalized {
            return Err(StoreError::Conflict(format!(
                "version {} is a draft; aliases only point at finalized versions",
                v.index
            )));
        }
        Ok(s.point_alias(&v, alias, actor, at))
    }

    async fn remove_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<AliasEvent> {
        let mut s = lock(&self.state);
        let old = s
            .aliases
            .remove(&(artifact, alias.clone()))
            .ok_or_else(|| nf(Entity::Alias, alias))?;
        Ok(s.record_alias_event(artifact, alias, Some(old.version_id), None, actor, at))
    }

    async fn get_alias(&self, artifact: ArtifactId, alias: &AliasName) -> StoreResult<Alias> {
        let s = lock(&self.state);
        s.aliases
            .get(&(artifact, alias.clone()))
            .cloned()
            .ok_or_else(|| nf(Entity::Alias, alias))
    }

    async fn list_aliases(&self, artifact: ArtifactId) -> StoreResult<Vec<Alias>> {
        let s = lock(&self.state);
        s.artifact(artifact)?;
        Ok(s.aliases
            .values()
            .filter(|a| a.artifact_id == artifact)
            .cloned()
            .collect())
    }

    async fn version_aliases(&self, version: VersionId) -> StoreResult<Vec<Alias>> {
        let s = lock(&self.state);
        let v = s.version(version)?;
        Ok(s.aliases
            .values()
            .filter(|a| a.artifact_id == v.artifact_id && a.version_id == version)
            .cloned()
            .collect())
    }

    async fn alias_history(
        &self,
        artifact: ArtifactId,
        alias: Option<&AliasName>,
    ) -> StoreResult<Vec<AliasEvent>> {
        let s = lock(&self.state);
        s.artifact(artifact)?;
        Ok(s.alias_events
            .values()
            .filter(|e| e.artifact_id == artifact && alias.is_none_or(|a| e.alias == *a))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl DownloadRepo for MemoryMetadataStore {
    async fn record_download(&self, download: Download) -> StoreResult<Download> {
        let mut s = lock(&self.state);
        s.version(download.version_id)?;
        if let Some(f) = download.file_id {
            if s.files
                .get(&f)
                .is_none_or(|file| file.version_id != download.version_id)
            {
                return Err(nf(Entity::File, f));
            }
        }
        s.downloads.push(download.clone());
        Ok(download)
    }

    async fn download_stats(&self, version: VersionId) -> StoreResult<DownloadStats> {
        let s = lock(&self.state);
        s.version(version)?;
        let mine: Vec<&Download> = s
            .downloads
            .iter()
            .filter(|d| d.version_id == version)
            .collect();
        let users: BTreeSet<UserId> = mine.iter().map(|d| d.user_id).collect();
        let mut newest = mine.clone();
        newest.sort_by_key(|d| std::cmp::Reverse((d.at, d.id)));
        let recent = newest
            .into_iter()
            .take(DownloadStats::RECENT)
            .filter_map(|d| {
                Some(RecentDownload {
                    user_id: d.user_id,
                    user_name: s.users.get(&d.user_id)?.name.clone(),
                    file_id: d.file_id,
                    file_path: d
                        .file_id
                        .and_then(|f| s.files.get(&f))
                        .map(|f| f.path.clone()),
                    at: d.at,
                })
            })
            .collect();
        Ok(DownloadStats {
            count: mine.len() as u64,
            unique_users: users.len() as u64,
            last_at: mine.iter().map(|d| d.at).max(),
            recent,
        })
    }
}

#[async_trait]
impl BlobRepo for MemoryMetadataStore {
    async fn get_blob(&self, project: ProjectId, sha256: &Sha256) -> StoreResult<Blob> {
        let s = lock(&self.state);
        s.blobs
            .get(&(project, sha256.clone()))
            .cloned()
            .ok_or_else(|| nf(Entity::Blob, sha256))
    }

    async fn get_blobs(&self, project: ProjectId, sha256s: &[Sha256]) -> StoreResult<Vec<Blob>> {
        let s = lock(&self.state);
        let wanted: std::collections::BTreeSet<&Sha256> = sha256s.iter().collect();
        Ok(wanted
            .into_iter()
            .filter_map(|sha| s.blobs.get(&(project, sha.clone())).cloned())
            .collect())
    }

    async fn unreferenced_blobs(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<Blob>> {
        let s = lock(&self.state);
        Ok(s.blobs
            .iter()
            .filter(|(k, b)| !s.blob_refs.contains_key(k) && b.created_at < before)
            .map(|(_, b)| b.clone())
            .take(limit as usize)
            .collect())
    }

    async fn delete_blob_record(
        &self,
        project: ProjectId,
        sha256: &Sha256,
    ) -> Result<Blob, DeleteBlobError> {
        let mut s = lock(&self.state);
        let key = (project, sha256.clone());
        if s.blob_refs.contains_key(&key) {
            return Err(DeleteBlobError::Referenced(sha256.clone()));
        }
        s.blobs
            .remove(&key)
            .ok_or_else(|| DeleteBlobError::NotFound(sha256.clone()))
    }
}

#[async_trait]
impl MetadataStore for MemoryMetadataStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
