//! Downloads: presigned URLs, bytes through the server with ranges, statistics.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/downloads",
    tag = "downloads",
    summary = "Download statistics of a version.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    responses(
        (status = 200, description = "Success.", body = DownloadStatsDto),
        (status = 400, description = "Malformed request: JSON, query string, path id or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn download_stats(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let stats = state
        .registry
        .download_stats(&auth.0, VersionId::from_uuid(*path))
        .await?;
    ok(&DownloadStatsDto::from(stats))
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/downloads",
    tag = "downloads",
    summary = "Record a download of a whole version.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    responses(
        (status = 201, description = "Success.", body = DownloadDto),
        (status = 400, description = "Malformed request: JSON, query string, path id or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn record_download(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let d: Download = state
        .registry
        .record_version_download(&auth.0, VersionId::from_uuid(*path))
        .await?;
    created(&DownloadDto::from(d))
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/files/{file_id}/download-url",
    tag = "downloads",
    summary = "A presigned GET for a file (records the download).",
    params(("file_id" = Uuid, Path, description = "A file's id.")),
    responses(
        (status = 200, description = "Success.", body = DownloadUrlDto),
        (status = 400, description = "Malformed request: JSON, query string, path id or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn download_url(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state
        .registry
        .download_file(&auth.0, FileId::from_uuid(*path))
        .await?;
    ok(&DownloadUrlDto::from(t))
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/download-urls",
    tag = "downloads",
    summary = "A page of a version's files with a presigned GET each (prefix, cursor, limit); records one download of the version.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = FilesQuery,
    responses(
        (status = 200, description = "Success.", body = PageDto<DownloadUrlDto>),
        (status = 400, description = "Malformed request: JSON, query string or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input; the problem names the field.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn download_urls(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FilesQuery>,
) -> ApiResult<HttpResponse> {
    let (q, req) = (&body, body.page_request()?);
    let p = state
        .registry
        .download_files(
            &auth.0,
            VersionId::from_uuid(*path),
            q.prefix.as_deref(),
            req,
        )
        .await?;
    ok(&page(p, DownloadUrlDto::from, |k| k.to_string()))
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/files/{file_id}/content",
    tag = "downloads",
    summary = "A file's bytes through the server, with Range support.",
    params(("file_id" = Uuid, Path, description = "A file's id.")),
    responses(
        (status = 200, description = "The bytes.", body = Binary, content_type = "application/octet-stream"),
        (status = 206, description = "The requested range of the bytes.", body = Binary, content_type = "application/octet-stream"),
        (status = 400, description = "Malformed request: JSON, query string, path id or cursor.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid API key.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller.", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range cannot be satisfied.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
)]
/// A file's bytes through the server, whole or a `Range`.
pub async fn download_content(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let range = parse_range(&req)?;
    let (file, read) = state
        .registry
        .read_file(&auth.0, FileId::from_uuid(*path), range)
        .await?;
    Ok(stream_response(
        read,
        range.is_some(),
        Some(file.name()),
        Some(file.content_type.as_str()),
    ))
}

/// Parses `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` (one range).
pub(crate) fn parse_range(req: &HttpRequest) -> ApiResult<Option<ByteRange>> {
    let Some(value) = req.headers().get(header::RANGE) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_range",
            "use one range: bytes=START-END, bytes=START- or bytes=-N",
        )
    };
    let spec = value
        .to_str()
        .map_err(|_| bad())?
        .strip_prefix("bytes=")
        .ok_or_else(bad)?;
    if spec.contains(',') {
        return Err(bad());
    }
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    Ok(Some(match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => ByteRange::Suffix(num(b)?),
        (false, true) => ByteRange::From {
            start: num(a)?,
            end: None,
        },
        (false, false) => ByteRange::From {
            start: num(a)?,
            end: Some(num(b)?),
        },
        (true, true) => return Err(bad()),
    }))
}

pub(crate) fn stream_response(
    read: wanllmdb_domain::ports::GetResult,
    partial: bool,
    filename: Option<&str>,
    content_type: Option<&str>,
) -> HttpResponse {
    let (start, end) = read.range;
    let mut resp = if partial {
        HttpResponse::PartialContent()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ACCEPT_RANGES, "bytes"));
    resp.insert_header((
        header::CONTENT_TYPE,
        content_type.unwrap_or("application/octet-stream"),
    ));
    if partial {
        resp.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", end.saturating_sub(1), read.meta.size),
        ));
    }
    if let Some(name) = filename {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        resp.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}\""),
        ));
    }
    resp.no_chunking(end - start);
    resp.streaming(read.body)
}
