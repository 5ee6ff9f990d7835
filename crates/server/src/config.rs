//! Layered configuration: the embedded `config/default.toml`, then an optional file, then
//! `WANLLMDB__SECTION__KEY` environment variables.

use serde::Deserialize;

const DEFAULTS: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    pub uploads: UploadSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub public_url: String,
    pub workers: usize,
    /// Where the web UI and the API live as the browser sees them: `/`, or a sub-path such as
    /// `/registry/` behind a proxy (which may pass the prefix on or strip it).
    pub base_path: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageSettings {
    pub backend: String,
    pub fs: FsSettings,
    pub s3: S3Settings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FsSettings {
    pub root: String,
}

#[derive(Clone, Deserialize)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    pub path_style: bool,
    pub part_size: usize,
    /// Origins (comma-separated) whose pages may use the presigned URLs: the server sets the
    /// bucket's CORS rule for them at start. Empty leaves the bucket's CORS alone.
    #[serde(default)]
    pub cors_origins: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    pub bootstrap_user: String,
    pub bootstrap_key: String,
    pub signing_secret: String,
    pub session_ttl_hours: u64,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("bootstrap_user", &self.bootstrap_user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadSettings {
    pub url_ttl_seconds: u64,
    pub max_batch: usize,
    pub multipart_threshold: u64,
    pub part_size: u64,
    pub max_file_size: u64,
}

impl Settings {
    /// Loads the layers; `file` is the `--config` argument.
    pub fn load(file: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::with_name(path).required(true));
        }
        let settings = builder
            .add_source(
                config::Environment::with_prefix("WANLLMDB")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()?;
        Ok(settings)
    }
}
