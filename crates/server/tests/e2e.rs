//! End-to-end: the real `wanllmdb-server` binary on a free port, driven over raw HTTP, on the
//! embedded default (SQLite + filesystem) and on PostgreSQL + Garage (S3).

#[macro_use]
mod common;

use common::*;
use md5::Digest as _;
// ---------------------------------------------------------------------------------------------
// The scenarios, each run on both backends.

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
    let part = api
        .http
        .get(format!(
            "{}/api/v1/artifacts/files/{}/content",
            api.base,
            model["id"].as_str().expect("id")
        ))
        .bearer_auth(KEY)
        .header("range", "bytes=10-19")
        .send()
        .await
        .expect("ranged GET");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/300000");
    assert_eq!(part.bytes().await.expect("bytes").len(), 10);
    let stats = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}/downloads"),
            None,
        )
        .await;
    assert_eq!(stats["count"], json!(2), "both downloads were recorded");
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
    let stats = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}/downloads"),
            None,
        )
        .await;
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

async fn auth_and_roles(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "private").await;
    let mut keys = Vec::new();
    for name in ["viewer-user", "outsider"] {
        let user = api.ok(Method::POST, "/api/v1/users", Some(json!({ "name": format!("{name}-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]) }))).await;
        let key = api
            .ok(
                Method::POST,
                &format!("/api/v1/users/{}/keys", id(&user)),
                Some(json!({ "label": "e2e" })),
            )
            .await;
        keys.push((
            id(&user),
            key["secret"].as_str().expect("secret").to_owned(),
        ));
    }
    let (viewer_id, viewer_key) = &keys[0];
    let (_, outsider_key) = &keys[1];
    api.ok(
        Method::PUT,
        &format!("/api/v1/projects/{p}/members/{viewer_id}"),
        Some(json!({ "role": "viewer" })),
    )
    .await;
    let viewer = api.as_user(viewer_key);
    let outsider = api.as_user(outsider_key);

    let resp = api
        .http
        .get(format!("{}/api/v1/artifacts/{a}", api.base))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "no key");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(
        viewer
            .call(Method::GET, &format!("/api/v1/artifacts/{a}"), None)
            .await
            .0,
        StatusCode::OK,
        "a viewer reads"
    );
    let (status, body) = viewer
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/{a}/versions"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer cannot write: {body}"
    );
    let (status, _) = outsider
        .call(Method::GET, &format!("/api/v1/artifacts/{a}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another project's artifact does not exist for an outsider"
    );
    let (status, _) = outsider
        .call(
            Method::GET,
            &format!("/api/v1/artifacts?project_id={p}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor does the project");
    let everything = outsider.ok(Method::GET, "/api/v1/artifacts", None).await;
    assert_eq!(
        everything["items"],
        json!([]),
        "an outsider lists nothing of the project"
    );
    let mine = viewer.ok(Method::GET, "/api/v1/artifacts", None).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (status, _) = outsider
        .call(
            Method::GET,
            "/api/v1/users/00000000-0000-0000-0000-000000000000/keys",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api
        .as_user("wlm_not_a_real_key_but_long_enough_to_check")
        .call(Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn malformed_requests_get_problem_documents(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let v = api.version(&a).await;
    let done = api.version(&a).await;
    api.add_file(&done, "x", b"x").await;
    let file = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{done}/files"),
            None,
        )
        .await["items"][0]["id"]
        .as_str()
        .expect("file id")
        .to_owned();
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{done}/finalize"),
        None,
    )
    .await;
    let nil = "00000000-0000-0000-0000-000000000000";
    let good = spec("ok.bin", b"ok");
    let with = |k: &str, val: Value| {
        let mut s = good.clone();
        s[k] = val;
        s
    };
    let many: Vec<Value> = (0..10_001).map(|i| spec(&format!("f{i}"), b"x")).collect();
    let huge = "x".repeat(33 * 1024 * 1024);
    let up = format!("/api/v1/artifacts/versions/{v}/files/upload-url");
    let reg = format!("/api/v1/artifacts/versions/{v}/files");
    // (method, path, body: Some(json) | raw text, extra header)
    enum B {
        None,
        Json(Value),
        Raw(&'static str, String),
    }
    let cases: Vec<(Method, String, B)> = vec![
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Raw("application/json", "{".into()),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Raw("text/plain", "{}".into()),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "name": "n", "type": "model", "extra": 1 })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "type": "model" })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "name": "has space", "type": "model" })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "name": "x".repeat(200), "type": "model" })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "name": "n", "type": "weights" })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": p, "name": "n", "type": "model", "metadata": [1] })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": "not-a-uuid", "name": "n", "type": "model" })),
        ),
        (
            Method::POST,
            "/api/v1/artifacts".into(),
            B::Json(json!({ "project_id": nil, "name": "n", "type": "model" })),
        ),
        (Method::GET, "/api/v1/artifacts/not-a-uuid".into(), B::None),
        (Method::GET, format!("/api/v1/artifacts/{nil}"), B::None),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}"),
            B::Json(json!({ "colour": "red" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}"),
            B::Json(json!({ "description": "d".repeat(20_000) })),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/{nil}/versions"),
            B::None,
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/{a}/versions"),
            B::Raw("application/json", "[1]".into()),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/{a}/versions"),
            B::Json(json!({ "run_id": nil })),
        ),
        (
            Method::GET,
            "/api/v1/artifacts/versions/nope".into(),
            B::None,
        ),
        (
            Method::POST,
            up.clone(),
            B::Json(with("path", json!("../etc/passwd"))),
        ),
        (
            Method::POST,
            up.clone(),
            B::Json(with("path", json!("/abs/path"))),
        ),
        (
            Method::POST,
            up.clone(),
            B::Json(with("path", json!("a//b"))),
        ),
        (
            Method::POST,
            up.clone(),
            B::Json(with("path", json!("a\u{0}b"))),
        ),
        (Method::POST, up.clone(), B::Json(with("path", json!("")))),
        (
            Method::POST,
            up.clone(),
            B::Json(with("sha256_hash", json!("abc"))),
        ),
        (
            Method::POST,
            up.clone(),
            B::Json(with("md5_hash", json!("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"))),
        ),
        (Method::POST, up.clone(), B::Json(with("size", json!(-1)))),
        (Method::POST, up.clone(), B::Json(json!({ "path": "x" }))),
        (Method::POST, reg.clone(), B::Json(good.clone())),
        (
            Method::POST,
            reg.clone(),
            B::Json(with("path", json!("a/../b"))),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/versions/{v}/files/upload-urls"),
            B::Json(json!({ "files": [] })),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/versions/{v}/files/batch"),
            B::Json(json!({ "files": many })),
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            B::Raw("application/json", format!("{{\"name\":\"{huge}\"}}")),
        ),
        (
            Method::GET,
            format!("/api/v1/artifacts/files/{nil}/download-url"),
            B::None,
        ),
        (
            Method::DELETE,
            "/api/v1/artifacts/files/zzz".into(),
            B::None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/artifacts/files/{file}"),
            B::None,
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/v3"),
            B::Json(json!({ "version": "v0" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/latest"),
            B::Json(json!({ "version": "v0" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/best"),
            B::Json(json!({ "version": "v0" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/best"),
            B::Json(json!({ "version": "v1", "version_id": done })),
        ),
        (Method::GET, "/api/v1/resolve?ref=bad:ref:x".into(), B::None),
        (Method::GET, "/api/v1/resolve".into(), B::None),
        (Method::GET, "/api/v1/artifacts?limit=0".into(), B::None),
        (Method::GET, "/api/v1/artifacts?limit=abc".into(), B::None),
        (Method::GET, "/api/v1/artifacts?cursor=!!!".into(), B::None),
        (
            Method::POST,
            format!("/api/v1/artifacts/versions/{done}/download-urls"),
            B::Json(json!({ "cursor": "!!!" })),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/versions/{done}/download-urls"),
            B::Json(json!({ "limit": 0 })),
        ),
        (
            Method::POST,
            format!("/api/v1/artifacts/versions/{nil}/download-urls"),
            B::Json(json!({})),
        ),
        (
            Method::GET,
            "/api/v1/artifacts?type=weights".into(),
            B::None,
        ),
        (Method::GET, "/api/v1/artifacts?bogus=1".into(), B::None),
        (
            Method::POST,
            "/api/v1/projects".into(),
            B::Json(json!({ "name": "UPPER" })),
        ),
        (Method::POST, "/api/v1/nonexistent".into(), B::None),
        (
            Method::PUT,
            "/api/v1/blobs/signed?op=put&key=a&exp=1&sig=00".into(),
            B::Raw("application/octet-stream", "x".into()),
        ),
        (
            Method::GET,
            format!("/api/v1/artifacts/versions/{v}/lineage?depth=99"),
            B::None,
        ),
        (
            Method::POST,
            "/api/v1/admin/gc".into(),
            B::Json(json!({ "grace_seconds": "soon" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/projects/{p}/members/{nil}"),
            B::Json(json!({ "role": "owner" })),
        ),
    ];
    assert!(cases.len() >= 40);
    for (method, path, body) in cases {
        let mut req = api
            .http
            .request(method.clone(), format!("{}{path}", api.base))
            .bearer_auth(KEY);
        req = match body {
            B::None => req,
            B::Json(v) => req.json(&v),
            B::Raw(ct, text) => req.header("content-type", ct).body(text),
        };
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap_or_default();
        let shown: String = path.chars().take(100).collect();
        assert!(
            status.is_client_error(),
            "{method} {shown} answered {status}: {text}"
        );
        assert_eq!(ct, "application/problem+json", "{method} {shown}: {text}");
        let problem: Value = serde_json::from_str(&text).expect("problem JSON");
        assert_eq!(
            problem["status"],
            json!(status.as_u16()),
            "{method} {shown}"
        );
        assert!(
            problem["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{method} {shown}: {text}"
        );
    }
    // And a range past the end of a file.
    let resp = api
        .http
        .get(format!(
            "{}/api/v1/artifacts/files/{file}/content",
            api.base
        ))
        .bearer_auth(KEY)
        .header("range", "bytes=500-")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

async fn system_endpoints(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    assert_eq!(
        api.http
            .get(format!("{}/healthz", api.base))
            .send()
            .await
            .expect("healthz")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api.http
            .get(format!("{}/readyz", api.base))
            .send()
            .await
            .expect("readyz")
            .status(),
        StatusCode::OK
    );
    let doc: Value = api
        .http
        .get(format!("{}/api/v1/openapi.json", api.base))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], json!("3.1.0"));
    for path in [
        "/api/v1/artifacts",
        "/api/v1/artifacts/versions/{version_id}/finalize",
        "/api/v1/artifacts/files/{file_id}/download-url",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    api.project().await;
    let metrics = api
        .http
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("wanllmdb_http_requests_total{method=\"POST\",status=\"201\"}"),
        "{metrics}"
    );
    let resp = api
        .http
        .get(format!("{}/healthz", api.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.headers()["x-request-id"], "trace-me-42");
}

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

/// The SDK against the real server: log a tree, use it back, change one file, log again.
async fn sdk_logs_and_uses_artifacts(backend: Backend) {
    use wanllmdb_client::{Artifact, Client, ClientError, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let server = start(backend);
    let client = Client::new(&server.base, KEY);
    let project = format!("sdk-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    client.create_project(&project).await.expect("project");
    let src = server._dir.join("src");
    for i in 0..500 {
        let path = src.join(format!("shard-{}/sub-{}/file-{i:03}.txt", i % 7, i % 3));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, format!("content of file {i}\n").repeat(i % 5 + 1)).expect("write");
    }
    let artifact = Artifact::new("corpus", ArtifactType::Dataset)
        .description("500 files")
        .add_dir(&src)
        .expect("add dir");
    let v0 = client
        .log_artifact(&project, &artifact, LogOptions::default().alias("golden"))
        .await
        .expect("log");
    assert_eq!((v0.version.as_str(), v0.file_count), ("v0", 500));
    assert!(v0.aliases.contains(&"golden".to_owned()));

    let again = client
        .log_artifact(&project, &artifact, LogOptions::default())
        .await
        .expect("log unchanged");
    assert_eq!(again.id, v0.id, "unchanged files make no new version");

    // Files repeating each other's bytes in one call send them once.
    let twins = server._dir.join("twins");
    std::fs::create_dir_all(twins.join("b")).expect("dirs");
    for (path, text) in [("a.txt", "same"), ("b/a.txt", "same"), ("c.txt", "other")] {
        std::fs::write(twins.join(path), text).expect("write");
    }
    let train = client.create_run(&project, "train-1").await.expect("run");
    let logged = client
        .log_artifact_detailed(
            &project,
            &Artifact::new("twins", ArtifactType::Dataset)
                .add_dir(&twins)
                .expect("add dir"),
            LogOptions::default().run(train),
        )
        .await
        .expect("log twins");
    assert_eq!(
        (
            logged.uploaded_files,
            logged.uploaded_bytes,
            logged.reused_files
        ),
        (2, 9, 1)
    );
    assert_eq!(logged.version.file_count, 3);
    let twins_out = server._dir.join("twins-out");
    client
        .use_artifact(&format!("{project}/twins:latest"), None)
        .await
        .expect("use twins")
        .download(&twins_out)
        .await
        .expect("download twins");
    assert_eq!(
        std::fs::read_to_string(twins_out.join("b/a.txt")).expect("twin"),
        "same"
    );
    // Listings and lineage through the SDK.
    let eval = client.create_run(&project, "eval-1").await.expect("run");
    client
        .use_artifact(&format!("{project}/twins:latest"), Some(eval))
        .await
        .expect("use as an input");
    let lineage = client
        .lineage(&format!("{project}/twins:latest"), 2)
        .await
        .expect("lineage");
    use wanllmdb_api::EdgeKindName;
    let edges: Vec<(uuid::Uuid, EdgeKindName)> =
        lineage.edges.iter().map(|e| (e.run, e.kind)).collect();
    assert!(
        edges.contains(&(train, EdgeKindName::Produced)),
        "{lineage:?}"
    );
    assert!(edges.contains(&(eval, EdgeKindName::Used)), "{lineage:?}");
    assert!(
        lineage.versions.iter().all(|v| v.version.starts_with('v')),
        "lineage versions carry their labels: {lineage:?}"
    );
    let runs = client.list_runs(&project).await.expect("runs");
    let mut names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["eval-1", "train-1"]);
    let aliases = client
        .list_aliases(&format!("{project}/twins"))
        .await
        .expect("aliases");
    assert!(aliases.iter().any(|a| a.name == "latest"), "{aliases:?}");
    let files = client
        .list_files(&format!("{project}/twins:v0"), Some("b/"))
        .await
        .expect("files");
    assert_eq!(
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["b/a.txt"]
    );

    let used = client
        .use_artifact(&format!("{project}/corpus:golden"), None)
        .await
        .expect("use");
    let out = server._dir.join("out");
    used.download(&out).await.expect("download");
    for i in [0usize, 137, 499] {
        let rel = format!("shard-{}/sub-{}/file-{i:03}.txt", i % 7, i % 3);
        assert_eq!(
            std::fs::read(out.join(&rel)).expect("restored"),
            std::fs::read(src.join(&rel)).expect("source"),
            "{rel}"
        );
    }

    std::fs::write(src.join("shard-0/sub-0/file-000.txt"), "changed").expect("change");
    let artifact = Artifact::new("corpus", ArtifactType::Dataset)
        .add_dir(&src)
        .expect("add dir");
    let logged = client
        .log_artifact_detailed(&project, &artifact, LogOptions::default())
        .await
        .expect("log changed");
    assert!(logged.created);
    assert_eq!(
        (
            logged.uploaded_files,
            logged.uploaded_bytes,
            logged.reused_files
        ),
        (1, 7, 499),
        "only the changed file's bytes cross the wire"
    );
    let v1 = logged.version;
    assert_eq!(v1.version, "v1");

    // With a cache, a second download of the same version moves no bytes.
    let cached = client
        .clone()
        .with_cache(server._dir.join("cache"), 1 << 30);
    let used = cached
        .use_artifact(&format!("{project}/corpus:v1"), None)
        .await
        .expect("use");
    let first = used
        .download_with(&server._dir.join("c1"), None)
        .await
        .expect("first download");
    assert_eq!(
        (first.files, first.fetched_files, first.cached_files),
        (500, 500, 0)
    );
    let stats_before = Api::new(&server)
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/downloads", v1.id),
            None,
        )
        .await;
    assert!(
        stats_before["count"].as_u64() > Some(0),
        "the first download was recorded: {stats_before}"
    );
    let second = used
        .download_with(&server._dir.join("c2"), None)
        .await
        .expect("second download");
    assert_eq!(
        (
            second.fetched_files,
            second.fetched_bytes,
            second.cached_files
        ),
        (0, 0, 500)
    );
    let stats_after = Api::new(&server)
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/downloads", v1.id),
            None,
        )
        .await;
    assert_eq!(
        stats_before["count"], stats_after["count"],
        "the registry served nothing the second time"
    );
    assert_eq!(
        std::fs::read(server._dir.join("c2/shard-0/sub-0/file-000.txt")).expect("from cache"),
        b"changed"
    );
    let part = used
        .download_with(&server._dir.join("c3"), Some("shard-3/"))
        .await
        .expect("prefix download");
    assert_eq!(part.files, (0..500).filter(|i| i % 7 == 3).count() as u64);
    assert!(!server._dir.join("c3/shard-2").exists());
    let api = Api::new(&server);
    let diff = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/diff/{}", v0.id, v1.id),
            None,
        )
        .await;
    assert_eq!(diff["modified"].as_array().map(Vec::len), Some(1));
    assert_eq!(diff["unchanged"], json!(499));

    // Corrupt the stored bytes of one file: the download names it and leaves nothing behind.
    {
        let sha = hex(&sha2::Sha256::digest(b"changed"));
        match backend {
            Backend::SqliteFs => {
                let stored = walk(&server._dir.join("blobs/objects"))
                    .into_iter()
                    .find(|p| p.ends_with(&sha))
                    .expect("the blob on disk");
                std::fs::write(&stored, "tampered").expect("corrupt");
            }
            Backend::PostgresS3 => {
                use wanllmdb_domain::ports::{BlobStore, ExpectedContent};
                let store = wanllmdb_blob_s3::S3BlobStore::connect(wanllmdb_blob_s3::S3Config {
                    endpoint: env("TEST_S3_ENDPOINT"),
                    region: env("TEST_S3_REGION"),
                    bucket: env("TEST_S3_BUCKET"),
                    access_key: env("TEST_S3_ACCESS_KEY"),
                    secret_key: env("TEST_S3_SECRET_KEY"),
                    path_style: true,
                    part_size: 5 << 20,
                })
                .await
                .expect("reach Garage");
                let key = wanllmdb_domain::keys::ObjectKey::blob(
                    wanllmdb_domain::ids::ProjectId::from_uuid(v1.project_id),
                    &wanllmdb_domain::types::Sha256::parse(&sha).expect("sha"),
                );
                let body: wanllmdb_domain::ports::ByteStream =
                    Box::pin(futures::stream::once(async {
                        Ok(bytes::Bytes::from_static(b"tampered"))
                    }));
                store
                    .put(&key, body, &ExpectedContent::default())
                    .await
                    .expect("overwrite the object behind the registry's back");
            }
        }
        let used = client
            .use_artifact(&format!("{project}/corpus:latest"), None)
            .await
            .expect("use");
        let bad = server._dir.join("bad");
        match used.download(&bad).await {
            Err(ClientError::Integrity { path, .. }) => {
                assert_eq!(path, "shard-0/sub-0/file-000.txt")
            }
            other => panic!("expected an integrity error, got {other:?}"),
        }
        assert!(
            !bad.join("shard-0/sub-0/file-000.txt").exists(),
            "no corrupt file is left in the target"
        );
    }
}

/// The command line against the real server: login, project, put a folder, list, get it back.
async fn cli_puts_and_gets(backend: Backend) {
    use wanllmdb_cli::{exit, run};
    let server = start(backend);
    // Only this test reads the CLI's config dir, so setting it here races with nothing.
    let config = server._dir.join("cli-config");
    std::env::set_var("WANLLMDB_CONFIG_DIR", &config);
    std::env::set_var("WANLLMDB_CACHE_DIR", server._dir.join("cli-cache"));
    let cli = |args: &[&str]| {
        let mut all = vec![
            "wanllmdb".to_owned(),
            "--url".to_owned(),
            server.base.clone(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        async move { run(all).await }
    };
    assert_eq!(
        run(["wanllmdb", "login", "--url", &server.base, "--key", KEY]).await,
        exit::OK
    );
    assert!(
        config.join("credentials.json").exists(),
        "login saves the credentials"
    );
    let project = format!("cli-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    assert_eq!(cli(&["project", "create", &project]).await, exit::OK);
    let src = server._dir.join("cli-src");
    std::fs::create_dir_all(src.join("nested")).expect("dirs");
    std::fs::write(src.join("a.txt"), "alpha").expect("write");
    std::fs::write(src.join("nested/b.bin"), vec![9u8; 4096]).expect("write");
    let src_s = src.to_string_lossy().into_owned();
    assert_eq!(
        cli(&[
            "artifact",
            "put",
            &src_s,
            "--project",
            &project,
            "--name",
            "bundle",
            "--type",
            "dataset",
            "--alias",
            "best",
            "--metadata",
            "{\"rows\": 2}"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "ls", "--project", &project]).await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "versions", "bundle", "--project", &project]).await,
        exit::OK
    );
    let reference = format!("{project}/bundle:best");
    assert_eq!(
        cli(&["--json", "artifact", "info", &reference]).await,
        exit::OK
    );
    let out = server._dir.join("cli-out");
    let out_s = out.to_string_lossy().into_owned();
    assert_eq!(
        cli(&["artifact", "get", &reference, "-o", &out_s]).await,
        exit::OK
    );
    assert_eq!(
        std::fs::read(out.join("nested/b.bin")).expect("restored"),
        vec![9u8; 4096]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).expect("restored"),
        "alpha"
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/nope:v0")]).await,
        exit::FAILED,
        "an unknown reference fails"
    );
    std::fs::write(src.join("a.txt"), "alpha, again").expect("write");
    // `--json` output, read back: what the put sent, the files, runs and lineage.
    let json_of = |args: &[&str]| {
        let mut all = vec![
            "wanllmdb".to_owned(),
            "--json".to_owned(),
            "--url".to_owned(),
            server.base.clone(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        async move {
            let (code, out, err) = wanllmdb_cli::run_captured(all).await;
            assert_eq!(code, exit::OK, "{err}");
            serde_json::from_str::<Value>(&out).expect("JSON on stdout")
        }
    };
    let run_id = json_of(&["run", "create", "--project", &project, "train"]).await["id"]
        .as_str()
        .expect("run id")
        .to_owned();
    let put = json_of(&[
        "artifact",
        "put",
        &src_s,
        "--project",
        &project,
        "--name",
        "bundle",
        "--type",
        "dataset",
        "--run",
        &run_id,
    ])
    .await;
    assert_eq!(
        (
            put["version"].clone(),
            put["created"].clone(),
            put["uploaded_files"].clone(),
            put["uploaded_bytes"].clone(),
            put["reused_files"].clone()
        ),
        (json!("v1"), json!(true), json!(1), json!(12), json!(1)),
        "only the changed file was sent: {put}"
    );
    let files = json_of(&[
        "artifact",
        "files",
        &format!("{project}/bundle:v1"),
        "--prefix",
        "nested/",
    ])
    .await;
    assert_eq!(files[0]["path"], json!("nested/b.bin"));
    assert_eq!(files.as_array().map(Vec::len), Some(1));
    let runs = json_of(&["run", "ls", "--project", &project]).await;
    assert_eq!(runs[0]["name"], json!("train"));
    let lineage = json_of(&["artifact", "lineage", &format!("{project}/bundle:v1")]).await;
    assert_eq!(lineage["edges"][0]["run"], json!(run_id));
    assert_eq!(lineage["edges"][0]["kind"], json!("produced"));
    assert_eq!(
        cli(&[
            "artifact",
            "diff",
            &format!("{project}/bundle:v0"),
            &format!("{project}/bundle:v1")
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "alias",
            "set",
            &format!("{project}/bundle:v1"),
            "prod"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "get",
            &format!("{project}/bundle:prod"),
            "-o",
            &out_s,
            "--prefix",
            "nested/"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "alias",
            "rm",
            &format!("{project}/bundle"),
            "prod"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/bundle:prod")]).await,
        exit::FAILED,
        "the alias is gone"
    );
    assert_eq!(cli(&["cache", "info"]).await, exit::OK);
    assert_eq!(cli(&["cache", "clean"]).await, exit::OK);
    assert_eq!(
        cli(&["artifact", "rm", &format!("{project}/bundle")]).await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/bundle:v0")]).await,
        exit::FAILED,
        "deleted"
    );
    assert_eq!(
        cli(&[
            "artifact",
            "put",
            &src_s,
            "--project",
            &project,
            "--name",
            "x",
            "--type",
            "weights"
        ])
        .await,
        exit::USAGE
    );
    assert_eq!(
        run(["wanllmdb", "artifact", "frobnicate"]).await,
        exit::USAGE
    );
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
    let out = Command::new(env!("CARGO_BIN_EXE_wanllmdb-server"))
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

on_both_backends!(
    seed_bodies_are_accepted,
    seed_flow,
    unchanged_files_upload_nothing,
    aliases_and_latest,
    finalized_versions_are_immutable,
    wrong_bytes_are_refused,
    auth_and_roles,
    malformed_requests_get_problem_documents,
    system_endpoints,
    large_files_go_up_in_resumable_parts,
    sdk_logs_and_uses_artifacts,
    sdk_resumes_interrupted_uploads,
    killed_uploads_resume,
    garbage_collection_drops_what_was_abandoned,
);

/// One test for both backends: the CLI reads its configuration from process-wide variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_on_both_backends() {
    cli_puts_and_gets(Backend::SqliteFs).await;
    cli_puts_and_gets(Backend::PostgresS3).await;
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
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&local).expect("create"));
        let block: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        for i in 0..size / 1_000_000 {
            let mut b = block.clone();
            b[..8].copy_from_slice(&i.to_le_bytes());
            sha.update(&b);
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
