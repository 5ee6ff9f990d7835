//! Headers that keep the browser from running what the registry stores: every response forbids
//! sniffing and framing and allows scripts only from the server itself; file bytes go out as
//! attachments with a content type no browser renders as a document.

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `default-src 'self'` with no inline scripts, no eval, no plugins, no framing by other sites.
/// `'wasm-unsafe-eval'` lets the page compile WebAssembly (the upload's hashing workers) and
/// nothing else: JavaScript `eval` stays forbidden.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// The policy every response carries: [`CONTENT_SECURITY_POLICY`], plus the object store's
/// origin in `connect-src` when the store is elsewhere (the UI uploads to its presigned URLs).
/// Register it as app data; without it the strict default applies.
#[derive(Debug, Clone)]
pub struct ContentSecurityPolicy(HeaderValue);

impl Default for ContentSecurityPolicy {
    fn default() -> Self {
        Self(HeaderValue::from_static(CONTENT_SECURITY_POLICY))
    }
}

impl ContentSecurityPolicy {
    /// Also lets pages connect to `origin` (`scheme://host[:port]`); anything that is not such
    /// an origin is ignored, so no configuration can widen the policy further.
    pub fn connecting_to(origin: &str) -> Self {
        let valid = origin
            .split_once("://")
            .filter(|(scheme, host)| {
                matches!(*scheme, "http" | "https")
                    && !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .is_some();
        if !valid {
            return Self::default();
        }
        let policy = CONTENT_SECURITY_POLICY.replacen(
            "default-src 'self';",
            &format!("default-src 'self'; connect-src 'self' {origin};"),
            1,
        );
        HeaderValue::from_str(&policy).map_or_else(|_| Self::default(), Self)
    }

    pub fn value(&self) -> &HeaderValue {
        &self.0
    }
}

/// Sets the headers every response carries (the request middleware calls this).
pub(crate) fn harden(headers: &mut HeaderMap, csp: &ContentSecurityPolicy) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.0.clone());
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
}

/// The content type stored bytes are served with: passive images and JSON as recorded, other
/// text as plain text, and everything a browser could run as a document (HTML, SVG, XML,
/// scripts, PDF, ...) as `application/octet-stream`.
pub fn safe_content_type(recorded: Option<&str>) -> &'static str {
    const PASSIVE: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "application/json",
        "text/csv",
        "text/tab-separated-values",
    ];
    let essence = recorded
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(t) = PASSIVE.iter().find(|t| **t == essence) {
        return t;
    }
    let active = ["html", "xml", "svg", "javascript", "ecmascript"];
    if essence.starts_with("text/") && !active.iter().any(|a| essence.contains(a)) {
        return "text/plain; charset=utf-8";
    }
    "application/octet-stream"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_store_only_when_it_is_an_origin() {
        let csp = ContentSecurityPolicy::connecting_to("http://127.0.0.1:3900");
        let text = csp.value().to_str().expect("ascii");
        assert!(text.starts_with("default-src 'self'; connect-src 'self' http://127.0.0.1:3900;"));
        assert!(text.contains("frame-ancestors 'none'"));
        assert!(text.contains("script-src 'self' 'wasm-unsafe-eval';"));
        for bad in [
            "javascript://x",
            "http://a.test; script-src *",
            "http://",
            "a.test",
            "https://a.test/path",
        ] {
            assert_eq!(
                ContentSecurityPolicy::connecting_to(bad).value(),
                ContentSecurityPolicy::default().value(),
                "{bad}"
            );
        }
    }

    #[test]
    fn documents_and_scripts_are_never_served_as_such() {
        for t in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/javascript",
            "text/javascript",
            "application/pdf",
            "",
        ] {
            assert_eq!(
                safe_content_type(Some(t)),
                "application/octet-stream",
                "{t}"
            );
        }
        assert_eq!(safe_content_type(None), "application/octet-stream");
        assert_eq!(safe_content_type(Some("image/png")), "image/png");
        assert_eq!(
            safe_content_type(Some("application/json")),
            "application/json"
        );
        assert_eq!(
            safe_content_type(Some("text/markdown")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            safe_content_type(Some("text/x-python")),
            "text/plain; charset=utf-8"
        );
    }
}
