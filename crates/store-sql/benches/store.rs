//! Metadata-store benchmarks on SQLite and PostgreSQL (`make bench`, which starts PostgreSQL):
//! - insert 1,000,000 file rows into one version (batches of 10,000, as the API takes them);
//! - page through them 1,000 at a time;
//! - get a version and its 1,000 files;
//! - list a page of artifacts among 100,000 (first page, and a page deep in the listing);
//! - search them: a metadata filter with a sort by a metadata key, first and second page;
//! - folder pages of the 1,000,000-file version (the root's 50 folders, 100 files of one folder),
//!   and the whole listing's rate in files per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use wanllmdb_domain::ports::*;
use wanllmdb_store_sql::testing::TestDatabase;
use wanllmdb_store_sql::{PgStore, SqliteStore};
use wanllmdb_testkit::fixtures::{new_file, World};

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

async fn timed<T, F: std::future::Future<Output = T>>(
    label: &str,
    runs: u32,
    mut f: impl FnMut() -> F,
) -> T {
    let mut out = f().await;
    let start = Instant::now();
    for _ in 0..runs {
        out = f().await;
    }
    let per = start.elapsed() / runs.max(1);
    println!("  {label:<54} {:>10}", fmt(per));
    out
}

/// Bulk-creates `n` artifacts in the world's project with one SQL statement (setup, not measured).
fn seed_artifacts(sql: &str, run: impl FnOnce(&str)) {
    run(sql);
}

/// Files in the big version.
const FILES: usize = 1_000_000;

async fn bench(name: &str, store: Arc<dyn MetadataStore>, seed: impl FnOnce(&World, usize)) {
    println!("{name}");
    let w = World::new(&store).await;

    let v = w.draft(&store).await;
    let start = Instant::now();
    for batch in 0..FILES / 10_000 {
        let files = (0..10_000)
            .map(|i| {
                let n = batch * 10_000 + i;
                new_file(
                    w.project.id,
                    &format!("shard-{:02}/file-{n:06}.bin", n % 50),
                    format!("{n}").as_bytes(),
                )
            })
            .collect();
        store.add_files(v.id, files).await.expect("add files");
    }
    println!(
        "  {:<54} {:>10}",
        "insert 1,000,000 file rows (100 batches of 10,000)",
        fmt(start.elapsed())
    );

    let started = Instant::now();
    timed("page through 1,000,000 files, 1,000 a page", 1, || {
        let store = store.clone();
        async move {
            let mut page = PageRequest::first(MAX_PAGE_SIZE);
            let mut n = 0;
            loop {
                let p = store.list_files(v.id, None, page).await.expect("page");
                n += p.items.len();
                match p.next {
                    Some(next) => {
                        page = PageRequest {
                            after: Some(next),
                            limit: MAX_PAGE_SIZE,
                        }
                    }
                    None => break n,
                }
            }
        }
    })
    .await;
    println!(
        "  {:<54} {:>10}",
        "  = files per second",
        format!(
            "{:.0}",
            2.0 * FILES as f64 / started.elapsed().as_secs_f64()
        )
    );
    let root = timed("folder page: the root (50 folders with totals)", 20, || {
        let store = store.clone();
        async move {
            store
                .list_folder(v.id, "", PageRequest::first(100))
                .await
                .expect("root")
        }
    })
    .await;
    assert_eq!(root.items.len(), 50);
    let inner = timed("folder page: 100 of a folder's 20,000 files", 20, || {
        let store = store.clone();
        async move {
            store
                .list_folder(v.id, "shard-07/", PageRequest::first(100))
                .await
                .expect("folder")
        }
    })
    .await;
    assert_eq!(inner.items.len(), 100);

    let small = w.draft(&store).await;
    let files = (0..1000)
        .map(|i| {
            new_file(
                w.project.id,
                &format!("f/{i:04}"),
                format!("s{i}").as_bytes(),
            )
        })
        .collect();
    store.add_files(small.id, files).await.expect("add 1000");
    timed("get a version with its 1,000 files", 20, || {
        let store = store.clone();
        async move {
            let v = store.get_version(small.id).await.expect("version");
            let files = store
                .list_files(v.id, None, PageRequest::first(MAX_PAGE_SIZE))
                .await
                .expect("files");
            assert_eq!(files.items.len(), 1000);
        }
    })
    .await;

    seed(&w, 100_000);
    let filter = ArtifactFilter {
        project_id: Some(w.project.id),
        ..Default::default()
    };
    let first = timed(
        "list artifacts: first page of 100 among 100,000",
        50,
        || {
            let (store, filter) = (store.clone(), filter.clone());
            async move {
                store
                    .list_artifacts(&filter, &Sort::default(), PageRequest::first(100))
                    .await
                    .expect("list")
            }
        },
    )
    .await;
    assert_eq!(first.items.len(), 100);
    // A cursor 90,000 rows in: the 90,000th id in creation order.
    let mut cursor = None;
    for _ in 0..90 {
        let p = store
            .list_artifacts(
                &filter,
                &Sort::default(),
                PageRequest {
                    after: cursor.clone(),
                    limit: MAX_PAGE_SIZE,
                },
            )
            .await
            .expect("walk");
        cursor = p.next;
    }
    let deep = timed("list artifacts: page of 100 after row 90,000", 50, || {
        let (store, filter, cursor) = (store.clone(), filter.clone(), cursor.clone());
        async move {
            store
                .list_artifacts(
                    &filter,
                    &Sort::default(),
                    PageRequest {
                        after: cursor,
                        limit: 100,
                    },
                )
                .await
                .expect("list")
        }
    })
    .await;
    assert_eq!(deep.items.len(), 100);
    let models = ArtifactFilter {
        artifact_types: vec![wanllmdb_domain::types::ArtifactType::Model],
        ..filter.clone()
    };
    timed("list artifacts: first page of 100 models", 50, || {
        let (store, models) = (store.clone(), models.clone());
        async move {
            store
                .list_artifacts(&models, &Sort::default(), PageRequest::first(100))
                .await
                .expect("list")
        }
    })
    .await;

    let searches = [
        (
            r#"metadata.framework = "torch" and metadata.accuracy >= 0.5"#,
            "-metadata.accuracy",
        ),
        (r#"metadata.tags contains "prod""#, "name"),
        ("metadata.accuracy < 0.1", "-created_at"),
    ];
    for (expr, order) in searches {
        let search = ArtifactFilter {
            metadata: MetaFilter::parse(expr).expect("filter"),
            ..filter.clone()
        };
        let sort = Sort::<ArtifactSortField>::parse(order).expect("sort");
        let first = timed(&format!("search {expr:.34} sort {order}"), 10, || {
            let (store, search, sort) = (store.clone(), search.clone(), sort.clone());
            async move {
                store
                    .list_artifacts(&search, &sort, PageRequest::first(100))
                    .await
                    .expect("search")
            }
        })
        .await;
        assert_eq!(first.items.len(), 100, "{expr}");
        let cursor = first.next.clone();
        timed("  its second page (keyset)", 10, || {
            let (store, search, sort, cursor) =
                (store.clone(), search.clone(), sort.clone(), cursor.clone());
            async move {
                store
                    .list_artifacts(
                        &search,
                        &sort,
                        PageRequest {
                            after: cursor,
                            limit: 100,
                        },
                    )
                    .await
                    .expect("page 2")
            }
        })
        .await;
    }
}

/// Artifacts `bulk-1`.. with metadata `{accuracy: (i % 1000) / 1000, framework: torch|jax|tf,
/// tags: ["prod"] for one in ten, else ["dev"]}` (`meta_expr` spells it in the backend's SQL).
fn insert_artifacts_sql(
    w: &World,
    n: usize,
    uuid_expr: &str,
    series: &str,
    meta_expr: &str,
) -> String {
    format!(
        "INSERT INTO artifacts (id, project_id, name, type, metadata, created_by, created_at, updated_at) \
         SELECT {uuid_expr}, '{p}', 'bulk-' || i, CASE i % 4 WHEN 0 THEN 'model' WHEN 1 THEN 'dataset' WHEN 2 THEN 'file' ELSE 'code' END, \
                {meta_expr}, '{u}', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00' FROM {series}",
        p = w.project.id,
        u = w.user.id,
        series = series.replace("{n}", &n.to_string()),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sqlite_db = TestDatabase::sqlite();
    let sqlite = SqliteStore::open(sqlite_db.url(), 4).expect("open sqlite");
    sqlite.migrate().await.expect("migrate sqlite");
    let pool = sqlite.pool().clone();
    bench("SQLite (bundled, WAL, file on local disk)", Arc::new(sqlite), |w, n| {
        // Time-ordered ids like UUIDv7: a fixed prefix above every real id, then the row number.
        let sql = insert_artifacts_sql(
            w,
            n,
            "printf('ffffffff-0000-7000-8000-%012d', i)",
            "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)",
            "json_object('accuracy', (i % 1000) / 1000.0, 'framework', CASE i % 3 WHEN 0 THEN 'torch' WHEN 1 THEN 'jax' ELSE 'tf' END, \
             'tags', json(CASE WHEN i % 10 = 0 THEN '[\"prod\"]' ELSE '[\"dev\"]' END))",
        );
        seed_artifacts(&sql, |sql| {
            let mut c = pool.get().expect("conn");
            diesel::sql_query(sql).execute(&mut c).expect("seed");
            diesel::sql_query(
                "INSERT INTO artifact_numbers (artifact_id, project_id, path, value) \
                 SELECT id, project_id, 'accuracy', json_extract(metadata, '$.accuracy') FROM artifacts \
                 WHERE json_type(metadata, '$.accuracy') IN ('integer', 'real')",
            )
            .execute(&mut c)
            .expect("seed numbers");
        });
    })
    .await;

    let pg_db = TestDatabase::postgres();
    let pg = PgStore::connect(pg_db.url(), 4).expect("connect postgres");
    pg.migrate().await.expect("migrate postgres");
    let pool = pg.pool().clone();
    bench(
        "PostgreSQL (local throwaway cluster)",
        Arc::new(pg),
        |w, n| {
            let sql = insert_artifacts_sql(
                w,
                n,
                "('ffffffff-0000-7000-8000-' || lpad(i::text, 12, '0'))::uuid",
                "generate_series(1, {n}) AS i",
                "jsonb_build_object('accuracy', (i % 1000) / 1000.0, 'framework', CASE i % 3 WHEN 0 THEN 'torch' WHEN 1 THEN 'jax' ELSE 'tf' END, \
                 'tags', CASE WHEN i % 10 = 0 THEN '[\"prod\"]'::jsonb ELSE '[\"dev\"]'::jsonb END)",
            );
            seed_artifacts(&sql, |sql| {
                let mut c = pool.get().expect("conn");
                diesel::sql_query(sql).execute(&mut c).expect("seed");
                diesel::sql_query(
                    "INSERT INTO artifact_numbers (artifact_id, project_id, path, value) \
                     SELECT id, project_id, 'accuracy', (metadata -> 'accuracy')::float8 FROM artifacts \
                     WHERE jsonb_typeof(metadata -> 'accuracy') = 'number'",
                )
                .execute(&mut c)
                .expect("seed numbers");
                diesel::sql_query("ANALYZE")
                    .execute(&mut c)
                    .expect("analyze");
            });
        },
    )
    .await;
}
