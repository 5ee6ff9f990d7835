//! `Session`: a server, a key and the local caches, with one method per user action. Answers
//! cross into Python as JSON text (the wire contract's types), which the Python layer wraps.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use serde::Serialize;
use uuid::Uuid;
use wanllmdb_client::{
    Artifact, ArtifactSearch, Cache, Client, ClientError, Credentials, LogOptions, VersionSearch,
};
use wanllmdb_domain::types::ArtifactType;

use crate::errors::to_py;
use crate::runtime::{wait, Counter, Report};

fn json<T: Serialize>(value: &T) -> Result<String, ClientError> {
    serde_json::to_string(value).map_err(|e| ClientError::Invalid(e.to_string()))
}

fn parse_json(what: &str, text: Option<String>) -> Result<serde_json::Value, ClientError> {
    match text {
        None => Ok(serde_json::Value::Null),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| ClientError::Invalid(format!("{what} is not JSON: {e}"))),
    }
}

fn parse_id(what: &str, text: Option<&str>) -> Result<Option<Uuid>, ClientError> {
    text.map(|t| Uuid::parse_str(t).map_err(|e| ClientError::Invalid(format!("{what} {t:?}: {e}"))))
        .transpose()
}

fn id(what: &str, text: &str) -> Result<Uuid, ClientError> {
    Uuid::parse_str(text).map_err(|e| ClientError::Invalid(format!("{what} {text:?}: {e}")))
}

/// Where the caches live: the CLI's (`WANLLMDB_CACHE_DIR`, `WANLLMDB_CACHE_MAX_BYTES`, ...)
/// unless given.
#[derive(Debug, Clone)]
struct CacheConfig {
    dir: Option<PathBuf>,
    max_bytes: Option<u64>,
}

impl CacheConfig {
    fn cache(&self) -> Cache {
        Cache::from_env_with(self.dir.clone(), self.max_bytes)
    }
}

/// A connection to one registry. Safe to share between threads; a forked child makes its own
/// HTTP connections and cache handles on first use.
#[pyclass(frozen, module = "wanllmdb._core")]
#[derive(Debug)]
pub(crate) struct Session {
    url: String,
    key: String,
    cache: CacheConfig,
    /// The client and the process it was made in.
    client: Mutex<Option<(u32, Client)>>,
}

impl Session {
    fn client(&self) -> Client {
        let pid = std::process::id();
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some((made_in, c)) if *made_in == pid => c.clone(),
            _ => {
                // A forked child: the parent's connections and SQLite handles are not ours.
                if let Some(inherited) = slot.take() {
                    std::mem::forget(inherited);
                }
                let c = Client::new(&self.url, &self.key).with_cache_of(self.cache.cache());
                *slot = Some((pid, c.clone()));
                c
            }
        }
    }

    /// Runs `f` with a client, waiting with the GIL released; progress to `progress`.
    fn run<T, F, Fut>(&self, py: Python<'_>, progress: Option<Py<PyAny>>, f: F) -> PyResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        let mut client = self.client();
        let report = progress.map(|callback| {
            let counter = Arc::new(Counter::default());
            client = client.clone().with_progress(counter.clone());
            Report { counter, callback }
        });
        wait(py, f(client), report.as_ref())
    }
}

#[pymethods]
impl Session {
    /// `url` and `key`, else `WANLLMDB_URL` / `WANLLMDB_API_KEY`, else what `wanllmdb login`
    /// saved.
    #[new]
    #[pyo3(signature = (url=None, key=None, cache_dir=None, cache_max_bytes=None))]
    fn new(
        py: Python<'_>,
        url: Option<String>,
        key: Option<String>,
        cache_dir: Option<PathBuf>,
        cache_max_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let (url, key) = match (url, key) {
            (Some(u), Some(k)) => (u, k),
            (url, key) => match Credentials::resolve(url) {
                Some(c) => (c.url, key.unwrap_or(c.key)),
                None => {
                    return Err(to_py(
                        py,
                        ClientError::Config(
                            "no server: call wanllmdb.login(url, key), set WANLLMDB_URL and \
                             WANLLMDB_API_KEY, or run `wanllmdb login`"
                                .into(),
                        ),
                    ))
                }
            },
        };
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            key,
            cache: CacheConfig {
                dir: cache_dir,
                max_bytes: cache_max_bytes,
            },
            client: Mutex::new(None),
        })
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// Saves this session's server and key where `wanllmdb login` does.
    fn save_credentials(&self, py: Python<'_>) -> PyResult<String> {
        let c = Credentials {
            url: self.url.clone(),
            key: self.key.clone(),
        };
        c.save().map(|p| p.display().to_string()).map_err(|e| {
            to_py(
                py,
                ClientError::Io {
                    path: wanllmdb_client::credentials_path().display().to_string(),
                    source: e,
                },
            )
        })
    }

    fn me(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, None, |c| async move { json(&c.me().await?) })
    }

    /// The project `name`, made (with the caller as its admin) when it does not exist.
    fn ensure_project(&self, py: Python<'_>, name: String) -> PyResult<String> {
        self.run(py, None, |c| async move {
            if let Ok(id) = c.project_id(&name).await {
                return Ok(id.to_string());
            }
            match c.create_project(&name).await {
                Ok(id) => Ok(id.to_string()),
                // Made by someone else meanwhile.
                Err(ClientError::Api(p)) if p.status == 409 => {
                    Ok(c.project_id(&name).await?.to_string())
                }
                Err(e) => Err(e),
            }
        })
    }

    #[pyo3(signature = (project, name, metadata=None))]
    fn create_run(
        &self,
        py: Python<'_>,
        project: String,
        name: String,
        metadata: Option<String>,
    ) -> PyResult<String> {
        self.run(py, None, |c| async move {
            let metadata = parse_json("run metadata", metadata)?;
            json(&c.create_run_with(&project, &name, metadata).await?)
        })
    }

    fn runs(&self, py: Python<'_>, project: String) -> PyResult<String> {
        self.run(
            py,
            None,
            |c| async move { json(&c.list_runs(&project).await?) },
        )
    }

    /// Logs an artifact: `files` are (local file, path in the artifact), `dirs` are (local
    /// folder, prefix in the artifact). Hashes, uploads what the registry lacks, finalizes.
    #[pyo3(signature = (
        project, name, artifact_type, description, metadata, files, dirs, aliases,
        run_id=None, rehash=false, progress=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn log_artifact(
        &self,
        py: Python<'_>,
        project: String,
        name: String,
        artifact_type: String,
        description: Option<String>,
        metadata: Option<String>,
        files: Vec<(PathBuf, String)>,
        dirs: Vec<(PathBuf, String)>,
        aliases: Vec<String>,
        run_id: Option<String>,
        rehash: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        self.run(py, progress, |c| async move {
            let kind = artifact_type
                .parse::<ArtifactType>()
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
            let mut artifact =
                Artifact::new(&name, kind).description(description.as_deref().unwrap_or_default());
            let metadata = parse_json("metadata", metadata)?;
            if !metadata.is_null() {
                artifact = artifact.metadata(metadata);
            }
            // Listing folders reads the disk: off the runtime's workers.
            let artifact = tokio::task::spawn_blocking(move || {
                for (local, path) in files {
                    artifact = artifact.add_file_at(&local, &path)?;
                }
                for (local, prefix) in dirs {
                    artifact = artifact.add_dir_at(&local, &prefix)?;
                }
                Ok::<_, ClientError>(artifact)
            })
            .await
            .map_err(|e| ClientError::Invalid(format!("listing files failed: {e}")))??;
            let mut options = LogOptions::default();
            for a in &aliases {
                options = options.alias(a);
            }
            if let Some(r) = parse_id("run id", run_id.as_deref())? {
                options = options.run(r);
            }
            if rehash {
                options = options.rehash();
            }
            json(
                &c.log_artifact_detailed(&project, &artifact, options)
                    .await?,
            )
        })
    }

    /// Resolves a reference to a version; with a run, records the run as its user.
    #[pyo3(signature = (reference, run_id=None))]
    fn use_artifact(
        &self,
        py: Python<'_>,
        reference: String,
        run_id: Option<String>,
    ) -> PyResult<String> {
        self.run(py, None, |c| async move {
            let run = parse_id("run id", run_id.as_deref())?;
            let used = c.use_artifact(&reference, run).await?;
            json(&wanllmdb_api::ResolvedDto {
                artifact: used.artifact,
                version: used.version,
            })
        })
    }

    /// Downloads the version `reference` names (an exact one: `project/name:vN`) into `root`:
    /// the files under `prefix`, or with `exact` the one file at path `prefix`.
    #[pyo3(signature = (reference, root, prefix=None, skip_cache=false, progress=None, exact=false))]
    #[allow(clippy::too_many_arguments)]
    fn download(
        &self,
        py: Python<'_>,
        reference: String,
        root: PathBuf,
        prefix: Option<String>,
        skip_cache: bool,
        progress: Option<Py<PyAny>>,
        exact: bool,
    ) -> PyResult<String> {
        self.run(py, progress, |c| async move {
            let mut used = c.use_artifact(&reference, None).await?;
            if skip_cache {
                used = used.skip_cache();
            }
            let stats = match (exact, prefix.as_deref()) {
                (true, Some(path)) => used.download_file(&root, path).await?,
                (true, None) => {
                    return Err(ClientError::Invalid(
                        "an exact download names a path".into(),
                    ))
                }
                (false, prefix) => used.download_with(&root, prefix).await?,
            };
            json(&stats)
        })
    }

    /// Checks the files under `root` against the version; returns how many were checked.
    #[pyo3(signature = (reference, root, prefix=None))]
    fn verify(
        &self,
        py: Python<'_>,
        reference: String,
        root: PathBuf,
        prefix: Option<String>,
    ) -> PyResult<u64> {
        self.run(py, None, |c| async move {
            let used = c.use_artifact(&reference, None).await?;
            used.verify(&root, prefix.as_deref()).await
        })
    }

    #[pyo3(signature = (reference, prefix=None))]
    fn files(&self, py: Python<'_>, reference: String, prefix: Option<String>) -> PyResult<String> {
        self.run(py, None, |c| async move {
            json(&c.list_files(&reference, prefix.as_deref()).await?)
        })
    }

    /// The artifact and version a reference names, without recording a use.
    fn resolve(&self, py: Python<'_>, reference: String) -> PyResult<String> {
        self.run(py, None, |c| async move {
            json(&c.resolve_artifact(&reference).await?)
        })
    }

    /// The artifact `project/name`.
    fn artifact(&self, py: Python<'_>, reference: String) -> PyResult<String> {
        self.run(py, None, |c| async move {
            json(&c.artifact_named(&reference).await?)
        })
    }

    #[pyo3(signature = (project, types=Vec::new(), q=None, alias=None, filter=None, sort=None, limit=None))]
    #[allow(clippy::too_many_arguments)]
    fn search_artifacts(
        &self,
        py: Python<'_>,
        project: String,
        types: Vec<String>,
        q: Option<String>,
        alias: Option<String>,
        filter: Option<String>,
        sort: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<String> {
        let search = ArtifactSearch {
            types,
            q,
            alias,
            filter,
            sort,
            limit,
        };
        self.run(py, None, |c| async move {
            json(&c.search_artifacts(&project, &search).await?)
        })
    }

    #[pyo3(signature = (project, artifact, alias=None, filter=None, sort=None, limit=None))]
    #[allow(clippy::too_many_arguments)]
    fn search_versions(
        &self,
        py: Python<'_>,
        project: String,
        artifact: String,
        alias: Option<String>,
        filter: Option<String>,
        sort: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<String> {
        let search = VersionSearch {
            alias,
            filter,
            sort,
            limit,
            ..VersionSearch::default()
        };
        self.run(py, None, |c| async move {
            json(&c.search_versions(&project, &artifact, &search).await?)
        })
    }

    fn set_alias(&self, py: Python<'_>, reference: String, alias: String) -> PyResult<String> {
        self.run(py, None, |c| async move {
            json(&c.set_alias(&reference, &alias).await?)
        })
    }

    fn remove_alias(&self, py: Python<'_>, artifact: String, alias: String) -> PyResult<()> {
        self.run(py, None, |c| async move {
            c.remove_alias(&artifact, &alias).await
        })
    }

    /// Changes a version's description or metadata (JSON text); returns the version.
    #[pyo3(signature = (version_id, description=None, metadata=None))]
    fn update_version(
        &self,
        py: Python<'_>,
        version_id: String,
        description: Option<String>,
        metadata: Option<String>,
    ) -> PyResult<String> {
        self.run(py, None, |c| async move {
            let metadata = match metadata {
                None => None,
                some => Some(parse_json("metadata", some)?),
            };
            let version = id("version id", &version_id)?;
            json(
                &c.update_version(version, description.as_deref(), metadata)
                    .await?,
            )
        })
    }

    fn delete_version(&self, py: Python<'_>, version_id: String) -> PyResult<()> {
        self.run(py, None, |c| async move {
            c.delete_version(id("version id", &version_id)?).await
        })
    }

    fn delete_artifact(&self, py: Python<'_>, artifact: String) -> PyResult<()> {
        self.run(
            py,
            None,
            |c| async move { c.delete_artifact(&artifact).await },
        )
    }

    #[pyo3(signature = (reference, depth=1))]
    fn lineage(&self, py: Python<'_>, reference: String, depth: u32) -> PyResult<String> {
        self.run(py, None, |c| async move {
            json(&c.lineage(&reference, depth).await?)
        })
    }

    fn __repr__(&self) -> String {
        format!("Session(url={:?})", self.url)
    }
}
