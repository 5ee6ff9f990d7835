//! Administration: garbage collection.

use crate::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GcDto {
    #[serde(default = "default_grace")]
    /// Blobs younger than this stay (default a day).
    #[schema(maximum = 3155760000_u64)]
    pub grace_seconds: u64,
    /// Drafts and multipart uploads older than this are abandoned (default 7 days).
    #[serde(default = "default_stale_after")]
    #[schema(maximum = 3155760000_u64)]
    pub stale_after_seconds: u64,
    #[serde(default)]
    pub dry_run: bool,
}

/// A hundred years: the longest grace period or staleness accepted.
pub const MAX_AGE_SECONDS: u64 = 3_155_760_000;

fn default_grace() -> u64 {
    24 * 3600
}

fn default_stale_after() -> u64 {
    7 * 24 * 3600
}

/// What a garbage collection found and (unless a dry run) removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GcReportDto {
    /// Unreferenced blobs (and their bytes) removed.
    pub blobs: u64,
    pub bytes: u64,
    /// Abandoned drafts deleted.
    pub drafts: u64,
    /// Unfinished multipart uploads aborted.
    pub multipart_uploads: u64,
    /// Stored objects no blob record accounts for, and their bytes.
    pub orphan_objects: u64,
    pub orphan_bytes: u64,
    /// What interrupted writes left in the store.
    pub leftovers: u64,
    pub leftover_bytes: u64,
    pub dry_run: bool,
}

impl From<wanllmdb_domain::service::GcReport> for GcReportDto {
    fn from(r: wanllmdb_domain::service::GcReport) -> Self {
        Self {
            blobs: r.blobs,
            bytes: r.bytes,
            drafts: r.drafts,
            multipart_uploads: r.multipart_uploads,
            orphan_objects: r.orphan_objects,
            orphan_bytes: r.orphan_bytes,
            leftovers: r.leftovers,
            leftover_bytes: r.leftover_bytes,
            dry_run: r.dry_run,
        }
    }
}

/// `GET /healthz` and `GET /readyz` when all is well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusDto {
    pub status: String,
}
