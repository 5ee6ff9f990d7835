//! The blob port: an object store holding bytes under `ObjectKey`s.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::entities::Timestamp;
use crate::keys::ObjectKey;
use crate::types::{Md5, Sha256};

/// A stream of bytes, as request and response bodies are.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Wraps bytes already in memory as a one-chunk stream.
pub fn stream_from_bytes(bytes: Bytes) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(bytes) }))
}

/// Reads a whole stream into memory. For tests and small objects only.
pub async fn collect_stream(mut stream: ByteStream) -> Result<Bytes, std::io::Error> {
    use futures::StreamExt;
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out.freeze())
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("object already exists: {0}")]
    AlreadyExists(String),
    /// A condition of the request does not hold: an expired or forged signed URL, a range past the
    /// end, an unknown multipart upload, a part list that does not match.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A byte range that starts at or past the end of the object.
    #[error("range not satisfiable: {0}")]
    RangeNotSatisfiable(String),
    /// The bytes do not match the digest or size they were bound to.
    #[error("digest mismatch: {0}")]
    InvalidDigest(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The store is out of room (a full disk, a quota, a file larger than it can hold).
    #[error("the blob store is out of space: {0}")]
    InsufficientStorage(String),
    /// The store failed or could not be reached; the request may succeed later.
    #[error("the blob store is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected blob store error: {0}")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl BlobError {
    pub fn unexpected(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        BlobError::Unexpected(e.into())
    }

    /// An I/O failure of the store itself, by cause: out of space (`ENOSPC`, `EDQUOT`, `EFBIG`)
    /// or failing (anything else). Never the client's fault: sizes and offsets are bounded
    /// before they reach a store.
    pub fn from_io(e: std::io::Error) -> Self {
        const ENOSPC: i32 = 28;
        const EFBIG: i32 = 27;
        const EDQUOT: i32 = 122;
        match e.raw_os_error() {
            Some(ENOSPC | EFBIG | EDQUOT) => BlobError::InsufficientStorage(e.to_string()),
            _ if e.kind() == std::io::ErrorKind::StorageFull => {
                BlobError::InsufficientStorage(e.to_string())
            }
            _ => BlobError::Unavailable(e.to_string()),
        }
    }

    /// The HTTP status a store endpoint answers with for this error, as S3 does (a signed-URL
    /// route of the server uses the same).
    pub fn http_status(&self) -> u16 {
        match self {
            BlobError::NotFound(_) => 404,
            BlobError::AlreadyExists(_) => 409,
            BlobError::PreconditionFailed(_) => 403,
            BlobError::RangeNotSatisfiable(_) => 416,
            BlobError::InvalidDigest(_) | BlobError::InvalidInput(_) => 400,
            BlobError::InsufficientStorage(_) => 507,
            BlobError::Unavailable(_) => 503,
            BlobError::Unexpected(_) => 500,
        }
    }
}

/// What a stored object is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: ObjectKey,
    pub size: u64,
    /// The store's entity tag, if it has one.
    pub etag: Option<String>,
    /// The SHA-256 the store verified or computed, if it keeps one.
    pub sha256: Option<Sha256>,
    pub last_modified: Option<Timestamp>,
}

/// Digests and size that bytes written must match. `None` fields are not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedContent {
    pub sha256: Option<Sha256>,
    pub md5: Option<Md5>,
    pub size: Option<u64>,
}

impl ExpectedContent {
    /// Checks digests and size computed over some bytes against every `Some` field.
    pub fn verify(&self, sha256: &Sha256, md5: &Md5, size: u64) -> Result<(), BlobError> {
        if let Some(want) = self.size.filter(|s| *s != size) {
            return Err(BlobError::InvalidDigest(format!(
                "expected {want} bytes, got {size}"
            )));
        }
        if let Some(want) = self.md5.as_ref().filter(|m| *m != md5) {
            return Err(BlobError::InvalidDigest(format!(
                "expected MD5 {want}, got {md5}"
            )));
        }
        if let Some(want) = self.sha256.as_ref().filter(|s| *s != sha256) {
            return Err(BlobError::InvalidDigest(format!(
                "expected SHA-256 {want}, got {sha256}"
            )));
        }
        Ok(())
    }
}

/// SHA-256, MD5 and size of bytes as they stream past, for stores that verify while writing.
#[derive(Clone, Default)]
pub struct ContentHasher {
    sha256: sha2::Sha256,
    md5: md5::Md5,
    size: u64,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl ContentHasher {
    pub fn update(&mut self, chunk: &[u8]) {
        use sha2::Digest;
        self.sha256.update(chunk);
        md5::Digest::update(&mut self.md5, chunk);
        self.size += chunk.len() as u64;
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> (Sha256, Md5, u64) {
        use sha2::Digest;
        (
            Sha256::from_bytes(self.sha256.finalize().into()),
            Md5::from_bytes(md5::Digest::finalize(self.md5).into()),
            self.size,
        )
    }

    /// Adds everything `reader` yields, for blocking code (`hash_reader`). When `len_hint` is
    /// above `PARALLEL_HASH_THRESHOLD`, MD5 runs on a second thread.
    pub fn read_from(
        &mut self,
        mut reader: impl std::io::Read,
        len_hint: u64,
    ) -> std::io::Result<()> {
        use sha2::Digest;
        if len_hint <= PARALLEL_HASH_THRESHOLD {
            let mut buf = vec![0u8; (len_hint as usize).clamp(1, 1 << 20)];
            loop {
                let n = read_some(&mut reader, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                self.update(&buf[..n]);
            }
        }
        let (sha256, md5, size) = (&mut self.sha256, &mut self.md5, &mut self.size);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
            let md5_thread = scope.spawn(move || {
                for chunk in rx {
                    md5::Digest::update(md5, &chunk);
                }
            });
            let read = (|| loop {
                let mut buf = vec![0u8; 4 << 20];
                let n = read_some(&mut reader, &mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                sha256.update(&buf);
                *size += n as u64;
                if tx.send(buf).is_err() {
                    return Err(std::io::Error::other("the MD5 thread stopped"));
                }
            })();
            drop(tx);
            md5_thread
                .join()
                .map_err(|_| std::io::Error::other("the MD5 thread panicked"))?;
            read
        })
    }

    /// Finishes and checks the result against `expected`; returns the digests.
    pub fn verify(self, expected: &ExpectedContent) -> Result<(Sha256, Md5, u64), BlobError> {
        let (sha256, md5, size) = self.finish();
        expected.verify(&sha256, &md5, size)?;
        Ok((sha256, md5, size))
    }
}

/// Readers longer than this hash MD5 on a second thread.
pub const PARALLEL_HASH_THRESHOLD: u64 = 16 << 20;

/// SHA-256, MD5 and size of everything `reader` yields, in one read, for blocking code. When
/// `len_hint` is above `PARALLEL_HASH_THRESHOLD`, MD5 (the slower of the two) runs on a second
/// thread, so a large file costs about one MD5 pass instead of both.
pub fn hash_reader(
    reader: impl std::io::Read,
    len_hint: u64,
) -> std::io::Result<(Sha256, Md5, u64)> {
    let mut hasher = ContentHasher::default();
    hasher.read_from(reader, len_hint)?;
    Ok(hasher.finish())
}

/// Reads until `buf` is full or the reader ends; retries interrupted reads.
fn read_some(reader: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A byte range, as in an HTTP `Range: bytes=start-end` header (end inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `start-` or `start-end`.
    From { start: u64, end: Option<u64> },
    /// The last `n` bytes (`-n`).
    Suffix(u64),
}

impl ByteRange {
    /// Resolves against an object's size into `[start, end)`. A range that starts at or past the
    /// end, or an empty suffix, is unsatisfiable.
    pub fn resolve(&self, size: u64) -> Result<(u64, u64), BlobError> {
        let unsatisfiable = || {
            BlobError::RangeNotSatisfiable(format!(
                "range {self:?} not satisfiable for size {size}"
            ))
        };
        match *self {
            ByteRange::From { start, end } => {
                if start >= size || end.is_some_and(|e| e < start) {
                    return Err(unsatisfiable());
                }
                let end = end.map_or(size, |e| e.saturating_add(1).min(size));
                Ok((start, end))
            }
            ByteRange::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(unsatisfiable());
                }
                Ok((size.saturating_sub(n), size))
            }
        }
    }
}

/// A read in progress.
pub struct GetResult {
    pub meta: ObjectMeta,
    /// The bytes served, `[start, end)`.
    pub range: (u64, u64),
    pub body: ByteStream,
}

impl std::fmt::Debug for GetResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    /// Pass as `after` to continue; `None` when the listing is complete.
    pub next_after: Option<ObjectKey>,
}

/// An HTTP request a client makes directly against the store (or the server's signed-URL route).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers the client must send exactly as given.
    pub headers: BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
}

/// A multipart upload still open in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: ObjectKey,
    pub upload_id: String,
    pub initiated: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
}

/// What serving a signed URL produced.
#[derive(Debug)]
pub enum SignedServe {
    /// A PUT stored the bytes (an object or a part) with this ETag.
    Stored { etag: String },
    /// A GET: the bytes to send, and the download file name the URL was signed with.
    Read {
        result: GetResult,
        filename: Option<String>,
    },
}

/// A store without presigning of its own (filesystem, memory) hands out server URLs signed by
/// `signed_url::UrlSigner`; the HTTP layer answers them through this port.
#[async_trait]
pub trait SignedUrlServer: Send + Sync + 'static {
    /// Verifies `url` (signature, expiry, that `method` is the signed operation) and performs it.
    /// A PUT MUST store nothing unless the bytes match what the URL was signed for
    /// (`InvalidDigest`); a forged or expired URL is `PreconditionFailed`.
    async fn serve_signed(
        &self,
        method: &str,
        url: &str,
        body: ByteStream,
        range: Option<ByteRange>,
    ) -> Result<SignedServe, BlobError>;
}

/// What `sweep_leftovers` found (and, unless a dry run, removed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftovers {
    pub items: u64,
    pub bytes: u64,
}

/// A part list to complete with must be non-empty and strictly ascending (as S3 requires);
/// anything else is `PreconditionFailed`, and completing MUST then leave the upload as it was.
pub fn check_part_list(parts: &[CompletedPart]) -> Result<(), BlobError> {
    if parts.is_empty()
        || parts
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
    {
        return Err(BlobError::PreconditionFailed(
            "parts must be given in ascending order".into(),
        ));
    }
    Ok(())
}

/// Part numbers run from 1 to this (S3's limit).
pub const MAX_PART_NUMBER: u32 = 10_000;

/// The object store. Keys are opaque to it; `ObjectKey` owns the layout.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes `body` under `key`, replacing what is there.
    /// MUST check every `Some` field of `expected` against the bytes as they stream; on a
    /// mismatch MUST return `InvalidDigest` and leave the key as it was (no partial or wrong
    /// bytes become visible under `key`). MUST NOT hold the whole body in memory (except the
    /// in-memory store). Concurrent puts of the same bytes to one key MUST all succeed.
    async fn put(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError>;

    /// Reads `key`, whole or a range. MUST return `NotFound` for a missing key and
    /// `RangeNotSatisfiable` for a range that starts at or past the end.
    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<GetResult, BlobError>;

    /// MUST return `NotFound` for a missing key.
    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta, BlobError>;

    /// Removes `key`. Idempotent: a missing key is not an error.
    async fn delete(&self, key: &ObjectKey) -> Result<(), BlobError>;

    /// Removes many keys; missing keys are not errors. Returns how many existed.
    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<u64, BlobError>;

    /// Lists keys starting with `prefix`, in ascending byte order, strictly after `after`, at most
    /// `limit` (1..=1000) per page. MUST set `next_after` exactly when more keys follow.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<ListPage, BlobError>;

    /// A PUT the client can make without credentials, valid until `expires_in` from now. The store
    /// MUST refuse bytes that do not match `sha256`, `md5` or `size`, storing nothing under `key`.
    async fn presign_put(
        &self,
        key: &ObjectKey,
        sha256: &Sha256,
        md5: &Md5,
        size: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError>;

    /// A GET the client can make without credentials; `filename` becomes the download name.
    async fn presign_get(
        &self,
        key: &ObjectKey,
        filename: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError>;

    /// Starts a multipart upload to `key`; returns its upload id. `part_size` is the size of
    /// every part but the last: a store that assembles the parts itself may lay them out by it
    /// (parts of other sizes MUST still assemble correctly, or be refused with `InvalidInput`).
    async fn create_multipart(&self, key: &ObjectKey, part_size: u64) -> Result<String, BlobError>;

    /// A PUT for one part (1..=10000). MUST return `PreconditionFailed` for an unknown upload.
    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError>;

    /// The parts uploaded so far, by ascending part number, so a client can resume.
    /// MUST return `PreconditionFailed` for an unknown upload.
    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, BlobError>;

    /// Assembles the parts, in the order given (ascending, each with the ETag the store returned),
    /// into the object. MUST check `expected` against the assembled bytes: on mismatch return
    /// `InvalidDigest` and leave nothing under `key` (the upload is gone then, as after a
    /// success). An empty or unordered list, a missing part or a wrong ETag is
    /// `PreconditionFailed`, and MUST leave the upload and its stored parts as they were, so the
    /// client can complete again with the right list without resending anything.
    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[CompletedPart],
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError>;

    /// Drops an upload and its parts. MUST leave nothing of it behind; idempotent.
    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), BlobError>;

    /// Multipart uploads neither completed nor aborted whose key starts with `prefix` and that
    /// were started before `before`, at most `limit`, in any order: what garbage collection
    /// aborts. Uploads outside `prefix` (another application's, in a shared bucket) MUST NOT be
    /// listed.
    async fn stale_multipart_uploads(
        &self,
        prefix: &str,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, BlobError>;

    /// Removes what interrupted writes left outside the keys and the open uploads (a temporary
    /// file of a put that never finished, a multipart folder that never became an upload) and
    /// was last touched before `before`; with `dry_run`, only counts. MUST NOT touch an object,
    /// an open multipart upload, or anything touched at or after `before`. A store that leaves
    /// nothing of the kind returns zeros.
    async fn sweep_leftovers(
        &self,
        before: Timestamp,
        dry_run: bool,
    ) -> Result<Leftovers, BlobError>;

    /// Whether the store answers at all (for readiness checks).
    async fn ping(&self) -> Result<(), BlobError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_http() {
        let from = |start, end| ByteRange::From { start, end };
        assert_eq!(from(0, None).resolve(10).expect("ok"), (0, 10));
        assert_eq!(from(2, Some(4)).resolve(10).expect("ok"), (2, 5));
        assert_eq!(from(2, Some(100)).resolve(10).expect("ok"), (2, 10));
        assert_eq!(ByteRange::Suffix(3).resolve(10).expect("ok"), (7, 10));
        assert_eq!(ByteRange::Suffix(30).resolve(10).expect("ok"), (0, 10));
        assert!(from(10, None).resolve(10).is_err());
        assert!(from(5, Some(4)).resolve(10).is_err());
        assert!(ByteRange::Suffix(0).resolve(10).is_err());
        assert!(from(0, None).resolve(0).is_err());
    }
}
