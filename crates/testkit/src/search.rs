//! The search contract: every store lists exactly what the domain's reference
//! (`query::MetaFilter::matches`, `query::sort_and_seek`) gives, for every filter and sort order,
//! page after page.

use std::sync::Arc;

use serde_json::json;
use wanllmdb_domain::entities::*;
use wanllmdb_domain::ids::*;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::query::{sort_and_seek, MetaFilter};
use wanllmdb_domain::types::*;

use crate::fixtures::{self, collect_pages, new_version, World};

type Store = Arc<dyn MetadataStore>;

/// Filters covering every operator and value kind, absent keys, nested keys, arrays against
/// scalars, and strings that would break out of an SQL literal if spliced.
pub const FILTERS: &[&str] = &[
    "",
    r#"metadata.framework = "torch""#,
    "metadata.accuracy >= 0.5",
    "metadata.accuracy < 0.5 and metadata.ok = true",
    r#"metadata.tags contains "prod""#,
    r#"metadata.tags = "prod""#,
    "metadata.tags contains 3",
    "metadata.train.epochs = 3",
    "metadata.train.lr > 0.0015",
    "metadata.accuracy = null",
    r#"metadata.framework != "torch""#,
    r#"metadata.framework >= "tf""#,
    r#"metadata.accuracy = "n/a""#,
    r#"metadata.accuracy > "a""#,
    "metadata.ok = false",
    "metadata.ok != true",
    "metadata.weird-key_1 = 1",
    "metadata.train = 3",
    r#"metadata.framework = "x' OR '1'='1""#,
    r#"metadata.framework = "\"); DROP TABLE artifacts; --""#,
    r#"metadata.framework contains "'; DELETE FROM artifact_versions; --""#,
];

/// The metadata of sample `i`: present, absent, null, strings where numbers are elsewhere.
fn sample_metadata(i: usize) -> Metadata {
    let mut m = serde_json::Map::new();
    if i % 7 != 0 {
        m.insert("framework".into(), json!(["torch", "jax", "tf"][i % 3]));
    }
    m.insert(
        "accuracy".into(),
        match i % 4 {
            0 if i % 8 == 0 => json!("n/a"),
            0 => json!(null),
            _ => json!(i as f64 / 30.0),
        },
    );
    m.insert(
        "tags".into(),
        match i % 5 {
            0 => json!("prod"),
            1 | 3 => json!(["prod", 3, true]),
            _ => json!(["dev", "cnn"]),
        },
    );
    m.insert(
        "train".into(),
        json!({ "epochs": i % 5, "lr": 0.001 * ((i % 3) as f64 + 1.0) }),
    );
    if i % 6 != 5 {
        m.insert("ok".into(), json!(i % 2 == 0));
    }
    if i % 4 == 1 {
        m.insert("weird-key_1".into(), json!(1));
    }
    Metadata::from_trusted(m)
}

async fn listed_artifacts(
    store: &Store,
    filter: &ArtifactFilter,
    sort: &Sort<ArtifactSortField>,
    limit: u32,
) -> Vec<Artifact> {
    collect_pages(limit, |page| {
        let (s, f, o) = (store.clone(), filter.clone(), sort.clone());
        async move {
            s.list_artifacts(&f, &o, page)
                .await
                .unwrap_or_else(|e| panic!("list {f:?} {o:?}: {e}"))
        }
    })
    .await
}

pub async fn artifact_search_matches_the_reference(store: Store) {
    let w = World::new(&store).await;
    let best = AliasName::parse("best").expect("alias");
    let mut with_best = Vec::new();
    for i in 0..30 {
        let name = format!("m{i:02}-{}", if i % 5 == 0 { "ResNet" } else { "net" });
        let mut a = fixtures::artifact(w.project.id, &name, ArtifactType::ALL[i % 4], w.user.id);
        a.metadata = sample_metadata(i);
        if i % 6 == 0 {
            a.description = Description::parse("A RESNET for 100% of cases_1").expect("d");
        }
        let a = store.create_artifact(a).await.expect("create");
        for _ in 0..i % 3 {
            let v = store
                .create_next_version(new_version(a.id, w.user.id))
                .await
                .expect("version");
            if i % 4 == 1 {
                store
                    .finalize_version(v.id, w.user.id, now())
                    .await
                    .expect("finalize");
                store
                    .set_alias(a.id, &best, v.id, Some(w.user.id), now())
                    .await
                    .expect("alias");
                with_best.push(a.id);
            }
        }
    }
    let base = ArtifactFilter {
        project_id: Some(w.project.id),
        ..Default::default()
    };
    // The reference works on the stored rows (version counts, timestamps as stored).
    let all = listed_artifacts(&store, &base, &Sort::default(), 100).await;
    assert_eq!(all.len(), 31, "the world's artifact and 30 samples");

    let sorts = [
        "name",
        "-name",
        "created_at",
        "-created_at",
        "updated_at",
        "-version_count",
        "version_count",
        "metadata.accuracy",
        "-metadata.accuracy",
        "metadata.framework",
        "-metadata.train.lr",
        "metadata.absent",
    ];
    for f in FILTERS {
        let meta = MetaFilter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let filter = ArtifactFilter {
            metadata: meta.clone(),
            ..base.clone()
        };
        for s in sorts {
            let sort = Sort::<ArtifactSortField>::parse(s).expect("sort");
            let mut expected: Vec<Artifact> = all
                .iter()
                .filter(|a| meta.matches(&a.metadata))
                .cloned()
                .collect();
            sort_and_seek(&mut expected, |a| sort.key(a), sort.descending, None);
            let got = listed_artifacts(&store, &filter, &sort, 4).await;
            assert_eq!(
                got.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                expected.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                "filter {f:?} sorted by {s}"
            );
        }
    }

    let names = |v: &[Artifact]| {
        v.iter()
            .map(|a| a.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let text = listed_artifacts(
        &store,
        &ArtifactFilter {
            text: Some("resnet".into()),
            ..base.clone()
        },
        &Sort::<ArtifactSortField>::parse("name").expect("sort"),
        100,
    )
    .await;
    let expected: Vec<Artifact> = all
        .iter()
        .filter(|a| {
            a.name.as_str().to_ascii_lowercase().contains("resnet")
                || a.description
                    .as_str()
                    .to_ascii_lowercase()
                    .contains("resnet")
        })
        .cloned()
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        names(&text),
        names(&expected_sorted),
        "q matches name or description"
    );
    assert_eq!(
        text.len(),
        10,
        "six names and five descriptions, m00 in both"
    );

    for (needle, count) in [("100%", 5), ("cases_1", 5), ("_", 5), ("%", 5), ("s_1", 5)] {
        let got = listed_artifacts(
            &store,
            &ArtifactFilter {
                text: Some(needle.into()),
                ..base.clone()
            },
            &Sort::default(),
            100,
        )
        .await;
        assert_eq!(
            got.len(),
            count,
            "{needle:?} is literal, not a LIKE pattern"
        );
    }

    let typed = listed_artifacts(
        &store,
        &ArtifactFilter {
            artifact_types: vec![ArtifactType::Model, ArtifactType::Code],
            ..base.clone()
        },
        &Sort::default(),
        5,
    )
    .await;
    let expected_typed = all
        .iter()
        .filter(|a| matches!(a.artifact_type, ArtifactType::Model | ArtifactType::Code))
        .count();
    assert_eq!(typed.len(), expected_typed, "several types");

    let aliased = listed_artifacts(
        &store,
        &ArtifactFilter {
            alias: Some(best.clone()),
            metadata: MetaFilter::parse("metadata.weird-key_1 = 1").expect("f"),
            ..base.clone()
        },
        &Sort::default(),
        2,
    )
    .await;
    with_best.sort();
    with_best.dedup();
    assert_eq!(
        aliased.iter().map(|a| a.id).collect::<Vec<_>>(),
        with_best,
        "artifacts having a version with the alias"
    );
    assert!(!with_best.is_empty());

    // The tables the injection strings named are intact.
    assert_eq!(
        listed_artifacts(&store, &base, &Sort::default(), 100)
            .await
            .len(),
        31
    );
}

/// Artifacts whose numbers sit at odd places (keys no path can name, nested, deep, ties), some
/// of them edited after creation, for `sorted_by_metadata_numbers`.
pub async fn number_sort_fixture(store: &Store, w: &World) -> Vec<Artifact> {
    let deep = (0..9).fold(json!(1), |v, _| json!({ "d": v }));
    let metas = [
        json!({"accuracy": 0.5}),
        json!({"accuracy": 0.9, "bad key": 3, "a.b": 4}),
        json!({"accuracy": "high"}),
        json!({}),
        json!({"accuracy": 0.7, "train": {"accuracy": 1}}),
        json!({"train": {"accuracy": 2, "deep": deep}}),
        json!({"accuracy": 0.9}),
        json!({"accuracy": -3, "train": {"accuracy": 3}}),
    ];
    let mut out = Vec::new();
    for (i, m) in metas.into_iter().enumerate() {
        let mut a = fixtures::artifact(
            w.project.id,
            &format!("n{i}"),
            ArtifactType::Model,
            w.user.id,
        );
        a.metadata = Metadata::parse(m).expect("object");
        out.push(store.create_artifact(a).await.expect("create"));
    }
    // Edits move an artifact among the numbers, out of them and into them.
    for (i, m) in [
        (4, json!({"accuracy": 0.95})),
        (7, json!({"accuracy": "low", "train": {"accuracy": 0}})),
        (3, json!({"accuracy": 0.6})),
    ] {
        let patch = Patch {
            description: None,
            metadata: Some(Metadata::parse(m).expect("object")),
        };
        out[i] = store
            .update_artifact(out[i].id, patch, now())
            .await
            .expect("update");
    }
    out
}

/// A sort by a metadata number agrees with the reference after creates and edits, across page
/// boundaries between numbers, strings and the rest.
pub async fn sorted_by_metadata_numbers(store: Store) {
    let w = World::new(&store).await;
    let made = number_sort_fixture(&store, &w).await;
    check_number_sorts(&store, &w, &made).await;
}

/// Checks every number sort over `made` (the fixture) against the reference; also used after a
/// migration's backfill rebuilt the index of numbers.
pub async fn check_number_sorts(store: &Store, w: &World, made: &[Artifact]) {
    let filter = ArtifactFilter {
        project_id: Some(w.project.id),
        artifact_types: vec![ArtifactType::Model],
        ..Default::default()
    };
    let mut all = made.to_vec();
    all.push(w.artifact.clone());
    all.retain(|a| a.artifact_type == ArtifactType::Model);
    for s in [
        "-metadata.accuracy",
        "metadata.accuracy",
        "metadata.train.accuracy",
        "-metadata.train.accuracy",
        "metadata.a.b",
    ] {
        let sort = Sort::<ArtifactSortField>::parse(s).expect("sort");
        let mut expected = all.clone();
        sort_and_seek(&mut expected, |a| sort.key(a), sort.descending, None);
        for limit in [1, 2, 3, 100] {
            let got = listed_artifacts(store, &filter, &sort, limit).await;
            assert_eq!(
                got.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                expected.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                "sorted by {s}, pages of {limit}"
            );
        }
    }
    let sort = Sort::<ArtifactSortField>::parse("-metadata.accuracy").expect("sort");
    let got = listed_artifacts(store, &filter, &sort, 100).await;
    let names: Vec<&str> = got.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        &names[..5],
        ["n4", "n6", "n1", "n3", "n0"],
        "edited numbers, then the tie at 0.9 by id descending"
    );
}

pub async fn version_search_matches_the_reference(store: Store) {
    let w = World::new(&store).await;
    let run = store
        .create_run(Run {
            id: RunId::new(),
            project_id: w.project.id,
            name: RunName::parse("trainer").expect("run"),
            metadata: Metadata::default(),
            created_by: w.user.id,
            created_at: now(),
        })
        .await
        .expect("run");
    let best = AliasName::parse("best").expect("alias");
    let mut best_version = None;
    for i in 0..24 {
        let mut nv = new_version(w.artifact.id, w.user.id);
        nv.metadata = sample_metadata(i);
        if i % 3 == 0 {
            nv.run_id = Some(run.id);
        }
        let v = store.create_next_version(nv).await.expect("version");
        if i % 4 != 3 {
            let files = (0..i % 5)
                .map(|k| {
                    fixtures::new_file(
                        w.project.id,
                        &format!("f{k}"),
                        format!("{i}-{k}").repeat(k + 1).as_bytes(),
                    )
                })
                .collect::<Vec<_>>();
            if !files.is_empty() {
                store.add_files(v.id, files).await.expect("files");
            }
            store
                .finalize_version(v.id, w.user.id, now())
                .await
                .expect("finalize");
            if i == 10 {
                store
                    .set_alias(w.artifact.id, &best, v.id, Some(w.user.id), now())
                    .await
                    .expect("alias");
                best_version = Some(v.id);
            }
        }
    }
    let list = |filter: VersionFilter, sort: Sort<VersionSortField>, limit: u32| {
        let store = store.clone();
        let artifact = w.artifact.id;
        async move {
            collect_pages(limit, |page| {
                let (s, f, o) = (store.clone(), filter.clone(), sort.clone());
                async move {
                    s.list_versions(artifact, &f, &o, page)
                        .await
                        .unwrap_or_else(|e| panic!("list {f:?} {o:?}: {e}"))
                }
            })
            .await
        }
    };
    let all = list(VersionFilter::default(), Sort::default(), 100).await;
    assert_eq!(all.len(), 24);
    let sorts = [
        "index",
        "-index",
        "created_at",
        "-created_at",
        "total_size",
        "-total_size",
        "-metadata.accuracy",
        "metadata.train.lr",
    ];
    let extra = [
        VersionFilter::default(),
        VersionFilter {
            finalized: Some(true),
            ..Default::default()
        },
        VersionFilter {
            finalized: Some(false),
            run_id: Some(run.id),
            ..Default::default()
        },
    ];
    for f in FILTERS {
        let meta = MetaFilter::parse(f).expect("filter");
        for base in &extra {
            let filter = VersionFilter {
                metadata: meta.clone(),
                ..base.clone()
            };
            for s in sorts {
                let sort = Sort::<VersionSortField>::parse(s).expect("sort");
                let mut expected: Vec<ArtifactVersion> = all
                    .iter()
                    .filter(|v| meta.matches(&v.metadata))
                    .filter(|v| base.finalized.is_none_or(|x| v.is_finalized == x))
                    .filter(|v| base.run_id.is_none_or(|r| v.run_id == Some(r)))
                    .cloned()
                    .collect();
                sort_and_seek(&mut expected, |v| sort.key(v), sort.descending, None);
                let got = list(filter.clone(), sort.clone(), 5).await;
                assert_eq!(
                    got.iter().map(|v| v.index).collect::<Vec<_>>(),
                    expected.iter().map(|v| v.index).collect::<Vec<_>>(),
                    "filter {f:?} {base:?} sorted by {s}"
                );
            }
        }
    }
    let aliased = list(
        VersionFilter {
            alias: Some(best),
            ..Default::default()
        },
        Sort::default(),
        10,
    )
    .await;
    assert_eq!(
        aliased.iter().map(|v| v.id).collect::<Vec<_>>(),
        best_version.into_iter().collect::<Vec<_>>()
    );
    let latest = list(
        VersionFilter {
            alias: Some(AliasName::parse("latest").expect("latest")),
            ..Default::default()
        },
        Sort::default(),
        10,
    )
    .await;
    assert_eq!(latest.len(), 1, "latest is an alias like any other");
    assert_eq!(latest[0].index, VersionIndex(22));
}

/// The expected children of `folder`, computed from the full file list.
fn expected_children(files: &[(String, u64)], folder: &str) -> Vec<(String, Option<(u64, u64)>)> {
    let mut out: std::collections::BTreeMap<String, Option<(u64, u64)>> = Default::default();
    for (path, size) in files {
        let Some(rest) = path.strip_prefix(folder) else {
            continue;
        };
        match rest.find('/') {
            None => {
                out.insert(path.clone(), None);
            }
            Some(i) => {
                let e = out
                    .entry(format!("{folder}{}", &rest[..=i]))
                    .or_insert(Some((0, 0)));
                if let Some((n, s)) = e {
                    *n += 1;
                    *s += size;
                }
            }
        }
    }
    out.into_iter().collect()
}

async fn folder_listing(
    store: &Store,
    version: VersionId,
    folder: &str,
    limit: u32,
) -> Vec<(String, Option<(u64, u64)>)> {
    collect_pages(limit, |page| {
        let s = store.clone();
        let folder = folder.to_owned();
        async move {
            s.list_folder(version, &folder, page)
                .await
                .expect("list folder")
        }
    })
    .await
    .into_iter()
    .map(|e| match e {
        FolderEntry::File(f) => (f.path.as_str().to_owned(), None),
        FolderEntry::Folder(d) => (d.path, Some((d.file_count, d.total_size))),
    })
    .collect()
}

pub async fn folders_list_children_with_totals(store: Store) {
    let w = World::new(&store).await;
    let v = w.draft(&store).await;
    let mut paths: Vec<String> = vec![
        "README.md".into(),
        "a".into(),
        "a.txt".into(),
        "a-b/x".into(),
        "a/b/c/deep.bin".into(),
        "z/last".into(),
    ];
    for i in 0..40 {
        paths.push(format!("a/{i:02}.txt"));
        paths.push(format!("a/b/{i:02}.bin"));
        paths.push(format!("data/shard-{}/part-{i:02}", i % 7));
    }
    let rows: Vec<NewFile> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| fixtures::new_file(w.project.id, p, "x".repeat(i % 13 + 1).as_bytes()))
        .collect();
    let mut files: Vec<(String, u64)> = rows
        .iter()
        .map(|r| (r.path.as_str().to_owned(), r.size))
        .collect();
    // Two batches: counters add up across calls.
    let (first, second) = rows.split_at(50);
    store
        .add_files(v.id, first.to_vec())
        .await
        .expect("first batch");
    store
        .add_files(v.id, second.to_vec())
        .await
        .expect("second batch");

    for folder in [
        "",
        "a/",
        "a/b/",
        "a/b/c/",
        "data/",
        "data/shard-3/",
        "nothing/",
    ] {
        for limit in [1, 3, 1000] {
            assert_eq!(
                folder_listing(&store, v.id, folder, limit).await,
                expected_children(&files, folder),
                "folder {folder:?}, pages of {limit}"
            );
        }
    }
    let root = folder_listing(&store, v.id, "", 1000).await;
    let names: Vec<&str> = root.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        ["README.md", "a", "a-b/", "a.txt", "a/", "data/", "z/"],
        "files and folders merged in byte order"
    );

    // Removing files shrinks every folder above; the last file of a folder takes it away.
    let deep = store
        .get_file_by_path(v.id, &FilePath::parse("a/b/c/deep.bin").expect("p"))
        .await
        .expect("deep");
    store.delete_file(deep.id).await.expect("delete");
    files.retain(|(p, _)| p != "a/b/c/deep.bin");
    for folder in ["", "a/", "a/b/"] {
        assert_eq!(
            folder_listing(&store, v.id, folder, 1000).await,
            expected_children(&files, folder),
            "after a delete, folder {folder:?}"
        );
    }
    assert!(folder_listing(&store, v.id, "a/b/c/", 10).await.is_empty());

    // A finalized version lists the same; an unknown one is NotFound.
    store
        .finalize_version(v.id, w.user.id, now())
        .await
        .expect("finalize");
    assert_eq!(
        folder_listing(&store, v.id, "data/", 2).await,
        expected_children(&files, "data/")
    );
    match store
        .list_folder(VersionId::new(), "", PageRequest::first(10))
        .await
    {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
