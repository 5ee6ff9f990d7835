//! Headers that keep the browser from running what the registry stores: every response forbids
//! sniffing and framing and allows scripts only from the server itself; file bytes go out as
//! attachments with a content type no browser renders as a document.

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `default-src 'self'` with no inline scripts, no plugins, no framing by other sites.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// Sets the headers every response carries (the request middleware calls this).
pub(crate) fn harden(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
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
