//! The registry's main flows over raw HTTP on both backends: the original design's flow and request
//! bodies, uploads that dedupe, aliases and `latest`, immutability after finalize, bytes that do not
//! match their digest, and two server instances numbering versions on one database.

use md5::Digest as _;
use wanllmdb_e2e::*;

async fn seed_flow(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "resnet").await;
    let v = api.version(&a).await;
    let weights = vec![7u8; 300_000];
    assert!(api.add_file(&v, "model.pth", &weights).await);
    assert!(
        api.add_file(&v, "config/params.json", b"{\"lr\": 0.1}")
            .await
    );
    let done = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/finalize"),
            None,
        )
        .await;
    assert_eq!(done["is_finalized"], json!(true));
    assert_eq!(done["version"], json!("v0"));
    assert_eq!(done["file_count"], json!(2));
    assert_eq!(done["total_size"], json!(300_000 + 11));
    assert_eq!(done["aliases"], json!(["latest"]));
    assert!(done["digest"].as_str().is_some_and(|d| d.len() == 64));

    let detail = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}"),
            None,
        )
        .await;
    let files = detail["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    let model = files
        .iter()
        .find(|f| f["path"] == "model.pth")
        .expect("model file");
    let url = api
        .ok(
            Method::GET,
            &format!(
                "/api/v1/artifacts/files/{}/download-url",
                model["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    let got = api
        .http
        .get(url["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(
        got.bytes().await.expect("bytes").to_vec(),
        weights,
        "the bytes come back unchanged"
    );
    // Through the server too, with a range.
    let model_id = model["id"].as_str().expect("id");
    let part = api.content(model_id, Some("bytes=10-19")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/300000");
    assert_eq!(part.bytes().await.expect("bytes").len(), 10);
    let stats = api.downloads(&v).await;
    assert_eq!(
        stats["count"],
        json!(1),
        "the presigned download was recorded; a range (a preview) is not a download"
    );
    // A whole read through the server is.
    let whole = api.content(model_id, None).await;
    assert_eq!(whole.bytes().await.expect("bytes").to_vec(), weights);
    let stats = api.downloads(&v).await;
    assert_eq!(stats["count"], json!(2), "the whole read was recorded");
    // Many files at once: pages of files with a URL each, one download recorded per listing.
    let first = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/download-urls"),
            Some(json!({ "limit": 1 })),
        )
        .await;
    let items = first["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["file"]["path"], json!("config/params.json"));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/download-urls"),
            Some(json!({ "limit": 1, "cursor": cursor })),
        )
        .await;
    assert_eq!(second["items"][0]["file"]["path"], json!("model.pth"));
    assert_eq!(second["next_cursor"], Value::Null);
    let got = api
        .http
        .get(second["items"][0]["download_url"].as_str().expect("url"))
        .send()
        .await
        .expect("GET");
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), weights);
    let prefixed = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/download-urls"),
            Some(json!({ "prefix": "config/" })),
        )
        .await;
    assert_eq!(prefixed["items"].as_array().map(Vec::len), Some(1));
    let stats = api.downloads(&v).await;
    assert_eq!(
        stats["count"],
        json!(4),
        "two listings from their first page were recorded, the second page was not"
    );
    let artifact = api
        .ok(Method::GET, &format!("/api/v1/artifacts/{a}"), None)
        .await;
    assert_eq!(
        (
            artifact["version_count"].clone(),
            artifact["latest_version"].clone()
        ),
        (json!(1), json!("v0"))
    );
}

/// The bodies a client written from the original design sends: the file it registers carries
/// the `name` and the `storage_key` the upload-url answer gave; a version is created with
/// description, metadata and run; an artifact is updated with description and metadata.
async fn seed_bodies_are_accepted(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "seeded").await;
    let run = api
        .ok(
            Method::POST,
            "/api/v1/runs",
            Some(json!({ "project_id": p, "name": "train-1" })),
        )
        .await;
    let v = id(&api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/{a}/versions"),
            Some(
                json!({ "description": "first", "metadata": { "epochs": 3 }, "run_id": id(&run) }),
            ),
        )
        .await);
    let bytes = b"seed weights".to_vec();
    let body = spec("weights/model.pth", &bytes);
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/upload-url"),
            Some(body.clone()),
        )
        .await;
    let key = plan["storage_key"]
        .as_str()
        .expect("storage_key")
        .to_owned();
    assert!(put_presigned(&api.http, &plan, bytes.clone())
        .await
        .is_success());
    let register = |extra: Value| {
        let mut b = body.clone();
        for (k, val) in extra.as_object().expect("object") {
            b[k] = val.clone();
        }
        let api = &api;
        let v = v.clone();
        async move {
            api.call(
                Method::POST,
                &format!("/api/v1/artifacts/versions/{v}/files"),
                Some(b),
            )
            .await
        }
    };
    let wrong_key = format!("projects/{p}/blobs/sha256/00/00/{}", "0".repeat(64));
    let (status, problem) = register(json!({ "storage_key": wrong_key })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().is_some_and(|d| d.contains(&key)),
        "names the expected key: {problem}"
    );
    let (status, problem) = register(json!({ "name": "other.pth" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = register(json!({ "storage_key": key, "shard": 1 })).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "other fields stay refused: {problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("shard")),
        "{problem}"
    );
    let (status, file) = register(json!({ "storage_key": key, "name": "model.pth" })).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["storage_key"], json!(key));
    assert_eq!(file["name"], json!("model.pth"));

    let updated = api
        .ok(
            Method::PUT,
            &format!("/api/v1/artifacts/{a}"),
            Some(json!({ "description": "seeded model", "metadata": { "task": "vision" } })),
        )
        .await;
    assert_eq!(updated["description"], json!("seeded model"));
    assert_eq!(updated["metadata"], json!({ "task": "vision" }));
    let version = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}"),
            None,
        )
        .await;
    assert_eq!(version["description"], json!("first"));
    assert_eq!(version["metadata"], json!({ "epochs": 3 }));
    assert_eq!(version["run_id"], run["id"]);
}

async fn unchanged_files_upload_nothing(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "data").await;
    let v0 = api.version(&a).await;
    for (path, bytes) in [
        ("a.bin", b"first".as_slice()),
        ("b.bin", b"second"),
        ("c.bin", b"third"),
    ] {
        assert!(api.add_file(&v0, path, bytes).await);
    }
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v0}/finalize"),
        None,
    )
    .await;
    let v1 = api.version(&a).await;
    let mut uploads = 0;
    for (path, bytes) in [
        ("a.bin", b"first".as_slice()),
        ("b.bin", b"second, changed"),
        ("c.bin", b"third"),
    ] {
        uploads += usize::from(api.add_file(&v1, path, bytes).await);
    }
    assert_eq!(uploads, 1, "only the changed file crosses the wire");
    let done = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v1}/finalize"),
            None,
        )
        .await;
    assert_eq!(done["version"], json!("v1"));
    let diff = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v0}/diff/{v1}"),
            None,
        )
        .await;
    assert_eq!(diff["modified"].as_array().map(Vec::len), Some(1));
    assert_eq!(diff["unchanged"], json!(2));
}

async fn aliases_and_latest(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "bert").await;
    let mut versions = Vec::new();
    for i in 0..3u8 {
        let v = api.version(&a).await;
        api.add_file(&v, "w", &[i; 10]).await;
        api.ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/finalize"),
            None,
        )
        .await;
        versions.push(v);
    }
    let best = api
        .ok(
            Method::PUT,
            &format!("/api/v1/artifacts/{a}/aliases/best"),
            Some(json!({ "version": "v1" })),
        )
        .await;
    assert_eq!(best["version"], json!("v1"));
    let name = api
        .ok(Method::GET, &format!("/api/v1/projects/{p}"), None)
        .await["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let resolved = api
        .ok(
            Method::GET,
            &format!("/api/v1/resolve?ref={name}/bert:best"),
            None,
        )
        .await;
    assert_eq!(resolved["version"]["id"], json!(versions[1]));
    let latest = api
        .ok(
            Method::GET,
            &format!("/api/v1/resolve?ref={name}/bert"),
            None,
        )
        .await;
    assert_eq!(latest["version"]["id"], json!(versions[2]));
    api.ok(
        Method::PUT,
        &format!("/api/v1/artifacts/{a}/aliases/best"),
        Some(json!({ "version_id": versions[2] })),
    )
    .await;
    let history = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/{a}/aliases/history?alias=best"),
            None,
        )
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2), "set, then moved");
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/artifacts/{a}/aliases/latest"),
            Some(json!({ "version": "v0" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    api.ok(
        Method::DELETE,
        &format!("/api/v1/artifacts/versions/{}", versions[2]),
        None,
    )
    .await;
    let latest = api
        .ok(
            Method::GET,
            &format!("/api/v1/resolve?ref={name}/bert:latest"),
            None,
        )
        .await;
    assert_eq!(
        latest["version"]["id"],
        json!(versions[1]),
        "latest falls back when its version is deleted"
    );
}

async fn finalized_versions_are_immutable(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let v = api.version(&a).await;
    api.add_file(&v, "x", b"x").await;
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v}/finalize"),
        None,
    )
    .await;
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files"),
            Some(spec("y", b"y")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], json!("conflict"));
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/upload-url"),
            Some(spec("y", b"y")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/finalize"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn wrong_bytes_are_refused(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let v = api.version(&a).await;
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/upload-url"),
            Some(spec("f", b"the real bytes")),
        )
        .await;
    let status = put_presigned(&api.http, &plan, b"tampered bytes".to_vec()).await;
    assert!(
        status.is_client_error(),
        "the store refuses bytes that miss the signed digests: {status}"
    );
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files"),
            Some(spec("f", b"the real bytes")),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "nothing was stored, so nothing registers: {body}"
    );
    // Through the server, too.
    let q = format!(
        "/api/v1/artifacts/versions/{v}/files/content?path=f&size=14&md5_hash={}&sha256_hash={}",
        hex(&md5::Md5::digest(b"the real bytes")),
        hex(&sha2::Sha256::digest(b"the real bytes"))
    );
    let resp = api
        .http
        .put(format!("{}{q}", api.base))
        .bearer_auth(KEY)
        .body("tampered bytes")
        .send()
        .await
        .expect("PUT");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = api
        .http
        .put(format!("{}{q}", api.base))
        .bearer_auth(KEY)
        .body("the real bytes")
        .send()
        .await
        .expect("PUT");
    assert_eq!(resp.status(), StatusCode::CREATED);
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v}/files"),
        Some(spec("f", b"the real bytes")),
    )
    .await;
}

/// Two server instances on one PostgreSQL database: 50 concurrent version creations spread over
/// both give 50 distinct, contiguous versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_number_versions_without_gaps_or_repeats() {
    let db = wanllmdb_store_sql::testing::TestDatabase::postgres();
    let dirs: Vec<std::path::PathBuf> = (0..2)
        .map(|_| {
            let d = std::env::temp_dir()
                .join("wanllmdb-e2e")
                .join(uuid::Uuid::now_v7().simple().to_string());
            std::fs::create_dir_all(&d).expect("dir");
            d
        })
        .collect();
    let one = start_with(
        server_env(Backend::PostgresS3, &dirs[0], Some(db.url())),
        dirs[0].clone(),
        None,
    );
    let two = start_with(
        server_env(Backend::PostgresS3, &dirs[1], Some(db.url())),
        dirs[1].clone(),
        None,
    );
    let (api1, api2) = (Api::new(&one), Api::new(&two));
    let p = api1.project().await;
    let a = api1.artifact(&p, "raced").await;
    let calls = (0..50).map(|i| {
        let api = if i % 2 == 0 { &api1 } else { &api2 };
        let path = format!("/api/v1/artifacts/{a}/versions");
        async move { api.ok(Method::POST, &path, None).await }
    });
    let results = futures::future::join_all(calls).await;
    let mut seen: Vec<u32> = results
        .iter()
        .map(|v| {
            v["version"].as_str().expect("version")[1..]
                .parse()
                .expect("number")
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<u32>>());
    tokio::time::sleep(Duration::from_millis(10)).await;
}

on_both_backends!(
    seed_flow,
    seed_bodies_are_accepted,
    unchanged_files_upload_nothing,
    aliases_and_latest,
    finalized_versions_are_immutable,
    wrong_bytes_are_refused,
);
