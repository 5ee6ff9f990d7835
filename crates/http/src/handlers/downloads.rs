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
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn download_stats(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
) -> ApiResult<HttpResponse> {
    let stats = state.registry.download_stats(&auth.0, *path).await?;
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
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn record_download(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
) -> ApiResult<HttpResponse> {
    let d: Download = state
        .registry
        .record_version_download(&auth.0, *path)
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
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn download_url(
    state: State,
    auth: Auth,
    path: web::Path<FileId>,
) -> ApiResult<HttpResponse> {
    let t = state.registry.download_file(&auth.0, *path).await?;
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
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn download_urls(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<FilesQuery>,
) -> ApiResult<HttpResponse> {
    let (q, req) = (&body, body.page_request()?);
    let p = state
        .registry
        .download_files(&auth.0, *path, q.prefix.as_deref(), req)
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
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::BadRange,
    ),
    security(("bearer" = [])),
)]
/// A file's bytes through the server, whole or a `Range`, always as an attachment: images,
/// JSON and CSV with their recorded type, other text as `text/plain`, anything a browser could
/// run (HTML, SVG, XML, scripts) as `application/octet-stream`.
pub async fn download_content(
    state: State,
    auth: Auth,
    path: web::Path<FileId>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let range = parse_range(&req)?;
    let (file, read) = state.registry.read_file(&auth.0, *path, range).await?;
    Ok(stream_response(
        read,
        range.is_some(),
        Some(file.name()),
        Some(file.content_type.as_str()),
    ))
}

/// The `Range` header (one byte range: `bytes=a-b`, `bytes=a-` or `bytes=-n`), through
/// actix-web's typed header.
pub(crate) fn parse_range(req: &HttpRequest) -> ApiResult<Option<ByteRange>> {
    use actix_web::http::header::{ByteRangeSpec, Header, Range};
    if !req.headers().contains_key(header::RANGE) {
        return Ok(None);
    }
    let bad = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_range",
            "use one range: bytes=START-END, bytes=START- or bytes=-N",
        )
    };
    match Range::parse(req).map_err(|_| bad())? {
        Range::Bytes(specs) => match specs.as_slice() {
            [ByteRangeSpec::FromTo(start, end)] => Ok(Some(ByteRange::From {
                start: *start,
                end: Some(*end),
            })),
            [ByteRangeSpec::From(start)] => Ok(Some(ByteRange::From {
                start: *start,
                end: None,
            })),
            [ByteRangeSpec::Last(n)] => Ok(Some(ByteRange::Suffix(*n))),
            _ => Err(bad()),
        },
        Range::Unregistered(..) => Err(bad()),
    }
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
        crate::security::safe_content_type(content_type),
    ));
    if partial {
        resp.insert_header(header::ContentRange(header::ContentRangeSpec::Bytes {
            range: Some((start, end.saturating_sub(1))),
            instance_length: Some(read.meta.size),
        }));
    }
    // Always an attachment: a browser sent here saves the bytes, never renders them.
    resp.insert_header(match filename {
        Some(name) => attachment(name),
        None => header::ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: Vec::new(),
        },
    });
    resp.no_chunking(end - start);
    resp.streaming(read.body)
}

/// `Content-Disposition: attachment` naming the file: a plain ASCII `filename` (quotes,
/// backslashes and control characters replaced) for every client, and the exact name as
/// RFC 5987 `filename*` when it is not plain ASCII.
pub(crate) fn attachment(name: &str) -> header::ContentDisposition {
    use actix_web::http::header::{Charset, DispositionParam, DispositionType, ExtendedValue};
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(plain.clone())];
    if plain != name {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    header::ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn range(value: &str) -> ApiResult<Option<ByteRange>> {
        parse_range(
            &TestRequest::default()
                .insert_header((header::RANGE, value))
                .to_http_request(),
        )
    }

    #[test]
    fn one_byte_range_is_read_and_anything_else_refused() {
        assert_eq!(
            parse_range(&TestRequest::default().to_http_request()).ok(),
            Some(None)
        );
        assert_eq!(
            range("bytes=2-5").ok(),
            Some(Some(ByteRange::From {
                start: 2,
                end: Some(5)
            }))
        );
        assert_eq!(
            range("bytes=7-").ok(),
            Some(Some(ByteRange::From {
                start: 7,
                end: None
            }))
        );
        assert_eq!(range("bytes=-3").ok(), Some(Some(ByteRange::Suffix(3))));
        for bad in ["bytes=0-1,4-5", "items=0-1", "bytes=a-b", "bytes=", "0-1"] {
            let e = range(bad).expect_err(bad);
            assert_eq!(e.status, StatusCode::RANGE_NOT_SATISFIABLE, "{bad}");
        }
    }

    #[test]
    fn attachments_name_the_file_safely() {
        let plain = attachment("model.pth").to_string();
        assert_eq!(plain, "attachment; filename=\"model.pth\"");
        let hostile = attachment("a\"b\\c\r\nd.txt").to_string();
        assert!(
            !hostile.contains('\r') && !hostile.contains('\n'),
            "{hostile}"
        );
        assert!(
            hostile.starts_with("attachment; filename=\"a_b_c__d.txt\""),
            "{hostile}"
        );
        let unicode = attachment("modèle.bin").to_string();
        assert!(unicode.contains("filename=\"mod_le.bin\""), "{unicode}");
        assert!(
            unicode.contains("filename*=UTF-8''mod%C3%A8le.bin"),
            "{unicode}"
        );
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/files/{file_id}/inspect",
    tag = "downloads",
    summary = "The tensors and metadata of a safetensors, GGUF, .npy or .npz file (or a sharded model's index), read from its header only.",
    params(("file_id" = Uuid, Path, description = "A file's id.")),
    responses(
        (status = 200, description = "Success.", body = InspectDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
/// Reads a model file's header by range reads: a 5 GB file costs its header, not its bytes.
pub async fn inspect_file(
    state: State,
    auth: Auth,
    path: web::Path<FileId>,
) -> ApiResult<HttpResponse> {
    let i = state.registry.inspect_file(&auth.0, *path).await?;
    ok(&InspectDto::from(i))
}
