//! The HTTP contract on both backends: keys and roles, malformed requests answered with problem
//! documents, and the system endpoints (health, metrics, OpenAPI).

use wanllmdb_e2e::*;

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
    // Any signed-in user may read another's name (the UI shows who made what), not their keys.
    let named = outsider
        .ok(Method::GET, &format!("/api/v1/users/{viewer_id}"), None)
        .await;
    assert_eq!(named["id"].as_str(), Some(viewer_id.as_str()));
    assert!(named["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("viewer-user-")));
    let (status, body) = outsider
        .call(
            Method::GET,
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // And find a user by exact name (to add a member), nothing by a partial or malformed one.
    let name = named["name"].as_str().unwrap_or_default().to_owned();
    let found = outsider
        .ok(Method::GET, &format!("/api/v1/users?name={name}"), None)
        .await;
    assert_eq!(found["id"].as_str(), Some(viewer_id.as_str()));
    let (status, body) = outsider
        .call(Method::GET, "/api/v1/users?name=viewer-user", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = outsider
        .call(Method::GET, "/api/v1/users?name=a%20b%2F..", None)
        .await;
    assert!(status.is_client_error(), "{status} {body}");
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
        // Only negotiating may leave the MD5 out.
        (
            Method::POST,
            reg.clone(),
            B::Json(with("md5_hash", Value::Null)),
        ),
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

/// A version named in a body that does not exist is invalid input (422 naming the field), not
/// a missing target: the run or artifact the path names was found.
async fn body_references_to_missing_versions_are_invalid(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "m").await;
    let run = id(&api
        .ok(
            Method::POST,
            "/api/v1/runs",
            Some(json!({ "project_id": p, "name": "r" })),
        )
        .await);
    let nowhere = uuid::Uuid::now_v7().to_string();
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/runs/{run}/inputs"),
            json!({ "version_id": nowhere }),
        ),
        (
            Method::POST,
            format!("/api/v1/runs/{run}/outputs"),
            json!({ "version_id": nowhere }),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/best"),
            json!({ "version_id": nowhere }),
        ),
        (
            Method::PUT,
            format!("/api/v1/artifacts/{a}/aliases/best"),
            json!({ "version": "v7" }),
        ),
    ] {
        let (status, problem) = api.call(method, &path, Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {problem}"
        );
        assert_eq!(problem["code"], "unknown_reference", "{problem}");
        let field = body
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&field),
            "the detail names {field}: {problem}"
        );
    }
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/runs/{nowhere}/inputs"),
            Some(json!({ "version_id": nowhere })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a missing run is the missing target"
    );
}

on_both_backends!(
    body_references_to_missing_versions_are_invalid,
    auth_and_roles,
    malformed_requests_get_problem_documents,
    system_endpoints,
);
