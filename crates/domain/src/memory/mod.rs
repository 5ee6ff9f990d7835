//! In-memory adapters of every port, for tests and for services that embed the domain. They keep
//! the same contracts as the database and object-store adapters (the testkit suites prove it);
//! each operation takes one lock, so each is atomic.

mod blob;
mod metadata;

pub use blob::{MemoryBlobStore, SignedResponse};
pub use metadata::MemoryMetadataStore;

use std::sync::{Mutex, MutexGuard};

/// Locks, recovering the data of a poisoned lock: every operation validates before it mutates,
/// so a panic cannot leave half-applied state behind.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
