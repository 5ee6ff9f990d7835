//! Helpers shared by the PostgreSQL and SQLite test suites.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use wanllmdb_domain::entities::now;
use wanllmdb_domain::ports::{MetadataStore, PageRequest, MAX_PAGE_SIZE};
pub use wanllmdb_store_sql::testing::*;
use wanllmdb_store_sql::{PgStore, SqliteStore};
use wanllmdb_testkit::fixtures::{new_file, new_version, World};

/// A migrated PostgreSQL store on its own database.
pub async fn pg_store() -> PgStore {
    let db = TestDatabase::postgres();
    let store = PgStore::connect(db.url(), 8).expect("connect").keeping(db);
    store.migrate().await.expect("migrate");
    store
}

/// A migrated SQLite store on its own file.
pub async fn sqlite_store() -> SqliteStore {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::open(db.url(), 8).expect("open").keeping(db);
    store.migrate().await.expect("migrate");
    store
}

/// 50 concurrent "create next version" calls spread over two independent stores (pools) on one
/// database get 50 distinct, contiguous indices.
pub async fn two_pool_race(a: Arc<dyn MetadataStore>, b: Arc<dyn MetadataStore>) {
    let w = World::new(&a).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (artifact, user) = (w.artifact.id, w.user.id);
            tokio::spawn(
                async move { store.create_next_version(new_version(artifact, user)).await },
            )
        })
        .collect();
    let mut indices = BTreeSet::new();
    for t in tasks {
        let v = t.await.expect("join").expect("create version");
        assert!(
            indices.insert(v.index.0),
            "index {} handed out twice",
            v.index
        );
    }
    assert_eq!(indices, (0..50).collect::<BTreeSet<u32>>());
    let artifact = b.get_artifact(w.artifact.id).await.expect("artifact");
    assert_eq!(
        (artifact.version_count, artifact.next_version_index),
        (50, 50)
    );
}

/// 100,000 files registered into one version in batches of 10,000, then paged through.
pub async fn bulk_files(store: Arc<dyn MetadataStore>) {
    let w = World::new(&store).await;
    let v = w.draft(&store).await;
    let total = 100_000usize;
    for batch in 0..10 {
        let files = (0..10_000)
            .map(|i| {
                let n = batch * 10_000 + i;
                new_file(
                    w.project.id,
                    &format!("shard-{:02}/file-{n:06}.bin", n % 37),
                    format!("content {n}").as_bytes(),
                )
            })
            .collect();
        store.add_files(v.id, files).await.expect("add a batch");
    }
    let version = store.get_version(v.id).await.expect("version");
    assert_eq!(version.file_count, total as u64);
    let mut seen = 0usize;
    let mut last: Option<String> = None;
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let p = store
            .list_files(v.id, None, page.clone())
            .await
            .expect("page");
        for f in &p.items {
            let path = f.path.as_str().to_owned();
            assert!(
                last.as_ref().is_none_or(|l| *l < path),
                "pages are in strict path order"
            );
            last = Some(path);
        }
        seen += p.items.len();
        match p.next {
            Some(next) => {
                page = PageRequest {
                    after: Some(next),
                    limit: MAX_PAGE_SIZE,
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, total, "every file exactly once");
    let shard = store
        .list_files(v.id, Some("shard-07/"), PageRequest::first(MAX_PAGE_SIZE))
        .await
        .expect("prefix page");
    assert_eq!(shard.items.len(), 1000);
    assert!(shard
        .items
        .iter()
        .all(|f| f.path.as_str().starts_with("shard-07/")));
    let done = store
        .finalize_version(v.id, w.user.id, now())
        .await
        .expect("finalize 100k files");
    assert!(done.version.digest.is_some());
}

/// Paths in folders at several depths, registered before the folders migration existed: the
/// migration's backfill gives every folder the totals the running store keeps.
pub fn folder_fixture(w: &World) -> Vec<wanllmdb_domain::ports::NewFile> {
    ["top.txt", "a/x", "a/y", "a/b/c/d.bin", "a/b/e", "z/z/z/z"]
        .iter()
        .enumerate()
        .map(|(i, p)| new_file(w.project.id, p, &vec![b'x'; i * 10 + 1]))
        .collect()
}

/// The folders migration, whose backfill `folder_backfill` checks.
pub const FOLDERS_MIGRATION: &str = "20261202000004";

/// `redo` reverts migrations down through the folders one and migrates up again (backfill).
pub async fn folder_backfill<R>(store: Arc<dyn MetadataStore>, redo: R)
where
    R: std::future::Future<Output = ()>,
{
    let w = World::new(&store).await;
    let v = store
        .create_next_version(new_version(w.artifact.id, w.user.id))
        .await
        .expect("version");
    store
        .add_files(v.id, folder_fixture(&w))
        .await
        .expect("files");
    let listing = |folder: &'static str| {
        let store = store.clone();
        async move {
            store
                .list_folder(v.id, folder, PageRequest::first(100))
                .await
                .expect("list")
                .items
        }
    };
    let before = (
        listing("").await,
        listing("a/").await,
        listing("a/b/c/").await,
    );
    assert_eq!(before.0.len(), 3, "top.txt, a/, z/");
    redo.await;
    let after = (
        listing("").await,
        listing("a/").await,
        listing("a/b/c/").await,
    );
    assert_eq!(after, before, "the backfill recomputes every folder");
}

/// The migration that indexes metadata numbers, whose backfill `number_backfill` checks.
pub const NUMBERS_MIGRATION: &str = "20261203000005";

/// `redo` reverts migrations down through the numbers one and migrates up again: the backfill
/// indexes exactly the numbers the running store indexes, so every number sort still agrees
/// with the reference.
pub async fn number_backfill<R>(store: Arc<dyn MetadataStore>, redo: R)
where
    R: std::future::Future<Output = ()>,
{
    use wanllmdb_testkit::search::{check_number_sorts, number_sort_fixture};
    let w = World::new(&store).await;
    let made = number_sort_fixture(&store, &w).await;
    check_number_sorts(&store, &w, &made).await;
    redo.await;
    check_number_sorts(&store, &w, &made).await;
}
