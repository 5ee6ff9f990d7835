//! Logging (hash, negotiate, upload what is missing, register, finalize) and using (resolve,
//! record, download with verification) artifacts: `upload` logs, `resume` remembers unfinished
//! multipart uploads, `download` fetches and verifies, `retry` decides what is tried again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use md5::Digest as _;
use uuid::Uuid;
use wanllmdb_api::{
    CompleteDto, CompletedPartDto, CreateArtifactDto, CreateVersionDto, DownloadDto,
    DownloadUrlDto, FileBatchDto, FileDto, FileSpecDto, FileSpecFields, FilesDto, FolderEntryDto,
    MultipartDto, PageDto, PartUrlDto, PartUrlsDto, ResolvedDto, SetAliasDto, StoredDto,
    StoredPartDto, UploadUrlDto, UploadUrlsDto,
};
use wanllmdb_domain::manifest::{manifest_digest, ManifestEntry};
use wanllmdb_domain::ports::hash_reader;
use wanllmdb_domain::types::{FilePath, Md5, Sha256};

use crate::api::{encode, to_body, Client, ClientError, Result, VersionInfo};
use crate::artifact::{Artifact, LogOptions};

mod download;
mod resume;
mod retry;
mod upload;

pub use download::UsedArtifact;
use retry::{retrying, store_error, transient_status};

/// Files per negotiate or register request.
const BATCH: usize = 1000;

/// Files up to this size are moved `SMALL_FILE_FACTOR` times as many at once as larger ones:
/// their transfer time is round trips, not bandwidth (an S3 store such as Garage answers a
/// small GET after tens of milliseconds whatever its size), so only many at once are fast.
const SMALL_FILE: u64 = 1 << 20;
const SMALL_FILE_FACTOR: usize = 32;

/// Small downloads are held in memory before they are written: at most this many bytes of
/// them at once, counted in `SMALL_UNIT`s.
const SMALL_BUDGET: u64 = 64 << 20;
const SMALL_UNIT: u64 = 64 << 10;

/// Transfers run `concurrency * SMALL_FILE_FACTOR` wide; a file of more than `SMALL_FILE`
/// bytes also holds one of `concurrency` permits while it runs, a smaller one its size out of
/// `SMALL_BUDGET`.
struct Slots {
    large: tokio::sync::Semaphore,
    small: tokio::sync::Semaphore,
    /// Files written at once: many threads creating files in one folder only contend for its
    /// lock in the kernel, so writes go about one per core however many transfers are open.
    disk: tokio::sync::Semaphore,
}

impl Slots {
    fn new(concurrency: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            large: tokio::sync::Semaphore::new(concurrency),
            small: tokio::sync::Semaphore::new((SMALL_BUDGET / SMALL_UNIT) as usize),
            disk: tokio::sync::Semaphore::new(cores.clamp(2, 8)),
        }
    }

    /// A turn at writing files.
    async fn write(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.disk
            .acquire()
            .await
            .map_err(|e| ClientError::Invalid(format!("transfer slots closed: {e}")))
    }

    async fn take(&self, size: u64) -> Result<tokio::sync::SemaphorePermit<'_>> {
        let taken = if size <= SMALL_FILE {
            let units = size.div_ceil(SMALL_UNIT).max(1) as u32;
            self.small.acquire_many(units).await
        } else {
            self.large.acquire().await
        };
        taken.map_err(|e| ClientError::Invalid(format!("transfer slots closed: {e}")))
    }
}

/// What logging did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Logged {
    pub version: VersionInfo,
    /// Whether a new version was made (false: the files equal the latest version's).
    pub created: bool,
    /// Files whose bytes were sent, and how many bytes.
    pub uploaded_files: u64,
    pub uploaded_bytes: u64,
    /// Files the registry already held.
    pub reused_files: u64,
    /// Files whose bytes were read to hash them (the rest came from the hash cache), and how
    /// many bytes.
    pub hashed_files: u64,
    pub hashed_bytes: u64,
}

/// What a download did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DownloadStats {
    pub files: u64,
    /// Files fetched from the registry, and their bytes.
    pub fetched_files: u64,
    pub fetched_bytes: u64,
    /// Files taken from the local cache.
    pub cached_files: u64,
}

fn io(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Adds the headers a presigned request is bound to (the length is set from the body).
fn signed_headers(
    mut req: reqwest::RequestBuilder,
    headers: Option<&BTreeMap<String, String>>,
) -> reqwest::RequestBuilder {
    for (k, v) in headers.into_iter().flatten() {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, v);
        }
    }
    req
}

/// Whether a store's refusal may be an expired presigned URL (S3 answers 403, the server's own
/// signed URLs 412), worth one retry with a fresh one.
fn renewable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::PRECONDITION_FAILED
}
