//! Files: upload negotiation (with dedup), registration, listing, deletion, downloads.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::{now, Actor, Registry};
use crate::entities::*;
use crate::error::{Entity, Error, Result, ValidationError};
use crate::ids::*;
use crate::keys::ObjectKey;
use crate::ports::{
    BlobError, ByteRange, ByteStream, CompletedPart, ExpectedContent, GetResult, NewFile, Page,
    PageRequest, PartInfo, PresignedRequest,
};
use crate::types::*;

/// A file the client is about to upload or register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub path: FilePath,
    pub size: u64,
    /// Needed to register a file, complete a multipart upload or send bytes through the server.
    /// Negotiating may leave it out, so a big file is read once for SHA-256 before its upload
    /// and its MD5 taken while it is sent: the plan is then multipart (or already stored).
    pub md5: Option<Md5>,
    pub sha256: Sha256,
    /// Guessed from the path when absent.
    pub content_type: Option<ContentType>,
    /// The storage key a client read from the upload answer and sends back (as the original
    /// design's clients do); when given on registration it must be the one the registry
    /// derives for these bytes.
    pub storage_key: Option<String>,
}

impl FileSpec {
    /// The MD5, for the operations that need it.
    pub fn required_md5(&self) -> Result<&Md5> {
        self.md5.as_ref().ok_or_else(|| {
            ValidationError::new(
                "md5_hash",
                format!(
                    "{}: the MD5 is required here (only negotiating an upload may leave it out)",
                    self.path
                ),
            )
            .into()
        })
    }
}

/// What the client should do with a file's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UploadAction {
    /// The project already holds these bytes: register the file, upload nothing.
    AlreadyStored,
    /// Send the bytes with this request, then register the file.
    Upload { request: PresignedRequest },
    /// Send the bytes in parts (any order, in parallel), complete the upload, then register.
    Multipart(MultipartPlan),
}

/// A multipart upload: its id, the part size, and a presigned PUT per part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MultipartPlan {
    pub upload_id: String,
    pub part_size: u64,
    pub parts: Vec<PartTarget>,
}

/// Where one part goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartTarget {
    pub part_number: u32,
    /// Bytes `[(n-1) * part_size, ...)` of the file, this many.
    pub size: u64,
    pub request: PresignedRequest,
}

/// The smallest part S3 accepts (all parts but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// The answer for one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UploadPlan {
    pub path: FilePath,
    pub sha256: Sha256,
    /// The stored bytes' MD5, when they are already stored (for a spec that left it out).
    pub md5: Option<Md5>,
    pub storage_key: ObjectKey,
    #[serde(flatten)]
    pub action: UploadAction,
}

/// Where to fetch a file.
#[derive(Clone, Debug, PartialEq)]
pub struct DownloadTarget {
    pub file: ArtifactFile,
    pub request: PresignedRequest,
}

impl Registry {
    /// Plans the upload of a batch of files into a draft: bytes the project already holds are
    /// not uploaded again; the others get a presigned PUT bound to their SHA-256, MD5 and size,
    /// or (above the multipart threshold, and for a spec without MD5) a multipart plan.
    pub async fn negotiate_uploads(
        &self,
        actor: &Actor,
        version: VersionId,
        specs: Vec<FileSpec>,
    ) -> Result<Vec<UploadPlan>> {
        self.check_batch(specs.len())?;
        self.check_sizes(&specs)?;
        let v = self.draft_for(actor, version).await?;
        check_storage_keys(v.project_id, &specs)?;
        let known = self.known_blobs(v.project_id, &specs).await?;
        let mut plans = Vec::with_capacity(specs.len());
        for spec in specs {
            let storage_key = ObjectKey::blob(v.project_id, &spec.sha256);
            let stored = known.get(&spec.sha256);
            let action = match (stored, &spec.md5) {
                (Some(_), _) => UploadAction::AlreadyStored,
                (None, Some(md5)) if spec.size <= self.config.multipart_threshold => {
                    UploadAction::Upload {
                        request: self
                            .blobs
                            .presign_put(
                                &storage_key,
                                &spec.sha256,
                                md5,
                                spec.size,
                                self.config.upload_url_ttl,
                            )
                            .await?,
                    }
                }
                (None, _) => {
                    UploadAction::Multipart(self.start_multipart(&storage_key, spec.size).await?)
                }
            };
            plans.push(UploadPlan {
                path: spec.path,
                sha256: spec.sha256,
                md5: stored.map(|b| b.md5.clone()),
                storage_key,
                action,
            });
        }
        Ok(plans)
    }

    /// The part size for a file: the configured size, raised so no file needs more than the
    /// store's 10,000 parts.
    fn part_size_for(&self, size: u64) -> u64 {
        let max = u64::from(crate::ports::MAX_PART_NUMBER);
        self.config
            .part_size
            .max(MIN_PART_SIZE)
            .max(size.div_ceil(max))
    }

    async fn start_multipart(&self, key: &ObjectKey, size: u64) -> Result<MultipartPlan> {
        let part_size = self.part_size_for(size);
        let upload_id = self.blobs.create_multipart(key, part_size).await?;
        let count = size.div_ceil(part_size).max(1);
        let numbers: Vec<u32> = (1..=count).filter_map(|n| u32::try_from(n).ok()).collect();
        let parts = self
            .part_targets(key, &upload_id, size, part_size, &numbers)
            .await?;
        Ok(MultipartPlan {
            upload_id,
            part_size,
            parts,
        })
    }

    async fn part_targets(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        size: u64,
        part_size: u64,
        numbers: &[u32],
    ) -> Result<Vec<PartTarget>> {
        let count = size.div_ceil(part_size).max(1);
        let mut parts = Vec::with_capacity(numbers.len());
        for &n in numbers {
            if n == 0 || u64::from(n) > count {
                return Err(ValidationError::new(
                    "part_number",
                    format!("this file has parts 1 to {count}, not {n}"),
                )
                .into());
            }
            let offset = (u64::from(n) - 1) * part_size;
            let request = self
                .blobs
                .presign_part(key, upload_id, n, self.config.upload_url_ttl)
                .await?;
            parts.push(PartTarget {
                part_number: n,
                size: part_size.min(size - offset),
                request,
            });
        }
        Ok(parts)
    }

    /// The parts of a multipart upload already stored, so an interrupted client sends only the
    /// rest. An unknown upload is `PreconditionFailed`.
    pub async fn multipart_parts(
        &self,
        actor: &Actor,
        version: VersionId,
        sha256: &Sha256,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>> {
        let v = self.draft_for(actor, version).await?;
        Ok(self
            .blobs
            .list_parts(&ObjectKey::blob(v.project_id, sha256), upload_id)
            .await?)
    }

    /// Fresh presigned URLs for some parts of a multipart upload (when the first ones expired).
    pub async fn multipart_part_urls(
        &self,
        actor: &Actor,
        version: VersionId,
        spec: &FileSpec,
        upload_id: &str,
        parts: &[u32],
    ) -> Result<MultipartPlan> {
        self.check_sizes(std::slice::from_ref(spec))?;
        let v = self.draft_for(actor, version).await?;
        let key = ObjectKey::blob(v.project_id, &spec.sha256);
        let part_size = self.part_size_for(spec.size);
        let parts = self
            .part_targets(&key, upload_id, spec.size, part_size, parts)
            .await?;
        Ok(MultipartPlan {
            upload_id: upload_id.to_owned(),
            part_size,
            parts,
        })
    }

    /// Assembles a multipart upload. The store checks the whole file against the spec's size,
    /// MD5 and SHA-256; bytes that miss are not kept. Register the file afterwards.
    pub async fn complete_multipart(
        &self,
        actor: &Actor,
        version: VersionId,
        spec: &FileSpec,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<ObjectKey> {
        self.check_sizes(std::slice::from_ref(spec))?;
        let md5 = spec.required_md5()?;
        let v = self.draft_for(actor, version).await?;
        let key = ObjectKey::blob(v.project_id, &spec.sha256);
        let expected = ExpectedContent {
            sha256: Some(spec.sha256.clone()),
            md5: Some(md5.clone()),
            size: Some(spec.size),
        };
        self.blobs
            .complete_multipart(&key, upload_id, parts, &expected)
            .await?;
        Ok(key)
    }

    /// Drops a multipart upload and its parts.
    pub async fn abort_multipart(
        &self,
        actor: &Actor,
        version: VersionId,
        sha256: &Sha256,
        upload_id: &str,
    ) -> Result<()> {
        let v = self.draft_for(actor, version).await?;
        Ok(self
            .blobs
            .abort_multipart(&ObjectKey::blob(v.project_id, sha256), upload_id)
            .await?)
    }

    /// Plans one file's upload.
    pub async fn negotiate_upload(
        &self,
        actor: &Actor,
        version: VersionId,
        spec: FileSpec,
    ) -> Result<UploadPlan> {
        let mut plans = self.negotiate_uploads(actor, version, vec![spec]).await?;
        plans
            .pop()
            .ok_or_else(|| Error::Unexpected("negotiation returned no plan".into()))
    }

    /// The project's blob records for these files' bytes (one lookup for the batch), after
    /// checking each file's claims agree with its record: the same SHA-256 with another size or
    /// MD5 (where given) is a lie or a bug, never a dedup hit.
    async fn known_blobs(
        &self,
        project: ProjectId,
        specs: &[FileSpec],
    ) -> Result<HashMap<Sha256, Blob>> {
        let shas: Vec<Sha256> = specs.iter().map(|s| s.sha256.clone()).collect();
        let found: HashMap<Sha256, Blob> = self
            .meta
            .get_blobs(project, &shas)
            .await?
            .into_iter()
            .map(|b| (b.sha256.clone(), b))
            .collect();
        for spec in specs {
            let Some(blob) = found.get(&spec.sha256) else {
                continue;
            };
            if blob.size != spec.size || spec.md5.as_ref().is_some_and(|m| *m != blob.md5) {
                return Err(ValidationError::new(
                    "sha256_hash",
                    format!(
                        "{}: the stored bytes with this SHA-256 have size {} and MD5 {}, not {} and {}",
                        spec.path,
                        blob.size,
                        blob.md5,
                        spec.size,
                        spec.md5.as_ref().map_or("(not given)", |m| m.as_str())
                    ),
                )
                .into());
            }
        }
        Ok(found)
    }

    /// Streams bytes through the server into the content-addressed store, verifying size, MD5 and
    /// SHA-256 as they arrive (the path for stores without presigned URLs, and for clients that
    /// cannot reach the store). Register the file afterwards.
    pub async fn upload_bytes(
        &self,
        actor: &Actor,
        version: VersionId,
        spec: &FileSpec,
        body: ByteStream,
    ) -> Result<ObjectKey> {
        self.check_sizes(std::slice::from_ref(spec))?;
        let md5 = spec.required_md5()?;
        let v = self.draft_for(actor, version).await?;
        let key = ObjectKey::blob(v.project_id, &spec.sha256);
        if !self
            .known_blobs(v.project_id, std::slice::from_ref(spec))
            .await?
            .is_empty()
        {
            return Ok(key);
        }
        let expected = ExpectedContent {
            sha256: Some(spec.sha256.clone()),
            md5: Some(md5.clone()),
            size: Some(spec.size),
        };
        self.blobs.put(&key, body, &expected).await?;
        Ok(key)
    }

    /// Registers files whose bytes are stored, all or none. Each file's bytes must be in the blob
    /// store with the claimed size (and digests, where the store can tell).
    pub async fn register_files(
        &self,
        actor: &Actor,
        version: VersionId,
        specs: Vec<FileSpec>,
    ) -> Result<Vec<ArtifactFile>> {
        self.check_batch(specs.len())?;
        self.check_sizes(&specs)?;
        let md5s = specs
            .iter()
            .map(|s| s.required_md5().cloned())
            .collect::<Result<Vec<Md5>>>()?;
        let v = self.draft_for(actor, version).await?;
        check_storage_keys(v.project_id, &specs)?;
        let at = now();
        let known = self.known_blobs(v.project_id, &specs).await?;
        // Bytes the registry has no record of are checked in the store, each once, several at
        // a time.
        let mut seen = HashSet::new();
        let unknown: Vec<&FileSpec> = specs
            .iter()
            .filter(|s| !known.contains_key(&s.sha256) && seen.insert(&s.sha256))
            .collect();
        futures::stream::iter(unknown)
            .map(|spec| self.verify_stored(ObjectKey::blob(v.project_id, &spec.sha256), spec))
            .buffer_unordered(self.config.finalize_concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        let mut files = Vec::with_capacity(specs.len());
        for (spec, md5) in specs.into_iter().zip(md5s) {
            let storage_key = ObjectKey::blob(v.project_id, &spec.sha256);
            let content_type = spec
                .content_type
                .clone()
                .unwrap_or_else(|| ContentType::guess(&spec.path));
            files.push(NewFile {
                id: FileId::new(),
                path: spec.path,
                size: spec.size,
                md5,
                sha256: spec.sha256,
                content_type,
                storage_key,
                created_at: at,
            });
        }
        Ok(self.meta.add_files(version, files).await?)
    }

    pub async fn register_file(
        &self,
        actor: &Actor,
        version: VersionId,
        spec: FileSpec,
    ) -> Result<ArtifactFile> {
        let mut files = self.register_files(actor, version, vec![spec]).await?;
        files
            .pop()
            .ok_or_else(|| Error::Unexpected("registration returned no file".into()))
    }

    async fn verify_stored(&self, key: ObjectKey, spec: &FileSpec) -> Result<()> {
        let meta = match self.blobs.head(&key).await {
            Ok(m) => m,
            Err(BlobError::NotFound(_)) => {
                return Err(Error::PreconditionFailed(format!(
                    "{}: no bytes with SHA-256 {} were uploaded; upload them first",
                    spec.path, spec.sha256
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if meta.size != spec.size {
            return Err(Error::PreconditionFailed(format!(
                "{}: the uploaded bytes have size {}, not {}",
                spec.path, meta.size, spec.size
            )));
        }
        if meta.sha256.as_ref().is_some_and(|s| *s != spec.sha256) {
            return Err(ValidationError::new(
                "sha256_hash",
                format!("{}: the stored bytes have another SHA-256", spec.path),
            )
            .into());
        }
        // A single-part ETag is the MD5 of the bytes; multipart ETags contain '-'.
        if let Some(etag) = meta.etag.as_deref().map(|e| e.trim_matches('"')) {
            if Md5::parse(etag).is_ok_and(|m| Some(&m) != spec.md5.as_ref()) {
                return Err(ValidationError::new(
                    "md5_hash",
                    format!("{}: the stored bytes have MD5 {etag}", spec.path),
                )
                .into());
            }
        }
        Ok(())
    }

    /// Sizes above the configured maximum are refused before anything is planned or stored (a
    /// size of 2^63 would otherwise get a 10,000-part plan, and parts at offsets no store holds).
    fn check_sizes(&self, specs: &[FileSpec]) -> Result<()> {
        let max = self.config.max_object_size;
        match specs.iter().find(|s| s.size > max) {
            Some(s) => Err(ValidationError::new(
                "size",
                format!(
                    "{}: {} bytes is more than the largest file this registry takes, {max} bytes",
                    s.path, s.size
                ),
            )
            .into()),
            None => Ok(()),
        }
    }

    fn check_batch(&self, n: usize) -> Result<()> {
        if n == 0 || n > self.config.max_batch {
            return Err(ValidationError::new(
                "files",
                format!(
                    "a batch holds 1 to {} files, got {n}",
                    self.config.max_batch
                ),
            )
            .into());
        }
        Ok(())
    }

    /// A version the caller may write that is still a draft.
    async fn draft_for(&self, actor: &Actor, version: VersionId) -> Result<ArtifactVersion> {
        let v = self.version_for(actor, version, Role::Editor).await?;
        if v.is_finalized {
            return Err(Error::conflict(format!(
                "version {} is finalized; its files cannot change. Create a new version",
                v.index
            )));
        }
        Ok(v)
    }

    /// A version's files by path, optionally under a path prefix.
    pub async fn list_files(
        &self,
        actor: &Actor,
        version: VersionId,
        prefix: Option<&str>,
        page: PageRequest<FilePath>,
    ) -> Result<Page<ArtifactFile, FilePath>> {
        self.version_for(actor, version, Role::Viewer).await?;
        Ok(self.meta.list_files(version, prefix, page).await?)
    }

    /// The files and folders directly in `folder` (empty or ending in `/`) of a version.
    pub async fn list_folder(
        &self,
        actor: &Actor,
        version: VersionId,
        folder: &str,
        page: PageRequest<String>,
    ) -> Result<Page<FolderEntry, String>> {
        if !folder.is_empty() {
            let inner = folder.strip_suffix('/').ok_or_else(|| {
                ValidationError::new("prefix", "a folder is empty or ends with /")
            })?;
            FilePath::parse(inner).map_err(|e| ValidationError::new("prefix", e.message))?;
        }
        self.version_for(actor, version, Role::Viewer).await?;
        Ok(self.meta.list_folder(version, folder, page).await?)
    }

    pub async fn get_file(&self, actor: &Actor, id: FileId) -> Result<ArtifactFile> {
        let file = self.meta.get_file(id).await?;
        self.version_for(actor, file.version_id, Role::Viewer)
            .await
            .map_err(|e| hide_as_file(e, id))?;
        Ok(file)
    }

    /// Removes a file from a draft. Its bytes stay for other versions, or become garbage.
    pub async fn delete_file(&self, actor: &Actor, id: FileId) -> Result<ArtifactFile> {
        let file = self.meta.get_file(id).await?;
        self.draft_for(actor, file.version_id)
            .await
            .map_err(|e| hide_as_file(e, id))?;
        Ok(self.meta.delete_file(id).await?)
    }

    /// A presigned GET for a file, recording the download.
    pub async fn download_file(&self, actor: &Actor, id: FileId) -> Result<DownloadTarget> {
        let target = self
            .download_target(self.get_file(actor, id).await?)
            .await?;
        self.record(actor, target.file.version_id, Some(id)).await?;
        Ok(target)
    }

    async fn download_target(&self, file: ArtifactFile) -> Result<DownloadTarget> {
        let request = self
            .blobs
            .presign_get(
                &file.storage_key,
                Some(file.name()),
                self.config.download_url_ttl,
            )
            .await?;
        Ok(DownloadTarget { file, request })
    }

    /// A page of a version's files (by path, optionally under `prefix`), each with a presigned
    /// GET: one call instead of one per file for clients that fetch many. The first page
    /// (no cursor) records one download of the version; later pages record nothing more.
    pub async fn download_files(
        &self,
        actor: &Actor,
        version: VersionId,
        prefix: Option<&str>,
        page: PageRequest<FilePath>,
    ) -> Result<Page<DownloadTarget, FilePath>> {
        let first = page.after.is_none();
        let files = self.list_files(actor, version, prefix, page).await?;
        let mut items = Vec::with_capacity(files.items.len());
        for file in files.items {
            items.push(self.download_target(file).await?);
        }
        if first {
            self.record(actor, version, None).await?;
        }
        Ok(Page {
            items,
            next: files.next,
        })
    }

    /// Streams a file's bytes (or a range) through the server. A whole read is recorded as a
    /// download; a range is not (a preview reading a file's first bytes, or a resumed transfer
    /// whose whole read was recorded when it started).
    pub async fn read_file(
        &self,
        actor: &Actor,
        id: FileId,
        range: Option<ByteRange>,
    ) -> Result<(ArtifactFile, GetResult)> {
        let file = self.get_file(actor, id).await?;
        let read = self.blobs.get(&file.storage_key, range).await?;
        if range.is_none() {
            self.record(actor, file.version_id, Some(id)).await?;
        }
        Ok((file, read))
    }

    /// The bytes of a file the caller has listed (the listing checked the caller may read the
    /// version); records nothing: the whole fetch is recorded once, by the caller.
    pub async fn read_listed(&self, file: &ArtifactFile) -> Result<GetResult> {
        Ok(self.blobs.get(&file.storage_key, None).await?)
    }

    /// Records that the caller fetched a whole version (clients that download many files at once
    /// call this once instead of per file).
    pub async fn record_version_download(
        &self,
        actor: &Actor,
        version: VersionId,
    ) -> Result<Download> {
        self.version_for(actor, version, Role::Viewer).await?;
        self.record(actor, version, None).await
    }

    async fn record(
        &self,
        actor: &Actor,
        version: VersionId,
        file: Option<FileId>,
    ) -> Result<Download> {
        let d = Download {
            id: DownloadId::new(),
            version_id: version,
            file_id: file,
            user_id: actor.user_id,
            at: now(),
        };
        Ok(self.meta.record_download(d).await?)
    }

    pub async fn download_stats(&self, actor: &Actor, version: VersionId) -> Result<DownloadStats> {
        self.version_for(actor, version, Role::Viewer).await?;
        Ok(self.meta.download_stats(version).await?)
    }
}

/// A file in a version the caller cannot see is reported as a missing file, not a missing version.
fn hide_as_file(e: Error, id: FileId) -> Error {
    match e {
        Error::NotFound {
            entity: Entity::Version,
            ..
        } => Error::not_found(Entity::File, id),
        other => other,
    }
}

/// A storage key a client sends back must be the one the registry derives for the bytes.
fn check_storage_keys(project: ProjectId, specs: &[FileSpec]) -> Result<()> {
    for spec in specs {
        let Some(given) = &spec.storage_key else {
            continue;
        };
        let expected = ObjectKey::blob(project, &spec.sha256);
        if given != expected.as_str() {
            return Err(ValidationError::new(
                "storage_key",
                format!(
                    "{}: the bytes with SHA-256 {} are stored at {expected}, not {given}",
                    spec.path, spec.sha256
                ),
            )
            .into());
        }
    }
    Ok(())
}
