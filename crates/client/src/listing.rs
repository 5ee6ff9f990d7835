//! Listings the command line shows.

use serde_json::Value;

use crate::api::{encode, Client, Result, VersionInfo};

impl Client {
    /// Every page of a listing at `path` (which already has a query string).
    async fn all_pages(&self, path: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page: Value = match &cursor {
                Some(c) => self.get(&format!("{path}&cursor={c}")).await?,
                None => self.get(path).await?,
            };
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(out),
            }
        }
    }

    /// The projects the caller can see.
    pub async fn list_projects(&self) -> Result<Vec<Value>> {
        self.all_pages("/projects?limit=1000").await
    }

    /// A project's artifacts, optionally only those whose name contains `name`.
    pub async fn list_artifacts(&self, project: &str, name: Option<&str>) -> Result<Vec<Value>> {
        let id = self.project_id(project).await?;
        let mut path = format!("/artifacts?project_id={id}&limit=1000");
        if let Some(n) = name {
            path.push_str(&format!("&name={}", encode(n)));
        }
        self.all_pages(&path).await
    }

    /// An artifact's versions, oldest first.
    pub async fn list_versions(&self, project: &str, artifact: &str) -> Result<Vec<Value>> {
        let found = self.list_artifacts(project, Some(artifact)).await?;
        let a = found
            .iter()
            .find(|a| a["name"] == artifact)
            .ok_or_else(|| {
                crate::ClientError::Api(crate::ApiProblem {
                    status: 404,
                    code: "not_found".into(),
                    detail: format!("artifact not found: {artifact}"),
                })
            })?;
        self.all_pages(&format!(
            "/artifacts/{}/versions?limit=1000",
            a["id"].as_str().unwrap_or_default()
        ))
        .await
    }

    /// The files of the version `reference` names, by path, optionally under a path prefix.
    pub async fn list_files(&self, reference: &str, prefix: Option<&str>) -> Result<Vec<Value>> {
        let v = self.resolve(reference).await?;
        let mut path = format!("/artifacts/versions/{}/files?limit=1000", v.id);
        if let Some(p) = prefix {
            path.push_str(&format!("&prefix={}", encode(p)));
        }
        self.all_pages(&path).await
    }

    /// The aliases of the artifact `project/name`, each with the version it points at.
    pub async fn list_aliases(&self, artifact: &str) -> Result<Vec<Value>> {
        let a = self.artifact_json(artifact).await?;
        self.get(&format!(
            "/artifacts/{}/aliases",
            a["id"].as_str().unwrap_or_default()
        ))
        .await
    }

    /// A project's runs.
    pub async fn list_runs(&self, project: &str) -> Result<Vec<Value>> {
        let id = self.project_id(project).await?;
        self.all_pages(&format!("/runs?project_id={id}&limit=1000"))
            .await
    }

    /// The run that produced the version `reference` names, the versions that run used, and the
    /// runs that used this version, `depth` steps out.
    pub async fn lineage(&self, reference: &str, depth: u32) -> Result<Value> {
        let v = self.resolve(reference).await?;
        self.get(&format!(
            "/artifacts/versions/{}/lineage?depth={depth}",
            v.id
        ))
        .await
    }

    /// A version with its first page of files.
    pub async fn version_detail(&self, version: &VersionInfo) -> Result<Value> {
        self.get(&format!("/artifacts/versions/{}", version.id))
            .await
    }
}

impl Client {
    /// The artifact named by `project/name` (any version selector is ignored).
    async fn artifact_json(&self, reference: &str) -> Result<Value> {
        let (project, rest) = reference.split_once('/').ok_or_else(|| {
            crate::ClientError::Invalid(format!("{reference:?}: give project/name"))
        })?;
        let name = rest.split(':').next().unwrap_or(rest);
        let found = self.list_artifacts(project, Some(name)).await?;
        found
            .into_iter()
            .find(|a| a["name"] == name)
            .ok_or_else(|| {
                crate::ClientError::Api(crate::ApiProblem {
                    status: 404,
                    code: "not_found".into(),
                    detail: format!("artifact not found: {reference}"),
                })
            })
    }

    /// How version `to` differs from version `from` (references).
    pub async fn diff(&self, from: &str, to: &str) -> Result<Value> {
        let (a, b) = (self.resolve(from).await?, self.resolve(to).await?);
        self.get(&format!("/artifacts/versions/{}/diff/{}", a.id, b.id))
            .await
    }

    /// Points `alias` at the version `reference` names (`project/name:vN`).
    pub async fn set_alias(&self, reference: &str, alias: &str) -> Result<Value> {
        let v = self.resolve(reference).await?;
        self.call(
            reqwest::Method::PUT,
            &format!("/artifacts/{}/aliases/{}", v.artifact_id, encode(alias)),
            Some(&serde_json::json!({ "version_id": v.id })),
        )
        .await
    }

    /// Removes an alias from the artifact `project/name`.
    pub async fn remove_alias(&self, artifact: &str, alias: &str) -> Result<()> {
        let a = self.artifact_json(artifact).await?;
        let _: Value = self
            .call(
                reqwest::Method::DELETE,
                &format!(
                    "/artifacts/{}/aliases/{}",
                    a["id"].as_str().unwrap_or_default(),
                    encode(alias)
                ),
                None,
            )
            .await?;
        Ok(())
    }

    /// Deletes the artifact `project/name` with all its versions.
    pub async fn delete_artifact(&self, artifact: &str) -> Result<()> {
        let a = self.artifact_json(artifact).await?;
        let _: Value = self
            .call(
                reqwest::Method::DELETE,
                &format!("/artifacts/{}", a["id"].as_str().unwrap_or_default()),
                None,
            )
            .await?;
        Ok(())
    }
}
