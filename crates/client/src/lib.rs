//! The wanllmdb SDK: log and use artifacts over the REST API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wanllmdb_client::ClientError> {
//! use wanllmdb_client::{Artifact, Client, LogOptions};
//! use wanllmdb_domain::types::ArtifactType;
//! let client = Client::from_env()?; // WANLLMDB_URL, WANLLMDB_API_KEY
//! let artifact = Artifact::new("my-model", ArtifactType::Model)
//!     .description("ResNet-50 fine-tuned")
//!     .add_file("model.pth")?
//!     .add_dir("checkpoints/")?;
//! let version = client.log_artifact("vision", &artifact, LogOptions::default().alias("best")).await?;
//! let used = client.use_artifact("vision/my-model:best", None).await?;
//! let dir = used.download("./restored").await?;
//! # Ok(()) }
//! ```

mod api;
mod artifact;
mod cache;
mod hashes;
mod listing;
mod local_db;
mod transfer;

pub use api::{
    credentials_path, ApiProblem, Client, ClientError, Credentials, Progress, VersionInfo,
};
pub use artifact::{Artifact, LogOptions};
pub use cache::{Cache, CacheInfo, Shared, DEFAULT_COPY_LIMIT, DEFAULT_MAX_BYTES};
pub use listing::{ArtifactSearch, VersionSearch};
pub use transfer::{DownloadStats, Logged, UsedArtifact};
