//! The blob port on a local directory, the embedded default.
//!
//! Layout under the root: `objects/{key}` holds the bytes (blob keys are already sharded as
//! `.../sha256/aa/bb/{sha}`), `tmp/` holds writes in progress, `multipart/{upload}/` the parts of
//! multipart uploads. Every write goes to a temporary file, is hashed as it streams, fsynced, and
//! only then renamed into place: a crash or a digest mismatch never leaves a partial or wrong file
//! under a real key. "Presigned" URLs are server URLs signed with an HMAC and an expiry
//! (`signed_url::UrlSigner`), which the HTTP layer verifies and serves through `serve_signed`,
//! so clients use the same flow as with S3.

mod prefix;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::signed_url::{SignedOp, UrlSigner};
use wanllmdb_domain::types::{Md5, Sha256};

/// Bytes per read when streaming a file out.
const READ_CHUNK: usize = 256 * 1024;

/// Bodies up to this size are held in memory, then written, synced and moved into place in
/// one trip to the blocking pool: every `tokio::fs` call is a trip of its own, and for small
/// files those hand-offs cost more than the writing (10,000 files of 40 KB: see `make bench`).
const IN_MEMORY_BODY: u64 = 256 << 10;

/// Bytes received and hashed, not yet under their key.
enum Spooled {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// The blob store on a directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    signer: UrlSigner,
    /// Multipart uploads hashed as their parts arrive.
    prefixes: Arc<prefix::PrefixHashes>,
}

fn io_err(e: std::io::Error) -> BlobError {
    BlobError::from_io(e)
}

fn unknown_upload(id: &str) -> BlobError {
    BlobError::PreconditionFailed(format!("no multipart upload {id} for this key"))
}

fn modified(meta: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    meta.modified().ok().map(DateTime::<Utc>::from)
}

/// Upload ids are ours (UUID hex): anything else names no upload, and never a path.
fn valid_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FsBlobStore {
    /// Opens (creating) a store rooted at `root`; `signer` makes and checks its URLs.
    pub async fn open(root: impl Into<PathBuf>, signer: UrlSigner) -> Result<Self, BlobError> {
        let root = root.into();
        for dir in ["objects", "tmp", "multipart"] {
            tokio::fs::create_dir_all(root.join(dir))
                .await
                .map_err(|e| {
                    BlobError::unexpected(format!(
                        "cannot create {}: {e}",
                        root.join(dir).display()
                    ))
                })?;
        }
        Ok(Self {
            root,
            signer,
            prefixes: Arc::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        // ObjectKey has no empty, `.` or `..` segment and no leading `/`: it stays under root.
        self.root.join("objects").join(key.as_str())
    }

    fn tmp_path(&self) -> PathBuf {
        self.root
            .join("tmp")
            .join(uuid::Uuid::now_v7().simple().to_string())
    }

    fn upload_dir(&self, key: &ObjectKey, upload_id: &str) -> Result<PathBuf, BlobError> {
        if !valid_upload_id(upload_id) {
            return Err(unknown_upload(upload_id));
        }
        let dir = self.root.join("multipart").join(upload_id);
        match std::fs::read_to_string(dir.join("key")) {
            Ok(k) if k == key.as_str() => Ok(dir),
            _ => Err(unknown_upload(upload_id)),
        }
    }

    /// Streams `body` in, hashing it: a body of up to `IN_MEMORY_BODY` bytes is held in memory,
    /// a larger one goes to a temporary file (synced). The caller publishes it; a temporary
    /// file is removed on any failure here.
    async fn spool(
        &self,
        mut body: ByteStream,
        limit: Option<u64>,
    ) -> Result<(Spooled, Sha256, Md5, u64), BlobError> {
        let tmp = self.tmp_path();
        let mut held = Vec::with_capacity(limit.map_or(0, |l| l.min(IN_MEMORY_BODY)) as usize);
        let mut file: Option<tokio::fs::File> = None;
        let mut digests = ContentHasher::default();
        let result = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk
                    .map_err(|e| BlobError::InvalidInput(format!("the upload broke off: {e}")))?;
                if limit.is_some_and(|l| digests.size() + chunk.len() as u64 > l) {
                    return Err(BlobError::InvalidDigest(format!(
                        "more than the expected {} bytes",
                        limit.unwrap_or_default()
                    )));
                }
                digests.update(&chunk);
                match &mut file {
                    Some(f) => f.write_all(&chunk).await.map_err(io_err)?,
                    None if (held.len() + chunk.len()) as u64 <= IN_MEMORY_BODY => {
                        held.extend_from_slice(&chunk);
                    }
                    None => {
                        let mut f = tokio::fs::File::create(&tmp).await.map_err(io_err)?;
                        f.write_all(&std::mem::take(&mut held))
                            .await
                            .map_err(io_err)?;
                        f.write_all(&chunk).await.map_err(io_err)?;
                        file = Some(f);
                    }
                }
            }
            if let Some(f) = &mut file {
                f.sync_all().await.map_err(io_err)?;
            }
            Ok(digests.finish())
        }
        .await;
        match (result, file.is_some()) {
            (Ok((sha, md5, size)), true) => Ok((Spooled::File(tmp), sha, md5, size)),
            (Ok((sha, md5, size)), false) => Ok((Spooled::Memory(held), sha, md5, size)),
            (Err(e), spooled) => {
                if spooled {
                    let _ = tokio::fs::remove_file(&tmp).await;
                }
                Err(e)
            }
        }
    }

    /// Moves spooled bytes under `key`, durably, in one trip to the blocking pool: bytes held
    /// in memory are written to a temporary file and synced first; the folder is synced after
    /// the rename. Returns the file's modification time. A temporary file is removed on
    /// failure.
    async fn publish(
        &self,
        spooled: Spooled,
        key: &ObjectKey,
    ) -> Result<Option<DateTime<Utc>>, BlobError> {
        let dest = self.object_path(key);
        let tmp = match &spooled {
            Spooled::File(path) => path.clone(),
            Spooled::Memory(_) => self.tmp_path(),
        };
        tokio::task::spawn_blocking(move || {
            let placed = (|| {
                if let Spooled::Memory(bytes) = &spooled {
                    let mut f = std::fs::File::create(&tmp)?;
                    std::io::Write::write_all(&mut f, bytes)?;
                    f.sync_all()?;
                }
                let parent = dest.parent().ok_or_else(|| {
                    std::io::Error::new(ErrorKind::InvalidInput, "key has no parent")
                })?;
                std::fs::create_dir_all(parent)?;
                std::fs::rename(&tmp, &dest)?;
                std::fs::File::open(parent)?.sync_all()?;
                Ok(std::fs::metadata(&dest).ok().as_ref().and_then(modified))
            })();
            if placed.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            placed.map_err(io_err)
        })
        .await
        .map_err(BlobError::unexpected)?
    }

    async fn meta_of(&self, key: &ObjectKey) -> Result<ObjectMeta, BlobError> {
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(m) if m.is_file() => Ok(ObjectMeta {
                key: key.clone(),
                size: m.len(),
                etag: None,
                sha256: None,
                last_modified: modified(&m),
            }),
            Ok(_) => Err(BlobError::NotFound(key.to_string())),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(BlobError::NotFound(key.to_string())),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Serves a request to one of this store's signed URLs: a `PUT` stores the body if it
    /// matches what the URL was signed for (nothing is stored otherwise), a `GET` reads the object
    /// (or `range` of it).
    async fn serve(
        &self,
        method: &str,
        url: &str,
        body: ByteStream,
        range: Option<ByteRange>,
    ) -> Result<SignedServe, BlobError> {
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
                    md5: Some(md5.clone()),
                    size: Some(size),
                };
                self.put(&key, body, &expected).await?;
                Ok(SignedServe::Stored {
                    etag: format!("\"{md5}\""),
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
                let etag = self.put_part(&key, &upload_id, part_number, body).await?;
                Ok(SignedServe::Stored { etag })
            }
            ("GET", SignedOp::Get { key, filename }) => Ok(SignedServe::Read {
                result: self.get(&key, range).await?,
                filename,
            }),
            (m, _) => Err(BlobError::InvalidInput(format!(
                "{m} does not match the signed operation"
            ))),
        }
    }

    async fn put_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        part: u32,
        body: ByteStream,
    ) -> Result<String, BlobError> {
        if !(1..=MAX_PART_NUMBER).contains(&part) {
            return Err(BlobError::InvalidInput(format!(
                "part number must be 1 to {MAX_PART_NUMBER}"
            )));
        }
        let dir = self.upload_dir(key, upload_id)?;
        let part_size = upload_part_size(&dir).await?;
        let offset = u64::from(part - 1) * part_size;
        let incoming = self.prefixes.incoming(upload_id, part);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(DATA_FILE))
            .await
            .map_err(io_err)?;
        file.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io_err)?;
        let mut size = 0u64;
        let mut body = body;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| BlobError::InvalidInput(format!("the upload broke off: {e}")))?;
            size += chunk.len() as u64;
            // A longer part would overwrite the next one.
            if size > part_size {
                return Err(BlobError::InvalidInput(format!(
                    "part {part} is longer than this upload's part size, {part_size} bytes"
                )));
            }
            file.write_all(&chunk).await.map_err(io_err)?;
        }
        file.sync_data().await.map_err(io_err)?;
        // The ETag only names this upload of the part (completing checks the whole file's
        // digests), so it is a fresh token rather than a hash of the bytes. The part's marker
        // ("ETAG SIZE") is written once the bytes are durable, so a listed part is a stored
        // part; renamed into place, it replaces an earlier upload of the part in one step.
        let token = uuid::Uuid::now_v7().simple().to_string();
        let marker = dir.join(format!("{PART_PREFIX}{part:05}"));
        let tmp = dir.join(format!("{token}.tmp"));
        tokio::fs::write(&tmp, format!("{token} {size}"))
            .await
            .map_err(io_err)?;
        tokio::fs::rename(&tmp, &marker).await.map_err(io_err)?;
        drop(incoming);
        self.prefixes.stored(upload_id);
        Ok(format!("\"{token}\""))
    }

    /// The digests of an upload's first `total` bytes: continuing those hashed while the parts
    /// arrived when they can stand for a read-back, else reading the bytes back whole.
    async fn hash_upload(
        &self,
        upload_id: &str,
        parts: &[CompletedPart],
        data: &Path,
        total: u64,
    ) -> Result<(Sha256, Md5, u64), BlobError> {
        let prefixes = self.prefixes.clone();
        let (upload_id, parts, data) = (upload_id.to_owned(), parts.to_vec(), data.to_owned());
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek};
            match prefixes.take(&upload_id, &parts) {
                Some(mut digests) if digests.size() <= total => {
                    let mut f = std::fs::File::open(&data)?;
                    f.seek(std::io::SeekFrom::Start(digests.size()))?;
                    let rest = total - digests.size();
                    digests.read_from(f.take(rest), rest)?;
                    Ok(digests.finish())
                }
                _ => hash_reader(std::fs::File::open(&data)?.take(total), total),
            }
        })
        .await
        .map_err(BlobError::unexpected)?
        .map_err(io_err)
    }

    async fn part_files(&self, dir: &Path) -> Result<Vec<PartInfo>, BlobError> {
        let mut entries = tokio::fs::read_dir(dir).await.map_err(io_err)?;
        let mut parts = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io_err)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(Ok(part_number)) = name.strip_prefix(PART_PREFIX).map(str::parse) else {
                continue;
            };
            let marker = tokio::fs::read_to_string(entry.path())
                .await
                .map_err(io_err)?;
            let Some((token, Ok(size))) =
                marker.split_once(' ').map(|(t, s)| (t, s.trim().parse()))
            else {
                continue;
            };
            parts.push(PartInfo {
                part_number,
                size,
                etag: format!("\"{token}\""),
            });
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }
}

/// In an upload's folder: the part size it was created with, and the file its parts are written
/// into.
const PART_SIZE_FILE: &str = "part_size";
const DATA_FILE: &str = "data";

async fn upload_part_size(dir: &Path) -> Result<u64, BlobError> {
    tokio::fs::read_to_string(dir.join(PART_SIZE_FILE))
        .await
        .map_err(io_err)?
        .trim()
        .parse()
        .map_err(|_| BlobError::unexpected(format!("{}: unreadable part size", dir.display())))
}

/// Markers of stored parts are named `part-00001` and so on.
const PART_PREFIX: &str = "part-";

/// Up to `limit` keys under `objects/` that start with `prefix` and sort after `after`, in
/// ascending byte order. Only directories that can hold such keys are read, so a page costs its
/// own size, not the store's: listing millions of keys page by page stays linear.
fn walk_keys(
    objects: &Path,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> std::io::Result<Vec<String>> {
    let mut keys = Vec::new();
    walk_dir(objects, "", prefix, after, limit, &mut keys)?;
    Ok(keys)
}

fn walk_dir(
    dir: &Path,
    rel: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    out: &mut Vec<String>,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    // A folder's keys all start with "name/", so it sorts among files as "name/" does.
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type()?.is_dir();
        names.push(if is_dir {
            format!("{rel}{name}/")
        } else {
            format!("{rel}{name}")
        });
    }
    names.sort_unstable();
    for key in names {
        if out.len() >= limit {
            break;
        }
        if key.ends_with('/') {
            let may_match = key.starts_with(prefix) || prefix.starts_with(&key);
            // Every key below `key` sorts after `a` exactly when `key` does and `a` is not
            // itself below `key`.
            let may_follow = after.is_none_or(|a| a.starts_with(&key) || key.as_str() > a);
            if may_match && may_follow {
                let name = key[rel.len()..key.len() - 1].to_owned();
                walk_dir(&dir.join(name), &key, prefix, after, limit, out)?;
            }
        } else if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
            out.push(key);
        }
    }
    Ok(())
}

/// The entries of `dir` (files or folders, with the bytes of the files they hold) last changed
/// before `before`, except those `keep` spares.
fn stale_entries(
    dir: &Path,
    before: std::time::SystemTime,
    keep: impl Fn(&Path) -> bool,
) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.modified().is_ok_and(|m| m >= before) || keep(&path) {
            continue;
        }
        let size = if meta.is_dir() {
            std::fs::read_dir(&path)?
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        } else {
            meta.len()
        };
        out.push((path, size));
    }
    Ok(out)
}

#[async_trait]
impl SignedUrlServer for FsBlobStore {
    async fn serve_signed(
        &self,
        method: &str,
        url: &str,
        body: ByteStream,
        range: Option<ByteRange>,
    ) -> Result<SignedServe, BlobError> {
        self.serve(method, url, body, range).await
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        let (spooled, sha256, md5, size) = self.spool(body, expected.size).await?;
        if let Err(e) = expected.verify(&sha256, &md5, size) {
            if let Spooled::File(tmp) = spooled {
                let _ = tokio::fs::remove_file(&tmp).await;
            }
            return Err(e);
        }
        let last_modified = self.publish(spooled, key).await?;
        Ok(ObjectMeta {
            key: key.clone(),
            size,
            etag: Some(format!("\"{md5}\"")),
            sha256: Some(sha256),
            last_modified,
        })
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<GetResult, BlobError> {
        let meta = self.meta_of(key).await?;
        let (start, end) = match range {
            Some(r) => r.resolve(meta.size)?,
            None => (0, meta.size),
        };
        let mut file = match tokio::fs::File::open(self.object_path(key)).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(BlobError::NotFound(key.to_string()))
            }
            Err(e) => return Err(io_err(e)),
        };
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io_err)?;
        let body = tokio_util::io::ReaderStream::with_capacity(file.take(end - start), READ_CHUNK);
        Ok(GetResult {
            meta,
            range: (start, end),
            body: Box::pin(body),
        })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta, BlobError> {
        self.meta_of(key).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.object_path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(e)),
        }
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<u64, BlobError> {
        let mut n = 0;
        for key in keys {
            match tokio::fs::remove_file(self.object_path(key)).await {
                Ok(()) => n += 1,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(n)
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
        let objects = self.root.join("objects");
        let owned_prefix = prefix.to_owned();
        let owned_after = after.map(|a| a.as_str().to_owned());
        let keys = tokio::task::spawn_blocking(move || {
            walk_keys(&objects, &owned_prefix, owned_after.as_deref(), limit + 1)
        })
        .await
        .map_err(BlobError::unexpected)?
        .map_err(io_err)?;
        let mut page = Vec::with_capacity(limit + 1);
        for key in keys {
            let key = ObjectKey::parse(key).map_err(|e| BlobError::unexpected(e.to_string()))?;
            match self.meta_of(&key).await {
                Ok(m) => page.push(m),
                Err(BlobError::NotFound(_)) => {} // deleted while listing
                Err(e) => return Err(e),
            }
        }
        let more = page.len() > limit;
        page.truncate(limit);
        let next_after = if more {
            page.last().map(|m| m.key.clone())
        } else {
            None
        };
        Ok(ListPage {
            objects: page,
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

    async fn create_multipart(&self, key: &ObjectKey, part_size: u64) -> Result<String, BlobError> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        let dir = self.root.join("multipart").join(&id);
        tokio::fs::create_dir_all(&dir).await.map_err(io_err)?;
        // Parts are written in place into one file, part n at (n - 1) * part_size, so completing
        // needs no copy. The key file goes last: it is what makes the upload exist.
        tokio::fs::write(dir.join(PART_SIZE_FILE), part_size.max(1).to_string())
            .await
            .map_err(io_err)?;
        tokio::fs::File::create(dir.join(DATA_FILE))
            .await
            .map_err(io_err)?;
        self.prefixes.created(&id, dir.clone(), part_size.max(1));
        tokio::fs::write(dir.join("key"), key.as_str())
            .await
            .map_err(io_err)?;
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
        self.upload_dir(key, upload_id)?;
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
        let dir = self.upload_dir(key, upload_id)?;
        self.part_files(&dir).await
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[CompletedPart],
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        let dir = self.upload_dir(key, upload_id)?;
        let result = async {
            check_part_list(parts)?;
            let stored: std::collections::HashMap<(u32, String), u64> = self
                .part_files(&dir)
                .await?
                .into_iter()
                .map(|s| ((s.part_number, s.etag), s.size))
                .collect();
            let mut ranges = Vec::with_capacity(parts.len());
            for p in parts {
                let size = stored
                    .get(&(p.part_number, p.etag.clone()))
                    .copied()
                    .ok_or_else(|| {
                        BlobError::PreconditionFailed(format!(
                            "part {} was not uploaded with ETag {}",
                            p.part_number, p.etag
                        ))
                    })?;
                ranges.push((p.part_number, size));
            }
            let part_size = upload_part_size(&dir).await?;
            let data = dir.join(DATA_FILE);
            // Parts 1..=k, all but the last full: the object is the data file's first bytes.
            let in_place = ranges.iter().enumerate().all(|(i, &(n, size))| {
                n as usize == i + 1 && (i + 1 == ranges.len() || size == part_size)
            });
            if in_place {
                let total: u64 = ranges.iter().map(|r| r.1).sum();
                let (sha256, md5, size) = self.hash_upload(upload_id, parts, &data, total).await?;
                expected.verify(&sha256, &md5, size)?;
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&data)
                    .await
                    .map_err(io_err)?;
                file.set_len(total).await.map_err(io_err)?;
                file.sync_all().await.map_err(io_err)?;
                let last_modified = self.publish(Spooled::File(data), key).await?;
                return Ok(ObjectMeta {
                    key: key.clone(),
                    size,
                    etag: Some(format!("\"{md5}\"")),
                    sha256: Some(sha256),
                    last_modified,
                });
            }
            // Gaps or short parts: copy each part's range out, in order.
            let body = futures::stream::iter(ranges)
                .then(move |(n, size)| {
                    let data = data.clone();
                    async move {
                        let mut f = tokio::fs::File::open(data).await?;
                        f.seek(std::io::SeekFrom::Start(u64::from(n - 1) * part_size))
                            .await?;
                        Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                            f.take(size),
                            READ_CHUNK,
                        ))
                    }
                })
                .map(|r| match r {
                    Ok(s) => s.left_stream(),
                    Err(e) => {
                        futures::stream::once(async move { Err::<Bytes, _>(e) }).right_stream()
                    }
                })
                .flatten();
            self.put(key, Box::pin(body), expected).await
        }
        .await;
        // A refused part list leaves the upload as it was (the client completes again with the
        // right list); after success or a digest mismatch the upload is over.
        if !matches!(result, Err(BlobError::PreconditionFailed(_))) {
            self.prefixes.forget(upload_id);
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
        result
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), BlobError> {
        self.prefixes.forget(upload_id);
        match self.upload_dir(key, upload_id) {
            Ok(dir) => tokio::fs::remove_dir_all(dir).await.map_err(io_err),
            Err(_) => Ok(()),
        }
    }

    async fn stale_multipart_uploads(
        &self,
        prefix: &str,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, BlobError> {
        let root = self.root.join("multipart");
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let entries = match std::fs::read_dir(&root) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(io_err(e)),
            };
            for entry in entries {
                if out.len() >= limit as usize {
                    break;
                }
                let entry = entry.map_err(io_err)?;
                let upload_id = entry.file_name().to_string_lossy().into_owned();
                // Ids are UUIDv7: they carry the time the upload started.
                let initiated = uuid::Uuid::parse_str(&upload_id)
                    .ok()
                    .and_then(|u| u.get_timestamp())
                    .and_then(|t| {
                        let (secs, nanos) = t.to_unix();
                        DateTime::<Utc>::from_timestamp(i64::try_from(secs).ok()?, nanos)
                    });
                let key = std::fs::read_to_string(entry.path().join("key"))
                    .ok()
                    .and_then(|k| ObjectKey::parse(k).ok());
                if let (Some(initiated), Some(key)) = (initiated, key) {
                    if initiated < before && key.as_str().starts_with(&prefix) {
                        out.push(PendingUpload {
                            key,
                            upload_id,
                            initiated,
                        });
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(BlobError::unexpected)?
    }

    async fn sweep_leftovers(
        &self,
        before: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Leftovers, BlobError> {
        let root = self.root.clone();
        let before = std::time::SystemTime::from(before);
        tokio::task::spawn_blocking(move || {
            // Temporary files of writes that never finished (a crash, a client gone mid-PUT).
            let mut found = stale_entries(&root.join("tmp"), before, |_| false)?;
            // Multipart folders without a valid key file never became an upload (a crash
            // while creating one); those with one are open uploads, aborted once stale.
            found.extend(stale_entries(&root.join("multipart"), before, |dir| {
                std::fs::read_to_string(dir.join("key"))
                    .ok()
                    .is_some_and(|k| ObjectKey::parse(k).is_ok())
            })?);
            let mut report = Leftovers::default();
            for (path, size) in found {
                if !dry_run {
                    let removed = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                    match removed {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    }
                }
                report.items += 1;
                report.bytes += size;
            }
            Ok(report)
        })
        .await
        .map_err(BlobError::unexpected)?
        .map_err(io_err)
    }

    async fn ping(&self) -> Result<(), BlobError> {
        let probe = self.root.join("tmp");
        tokio::fs::metadata(&probe).await.map(|_| ()).map_err(|e| {
            BlobError::unexpected(format!("{} is not reachable: {e}", probe.display()))
        })
    }
}
