//! In-process handler tests on the in-memory adapters.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use serde_json::{json, Value};
use wanllmdb_domain::memory::{MemoryBlobStore, MemoryMetadataStore};
use wanllmdb_domain::service::{Registry, RegistryConfig};
use wanllmdb_domain::types::{Md5, Sha256, UserName};
use wanllmdb_http::{configure, AppState, Metrics, ROUTES};

const KEY: &str = "wlm_in_process_test_key_0123456789abcdefghijklmn";

async fn state() -> web::Data<AppState> {
    let blobs = Arc::new(MemoryBlobStore::new());
    let registry = Registry::new(
        Arc::new(MemoryMetadataStore::new()),
        blobs.clone(),
        RegistryConfig::default(),
    );
    registry
        .bootstrap(UserName::parse("admin").expect("name"), Some(KEY.into()))
        .await
        .expect("bootstrap");
    web::Data::new(AppState {
        registry,
        signed: Some(blobs),
        metrics: Metrics::default(),
    })
}

macro_rules! app {
    ($state:expr) => {
        test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    wanllmdb_http::metrics::observe,
                ))
                .configure(configure($state)),
        )
        .await
    };
}

fn auth(req: test::TestRequest) -> test::TestRequest {
    req.insert_header(("authorization", format!("Bearer {KEY}")))
}

#[actix_web::test]
async fn the_seed_flow_in_process() {
    let app = app!(state().await);
    let call = |req: test::TestRequest| auth(req).to_request();
    let p: Value = test::call_and_read_body_json(
        &app,
        call(
            test::TestRequest::post()
                .uri("/api/v1/projects")
                .set_json(json!({ "name": "in-proc" })),
        ),
    )
    .await;
    let a: Value = test::call_and_read_body_json(
        &app,
        call(
            test::TestRequest::post()
                .uri("/api/v1/artifacts")
                .set_json(json!({ "project_id": p["id"], "name": "m", "type": "dataset" })),
        ),
    )
    .await;
    assert_eq!(a["type"], json!("dataset"));
    let v: Value = test::call_and_read_body_json(
        &app,
        call(test::TestRequest::post().uri(&format!(
            "/api/v1/artifacts/{}/versions",
            a["id"].as_str().expect("id")
        ))),
    )
    .await;
    let vid = v["id"].as_str().expect("version id").to_owned();
    let bytes = b"rows,of,data\n";
    let spec = json!({ "path": "data.csv", "size": bytes.len(), "md5_hash": Md5::of(bytes).as_str(), "sha256_hash": Sha256::of(bytes).as_str() });
    let plan: Value = test::call_and_read_body_json(
        &app,
        call(
            test::TestRequest::post()
                .uri(&format!(
                    "/api/v1/artifacts/versions/{vid}/files/upload-url"
                ))
                .set_json(spec.clone()),
        ),
    )
    .await;
    assert_eq!(plan["already_stored"], json!(false));
    // The memory store's URL points at memory://blobs/...; its path and query are served here.
    let url = plan["upload_url"].as_str().expect("url");
    let path_and_query = format!(
        "/api/v1{}",
        &url[url.find("/blobs/signed").expect("signed path")..]
    );
    let resp = test::call_service(
        &app,
        test::TestRequest::put()
            .uri(&path_and_query)
            .set_payload(bytes.to_vec())
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = test::call_service(
        &app,
        call(
            test::TestRequest::post()
                .uri(&format!("/api/v1/artifacts/versions/{vid}/files"))
                .set_json(spec),
        ),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let done: Value = test::call_and_read_body_json(
        &app,
        call(test::TestRequest::post().uri(&format!("/api/v1/artifacts/versions/{vid}/finalize"))),
    )
    .await;
    assert_eq!(
        (done["is_finalized"].clone(), done["file_count"].clone()),
        (json!(true), json!(1))
    );
    let listed: Value = test::call_and_read_body_json(
        &app,
        call(test::TestRequest::get().uri(&format!(
            "/api/v1/artifacts/versions/{vid}/files?prefix=data"
        ))),
    )
    .await;
    let file_id = listed["items"][0]["id"].as_str().expect("file").to_owned();
    let body = test::call_and_read_body(
        &app,
        call(test::TestRequest::get().uri(&format!("/api/v1/artifacts/files/{file_id}/content"))),
    )
    .await;
    assert_eq!(&body[..], bytes);
}

#[actix_web::test]
async fn errors_are_problem_documents() {
    let app = app!(state().await);
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/api/v1/me").to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["code"], json!("unauthenticated"));
    let resp = test::call_service(
        &app,
        auth(
            test::TestRequest::post()
                .uri("/api/v1/projects")
                .set_payload("{")
                .insert_header(("content-type", "application/json")),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["code"], json!("malformed_json"));
    let resp = test::call_service(
        &app,
        auth(test::TestRequest::get().uri("/api/v1/artifacts/42")).to_request(),
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "a bad UUID in the path"
    );
}

/// Every documented route is served (nothing in the OpenAPI document answers "no route").
#[actix_web::test]
async fn every_documented_route_is_routed() {
    let app = app!(state().await);
    let nil = "00000000-0000-0000-0000-000000000000";
    for r in ROUTES {
        let path: String = r
            .path
            .split('/')
            .map(|seg| match seg {
                "{alias}" => "best",
                "{upload_id}" => "0123456789abcdef0123456789abcdef",
                s if s.starts_with('{') => nil,
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = actix_web::http::Method::from_bytes(r.method.as_bytes()).expect("method");
        let resp = test::call_service(
            &app,
            auth(test::TestRequest::default().method(method).uri(&path)).to_request(),
        )
        .await;
        let status = resp.status();
        let body = test::read_body(resp).await;
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("route_not_found"),
            "{} {} is documented but not routed",
            r.method,
            r.path
        );
        assert!(
            status != StatusCode::INTERNAL_SERVER_ERROR,
            "{} {}: {text}",
            r.method,
            r.path
        );
    }
    let doc = serde_json::to_value(wanllmdb_http::openapi_document()).expect("document");
    assert_eq!(
        doc["paths"].as_object().map(|p| p.len()),
        Some(
            ROUTES
                .iter()
                .map(|r| r.path)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        )
    );
}

#[actix_web::test]
async fn metrics_count_requests() {
    let app = app!(state().await);
    for _ in 0..3 {
        test::call_service(&app, test::TestRequest::get().uri("/healthz").to_request()).await;
    }
    let body =
        test::call_and_read_body(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("wanllmdb_http_requests_total{method=\"GET\",status=\"200\"} 3"),
        "{text}"
    );
}
