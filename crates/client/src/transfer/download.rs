//! Using an artifact: resolve, record the run, download page by page through presigned URLs or
//! the cache, verifying every file's SHA-256 while it streams.

use super::*;
use crate::cache::{Cache, Shared};

/// A file to download, with its presigned URL unless the cache was expected to hold it, and
/// its cached copy if there is one.
struct Fetch {
    file: FileDto,
    url: Option<String>,
    cached: Option<PathBuf>,
}

/// What fetching one file did: the bytes fetched from the registry (`None`: taken from the
/// cache), and the bytes newly stored in the cache, to record in its index.
type Fetched = (Option<u64>, Option<Sha256>);

/// One page of files to download, and the cursor of the next.
type FetchPage = (Vec<Fetch>, Option<String>);

/// Received chunks queued for the thread that hashes and writes a file, and the bytes that
/// thread gathers per write.
const WRITE_AHEAD: usize = 32;
const WRITE_BUFFER: usize = 256 << 10;

impl Client {
    /// Resolves a reference and, with a run, records the run as a user of that version.
    pub async fn use_artifact(&self, reference: &str, run: Option<Uuid>) -> Result<UsedArtifact> {
        let mut path = format!("/resolve?ref={}", encode(reference));
        if let Some(r) = run {
            path.push_str(&format!("&run_id={r}"));
        }
        let resolved: ResolvedDto = self.get(&path).await?;
        Ok(UsedArtifact {
            client: self.clone(),
            artifact: resolved.artifact,
            version: resolved.version,
        })
    }
}

/// A resolved version, ready to download.
#[derive(Debug, Clone)]
pub struct UsedArtifact {
    client: Client,
    pub artifact: wanllmdb_api::ArtifactDto,
    pub version: VersionInfo,
}

impl UsedArtifact {
    /// Downloads without the local cache: nothing is taken from it or kept in it.
    pub fn skip_cache(mut self) -> Self {
        self.client.cache = None;
        self
    }

    /// Downloads every file into `dir` (created), verifying each file's SHA-256 while it
    /// streams; a file that fails is removed and the download fails naming it. Paths from the
    /// server are re-validated, so nothing is ever written outside `dir`. Returns `dir`.
    pub async fn download(&self, dir: impl AsRef<Path>) -> Result<PathBuf> {
        self.download_with(dir.as_ref(), None).await?;
        Ok(dir.as_ref().to_owned())
    }

    /// Checks the files under `dir` against this version: every file (under `prefix`, all with
    /// `None`) is there with its recorded size and SHA-256, read in full (no cache is trusted).
    /// Files in `dir` that the version does not have are left alone. Returns how many files
    /// were checked; the first that differs fails naming it (`ClientError::Integrity`, or
    /// `Io` for a missing one).
    pub async fn verify(&self, dir: &Path, prefix: Option<&str>) -> Result<u64> {
        let mut listing = format!("/artifacts/versions/{}/files?", self.version.id);
        if let Some(p) = prefix {
            listing.push_str(&format!("prefix={}", encode(p)));
        }
        let files: Vec<FileDto> = self.client.all_pages(&listing).await?;
        let checks = files.into_iter().map(|file| {
            let dir = dir.to_owned();
            blocking(move || {
                let path = FilePath::parse(&file.path)
                    .map_err(|e| ClientError::Invalid(format!("{:?}: {e}", file.path)))?;
                let expected = Sha256::parse(&file.sha256_hash)
                    .map_err(|e| ClientError::Invalid(format!("{path}: {e}")))?;
                let (actual, size) = sha256_of_file(&dir.join(path.as_str()))?;
                if actual != expected || size != file.size {
                    return Err(ClientError::Integrity {
                        path: path.to_string(),
                        expected: expected.to_string(),
                        actual: if size == file.size {
                            actual.to_string()
                        } else {
                            format!("{actual} ({size} bytes, not {})", file.size)
                        },
                    });
                }
                Ok(())
            })
        });
        futures::stream::iter(checks)
            .buffer_unordered(self.client.concurrency)
            .try_fold(0u64, |n, ()| async move { Ok(n + 1) })
            .await
    }

    /// Downloads the files whose path starts with `prefix` (all with `None`), taking what the
    /// client's cache holds from the cache; tells what moved. Files come a page at a time with
    /// their presigned URLs (one request per 1,000 files), and the next page is asked for while
    /// the current one downloads.
    pub async fn download_with(&self, dir: &Path, prefix: Option<&str>) -> Result<DownloadStats> {
        self.download_where(dir, prefix, false).await
    }

    /// Downloads the one file at `path` to `dir/path` (verified, through the cache as
    /// `download_with`); `files` is 0 in the answer when the version has no such file.
    pub async fn download_file(&self, dir: &Path, path: &str) -> Result<DownloadStats> {
        self.download_where(dir, Some(path), true).await
    }

    /// Files under `prefix`, or with `exact` the file at path `prefix` only.
    async fn download_where(
        &self,
        dir: &Path,
        prefix: Option<&str>,
        exact: bool,
    ) -> Result<DownloadStats> {
        let dir = dir.to_owned();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io(&dir, e))?;
        // Without a prefix the total is known; with one, it grows page by page.
        let known_total = prefix.is_none() && !exact;
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
            let (mut items, next) = page;
            if exact {
                items.retain(|i| Some(i.file.path.as_str()) == prefix);
            }
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
    /// What the cache newly holds is recorded in its index once per page. When a file fails,
    /// no further file is started, those under way finish (nothing is cut off half-written),
    /// and the first failure is returned.
    async fn fetch_all(&self, dir: &Path, items: Vec<Fetch>) -> Result<Vec<Option<u64>>> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let slots = Slots::new(self.client.concurrency);
        let (slots, failed) = (&slots, &AtomicBool::new(false));
        let results: Vec<Result<Option<Fetched>>> =
            futures::stream::iter(items.into_iter().map(|item| async move {
                let size = item.file.size;
                let _slot = slots.take(size).await?;
                if failed.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                match self.fetch(dir, item, slots).await {
                    Ok(got) => {
                        self.client.progress_advance(size);
                        Ok(Some(got))
                    }
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        Err(e)
                    }
                }
            }))
            .buffer_unordered(self.client.concurrency * SMALL_FILE_FACTOR)
            .collect()
            .await;
        let stored: Vec<Sha256> = results
            .iter()
            .filter_map(|r| r.as_ref().ok()?.as_ref()?.1.clone())
            .collect();
        if let (Some(cache), false) = (self.client.cache.clone(), stored.is_empty()) {
            // A cache that cannot record its copies only costs a later transfer.
            let _ = blocking(move || Ok(cache.record(&stored).ok())).await;
        }
        let mut done = Vec::with_capacity(results.len());
        for r in results {
            if let Some((fetched, _)) = r? {
                done.push(fetched);
            }
        }
        Ok(done)
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
        // Copies the cache holds, by file id.
        let mut held = std::collections::HashMap::new();
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
            let cache = cache.clone();
            let (files, copies) = blocking(move || {
                let wanted: Vec<(Sha256, u64)> = files
                    .iter()
                    .filter_map(|f| Some((Sha256::parse(&f.sha256_hash).ok()?, f.size)))
                    .collect();
                let copies = if wanted.len() == files.len() {
                    cache.get_many(&wanted)
                } else {
                    // A malformed digest: `fetch` refuses that file by name.
                    vec![None; files.len()]
                };
                Ok((files, copies))
            })
            .await?;
            if copies.iter().all(Option::is_some) {
                let items = files
                    .into_iter()
                    .zip(copies)
                    .map(|(file, cached)| Fetch {
                        file,
                        url: None,
                        cached,
                    })
                    .collect();
                return Ok((items, listed.next_cursor));
            }
            held = files
                .into_iter()
                .zip(copies)
                .filter_map(|(f, c)| Some((f.id, c?)))
                .collect();
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
        let items = page
            .items
            .into_iter()
            .map(|d| Fetch {
                cached: held.remove(&d.file.id),
                file: d.file,
                url: Some(d.download_url),
            })
            .collect();
        Ok((items, page.next_cursor))
    }

    /// One file into place (see `Fetched`).
    async fn fetch(&self, dir: &Path, item: Fetch, slots: &Slots) -> Result<Fetched> {
        let file = &item.file;
        let raw = file.path.as_str();
        // The server's word is not trusted for where a file goes.
        let path = FilePath::parse(raw)
            .map_err(|e| ClientError::Invalid(format!("refusing to write {raw:?}: {e}")))?;
        let expected = Sha256::parse(&file.sha256_hash)
            .map_err(|e| ClientError::Invalid(format!("{path}: {e}")))?;
        let target = dir.join(path.as_str());
        if !target.starts_with(dir) {
            return Err(ClientError::Invalid(format!(
                "refusing to write {raw:?} outside {}",
                dir.display()
            )));
        }
        let tmp = target.with_extension(format!("wanllmdb-part-{}", Uuid::now_v7().simple()));
        let want = Want {
            path,
            expected,
            size: file.size,
            tmp: tmp.clone(),
            target,
        };
        // Removed unless renamed into place, also when this download is dropped (Ctrl-C).
        let mut partial = Partial(Some(tmp));
        let result = self.fetch_into(&want, &item, slots).await;
        if result.is_ok() {
            partial.0 = None;
        }
        result
    }

    /// `fetch` once the target is known: from the cache's copy if it holds, else from the store.
    async fn fetch_into(&self, want: &Want, item: &Fetch, slots: &Slots) -> Result<Fetched> {
        let cache = self.client.cache.clone();
        if let (Some(cache), Some(copy)) = (&cache, &item.cached) {
            let turn = slots.write().await?;
            let copied = self.copy_from_cache(cache, copy, want).await;
            drop(turn);
            match copied {
                Ok(()) => {
                    rename(&want.tmp, &want.target).await?;
                    return Ok((None, None));
                }
                Err(_) => {
                    // A copy that no longer holds its bytes is dropped and fetched anew.
                    let _ = tokio::fs::remove_file(&want.tmp).await;
                    let (c, sha) = (cache.clone(), want.expected.clone());
                    let _ = blocking(move || Ok(c.remove(&sha).ok())).await;
                }
            }
        }
        let id = item.file.id;
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
        // A small file is held in memory, then verified, written, cached and put in place in
        // one trip to a blocking thread: its cost is round trips. A larger one streams to disk.
        let small = want.size <= SMALL_FILE;
        if !small {
            create_parent(&want.tmp).await?;
        }
        let body = retrying(|| async {
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
            let resp = refused(resp, &want.path)?;
            if small {
                return Ok(Some(resp.bytes().await?));
            }
            write_verified(
                &want.tmp,
                &want.path,
                &want.expected,
                resp.bytes_stream().map_err(ClientError::from),
            )
            .await?;
            Ok(None)
        })
        .await?;
        let fetched = Some(want.size);
        let stored = match body {
            Some(bytes) => {
                let (cache, want) = (cache, want.clone());
                let _turn = slots.write().await?;
                return blocking(move || {
                    let actual = Sha256::of(&bytes);
                    if actual != want.expected {
                        return Err(want.mismatch(actual));
                    }
                    if let Some(parent) = want.tmp.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                    }
                    std::fs::write(&want.tmp, &bytes).map_err(|e| io(&want.tmp, e))?;
                    let stored =
                        cache.and_then(|c| kept(c.store(&want.expected, &want.tmp), &want));
                    std::fs::rename(&want.tmp, &want.target).map_err(|e| io(&want.target, e))?;
                    Ok((fetched, stored))
                })
                .await;
            }
            None => match cache {
                Some(cache) => {
                    let w = want.clone();
                    blocking(move || Ok(kept(cache.store(&w.expected, &w.tmp), &w))).await?
                }
                None => None,
            },
        };
        rename(&want.tmp, &want.target).await?;
        Ok((fetched, stored))
    }
}

/// A half-written file, removed when dropped unless disarmed.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Where a downloaded file goes and what it must hash to.
#[derive(Debug, Clone)]
struct Want {
    path: FilePath,
    expected: Sha256,
    size: u64,
    /// Written first, renamed to `target` once verified.
    tmp: PathBuf,
    target: PathBuf,
}

impl Want {
    fn mismatch(&self, actual: Sha256) -> ClientError {
        ClientError::Integrity {
            path: self.path.to_string(),
            expected: self.expected.to_string(),
            actual: actual.into_string(),
        }
    }
}

/// The digest to record when the cache kept a copy (one it cannot keep only costs a later
/// transfer).
fn kept(stored: std::io::Result<Shared>, want: &Want) -> Option<Sha256> {
    matches!(stored, Ok(how) if how != Shared::Skipped).then(|| want.expected.clone())
}

async fn create_parent(file: &Path) -> Result<()> {
    match file.parent() {
        Some(parent) => tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io(parent, e)),
        None => Ok(()),
    }
}

async fn rename(from: &Path, to: &Path) -> Result<()> {
    tokio::fs::rename(from, to).await.map_err(|e| io(to, e))
}

impl UsedArtifact {
    /// Puts a cached copy at `want.tmp`, sharing its bytes where the filesystem allows (then
    /// reading it once to verify it: one trip to a blocking thread), else copying it while
    /// verifying.
    async fn copy_from_cache(&self, cache: &Cache, copy: &Path, want: &Want) -> Result<()> {
        let (c, from, w) = (cache.clone(), copy.to_owned(), want.clone());
        let placed = blocking(move || {
            if let Some(parent) = w.tmp.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            if c.place(&from, &w.tmp).is_none() {
                return Ok(false);
            }
            let (actual, _) = sha256_of_file(&w.tmp)?;
            if actual != w.expected {
                return Err(w.mismatch(actual));
            }
            Ok(true)
        })
        .await?;
        if placed {
            return Ok(());
        }
        let f = tokio::fs::File::open(copy).await.map_err(|e| io(copy, e))?;
        let body = tokio_util::io::ReaderStream::new(f).map_err(|e| io(copy, e));
        write_verified(&want.tmp, &want.path, &want.expected, body).await
    }
}

/// The SHA-256 and length of a file, read once (blocking).
fn sha256_of_file(path: &Path) -> Result<(Sha256, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut sha = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(path, e)),
        };
        sha.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Sha256::from_bytes(sha.finalize().into()), size))
}

/// Runs filesystem and cache-index work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Invalid(format!("a blocking task failed: {e}")))?
}

/// The response if it is a success; the store's refusal as an error otherwise.
fn refused(resp: reqwest::Response, path: &FilePath) -> Result<reqwest::Response> {
    if resp.status().is_success() {
        Ok(resp)
    } else {
        Err(store_error(path.to_string(), &resp))
    }
}

/// Writes a stream to `tmp`, failing with an integrity error unless it hashes to `expected`.
/// Hashing and writing run on a blocking thread while the next chunks arrive: SHA-256 costs
/// about as much CPU as receiving, so doing both on the task would serialise them.
async fn write_verified<S>(
    tmp: &Path,
    path: &FilePath,
    expected: &Sha256,
    mut body: S,
) -> Result<()>
where
    S: futures::Stream<Item = Result<bytes::Bytes>> + Unpin,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(WRITE_AHEAD);
    let file = tmp.to_owned();
    let writer = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let out = std::fs::File::create(&file).map_err(|e| io(&file, e))?;
        let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, out);
        let mut sha = sha2::Sha256::new();
        while let Some(chunk) = rx.blocking_recv() {
            sha.update(&chunk);
            out.write_all(&chunk).map_err(|e| io(&file, e))?;
        }
        out.flush().map_err(|e| io(&file, e))?;
        Ok::<_, ClientError>(Sha256::from_bytes(sha.finalize().into()))
    });
    let mut received = Ok(());
    while let Some(chunk) = body.next().await {
        match chunk {
            // A closed channel: the writer failed, and says why below.
            Ok(c) => {
                if tx.send(c).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                received = Err(e);
                break;
            }
        }
    }
    drop(tx);
    let actual = writer
        .await
        .map_err(|e| ClientError::Invalid(format!("the writing thread failed: {e}")))??;
    received?;
    if actual != *expected {
        return Err(ClientError::Integrity {
            path: path.to_string(),
            expected: expected.to_string(),
            actual: actual.into_string(),
        });
    }
    Ok(())
}
