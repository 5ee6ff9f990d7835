//! How a contract check sends the presigned requests a blob store hands out.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wanllmdb_domain::memory::MemoryBlobStore;
use wanllmdb_domain::ports::{BlobError, PresignedRequest};

/// The answer to a presigned request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedResponse {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Bytes,
}

impl PresignedResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error answer a store endpoint gives.
    pub fn from_error(e: &BlobError) -> Self {
        PresignedResponse {
            status: e.http_status(),
            etag: None,
            body: Bytes::from(e.to_string()),
        }
    }
}

/// Sends a presigned request with its headers and body, as a client without credentials would.
/// Transport failures are `Err`; HTTP errors are responses with their status.
#[async_trait]
pub trait PresignedClient: Send + Sync {
    async fn send(
        &self,
        request: &PresignedRequest,
        body: Bytes,
    ) -> Result<PresignedResponse, String>;
}

/// Serves the in-memory store's signed URLs directly, mapping errors to the statuses an S3
/// endpoint would answer with.
#[derive(Debug, Clone)]
pub struct MemoryPresignedClient(pub Arc<MemoryBlobStore>);

#[async_trait]
impl PresignedClient for MemoryPresignedClient {
    async fn send(
        &self,
        request: &PresignedRequest,
        body: Bytes,
    ) -> Result<PresignedResponse, String> {
        match self.0.handle_signed(&request.method, &request.url, body) {
            Ok(r) => Ok(PresignedResponse {
                status: r.status,
                etag: r.etag,
                body: r.body,
            }),
            Err(e) => Ok(PresignedResponse::from_error(&e)),
        }
    }
}
