//! Runs, lineage, and garbage collection of unreferenced bytes.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde::Serialize;

use super::{now, Actor, Registry};
use crate::entities::*;
use crate::error::{Entity, Error, Result, ValidationError};
use crate::ids::*;
use crate::keys::ObjectKey;
use crate::ports::{
    DeleteBlobError, DeleteDraftError, ObjectMeta, Page, PageRequest, Retry, StoreError,
};
use crate::reference::ArtifactRef;
use crate::types::*;

/// The most nodes a lineage answer holds; deeper graphs are cut (and say so).
pub const MAX_LINEAGE_NODES: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The run produced the version.
    Produced,
    /// The run used the version as an input.
    Used,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct LineageEdge {
    pub run: RunId,
    pub version: VersionId,
    pub kind: EdgeKind,
}

/// The graph around a version: its producer, that run's inputs and their producers (upstream),
/// and the runs that used it and what they produced (downstream), to a depth in version hops.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lineage {
    pub root: VersionId,
    pub versions: Vec<ArtifactVersion>,
    pub runs: Vec<Run>,
    /// Sorted, without duplicates.
    pub edges: Vec<LineageEdge>,
    /// Whether the node limit cut the graph short.
    pub truncated: bool,
}

/// What a garbage collection found and (unless a dry run) removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Unreferenced blobs (and their bytes) removed.
    pub blobs: u64,
    pub bytes: u64,
    /// Abandoned drafts deleted.
    pub drafts: u64,
    /// Unfinished multipart uploads aborted.
    pub multipart_uploads: u64,
    /// Stored objects no blob record accounts for (bytes uploaded but never registered), and
    /// their bytes.
    pub orphan_objects: u64,
    pub orphan_bytes: u64,
    /// What interrupted writes left in the store (temporary files, half-made upload folders).
    pub leftovers: u64,
    pub leftover_bytes: u64,
    pub dry_run: bool,
}

/// What a garbage collection may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcOptions {
    /// Blobs no file references are removed once older than this (protects uploads in flight).
    pub grace: Duration,
    /// Drafts never finalized and multipart uploads never completed are removed once older
    /// than this.
    pub stale_after: Duration,
    /// Report only.
    pub dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(24 * 3600),
            stale_after: Duration::from_secs(7 * 24 * 3600),
            dry_run: false,
        }
    }
}

impl Registry {
    pub async fn create_run(
        &self,
        actor: &Actor,
        project: ProjectId,
        name: RunName,
        metadata: Metadata,
    ) -> Result<Run> {
        self.authorize(actor, project, Role::Editor, (Entity::Project, &project))
            .await?;
        let run = Run {
            id: RunId::new(),
            project_id: project,
            name,
            metadata,
            created_by: actor.user_id,
            created_at: now(),
        };
        Ok(self.meta.create_run(run).await?)
    }

    pub async fn get_run(&self, actor: &Actor, id: RunId) -> Result<Run> {
        self.run_for(actor, id, Role::Viewer).await
    }

    pub async fn list_runs(
        &self,
        actor: &Actor,
        project: ProjectId,
        page: PageRequest<RunId>,
    ) -> Result<Page<Run, RunId>> {
        self.authorize(actor, project, Role::Viewer, (Entity::Project, &project))
            .await?;
        Ok(self.meta.list_runs(project, page).await?)
    }

    async fn run_for(&self, actor: &Actor, id: RunId, need: Role) -> Result<Run> {
        let run = self.meta.get_run(id).await?;
        self.authorize(actor, run.project_id, need, (Entity::Run, &id))
            .await?;
        Ok(run)
    }

    /// Checks a run belongs to the project (a version's producer must). Another project's run
    /// is reported as missing, like an unknown one, so an id tells an outsider nothing.
    pub(super) async fn run_in_project(&self, run: RunId, project: ProjectId) -> Result<Run> {
        let r = self.meta.get_run(run).await?;
        if r.project_id != project {
            return Err(Error::not_found(Entity::Run, run));
        }
        Ok(r)
    }

    /// Records `run` as the producer of a draft version.
    pub async fn mark_produced(
        &self,
        actor: &Actor,
        run: RunId,
        version: VersionId,
    ) -> Result<ArtifactVersion> {
        let v = self.version_for(actor, version, Role::Editor).await?;
        let r = self.run_for(actor, run, Role::Editor).await?;
        if r.project_id != v.project_id {
            // The caller may edit both; the run exists, it just cannot produce this version.
            return Err(ValidationError::new(
                "version_id",
                format!("version {version} is in another project than run {run}"),
            )
            .into());
        }
        Ok(self.meta.set_version_run(version, run).await?)
    }

    /// Records `run` as a user of a finalized version (it may be in another project the caller
    /// can read).
    pub async fn mark_used(&self, actor: &Actor, run: RunId, version: VersionId) -> Result<()> {
        self.run_for(actor, run, Role::Editor).await?;
        let v = self.version_for(actor, version, Role::Viewer).await?;
        if !v.is_finalized {
            return Err(Error::conflict(format!(
                "version {} is a draft; runs use finalized versions",
                v.index
            )));
        }
        Ok(self.meta.add_run_input(run, version, now()).await?)
    }

    /// Resolves a reference and, with a run, records that the run used the version.
    pub async fn use_artifact(
        &self,
        actor: &Actor,
        reference: &ArtifactRef,
        default_project: Option<ProjectId>,
        run: Option<RunId>,
    ) -> Result<(Artifact, ArtifactVersion)> {
        let (artifact, version) = self.resolve(actor, reference, default_project).await?;
        if let Some(run) = run {
            self.mark_used(actor, run, version.id).await?;
        }
        Ok((artifact, version))
    }

    /// The lineage graph around a version, `depth` (1..=10) version hops each way. Nodes in
    /// projects the caller cannot read are left out.
    pub async fn lineage(&self, actor: &Actor, root: VersionId, depth: u32) -> Result<Lineage> {
        if !(1..=10).contains(&depth) {
            return Err(
                ValidationError::new("depth", format!("must be 1 to 10, got {depth}")).into(),
            );
        }
        let root_version = self.version_for(actor, root, Role::Viewer).await?;
        let mut readable: HashMap<ProjectId, bool> = HashMap::new();
        readable.insert(root_version.project_id, true);
        let mut versions: BTreeMap<VersionId, ArtifactVersion> = BTreeMap::new();
        let mut runs: BTreeMap<RunId, Run> = BTreeMap::new();
        let mut edges: HashSet<LineageEdge> = HashSet::new();
        let mut truncated = false;
        versions.insert(root, root_version);

        // (version, hops so far, walking upstream?)
        let mut queue: VecDeque<(VersionId, u32, bool)> =
            VecDeque::from([(root, 0, true), (root, 0, false)]);
        while let Some((vid, hops, upstream)) = queue.pop_front() {
            if hops >= depth {
                continue;
            }
            if versions.len() + runs.len() >= MAX_LINEAGE_NODES {
                truncated = true;
                break;
            }
            let Some(v) = versions.get(&vid).cloned() else {
                continue;
            };
            let (run_ids, kind) = if upstream {
                (v.run_id.into_iter().collect::<Vec<_>>(), EdgeKind::Produced)
            } else {
                (self.meta.version_consumers(vid).await?, EdgeKind::Used)
            };
            for rid in run_ids {
                let Some(run) = self.readable_run(actor, rid, &mut readable).await? else {
                    continue;
                };
                edges.insert(LineageEdge {
                    run: rid,
                    version: vid,
                    kind,
                });
                runs.insert(rid, run);
                let (next, next_kind) = if upstream {
                    (self.meta.run_inputs(rid).await?, EdgeKind::Used)
                } else {
                    (self.meta.run_outputs(rid).await?, EdgeKind::Produced)
                };
                for nid in next {
                    if let Entry::Vacant(slot) = versions.entry(nid) {
                        let nv = match self.meta.get_version(nid).await {
                            Ok(nv) => nv,
                            Err(StoreError::NotFound { .. }) => continue,
                            Err(e) => return Err(e.into()),
                        };
                        if !self.can_read(actor, nv.project_id, &mut readable).await? {
                            continue;
                        }
                        slot.insert(nv);
                        queue.push_back((nid, hops + 1, upstream));
                    }
                    edges.insert(LineageEdge {
                        run: rid,
                        version: nid,
                        kind: next_kind,
                    });
                }
            }
        }
        let mut edges: Vec<LineageEdge> = edges.into_iter().collect();
        edges.sort_by_key(|e| (e.run, e.version, e.kind == EdgeKind::Used));
        Ok(Lineage {
            root,
            versions: versions.into_values().collect(),
            runs: runs.into_values().collect(),
            edges,
            truncated,
        })
    }

    async fn readable_run(
        &self,
        actor: &Actor,
        id: RunId,
        readable: &mut HashMap<ProjectId, bool>,
    ) -> Result<Option<Run>> {
        let run = match self.meta.get_run(id).await {
            Ok(r) => r,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(self
            .can_read(actor, run.project_id, readable)
            .await?
            .then_some(run))
    }

    async fn can_read(
        &self,
        actor: &Actor,
        project: ProjectId,
        cache: &mut HashMap<ProjectId, bool>,
    ) -> Result<bool> {
        if actor.is_admin {
            return Ok(true);
        }
        if let Some(ok) = cache.get(&project) {
            return Ok(*ok);
        }
        let ok = self.meta.get_role(project, actor.user_id).await?.is_some();
        cache.insert(project, ok);
        Ok(ok)
    }

    /// Removes blobs that no file references and that are older than `grace` (which protects
    /// uploads in flight). Administrators only. With `dry_run`, only reports.
    pub async fn collect_garbage(&self, actor: &Actor, options: GcOptions) -> Result<GcReport> {
        if !actor.is_admin {
            return Err(Error::Forbidden(
                "only administrators collect garbage".into(),
            ));
        }
        let age = |d: Duration| {
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now().checked_sub_signed(d))
                .ok_or_else(|| ValidationError::new("grace", "too long"))
        };
        let (before, stale_before) = (age(options.grace)?, age(options.stale_after)?);
        let dry_run = options.dry_run;
        let mut report = GcReport {
            dry_run,
            ..GcReport::default()
        };
        // Drafts first: deleting one drops its files' references, so the blob pass below can
        // take bytes only it used.
        let mut seen = HashSet::new();
        loop {
            let drafts = self.meta.stale_drafts(stale_before, 1000).await?;
            let fresh: Vec<VersionId> = drafts
                .into_iter()
                .map(|v| v.id)
                .filter(|id| seen.insert(*id))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for id in fresh {
                if dry_run {
                    report.drafts += 1;
                    continue;
                }
                match retrying(|| self.meta.delete_stale_draft(id, stale_before)).await {
                    Ok(_) => report.drafts += 1,
                    // Finalized or deleted meanwhile; or raced past every retry: the next
                    // collection takes it.
                    Err(DeleteDraftError::NotStale(_))
                    | Err(DeleteDraftError::NotFound(_))
                    | Err(DeleteDraftError::Retryable(_)) => {}
                    Err(DeleteDraftError::Store(e)) => return Err(e.into()),
                }
            }
        }
        for upload in self
            .blobs
            .stale_multipart_uploads(crate::keys::BLOB_ROOT, stale_before, 10_000)
            .await?
        {
            if !dry_run {
                self.blobs
                    .abort_multipart(&upload.key, &upload.upload_id)
                    .await?;
            }
            report.multipart_uploads += 1;
        }
        let mut skipped: HashSet<(ProjectId, Sha256)> = HashSet::new();
        loop {
            let batch = self.meta.unreferenced_blobs(before, 1000).await?;
            let fresh: Vec<Blob> = batch
                .into_iter()
                .filter(|b| !skipped.contains(&(b.project_id, b.sha256.clone())))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for blob in fresh {
                skipped.insert((blob.project_id, blob.sha256.clone()));
                if dry_run {
                    report.blobs += 1;
                    report.bytes += blob.size;
                    continue;
                }
                // The record goes first, so dedup stops offering the bytes before they vanish.
                match retrying(|| self.meta.delete_blob_record(blob.project_id, &blob.sha256)).await
                {
                    Ok(_) => {}
                    // Referenced again meanwhile, collected by another instance, or raced past
                    // every retry (kept: the next collection looks again).
                    Err(DeleteBlobError::Referenced(_))
                    | Err(DeleteBlobError::NotFound(_))
                    | Err(DeleteBlobError::Retryable(_)) => continue,
                    Err(DeleteBlobError::Store(e)) => return Err(e.into()),
                }
                self.blobs.delete(&blob.storage_key).await?;
                report.blobs += 1;
                report.bytes += blob.size;
            }
        }
        self.collect_orphans(before, dry_run, &mut report).await?;
        let left = self.blobs.sweep_leftovers(before, dry_run).await?;
        report.leftovers = left.items;
        report.leftover_bytes = left.bytes;
        Ok(report)
    }

    /// Deletes objects under the registry's prefix that no blob record accounts for and that are
    /// older than `before`: bytes a client uploaded and never registered, or whose upload was
    /// interrupted between the PUT and the registration. The store is listed a page at a time
    /// (any number of keys), each page's digests looked up in one query per project.
    async fn collect_orphans(
        &self,
        before: Timestamp,
        dry_run: bool,
        report: &mut GcReport,
    ) -> Result<()> {
        let mut after: Option<ObjectKey> = None;
        loop {
            let page = self
                .blobs
                .list(crate::keys::BLOB_ROOT, after.as_ref(), 1000)
                .await?;
            // Objects without a time cannot be proven old: they stay.
            let old: Vec<&ObjectMeta> = page
                .objects
                .iter()
                .filter(|o| o.last_modified.is_some_and(|t| t < before))
                .collect();
            let mut by_project: HashMap<ProjectId, Vec<Sha256>> = HashMap::new();
            for o in &old {
                if let Some((project, sha)) = o.key.parse_blob() {
                    by_project.entry(project).or_default().push(sha);
                }
            }
            let mut known: HashSet<(ProjectId, Sha256)> = HashSet::new();
            for (project, shas) in by_project {
                for blob in self.meta.get_blobs(project, &shas).await? {
                    known.insert((blob.project_id, blob.sha256));
                }
            }
            // A key outside the blob layout under the registry's prefix is no blob of ours.
            let orphans: Vec<&ObjectMeta> = old
                .into_iter()
                .filter(|o| o.key.parse_blob().is_none_or(|k| !known.contains(&k)))
                .collect();
            if !orphans.is_empty() {
                if !dry_run {
                    let keys: Vec<ObjectKey> = orphans.iter().map(|o| o.key.clone()).collect();
                    self.blobs.delete_many(&keys).await?;
                }
                report.orphan_objects += orphans.len() as u64;
                report.orphan_bytes += orphans.iter().map(|o| o.size).sum::<u64>();
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

/// Runs `op` again while it fails with a retryable race, three tries in all (the race was with a
/// transaction that has ended by the time the error is seen, so retrying at once is right).
async fn retrying<T, E: Retry, F, Fut>(mut op: F) -> std::result::Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if e.is_retryable() && tries < 2 => tries += 1,
            other => return other,
        }
    }
}
