//! Artifacts, versions, aliases, references and diffs.

use std::collections::{HashSet, VecDeque};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::{now, Actor, Registry};
use crate::entities::*;
use crate::error::{Entity, Error, Result, ValidationError};
use crate::ids::*;
use crate::keys::ObjectKey;
use crate::manifest::{DiffBuilder, VersionDiff, MAX_DIFF_FILES};
use crate::ports::{
    ArtifactFilter, ArtifactSortField, BlobError, Finalized, NewVersion, Page, PageRequest, Patch,
    Sort, SortKey, VersionFilter, VersionSortField, MAX_PAGE_SIZE,
};
use crate::reference::{ArtifactRef, VersionSelector};
use crate::types::*;

/// A new artifact.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateArtifact {
    pub project_id: ProjectId,
    pub name: ArtifactName,
    pub artifact_type: ArtifactType,
    pub description: Description,
    pub metadata: Metadata,
}

/// A new version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateVersion {
    pub description: Description,
    pub metadata: Metadata,
    pub run_id: Option<RunId>,
}

/// A version with the aliases that point at it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionView {
    #[serde(flatten)]
    pub version: ArtifactVersion,
    pub aliases: Vec<AliasName>,
}

/// A version with a page of its files.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionWithFiles {
    pub version: VersionView,
    pub files: Page<ArtifactFile, FilePath>,
}

/// Which version an alias should point at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionTarget {
    Id(VersionId),
    Index(VersionIndex),
}

impl Registry {
    // ------------------------------------------------------------------ artifacts

    pub async fn create_artifact(&self, actor: &Actor, req: CreateArtifact) -> Result<Artifact> {
        let project = req.project_id;
        self.authorize(actor, project, Role::Editor, (Entity::Project, &project))
            .await?;
        let at = now();
        let artifact = Artifact {
            id: ArtifactId::new(),
            project_id: project,
            name: req.name,
            artifact_type: req.artifact_type,
            description: req.description,
            metadata: req.metadata,
            created_by: actor.user_id,
            version_count: 0,
            next_version_index: 0,
            latest_version: None,
            created_at: at,
            updated_at: at,
        };
        Ok(self.meta.create_artifact(artifact).await?)
    }

    /// An artifact the caller may read.
    pub async fn get_artifact(&self, actor: &Actor, id: ArtifactId) -> Result<Artifact> {
        self.artifact_for(actor, id, Role::Viewer).await
    }

    pub async fn get_artifact_by_name(
        &self,
        actor: &Actor,
        project: ProjectId,
        name: &ArtifactName,
    ) -> Result<Artifact> {
        self.authorize(actor, project, Role::Viewer, (Entity::Artifact, name))
            .await?;
        Ok(self.meta.get_artifact_by_name(project, name).await?)
    }

    /// Artifacts matching `filter` in the projects the caller can read, in `sort` order.
    pub async fn list_artifacts(
        &self,
        actor: &Actor,
        mut filter: ArtifactFilter,
        sort: &Sort<ArtifactSortField>,
        page: PageRequest<SortKey>,
    ) -> Result<Page<Artifact, SortKey>> {
        for (field, s) in [("name", &filter.name_contains), ("q", &filter.text)] {
            if s.as_ref().is_some_and(|s| s.len() > 128) {
                return Err(ValidationError::new(field, "must be at most 128 bytes").into());
            }
        }
        if page.after.as_ref().is_some_and(|k| !sort.accepts(k)) {
            return Err(foreign_cursor());
        }
        match filter.project_id {
            Some(p) => {
                self.authorize(actor, p, Role::Viewer, (Entity::Project, &p))
                    .await?
            }
            None if !actor.is_admin => {
                filter.project_ids = Some(self.visible_projects(actor).await?);
            }
            None => {}
        }
        Ok(self.meta.list_artifacts(&filter, sort, page).await?)
    }

    async fn visible_projects(&self, actor: &Actor) -> Result<Vec<ProjectId>> {
        let mut ids = Vec::new();
        let mut page = PageRequest::first(MAX_PAGE_SIZE);
        loop {
            let p = self.meta.list_projects(Some(actor.user_id), page).await?;
            ids.extend(p.items.iter().map(|p| p.id));
            match p.next {
                Some(next) => {
                    page = PageRequest {
                        after: Some(next),
                        limit: MAX_PAGE_SIZE,
                    }
                }
                None => return Ok(ids),
            }
        }
    }

    pub async fn update_artifact(
        &self,
        actor: &Actor,
        id: ArtifactId,
        patch: Patch,
    ) -> Result<Artifact> {
        self.artifact_for(actor, id, Role::Editor).await?;
        Ok(self.meta.update_artifact(id, patch, now()).await?)
    }

    /// Deletes the artifact with all its versions; their bytes become garbage for collection.
    pub async fn delete_artifact(&self, actor: &Actor, id: ArtifactId) -> Result<Artifact> {
        self.artifact_for(actor, id, Role::Editor).await?;
        Ok(self.meta.delete_artifact(id).await?)
    }

    /// Loads an artifact and checks the caller's role in its project.
    pub(super) async fn artifact_for(
        &self,
        actor: &Actor,
        id: ArtifactId,
        need: Role,
    ) -> Result<Artifact> {
        let artifact = self.meta.get_artifact(id).await?;
        self.authorize(actor, artifact.project_id, need, (Entity::Artifact, &id))
            .await?;
        Ok(artifact)
    }

    /// Loads a version and checks the caller's role in its project.
    pub(super) async fn version_for(
        &self,
        actor: &Actor,
        id: VersionId,
        need: Role,
    ) -> Result<ArtifactVersion> {
        let version = self.meta.get_version(id).await?;
        self.authorize(actor, version.project_id, need, (Entity::Version, &id))
            .await?;
        Ok(version)
    }

    // ------------------------------------------------------------------ versions

    /// Creates the artifact's next version as a draft (v0, v1, ...).
    pub async fn create_version(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        req: CreateVersion,
    ) -> Result<ArtifactVersion> {
        let a = self.artifact_for(actor, artifact, Role::Editor).await?;
        if let Some(run) = req.run_id {
            self.run_in_project(run, a.project_id).await?;
        }
        let v = NewVersion {
            id: VersionId::new(),
            artifact_id: artifact,
            description: req.description,
            metadata: req.metadata,
            run_id: req.run_id,
            created_by: actor.user_id,
            created_at: now(),
        };
        Ok(self.meta.create_next_version(v).await?)
    }

    pub async fn get_version(&self, actor: &Actor, id: VersionId) -> Result<VersionView> {
        let version = self.version_for(actor, id, Role::Viewer).await?;
        self.view(version).await
    }

    async fn view(&self, version: ArtifactVersion) -> Result<VersionView> {
        let aliases = self
            .meta
            .version_aliases(version.id)
            .await?
            .into_iter()
            .map(|a| a.name)
            .collect();
        Ok(VersionView { version, aliases })
    }

    /// A version with the first (or a later) page of its files.
    pub async fn get_version_with_files(
        &self,
        actor: &Actor,
        id: VersionId,
        files: PageRequest<FilePath>,
    ) -> Result<VersionWithFiles> {
        let version = self.get_version(actor, id).await?;
        let files = self.meta.list_files(id, None, files).await?;
        Ok(VersionWithFiles { version, files })
    }

    /// An artifact's versions matching `filter`, in `sort` order.
    pub async fn list_versions(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        filter: &VersionFilter,
        sort: &Sort<VersionSortField>,
        page: PageRequest<SortKey>,
    ) -> Result<Page<VersionView, SortKey>> {
        if page.after.as_ref().is_some_and(|k| !sort.accepts(k)) {
            return Err(foreign_cursor());
        }
        self.artifact_for(actor, artifact, Role::Viewer).await?;
        let page = self
            .meta
            .list_versions(artifact, filter, sort, page)
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for v in page.items {
            items.push(self.view(v).await?);
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }

    pub async fn update_version(
        &self,
        actor: &Actor,
        id: VersionId,
        patch: Patch,
    ) -> Result<ArtifactVersion> {
        self.version_for(actor, id, Role::Editor).await?;
        Ok(self.meta.update_version(id, patch, now()).await?)
    }

    /// Makes a draft immutable. Every file's bytes must be in the blob store with the registered
    /// size; the manifest digest is computed over all files; `latest` moves if this is now the
    /// newest finalized version.
    pub async fn finalize_version(&self, actor: &Actor, id: VersionId) -> Result<Finalized> {
        let version = self.version_for(actor, id, Role::Editor).await?;
        if version.is_finalized {
            return Err(Error::conflict(format!(
                "version {} is already finalized",
                version.index
            )));
        }
        // A page at a time, so a version of millions of files is checked in bounded memory;
        // bytes already checked are remembered up to a bound, so files sharing bytes across
        // pages cost one check.
        let mut pages = FilePages::new(id);
        let mut problems = Problems::default();
        let mut checked = HashSet::new();
        while !pages.done {
            pages.fetch(self).await?;
            let page: Vec<ArtifactFile> = pages.files.drain(..).collect();
            self.check_bytes_present(&page, &mut checked, &mut problems)
                .await?;
        }
        problems.into_result()?;
        // The store computes the digest in its transaction, over exactly the files it freezes.
        Ok(self.meta.finalize_version(id, actor.user_id, now()).await?)
    }

    /// Checks each blob of `files` not in `checked` once, several at a time; notes what is
    /// missing. `checked` holds at most `MAX_REMEMBERED_BLOBS` keys (emptied when full).
    async fn check_bytes_present(
        &self,
        files: &[ArtifactFile],
        checked: &mut HashSet<ObjectKey>,
        problems: &mut Problems,
    ) -> Result<()> {
        if checked.len() + files.len() > MAX_REMEMBERED_BLOBS {
            checked.clear();
        }
        let distinct: Vec<&ArtifactFile> = files
            .iter()
            .filter(|f| checked.insert(f.storage_key.clone()))
            .collect();
        let found: Vec<String> = futures::stream::iter(distinct)
            .map(|f| async move {
                match self.blobs.head(&f.storage_key).await {
                    Ok(meta) if meta.size == f.size => Ok(None),
                    Ok(meta) => Ok(Some(format!(
                        "{}: stored size {} differs from registered size {}",
                        f.path, meta.size, f.size
                    ))),
                    Err(BlobError::NotFound(_)) => {
                        Ok(Some(format!("{}: bytes not uploaded", f.path)))
                    }
                    Err(e) => Err(Error::from(e)),
                }
            })
            .buffer_unordered(self.config.finalize_concurrency.max(1))
            .try_filter_map(|p| async move { Ok(p) })
            .try_collect()
            .await?;
        for p in found {
            problems.add(p);
        }
        Ok(())
    }

    /// Deletes a version (draft or finalized); `latest` falls back to the newest remaining
    /// finalized version.
    pub async fn delete_version(&self, actor: &Actor, id: VersionId) -> Result<ArtifactVersion> {
        self.version_for(actor, id, Role::Editor).await?;
        Ok(self.meta.delete_version(id, now()).await?)
    }

    // ------------------------------------------------------------------ aliases

    /// Points a custom alias at a finalized version of the artifact, moving it if it exists.
    /// `latest` is managed by the registry and cannot be set.
    pub async fn set_alias(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        alias: &AliasName,
        target: VersionTarget,
    ) -> Result<(Alias, Option<AliasEvent>)> {
        refuse_latest(alias)?;
        self.artifact_for(actor, artifact, Role::Editor).await?;
        let version = match target {
            VersionTarget::Id(id) => self.meta.get_version(id).await?,
            VersionTarget::Index(i) => self.meta.get_version_by_index(artifact, i).await?,
        };
        if version.artifact_id != artifact {
            return Err(Error::not_found(Entity::Version, version.id));
        }
        if !version.is_finalized {
            return Err(Error::conflict(format!(
                "version {} is a draft; aliases only point at finalized versions",
                version.index
            )));
        }
        Ok(self
            .meta
            .set_alias(artifact, alias, version.id, Some(actor.user_id), now())
            .await?)
    }

    pub async fn remove_alias(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        alias: &AliasName,
    ) -> Result<AliasEvent> {
        refuse_latest(alias)?;
        self.artifact_for(actor, artifact, Role::Editor).await?;
        Ok(self
            .meta
            .remove_alias(artifact, alias, Some(actor.user_id), now())
            .await?)
    }

    pub async fn list_aliases(&self, actor: &Actor, artifact: ArtifactId) -> Result<Vec<Alias>> {
        self.artifact_for(actor, artifact, Role::Viewer).await?;
        Ok(self.meta.list_aliases(artifact).await?)
    }

    pub async fn alias_history(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        alias: Option<&AliasName>,
    ) -> Result<Vec<AliasEvent>> {
        self.artifact_for(actor, artifact, Role::Viewer).await?;
        Ok(self.meta.alias_history(artifact, alias).await?)
    }

    // ------------------------------------------------------------------ references and diffs

    /// Resolves `[project/]name[:selector]`. Without a project in the reference, `default_project`
    /// is used; with neither, the reference is invalid.
    pub async fn resolve(
        &self,
        actor: &Actor,
        reference: &ArtifactRef,
        default_project: Option<ProjectId>,
    ) -> Result<(Artifact, ArtifactVersion)> {
        let project = match (&reference.project, default_project) {
            (Some(name), _) => self.get_project_by_name(actor, name).await?.id,
            (None, Some(id)) => id,
            (None, None) => {
                return Err(ValidationError::new(
                    "reference",
                    format!("{reference} names no project and none was given"),
                )
                .into())
            }
        };
        let artifact = self
            .get_artifact_by_name(actor, project, &reference.name)
            .await?;
        let version = match &reference.selector {
            VersionSelector::Index(i) => self.meta.get_version_by_index(artifact.id, *i).await?,
            VersionSelector::Latest => {
                let alias = self
                    .meta
                    .get_alias(artifact.id, &AliasName::latest())
                    .await?;
                self.meta.get_version(alias.version_id).await?
            }
            VersionSelector::Alias(a) => {
                let alias = self.meta.get_alias(artifact.id, a).await?;
                self.meta.get_version(alias.version_id).await?
            }
        };
        Ok((artifact, version))
    }

    /// How version `to` differs from version `from` (any two versions the caller can read).
    pub async fn diff_versions(
        &self,
        actor: &Actor,
        from: VersionId,
        to: VersionId,
        page: DiffPage,
    ) -> Result<VersionDiff> {
        self.version_for(actor, from, Role::Viewer).await?;
        self.version_for(actor, to, Role::Viewer).await?;
        // A merge of the two path-ordered listings, a page of each at a time, from the page's
        // start until it holds `limit` changes.
        let mut builder = DiffBuilder::new(page.limit.clamp(1, MAX_DIFF_FILES));
        let (mut a, mut b) = (FilePages::new(from), FilePages::new(to));
        a.after.clone_from(&page.after);
        b.after = page.after;
        loop {
            if a.files.is_empty() && !a.done {
                a.fetch(self).await?;
            }
            if b.files.is_empty() && !b.done {
                b.fetch(self).await?;
            }
            builder.merge(&mut a.files, &mut b.files, a.done, b.done);
            if builder.stopped() {
                return Ok(builder.finish());
            }
            if a.done && b.done && a.files.is_empty() && b.files.is_empty() {
                return Ok(builder.finish());
            }
        }
    }

    /// The object key of a file's bytes in this project.
    pub fn blob_key(project: ProjectId, sha256: &Sha256) -> ObjectKey {
        ObjectKey::blob(project, sha256)
    }
}

fn refuse_latest(alias: &AliasName) -> Result<()> {
    if alias.is_latest() {
        return Err(ValidationError::new(
            "alias",
            "\"latest\" is managed by the registry: it always points at the newest finalized version",
        )
        .into());
    }
    Ok(())
}

/// How many checked blobs finalize remembers across pages (some 10 MB of keys at most).
const MAX_REMEMBERED_BLOBS: usize = 50_000;

/// Which part of a comparison to list: the changes at paths after `after`, at most `limit`.
#[derive(Clone, Debug)]
pub struct DiffPage {
    pub after: Option<FilePath>,
    pub limit: usize,
}

impl Default for DiffPage {
    fn default() -> Self {
        Self {
            after: None,
            limit: MAX_DIFF_FILES,
        }
    }
}

/// A version's files, fetched a page at a time in path order.
struct FilePages {
    version: VersionId,
    files: VecDeque<ArtifactFile>,
    after: Option<FilePath>,
    done: bool,
}

impl FilePages {
    fn new(version: VersionId) -> Self {
        Self {
            version,
            files: VecDeque::new(),
            after: None,
            done: false,
        }
    }

    /// Appends the next page.
    async fn fetch(&mut self, registry: &Registry) -> Result<()> {
        let page = PageRequest {
            after: self.after.take(),
            limit: MAX_PAGE_SIZE,
        };
        let p = registry.meta.list_files(self.version, None, page).await?;
        self.files.extend(p.items);
        self.done = p.next.is_none();
        self.after = p.next;
        Ok(())
    }
}

/// What finalize found missing: the first few by path, and how many in all.
#[derive(Default)]
struct Problems {
    shown: Vec<String>,
    total: usize,
}

impl Problems {
    const SHOWN: usize = 10;

    fn add(&mut self, problem: String) {
        self.total += 1;
        self.shown.push(problem);
        self.shown.sort();
        self.shown.truncate(Self::SHOWN);
    }

    fn into_result(self) -> Result<()> {
        if self.total == 0 {
            return Ok(());
        }
        let more = self.total - self.shown.len();
        let shown = self.shown.join("; ");
        Err(Error::PreconditionFailed(if more > 0 {
            format!("{shown}; and {more} more")
        } else {
            shown
        }))
    }
}

fn foreign_cursor() -> Error {
    ValidationError::new("cursor", "comes from a listing in another sort order").into()
}
