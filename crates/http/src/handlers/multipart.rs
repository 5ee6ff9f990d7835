//! Multipart uploads of large files: resume, fresh part URLs, complete, abort.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}",
    tag = "multipart",
    summary = "The parts of a multipart upload already stored (to resume); ?sha256_hash=.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ("upload_id" = String, Path, description = "The multipart upload's id."), Sha256Query),
    responses(
        (status = 200, description = "Success.", body = Vec<StoredPartDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::NoSuchUpload,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn multipart_parts(
    state: State,
    auth: Auth,
    path: web::Path<(VersionId, String)>,
    q: web::Query<Sha256Query>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let sha = valid(Sha256::parse(q.into_inner().sha256_hash))?;
    let parts = state
        .registry
        .multipart_parts(&auth.0, version, &sha, &upload)
        .await?;
    ok(&parts
        .into_iter()
        .map(StoredPartDto::from)
        .collect::<Vec<_>>())
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/part-urls",
    tag = "multipart",
    summary = "Fresh presigned URLs for some parts.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ("upload_id" = String, Path, description = "The multipart upload's id.")),
    request_body = PartUrlsDto,
    responses(
        (status = 200, description = "Success.", body = MultipartDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::NoSuchUpload,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn multipart_part_urls(
    state: State,
    auth: Auth,
    path: web::Path<(VersionId, String)>,
    body: Json<PartUrlsDto>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let b = body.into_inner();
    let spec = b.file.into_spec()?;
    let plan = state
        .registry
        .multipart_part_urls(&auth.0, version, &spec, &upload, &b.parts)
        .await?;
    ok(&MultipartDto::from(plan))
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}/complete",
    tag = "multipart",
    summary = "Assemble the parts; the whole file is checked against its size and digests.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ("upload_id" = String, Path, description = "The multipart upload's id.")),
    request_body = CompleteDto,
    responses(
        (status = 200, description = "Success.", body = StoredDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::BytesMismatch,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn multipart_complete(
    state: State,
    auth: Auth,
    path: web::Path<(VersionId, String)>,
    body: Json<CompleteDto>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let b = body.into_inner();
    let spec = b.file.into_spec()?;
    let parts: Vec<wanllmdb_domain::ports::CompletedPart> = b
        .parts
        .into_iter()
        .map(|p| wanllmdb_domain::ports::CompletedPart {
            part_number: p.part_number,
            etag: p.etag,
        })
        .collect();
    let key = state
        .registry
        .complete_multipart(&auth.0, version, &spec, &upload, &parts)
        .await?;
    ok(&stored(key, &spec))
}

#[utoipa::path(
    delete,
    path = "/api/v1/artifacts/versions/{version_id}/files/multipart/{upload_id}",
    tag = "multipart",
    summary = "Abort a multipart upload; ?sha256_hash=.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ("upload_id" = String, Path, description = "The multipart upload's id."), Sha256Query),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::NoSuchUpload,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn multipart_abort(
    state: State,
    auth: Auth,
    path: web::Path<(VersionId, String)>,
    q: web::Query<Sha256Query>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let sha = valid(Sha256::parse(q.into_inner().sha256_hash))?;
    state
        .registry
        .abort_multipart(&auth.0, version, &sha, &upload)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
