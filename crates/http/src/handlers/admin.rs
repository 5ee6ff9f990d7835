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
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
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
