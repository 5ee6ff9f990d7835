//! Listings and searches, typed with the wire contract (`wanllmdb-api`).

use serde::de::DeserializeOwned;
use wanllmdb_api::{
    AliasDto, ArtifactDto, FileDto, FolderEntryDto, LineageDto, PageDto, ProjectDto, RunDto,
    SetAliasDto, VersionDiffDto, VersionDto, VersionWithFilesDto,
};

use crate::api::{encode, not_found, Client, Result, VersionInfo};

/// What `search_artifacts` looks for; every field given must hold.
#[derive(Debug, Clone, Default)]
pub struct ArtifactSearch {
    /// Any of these types (model, dataset, file, code).
    pub types: Vec<String>,
    /// A case-insensitive substring of the name or description.
    pub q: Option<String>,
    /// Artifacts with a version carrying this alias.
    pub alias: Option<String>,
    /// Metadata conditions: `metadata.accuracy >= 0.9 and metadata.tags contains "prod"`.
    pub filter: Option<String>,
    /// `name`, `created_at`, `updated_at`, `version_count` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    /// At most this many results (all by default).
    pub limit: Option<usize>,
}

/// What `search_versions` looks for; every field given must hold.
#[derive(Debug, Clone, Default)]
pub struct VersionSearch {
    pub alias: Option<String>,
    pub finalized: Option<bool>,
    /// Versions this run produced.
    pub run_id: Option<uuid::Uuid>,
    /// Metadata conditions, as for artifacts.
    pub filter: Option<String>,
    /// `index`, `created_at`, `total_size` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    pub limit: Option<usize>,
}

fn push_param(path: &mut String, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        if !path.ends_with('?') {
            path.push('&');
        }
        path.push_str(name);
        path.push('=');
        path.push_str(&encode(v));
    }
}

impl Client {
    /// Every page of a listing at `path` (which already has a query string).
    pub(crate) async fn all_pages<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        self.pages_up_to(path, None).await
    }

    /// Pages of a listing at `path` (without `limit`) until `max` items, or all of them.
    async fn pages_up_to<T: DeserializeOwned>(
        &self,
        path: &str,
        max: Option<usize>,
    ) -> Result<Vec<T>> {
        let page_size = max.map_or(1000, |m| m.clamp(1, 1000));
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = path.to_owned();
            push_param(&mut url, "limit", Some(&page_size.to_string()));
            push_param(&mut url, "cursor", cursor.as_deref());
            let page: PageDto<T> = self.get(&url).await?;
            out.extend(page.items);
            if max.is_some_and(|m| out.len() >= m) {
                out.truncate(max.unwrap_or(usize::MAX));
                return Ok(out);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// A project's artifacts matching `search`, in its sort order (see `ArtifactSearch`).
    pub async fn search_artifacts(
        &self,
        project: &str,
        search: &ArtifactSearch,
    ) -> Result<Vec<ArtifactDto>> {
        let id = self.project_id(project).await?;
        let mut path = format!("/artifacts?project_id={id}");
        for t in &search.types {
            path.push_str(&format!("&type={}", encode(t)));
        }
        push_param(&mut path, "q", search.q.as_deref());
        push_param(&mut path, "alias", search.alias.as_deref());
        push_param(&mut path, "filter", search.filter.as_deref());
        push_param(&mut path, "sort", search.sort.as_deref());
        self.pages_up_to(&path, search.limit).await
    }

    /// The versions of the artifact `name` in `project` matching `search`.
    pub async fn search_versions(
        &self,
        project: &str,
        artifact: &str,
        search: &VersionSearch,
    ) -> Result<Vec<VersionDto>> {
        let a = self.artifact_in(project, artifact).await?;
        let mut path = format!("/artifacts/{}/versions?", a.id);
        push_param(&mut path, "alias", search.alias.as_deref());
        push_param(
            &mut path,
            "finalized",
            search.finalized.map(|f| if f { "true" } else { "false" }),
        );
        push_param(
            &mut path,
            "run_id",
            search.run_id.map(|r| r.to_string()).as_deref(),
        );
        push_param(&mut path, "filter", search.filter.as_deref());
        push_param(&mut path, "sort", search.sort.as_deref());
        self.pages_up_to(&path, search.limit).await
    }

    /// The projects the caller can see.
    pub async fn list_projects(&self) -> Result<Vec<ProjectDto>> {
        self.all_pages("/projects?").await
    }

    /// A project's artifacts, optionally only those whose name contains `name`.
    pub async fn list_artifacts(
        &self,
        project: &str,
        name: Option<&str>,
    ) -> Result<Vec<ArtifactDto>> {
        let id = self.project_id(project).await?;
        let mut path = format!("/artifacts?project_id={id}");
        push_param(&mut path, "name", name);
        self.all_pages(&path).await
    }

    /// An artifact's versions, oldest first.
    pub async fn list_versions(&self, project: &str, artifact: &str) -> Result<Vec<VersionDto>> {
        self.search_versions(project, artifact, &VersionSearch::default())
            .await
    }

    /// The artifact `name` in `project`.
    pub async fn artifact_in(&self, project: &str, artifact: &str) -> Result<ArtifactDto> {
        let found = self.list_artifacts(project, Some(artifact)).await?;
        found
            .into_iter()
            .find(|a| a.name == artifact)
            .ok_or_else(|| not_found(format!("artifact not found: {project}/{artifact}")))
    }

    /// The files of the version `reference` names, by path, optionally under a path prefix.
    pub async fn list_files(&self, reference: &str, prefix: Option<&str>) -> Result<Vec<FileDto>> {
        let v = self.resolve(reference).await?;
        let mut path = format!("/artifacts/versions/{}/files?", v.id);
        if let Some(p) = prefix {
            path.push_str(&format!("&prefix={}", encode(p)));
        }
        self.all_pages(&path).await
    }

    /// What is directly in `folder` (empty, or a path ending in `/`) of the version `reference`
    /// names: its files, and its folders with their file counts and sizes, by path.
    pub async fn list_folder(&self, reference: &str, folder: &str) -> Result<Vec<FolderEntryDto>> {
        let v = self.resolve(reference).await?;
        let mut path = format!("/artifacts/versions/{}/files?delimiter=%2F", v.id);
        if !folder.is_empty() {
            push_param(&mut path, "prefix", Some(folder));
        }
        self.all_pages(&path).await
    }

    /// The aliases of the artifact `project/name`, each with the version it points at.
    pub async fn list_aliases(&self, artifact: &str) -> Result<Vec<AliasDto>> {
        let a = self.artifact_named(artifact).await?;
        self.get(&format!("/artifacts/{}/aliases", a.id)).await
    }

    /// A project's runs.
    pub async fn list_runs(&self, project: &str) -> Result<Vec<RunDto>> {
        let id = self.project_id(project).await?;
        self.all_pages(&format!("/runs?project_id={id}")).await
    }

    /// The run that produced the version `reference` names, the versions that run used, and the
    /// runs that used this version, `depth` steps out.
    pub async fn lineage(&self, reference: &str, depth: u32) -> Result<LineageDto> {
        let v = self.resolve(reference).await?;
        self.get(&format!(
            "/artifacts/versions/{}/lineage?depth={depth}",
            v.id
        ))
        .await
    }

    /// A version with its first page of files.
    pub async fn version_detail(&self, version: &VersionInfo) -> Result<VersionWithFilesDto> {
        self.get(&format!("/artifacts/versions/{}", version.id))
            .await
    }
}

impl Client {
    /// The artifact named by `project/name` (any version selector is ignored).
    pub async fn artifact_named(&self, reference: &str) -> Result<ArtifactDto> {
        let (project, rest) = reference.split_once('/').ok_or_else(|| {
            crate::ClientError::Invalid(format!("{reference:?}: give project/name"))
        })?;
        let name = rest.split(':').next().unwrap_or(rest);
        self.artifact_in(project, name).await
    }

    /// How version `to` differs from version `from` (references): every page of the
    /// comparison, joined (renames are paired within each page).
    pub async fn diff(&self, from: &str, to: &str) -> Result<VersionDiffDto> {
        let (a, b) = (self.resolve(from).await?, self.resolve(to).await?);
        let base = format!("/artifacts/versions/{}/diff/{}", a.id, b.id);
        let mut all: VersionDiffDto = self.get(&base).await?;
        while let Some(cursor) = all.next_cursor.take() {
            let page: VersionDiffDto = self
                .get(&format!("{base}?cursor={}", encode(&cursor)))
                .await?;
            all.added.extend(page.added);
            all.removed.extend(page.removed);
            all.modified.extend(page.modified);
            all.renamed.extend(page.renamed);
            all.unchanged += page.unchanged;
            all.truncated = page.truncated;
            all.next_cursor = page.next_cursor;
        }
        Ok(all)
    }

    /// Points `alias` at the version `reference` names (`project/name:vN`).
    pub async fn set_alias(&self, reference: &str, alias: &str) -> Result<AliasDto> {
        let v = self.resolve(reference).await?;
        let body = SetAliasDto {
            version: None,
            version_id: Some(v.id),
        };
        self.call(
            reqwest::Method::PUT,
            &format!("/artifacts/{}/aliases/{}", v.artifact_id, encode(alias)),
            Some(&crate::api::to_body(&body)?),
        )
        .await
    }

    /// Removes an alias from the artifact `project/name`.
    pub async fn remove_alias(&self, artifact: &str, alias: &str) -> Result<()> {
        let a = self.artifact_named(artifact).await?;
        self.call::<()>(
            reqwest::Method::DELETE,
            &format!("/artifacts/{}/aliases/{}", a.id, encode(alias)),
            None,
        )
        .await
    }

    /// Changes a version's description or metadata (`None` leaves it); returns the version.
    pub async fn update_version(
        &self,
        version: uuid::Uuid,
        description: Option<&str>,
        metadata: Option<serde_json::Value>,
    ) -> Result<VersionDto> {
        let body = wanllmdb_api::PatchDto {
            description: description.map(str::to_owned),
            metadata,
        };
        self.call(
            reqwest::Method::PUT,
            &format!("/artifacts/versions/{version}"),
            Some(&crate::api::to_body(&body)?),
        )
        .await
    }

    /// Deletes one version (its files' bytes go when nothing else refers to them).
    pub async fn delete_version(&self, version: uuid::Uuid) -> Result<()> {
        self.call::<()>(
            reqwest::Method::DELETE,
            &format!("/artifacts/versions/{version}"),
            None,
        )
        .await
    }

    /// Deletes the artifact `project/name` with all its versions.
    pub async fn delete_artifact(&self, artifact: &str) -> Result<()> {
        let a = self.artifact_named(artifact).await?;
        self.call::<()>(
            reqwest::Method::DELETE,
            &format!("/artifacts/{}", a.id),
            None,
        )
        .await
    }
}
