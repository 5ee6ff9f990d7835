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
    let db = TestDatabase::postgres();
    let store = PgStore::connect(db.url(), 2).expect("connect");
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
    let db = TestDatabase::postgres();
    let url = db.url().to_owned();
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

/// A blob record the collector deletes while another transaction registers a file on it: the
/// delete waits for that transaction and then fails on the foreign key, reported as retryable
/// (a retry then sees the file: `Referenced`), so the bytes of a file that exists are never
/// collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_cannot_delete_a_blob_a_concurrent_transaction_references() {
    use diesel::prelude::*;
    use wanllmdb_domain::ports::DeleteBlobError;
    use wanllmdb_domain::types::Sha256;
    use wanllmdb_testkit::fixtures::{new_file, World};

    let db = TestDatabase::postgres();
    let url = db.url().to_owned();
    let pg = PgStore::connect(&url, 4).expect("connect");
    pg.migrate().await.expect("migrate");
    let store: Arc<dyn MetadataStore> = Arc::new(pg);
    let w = World::new(&store).await;
    let v0 = w.draft(&store).await;
    let f = store
        .add_files(v0.id, vec![new_file(w.project.id, "a", b"bytes")])
        .await
        .expect("add");
    store.delete_file(f[0].id).await.expect("now unreferenced");
    let v1 = w.draft(&store).await;
    let sha = Sha256::of(b"bytes");

    // Another session inserts a file on the blob and holds its transaction open.
    let (inserted_tx, inserted_rx) = std::sync::mpsc::channel();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let (p, v, s) = (w.project.id, v1.id, sha.clone());
    let other = std::thread::spawn(move || {
        let mut c = PgConnection::establish(&url).expect("second session");
        c.transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query(format!(
                "INSERT INTO artifact_files (id, version_id, project_id, path, size, md5_hash, sha256_hash, content_type, storage_key) \
                 VALUES (gen_random_uuid(), '{v}', '{p}', 'b', 5, 'x', '{s}', 'application/octet-stream', 'k')"
            ))
            .execute(c)?;
            inserted_tx.send(()).expect("signal");
            commit_rx.recv().expect("wait");
            Ok(())
        })
        .expect("the other transaction commits");
    });
    inserted_rx.recv().expect("inserted");
    let gc = {
        let store = store.clone();
        let sha = sha.clone();
        tokio::spawn(async move { store.delete_blob_record(w.project.id, &sha).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !gc.is_finished(),
        "the delete waits for the referencing transaction"
    );
    commit_tx.send(()).expect("commit");
    other.join().expect("thread");
    match gc.await.expect("join") {
        Err(DeleteBlobError::Retryable(_)) => {}
        other => panic!("expected a retryable race, got {other:?}"),
    }
    match store.delete_blob_record(w.project.id, &sha).await {
        Err(DeleteBlobError::Referenced(_)) => {}
        other => panic!("the retry sees the committed file, got {other:?}"),
    }
    store
        .get_blob(w.project.id, &sha)
        .await
        .expect("the blob record is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folders_migration_backfills_existing_files() {
    let store = Arc::new(pg_store().await);
    let redo = store.clone();
    folder_backfill(store, async move {
        while redo.revert_last().await.expect("revert") != FOLDERS_MIGRATION {}
        redo.migrate().await.expect("migrate");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_numbers_migration_backfills_existing_artifacts() {
    let store = Arc::new(pg_store().await);
    let redo = store.clone();
    number_backfill(store, async move {
        while redo.revert_last().await.expect("revert") != NUMBERS_MIGRATION {}
        redo.migrate().await.expect("migrate");
    })
    .await;
}
