//! The REST API (JSON under `/api/v1`) on actix-web: routes, DTOs, problem+json errors, bearer
//! auth, request ids, Prometheus metrics and the OpenAPI document. Handlers only translate: every
//! rule lives in the domain's `Registry`.

mod auth;
mod dto;
pub mod error;
mod handlers;
mod json;
pub mod metrics;
mod query;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use serde::Serialize;
use wanllmdb_domain::ports::SignedUrlServer;
use wanllmdb_domain::service::Registry;

pub use metrics::Metrics;

/// The largest JSON body accepted (a batch of 10,000 files fits with room to spare).
pub const JSON_LIMIT: usize = 32 * 1024 * 1024;

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("registry", &self.registry)
            .field("signed", &self.signed.is_some())
            .finish_non_exhaustive()
    }
}

/// What every handler can reach.
pub struct AppState {
    pub registry: Registry,
    /// The store's signed-URL server, for stores without presigning (filesystem).
    pub signed: Option<Arc<dyn SignedUrlServer>>,
    pub metrics: Metrics,
}

/// One documented route.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// Whether it needs `Authorization: Bearer <api key>`.
    pub auth: bool,
}

macro_rules! api {
    ($( $method:ident $path:literal => $handler:path, $auth:literal, $summary:literal; )*) => {
        /// Every route of the API, in matching order (specific paths before parameters).
        pub const ROUTES: &[Route] = &[
            $( Route { method: stringify!($method), path: $path, summary: $summary, auth: $auth } ),*
        ];

        fn register(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::method(Method::$method).to($handler)); )*
        }
    };
}

api! {
    GET "/healthz" => handlers::healthz, false, "Liveness: the process answers.";
    GET "/readyz" => handlers::readyz, false, "Readiness: the database and the blob store answer.";
    GET "/metrics" => metrics::render, false, "Prometheus metrics.";
    GET "/api/v1/openapi.json" => openapi, false, "This document.";

    GET "/api/v1/me" => handlers::me, true, "The caller.";
    POST "/api/v1/users" => handlers::create_user, true, "Create a user (administrators).";
    POST "/api/v1/users/{user_id}/keys" => handlers::create_key, true, "Create an API key; the secret is shown once.";
    GET "/api/v1/users/{user_id}/keys" => handlers::list_keys, true, "List a user's API keys.";
    DELETE "/api/v1/users/{user_id}/keys/{key_id}" => handlers::revoke_key, true, "Revoke an API key.";

    POST "/api/v1/projects" => handlers::create_project, true, "Create a project; the caller becomes its admin.";
    GET "/api/v1/projects" => handlers::list_projects, true, "List the projects the caller can see.";
    GET "/api/v1/projects/{project_id}" => handlers::get_project, true, "Get a project.";
    DELETE "/api/v1/projects/{project_id}" => handlers::delete_project, true, "Delete a project and everything in it.";
    GET "/api/v1/projects/{project_id}/members" => handlers::list_members, true, "List a project's members.";
    PUT "/api/v1/projects/{project_id}/members/{user_id}" => handlers::set_member, true, "Give a user a role: viewer, editor, admin.";
    DELETE "/api/v1/projects/{project_id}/members/{user_id}" => handlers::remove_member, true, "Remove a member.";

    GET "/api/v1/resolve" => handlers::resolve, true, "Resolve a reference [project/]name[:vN|alias]; with run_id, record the run as a user.";

    GET "/api/v1/artifacts/versions/{version_id}" => handlers::get_version, true, "Get a version with a page of its files.";
    PUT "/api/v1/artifacts/versions/{version_id}" => handlers::update_version, true, "Update a version's description or metadata.";
    DELETE "/api/v1/artifacts/versions/{version_id}" => handlers::delete_version, true, "Delete a version.";
    POST "/api/v1/artifacts/versions/{version_id}/finalize" => handlers::finalize_version, true, "Finalize: check every file's bytes, compute the digest, freeze, move latest.";
    POST "/api/v1/artifacts/versions/{version_id}/files/upload-url" => handlers::upload_url, true, "Negotiate one file's upload: already stored, or a presigned PUT.";
    POST "/api/v1/artifacts/versions/{version_id}/files/upload-urls" => handlers::upload_urls, true, "Negotiate up to 10,000 files' uploads.";
    PUT "/api/v1/artifacts/versions/{version_id}/files/content" => handlers::upload_content, true, "Stream a file's bytes through the server, verified as they arrive.";
    GET "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}" => handlers::multipart_parts, true, "The parts of a multipart upload already stored (to resume); ?sha256_hash=.";
    POST "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/part-urls" => handlers::multipart_part_urls, true, "Fresh presigned URLs for some parts.";
    POST "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/complete" => handlers::multipart_complete, true, "Assemble the parts; the whole file is checked against its size and digests.";
    DELETE "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}" => handlers::multipart_abort, true, "Abort a multipart upload; ?sha256_hash=.";
    POST "/api/v1/artifacts/versions/{version_id}/files/batch" => handlers::register_files, true, "Register up to 10,000 uploaded files.";
    POST "/api/v1/artifacts/versions/{version_id}/files" => handlers::register_file, true, "Register an uploaded file.";
    GET "/api/v1/artifacts/versions/{version_id}/files" => handlers::list_files, true, "List a version's files by path (prefix, pages); with delimiter=/ the files and folders (with totals) directly in the folder prefix.";
    POST "/api/v1/artifacts/versions/{version_id}/download-urls" => handlers::download_urls, true, "A page of a version's files with a presigned GET each (prefix, cursor, limit); records one download of the version.";
    GET "/api/v1/artifacts/versions/{version_id}/diff/{other_id}" => handlers::diff, true, "How another version differs from this one.";
    GET "/api/v1/artifacts/versions/{version_id}/lineage" => handlers::lineage, true, "Producer, inputs and consumers of a version, to a depth.";
    GET "/api/v1/artifacts/versions/{version_id}/downloads" => handlers::download_stats, true, "Download statistics of a version.";
    POST "/api/v1/artifacts/versions/{version_id}/downloads" => handlers::record_download, true, "Record a download of a whole version.";

    GET "/api/v1/artifacts/files/{file_id}/download-url" => handlers::download_url, true, "A presigned GET for a file (records the download).";
    GET "/api/v1/artifacts/files/{file_id}/content" => handlers::download_content, true, "A file's bytes through the server, with Range support.";
    DELETE "/api/v1/artifacts/files/{file_id}" => handlers::delete_file, true, "Remove a file from a draft version.";

    POST "/api/v1/artifacts" => handlers::create_artifact, true, "Create an artifact.";
    GET "/api/v1/artifacts" => handlers::list_artifacts, true, "Search artifacts: q, type (several), name, alias, created_by, metadata filter, sort; pages.";
    GET "/api/v1/artifacts/{artifact_id}" => handlers::get_artifact, true, "Get an artifact.";
    PUT "/api/v1/artifacts/{artifact_id}" => handlers::update_artifact, true, "Update an artifact's description or metadata.";
    DELETE "/api/v1/artifacts/{artifact_id}" => handlers::delete_artifact, true, "Delete an artifact with all its versions.";
    POST "/api/v1/artifacts/{artifact_id}/versions" => handlers::create_version, true, "Create the next version (v0, v1, ...) as a draft.";
    GET "/api/v1/artifacts/{artifact_id}/versions" => handlers::list_versions, true, "List versions: alias, finalized, run_id, metadata filter, sort (index, created_at, total_size, metadata.<key>); pages.";
    GET "/api/v1/artifacts/{artifact_id}/aliases" => handlers::list_aliases, true, "List aliases.";
    GET "/api/v1/artifacts/{artifact_id}/aliases/history" => handlers::alias_history, true, "Alias moves, oldest first.";
    PUT "/api/v1/artifacts/{artifact_id}/aliases/{alias}" => handlers::set_alias, true, "Point an alias at a finalized version.";
    DELETE "/api/v1/artifacts/{artifact_id}/aliases/{alias}" => handlers::remove_alias, true, "Remove an alias.";

    POST "/api/v1/runs" => handlers::create_run, true, "Create a run.";
    GET "/api/v1/runs" => handlers::list_runs, true, "List a project's runs.";
    GET "/api/v1/runs/{run_id}" => handlers::get_run, true, "Get a run.";
    POST "/api/v1/runs/{run_id}/inputs" => handlers::run_input, true, "Record that a run used a version.";
    POST "/api/v1/runs/{run_id}/outputs" => handlers::run_output, true, "Record that a run produced a (draft) version.";

    POST "/api/v1/admin/gc" => handlers::collect_garbage, true, "Collect unreferenced blobs older than a grace period (dry run possible).";

    PUT "/api/v1/blobs/signed" => handlers::signed, false, "Upload to a server-signed URL (filesystem store).";
    GET "/api/v1/blobs/signed" => handlers::signed, false, "Download from a server-signed URL (filesystem store), with Range support.";
}

/// Registers the whole API with its state and extractor error handling.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_LIMIT)
                    .error_handler(error::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .app_data(web::PayloadConfig::default().limit(JSON_LIMIT));
        register(cfg);
        cfg.default_service(web::to(error::not_found));
    }
}

/// The OpenAPI 3.1 document, built from `ROUTES` so it lists exactly the routes served.
pub fn openapi_document() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let params: Vec<serde_json::Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = serde_json::json!({
            "summary": r.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "Success (201 on creation, 204 with no body)." },
                "4XX": { "description": "A problem document (application/problem+json) with a stable `code`." },
            },
        });
        if r.auth {
            op["security"] = serde_json::json!([{ "bearer": [] }]);
        }
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| serde_json::json!({}));
        entry[r.method.to_ascii_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": { "title": "wanllmdb", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Artifact registry for machine-learning teams." },
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } } },
        "paths": paths,
    })
}

async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(openapi_document())
}
