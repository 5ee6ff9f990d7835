//! Large and interrupted uploads on both backends: resumable multipart parts, an SDK call or a
//! whole process killed midway and resumed, and garbage collection of what was abandoned.

use md5::Digest as _;
use wanllmdb_e2e::*;

async fn large_files_go_up_in_resumable_parts(backend: Backend) {
    let server = start_extra(backend, &SMALL_PARTS);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "checkpoint").await;
    let v = api.version(&a).await;
    let data: Vec<u8> = (0..11 * 1024 * 1024 + 77)
        .map(|i: usize| (i % 253) as u8)
        .collect();
    let file = spec("ckpt/step-1000.pt", &data);
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/upload-url"),
            Some(file.clone()),
        )
        .await;
    let m = plan["multipart"].clone();
    let upload = m["upload_id"]
        .as_str()
        .expect("a multipart plan for a large file")
        .to_owned();
    let parts = m["parts"].as_array().expect("parts").clone();
    assert_eq!(parts.len(), 3);
    let part_size = m["part_size"].as_u64().expect("part size") as usize;
    let put = |n: usize, url: String| {
        let start = n * part_size;
        let end = (start + part_size).min(data.len());
        let body = data[start..end].to_vec();
        let http = api.http.clone();
        async move {
            let resp = http.put(url).body(body).send().await.expect("PUT part");
            assert!(
                resp.status().is_success(),
                "part refused: {}",
                resp.status()
            );
            resp.headers()["etag"].to_str().expect("etag").to_owned()
        }
    };
    let first = put(0, parts[0]["url"].as_str().expect("url").to_owned()).await;
    // Interrupted: ask what is stored, get fresh URLs for the rest, send only those.
    let sha = file["sha256_hash"].as_str().expect("sha").to_owned();
    let done = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}/files/multipart/{upload}?sha256_hash={sha}"),
            None,
        )
        .await;
    assert_eq!(
        done.as_array().map(|d| d
            .iter()
            .map(|p| p["part_number"].as_u64())
            .collect::<Vec<_>>()),
        Some(vec![Some(1)])
    );
    let mut body = file.clone();
    body["parts"] = json!([2, 3]);
    let fresh = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/multipart/{upload}/part-urls"),
            Some(body),
        )
        .await;
    let mut etags = vec![first];
    for (i, part) in fresh["parts"].as_array().expect("parts").iter().enumerate() {
        etags.push(put(i + 1, part["url"].as_str().expect("url").to_owned()).await);
    }
    let mut complete = file.clone();
    complete["parts"] = json!(etags
        .iter()
        .enumerate()
        .map(|(i, e)| json!({ "part_number": i + 1, "etag": e }))
        .collect::<Vec<_>>());
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v}/files/multipart/{upload}/complete"),
        Some(complete),
    )
    .await;
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v}/files"),
        Some(file),
    )
    .await;
    let fin = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/finalize"),
            None,
        )
        .await;
    assert_eq!(fin["total_size"], json!(data.len()));
    let detail = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}"),
            None,
        )
        .await;
    let fid = detail["files"][0]["id"].as_str().expect("file").to_owned();
    let url = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/files/{fid}/download-url"),
            None,
        )
        .await;
    let got = api
        .http
        .get(url["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("GET")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        hex(&sha2::Sha256::digest(&got)),
        sha,
        "the assembled file is the one sent"
    );
    // An aborted upload leaves nothing to resume.
    let other = spec("other.bin", &data[..7 * 1024 * 1024]);
    let v2 = api.version(&a).await;
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v2}/files/upload-url"),
            Some(other.clone()),
        )
        .await;
    let upload = plan["multipart"]["upload_id"]
        .as_str()
        .expect("upload")
        .to_owned();
    let osha = other["sha256_hash"].as_str().expect("sha").to_owned();
    api.ok(
        Method::DELETE,
        &format!("/api/v1/artifacts/versions/{v2}/files/multipart/{upload}?sha256_hash={osha}"),
        None,
    )
    .await;
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v2}/files/multipart/{upload}?sha256_hash={osha}"),
            None,
        )
        .await;
    assert!(status.is_client_error(), "{status}");
}

/// An upload interrupted midway resumes on the next call without resending finished parts.
async fn sdk_resumes_interrupted_uploads(backend: Backend) {
    use wanllmdb_client::{Artifact, Client, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let part: u64 = 5 * 1024 * 1024;
    let server = start_extra(backend, &SMALL_PARTS);
    let state = server._dir.join("upload-state");
    let client = Client::new(&server.base, KEY)
        .with_concurrency(1)
        .with_state_dir(Some(state.clone()));
    let project = format!(
        "resume-{}",
        &uuid::Uuid::now_v7().simple().to_string()[16..]
    );
    client.create_project(&project).await.expect("project");
    let data: Vec<u8> = (0..(9 * part + 5) as usize)
        .map(|i| (i % 241) as u8)
        .collect();
    let local = server._dir.join("big.bin");
    std::fs::write(&local, &data).expect("write");
    let sha = hex(&sha2::Sha256::digest(&data));
    let artifact = Artifact::new("big", ArtifactType::Model)
        .add_file(&local)
        .expect("add");

    // First attempt: stopped once two parts are stored.
    let task = {
        let (client, project, artifact) = (client.clone(), project.clone(), artifact.clone());
        tokio::spawn(async move {
            client
                .log_artifact_detailed(&project, &artifact, LogOptions::default())
                .await
        })
    };
    let api = Api::new(&server);
    let note = state.join(format!("{sha}.upload"));
    let mut stopped = false;
    for _ in 0..2000 {
        if let Ok(upload) = std::fs::read_to_string(&note) {
            if stored_parts(&api, &sha, &upload).await >= 2 {
                task.abort();
                stopped = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(stopped, "the first attempt was interrupted midway");
    let _ = task.await;

    // Second attempt: only the missing parts cross the wire.
    let logged = client
        .log_artifact_detailed(&project, &artifact, LogOptions::default())
        .await
        .expect("resumed");
    assert!(
        logged.uploaded_bytes <= data.len() as u64 - 2 * part,
        "resent finished parts: {} bytes",
        logged.uploaded_bytes
    );
    assert!(!note.exists(), "the finished upload is forgotten");
    let used = client
        .use_artifact(&format!("{project}/big:latest"), None)
        .await
        .expect("use");
    let out = server._dir.join("big-out");
    used.download(&out).await.expect("download");
    assert_eq!(
        hex(&sha2::Sha256::digest(
            std::fs::read(out.join("big.bin")).expect("read")
        )),
        sha
    );
}

/// A 300 MB upload whose process is killed midway completes on the next run without resending
/// the parts already stored.
async fn killed_uploads_resume(backend: Backend) {
    use std::io::Write;
    use wanllmdb_client::{Artifact, Client, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let part: u64 = 5 * 1024 * 1024;
    let server = start_extra(backend, &SMALL_PARTS);
    let state = server._dir.join("upload-state");
    let project = format!("kill-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let client = Client::new(&server.base, KEY).with_state_dir(Some(state.clone()));
    client.create_project(&project).await.expect("project");
    let local = server._dir.join("big.bin");
    let size: u64 = 300_000_000;
    let mut sha = sha2::Sha256::new();
    let mut md5 = md5::Md5::new();
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&local).expect("create"));
        let block: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        for i in 0..size / 1_000_000 {
            let mut b = block.clone();
            b[..8].copy_from_slice(&i.to_le_bytes());
            sha.update(&b);
            md5.update(&b);
            f.write_all(&b).expect("write");
        }
        f.flush().expect("flush");
    }
    let sha = hex(&sha.finalize());
    let spec = json!({
        "base": server.base, "state": state, "file": local, "project": project,
    });
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "resume_child", "--nocapture"])
        .env("RESUME_CHILD", spec.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the uploading process");
    let api = Api::new(&server);
    let note = state.join(format!("{sha}.upload"));
    let mut stored = 0;
    for _ in 0..6000 {
        if let Ok(upload) = std::fs::read_to_string(&note) {
            stored = stored_parts(&api, &sha, &upload).await;
            if stored >= 4 {
                break;
            }
        }
        assert!(
            child.try_wait().expect("child state").is_none(),
            "the uploading process ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(stored >= 4, "no parts were stored within a minute");
    child.kill().expect("kill -9 the uploading process");
    child.wait().expect("reap");
    assert!(
        note.exists(),
        "the killed process left its upload to resume"
    );

    let artifact = Artifact::new("big", ArtifactType::Model)
        .add_file(&local)
        .expect("add");
    let logged = client
        .log_artifact_detailed(&project, &artifact, LogOptions::default())
        .await
        .expect("the second run completes");
    assert!(
        logged.uploaded_bytes <= size - stored as u64 * part,
        "{} parts were stored before the kill, yet {} of {size} bytes were sent again",
        stored,
        logged.uploaded_bytes
    );
    assert_eq!(logged.version.total_size, size);
    // Its MD5 was taken while the parts were sent (by both runs), not before negotiating.
    let files = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/files", logged.version.id),
            None,
        )
        .await;
    assert_eq!(files["items"][0]["md5_hash"], json!(hex(&md5.finalize())));
    assert!(!note.exists(), "the finished upload is forgotten");
    let out = server._dir.join("big-out");
    client
        .use_artifact(&format!("{project}/big:latest"), None)
        .await
        .expect("use")
        .download(&out)
        .await
        .expect("download verifies the SHA-256 of all 300 MB");
    assert_eq!(
        std::fs::metadata(out.join("big.bin"))
            .expect("downloaded")
            .len(),
        size
    );
}

/// Garbage collection through the admin endpoint: an abandoned draft, the bytes only it used and
/// a multipart upload never completed go; finalized versions stay.
async fn garbage_collection_drops_what_was_abandoned(backend: Backend) {
    // Its own bucket: collecting with no grace must not touch other tests' uploads.
    let bucket = format!("gc-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let mut extra = SMALL_PARTS.to_vec();
    if backend == Backend::PostgresS3 {
        extra.push(("WANLLMDB__STORAGE__S3__BUCKET", bucket.as_str()));
    }
    let server = start_extra(backend, &extra);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let kept = api.version(&a).await;
    assert!(api.add_file(&kept, "kept.txt", b"kept").await);
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{kept}/finalize"),
        None,
    )
    .await;
    let draft = api.version(&a).await;
    assert!(api.add_file(&draft, "lost.txt", b"lost bytes").await);
    let big = vec![1u8; 7 << 20];
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{draft}/files/upload-url"),
            Some(spec("big.bin", &big)),
        )
        .await;
    let upload = plan["multipart"]["upload_id"]
        .as_str()
        .expect("a multipart plan")
        .to_owned();
    let gc =
        |dry_run: bool| json!({ "grace_seconds": 0, "stale_after_seconds": 0, "dry_run": dry_run });
    let young = api
        .ok(
            Method::POST,
            "/api/v1/admin/gc",
            Some(json!({ "grace_seconds": 0 })),
        )
        .await;
    assert_eq!(
        (young["drafts"].clone(), young["multipart_uploads"].clone()),
        (json!(0), json!(0)),
        "by default only week-old drafts and uploads are abandoned"
    );
    let out = Command::new(server_bin())
        .args([
            "admin",
            "gc",
            "--grace-seconds",
            "0",
            "--stale-after-seconds",
            "0",
            "--dry-run",
        ])
        .envs(server.vars.clone())
        .current_dir(&server._dir)
        .output()
        .expect("run wanllmdb-server admin gc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "would remove 1 drafts, 1 multipart uploads, 0 blobs (0 bytes), 0 unregistered objects \
         (0 bytes), 0 leftovers of interrupted writes (0 bytes)",
        "a dry run keeps the draft, so its bytes are still referenced"
    );
    let dry = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(true)))
        .await;
    assert_eq!(
        (dry["drafts"].clone(), dry["multipart_uploads"].clone()),
        (json!(1), json!(1))
    );
    let real = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(false)))
        .await;
    assert_eq!(
        (
            real["drafts"].clone(),
            real["multipart_uploads"].clone(),
            real["blobs"].clone(),
            real["bytes"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(10)),
        "{real}"
    );
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{draft}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.first_file_bytes(&kept).await, b"kept");
    let again = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(false)))
        .await;
    assert_eq!(
        (
            again["drafts"].clone(),
            again["multipart_uploads"].clone(),
            again["blobs"].clone()
        ),
        (json!(0), json!(0), json!(0)),
        "nothing is left to collect, {upload} included"
    );
}

/// How many parts of the multipart `upload` of the artifact "big"'s first version the store
/// holds (0 while there is no such version or upload yet).
async fn stored_parts(api: &Api, sha: &str, upload: &str) -> usize {
    let artifacts = api
        .ok(Method::GET, "/api/v1/artifacts?name=big&limit=10", None)
        .await;
    let artifact = artifacts["items"][0]["id"].as_str().unwrap_or_default();
    let (_, versions) = api
        .call(
            Method::GET,
            &format!("/api/v1/artifacts/{artifact}/versions"),
            None,
        )
        .await;
    let version = versions["items"][0]["id"].as_str().unwrap_or_default();
    let (status, parts) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/artifacts/versions/{version}/files/multipart/{upload}?sha256_hash={sha}"
            ),
            None,
        )
        .await;
    if status.is_success() {
        parts.as_array().map_or(0, Vec::len)
    } else {
        0
    }
}

/// The child half of `killed_uploads_resume`: when `RESUME_CHILD` names a server, logs the file
/// there (and is killed midway by the parent); otherwise does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_child() {
    use wanllmdb_client::{Artifact, Client, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let Ok(spec) = std::env::var("RESUME_CHILD") else {
        return;
    };
    let v: Value = serde_json::from_str(&spec).expect("child spec");
    let s = |k: &str| v[k].as_str().expect("spec field").to_owned();
    let client = Client::new(&s("base"), KEY)
        .with_concurrency(2)
        .with_state_dir(Some(s("state").into()));
    let artifact = Artifact::new("big", ArtifactType::Model)
        .add_file(s("file"))
        .expect("add");
    client
        .log_artifact(&s("project"), &artifact, LogOptions::default())
        .await
        .expect("the child finished before it was killed");
}

on_both_backends!(
    large_files_go_up_in_resumable_parts,
    sdk_resumes_interrupted_uploads,
    killed_uploads_resume,
    garbage_collection_drops_what_was_abandoned,
);
