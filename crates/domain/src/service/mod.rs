//! The use cases. `Registry` holds the ports and enforces the domain rules: authorization,
//! validation beyond types, draft/finalized life cycle, dedup, and what goes into each atomic
//! port call.

mod access;
mod artifacts;
mod files;
mod inspect;
mod runs;

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

pub use access::*;
pub use artifacts::*;
pub use files::*;
pub use inspect::*;
pub use runs::*;

use crate::error::{Entity, Error, Result};
use crate::ids::{ProjectId, UserId};
use crate::ports::{BlobStore, MetadataStore};
use crate::types::Role;

/// Who is calling: the user behind an API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    /// A registry administrator acts in every project.
    pub is_admin: bool,
}

/// Tunables of the service.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// How long presigned upload URLs stay valid.
    pub upload_url_ttl: Duration,
    /// How long presigned download URLs stay valid.
    pub download_url_ttl: Duration,
    /// The most files one batch request may carry.
    pub max_batch: usize,
    /// How many blob checks finalize runs at once.
    pub finalize_concurrency: usize,
    /// Files larger than this are uploaded in parts (multipart), not in one PUT.
    pub multipart_threshold: u64,
    /// The part size of multipart uploads (raised for files that would need more than 10,000).
    pub part_size: u64,
    /// The largest file accepted, in bytes (S3's 5 TiB per object by default): larger sizes are
    /// refused before anything is planned or stored.
    pub max_object_size: u64,
    /// How long a browser session lasts after sign-in.
    pub session_ttl: Duration,
}

/// S3's largest object.
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            upload_url_ttl: Duration::from_secs(3600),
            download_url_ttl: Duration::from_secs(3600),
            max_batch: 10_000,
            finalize_concurrency: 32,
            multipart_threshold: 256 * 1024 * 1024,
            part_size: 64 * 1024 * 1024,
            max_object_size: MAX_OBJECT_SIZE,
            session_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The registry's use cases over a metadata store and a blob store.
#[derive(Clone)]
pub struct Registry {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    config: RegistryConfig,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Registry {
    pub fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        config: RegistryConfig,
    ) -> Self {
        Self {
            meta,
            blobs,
            config,
        }
    }

    pub fn metadata(&self) -> &Arc<dyn MetadataStore> {
        &self.meta
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Checks both stores answer.
    pub async fn ready(&self) -> Result<()> {
        self.meta.ping().await?;
        self.blobs.ping().await?;
        Ok(())
    }

    /// Requires `need` in `project`. A caller with no role at all is told the thing they asked
    /// for does not exist (`hidden`), so ids do not leak across projects; a caller with a lesser
    /// role is told it is forbidden.
    async fn authorize(
        &self,
        actor: &Actor,
        project: ProjectId,
        need: Role,
        hidden: (Entity, &(dyn Display + Sync)),
    ) -> Result<()> {
        if actor.is_admin {
            return Ok(());
        }
        match self.meta.get_role(project, actor.user_id).await? {
            None => Err(Error::not_found(hidden.0, hidden.1)),
            Some(role) if role >= need => Ok(()),
            Some(role) => Err(Error::Forbidden(format!(
                "your role in this project is {role}; this needs {need}"
            ))),
        }
    }
}

fn now() -> crate::entities::Timestamp {
    crate::entities::now()
}
