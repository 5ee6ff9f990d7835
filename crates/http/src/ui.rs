//! The web UI: the single-page app built from `web/` (`web/dist`), embedded in the binary when
//! the crate is built with the feature `ui`. `index.html` is never cached and carries the base
//! path the browser sees; hashed assets are immutable; app routes fall back to `index.html`; a
//! missing asset is a real 404. Without the feature (or without a built `web/dist`), `/` answers
//! a short page saying how to build the UI.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

/// Where the UI lives as the browser sees it: `/`, or a sub-path such as `/registry/` behind a
/// proxy (which may pass the prefix on or strip it).
#[derive(Debug, Clone)]
pub struct WebUi {
    base_path: String,
}

impl Default for WebUi {
    fn default() -> Self {
        Self {
            base_path: "/".to_owned(),
        }
    }
}

impl WebUi {
    /// `base_path` is normalised to start and end with `/`; it may only hold URL path characters
    /// (it is written into `index.html`).
    pub fn new(base_path: &str) -> Result<Self, String> {
        let trimmed = base_path.trim_matches('/');
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
        if !trimmed.chars().all(allowed) || trimmed.split('/').any(|s| s == "." || s == "..") {
            return Err(format!(
                "server.base_path {base_path:?} may only hold letters, digits, '-', '.', '_', '~' and '/'"
            ));
        }
        let base_path = if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        };
        Ok(Self { base_path })
    }

    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// Whether this build carries the UI's assets.
    pub fn embedded() -> bool {
        assets::get("index.html").is_some()
    }
}

/// Middleware: a request whose path starts with the base path (a proxy that passes the prefix
/// on) is routed as if the prefix were not there, so the API and the UI answer either way.
pub async fn strip_base_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let base = req
        .app_data::<web::Data<WebUi>>()
        .map(|ui| ui.base_path.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    if !base.is_empty() {
        let path = req.uri().path();
        let rest = path.strip_prefix(base.as_str());
        if let Some(rest) = rest.filter(|r| r.is_empty() || r.starts_with('/')) {
            let rest = if rest.is_empty() { "/" } else { rest };
            let target = match req.uri().query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            if let Ok(uri) = target.parse::<Uri>() {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    next.call(req).await
}

/// Paths that belong to the API and the probes, never to the UI.
fn is_api(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || ["/healthz", "/readyz", "/metrics"].contains(&path)
}

/// The default service: UI assets and app routes for GET and HEAD outside the API, the API's own
/// 404/405 problem for everything else.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let path = req.path().to_owned();
    if is_api(&path) || !(req.method() == Method::GET || req.method() == Method::HEAD) {
        return crate::error::not_found(req).await;
    }
    let ui = req
        .app_data::<web::Data<WebUi>>()
        .map(|d| d.get_ref().clone())
        .unwrap_or_default();
    let Some(index) = assets::get("index.html") else {
        return if path == "/" {
            not_built(&ui)
        } else {
            crate::error::not_found(req).await
        };
    };
    let name = path.trim_start_matches('/');
    if !name.is_empty() && name != "index.html" {
        if let Some(file) = assets::get(name) {
            let immutable = name.starts_with("assets/");
            return asset(file.data.into_owned(), mime(name), immutable);
        }
        // A file name with an extension, or anything under assets/, is an asset that is not
        // there: a real 404 rather than the app, so a stale page fails loudly.
        let last = name.rsplit('/').next().unwrap_or_default();
        if name.starts_with("assets/") || last.contains('.') {
            return crate::error::not_found(req).await;
        }
    }
    let html = String::from_utf8_lossy(&index.data).replacen(
        "<head>",
        &format!("<head><base href=\"{}\">", ui.base_path),
        1,
    );
    asset(html.into_bytes(), "text/html; charset=utf-8", false)
}

fn asset(body: Vec<u8>, content_type: &'static str, immutable: bool) -> HttpResponse {
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .body(body)
}

fn mime(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or_default();
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn not_built(ui: &WebUi) -> HttpResponse {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>wanllmdb</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5\">\
         <h1>wanllmdb</h1><p>This server was built without its web UI. The API is at \
         <a href=\"{base}api/v1/openapi.json\"><code>{base}api/v1/openapi.json</code></a>.</p>\
         <p>To serve the UI here, build it and the server with it:</p>\
         <pre>make run</pre><p>or by hand:</p>\
         <pre>npm --prefix web ci &amp;&amp; npm --prefix web run build\n\
         cargo run --release -p wanllmdb-server --features ui -- serve</pre></body></html>",
        base = ui.base_path
    );
    HttpResponse::build(StatusCode::OK)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page)
}

#[cfg(feature = "ui")]
mod assets {
    #[derive(rust_embed::Embed)]
    #[folder = "../../web/dist"]
    #[allow_missing = true]
    struct Dist;

    pub(super) fn get(name: &str) -> Option<rust_embed::EmbeddedFile> {
        <Dist as rust_embed::Embed>::get(name)
    }
}

#[cfg(not(feature = "ui"))]
mod assets {
    // Never constructed: a build without the feature has no assets.
    #[allow(dead_code)]
    pub(super) struct File {
        pub data: std::borrow::Cow<'static, [u8]>,
    }

    pub(super) fn get(_name: &str) -> Option<File> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalised_and_checked() {
        assert_eq!(WebUi::new("").expect("ok").base_path(), "/");
        assert_eq!(WebUi::new("/").expect("ok").base_path(), "/");
        assert_eq!(
            WebUi::new("registry").expect("ok").base_path(),
            "/registry/"
        );
        assert_eq!(WebUi::new("/a/b/").expect("ok").base_path(), "/a/b/");
        for bad in ["/a\"><script>", "/a b", "/../x", "/a?b"] {
            assert!(WebUi::new(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn api_paths_never_reach_the_ui() {
        for p in ["/api/v1/x", "/api/", "/healthz", "/metrics", "/readyz"] {
            assert!(is_api(p), "{p}");
        }
        for p in ["/", "/projects/x", "/apis", "/healthzz"] {
            assert!(!is_api(p), "{p}");
        }
    }
}
