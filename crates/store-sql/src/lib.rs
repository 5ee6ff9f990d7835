//! The wanllmdb metadata ports on PostgreSQL and SQLite, through Diesel with an r2d2 pool.
//!
//! Both backends share one implementation (`store/`, one file per port, compiled into each
//! backend module through `#[path]`) and one table layout (`schema.rs`); each backend supplies its
//! column types, its way of opening a write transaction and of locking a row. Migrations live in `migrations/postgres` and
//! `migrations/sqlite` at the workspace root and are embedded in the binary.

mod error;
#[doc(hidden)]
pub mod testing;
mod types;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
