//! Logging (hash, negotiate, upload what is missing, register, finalize) and using (resolve,
//! record, download with verification) artifacts.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use md5::Digest as _;
use std::collections::BTreeMap;

use tokio::io::AsyncWriteExt;
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

/// Files per negotiate or register request.
const BATCH: usize = 1000;

/// Files up to this size are moved `SMALL_FILE_FACTOR` times as many at once as larger ones:
/// their transfer time is round trips, not bandwidth, and they cost little memory.
const SMALL_FILE: u64 = 1 << 20;
const SMALL_FILE_FACTOR: usize = 8;

/// Transfers run `concurrency * SMALL_FILE_FACTOR` wide; one of more than `SMALL_FILE` bytes
/// also holds one of `large`'s `concurrency` permits while it runs.
async fn slot(
    large: &tokio::sync::Semaphore,
    size: u64,
) -> Result<Option<tokio::sync::SemaphorePermit<'_>>> {
    if size <= SMALL_FILE {
        return Ok(None);
    }
    large
        .acquire()
        .await
        .map(Some)
        .map_err(|e| ClientError::Invalid(format!("transfer slots closed: {e}")))
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

/// A file ready to log.
#[derive(Debug, Clone)]
struct Hashed {
    local: PathBuf,
    path: FilePath,
    size: u64,
    md5: Md5,
    sha256: Sha256,
}

impl Hashed {
    fn spec(&self) -> FileSpecDto {
        FileSpecDto::of(
            self.path.to_string(),
            self.size,
            self.md5.to_string(),
            self.sha256.to_string(),
        )
    }

    fn fields(&self) -> FileSpecFields {
        FileSpecFields {
            path: self.path.to_string(),
            size: self.size,
            md5_hash: self.md5.to_string(),
            sha256_hash: self.sha256.to_string(),
        }
    }
}

/// A file to download, with its presigned URL unless the cache was expected to hold it.
struct Fetch {
    file: FileDto,
    url: Option<String>,
}

impl From<DownloadUrlDto> for Fetch {
    fn from(d: DownloadUrlDto) -> Self {
        Self {
            file: d.file,
            url: Some(d.download_url),
        }
    }
}

/// One page of files to download, and the cursor of the next.
type FetchPage = (Vec<Fetch>, Option<String>);

fn io(path: &Path, source: std::io::Error) -> ClientError {
    ClientError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// MD5 and SHA-256 in one read of the file, off the async threads (MD5 on a second thread for
/// big files).
async fn hash_file(local: PathBuf, path: FilePath) -> Result<Hashed> {
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&local).map_err(|e| io(&local, e))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let (sha256, md5, size) = hash_reader(f, len).map_err(|e| io(&local, e))?;
        Ok(Hashed {
            local,
            path,
            size,
            md5,
            sha256,
        })
    })
    .await
    .map_err(|e| ClientError::Invalid(format!("hashing task failed: {e}")))?
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
        let hashed: Vec<Hashed> = futures::stream::iter(
            artifact
                .files
                .iter()
                .cloned()
                .map(|(local, path)| hash_file(local, path)),
        )
        .buffer_unordered(self.concurrency)
        .try_collect()
        .await?;
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
                });
            }
        }
        let body = CreateVersionDto {
            description: String::new(),
            metadata: serde_json::Value::Null,
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
        for batch in hashed.chunks(BATCH) {
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
            // `buffered`: results in file order, to pair them with the files (see `slot`).
            let large = tokio::sync::Semaphore::new(self.concurrency);
            let large = &large;
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
            let sent: Vec<u64> =
                futures::stream::iter(batch.iter().cloned().zip(plans).map(|(file, plan)| {
                    // Owned items: a borrowed one makes this future not `Send`.
                    let vid = version.id;
                    async move {
                        let _slot = slot(large, file.size).await?;
                        let sent = self.upload(vid, &file, plan).await?;
                        self.progress_advance(file.size);
                        Ok::<u64, ClientError>(sent)
                    }
                }))
                .buffered(self.concurrency * SMALL_FILE_FACTOR)
                .try_collect()
                .await?;
            for sent in &sent {
                if *sent > 0 {
                    uploaded_files += 1;
                    uploaded_bytes += *sent;
                }
            }
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
        })
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
        let found: PageDto<wanllmdb_api::ArtifactDto> = self
            .get(&format!(
                "/artifacts?project_id={project}&name={}&limit=1000",
                encode(&artifact.name)
            ))
            .await?;
        if let Some(a) = found.items.iter().find(|a| a.name == artifact.name) {
            return Ok(a.id);
        }
        let body = CreateArtifactDto {
            project_id: project,
            name: artifact.name.clone(),
            artifact_type: artifact.artifact_type.as_str().to_owned(),
            description: artifact.description.clone(),
            metadata: artifact.metadata.clone(),
        };
        let created: wanllmdb_api::ArtifactDto = self.post("/artifacts", to_body(&body)?).await?;
        Ok(created.id)
    }

    /// Sends one file's bytes as its plan says: nothing, one PUT, or parts then complete.
    async fn upload(&self, version: Uuid, file: &Hashed, plan: UploadUrlDto) -> Result<u64> {
        if plan.already_stored {
            return Ok(0);
        }
        if plan.upload_url.is_some() {
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
                return Ok(0);
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
            return Err(ClientError::Store {
                path: file.path.to_string(),
                status: resp.status().as_u16(),
            });
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
    ) -> Result<u64> {
        let plan =
            plan.ok_or_else(|| ClientError::Invalid(format!("no upload plan for {}", file.path)))?;
        let fresh_id = plan.upload_id;
        let part_size = plan.part_size;
        let sha = file.sha256.as_str();
        let mut upload_id = fresh_id.clone();
        let mut todo: Vec<PartUrlDto> = plan.parts;
        let mut done: Vec<(u32, String)> = Vec::new();
        if let Some(old) = self.remembered_upload(sha) {
            let listed: Result<Vec<StoredPartDto>> = self
                .get(&format!(
                    "/artifacts/versions/{version}/files/multipart/{old}?sha256_hash={sha}"
                ))
                .await;
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
        let sent: Vec<(u32, String)> = futures::stream::iter(
            todo.into_iter()
                .map(|part| self.upload_part(version, file, &upload_id, part_size, part)),
        )
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
        Ok(sent_bytes)
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

    fn state_file(&self, sha256: &str) -> Option<PathBuf> {
        self.state_dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}.upload")))
    }

    fn remembered_upload(&self, sha256: &str) -> Option<String> {
        let id = std::fs::read_to_string(self.state_file(sha256)?).ok()?;
        Some(id.trim().to_owned()).filter(|s| !s.is_empty())
    }

    fn remember_upload(&self, sha256: &str, upload_id: &str) {
        if let Some(path) = self.state_file(sha256) {
            // Without the note, an interruption only costs resending parts.
            let _ = path.parent().map(std::fs::create_dir_all);
            let _ = std::fs::write(path, upload_id);
        }
    }

    fn forget_upload(&self, sha256: &str) {
        if let Some(path) = self.state_file(sha256) {
            let _ = std::fs::remove_file(path);
        }
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
                    return Err(ClientError::Store {
                        path: format!("{} (part {n})", file.path),
                        status: resp.status().as_u16(),
                    });
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
            return Err(ClientError::Store {
                path: format!("{} (part {n})", file.path),
                status: resp.status().as_u16(),
            });
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

    /// Resolves a reference and, with a run, records the run as a user of that version.
    pub async fn use_artifact(&self, reference: &str, run: Option<Uuid>) -> Result<UsedArtifact> {
        let mut path = format!("/resolve?ref={}", encode(reference));
        if let Some(r) = run {
            path.push_str(&format!("&run_id={r}"));
        }
        let resolved: ResolvedDto = self.get(&path).await?;
        Ok(UsedArtifact {
            client: self.clone(),
            version: resolved.version,
        })
    }
}

/// A resolved version, ready to download.
#[derive(Debug, Clone)]
pub struct UsedArtifact {
    client: Client,
    pub version: VersionInfo,
}

impl UsedArtifact {
    /// Downloads every file into `dir` (created), verifying each file's SHA-256 while it
    /// streams; a file that fails is removed and the download fails naming it. Paths from the
    /// server are re-validated, so nothing is ever written outside `dir`. Returns `dir`.
    pub async fn download(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        self.download_with(dir.as_ref(), None).await?;
        Ok(dir.as_ref().to_owned())
    }

    /// Downloads the files whose path starts with `prefix` (all with `None`), taking what the
    /// client's cache holds from the cache; tells what moved. Files come a page at a time with
    /// their presigned URLs (one request per 1,000 files), and the next page is asked for while
    /// the current one downloads.
    pub async fn download_with(&self, dir: &Path, prefix: Option<&str>) -> Result<DownloadStats> {
        let dir = dir.to_owned();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io(&dir, e))?;
        // Without a prefix the total is known; with one, it grows page by page.
        let known_total = prefix.is_none();
        self.client.progress_start(
            "download",
            if known_total {
                self.version.total_size
            } else {
                0
            },
        );
        let mut stats = DownloadStats::default();
        let recorded = std::sync::atomic::AtomicBool::new(false);
        let mut page = self.download_page(prefix, None, &recorded).await?;
        loop {
            let (items, next) = page;
            if !known_total {
                self.client
                    .progress_grow(items.iter().map(|i| i.file.size).sum());
            }
            let files = self.fetch_all(&dir, items);
            let (outcomes, following) = match &next {
                Some(c) => {
                    let (o, f) =
                        futures::join!(files, self.download_page(prefix, Some(c), &recorded));
                    (o?, Some(f?))
                }
                None => (files.await?, None),
            };
            for o in outcomes {
                stats.files += 1;
                match o {
                    Some(bytes) => {
                        stats.fetched_files += 1;
                        stats.fetched_bytes += bytes;
                    }
                    None => stats.cached_files += 1,
                }
            }
            match following {
                Some(p) => page = p,
                None => break,
            }
        }
        self.client.progress_finish();
        Ok(stats)
    }

    /// Downloads a page's items: small files many at once (a small transfer is all latency),
    /// larger ones `concurrency` at a time.
    async fn fetch_all(&self, dir: &Path, items: Vec<Fetch>) -> Result<Vec<Option<u64>>> {
        let large = tokio::sync::Semaphore::new(self.client.concurrency);
        let large = &large;
        futures::stream::iter(items.into_iter().map(|item| async move {
            let size = item.file.size;
            let _slot = slot(large, size).await?;
            let got = self.fetch(dir, item).await?;
            self.client.progress_advance(size);
            Ok::<Option<u64>, ClientError>(got)
        }))
        .buffer_unordered(self.client.concurrency * SMALL_FILE_FACTOR)
        .try_collect()
        .await
    }

    /// A page of files with their URLs. Without a cache, one request both lists
    /// and presigns (the server records one download per listing, on its first page). With a
    /// cache, the page is listed first and URLs are asked for only when some file is not cached,
    /// so a download served wholly from the cache costs the registry no transfer and no record;
    /// `recorded` makes sure a download that did fetch is recorded once.
    async fn download_page(
        &self,
        prefix: Option<&str>,
        cursor: Option<&str>,
        recorded: &std::sync::atomic::AtomicBool,
    ) -> Result<FetchPage> {
        use std::sync::atomic::Ordering;
        let body = wanllmdb_api::FilesQuery {
            prefix: prefix.map(str::to_owned),
            limit: Some(1000),
            cursor: cursor.map(str::to_owned),
        };
        if let Some(cache) = &self.client.cache {
            let mut path = format!("/artifacts/versions/{}/files?limit=1000", self.version.id);
            if let Some(p) = prefix {
                path.push_str(&format!("&prefix={}", encode(p)));
            }
            if let Some(c) = cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let listed: PageDto<FolderEntryDto> = self.client.get(&path).await?;
            let files: Vec<FileDto> = listed
                .items
                .into_iter()
                .filter_map(|e| match e {
                    FolderEntryDto::File(f) => Some(f),
                    // Only a listing with a delimiter names folders.
                    FolderEntryDto::Folder { .. } => None,
                })
                .collect();
            let all_cached = files.iter().all(|f| {
                Sha256::parse(&f.sha256_hash)
                    .ok()
                    .and_then(|sha| cache.get(&sha, f.size))
                    .is_some()
            });
            if all_cached {
                let items = files
                    .into_iter()
                    .map(|file| Fetch { file, url: None })
                    .collect();
                return Ok((items, listed.next_cursor));
            }
            if cursor.is_some() && !recorded.swap(true, Ordering::SeqCst) {
                self.client
                    .post::<DownloadDto>(
                        &format!("/artifacts/versions/{}/downloads", self.version.id),
                        serde_json::json!({}),
                    )
                    .await?;
            }
        }
        if cursor.is_none() {
            recorded.store(true, Ordering::SeqCst);
        }
        let page: PageDto<DownloadUrlDto> = self
            .client
            .post(
                &format!("/artifacts/versions/{}/download-urls", self.version.id),
                to_body(&body)?,
            )
            .await?;
        Ok((
            page.items.into_iter().map(Fetch::from).collect(),
            page.next_cursor,
        ))
    }

    /// One file into place; `Some(bytes)` when fetched from the registry, `None` from the cache.
    async fn fetch(&self, dir: &Path, item: Fetch) -> Result<Option<u64>> {
        let file = &item.file;
        let raw = file.path.as_str();
        // The server's word is not trusted for where a file goes.
        let path = FilePath::parse(raw)
            .map_err(|e| ClientError::Invalid(format!("refusing to write {raw:?}: {e}")))?;
        let expected = Sha256::parse(&file.sha256_hash)
            .map_err(|e| ClientError::Invalid(format!("{path}: {e}")))?;
        let size = file.size;
        let target = dir.join(path.as_str());
        if !target.starts_with(dir) {
            return Err(ClientError::Invalid(format!(
                "refusing to write {raw:?} outside {}",
                dir.display()
            )));
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io(parent, e))?;
        }
        let tmp = target.with_extension(format!("wanllmdb-part-{}", Uuid::now_v7().simple()));
        let cached = self
            .client
            .cache
            .as_ref()
            .and_then(|c| c.get(&expected, size));
        let result = async {
            let fetched = match &cached {
                Some(copy) => {
                    let f = tokio::fs::File::open(copy).await.map_err(|e| io(copy, e))?;
                    let body = tokio_util::io::ReaderStream::new(f).map_err(|e| io(copy, e));
                    write_verified(&tmp, &path, &expected, body).await?;
                    None
                }
                None => {
                    let id = file.id;
                    let fresh_url = || async move {
                        let fresh: DownloadUrlDto = self
                            .client
                            .get(&format!("/artifacts/files/{id}/download-url"))
                            .await?;
                        Ok::<String, ClientError>(fresh.download_url)
                    };
                    // No URL: the file left the cache after its page was listed.
                    let url = match &item.url {
                        Some(u) => u.clone(),
                        None => fresh_url().await?,
                    };
                    // Renewed at most once; kept for the retries after that.
                    let url = std::sync::Mutex::new(url);
                    retrying(|| async {
                        let current = url.lock().map(|u| u.clone()).unwrap_or_default();
                        let mut resp = self.client.http.get(&current).send().await?;
                        if renewable(resp.status()) {
                            // The URL expired while earlier files downloaded: ask anew.
                            let fresh = fresh_url().await?;
                            resp = self.client.http.get(&fresh).send().await?;
                            if let Ok(mut u) = url.lock() {
                                *u = fresh;
                            }
                        }
                        let resp = refused(resp, &path)?;
                        write_verified(
                            &tmp,
                            &path,
                            &expected,
                            resp.bytes_stream().map_err(ClientError::from),
                        )
                        .await
                    })
                    .await?;
                    if let Some(cache) = &self.client.cache {
                        // A cache that cannot keep a copy only costs a later transfer.
                        let _ = cache.put(&expected, &tmp);
                    }
                    Some(size)
                }
            };
            tokio::fs::rename(&tmp, &target)
                .await
                .map_err(|e| io(&target, e))?;
            Ok(fetched)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
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

fn put_outcome(file: &Hashed, status: reqwest::StatusCode) -> Result<u64> {
    if status.is_success() {
        Ok(file.size)
    } else {
        Err(ClientError::Store {
            path: file.path.to_string(),
            status: status.as_u16(),
        })
    }
}

/// How many times a transfer is tried again after a transient failure.
const RETRIES: u32 = 3;

/// Runs `op` again after a growing pause (0.25, 0.5, 1 s) when it fails in a way a retry may
/// cure: a dropped or timed-out connection, or a store answering 5xx or 429.
async fn retrying<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if attempt < RETRIES && transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Http(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
        ClientError::Store { status, .. } => {
            transient_status(reqwest::StatusCode::from_u16(*status).unwrap_or_default())
        }
        _ => false,
    }
}

fn transient_status(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}

/// The response if it is a success; the store's refusal as an error otherwise.
fn refused(resp: reqwest::Response, path: &FilePath) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(ClientError::Store {
            path: path.to_string(),
            status: resp.status().as_u16(),
        })
    }
}

/// Writes a stream to `tmp`, failing with an integrity error unless it hashes to `expected`.
async fn write_verified<S>(
    tmp: &Path,
    path: &FilePath,
    expected: &Sha256,
    mut body: S,
) -> Result<()>
where
    S: futures::Stream<Item = Result<bytes::Bytes>> + Unpin,
{
    let mut out = tokio::fs::File::create(tmp).await.map_err(|e| io(tmp, e))?;
    let mut sha = sha2::Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        sha.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| io(tmp, e))?;
    }
    out.flush().await.map_err(|e| io(tmp, e))?;
    let actual = Sha256::from_bytes(sha.finalize().into());
    if actual != *expected {
        return Err(ClientError::Integrity {
            path: path.to_string(),
            expected: expected.to_string(),
            actual: actual.into_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wanllmdb_domain::ports::PARALLEL_HASH_THRESHOLD;

    #[tokio::test]
    async fn small_and_big_files_hash_the_same_as_one_pass() {
        let dir = std::env::temp_dir().join(format!("wanllmdb-hash-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        for size in [
            0usize,
            5,
            (1 << 20) + 3,
            (PARALLEL_HASH_THRESHOLD as usize) + (5 << 20) + 7,
        ] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let local = dir.join(format!("f{size}"));
            std::fs::write(&local, &bytes).expect("write");
            let h = hash_file(local, FilePath::parse("f").expect("path"))
                .await
                .expect("hash");
            assert_eq!(h.size, size as u64);
            assert_eq!(h.sha256, Sha256::of(&bytes), "{size}");
            assert_eq!(h.md5, Md5::of(&bytes), "{size}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
