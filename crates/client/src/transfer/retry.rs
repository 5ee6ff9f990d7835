//! Transient failures are tried again; the rest are answers.

use super::*;

/// How many times a transfer is tried again after a transient failure.
const RETRIES: u32 = 3;

/// Runs `op` again after a growing pause (0.25, 0.5, 1 s) when it fails in a way a retry may
/// cure: a dropped or timed-out connection, or a store answering 5xx or 429.
pub(super) async fn retrying<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Err(e) if attempt < RETRIES && transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(250 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transient(e: &ClientError) -> bool {
    match e {
        ClientError::Http(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
        ClientError::Store { status, .. } => {
            transient_status(reqwest::StatusCode::from_u16(*status).unwrap_or_default())
        }
        _ => false,
    }
}

pub(super) fn transient_status(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
}
