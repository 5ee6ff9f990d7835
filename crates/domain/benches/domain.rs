//! Domain benchmarks on the in-memory adapters: `make bench`.
//!
//! - listing artifacts by keyset pages among 1,000,000 rows (first page, a page deep in the
//!   listing, a filtered page);
//! - the manifest digest of 100,000 files;
//! - path validation throughput.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use wanllmdb_domain::entities::*;
use wanllmdb_domain::ids::*;
use wanllmdb_domain::manifest::{manifest_digest, ManifestEntry};
use wanllmdb_domain::memory::MemoryMetadataStore;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::types::*;

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut out = f();
    let start = Instant::now();
    for _ in 0..runs {
        out = std::hint::black_box(f());
    }
    let per = start.elapsed() / runs;
    println!("{label:<58} {:>12}", fmt(per));
    out
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else if d.as_micros() >= 1000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} µs", d.as_secs_f64() * 1e6)
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn main() {
    let store = Arc::new(MemoryMetadataStore::new());
    let user = block_on(store.create_user(User {
        id: UserId::new(),
        name: UserName::parse("bench").expect("name"),
        is_admin: true,
        created_at: Utc::now(),
    }))
    .expect("user");
    let project = block_on(store.create_project(Project {
        id: ProjectId::new(),
        name: ProjectName::parse("bench").expect("name"),
        description: Description::default(),
        created_by: user.id,
        created_at: Utc::now(),
    }))
    .expect("project");

    const N: usize = 1_000_000;
    let start = Instant::now();
    let mut ids = Vec::with_capacity(N);
    for i in 0..N {
        let now = Utc::now();
        let a = block_on(store.create_artifact(Artifact {
            id: ArtifactId::new(),
            project_id: project.id,
            name: ArtifactName::parse(format!("artifact-{i:07}")).expect("name"),
            artifact_type: ArtifactType::ALL[i % 4],
            description: Description::default(),
            metadata: Metadata::default(),
            created_by: user.id,
            version_count: 0,
            next_version_index: 0,
            latest_version: None,
            created_at: now,
            updated_at: now,
        }))
        .expect("artifact");
        ids.push(Sort::<ArtifactSortField>::default().key(&a));
    }
    println!(
        "{:<58} {:>12}",
        "insert 1,000,000 artifacts (memory)",
        fmt(start.elapsed())
    );

    let filter = ArtifactFilter {
        project_id: Some(project.id),
        ..Default::default()
    };
    time("list: first page of 100 among 1M", 20, || {
        block_on(store.list_artifacts(&filter, &Sort::default(), PageRequest::first(100)))
            .expect("list")
    });
    let deep = ids[900_000].clone();
    let page = time("list: page of 100 after row 900,000 (keyset)", 20, || {
        block_on(store.list_artifacts(
            &filter,
            &Sort::default(),
            PageRequest {
                after: Some(deep.clone()),
                limit: 100,
            },
        ))
        .expect("list")
    });
    assert_eq!(page.items.len(), 100);
    let models = ArtifactFilter {
        artifact_types: vec![ArtifactType::Model],
        ..filter.clone()
    };
    time("list: first page of 100 models (type filter)", 20, || {
        block_on(store.list_artifacts(&models, &Sort::default(), PageRequest::first(100)))
            .expect("list")
    });

    let files: Vec<(FilePath, Sha256, u64)> = (0..100_000)
        .map(|i| {
            let p =
                FilePath::parse(format!("shard-{:03}/part-{i:06}.parquet", i % 500)).expect("path");
            (p, Sha256::of(&(i as u64).to_le_bytes()), i as u64 * 17)
        })
        .collect();
    time("manifest digest of 100,000 files", 10, || {
        manifest_digest(files.iter().map(|(path, sha256, size)| ManifestEntry {
            path,
            sha256,
            size: *size,
        }))
    });
    let raw: Vec<String> = files.iter().map(|(p, _, _)| p.to_string()).collect();
    time("validate 100,000 paths", 10, || {
        raw.iter()
            .filter(|p| FilePath::parse(p.as_str()).is_ok())
            .count()
    });
}
