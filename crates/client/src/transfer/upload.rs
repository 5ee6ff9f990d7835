//! Logging an artifact: hash, negotiate, upload what the registry lacks (whole or in parts),
//! register, finalize, set aliases.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::*;
use crate::hashes::{HashCache, Remembered, Stamp};

/// Files above this size are read once for their SHA-256 before the upload (which is all
/// negotiating needs to find the bytes the registry holds), and their MD5 is taken on another
/// thread while their parts are sent. MD5 is the slower hash (about 1.7 s a GiB on this
/// project's 2-core machine, SHA-256 0.6 s), so taking both first held a big upload back by it.
pub(crate) const MD5_WHILE_SENDING: u64 = 64 << 20;

/// A file ready to log.
#[derive(Debug, Clone)]
pub(super) struct Hashed {
    local: PathBuf,
    path: FilePath,
    size: u64,
    /// Unknown until the upload for a file above `MD5_WHILE_SENDING` that the hash cache did
    /// not know.
    md5: Option<Md5>,
    sha256: Sha256,
}

impl Hashed {
    fn spec(&self) -> FileSpecDto {
        FileSpecDto::of(
            self.path.to_string(),
            self.size,
            self.md5.as_ref().map(Md5::to_string),
            self.sha256.to_string(),
        )
    }

    fn fields(&self) -> FileSpecFields {
        FileSpecFields {
            path: self.path.to_string(),
            size: self.size,
            md5_hash: self.md5.as_ref().map(Md5::to_string),
            sha256_hash: self.sha256.to_string(),
        }
    }
}

/// MD5 and SHA-256 in one read of the file (SHA-256 alone above `MD5_WHILE_SENDING`), off the
/// async threads (MD5 on a second thread for big files). Also the file's stamp, when it may be
/// remembered in the hash cache: taken before and after reading, unchanged, and not modified
/// just before hashing.
async fn hash_file(local: PathBuf, path: FilePath) -> Result<(Hashed, Option<Stamp>)> {
    tokio::task::spawn_blocking(move || {
        let hashed_at = std::time::SystemTime::now();
        let f = std::fs::File::open(&local).map_err(|e| io(&local, e))?;
        let before = f.metadata().map(|m| Stamp::of(&m)).ok();
        let len = before.map_or(0, |s| s.size);
        let (sha256, md5, size) = if len > MD5_WHILE_SENDING {
            let (sha, size) = digest_reader::<sha2::Sha256>(&f, &AtomicBool::new(false))
                .map_err(|e| io(&local, e))?;
            (Sha256::from_bytes(sha.into()), None, size)
        } else {
            let (sha256, md5, size) = hash_reader(&f, len).map_err(|e| io(&local, e))?;
            (sha256, Some(md5), size)
        };
        let after = f.metadata().map(|m| Stamp::of(&m)).ok();
        let stamp = before.filter(|b| Some(*b) == after && b.size == size && b.settled(hashed_at));
        let hashed = Hashed {
            local,
            path,
            size,
            md5,
            sha256,
        };
        Ok((hashed, stamp))
    })
    .await
    .map_err(|e| ClientError::Invalid(format!("hashing task failed: {e}")))?
}

/// One digest of everything `reader` yields, and how many bytes; stops with an error when
/// `stop` is set.
fn digest_reader<D: sha2::Digest>(
    mut reader: impl std::io::Read,
    stop: &AtomicBool,
) -> std::io::Result<(sha2::digest::Output<D>, u64)> {
    let mut digest = D::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("stopped"));
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok((digest.finalize(), size)),
            Ok(n) => {
                digest.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A file's MD5, read on a blocking thread while the file is sent; dropping it stops the read.
struct Md5Pass {
    task: tokio::task::JoinHandle<std::io::Result<(Md5, u64)>>,
    stop: Arc<AtomicBool>,
}

impl Md5Pass {
    fn start(local: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (path, flag) = (local.to_owned(), stop.clone());
        let task = tokio::task::spawn_blocking(move || {
            let f = std::fs::File::open(&path)?;
            let (md5, size) = digest_reader::<md5::Md5>(f, &flag)?;
            Ok((Md5::from_bytes(md5.into()), size))
        });
        Self { task, stop }
    }

    async fn finish(mut self, file: &Hashed) -> Result<Md5> {
        let (md5, size) = (&mut self.task)
            .await
            .map_err(|e| ClientError::Invalid(format!("MD5 task failed: {e}")))?
            .map_err(|e| io(&file.local, e))?;
        if size != file.size {
            return Err(ClientError::Invalid(format!(
                "{}: changed while it was uploaded ({} bytes when hashed, {size} now)",
                file.path, file.size
            )));
        }
        Ok(md5)
    }
}

impl Drop for Md5Pass {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The file with its MD5, read now if it is not known yet.
async fn with_md5(file: &Hashed) -> Result<Hashed> {
    let mut file = file.clone();
    if file.md5.is_none() {
        file.md5 = Some(Md5Pass::start(&file.local).finish(&file).await?);
    }
    Ok(file)
}

/// What sending one file did: how many bytes went, and the file's MD5 when it is known (taken
/// while sending, or told by the registry for bytes it holds).
struct Sent {
    bytes: u64,
    md5: Option<Md5>,
}

/// Where a file's digests came from.
enum Digests {
    /// The hash cache, under this key.
    Remembered(PathBuf, Stamp),
    /// Reading the file; with the key to remember them by, unless the file was too fresh or
    /// changed while it was read.
    Read(Option<MemoKey>),
}

/// A file to log, as its stamp and the hash cache know it.
struct Listed {
    local: PathBuf,
    path: FilePath,
    /// The key of the hash cache.
    absolute: PathBuf,
    stamp: Stamp,
    known: Option<Remembered>,
}

/// What a file is remembered by in the hash cache: its absolute path and its stamp.
type MemoKey = (PathBuf, Stamp);

/// Stats every file and looks them up in the hash cache (unless there is none), in one
/// blocking call.
async fn list_files(
    files: Vec<(PathBuf, FilePath)>,
    memo: Option<HashCache>,
) -> Result<Vec<Listed>> {
    tokio::task::spawn_blocking(move || {
        let mut stamped = Vec::with_capacity(files.len());
        for (local, path) in files {
            let meta = std::fs::metadata(&local).map_err(|e| io(&local, e))?;
            let absolute = std::path::absolute(&local).map_err(|e| io(&local, e))?;
            stamped.push((local, path, absolute, Stamp::of(&meta)));
        }
        let keys: Vec<(PathBuf, Stamp)> = stamped
            .iter()
            .map(|(_, _, absolute, stamp)| (absolute.clone(), *stamp))
            .collect();
        // A hash cache that cannot be read only costs hashing.
        let known = memo
            .and_then(|m| m.lookup(&keys).ok())
            .unwrap_or_else(|| vec![None; keys.len()]);
        Ok(stamped
            .into_iter()
            .zip(known)
            .map(|((local, path, absolute, stamp), known)| Listed {
                local,
                path,
                absolute,
                stamp,
                known,
            })
            .collect())
    })
    .await
    .map_err(|e| ClientError::Invalid(format!("listing task failed: {e}")))?
}

impl Client {
    /// Logs `artifact` as a new version in `project`, uploading only the bytes the server does
    /// not hold. When the files are exactly those of the artifact's latest version (same manifest
    /// digest), returns that version instead of making a new one.
    pub async fn log_artifact(
        &self,
        project: &str,
        artifact: &Artifact,
        options: LogOptions,
    ) -> Result<VersionInfo> {
        Ok(self
            .log_artifact_detailed(project, artifact, options)
            .await?
            .version)
    }

    /// `log_artifact`, telling what crossed the wire.
    pub async fn log_artifact_detailed(
        &self,
        project: &str,
        artifact: &Artifact,
        options: LogOptions,
    ) -> Result<Logged> {
        let project_id = self.project_id(project).await?;
        let artifact_id = self.artifact_id(project_id, artifact).await?;
        let (mut hashed, late, hashed_files, hashed_bytes) =
            self.hash_all(artifact, &options).await?;
        let digest = manifest_digest(hashed.iter().map(|h| ManifestEntry {
            path: &h.path,
            sha256: &h.sha256,
            size: h.size,
        }));
        if let Ok(latest) = self
            .resolve(&format!("{project}/{}:latest", artifact.name))
            .await
        {
            if latest.digest.as_deref() == Some(digest.as_str()) {
                self.set_aliases(artifact_id, &latest, &options).await?;
                let version = self
                    .get(&format!("/artifacts/versions/{}", latest.id))
                    .await?;
                return Ok(Logged {
                    version,
                    created: false,
                    uploaded_files: 0,
                    uploaded_bytes: 0,
                    reused_files: hashed.len() as u64,
                    hashed_files,
                    hashed_bytes,
                });
            }
        }
        // Each version carries what it was logged with, as W&B's do.
        let body = CreateVersionDto {
            description: artifact.description.clone(),
            metadata: artifact.metadata.clone(),
            run_id: options.run_id,
        };
        let version: VersionInfo = self
            .post(
                &format!("/artifacts/{artifact_id}/versions"),
                to_body(&body)?,
            )
            .await?;
        self.progress_start("upload", hashed.iter().map(|h| h.size).sum());
        let (mut uploaded_files, mut uploaded_bytes) = (0u64, 0u64);
        for batch in hashed.chunks_mut(BATCH) {
            let specs = FileBatchDto {
                files: batch.iter().map(Hashed::spec).collect(),
            };
            let plans: UploadUrlsDto = self
                .post(
                    &format!("/artifacts/versions/{}/files/upload-urls", version.id),
                    to_body(&specs)?,
                )
                .await?;
            if plans.files.len() != batch.len() {
                return Err(ClientError::Invalid(format!(
                    "asked for {} upload plans, got {}",
                    batch.len(),
                    plans.files.len()
                )));
            }
            // `buffered`: results in file order, to pair them with the files (see `Slots`).
            let slots = Slots::new(self.concurrency);
            let slots = &slots;
            // Files repeating an earlier file's bytes in this batch send nothing: the first
            // one's upload serves them all (registration comes after the whole batch).
            let mut first = std::collections::HashSet::new();
            let mut redundant = Vec::new();
            let plans: Vec<UploadUrlDto> = batch
                .iter()
                .zip(plans.files)
                .map(|(file, plan)| {
                    if first.insert(file.sha256.clone()) {
                        return plan;
                    }
                    if let Some(m) = &plan.multipart {
                        redundant.push((file.sha256.clone(), m.upload_id.clone()));
                    }
                    UploadUrlDto {
                        already_stored: true,
                        upload_url: None,
                        multipart: None,
                        ..plan
                    }
                })
                .collect();
            for (sha, id) in redundant {
                // Best effort: a failed abort only leaves an unfinished upload behind.
                let _: Result<()> = self
                    .call(
                        reqwest::Method::DELETE,
                        &format!(
                            "/artifacts/versions/{}/files/multipart/{id}?sha256_hash={sha}",
                            version.id
                        ),
                        None,
                    )
                    .await;
            }
            let sent: Vec<Sent> =
                futures::stream::iter(batch.iter().cloned().zip(plans).map(|(file, plan)| {
                    // Owned items: a borrowed one makes this future not `Send`.
                    let vid = version.id;
                    async move {
                        let _slot = slots.take(file.size).await?;
                        self.upload(vid, &file, plan).await
                    }
                }))
                .buffered(self.concurrency * SMALL_FILE_FACTOR)
                .try_collect()
                .await?;
            for sent in &sent {
                if sent.bytes > 0 {
                    uploaded_files += 1;
                    uploaded_bytes += sent.bytes;
                }
            }
            learn_md5s(batch, sent).await?;
            let specs = FileBatchDto {
                files: batch.iter().map(Hashed::spec).collect(),
            };
            let registered: FilesDto = self
                .post(
                    &format!("/artifacts/versions/{}/files/batch", version.id),
                    to_body(&specs)?,
                )
                .await?;
            if registered.files.len() != batch.len() {
                return Err(ClientError::Invalid(format!(
                    "registered {} files, the server answered {}",
                    batch.len(),
                    registered.files.len()
                )));
            }
        }
        self.progress_finish();
        // `late` names files only when the hash cache is in use.
        remember(
            self.hashes.clone(),
            hashed
                .iter()
                .zip(late)
                .filter_map(|(h, key)| {
                    let (absolute, stamp) = key?;
                    Some((absolute, stamp, h.sha256.clone(), Some(h.md5.clone()?)))
                })
                .collect(),
        )
        .await;
        let done: VersionInfo = self
            .post(
                &format!("/artifacts/versions/{}/finalize", version.id),
                serde_json::json!({}),
            )
            .await?;
        self.set_aliases(artifact_id, &done, &options).await?;
        let version = self
            .get(&format!("/artifacts/versions/{}", done.id))
            .await?;
        Ok(Logged {
            version,
            created: true,
            uploaded_files,
            uploaded_bytes,
            reused_files: hashed.len() as u64 - uploaded_files,
            hashed_files,
            hashed_bytes,
        })
    }

    /// Every file's digests: from the hash cache where its stamp is unchanged, else read (and
    /// then remembered). Also, for each file whose MD5 is still to learn, the key to remember it
    /// by, and how many files and bytes were read.
    async fn hash_all(
        &self,
        artifact: &Artifact,
        options: &LogOptions,
    ) -> Result<(Vec<Hashed>, Vec<Option<MemoKey>>, u64, u64)> {
        let memo = self.hashes.clone().filter(|_| !options.skip_cache);
        let lookup = memo.clone().filter(|_| !options.rehash);
        let listed = list_files(artifact.files.clone(), lookup).await?;
        let results: Vec<(Hashed, Digests)> =
            futures::stream::iter(listed.into_iter().map(|l| async move {
                if let Some((sha256, md5)) = l.known {
                    let hashed = Hashed {
                        local: l.local,
                        path: l.path,
                        size: l.stamp.size,
                        md5,
                        sha256,
                    };
                    return Ok((hashed, Digests::Remembered(l.absolute, l.stamp)));
                }
                let (hashed, stamp) = hash_file(l.local, l.path).await?;
                let key = stamp.map(|s| (l.absolute, s));
                Ok::<_, ClientError>((hashed, Digests::Read(key)))
            }))
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        let (mut files, mut bytes) = (0u64, 0u64);
        let mut fresh = Vec::new();
        let mut late = Vec::with_capacity(results.len());
        let mut hashed = Vec::with_capacity(results.len());
        for (h, digests) in results {
            let key = match digests {
                Digests::Read(key) => {
                    files += 1;
                    bytes += h.size;
                    if let Some((absolute, stamp)) = &key {
                        fresh.push((absolute.clone(), *stamp, h.sha256.clone(), h.md5.clone()));
                    }
                    key
                }
                Digests::Remembered(absolute, stamp) => Some((absolute, stamp)),
            };
            late.push(key.filter(|_| h.md5.is_none() && memo.is_some()));
            hashed.push(h);
        }
        // Remembered now, so a failed upload does not cost the hashing again.
        remember(memo, fresh).await;
        Ok((hashed, late, files, bytes))
    }

    async fn set_aliases(
        &self,
        artifact: Uuid,
        version: &VersionInfo,
        options: &LogOptions,
    ) -> Result<()> {
        let body = to_body(&SetAliasDto {
            version: None,
            version_id: Some(version.id),
        })?;
        for alias in &options.aliases {
            self.call::<wanllmdb_api::AliasDto>(
                reqwest::Method::PUT,
                &format!("/artifacts/{artifact}/aliases/{}", encode(alias)),
                Some(&body),
            )
            .await?;
        }
        Ok(())
    }

    /// The artifact's id, creating it if the project has none by that name.
    async fn artifact_id(&self, project: Uuid, artifact: &Artifact) -> Result<Uuid> {
        if let Some(id) = self.existing_artifact(project, &artifact.name).await? {
            return Ok(id);
        }
        let body = CreateArtifactDto {
            project_id: project,
            name: artifact.name.clone(),
            artifact_type: artifact.artifact_type.as_str().to_owned(),
            description: artifact.description.clone(),
            metadata: artifact.metadata.clone(),
        };
        match self
            .post::<wanllmdb_api::ArtifactDto>("/artifacts", to_body(&body)?)
            .await
        {
            Ok(created) => Ok(created.id),
            // Another process or thread made it since we looked: log into that one.
            Err(ClientError::Api(p)) if p.status == 409 => self
                .existing_artifact(project, &artifact.name)
                .await?
                .ok_or(ClientError::Api(p)),
            Err(e) => Err(e),
        }
    }

    async fn existing_artifact(&self, project: Uuid, name: &str) -> Result<Option<Uuid>> {
        let found: PageDto<wanllmdb_api::ArtifactDto> = self
            .get(&format!(
                "/artifacts?project_id={project}&name={}&limit=1000",
                encode(name)
            ))
            .await?;
        Ok(found
            .items
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.id))
    }

    /// Sends one file's bytes as its plan says: nothing, one PUT, or parts then complete.
    /// Progress advances by the file once it is stored (by each part, for one in parts).
    async fn upload(&self, version: Uuid, file: &Hashed, plan: UploadUrlDto) -> Result<Sent> {
        let multipart = plan.upload_url.is_none() && !plan.already_stored;
        let sent = self.upload_as_planned(version, file, plan).await?;
        if !multipart {
            self.progress_advance(file.size);
        }
        Ok(sent)
    }

    async fn upload_as_planned(
        &self,
        version: Uuid,
        file: &Hashed,
        plan: UploadUrlDto,
    ) -> Result<Sent> {
        if plan.already_stored {
            let told = plan.md5_hash.as_deref().map(Md5::parse).transpose();
            let told = told.map_err(|e| {
                ClientError::Invalid(format!("{}: the registry's MD5: {e}", file.path))
            })?;
            return Ok(Sent {
                bytes: 0,
                md5: file.md5.clone().or(told),
            });
        }
        if plan.upload_url.is_some() {
            // A single PUT is bound to the MD5; this registry plans none without it.
            let file = &with_md5(file).await?;
            let resp = self.put_file(file, &plan).await?;
            if !renewable(resp) {
                return put_outcome(file, resp);
            }
            // The URL expired while other files went up: negotiate this file anew, once.
            let fresh: UploadUrlDto = self
                .post(
                    &format!("/artifacts/versions/{version}/files/upload-url"),
                    to_body(&file.spec())?,
                )
                .await?;
            if fresh.already_stored {
                return Ok(Sent {
                    bytes: 0,
                    md5: file.md5.clone(),
                });
            }
            if fresh.upload_url.is_some() {
                let resp = self.put_file(file, &fresh).await?;
                return put_outcome(file, resp);
            }
            return self.upload_multipart(version, file, fresh.multipart).await;
        }
        self.upload_multipart(version, file, plan.multipart).await
    }

    /// One PUT of a whole file to the plan's URL with the headers it is bound to (transient
    /// failures retried); the store's answer.
    async fn put_file(&self, file: &Hashed, plan: &UploadUrlDto) -> Result<reqwest::StatusCode> {
        retrying(|| self.put_file_once(file, plan)).await
    }

    async fn put_file_once(
        &self,
        file: &Hashed,
        plan: &UploadUrlDto,
    ) -> Result<reqwest::StatusCode> {
        let req = self
            .http
            .put(plan.upload_url.as_deref().unwrap_or_default())
            .header("content-length", file.size)
            .body(self.file_range(file, 0, file.size).await?);
        let resp = signed_headers(req, plan.headers.as_ref()).send().await?;
        if transient_status(resp.status()) {
            return Err(store_error(file.path.to_string(), &resp));
        }
        Ok(resp.status())
    }

    /// Sends a large file in parts. An upload an earlier, interrupted call left (remembered in
    /// the state directory) is resumed: only its missing parts are sent, and the new upload the
    /// server just started is aborted.
    async fn upload_multipart(
        &self,
        version: Uuid,
        file: &Hashed,
        plan: Option<MultipartDto>,
    ) -> Result<Sent> {
        let plan =
            plan.ok_or_else(|| ClientError::Invalid(format!("no upload plan for {}", file.path)))?;
        let md5_pass = file.md5.is_none().then(|| Md5Pass::start(&file.local));
        let fresh_id = plan.upload_id;
        let part_size = plan.part_size;
        let sha = file.sha256.as_str();
        let mut upload_id = fresh_id.clone();
        let mut todo: Vec<PartUrlDto> = plan.parts;
        let mut done: Vec<(u32, String)> = Vec::new();
        if let Some(old) = self.remembered_upload(sha) {
            // A dropped connection here must not cost the stored parts: tried again like a
            // transfer. Only an answer (the upload is gone) starts the file afresh.
            let path =
                format!("/artifacts/versions/{version}/files/multipart/{old}?sha256_hash={sha}");
            let listed: Result<Vec<StoredPartDto>> = retrying(|| self.get(&path)).await;
            if let Ok(listed) = listed {
                done = listed
                    .into_iter()
                    .map(|p| (p.part_number, p.etag))
                    .collect();
                let have: std::collections::BTreeSet<u32> = done.iter().map(|d| d.0).collect();
                let missing: Vec<u32> = todo
                    .iter()
                    .map(|p| p.part_number)
                    .filter(|n| !have.contains(n))
                    .collect();
                todo = if missing.is_empty() {
                    Vec::new()
                } else {
                    self.part_urls(version, file, &old, missing).await?
                };
                let _: Result<()> = self
                    .call(reqwest::Method::DELETE, &format!("/artifacts/versions/{version}/files/multipart/{fresh_id}?sha256_hash={sha}"), None)
                    .await;
                upload_id = old;
            }
        }
        self.remember_upload(sha, &upload_id);
        let resumed = file.size - todo.iter().map(|p| p.size).sum::<u64>().min(file.size);
        self.progress_advance(resumed);
        let sent: Vec<(u32, String)> = futures::stream::iter(todo.into_iter().map(|part| {
            let size = part.size;
            let upload_id = &upload_id;
            async move {
                let sent = self
                    .upload_part(version, file, upload_id, part_size, part)
                    .await?;
                self.progress_advance(size);
                Ok::<_, ClientError>(sent)
            }
        }))
        .buffer_unordered(self.concurrency.min(4))
        .try_collect()
        .await?;
        let sent_bytes: u64 = sent
            .iter()
            .map(|(n, _)| part_size.min(file.size.saturating_sub(u64::from(*n - 1) * part_size)))
            .sum();
        let mut etags = done;
        etags.extend(sent);
        etags.sort();
        let mut file = file.clone();
        if let Some(pass) = md5_pass {
            file.md5 = Some(pass.finish(&file).await?);
        }
        let body = CompleteDto {
            file: file.fields(),
            parts: etags
                .into_iter()
                .map(|(part_number, etag)| CompletedPartDto { part_number, etag })
                .collect(),
        };
        let completed: Result<StoredDto> = self
            .post(
                &format!("/artifacts/versions/{version}/files/multipart/{upload_id}/complete"),
                to_body(&body)?,
            )
            .await;
        // Finished or refused, this upload is not one to resume.
        self.forget_upload(sha);
        completed?;
        Ok(Sent {
            bytes: sent_bytes,
            md5: file.md5,
        })
    }

    /// Fresh URLs for some parts of a multipart upload.
    async fn part_urls(
        &self,
        version: Uuid,
        file: &Hashed,
        upload_id: &str,
        parts: Vec<u32>,
    ) -> Result<Vec<PartUrlDto>> {
        let body = PartUrlsDto {
            file: file.fields(),
            parts,
        };
        let renewed: MultipartDto = self
            .post(
                &format!("/artifacts/versions/{version}/files/multipart/{upload_id}/part-urls"),
                to_body(&body)?,
            )
            .await?;
        Ok(renewed.parts)
    }

    /// One part; a URL the store refuses (expired) is renewed once.
    async fn upload_part(
        &self,
        version: Uuid,
        file: &Hashed,
        upload_id: &str,
        part_size: u64,
        part: PartUrlDto,
    ) -> Result<(u32, String)> {
        let n = part.part_number;
        let size = part.size;
        let offset = u64::from(n.saturating_sub(1)) * part_size;
        let mut headers = part.headers;
        let mut url = part.url;
        for attempt in 0..2 {
            // Streamed from the file: parts never sit whole in memory.
            let resp = retrying(|| async {
                let body = self.file_range(file, offset, size).await?;
                let req = self
                    .http
                    .put(&url)
                    .header("content-length", size)
                    .body(body);
                let resp = signed_headers(req, Some(&headers)).send().await?;
                if transient_status(resp.status()) {
                    return Err(store_error(format!("{} (part {n})", file.path), &resp));
                }
                Ok(resp)
            })
            .await?;
            if resp.status().is_success() {
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                return Ok((n, etag));
            }
            if attempt == 0 && renewable(resp.status()) {
                let renewed = self
                    .part_urls(version, file, upload_id, vec![n])
                    .await?
                    .into_iter()
                    .find(|p| p.part_number == n)
                    .ok_or_else(|| {
                        ClientError::Invalid(format!("{}: no fresh URL for part {n}", file.path))
                    })?;
                (url, headers) = (renewed.url, renewed.headers);
                continue;
            }
            return Err(store_error(format!("{} (part {n})", file.path), &resp));
        }
        Err(ClientError::Invalid(format!(
            "{}: part {n} refused after renewing its URL",
            file.path
        )))
    }

    /// `len` bytes of a file from `offset`, as a request body read while it is sent.
    async fn file_range(&self, file: &Hashed, offset: u64, len: u64) -> Result<reqwest::Body> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut f = tokio::fs::File::open(&file.local)
            .await
            .map_err(|e| io(&file.local, e))?;
        f.seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| io(&file.local, e))?;
        Ok(reqwest::Body::wrap_stream(
            tokio_util::io::ReaderStream::with_capacity(f.take(len), 1 << 20),
        ))
    }
}

/// Best effort: a hash cache that cannot be written only costs a later hashing.
async fn remember(memo: Option<HashCache>, files: Vec<(PathBuf, Stamp, Sha256, Option<Md5>)>) {
    if let Some(memo) = memo.filter(|_| !files.is_empty()) {
        let _ = tokio::task::spawn_blocking(move || memo.remember(&files)).await;
    }
}

/// Gives every file of a batch its MD5: taken while sending, told by the registry, that of an
/// earlier file with the same bytes, or (for a registry that said nothing) read now.
async fn learn_md5s(batch: &mut [Hashed], sent: Vec<Sent>) -> Result<()> {
    for (file, sent) in batch.iter_mut().zip(&sent) {
        if file.md5.is_none() {
            file.md5.clone_from(&sent.md5);
        }
    }
    let known: std::collections::HashMap<Sha256, Md5> = batch
        .iter()
        .filter_map(|f| Some((f.sha256.clone(), f.md5.clone()?)))
        .collect();
    for file in batch.iter_mut().filter(|f| f.md5.is_none()) {
        file.md5 = match known.get(&file.sha256) {
            Some(m) => Some(m.clone()),
            None => with_md5(file).await?.md5,
        };
    }
    Ok(())
}

fn put_outcome(file: &Hashed, status: reqwest::StatusCode) -> Result<Sent> {
    if status.is_success() {
        Ok(Sent {
            bytes: file.size,
            md5: file.md5.clone(),
        })
    } else {
        Err(ClientError::Store {
            path: file.path.to_string(),
            status: status.as_u16(),
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wanllmdb_domain::ports::PARALLEL_HASH_THRESHOLD;

    #[tokio::test]
    async fn files_hash_the_same_as_one_pass_and_big_ones_leave_md5_to_the_upload() {
        let dir = std::env::temp_dir().join(format!("wanllmdb-hash-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        for size in [
            0usize,
            5,
            (1 << 20) + 3,
            (PARALLEL_HASH_THRESHOLD as usize) + (5 << 20) + 7,
            (MD5_WHILE_SENDING as usize) + 1,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let local = dir.join(format!("f{size}"));
            std::fs::write(&local, &bytes).expect("write");
            let (h, _) = hash_file(local, FilePath::parse("f").expect("path"))
                .await
                .expect("hash");
            assert_eq!(h.size, size as u64);
            assert_eq!(h.sha256, Sha256::of(&bytes), "{size}");
            let big = size as u64 > MD5_WHILE_SENDING;
            assert_eq!(h.md5, (!big).then(|| Md5::of(&bytes)), "{size}");
            let told = with_md5(&h).await.expect("md5 pass").md5;
            assert_eq!(told, Some(Md5::of(&bytes)), "{size}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
