//! Liveness and readiness.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    summary = "Liveness: the process answers.",
    responses(
        (status = 200, description = "Success.", body = StatusDto),
    ),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusDto {
        status: "ok".into(),
    })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "system",
    summary = "Readiness: the database and the blob store answer.",
    responses(
        (status = 200, description = "Success.", body = StatusDto),
        problems::Unavailable,
    ),
)]
pub async fn readyz(state: State) -> HttpResponse {
    match state.registry.ready().await {
        Ok(()) => HttpResponse::Ok().json(StatusDto {
            status: "ready".into(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .content_type("application/problem+json")
                .json(serde_json::json!({
                    "type": "https://wanllmdb.dev/problems/not_ready",
                    "title": "Service Unavailable", "status": 503, "code": "not_ready",
                    "detail": "the database or the blob store does not answer",
                }))
        }
    }
}
