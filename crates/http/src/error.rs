//! RFC 9457 problem documents. Every error the API answers with is `application/problem+json`
//! with a stable machine-readable `code`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use wanllmdb_api::Problem;
use wanllmdb_domain::ports::BlobError;
use wanllmdb_domain::Error;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let problem = Problem {
            kind: format!("https://wanllmdb.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
        };
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Error::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let detail = match &e {
            Error::Unexpected(_) => {
                tracing::error!(error = %e, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            // The operator needs the cause; the client only that the store cannot take it now.
            Error::InsufficientStorage(_) => {
                tracing::error!(error = %e, "blob store out of space");
                "the registry's storage is full; the upload was not kept. Try again later"
                    .to_owned()
            }
            Error::Unavailable(_) => {
                tracing::error!(error = %e, "backend unavailable");
                "the registry's storage failed to answer; nothing was changed. Try again later"
                    .to_owned()
            }
            _ => e.to_string(),
        };
        Self::new(status, e.code(), detail)
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::PreconditionFailed(m) => {
                Self::new(StatusCode::FORBIDDEN, "signature_invalid", m)
            }
            other => Error::from(other).into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Malformed or oversized JSON bodies, unknown fields, wrong content type.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let e = match &err {
        J::Overflow { limit } | J::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the JSON body is larger than {limit} bytes"),
        ),
        J::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        J::Deserialize(d) if d.is_data() => ApiError::invalid(format!("invalid JSON body: {d}")),
        other => ApiError::bad_request("malformed_json", format!("malformed JSON body: {other}")),
    };
    e.into()
}

/// Path segments that do not parse (a bad UUID, ...).
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", format!("invalid path parameter: {err}")).into()
}

/// Query strings that do not parse.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("invalid query string: {err}")).into()
}

/// Unknown routes: 405 with `Allow` when the path is served with other methods, else 404.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = crate::allowed_methods(req.path());
    if !allowed.is_empty() {
        let mut resp = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{} is not served at {}; use {}",
                req.method(),
                req.path(),
                allowed.join(", ")
            ),
        )
        .error_response();
        if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
        return resp;
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {} {}", req.method(), req.path()),
    )
    .error_response()
}
