//! End-to-end checks of what a hostile or unlucky client can do: sizes no store holds, bodies
//! that are not objects, overlong URLs, bytes uploaded and never registered, servers started
//! together on a fresh database. Each runs on both backends where the behaviour is the store's.

use md5::Digest as _;
use wanllmdb_e2e::*;

/// A problem document with `status` and `code`, and the nosniff header every answer carries.
async fn expect_problem(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "{resp:?}");
    assert_eq!(
        resp.headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: Value = resp.json().await.expect("a JSON problem document");
    assert_eq!(body["status"], json!(status), "{body}");
    assert_eq!(body["code"], json!(code), "{body}");
    body
}

async fn sizes_beyond_any_store_are_refused(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "huge").await;
    let v = api.version(&a).await;
    for size in [1u64 << 63, u64::MAX, (5u64 << 40) + 1] {
        let mut body = spec("huge.bin", b"x");
        body["size"] = json!(size);
        let resp = api
            .http
            .post(format!(
                "{}/api/v1/artifacts/versions/{v}/files/upload-url",
                api.base
            ))
            .bearer_auth(&api.key)
            .json(&body)
            .send()
            .await
            .expect("POST");
        let problem = expect_problem(resp, 422, "invalid_input").await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("largest file")),
            "{problem}"
        );
        let resp = api
            .http
            .put(format!(
                "{}/api/v1/artifacts/versions/{v}/files/content?path=h&size={size}&md5_hash={}&sha256_hash={}",
                api.base,
                hex(&md5::Md5::digest(b"x")),
                hex(&sha2::Sha256::digest(b"x"))
            ))
            .bearer_auth(&api.key)
            .body("x")
            .send()
            .await
            .expect("PUT");
        expect_problem(resp, 422, "invalid_input").await;
    }
    // The largest allowed size still gets its plan (of at most 10,000 parts).
    let mut body = spec("big.bin", b"x");
    body["size"] = json!(5u64 << 40);
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{v}/files/upload-url"),
            Some(body),
        )
        .await;
    let parts = plan["multipart"]["parts"].as_array().expect("parts");
    assert!(parts.len() <= 10_000, "{} parts", parts.len());
}

async fn bodies_must_be_json_objects(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let before = api.ok(Method::GET, "/api/v1/projects", None).await;
    let post = |path: &'static str, body: &'static str| {
        api.http
            .post(format!("{}{path}", api.base))
            .bearer_auth(&api.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (path, body) in [
        ("/api/v1/projects", r#"["by-position"]"#),
        ("/api/v1/projects", r#""by-position""#),
        ("/api/v1/admin/gc", "[86400, 604800, true]"),
        ("/api/v1/admin/gc", "[]"),
        ("/api/v1/admin/gc", "null"),
        ("/api/v1/runs", "[1]"),
        ("/api/v1/artifacts", "[]"),
    ] {
        let resp = post(path, body).await.expect("POST");
        let problem = expect_problem(resp, 422, "invalid_input").await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("a JSON object")),
            "{path} {body}: {problem}"
        );
    }
    let a = api.project().await;
    let art = api.artifact(&a, "m").await;
    let resp = api
        .http
        .post(format!("{}/api/v1/artifacts/{art}/versions", api.base))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body(r#"["described by position"]"#)
        .send()
        .await
        .expect("POST");
    expect_problem(resp, 422, "invalid_input").await;
    let after = api.ok(Method::GET, "/api/v1/projects", None).await;
    assert_eq!(
        after["items"].as_array().map(Vec::len),
        before["items"].as_array().map(|v| v.len() + 1),
        "only the one project made with an object exists"
    );
}

async fn every_answer_is_hardened(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    for (path, auth) in [
        ("/healthz", false),
        ("/api/v1/openapi.json", false),
        ("/api/v1/me", true),
        ("/api/v1/nowhere", true),
        ("/api/v1/me", false),
    ] {
        let mut req = api.http.get(format!("{}{path}", api.base));
        if auth {
            req = req.bearer_auth(&api.key);
        }
        let resp = req.send().await.expect("GET");
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{path}: {resp:?}"
        );
        let csp = resp
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp:?}"
        );
    }

    // Stored files that a browser would run come back as inert attachments.
    let p = api.project().await;
    let a = api.artifact(&p, "hostile").await;
    let v = api.version(&a).await;
    let script = b"<script>document.title='ran'</script>".to_vec();
    for (path, bytes, served_as) in [
        ("page.html", script.clone(), "application/octet-stream"),
        ("logo.svg", script.clone(), "application/octet-stream"),
        ("notes.md", script.clone(), "text/plain; charset=utf-8"),
        ("data.json", b"{\"a\": 1}".to_vec(), "application/json"),
    ] {
        api.add_file(&v, path, &bytes).await;
        let files = api
            .ok(
                Method::GET,
                &format!("/api/v1/artifacts/versions/{v}/files?prefix={path}"),
                None,
            )
            .await;
        let file = id(&files["items"][0]);
        let resp = api
            .http
            .get(format!(
                "{}/api/v1/artifacts/files/{file}/content",
                api.base
            ))
            .bearer_auth(&api.key)
            .send()
            .await
            .expect("GET");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("content-type"), served_as, "{path}");
        assert!(
            header("content-disposition").starts_with("attachment"),
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(resp.bytes().await.expect("bytes").to_vec(), bytes, "{path}");
    }
    let long = format!("/api/v1/projects?cursor={}", "a".repeat(20_000));
    let resp = api
        .http
        .get(format!("{}{long}", api.base))
        .bearer_auth(&api.key)
        .send()
        .await
        .expect("GET");
    let problem = expect_problem(resp, 414, "uri_too_long").await;
    assert!(problem["detail"]
        .as_str()
        .is_some_and(|d| d.contains("16384")));

    // A version names a run of its own project: another project's run is refused like a run
    // that does not exist (422 naming `run_id`); a run cannot produce another project's version
    // (422), and a run that does not exist is the missing target (404).
    let mine = api.project().await;
    let theirs = api.project().await;
    let run = id(&api
        .ok(
            Method::POST,
            "/api/v1/runs",
            Some(json!({ "project_id": theirs, "name": "elsewhere" })),
        )
        .await);
    let a = api.artifact(&mine, "m").await;
    let v = api.version(&a).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (run_id, outputs) in [
        (&run, StatusCode::UNPROCESSABLE_ENTITY),
        (&unknown, StatusCode::NOT_FOUND),
    ] {
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/api/v1/runs/{run_id}/outputs"),
                Some(json!({ "version_id": v })),
            )
            .await;
        assert_eq!(status, outputs, "{body}");
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/api/v1/artifacts/{a}/versions"),
                Some(json!({ "run_id": run_id })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "unknown_reference", "{body}");
    }
}

/// Bytes that reach the store but never a file record (the client died between its PUT and
/// the registration, or never registered) are collected once older than the grace period.
async fn bytes_never_registered_are_collected(backend: Backend) {
    let bucket = format!(
        "orphans-{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    );
    let mut extra = vec![];
    if backend == Backend::PostgresS3 {
        extra.push(("WANLLMDB__STORAGE__S3__BUCKET", bucket.as_str()));
    }
    let server = start_extra(backend, &extra);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let kept = api.version(&a).await;
    assert!(api.add_file(&kept, "kept.txt", b"kept bytes").await);
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{kept}/finalize"),
        None,
    )
    .await;
    let draft = api.version(&a).await;
    // A presigned PUT never registered.
    let lonely = b"uploaded through a presigned URL, never registered";
    let plan = api
        .ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{draft}/files/upload-url"),
            Some(spec("lonely", lonely)),
        )
        .await;
    assert!(put_presigned(&api.http, &plan, lonely.to_vec())
        .await
        .is_success());
    // Bytes streamed through the server, never registered.
    let streamed = b"streamed through the server";
    let resp = api
        .http
        .put(format!(
            "{}/api/v1/artifacts/versions/{draft}/files/content?path=s&size={}&md5_hash={}&sha256_hash={}",
            api.base,
            streamed.len(),
            hex(&md5::Md5::digest(streamed)),
            hex(&sha2::Sha256::digest(streamed))
        ))
        .bearer_auth(&api.key)
        .body(streamed.to_vec())
        .send()
        .await
        .expect("PUT");
    assert!(resp.status().is_success(), "{resp:?}");

    let gc = |grace: u64, dry_run: bool| json!({ "grace_seconds": grace, "dry_run": dry_run });
    let young = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(3600, false)))
        .await;
    assert_eq!(young["orphan_objects"], json!(0), "{young}");
    // Object times have a resolution of a second on some stores.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let dry = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(0, true)))
        .await;
    let orphan_bytes = (lonely.len() + streamed.len()) as u64;
    assert_eq!(
        (dry["orphan_objects"].clone(), dry["orphan_bytes"].clone()),
        (json!(2), json!(orphan_bytes)),
        "{dry}"
    );
    let real = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(0, false)))
        .await;
    assert_eq!(
        (real["orphan_objects"].clone(), real["orphan_bytes"].clone()),
        (json!(2), json!(orphan_bytes)),
        "{real}"
    );
    // The orphans are gone: negotiating them again asks for an upload, and registering without
    // one is refused.
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{draft}/files"),
            Some(spec("lonely", lonely)),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    // The registered bytes stay and still download.
    assert_eq!(api.first_file_bytes(&kept).await, b"kept bytes");
    let again = api
        .ok(Method::POST, "/api/v1/admin/gc", Some(gc(0, false)))
        .await;
    assert_eq!(again["orphan_objects"], json!(0), "{again}");
    if backend == Backend::SqliteFs {
        let blobs = server._dir.join("blobs/objects");
        let left: Vec<_> = walk(&blobs);
        assert_eq!(left.len(), 1, "one object left on disk: {left:?}");
    }
}

/// Runs `wanllmdb-server migrate` `n` times at once against `vars`; every one must succeed.
fn migrate_together(vars: &[(String, String)], dir: &std::path::Path, n: usize) {
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(server_bin())
                .arg("migrate")
                .envs(vars.iter().cloned())
                .current_dir(dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start wanllmdb-server migrate")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "a concurrent start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn servers_starting_together_on_a_fresh_sqlite_database_all_migrate() {
    for _ in 0..5 {
        let dir = std::env::temp_dir()
            .join("wanllmdb-e2e")
            .join(uuid::Uuid::now_v7().simple().to_string());
        std::fs::create_dir_all(&dir).expect("dir");
        let vars = server_env(Backend::SqliteFs, &dir, None);
        migrate_together(&vars, &dir, 8);
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

#[test]
fn servers_starting_together_on_a_fresh_postgres_database_all_migrate() {
    for _ in 0..3 {
        let dir = std::env::temp_dir()
            .join("wanllmdb-e2e")
            .join(uuid::Uuid::now_v7().simple().to_string());
        std::fs::create_dir_all(&dir).expect("dir");
        let db = wanllmdb_store_sql::testing::TestDatabase::postgres();
        let vars = server_env(Backend::PostgresS3, &dir, Some(db.url()));
        migrate_together(&vars, &dir, 8);
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

on_both_backends!(
    sizes_beyond_any_store_are_refused,
    bodies_must_be_json_objects,
    every_answer_is_hardened,
    bytes_never_registered_are_collected,
);
