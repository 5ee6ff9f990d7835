//! Request ids, request logs, Prometheus metrics and the headers every response carries, as one
//! middleware.

use crate::security::ContentSecurityPolicy;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::ResponseError as _;
use actix_web::{web, HttpResponse};
use tracing::Instrument;

use crate::error::ApiError;
use crate::AppState;

/// The longest request target (path and query) answered; longer ones get a 414 problem document.
/// (Targets over 64 KiB never reach the app: the HTTP parser refuses them with a bare 400.)
pub const MAX_URL_BYTES: usize = 16 * 1024;

/// Counters since the process started.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, status) -> (count, total seconds)
    requests: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
    in_flight: AtomicI64,
}

impl Metrics {
    fn observe(&self, method: &str, status: u16, seconds: f64) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry((method.to_owned(), status)).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += seconds;
    }

    /// The Prometheus text exposition.
    pub fn exposition(&self) -> String {
        let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from(
            "# HELP wanllmdb_http_requests_total HTTP requests answered, by method and status.\n\
             # TYPE wanllmdb_http_requests_total counter\n",
        );
        for ((method, status), (n, _)) in m.iter() {
            out.push_str(&format!(
                "wanllmdb_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP wanllmdb_http_request_duration_seconds_sum Time spent answering, by method and status.\n\
             # TYPE wanllmdb_http_request_duration_seconds_sum counter\n",
        );
        for ((method, status), (_, s)) in m.iter() {
            out.push_str(&format!(
                "wanllmdb_http_request_duration_seconds_sum{{method=\"{method}\",status=\"{status}\"}} {s:.6}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP wanllmdb_http_requests_in_flight Requests being answered now.\n\
             # TYPE wanllmdb_http_requests_in_flight gauge\n\
             wanllmdb_http_requests_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        ));
        out
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    summary = "Prometheus metrics.",
    responses((status = 200, description = "The metrics in Prometheus' text format.", body = String, content_type = "text/plain")),
)]
pub async fn render(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.exposition())
}

/// Gives every request an id (the client's `x-request-id`, or a new one), a tracing span that
/// carries it, a log line, and a place in the metrics; echoes the id in the response. Every
/// response carries the security headers (`security::harden`: nosniff, a strict CSP, no
/// framing), and a request target over `MAX_URL_BYTES`
/// is answered 414 without running a handler.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URL_BYTES {
        let problem = ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target has {target} bytes; the limit is {MAX_URL_BYTES}"),
        )
        .error_response();
        let csp = policy(&req);
        let mut res = req.into_response(problem).map_into_right_body();
        harden(&mut res, &csp);
        return Ok(res);
    }
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let method = req.method().to_string();
    let span = tracing::info_span!("request", %method, path = %req.path(), request_id = %id, user_id = tracing::field::Empty);
    let metrics = req.app_data::<web::Data<AppState>>().cloned();
    let csp = policy(&req);
    if let Some(s) = &metrics {
        s.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    }
    let start = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(s) = &metrics {
        s.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    let mut res = result?;
    let status = res.status().as_u16();
    if let Some(s) = &metrics {
        s.metrics.observe(&method, status, seconds);
    }
    span.in_scope(|| tracing::info!(status, ms = (seconds * 1000.0).round(), "answered"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    let mut res = res.map_into_left_body();
    harden(&mut res, &csp);
    Ok(res)
}

fn policy(req: &ServiceRequest) -> ContentSecurityPolicy {
    req.app_data::<web::Data<ContentSecurityPolicy>>()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default()
}

fn harden<B>(res: &mut ServiceResponse<EitherBody<B>>, csp: &ContentSecurityPolicy) {
    crate::security::harden(res.headers_mut(), csp);
}
