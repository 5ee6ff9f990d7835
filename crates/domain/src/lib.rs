//! The wanllmdb domain: entities, validated types, port traits and the use cases over them.
//! No database, object-store, HTTP or runtime types live here; adapters depend on this crate,
//! never the reverse. With feature `memory`, in-memory adapters of every port.

pub mod entities;
pub mod error;
pub mod ids;
pub mod keys;
pub mod manifest;
pub mod ports;
pub mod query;
pub mod reference;
pub mod service;
pub mod signed_url;
pub mod types;

#[cfg(feature = "memory")]
pub mod memory;

pub use error::{Entity, Error, Result, ValidationError};
