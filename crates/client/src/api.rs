//! The HTTP client: requests, the server's problem documents, typed answers.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use wanllmdb_api::{CreateProjectDto, CreateRunDto, ProjectDto, ResolvedDto, RunDto, UserDto};

/// A problem document from the server, intact.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ApiProblem {
    pub status: u16,
    pub code: String,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{} {}: {}", .0.status, .0.code, .0.detail)]
    Api(ApiProblem),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Downloaded bytes that do not hash to what the registry recorded.
    #[error("{path}: integrity check failed (expected SHA-256 {expected}, got {actual})")]
    Integrity {
        path: String,
        expected: String,
        actual: String,
    },
    /// The object store refused a transfer (after renewing an expired URL and retrying
    /// transient failures).
    #[error("{path}: the store answered {status}")]
    Store {
        path: String,
        status: u16,
        /// The pause the store asked for before another try.
        retry_after: Option<std::time::Duration>,
    },
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A version as the server describes it.
pub type VersionInfo = wanllmdb_api::VersionDto;

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    base: String,
    key: String,
    /// Files hashed, uploaded or downloaded at once.
    pub(crate) concurrency: usize,
    /// The local content cache, if any.
    pub(crate) cache: Option<crate::cache::Cache>,
    /// Digests of local files by path and stamp, if kept.
    pub(crate) hashes: Option<crate::hashes::HashCache>,
    /// Where unfinished multipart uploads are remembered, to resume them.
    pub(crate) state_dir: Option<std::path::PathBuf>,
    /// Told how transfers advance.
    pub(crate) progress: Option<std::sync::Arc<dyn Progress>>,
}

/// How a transfer advances, for progress bars. Bytes count files' sizes as they are uploaded
/// (or found already stored) and downloaded (or found in the cache).
pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes begins; `what` is "upload" or "download".
    fn start(&self, what: &str, total: u64);
    fn advance(&self, bytes: u64);
    /// The total grows by `bytes` (a download by prefix learns its size page by page).
    fn grow(&self, _bytes: u64) {}
    fn finish(&self);
}

impl std::fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`) with an API key.
    pub fn new(base_url: &str, api_key: &str) -> Self {
        Self {
            // A store that stops answering fails the call instead of hanging it forever.
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(30))
                .read_timeout(std::time::Duration::from_secs(300))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
            base: base_url.trim_end_matches('/').to_owned(),
            key: api_key.to_owned(),
            concurrency: 8,
            cache: None,
            hashes: Some(crate::hashes::HashCache::in_dir(
                &crate::cache::Cache::default_dir(),
            )),
            state_dir: Some(crate::cache::Cache::default_dir().join("uploads")),
            progress: None,
        }
    }

    /// From `WANLLMDB_URL` and `WANLLMDB_API_KEY`, else the credentials `wanllmdb login` saved
    /// (`$WANLLMDB_CONFIG_DIR/credentials.json`, default `~/.config/wanllmdb`).
    pub fn from_env() -> Result<Self> {
        match Credentials::resolve(None) {
            Some(c) => Ok(Self::new(&c.url, &c.key)),
            None => Err(ClientError::Config(
                "no server: set WANLLMDB_URL and WANLLMDB_API_KEY, or run `wanllmdb login`".into(),
            )),
        }
    }

    /// Keeps downloaded files in a local cache keyed by SHA-256, at most `max_bytes` (least
    /// recently used files go first), so a file already fetched is never transferred again.
    /// The hash cache lives in the same folder.
    pub fn with_cache(mut self, dir: impl Into<std::path::PathBuf>, max_bytes: u64) -> Self {
        let dir = dir.into();
        self.hashes = Some(crate::hashes::HashCache::in_dir(&dir));
        self.cache = Some(crate::cache::Cache::new(dir, max_bytes));
        self
    }

    /// `with_cache` for a cache set up already (e.g. with its own copy limit).
    pub fn with_cache_of(mut self, cache: crate::cache::Cache) -> Self {
        self.hashes = Some(crate::hashes::HashCache::in_dir(cache.dir()));
        self.cache = Some(cache);
        self
    }

    /// Where digests of logged files are remembered by path, size, modification time and
    /// inode, so an unchanged file is not read again (default `~/.cache/wanllmdb`; `None` to
    /// hash every file every time).
    pub fn with_hash_cache(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.hashes = dir.map(|d| crate::hashes::HashCache::in_dir(&d));
        self
    }

    /// Where unfinished multipart uploads are remembered (default `~/.cache/wanllmdb/uploads`;
    /// `None` to not resume).
    pub fn with_state_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.state_dir = dir;
        self
    }

    /// Reports transfers to `progress`.
    pub fn with_progress(mut self, progress: std::sync::Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    pub(crate) fn progress_start(&self, what: &str, total: u64) {
        if let Some(p) = &self.progress {
            p.start(what, total);
        }
    }

    pub(crate) fn progress_advance(&self, bytes: u64) {
        if let Some(p) = &self.progress {
            p.advance(bytes);
        }
    }

    pub(crate) fn progress_grow(&self, bytes: u64) {
        if let Some(p) = &self.progress {
            p.grow(bytes);
        }
    }

    pub(crate) fn progress_finish(&self) {
        if let Some(p) = &self.progress {
            p.finish();
        }
    }

    /// The cache, if one is set.
    pub fn cache(&self) -> Option<&crate::cache::Cache> {
        self.cache.as_ref()
    }

    /// How many files move at once (default 8).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if status == reqwest::StatusCode::NO_CONTENT {
            return serde_json::from_value(Value::Null)
                .map_err(|e| ClientError::Invalid(e.to_string()));
        }
        let text = resp.text().await?;
        if !status.is_success() {
            let problem = serde_json::from_str(&text).unwrap_or(ApiProblem {
                status: status.as_u16(),
                code: "http_error".into(),
                detail: text.chars().take(500).collect(),
            });
            return Err(ClientError::Api(problem));
        }
        serde_json::from_str(&text)
            .map_err(|e| ClientError::Invalid(format!("unexpected answer to {path}: {e}")))
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T> {
        self.call(reqwest::Method::POST, path, Some(&body)).await
    }

    /// The caller, as the server knows them.
    pub async fn me(&self) -> Result<UserDto> {
        self.get("/me").await
    }

    /// The id of the project named `name` the caller can see.
    pub async fn project_id(&self, name: &str) -> Result<Uuid> {
        self.list_projects()
            .await?
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
            .ok_or_else(|| not_found(format!("project not found: {name}")))
    }

    /// Creates a project; the caller becomes its admin.
    pub async fn create_project(&self, name: &str) -> Result<Uuid> {
        let body = CreateProjectDto {
            name: name.to_owned(),
            description: String::new(),
        };
        let p: ProjectDto = self.post("/projects", to_body(&body)?).await?;
        Ok(p.id)
    }

    /// Creates a run in a project.
    pub async fn create_run(&self, project: &str, name: &str) -> Result<Uuid> {
        Ok(self.create_run_with(project, name, Value::Null).await?.id)
    }

    /// Creates a run in a project with metadata (a JSON object: job type, config, ...).
    pub async fn create_run_with(
        &self,
        project: &str,
        name: &str,
        metadata: Value,
    ) -> Result<RunDto> {
        let body = CreateRunDto {
            project_id: self.project_id(project).await?,
            name: name.to_owned(),
            metadata,
        };
        self.post("/runs", to_body(&body)?).await
    }

    /// Resolves `[project/]name[:vN|alias]` to a version.
    pub async fn resolve(&self, reference: &str) -> Result<VersionInfo> {
        Ok(self.resolve_artifact(reference).await?.version)
    }

    /// `resolve`, with the artifact the version belongs to.
    pub async fn resolve_artifact(&self, reference: &str) -> Result<ResolvedDto> {
        self.get(&format!("/resolve?ref={}", encode(reference)))
            .await
    }
}

/// A request body as JSON.
pub(crate) fn to_body<T: serde::Serialize>(body: &T) -> Result<Value> {
    serde_json::to_value(body).map_err(|e| ClientError::Invalid(e.to_string()))
}

/// The error a lookup by name gives when nothing matches, like the server's 404.
pub(crate) fn not_found(detail: String) -> ClientError {
    ClientError::Api(ApiProblem {
        status: 404,
        code: "not_found".into(),
        detail,
    })
}

/// A server and an API key: what `wanllmdb login` saves (`credentials.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Credentials {
    pub url: String,
    pub key: String,
}

impl Credentials {
    /// The saved credentials, if a readable file holds them.
    pub fn saved() -> Option<Self> {
        let text = std::fs::read_to_string(credentials_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// `url` if given, else `WANLLMDB_URL`, else the saved URL; `WANLLMDB_API_KEY`, else the
    /// saved key.
    pub fn resolve(url: Option<String>) -> Option<Self> {
        let saved = Self::saved();
        let url = url
            .or_else(|| std::env::var("WANLLMDB_URL").ok())
            .or_else(|| saved.as_ref().map(|s| s.url.clone()))?;
        let key = std::env::var("WANLLMDB_API_KEY")
            .ok()
            .or_else(|| saved.map(|s| s.key))?;
        Some(Self { url, key })
    }

    /// Saves these credentials for later commands (the file readable by its owner only).
    pub fn save(&self) -> std::io::Result<std::path::PathBuf> {
        let path = credentials_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        write_private(&path, text.as_bytes())?;
        Ok(path)
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Where `wanllmdb login` keeps the URL and key: `$WANLLMDB_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/wanllmdb`, else `~/.config/wanllmdb`.
pub fn credentials_path() -> std::path::PathBuf {
    use std::path::PathBuf;
    let dir = std::env::var_os("WANLLMDB_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("wanllmdb")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/wanllmdb")))
        .unwrap_or_else(|| PathBuf::from(".wanllmdb"));
    dir.join("credentials.json")
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    wanllmdb_domain::signed_url::percent_encode(s)
}
