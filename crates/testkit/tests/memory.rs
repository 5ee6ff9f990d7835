//! The contract suites on the in-memory adapters.

use std::sync::Arc;

use wanllmdb_domain::memory::{MemoryBlobStore, MemoryMetadataStore};
use wanllmdb_domain::ports::{BlobStore, MetadataStore};
use wanllmdb_testkit::{MemoryPresignedClient, PresignedClient};

async fn metadata() -> Arc<dyn MetadataStore> {
    Arc::new(MemoryMetadataStore::new())
}

async fn blobs() -> (Arc<dyn BlobStore>, Arc<dyn PresignedClient>) {
    let store = Arc::new(MemoryBlobStore::new());
    (store.clone(), Arc::new(MemoryPresignedClient(store)))
}

mod metadata_contract {
    use super::*;
    wanllmdb_testkit::metadata_contract_tests!(metadata());
}

mod blob_contract {
    use super::*;
    wanllmdb_testkit::blob_contract_tests!(blobs());
}
