//! The metadata store on PostgreSQL: the whole contract suite, migrations up/down/up, two pools
//! racing on version numbers, and bulk registration. Needs TEST_DATABASE_URL (`make test` sets it).

mod common;

use std::sync::Arc;

use common::*;
use wanllmdb_domain::ports::MetadataStore;
use wanllmdb_store_sql::PgStore;

async fn store() -> Arc<dyn MetadataStore> {
    Arc::new(pg_store().await)
}

mod contract {
    use super::*;
    wanllmdb_testkit::metadata_contract_tests!(store());
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let store = PgStore::connect(&fresh_pg_database(), 2).expect("connect");
    let empty = pg_schema_dump(&store);
    assert!(empty.is_empty(), "a new database has no tables: {empty:?}");
    let applied = store.migrate().await.expect("up");
    assert!(!applied.is_empty());
    let up = without_bookkeeping(pg_schema_dump(&store));
    assert!(
        up.iter()
            .any(|l| l.starts_with("table artifact_files.path")),
        "the schema is there"
    );
    assert!(
        up.iter()
            .any(|l| l.contains("artifact_versions_run_id_idx")),
        "the seed's indexes are there"
    );
    let reverted = store.revert_all().await.expect("down");
    assert_eq!(reverted.len(), applied.len());
    assert_eq!(
        without_bookkeeping(pg_schema_dump(&store)),
        Vec::<String>::new(),
        "down leaves nothing"
    );
    store.migrate().await.expect("up again");
    assert_eq!(
        without_bookkeeping(pg_schema_dump(&store)),
        up,
        "up again gives the same schema"
    );
    assert!(
        store.migrate().await.expect("idempotent").is_empty(),
        "nothing pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_race_for_version_numbers() {
    let url = fresh_pg_database();
    let a = PgStore::connect(&url, 8).expect("pool a");
    a.migrate().await.expect("migrate");
    let b = PgStore::connect(&url, 8).expect("pool b");
    two_pool_race(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_registration_of_100k_files() {
    bulk_files(store().await).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let err =
        PgStore::connect("postgres://nobody@127.0.0.1:1/none", 1).expect_err("no server there");
    assert!(
        err.to_string().contains("cannot connect to PostgreSQL"),
        "{err}"
    );
}
