//! The SDK against a scripted fake server: hostile paths cannot make a download write outside its
//! target folder, and presigned URLs that expired mid-transfer are renewed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use sha2::Digest as _;
use wanllmdb_api::{DownloadUrlDto, FileDto, FilesDto, PageDto, UploadUrlDto, UploadUrlsDto};
use wanllmdb_client::{Artifact, Client, ClientError, LogOptions};
use wanllmdb_domain::types::ArtifactType;

const KEY: &str = "wlm_whatever_key_0123456789abcdefghijklmnopq";
const VERSION: &str = r#"{"id":"01a22500-0000-7000-8000-000000000001","artifact_id":"01a22500-0000-7000-8000-000000000002","project_id":"01a22500-0000-7000-8000-000000000003","version":"v0","description":"","metadata":{},"file_count":1,"total_size":6,"storage_path":"projects/p/artifacts/a/v0","digest":null,"is_finalized":true,"finalized_at":null,"run_id":null,"created_by":"01a22500-0000-7000-8000-000000000004","created_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-01T00:00:00Z","aliases":[]}"#;
/// The artifact `VERSION` belongs to.
const ARTIFACT: &str = r#"{"id":"01a22500-0000-7000-8000-000000000002","project_id":"01a22500-0000-7000-8000-000000000003","name":"a","type":"file","description":"","metadata":{},"created_by":"01a22500-0000-7000-8000-000000000004","version_count":1,"latest_version":"v0","created_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-01T00:00:00Z"}"#;
const HELLO: &[u8] = b"hello\n";

/// Every request the fake saw: "METHOD path" -> count.
type Seen = Arc<Mutex<BTreeMap<String, usize>>>;

/// A server answering `route(method, path, base)` with `(status, body)`; it records each request
/// (without its query string) and drains request bodies.
fn fake_server(
    route: impl Fn(&str, &str, &str) -> (u16, String) + Send + 'static,
) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let (me, log) = (base.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            let mut h = String::new();
            while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                h.clear();
            }
            let _ = reader
                .by_ref()
                .take(length as u64)
                .read_to_end(&mut Vec::new());
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("GET").to_owned();
            let path = parts.next().unwrap_or("/").to_owned();
            let bare = path.split('?').next().unwrap_or("/");
            *log.lock()
                .expect("log")
                .entry(format!("{method} {bare}"))
                .or_insert(0) += 1;
            let (status, body) = route(&method, &path, &me);
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, seen)
}

fn count(seen: &Seen, request: &str) -> usize {
    seen.lock().expect("log").get(request).copied().unwrap_or(0)
}

fn sha_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir()
        .join(name)
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The id of fake file `n`.
fn file_id(n: u8) -> uuid::Uuid {
    format!("01a22500-0000-7000-8000-0000000001{n:02x}")
        .parse()
        .expect("uuid")
}

/// A file of `HELLO` at `path` (unchecked: the server's word).
fn file_dto(n: u8, path: &str) -> FileDto {
    FileDto {
        id: file_id(n),
        version_id: file_id(0),
        path: path.to_owned(),
        name: path.rsplit('/').next().unwrap_or(path).to_owned(),
        size: HELLO.len() as u64,
        storage_key: "projects/p/blobs/sha256/x".into(),
        md5_hash: "b1946ac92492d2347c6235b4d2611184".into(),
        sha256_hash: sha_hex(HELLO),
        content_type: "text/plain".into(),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

fn download_url(file: FileDto, url: &str) -> DownloadUrlDto {
    DownloadUrlDto {
        file,
        download_url: url.to_owned(),
        method: "GET".into(),
        headers: BTreeMap::new(),
        expires_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// One download page listing `files` as (number, path), each pointing at `url`.
fn page_of(files: &[(u8, &str)], url: &str) -> String {
    let page = PageDto {
        items: files
            .iter()
            .map(|(n, path)| download_url(file_dto(*n, path), url))
            .collect(),
        next_cursor: None,
    };
    serde_json::to_string(&page).expect("json")
}

#[tokio::test]
async fn paths_that_climb_out_are_refused() {
    let (base, _) = fake_server(|_, path, me| {
        if path.starts_with("/api/v1/resolve") {
            (
                200,
                format!(r#"{{"artifact":{ARTIFACT},"version":{VERSION}}}"#),
            )
        } else if path.ends_with("/download-urls") {
            (
                200,
                page_of(
                    &[(1, "../escaped.txt"), (2, "/etc/owned")],
                    &format!("{me}/blob"),
                ),
            )
        } else {
            (200, "hello\n".to_owned())
        }
    });
    let root = scratch("wanllmdb-hostile");
    let target = root.join("target");
    let client = Client::new(&base, KEY).with_concurrency(1);
    let used = client.use_artifact("p/a:v0", None).await.expect("resolve");
    match used.download(&target).await {
        Err(ClientError::Invalid(m)) => assert!(m.contains("refusing to write"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !root.join("escaped.txt").exists(),
        "nothing was written above the target"
    );
    assert!(
        std::fs::read_dir(&target).map(|d| d.count()).unwrap_or(0) == 0,
        "nothing was written in it either"
    );
}

#[tokio::test]
async fn an_expired_download_url_is_renewed_once() {
    let (base, seen) = fake_server(|_, path, me| {
        if path.starts_with("/api/v1/resolve") {
            (
                200,
                format!(r#"{{"artifact":{ARTIFACT},"version":{VERSION}}}"#),
            )
        } else if path.ends_with("/download-urls") {
            (
                200,
                page_of(&[(1, "a/hello.txt")], &format!("{me}/expired")),
            )
        } else if path == format!("/api/v1/artifacts/files/{}/download-url", file_id(1)) {
            let fresh = download_url(file_dto(1, "a/hello.txt"), &format!("{me}/fresh"));
            (200, serde_json::to_string(&fresh).expect("json"))
        } else if path == "/expired" {
            (
                403,
                "<Error><Code>AccessDenied</Code>Request has expired</Error>".into(),
            )
        } else {
            (200, "hello\n".to_owned())
        }
    });
    let target = scratch("wanllmdb-renew-get");
    let client = Client::new(&base, KEY);
    let used = client.use_artifact("p/a:v0", None).await.expect("resolve");
    let stats = used.download_with(&target, None).await.expect("download");
    assert_eq!(stats.fetched_files, 1);
    assert_eq!(
        std::fs::read(target.join("a/hello.txt")).expect("downloaded"),
        HELLO
    );
    assert_eq!(count(&seen, "GET /expired"), 1);
    assert_eq!(
        count(
            &seen,
            &format!("GET /api/v1/artifacts/files/{}/download-url", file_id(1))
        ),
        1
    );
    assert_eq!(count(&seen, "GET /fresh"), 1);
}

#[tokio::test]
async fn an_expired_upload_url_is_renewed_by_negotiating_the_file_again() {
    let project = r#"{"items":[{"id":"01a22500-0000-7000-8000-000000000003","name":"p","description":"","created_by":"01a22500-0000-7000-8000-000000000004","created_at":"2026-12-01T00:00:00Z"}],"next_cursor":null}"#;
    let artifact = format!(
        r#"{{"items":[{}],"next_cursor":null}}"#,
        ARTIFACT.replace(r#""name":"a""#, r#""name":"m""#)
    );
    let draft = VERSION.replace("\"is_finalized\":true", "\"is_finalized\":false");
    let (base, seen) = fake_server(move |method, path, me| {
        let bare = path.split('?').next().unwrap_or("/");
        let plan = |url: &str| UploadUrlDto {
            path: "hello.txt".into(),
            sha256_hash: sha_hex(HELLO),
            md5_hash: None,
            storage_key: "projects/p/blobs/sha256/x".into(),
            already_stored: false,
            upload_url: Some(format!("{me}{url}")),
            method: Some("PUT".into()),
            headers: Some(BTreeMap::new()),
            expires_at: Some(chrono::DateTime::UNIX_EPOCH),
            multipart: None,
        };
        match (method, bare) {
            ("GET", "/api/v1/projects") => (200, project.to_owned()),
            ("GET", "/api/v1/artifacts") => (200, artifact.clone()),
            ("GET", "/api/v1/resolve") => (404, r#"{"status":404,"code":"not_found"}"#.into()),
            ("POST", p) if p.ends_with("/versions") => (201, draft.clone()),
            ("POST", p) if p.ends_with("/upload-urls") => {
                let plans = UploadUrlsDto {
                    files: vec![plan("/expired")],
                };
                (200, serde_json::to_string(&plans).expect("json"))
            }
            ("POST", p) if p.ends_with("/upload-url") => {
                (200, serde_json::to_string(&plan("/fresh")).expect("json"))
            }
            ("PUT", "/expired") => (403, "Request has expired".into()),
            ("PUT", "/fresh") => (200, String::new()),
            ("POST", p) if p.ends_with("/files/batch") => {
                let files = FilesDto {
                    files: vec![file_dto(1, "hello.txt")],
                };
                (201, serde_json::to_string(&files).expect("json"))
            }
            _ => (200, VERSION.to_owned()),
        }
    });
    let dir = scratch("wanllmdb-renew-put");
    std::fs::write(dir.join("hello.txt"), HELLO).expect("write");
    let client = Client::new(&base, KEY).with_state_dir(None);
    let a = Artifact::new("m", ArtifactType::Model)
        .add_file(dir.join("hello.txt"))
        .expect("add");
    let logged = client
        .log_artifact_detailed("p", &a, LogOptions::default())
        .await
        .expect("log");
    assert_eq!(logged.uploaded_files, 1);
    assert_eq!(logged.uploaded_bytes, 6);
    assert_eq!(count(&seen, "PUT /expired"), 1);
    assert_eq!(count(&seen, "PUT /fresh"), 1);
    assert_eq!(
        count(
            &seen,
            "POST /api/v1/artifacts/versions/01a22500-0000-7000-8000-000000000001/files/upload-url"
        ),
        1
    );
    assert_eq!(
        count(
            &seen,
            "POST /api/v1/artifacts/versions/01a22500-0000-7000-8000-000000000001/finalize"
        ),
        1
    );
}

#[tokio::test]
async fn transient_store_failures_are_retried_and_then_reported() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let flaky = Arc::new(AtomicUsize::new(0));
    let calls = flaky.clone();
    let (base, seen) = fake_server(move |_, path, me| {
        if path.starts_with("/api/v1/resolve") {
            (
                200,
                format!(r#"{{"artifact":{ARTIFACT},"version":{VERSION}}}"#),
            )
        } else if path.ends_with("/download-urls") {
            (
                200,
                page_of(
                    &[(1, "flaky.txt"), (2, "down.txt")],
                    &format!("{me}/PLACEHOLDER"),
                )
                .replacen("PLACEHOLDER", "flaky", 1)
                .replacen("PLACEHOLDER", "down", 1),
            )
        } else if path == "/flaky" {
            // Fails twice, then answers.
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                (503, "slow down".into())
            } else {
                (200, "hello\n".into())
            }
        } else if path == "/down" {
            (500, "broken".into())
        } else {
            (404, "{}".into())
        }
    });
    let target = scratch("wanllmdb-retry");
    let client = Client::new(&base, KEY).with_concurrency(1);
    let used = client.use_artifact("p/a:v0", None).await.expect("resolve");
    match used.download_with(&target, None).await {
        Err(ClientError::Store { path, status, .. }) => {
            assert_eq!((path.as_str(), status), ("down.txt", 500))
        }
        other => panic!("expected the store's refusal, got {other:?}"),
    }
    assert_eq!(count(&seen, "GET /flaky"), 3, "two failures, then success");
    assert_eq!(
        std::fs::read(target.join("flaky.txt")).expect("retried file"),
        HELLO
    );
    assert_eq!(count(&seen, "GET /down"), 4, "one try and three retries");
    assert!(!target.join("down.txt").exists());
}
