//! The blob port on any S3-compatible store (AWS S3, MinIO, Garage) with rust-s3 over rustls.
//!
//! rust-s3 signs requests and runs the small calls (bucket, head, list, delete, multipart
//! bookkeeping); bodies stream through reqwest on presigned URLs, so no object is ever held whole
//! in memory. Writes are verified: a PUT carries `Content-MD5` and `x-amz-checksum-sha256`, so the
//! store itself refuses wrong bytes; a streamed `put` larger than one part goes up as a multipart
//! upload that is completed only after the bytes hashed to what was expected (aborted otherwise),
//! so a wrong or partial object never appears under the key.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use s3::creds::Credentials;
use s3::{Bucket, BucketConfiguration, Region};
use serde::Deserialize;
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::types::{Md5, Sha256};

/// Where the store is and how to sign for it.
#[derive(Clone)]
pub struct S3Config {
    /// e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:3900`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (MinIO, Garage).
    pub path_style: bool,
    /// Part size of the multipart uploads `put` makes (at least 5 MiB).
    pub part_size: usize,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("path_style", &self.path_style)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

/// The smallest part S3 accepts (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The default part size of streamed puts.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// How many parts of one streamed put are uploaded at once.
const PARTS_IN_FLIGHT: usize = 3;
/// How long the URLs the store signs for its own requests stay valid.
const INTERNAL_URL_TTL: u32 = 15 * 60;

/// The blob store on an S3 bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    bucket: Box<Bucket>,
    http: reqwest::Client,
    part_size: usize,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket.name())
            .field("endpoint", &self.bucket.url())
            .finish_non_exhaustive()
    }
}

/// A failure of the store or of the way to it (unreachable, an answer that makes no sense): the
/// registry reports it as the store being unavailable, not as a bug of its own.
fn unexpected(context: &str, e: impl std::fmt::Display) -> BlobError {
    BlobError::Unavailable(format!("{context}: {e}"))
}

/// An S3 error document.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct S3ErrorDoc {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Maps an S3 error answer to the port's errors.
fn error_from(status: u16, body: &str, key: &str) -> BlobError {
    let doc: S3ErrorDoc = quick_xml::de::from_str(body).unwrap_or_default();
    let detail = if doc.code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("{} ({})", doc.code, doc.message)
    };
    match (status, doc.code.as_str()) {
        (_, "NoSuchUpload" | "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
            BlobError::PreconditionFailed(format!("{key}: {detail}"))
        }
        (
            _,
            "BadDigest"
            | "InvalidDigest"
            | "XAmzContentChecksumMismatch"
            | "XAmzContentSHA256Mismatch",
        ) => BlobError::InvalidDigest(format!("{key}: {detail}")),
        (404, _) => BlobError::NotFound(key.to_owned()),
        (416, _) => BlobError::RangeNotSatisfiable(format!("{key}: {detail}")),
        (412, _) => BlobError::PreconditionFailed(format!("{key}: {detail}")),
        (400, _)
            if detail.to_ascii_lowercase().contains("checksum")
                || detail.to_ascii_lowercase().contains("digest") =>
        {
            BlobError::InvalidDigest(format!("{key}: {detail}"))
        }
        (_, "EntityTooLarge" | "QuotaExceeded") | (507, _) => {
            BlobError::InsufficientStorage(format!("{key}: {detail}"))
        }
        _ => BlobError::Unavailable(format!("S3 answered {status} for {key}: {detail}")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsResult {
    #[serde(default, rename = "Part")]
    parts: Vec<XmlPart>,
    #[serde(default)]
    is_truncated: bool,
    next_part_number_marker: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlPart {
    part_number: u32,
    #[serde(rename = "ETag")]
    e_tag: String,
    size: u64,
}

fn headers_of(map: &BTreeMap<String, String>) -> Result<HeaderMap, BlobError> {
    let mut headers = HeaderMap::new();
    for (k, v) in map {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|e| unexpected("header name", e))?;
        let value = HeaderValue::from_str(v).map_err(|e| unexpected("header value", e))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn expiry_secs(d: Duration) -> u32 {
    // S3 presigned URLs live at most 7 days.
    d.as_secs().clamp(1, 7 * 24 * 3600) as u32
}

/// A download name safe inside a quoted `Content-Disposition` value.
fn disposition(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

/// SHA-256, MD5 and size of bytes as they stream by: SHA-256 on the caller's task, MD5 (the
/// slower of the two) on a blocking thread, so a large object costs about one MD5 pass.
struct StreamDigests {
    sha256: sha2::Sha256,
    size: u64,
    md5_input: tokio::sync::mpsc::Sender<Bytes>,
    md5: tokio::task::JoinHandle<Md5>,
}

impl StreamDigests {
    fn new() -> Self {
        use sha2::Digest;
        let (md5_input, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let md5 = tokio::task::spawn_blocking(move || {
            let mut md5 = <md5::Md5 as md5::Digest>::new();
            while let Some(chunk) = rx.blocking_recv() {
                md5::Digest::update(&mut md5, &chunk);
            }
            Md5::from_bytes(md5::Digest::finalize(md5).into())
        });
        Self {
            sha256: sha2::Sha256::new(),
            size: 0,
            md5_input,
            md5,
        }
    }

    async fn update(&mut self, chunk: &Bytes) {
        use sha2::Digest;
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
        // The receiver lives until `finish`; a send can only fail if its thread panicked,
        // which `finish` reports.
        let _ = self.md5_input.send(chunk.clone()).await;
    }

    async fn finish(self) -> Result<(Sha256, Md5, u64), BlobError> {
        use sha2::Digest;
        drop(self.md5_input);
        let md5 = self
            .md5
            .await
            .map_err(|e| unexpected("the MD5 thread", e))?;
        Ok((
            Sha256::from_bytes(self.sha256.finalize().into()),
            md5,
            self.size,
        ))
    }

    /// Finishes and checks the result against `expected`.
    async fn verify(self, expected: &ExpectedContent) -> Result<(Sha256, Md5, u64), BlobError> {
        let (sha256, md5, size) = self.finish().await?;
        expected.verify(&sha256, &md5, size)?;
        Ok((sha256, md5, size))
    }
}

/// Reads from `body` until `buf` holds `want` bytes or the body ends; returns whether it ended.
async fn fill(
    body: &mut ByteStream,
    buf: &mut BytesMut,
    want: usize,
    digests: &mut StreamDigests,
) -> Result<bool, BlobError> {
    while buf.len() < want {
        match body.next().await {
            Some(Ok(chunk)) => {
                digests.update(&chunk).await;
                buf.extend_from_slice(&chunk);
            }
            Some(Err(e)) => {
                return Err(BlobError::InvalidInput(format!(
                    "the upload broke off: {e}"
                )))
            }
            None => return Ok(true),
        }
    }
    Ok(false)
}

impl S3BlobStore {
    /// Lets web pages served from `origins` (e.g. `https://registry.example.com`) upload and
    /// download with the presigned URLs: sets the bucket's CORS rule (PUT, GET, HEAD; any
    /// request header, since the URLs bind their checksum headers; `ETag` exposed, which
    /// multipart completion needs). It replaces the bucket's CORS configuration.
    pub async fn allow_browsers(&self, origins: &[String]) -> Result<(), BlobError> {
        let rule = s3::serde_types::CorsRule::new(
            Some(vec!["*".to_owned()]),
            vec!["PUT".to_owned(), "GET".to_owned(), "HEAD".to_owned()],
            origins.to_vec(),
            Some(vec!["ETag".to_owned()]),
            Some("wanllmdb-browser-uploads".to_owned()),
            Some(3600),
        );
        let config = s3::serde_types::CorsConfiguration::new(vec![rule]);
        let answer = self
            .bucket
            .put_bucket_cors("", &config)
            .await
            .map_err(|e| unexpected("S3 PutBucketCors", e))?;
        if !(200..300).contains(&answer.status_code()) {
            return Err(unexpected(
                "S3 PutBucketCors",
                format!(
                    "status {}: {}",
                    answer.status_code(),
                    String::from_utf8_lossy(answer.as_slice())
                ),
            ));
        }
        Ok(())
    }

    /// The origin the presigned URLs point at (what a page's CSP must let it connect to).
    pub fn url_origin(&self) -> String {
        let url = self.bucket.url();
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let scheme = url.split_once("://").map_or("https", |(s, _)| s);
        let host = rest.split('/').next().unwrap_or_default();
        format!("{scheme}://{host}")
    }

    /// Connects to the bucket, creating it when missing.
    pub async fn connect(config: S3Config) -> Result<Self, BlobError> {
        if config.part_size < MIN_PART_SIZE {
            return Err(BlobError::InvalidInput(format!(
                "part_size must be at least {MIN_PART_SIZE}"
            )));
        }
        let region = Region::Custom {
            region: config.region.clone(),
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
        };
        let credentials = Credentials::new(
            Some(&config.access_key),
            Some(&config.secret_key),
            None,
            None,
            None,
        )
        .map_err(|e| unexpected("S3 credentials", e))?;
        let mut bucket = Bucket::new(&config.bucket, region.clone(), credentials.clone())
            .map_err(|e| unexpected("S3 bucket", e))?;
        if config.path_style {
            bucket.set_path_style();
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| unexpected("HTTP client", e))?;
        let store = Self {
            bucket,
            http,
            part_size: config.part_size,
        };
        match store
            .bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
        {
            Ok((_, status)) if (200..300).contains(&status) => {}
            Ok((_, 404)) | Err(_) => {
                let created = if config.path_style {
                    Bucket::create_with_path_style(
                        &config.bucket,
                        region,
                        credentials,
                        BucketConfiguration::default(),
                    )
                    .await
                } else {
                    Bucket::create(
                        &config.bucket,
                        region,
                        credentials,
                        BucketConfiguration::default(),
                    )
                    .await
                }
                .map_err(|e| {
                    unexpected(
                        &format!("cannot reach or create bucket {}", config.bucket),
                        e,
                    )
                })?;
                if !created.success() {
                    return Err(BlobError::unexpected(format!(
                        "cannot create bucket {}: HTTP {} {}",
                        config.bucket, created.response_code, created.response_text
                    )));
                }
                tracing::info!(bucket = %config.bucket, "created the bucket");
            }
            Ok((_, status)) => {
                return Err(BlobError::unexpected(format!(
                    "bucket {} answered HTTP {status}",
                    config.bucket
                )))
            }
        }
        Ok(store)
    }

    fn path(key: &ObjectKey) -> String {
        format!("/{}", key.as_str())
    }

    /// Sends a request to a URL this store signed, turning S3 errors into the port's errors.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        key: &str,
    ) -> Result<reqwest::Response, BlobError> {
        let resp = req.send().await.map_err(|e| unexpected("S3 request", e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(error_from(status, &body, key))
    }

    async fn presign_put_url(
        &self,
        key: &ObjectKey,
        headers: HeaderMap,
        queries: Option<HashMap<String, String>>,
        secs: u32,
    ) -> Result<String, BlobError> {
        self.bucket
            .presign_put(Self::path(key), secs, Some(headers), queries)
            .await
            .map_err(|e| unexpected("presign PUT", e))
    }

    fn checksum_headers(sha256: &Sha256, md5: &Md5) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("content-md5".to_owned(), md5.to_base64()),
            ("x-amz-checksum-sha256".to_owned(), sha256.to_base64()),
        ])
    }

    /// One verified PUT of bytes in memory (at most one part).
    async fn put_small(
        &self,
        key: &ObjectKey,
        bytes: Bytes,
        sha256: &Sha256,
        md5: &Md5,
    ) -> Result<Option<String>, BlobError> {
        let signed = Self::checksum_headers(sha256, md5);
        let url = self
            .presign_put_url(key, headers_of(&signed)?, None, INTERNAL_URL_TTL)
            .await?;
        let resp = self
            .send(
                self.http.put(url).headers(headers_of(&signed)?).body(bytes),
                key.as_str(),
            )
            .await?;
        Ok(resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned))
    }

    /// One part of a multipart upload, checked by the store against its MD5.
    async fn put_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        part_number: u32,
        bytes: Bytes,
    ) -> Result<CompletedPart, BlobError> {
        let md5 = Md5::of(&bytes);
        let signed = BTreeMap::from([("content-md5".to_owned(), md5.to_base64())]);
        let queries = HashMap::from([
            ("partNumber".to_owned(), part_number.to_string()),
            ("uploadId".to_owned(), upload_id.to_owned()),
        ]);
        let url = self
            .presign_put_url(key, headers_of(&signed)?, Some(queries), INTERNAL_URL_TTL)
            .await?;
        let resp = self
            .send(
                self.http.put(url).headers(headers_of(&signed)?).body(bytes),
                key.as_str(),
            )
            .await?;
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("\"{md5}\""));
        Ok(CompletedPart { part_number, etag })
    }

    async fn put_multipart(
        &self,
        key: &ObjectKey,
        mut buf: BytesMut,
        body: &mut ByteStream,
        digests: &mut StreamDigests,
    ) -> Result<(String, Vec<CompletedPart>), BlobError> {
        let upload_id = self.create_multipart(key, self.part_size as u64).await?;
        let result = async {
            // Parts go up in background tasks, at most PARTS_IN_FLIGHT at once, while the next
            // part is read and hashed: memory stays bounded by (PARTS_IN_FLIGHT + 1) parts.
            let mut in_flight = futures::stream::FuturesOrdered::new();
            let mut parts = Vec::new();
            // `buf` holds at least one part; what is past it belongs to the next part.
            let mut next = Some(buf.split_to(self.part_size).freeze());
            let mut number = 0u32;
            let mut ended = false;
            loop {
                if let Some(bytes) = next.take() {
                    number += 1;
                    if number > MAX_PART_NUMBER {
                        return Err(BlobError::InvalidInput(
                            "object too large for this part size".into(),
                        ));
                    }
                    let (store, key, id) = (self.clone(), key.clone(), upload_id.clone());
                    in_flight.push_back(tokio::spawn(async move {
                        store.put_part(&key, &id, number, bytes).await
                    }));
                }
                if in_flight.len() >= PARTS_IN_FLIGHT || ended {
                    match in_flight.next().await {
                        Some(done) => {
                            parts.push(done.map_err(|e| unexpected("part upload task", e))??)
                        }
                        None => return Ok(parts),
                    }
                    continue;
                }
                ended = fill(body, &mut buf, self.part_size, digests).await?;
                if !buf.is_empty() {
                    let take = buf.len().min(self.part_size);
                    next = Some(buf.split_to(take).freeze());
                }
            }
        }
        .await;
        match result {
            Ok(parts) => Ok((upload_id, parts)),
            Err(e) => {
                let _ = self.abort_multipart(key, &upload_id).await;
                Err(e)
            }
        }
    }

    async fn complete(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), BlobError> {
        let parts: Vec<s3::serde_types::Part> = parts
            .iter()
            .map(|p| s3::serde_types::Part {
                part_number: p.part_number,
                etag: p.etag.clone(),
            })
            .collect();
        match self
            .bucket
            .complete_multipart_upload(key.as_str(), upload_id, parts)
            .await
        {
            Ok(r) if (200..300).contains(&r.status_code()) => Ok(()),
            Ok(r) => Err(error_from(
                r.status_code(),
                &String::from_utf8_lossy(r.as_slice()),
                key.as_str(),
            )),
            Err(e) => {
                let text = e.to_string();
                if [
                    "NoSuchUpload",
                    "InvalidPart",
                    "InvalidPartOrder",
                    "EntityTooSmall",
                ]
                .iter()
                .any(|c| text.contains(c))
                {
                    Err(BlobError::PreconditionFailed(format!("{key}: {text}")))
                } else {
                    Err(unexpected("complete multipart upload", e))
                }
            }
        }
    }

    /// SHA-256, MD5 and size of the stored object as it streams back.
    async fn digest_of(&self, key: &ObjectKey) -> Result<(Sha256, Md5, u64), BlobError> {
        let mut body = self.get(key, None).await?.body;
        let mut digests = StreamDigests::new();
        while let Some(chunk) = body.next().await {
            digests
                .update(&chunk.map_err(|e| unexpected("reading back", e))?)
                .await;
        }
        digests.finish().await
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(
        &self,
        key: &ObjectKey,
        mut body: ByteStream,
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        let mut digests = StreamDigests::new();
        let mut buf = BytesMut::with_capacity(self.part_size.min(1 << 20));
        let ended = fill(&mut body, &mut buf, self.part_size, &mut digests).await?;
        if ended {
            let (sha256, md5, size) = digests.verify(expected).await?;
            let etag = self.put_small(key, buf.freeze(), &sha256, &md5).await?;
            return Ok(ObjectMeta {
                key: key.clone(),
                size,
                etag,
                sha256: Some(sha256),
                last_modified: Some(Utc::now()),
            });
        }
        let (upload_id, parts) = self
            .put_multipart(key, buf, &mut body, &mut digests)
            .await?;
        match digests.verify(expected).await {
            Ok((sha256, _, size)) => {
                self.complete(key, &upload_id, &parts).await?;
                let head = self.head(key).await?;
                if head.size != size {
                    // The parts did not add up to the bytes hashed: never leave that object.
                    self.delete(key).await?;
                    return Err(BlobError::unexpected(format!(
                        "{key}: stored {} bytes of {size} sent; the object was removed",
                        head.size
                    )));
                }
                Ok(ObjectMeta {
                    sha256: Some(sha256),
                    ..head
                })
            }
            Err(e) => {
                self.abort_multipart(key, &upload_id).await?;
                Err(e)
            }
        }
    }

    async fn get(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<GetResult, BlobError> {
        let meta = self.head(key).await?;
        let (start, end) = match range {
            Some(r) => r.resolve(meta.size)?,
            None => (0, meta.size),
        };
        let url = self
            .bucket
            .presign_get(Self::path(key), INTERNAL_URL_TTL, None)
            .await
            .map_err(|e| unexpected("presign GET", e))?;
        let mut req = self.http.get(url);
        if range.is_some() {
            req = req.header("range", format!("bytes={start}-{}", end - 1));
        }
        let resp = self.send(req, key.as_str()).await?;
        let body = resp.bytes_stream().map_err(std::io::Error::other);
        Ok(GetResult {
            meta,
            range: (start, end),
            body: Box::pin(body),
        })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta, BlobError> {
        let (head, status) = self
            .bucket
            .head_object(Self::path(key))
            .await
            .map_err(|e| unexpected("HEAD", e))?;
        match status {
            200..=299 => Ok(ObjectMeta {
                key: key.clone(),
                size: head
                    .content_length
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                etag: head.e_tag,
                sha256: None,
                last_modified: head.last_modified.as_deref().and_then(parse_time),
            }),
            404 => Err(BlobError::NotFound(key.to_string())),
            other => Err(error_from(other, "", key.as_str())),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), BlobError> {
        let resp = self
            .bucket
            .delete_object(Self::path(key))
            .await
            .map_err(|e| unexpected("DELETE", e))?;
        match resp.status_code() {
            200..=299 | 404 => Ok(()),
            other => Err(error_from(
                other,
                &String::from_utf8_lossy(resp.as_slice()),
                key.as_str(),
            )),
        }
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<u64, BlobError> {
        // S3 reports missing keys as deleted too, so count what exists first.
        let existing: Vec<ObjectKey> = futures::stream::iter(keys.iter().cloned())
            .map(|k| async move {
                match self.head(&k).await {
                    Ok(_) => Ok(Some(k)),
                    Err(BlobError::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(16)
            .try_filter_map(|k| async move { Ok(k) })
            .try_collect()
            .await?;
        for chunk in existing.chunks(1000) {
            let ids: Vec<s3::serde_types::ObjectIdentifier> = chunk
                .iter()
                .map(|k| s3::serde_types::ObjectIdentifier::new(k.as_str()))
                .collect();
            let result = self
                .bucket
                .delete_objects(ids)
                .await
                .map_err(|e| unexpected("DeleteObjects", e))?;
            if let Some(err) = result.errors.first() {
                return Err(BlobError::unexpected(format!(
                    "DeleteObjects failed for {}: {:?}",
                    err.key, err.message
                )));
            }
        }
        Ok(existing.len() as u64)
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
        let (page, status) = self
            .bucket
            .list_page(
                prefix.to_owned(),
                None,
                None,
                after.map(|a| a.as_str().to_owned()),
                Some(limit),
            )
            .await
            .map_err(|e| unexpected("LIST", e))?;
        if !(200..300).contains(&status) {
            return Err(error_from(status, "", prefix));
        }
        let objects = page
            .contents
            .into_iter()
            .map(|o| {
                Ok(ObjectMeta {
                    key: ObjectKey::parse(o.key).map_err(|e| unexpected("listed key", e))?,
                    size: o.size,
                    etag: o.e_tag,
                    sha256: None,
                    last_modified: parse_time(&o.last_modified),
                })
            })
            .collect::<Result<Vec<_>, BlobError>>()?;
        let next_after = if page.is_truncated {
            objects.last().map(|o| o.key.clone())
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
        let signed = Self::checksum_headers(sha256, md5);
        let url = self
            .presign_put_url(key, headers_of(&signed)?, None, expiry_secs(expires_in))
            .await?;
        let mut headers = signed;
        headers.insert("content-length".into(), size.to_string());
        Ok(PresignedRequest {
            method: "PUT".into(),
            url,
            headers,
            expires_at: Utc::now() + chrono::Duration::seconds(i64::from(expiry_secs(expires_in))),
        })
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        filename: Option<&str>,
        expires_in: Duration,
    ) -> Result<PresignedRequest, BlobError> {
        let queries = filename
            .map(|f| HashMap::from([("response-content-disposition".to_owned(), disposition(f))]));
        let url = self
            .bucket
            .presign_get(Self::path(key), expiry_secs(expires_in), queries)
            .await
            .map_err(|e| unexpected("presign GET", e))?;
        Ok(PresignedRequest {
            method: "GET".into(),
            url,
            headers: BTreeMap::new(),
            expires_at: Utc::now() + chrono::Duration::seconds(i64::from(expiry_secs(expires_in))),
        })
    }

    async fn create_multipart(
        &self,
        key: &ObjectKey,
        _part_size: u64,
    ) -> Result<String, BlobError> {
        let r = self
            .bucket
            .initiate_multipart_upload(key.as_str(), "application/octet-stream")
            .await
            .map_err(|e| unexpected("initiate multipart upload", e))?;
        Ok(r.upload_id)
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
        self.list_parts(key, upload_id).await?;
        let queries = HashMap::from([
            ("partNumber".to_owned(), part_number.to_string()),
            ("uploadId".to_owned(), upload_id.to_owned()),
        ]);
        let url = self
            .presign_put_url(
                key,
                HeaderMap::new(),
                Some(queries),
                expiry_secs(expires_in),
            )
            .await?;
        Ok(PresignedRequest {
            method: "PUT".into(),
            url,
            headers: BTreeMap::new(),
            expires_at: Utc::now() + chrono::Duration::seconds(i64::from(expiry_secs(expires_in))),
        })
    }

    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, BlobError> {
        let mut parts = Vec::new();
        let mut marker: Option<u32> = None;
        loop {
            let mut queries = HashMap::from([("uploadId".to_owned(), upload_id.to_owned())]);
            if let Some(m) = marker {
                queries.insert("part-number-marker".to_owned(), m.to_string());
            }
            let url = self
                .bucket
                .presign_get(Self::path(key), INTERNAL_URL_TTL, Some(queries))
                .await
                .map_err(|e| unexpected("presign ListParts", e))?;
            let resp = match self.send(self.http.get(url), key.as_str()).await {
                Ok(r) => r,
                Err(BlobError::NotFound(_)) => {
                    return Err(BlobError::PreconditionFailed(format!(
                        "no multipart upload {upload_id} for {key}"
                    )))
                }
                Err(e) => return Err(e),
            };
            let text = resp
                .text()
                .await
                .map_err(|e| unexpected("ListParts body", e))?;
            let page: ListPartsResult =
                quick_xml::de::from_str(&text).map_err(|e| unexpected("ListParts XML", e))?;
            parts.extend(page.parts.into_iter().map(|p| PartInfo {
                part_number: p.part_number,
                size: p.size,
                etag: p.e_tag,
            }));
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(m)) => marker = Some(m),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[CompletedPart],
        expected: &ExpectedContent,
    ) -> Result<ObjectMeta, BlobError> {
        check_part_list(parts)?;
        self.complete(key, upload_id, parts).await?;
        // S3 cannot check a whole-object SHA-256 of a multipart upload: read it back.
        let verified = if expected.sha256.is_some() || expected.md5.is_some() {
            let (sha256, md5, size) = self.digest_of(key).await?;
            expected.verify(&sha256, &md5, size).map(|()| Some(sha256))
        } else {
            let size = self.head(key).await?.size;
            match expected.size.filter(|s| *s != size) {
                Some(want) => Err(BlobError::InvalidDigest(format!(
                    "expected {want} bytes, got {size}"
                ))),
                None => Ok(None),
            }
        };
        match verified {
            Ok(sha256) => Ok(ObjectMeta {
                sha256,
                ..self.head(key).await?
            }),
            Err(e) => {
                self.delete(key).await?;
                Err(e)
            }
        }
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), BlobError> {
        match self.bucket.abort_upload(key.as_str(), upload_id).await {
            Ok(()) => Ok(()),
            Err(e) if e.to_string().contains("NoSuchUpload") || e.to_string().contains("404") => {
                Ok(())
            }
            Err(e) => Err(unexpected("abort multipart upload", e)),
        }
    }

    async fn stale_multipart_uploads(
        &self,
        prefix: &str,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingUpload>, BlobError> {
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            let (page, _) = self
                .bucket
                .list_multiparts_uploads_page(
                    Some(prefix),
                    None,
                    key_marker.take(),
                    id_marker.take(),
                    Some(1000),
                )
                .await
                .map_err(|e| unexpected("list multipart uploads", e))?;
            for u in page.uploads {
                let initiated = DateTime::parse_from_rfc3339(&u.initiated)
                    .map(|t| t.with_timezone(&Utc))
                    .ok();
                if let (Some(initiated), Ok(key)) = (initiated, ObjectKey::parse(u.key)) {
                    if initiated < before && out.len() < limit as usize {
                        out.push(PendingUpload {
                            key,
                            upload_id: u.id,
                            initiated,
                        });
                    }
                }
            }
            if !page.is_truncated || out.len() >= limit as usize || page.next_marker.is_none() {
                return Ok(out);
            }
            key_marker = page.next_marker;
            id_marker = page.next_upload_id_marker;
        }
    }

    async fn sweep_leftovers(
        &self,
        _before: DateTime<Utc>,
        _dry_run: bool,
    ) -> Result<Leftovers, BlobError> {
        // S3 writes an object whole or not at all; unfinished multipart uploads are listed by
        // `stale_multipart_uploads`.
        Ok(Leftovers::default())
    }

    async fn ping(&self) -> Result<(), BlobError> {
        let (_, status) = self
            .bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map_err(|e| unexpected("S3 is not reachable", e))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(BlobError::unexpected(format!(
                "S3 answered {status} to a listing"
            )))
        }
    }
}
