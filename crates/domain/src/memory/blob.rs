use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::StreamExt;

use super::lock;
use crate::entities::Timestamp;
use crate::keys::ObjectKey;
use crate::ports::*;
use crate::signed_url::{SignedOp, UrlSigner};
use crate::types::{Md5, Sha256};

/// The blob port in memory. Its presigned URLs are server-signed URLs (see `signed_url`) that
/// `handle_signed` serves, as the HTTP layer does for the filesystem store.
#[derive(Debug)]
pub struct MemoryBlobStore {
    state: Mutex<BlobState>,
    signer: UrlSigner,
}

#[derive(Debug, Default)]
struct BlobState {
    objects: BTreeMap<ObjectKey, (Bytes, ObjectMeta)>,
    uploads: HashMap<String, Upload>,
    /// Bytes `get` has answered with, in total.
    served: u64,
}

#[derive(Debug)]
struct Upload {
    key: ObjectKey,
    parts: BTreeMap<u32, (Bytes, String)>,
    initiated: Timestamp,
}

/// What serving a signed URL produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedResponse {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Bytes,
}

impl Default for MemoryBlobStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBlobStore {
    /// A store whose signed URLs point at `memory://blobs`.
    pub fn new() -> Self {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        Self::with_signer(UrlSigner::new(secret.to_vec(), "memory://blobs"))
    }

    pub fn with_signer(signer: UrlSigner) -> Self {
        Self {
            state: Mutex::new(BlobState::default()),
            signer,
        }
    }

    /// How many objects are stored (for tests).
    pub fn object_count(&self) -> usize {
        lock(&self.state).objects.len()
    }

    /// How many bytes `get` has served so far (for tests of what a read costs).
    pub fn bytes_served(&self) -> u64 {
        lock(&self.state).served
    }

    /// Replaces an object's bytes behind the store's back (for corruption tests).
    pub fn corrupt(&self, key: &ObjectKey, bytes: Bytes) {
        let mut s = lock(&self.state);
        if let Some((b, meta)) = s.objects.get_mut(key) {
            meta.size = bytes.len() as u64;
            *b = bytes;
        }
    }

    /// Serves a request to one of this store's signed URLs, as an S3 endpoint would: `PUT` stores
    /// the body if it matches what the URL was signed for, `GET` returns the object.
    pub fn handle_signed(
        &self,
        method: &str,
        url: &str,
        body: Bytes,
    ) -> Result<SignedResponse, BlobError> {
        let (op, _) = self.signer.verify(url, Utc::now())?;
        match (method, op) {
            (
                "PUT",
                SignedOp::Put {
                    key,
                    sha256,
                    md5,
                    size,
                },
            ) => {
                let expected = ExpectedContent {
                    sha256: Some(sha256),
                    md5: Some(md5),
                    size: Some(size),
                };
                let meta = self.store(&key, body, &expected)?;
                Ok(SignedResponse {
                    status: 200,
                    etag: meta.etag,
                    body: Bytes::new(),
                })
            }
            (
                "PUT",
                SignedOp::PutPart {
                    key,
                    upload_id,
                    part_number,
                },
            ) => {
                let etag = format!("\"{}\"", Md5::of(&body));
                let mut s = lock(&self.state);
                let upload = s
                    .uploads
                    .get_mut(&upload_id)
                    .filter(|u| u.key == key)
                    .ok_or_else(|| {
                        BlobError::PreconditionFailed(format!("no upload {upload_id}"))
                    })?;
                upload.parts.insert(part_number, (body, etag.clone()));
                Ok(SignedResponse {
                    status: 200,
                    etag: Some(etag),
                    body: Bytes::new(),
                })
            }
            ("GET", SignedOp::Get { key, .. }) => {
                let s = lock(&self.state);
                let (bytes, meta) = s
                    .objects
                    .get(&key)
                    .ok_or_else(|| BlobError::NotFound(key.to_string()))?;
                Ok(SignedResponse {
                    status: 200,
                    etag: meta.etag.clone(),
                    body: bytes.clone(),
                })
            }
            (m, _) => Err(BlobError::InvalidInput(format!(
                "{m} does not match the signed operation"
            ))),
        }
    }

    fn store(
        &self,
        key: &ObjectKey,
        bytes: Bytes,
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        check_expected(&bytes, expected)?;
        let meta = ObjectMeta {
            key: key.clone(),
            size: bytes.len() as u64,
            etag: Some(format!("\"{}\"", Md5::of(&bytes))),
            sha256: Some(Sha256::of(&bytes)),
            last_modified: Some(Utc::now()),
        };
        lock(&self.state)
            .objects
            .insert(key.clone(), (bytes, meta.clone()));
        Ok(meta)
    }
}

/// Checks bytes against expected size and digests.
fn check_expected(bytes: &[u8], expected: &ExpectedContent) -> Result<(), BlobError> {
    let mut hasher = ContentHasher::default();
    hasher.update(bytes);
    hasher.verify(expected).map(|_| ())
}

fn unknown_upload(id: &str) -> BlobError {
    BlobError::PreconditionFailed(format!("no multipart upload {id} for this key"))
}

#[async_trait]
impl SignedUrlServer for MemoryBlobStore {
    async fn serve_signed(
        &self,
        method: &str,
        url: &str,
        body: ByteStream,
        range: Option<ByteRange>,
    ) -> Result<SignedServe, BlobError> {
        if method == "GET" {
            let (op, _) = self.signer.verify(url, Utc::now())?;
            return match op {
                SignedOp::Get { key, filename } => Ok(SignedServe::Read {
                    result: self.get(&key, range).await?,
                    filename,
                }),
                _ => Err(BlobError::InvalidInput(
                    "GET does not match the signed operation".into(),
                )),
            };
        }
        let body = collect_stream(body)
            .await
            .map_err(|e| BlobError::InvalidInput(format!("the upload broke off: {e}")))?;
        let r = self.handle_signed(method, url, body)?;
        Ok(SignedServe::Stored {
            etag: r.etag.unwrap_or_default(),
        })
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(
        &self,
        key: &ObjectKey,
        mut body: ByteStream,
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk.map_err(BlobError::unexpected)?);
        }
        self.store(key, buf.freeze(), expected)
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<GetResult, BlobError> {
        let mut state = lock(&self.state);
        let (bytes, meta) = state
            .objects
            .get(key)
            .cloned()
            .ok_or_else(|| BlobError::NotFound(key.to_string()))?;
        let (start, end) = match range {
            Some(r) => r.resolve(meta.size)?,
            None => (0, meta.size),
        };
        state.served += end - start;
        drop(state);
        let slice = bytes.slice(start as usize..end as usize);
        Ok(GetResult {
            meta,
            range: (start, end),
            body: stream_from_bytes(slice),
        })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta, BlobError> {
        lock(&self.state)
            .objects
            .get(key)
            .map(|(_, m)| m.clone())
            .ok_or_else(|| BlobError::NotFound(key.to_string()))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), BlobError> {
        lock(&self.state).objects.remove(key);
        Ok(())
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<u64, BlobError> {
        let mut s = lock(&self.state);
        Ok(keys
            .iter()
            .filter(|k| s.objects.remove(k).is_some())
            .count() as u64)
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&ObjectKey>,
        limit: usize,
    ) -> Result<ListPage, BlobError> {
        if !(1..=1000).contains(&limit) {
            return Err(BlobError::InvalidInput(format!(
                "limit must be 1 to 1000, got {limit}"
            )));
        }
        let s = lock(&self.state);
        let mut objects: Vec<ObjectMeta> = s
            .objects
            .iter()
            .filter(|(k, _)| k.as_str().starts_with(prefix) && after.is_none_or(|a| *k > a))
            .map(|(_, (_, m))| m.clone())
            .take(limit + 1)
            .collect();
        let more = objects.len() > limit;
        objects.truncate(limit);
        let next_after = if more {
            objects.last().map(|m| m.key.clone())
        } else {
            None
        };
        Ok(ListPage {
            objects,
            next_after,
        })
    }

    async fn presign_put(
        &self,
        key: &ObjectKey,
        sha256: &Sha256,
        md5: &Md5,
        size: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let op = SignedOp::Put {
            key: key.clone(),
            sha256: sha256.clone(),
            md5: md5.clone(),
            size,
        };
        Ok(self.signer.presigned_request(&op, expires_in))
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        filename: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let op = SignedOp::Get {
            key: key.clone(),
            filename: filename.map(str::to_owned),
        };
        Ok(self.signer.presigned_request(&op, expires_in))
    }

    async fn create_multipart(
        &self,
        key: &ObjectKey,
        _part_size: u64,
    ) -> Result<String, BlobError> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        lock(&self.state).uploads.insert(
            id.clone(),
            Upload {
                key: key.clone(),
                parts: BTreeMap::new(),
                initiated: crate::entities::now(),
            },
        );
        Ok(id)
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        if !(1..=MAX_PART_NUMBER).contains(&part_number) {
            return Err(BlobError::InvalidInput(format!(
                "part number must be 1 to {MAX_PART_NUMBER}"
            )));
        }
        if lock(&self.state)
            .uploads
            .get(upload_id)
            .is_none_or(|u| u.key != *key)
        {
            return Err(unknown_upload(upload_id));
        }
        let op = SignedOp::PutPart {
            key: key.clone(),
            upload_id: upload_id.to_owned(),
            part_number,
        };
        Ok(self.signer.presigned_request(&op, expires_in))
    }

    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, BlobError> {
        let s = lock(&self.state);
        let upload = s
            .uploads
            .get(upload_id)
            .filter(|u| u.key == *key)
            .ok_or_else(|| unknown_upload(upload_id))?;
        Ok(upload
            .parts
            .iter()
            .map(|(n, (b, etag))| PartInfo {
                part_number: *n,
                size: b.len() as u64,
                etag: etag.clone(),
            })
            .collect())
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[CompletedPart],
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        // The part list is checked before the upload is taken: a refused list leaves it open.
        let buf = {
            let mut s = lock(&self.state);
            let upload = match s.uploads.get(upload_id) {
                Some(u) if u.key == *key => u,
                _ => return Err(unknown_upload(upload_id)),
            };
            check_part_list(parts)?;
            let mut buf = BytesMut::new();
            for p in parts {
                match upload.parts.get(&p.part_number) {
                    Some((bytes, etag)) if etag.trim_matches('"') == p.etag.trim_matches('"') => {
                        buf.extend_from_slice(bytes)
                    }
                    Some(_) => {
                        return Err(BlobError::PreconditionFailed(format!(
                            "part {} has another ETag",
                            p.part_number
                        )))
                    }
                    None => {
                        return Err(BlobError::PreconditionFailed(format!(
                            "part {} was not uploaded",
                            p.part_number
                        )))
                    }
                }
            }
            s.uploads.remove(upload_id);
            buf
        };
        self.store(key, buf.freeze(), expected)
    }

    async fn stale_multipart_uploads(
        &self,
        prefix: &str,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, BlobError> {
        Ok(lock(&self.state)
            .uploads
            .iter()
            .filter(|(_, u)| u.initiated < before && u.key.as_str().starts_with(prefix))
            .take(limit as usize)
            .map(|(id, u)| PendingUpload {
                key: u.key.clone(),
                upload_id: id.clone(),
                initiated: u.initiated,
            })
            .collect())
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), BlobError> {
        let mut s = lock(&self.state);
        if s.uploads.get(upload_id).is_some_and(|u| u.key == *key) {
            s.uploads.remove(upload_id);
        }
        Ok(())
    }

    async fn sweep_leftovers(
        &self,
        _before: Timestamp,
        _dry_run: bool,
    ) -> Result<Leftovers, BlobError> {
        // Every write lands whole or not at all: nothing is ever left over.
        Ok(Leftovers::default())
    }

    async fn ping(&self) -> Result<(), BlobError> {
        Ok(())
    }
}
