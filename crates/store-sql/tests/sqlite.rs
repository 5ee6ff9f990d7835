//! The metadata store on SQLite: the whole contract suite, migrations up/down/up, two pools on one
//! file racing on version numbers, and bulk registration.

mod common;

use std::sync::Arc;

use common::*;
use wanllmdb_domain::ports::MetadataStore;
use wanllmdb_store_sql::SqliteStore;

async fn store() -> Arc<dyn MetadataStore> {
    Arc::new(sqlite_store().await)
}

mod contract {
    use super::*;
    wanllmdb_testkit::metadata_contract_tests!(store());
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::open(db.url(), 2).expect("open");
    let empty = sqlite_schema_dump(&store);
    assert!(empty.is_empty(), "a new database has no objects: {empty:?}");
    let applied = store.migrate().await.expect("up");
    assert!(!applied.is_empty());
    let up = without_bookkeeping(sqlite_schema_dump(&store));
    assert!(up.iter().any(|l| l.starts_with("table artifact_files")));
    assert!(up
        .iter()
        .any(|l| l.starts_with("index artifact_versions_run_id_idx")));
    let reverted = store.revert_all().await.expect("down");
    assert_eq!(reverted.len(), applied.len());
    assert_eq!(
        without_bookkeeping(sqlite_schema_dump(&store)),
        Vec::<String>::new(),
        "down leaves nothing"
    );
    store.migrate().await.expect("up again");
    assert_eq!(
        without_bookkeeping(sqlite_schema_dump(&store)),
        up,
        "up again gives the same schema"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_race_for_version_numbers() {
    let db = TestDatabase::sqlite();
    let path = db.url().to_owned();
    let a = SqliteStore::open(&path, 8).expect("pool a");
    a.migrate().await.expect("migrate");
    let b = SqliteStore::open(&path, 8).expect("pool b");
    two_pool_race(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_registration_of_100k_files() {
    bulk_files(store().await).await;
}

#[tokio::test]
async fn the_store_enforces_foreign_keys_and_wal() {
    let store = sqlite_store().await;
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Fk {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        foreign_keys: i32,
    }
    let mut c = store.pool().get().expect("connection");
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut c)
        .expect("pragma");
    assert_eq!(mode.journal_mode, "wal");
    let fk: Fk = diesel::sql_query("PRAGMA foreign_keys")
        .get_result(&mut c)
        .expect("pragma");
    assert_eq!(fk.foreign_keys, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folders_migration_backfills_existing_files() {
    let store = Arc::new(sqlite_store().await);
    let redo = store.clone();
    folder_backfill(store, async move {
        while redo.revert_last().await.expect("revert") != FOLDERS_MIGRATION {}
        redo.migrate().await.expect("migrate");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_migration_backfills_existing_artifacts() {
    let store = Arc::new(sqlite_store().await);
    let redo = store.clone();
    number_backfill(store, async move {
        while redo.revert_last().await.expect("revert") != NUMBERS_MIGRATION {}
        redo.migrate().await.expect("migrate");
    })
    .await;
}
