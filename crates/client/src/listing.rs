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

    /// A version with its first page of files.
    pub async fn version_detail(&self, version: &VersionInfo) -> Result<Value> {
        self.get(&format!("/artifacts/versions/{}", version.id))
            .await
    }
}
