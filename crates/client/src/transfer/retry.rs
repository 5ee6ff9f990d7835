//! Transient failures are tried again (backon: exponential with jitter, the store's
//! `Retry-After` honoured); the rest are answers.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use super::*;

/// How many times a transfer is tried again after a transient failure.
const RETRIES: usize = 3;

/// A `Retry-After` longer than this is not waited for: the failure is reported instead.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Runs `op` again after a growing, jittered pause (from 0.25 s) when it fails in a way a
/// retry may cure: a dropped or timed-out connection, or a store answering 5xx or 429 (after
/// the pause its `Retry-After` asks for, when it sends one).
pub(super) async fn retrying<T, F, Fut>(op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(RETRIES)
        .with_jitter();
    op.retry(backoff)
        .sleep(tokio::time::sleep)
        .when(transient)
        .adjust(|e, planned| match e {
            ClientError::Store {
                retry_after: Some(wait),
                ..
            } => (*wait <= LONGEST_WAIT).then_some(*wait),
            _ => planned,
        })
        .await
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

/// The store's refusal of a transfer, with the pause it asked for (`Retry-After` in seconds
/// or as an HTTP date).
pub(super) fn store_error(path: String, resp: &reqwest::Response) -> ClientError {
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let v = v.trim();
            v.parse::<u64>().map(Duration::from_secs).ok().or_else(|| {
                httpdate::parse_http_date(v).ok().map(|at| {
                    at.duration_since(std::time::SystemTime::now())
                        .unwrap_or_default()
                })
            })
        });
    ClientError::Store {
        path,
        status: resp.status().as_u16(),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn busy(retry_after: Option<Duration>) -> ClientError {
        ClientError::Store {
            path: "f".into(),
            status: 503,
            retry_after,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_three_times_then_reported() {
        let calls = AtomicU32::new(0);
        let out: Result<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(busy(None))
        })
        .await;
        assert!(matches!(out, Err(ClientError::Store { status: 503, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_sets_the_pause_and_answers_are_not_retried() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let out: Result<u32> = retrying(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(busy(Some(Duration::from_secs(7)))),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(out.ok(), Some(1));
        assert_eq!(started.elapsed().as_secs(), 7);
        let calls = AtomicU32::new(0);
        let out: Result<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ClientError::Invalid("no".into()))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
