//! Server-signed URLs, for stores that cannot presign (the filesystem store).

use super::prelude::*;

#[utoipa::path(
    method(put, get),
    path = "/api/v1/blobs/signed",
    tag = "blobs",
    summary = "Upload to a server-signed URL (filesystem store).",
    responses(
        (status = 200, description = "The bytes.", body = Binary, content_type = "application/octet-stream"),
        (status = 206, description = "The requested range of the bytes.", body = Binary, content_type = "application/octet-stream"),
        problems::Malformed,
        problems::Forbidden,
        problems::NotFound,
        problems::BytesMismatch,
        problems::BadRange,
        (status = 422, description = "Not a URL this server signed, or one that expired.", body = Problem, content_type = "application/problem+json"),
        problems::OutOfSpace,
    ),
)]
pub async fn signed(
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let server = state.signed.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "this store hands out its own URLs",
        )
    })?;
    let range = parse_range(&req)?;
    let url = req.uri().to_string();
    match server
        .serve_signed(req.method().as_str(), &url, body_stream(payload), range)
        .await?
    {
        SignedServe::Stored { etag } => Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, etag))
            .finish()),
        SignedServe::Read { result, filename } => Ok(stream_response(
            result,
            range.is_some(),
            filename.as_deref(),
            None,
        )),
    }
}
