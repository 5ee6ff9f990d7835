//! Administration.

use super::prelude::*;

#[utoipa::path(
    post,
    path = "/api/v1/admin/gc",
    tag = "admin",
    summary = "Collect unreferenced blobs older than a grace period (dry run possible).",
    request_body = GcDto,
    responses(
        (status = 200, description = "Success.", body = GcReportDto),
        (status = 400, description = "Malformed request: JSON, query string or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller's role does not allow it.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input; the problem names the field.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn collect_garbage(
    state: State,
    auth: Auth,
    body: Json<GcDto>,
) -> ApiResult<HttpResponse> {
    for (field, v) in [
        ("grace_seconds", body.grace_seconds),
        ("stale_after_seconds", body.stale_after_seconds),
    ] {
        if v > MAX_AGE_SECONDS {
            return Err(ApiError::invalid(format!(
                "{field}: at most {MAX_AGE_SECONDS} (a hundred years), got {v}"
            )));
        }
    }
    let report = state
        .registry
        .collect_garbage(
            &auth.0,
            GcOptions {
                grace: std::time::Duration::from_secs(body.grace_seconds),
                stale_after: std::time::Duration::from_secs(body.stale_after_seconds),
                dry_run: body.dry_run,
            },
        )
        .await?;
    ok(&GcReportDto::from(report))
}
