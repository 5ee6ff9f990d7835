//! The REST API (JSON under `/api/v1`) on actix-web: routes, DTOs, problem+json errors, bearer
//! auth, request ids, Prometheus metrics and the OpenAPI document. Handlers only translate: every
//! rule lives in the domain's `Registry`.

mod auth;
mod dto;
pub mod error;
mod handlers;
mod json;
pub mod metrics;
mod problems;
mod query;
pub mod security;
pub mod ui;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::web;
use serde::Serialize;
use wanllmdb_api::Problem;
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
    GET "/healthz" => handlers::system::healthz, false, "Liveness: the process answers.";
    GET "/readyz" => handlers::system::readyz, false, "Readiness: the database and the blob store answer.";
    GET "/metrics" => metrics::render, false, "Prometheus metrics.";
    GET "/api/v1/openapi.json" => openapi, false, "This document.";

    POST "/api/v1/session" => handlers::session::sign_in, false, "Sign a browser in with an API key: sets the HttpOnly session cookie.";
    GET "/api/v1/session" => handlers::session::current, true, "The browser's session: its user and CSRF token.";
    DELETE "/api/v1/session" => handlers::session::sign_out, true, "Sign out: the session ends on every server instance and the cookie is cleared.";
    GET "/api/v1/me" => handlers::users::me, true, "The caller.";
    GET "/api/v1/users" => handlers::users::find_user, true, "The user with exactly this name (any signed-in user; to add a project member).";
    POST "/api/v1/users" => handlers::users::create_user, true, "Create a user (administrators).";
    GET "/api/v1/users/{user_id}" => handlers::users::get_user, true, "A user's name and id (any signed-in user; the UI shows who made what).";
    POST "/api/v1/users/{user_id}/keys" => handlers::users::create_key, true, "Create an API key; the secret is shown once.";
    GET "/api/v1/users/{user_id}/keys" => handlers::users::list_keys, true, "List a user's API keys.";
    DELETE "/api/v1/users/{user_id}/keys/{key_id}" => handlers::users::revoke_key, true, "Revoke an API key.";

    POST "/api/v1/projects" => handlers::projects::create_project, true, "Create a project; the caller becomes its admin.";
    GET "/api/v1/projects" => handlers::projects::list_projects, true, "List the projects the caller can see.";
    GET "/api/v1/projects/{project_id}" => handlers::projects::get_project, true, "Get a project.";
    DELETE "/api/v1/projects/{project_id}" => handlers::projects::delete_project, true, "Delete a project and everything in it.";
    GET "/api/v1/projects/{project_id}/members" => handlers::projects::list_members, true, "List a project's members.";
    PUT "/api/v1/projects/{project_id}/members/{user_id}" => handlers::projects::set_member, true, "Give a user a role: viewer, editor, admin.";
    DELETE "/api/v1/projects/{project_id}/members/{user_id}" => handlers::projects::remove_member, true, "Remove a member.";

    GET "/api/v1/resolve" => handlers::aliases::resolve, true, "Resolve a reference [project/]name[:vN|alias]; with run_id, record the run as a user.";

    GET "/api/v1/artifacts/versions/{version_id}" => handlers::versions::get_version, true, "Get a version with a page of its files.";
    PUT "/api/v1/artifacts/versions/{version_id}" => handlers::versions::update_version, true, "Update a version's description or metadata.";
    DELETE "/api/v1/artifacts/versions/{version_id}" => handlers::versions::delete_version, true, "Delete a version.";
    POST "/api/v1/artifacts/versions/{version_id}/finalize" => handlers::versions::finalize_version, true, "Finalize: check every file's bytes, compute the digest, freeze, move latest.";
    POST "/api/v1/artifacts/versions/{version_id}/files/upload-url" => handlers::files::upload_url, true, "Negotiate one file's upload: already stored, or a presigned PUT.";
    POST "/api/v1/artifacts/versions/{version_id}/files/upload-urls" => handlers::files::upload_urls, true, "Negotiate up to 10,000 files' uploads.";
    PUT "/api/v1/artifacts/versions/{version_id}/files/content" => handlers::files::upload_content, true, "Stream a file's bytes through the server, verified as they arrive.";
    GET "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}" => handlers::multipart::multipart_parts, true, "The parts of a multipart upload already stored (to resume); ?sha256_hash=.";
    POST "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/part-urls" => handlers::multipart::multipart_part_urls, true, "Fresh presigned URLs for some parts.";
    POST "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/complete" => handlers::multipart::multipart_complete, true, "Assemble the parts; the whole file is checked against its size and digests.";
    DELETE "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}" => handlers::multipart::multipart_abort, true, "Abort a multipart upload; ?sha256_hash=.";
    POST "/api/v1/artifacts/versions/{version_id}/files/batch" => handlers::files::register_files, true, "Register up to 10,000 uploaded files.";
    POST "/api/v1/artifacts/versions/{version_id}/files" => handlers::files::register_file, true, "Register an uploaded file.";
    GET "/api/v1/artifacts/versions/{version_id}/files" => handlers::files::list_files, true, "List a version's files by path (prefix, pages); with delimiter=/ the files and folders (with totals) directly in the folder prefix.";
    POST "/api/v1/artifacts/versions/{version_id}/download-urls" => handlers::downloads::download_urls, true, "A page of a version's files with a presigned GET each (prefix, cursor, limit); records one download of the version.";
    GET "/api/v1/artifacts/versions/{version_id}/diff/{other_id}" => handlers::versions::diff, true, "How another version differs from this one.";
    GET "/api/v1/artifacts/versions/{version_id}/lineage" => handlers::runs::lineage, true, "Producer, inputs and consumers of a version, to a depth.";
    GET "/api/v1/artifacts/versions/{version_id}/archive" => handlers::archive::archive, true, "The version's files (those under prefix) as one streaming zip; records one download of the version.";
    GET "/api/v1/artifacts/versions/{version_id}/downloads" => handlers::downloads::download_stats, true, "Download statistics of a version.";
    POST "/api/v1/artifacts/versions/{version_id}/downloads" => handlers::downloads::record_download, true, "Record a download of a whole version.";

    GET "/api/v1/artifacts/files/{file_id}/download-url" => handlers::downloads::download_url, true, "A presigned GET for a file (records the download).";
    GET "/api/v1/artifacts/files/{file_id}/content" => handlers::downloads::download_content, true, "A file's bytes through the server, with Range support.";
    GET "/api/v1/artifacts/files/{file_id}/inspect" => handlers::downloads::inspect_file, true, "The tensors and metadata of a safetensors, GGUF, .npy or .npz file (or a sharded model's index), read from its header only.";
    DELETE "/api/v1/artifacts/files/{file_id}" => handlers::files::delete_file, true, "Remove a file from a draft version.";

    POST "/api/v1/artifacts" => handlers::artifacts::create_artifact, true, "Create an artifact.";
    GET "/api/v1/artifacts" => handlers::artifacts::list_artifacts, true, "Search artifacts: q, type (several), name, alias, created_by, metadata filter, sort; pages.";
    GET "/api/v1/artifacts/{artifact_id}" => handlers::artifacts::get_artifact, true, "Get an artifact.";
    PUT "/api/v1/artifacts/{artifact_id}" => handlers::artifacts::update_artifact, true, "Update an artifact's description or metadata.";
    DELETE "/api/v1/artifacts/{artifact_id}" => handlers::artifacts::delete_artifact, true, "Delete an artifact with all its versions.";
    POST "/api/v1/artifacts/{artifact_id}/versions" => handlers::versions::create_version, true, "Create the next version (v0, v1, ...) as a draft.";
    GET "/api/v1/artifacts/{artifact_id}/versions" => handlers::versions::list_versions, true, "List versions: alias, finalized, run_id, metadata filter, sort (index, created_at, total_size, metadata.<key>); pages.";
    GET "/api/v1/artifacts/{artifact_id}/aliases" => handlers::aliases::list_aliases, true, "List aliases.";
    GET "/api/v1/artifacts/{artifact_id}/aliases/history" => handlers::aliases::alias_history, true, "Alias moves, oldest first.";
    PUT "/api/v1/artifacts/{artifact_id}/aliases/{alias}" => handlers::aliases::set_alias, true, "Point an alias at a finalized version.";
    DELETE "/api/v1/artifacts/{artifact_id}/aliases/{alias}" => handlers::aliases::remove_alias, true, "Remove an alias.";

    POST "/api/v1/runs" => handlers::runs::create_run, true, "Create a run.";
    GET "/api/v1/runs" => handlers::runs::list_runs, true, "List a project's runs.";
    GET "/api/v1/runs/{run_id}" => handlers::runs::get_run, true, "Get a run.";
    POST "/api/v1/runs/{run_id}/inputs" => handlers::runs::run_input, true, "Record that a run used a version.";
    POST "/api/v1/runs/{run_id}/outputs" => handlers::runs::run_output, true, "Record that a run produced a (draft) version.";

    POST "/api/v1/admin/gc" => handlers::admin::collect_garbage, true, "Collect unreferenced blobs older than a grace period (dry run possible).";

    PUT "/api/v1/blobs/signed" => handlers::blobs::signed, false, "Upload to a server-signed URL (filesystem store).";
    GET "/api/v1/blobs/signed" => handlers::blobs::signed, false, "Download from a server-signed URL (filesystem store), with Range support.";
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
        cfg.default_service(web::to(ui::serve));
    }
}

/// The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the
/// wire types' schemas (`wanllmdb-api`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "wanllmdb",
        description = "Artifact registry for machine-learning teams: artifacts, versions, files, aliases, lineage.",
        license(name = "Apache-2.0"),
    ),
    paths(
        metrics::render,
        openapi,
        handlers::system::healthz,
        handlers::system::readyz,
        handlers::session::sign_in,
        handlers::session::current,
        handlers::session::sign_out,
        handlers::users::me,
        handlers::users::find_user,
        handlers::users::create_user,
        handlers::users::get_user,
        handlers::users::create_key,
        handlers::users::list_keys,
        handlers::users::revoke_key,
        handlers::projects::create_project,
        handlers::projects::list_projects,
        handlers::projects::get_project,
        handlers::projects::delete_project,
        handlers::projects::list_members,
        handlers::projects::set_member,
        handlers::projects::remove_member,
        handlers::artifacts::create_artifact,
        handlers::artifacts::list_artifacts,
        handlers::artifacts::get_artifact,
        handlers::artifacts::update_artifact,
        handlers::artifacts::delete_artifact,
        handlers::versions::create_version,
        handlers::versions::list_versions,
        handlers::versions::get_version,
        handlers::versions::update_version,
        handlers::versions::delete_version,
        handlers::versions::finalize_version,
        handlers::versions::diff,
        handlers::files::upload_url,
        handlers::files::upload_urls,
        handlers::files::register_file,
        handlers::files::register_files,
        handlers::files::list_files,
        handlers::files::upload_content,
        handlers::files::delete_file,
        handlers::multipart::multipart_parts,
        handlers::multipart::multipart_part_urls,
        handlers::multipart::multipart_complete,
        handlers::multipart::multipart_abort,
        handlers::downloads::download_url,
        handlers::downloads::download_urls,
        handlers::downloads::download_content,
        handlers::downloads::inspect_file,
        handlers::archive::archive,
        handlers::downloads::download_stats,
        handlers::downloads::record_download,
        handlers::blobs::signed,
        handlers::aliases::list_aliases,
        handlers::aliases::set_alias,
        handlers::aliases::remove_alias,
        handlers::aliases::alias_history,
        handlers::aliases::resolve,
        handlers::runs::create_run,
        handlers::runs::list_runs,
        handlers::runs::get_run,
        handlers::runs::run_input,
        handlers::runs::run_output,
        handlers::runs::lineage,
        handlers::admin::collect_garbage,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Liveness, readiness, metrics and this document."),
        (name = "users", description = "Users and API keys."),
        (name = "projects", description = "Projects and members."),
        (name = "artifacts", description = "Artifacts and their search."),
        (name = "versions", description = "Versions, finalization, comparison."),
        (name = "files", description = "Files of a version: uploads, registration, listings, folders."),
        (name = "multipart", description = "Resumable uploads of large files."),
        (name = "downloads", description = "Downloads and their statistics."),
        (name = "aliases", description = "Aliases and references."),
        (name = "runs", description = "Runs and lineage."),
        (name = "admin", description = "Administration."),
        (name = "blobs", description = "Server-signed URLs of the filesystem store."),
    ),
)]
#[derive(Debug)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "A browser session (POST /api/v1/session); changes also need X-CSRF-Token.",
            ))),
        );
        // Every operation a key authorizes, a browser session does too.
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let Some(security) = op.security.as_mut() else {
                    continue;
                };
                let by_key = serde_json::to_value(&*security)
                    .is_ok_and(|v| v.to_string().contains("\"bearer\""));
                if by_key {
                    security.push(SecurityRequirement::new("session", Vec::<String>::new()));
                }
            }
        }
    }
}

/// The methods served at `path` (matching `{param}` segments), for a 405's `Allow` header.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    // Each matching route with its count of literal segments: a literal (`aliases/history`)
    // wins over a parameter (`aliases/{alias}`) at the same place.
    let matching: Vec<(usize, &'static str)> = ROUTES
        .iter()
        .filter_map(|r| {
            let pattern: Vec<&str> = r.path.split('/').collect();
            let fits = pattern.len() == segments.len()
                && pattern.iter().zip(&segments).all(|(p, s)| {
                    *p == *s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty())
                });
            fits.then(|| {
                (
                    pattern.iter().filter(|p| !p.starts_with('{')).count(),
                    r.method,
                )
            })
        })
        .collect();
    let best = matching.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut methods: Vec<&'static str> = matching
        .into_iter()
        .filter(|(n, _)| *n == best)
        .map(|(_, m)| m)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// The document as served: utoipa's, with its version and the links between operations.
pub fn openapi_document() -> serde_json::Value {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // utoipa 5.5 spells a link's fields in snake case (`operation_id`), so links are added to
    // the JSON rather than through its `Link` type.
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    link_resources(&mut doc);
    doc
}

/// The operations that create a resource and the id parameter their answer's `id` fills.
const PRODUCERS: [(&str, &str); 5] = [
    ("/api/v1/projects", "project_id"),
    ("/api/v1/artifacts", "artifact_id"),
    ("/api/v1/artifacts/{artifact_id}/versions", "version_id"),
    ("/api/v1/artifacts/versions/{version_id}/files", "file_id"),
    ("/api/v1/runs", "run_id"),
];

/// OpenAPI links from each operation that creates a resource (its 201) to every operation that
/// takes that resource's id in its path or query, and from a new project to the bodies that
/// create an artifact and a run in it: clients, and schemathesis's stateful phase, follow real
/// ids instead of guessing them.
fn link_resources(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let mut links: Vec<(&str, String, Value)> = Vec::new();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (producer, param) in PRODUCERS {
        for item in paths.values() {
            for op in item.as_object().into_iter().flat_map(|m| m.values()) {
                let Some(id) = op["operationId"].as_str() else {
                    continue;
                };
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let place = p["in"].as_str().unwrap_or_default();
                    if p["name"] == param && (place == "path" || place == "query") {
                        let link = json!({
                            "operationId": id,
                            "parameters": { format!("{place}.{param}"): "$response.body#/id" },
                        });
                        links.push((producer, id.to_owned(), link));
                    }
                }
            }
        }
    }
    for (operation, body) in [
        (
            "create_artifact",
            json!({ "project_id": "$response.body#/id", "name": "linked-model", "type": "model" }),
        ),
        (
            "create_run",
            json!({ "project_id": "$response.body#/id", "name": "linked-run" }),
        ),
    ] {
        let link = json!({ "operationId": operation, "requestBody": body });
        links.push(("/api/v1/projects", operation.to_owned(), link));
    }
    for (producer, name, link) in links {
        let created = &mut doc["paths"][producer]["post"]["responses"]["201"];
        if created.is_object() {
            created["links"][name] = link;
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "system",
    summary = "This document.",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json")),
)]
async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(openapi_document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn links_name_real_operations_and_parameters() {
        let doc = openapi_document();
        let mut operations = std::collections::BTreeMap::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("item").values() {
                if let Some(id) = op["operationId"].as_str() {
                    operations.insert(id.to_owned(), op.clone());
                }
            }
        }
        let mut count = 0;
        for (producer, param) in PRODUCERS {
            let links = doc["paths"][producer]["post"]["responses"]["201"]["links"]
                .as_object()
                .unwrap_or_else(|| panic!("{producer} links its 201"));
            for (name, link) in links {
                count += 1;
                let target = link["operationId"].as_str().expect("operationId");
                let op = operations
                    .get(target)
                    .unwrap_or_else(|| panic!("{name}: no operation {target}"));
                for key in link["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    let (place, wanted) = key.split_once('.').expect("place.name");
                    assert_eq!(wanted, param, "{producer} -> {target}");
                    let declared = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["in"] == place && p["name"] == wanted);
                    assert!(declared, "{target} takes no {key}");
                }
            }
        }
        assert!(count > 40, "links: {count}");
        let body = &doc["paths"]["/api/v1/projects"]["post"]["responses"]["201"]["links"]
            ["create_artifact"]["requestBody"];
        assert_eq!(body["project_id"], "$response.body#/id");
        let version = &doc["paths"]["/api/v1/artifacts/{artifact_id}/versions"]["post"]
            ["responses"]["201"]["links"]["finalize_version"];
        assert_eq!(
            version["parameters"]["path.version_id"],
            "$response.body#/id"
        );
    }

    #[test]
    fn the_document_lists_exactly_the_routes_served() {
        let doc = serde_json::to_value(openapi_document()).expect("serializes");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
                let responses = op["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} documents no success"
                );
                for (status, r) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(
                            r["content"]["application/problem+json"].is_object(),
                            "{method} {path} {status} is not a problem document"
                        );
                    }
                }
            }
        }
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = served.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&served).collect();
        assert!(missing.is_empty(), "served but not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not served: {extra:?}");
    }

    #[test]
    fn authenticated_routes_say_so() {
        let doc = serde_json::to_value(openapi_document()).expect("serializes");
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
            assert_eq!(
                op["security"].is_array(),
                r.auth,
                "{} {}: security in the document and in the router disagree",
                r.method,
                r.path
            );
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn allowed_methods_match_parameters() {
        assert_eq!(
            allowed_methods("/api/v1/artifacts/0190/aliases/best"),
            ["DELETE", "PUT"]
        );
        assert_eq!(allowed_methods("/api/v1/artifacts"), ["GET", "POST"]);
        assert_eq!(
            allowed_methods("/api/v1/artifacts/0190/aliases/history"),
            ["GET"],
            "a literal segment wins over a parameter"
        );
        assert!(allowed_methods("/api/v1/nothing").is_empty());
        assert!(allowed_methods("/api/v1/artifacts//aliases").is_empty());
    }
}
