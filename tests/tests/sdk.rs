//! The Rust SDK against the real server on both backends: log a tree, use it back, change one
//! file, log again.

use md5::Digest as _;
use wanllmdb_e2e::*;

/// The SDK against the real server: log a tree, use it back, change one file, log again.
async fn sdk_logs_and_uses_artifacts(backend: Backend) {
    use wanllmdb_client::{Artifact, Client, ClientError, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let server = start(backend);
    let client = Client::new(&server.base, KEY);
    let project = format!("sdk-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    client.create_project(&project).await.expect("project");
    let src = server._dir.join("src");
    for i in 0..500 {
        let path = src.join(format!("shard-{}/sub-{}/file-{i:03}.txt", i % 7, i % 3));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, format!("content of file {i}\n").repeat(i % 5 + 1)).expect("write");
    }
    let artifact = Artifact::new("corpus", ArtifactType::Dataset)
        .description("500 files")
        .add_dir(&src)
        .expect("add dir");
    let v0 = client
        .log_artifact(&project, &artifact, LogOptions::default().alias("golden"))
        .await
        .expect("log");
    assert_eq!((v0.version.as_str(), v0.file_count), ("v0", 500));
    assert!(v0.aliases.contains(&"golden".to_owned()));

    let again = client
        .log_artifact(&project, &artifact, LogOptions::default())
        .await
        .expect("log unchanged");
    assert_eq!(again.id, v0.id, "unchanged files make no new version");

    // Files repeating each other's bytes in one call send them once.
    let twins = server._dir.join("twins");
    std::fs::create_dir_all(twins.join("b")).expect("dirs");
    for (path, text) in [("a.txt", "same"), ("b/a.txt", "same"), ("c.txt", "other")] {
        std::fs::write(twins.join(path), text).expect("write");
    }
    let train = client.create_run(&project, "train-1").await.expect("run");
    let logged = client
        .log_artifact_detailed(
            &project,
            &Artifact::new("twins", ArtifactType::Dataset)
                .add_dir(&twins)
                .expect("add dir"),
            LogOptions::default().run(train),
        )
        .await
        .expect("log twins");
    assert_eq!(
        (
            logged.uploaded_files,
            logged.uploaded_bytes,
            logged.reused_files
        ),
        (2, 9, 1)
    );
    assert_eq!(logged.version.file_count, 3);
    let twins_out = server._dir.join("twins-out");
    client
        .use_artifact(&format!("{project}/twins:latest"), None)
        .await
        .expect("use twins")
        .download(&twins_out)
        .await
        .expect("download twins");
    assert_eq!(
        std::fs::read_to_string(twins_out.join("b/a.txt")).expect("twin"),
        "same"
    );
    // Listings and lineage through the SDK.
    let eval = client.create_run(&project, "eval-1").await.expect("run");
    client
        .use_artifact(&format!("{project}/twins:latest"), Some(eval))
        .await
        .expect("use as an input");
    let lineage = client
        .lineage(&format!("{project}/twins:latest"), 2)
        .await
        .expect("lineage");
    use wanllmdb_api::EdgeKindName;
    let edges: Vec<(uuid::Uuid, EdgeKindName)> =
        lineage.edges.iter().map(|e| (e.run, e.kind)).collect();
    assert!(
        edges.contains(&(train, EdgeKindName::Produced)),
        "{lineage:?}"
    );
    assert!(edges.contains(&(eval, EdgeKindName::Used)), "{lineage:?}");
    assert!(
        lineage.versions.iter().all(|v| v.version.starts_with('v')),
        "lineage versions carry their labels: {lineage:?}"
    );
    let runs = client.list_runs(&project).await.expect("runs");
    let mut names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["eval-1", "train-1"]);
    let aliases = client
        .list_aliases(&format!("{project}/twins"))
        .await
        .expect("aliases");
    assert!(aliases.iter().any(|a| a.name == "latest"), "{aliases:?}");
    let files = client
        .list_files(&format!("{project}/twins:v0"), Some("b/"))
        .await
        .expect("files");
    assert_eq!(
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["b/a.txt"]
    );

    let used = client
        .use_artifact(&format!("{project}/corpus:golden"), None)
        .await
        .expect("use");
    let out = server._dir.join("out");
    used.download(&out).await.expect("download");
    for i in [0usize, 137, 499] {
        let rel = format!("shard-{}/sub-{}/file-{i:03}.txt", i % 7, i % 3);
        assert_eq!(
            std::fs::read(out.join(&rel)).expect("restored"),
            std::fs::read(src.join(&rel)).expect("source"),
            "{rel}"
        );
    }

    std::fs::write(src.join("shard-0/sub-0/file-000.txt"), "changed").expect("change");
    let artifact = Artifact::new("corpus", ArtifactType::Dataset)
        .add_dir(&src)
        .expect("add dir");
    let logged = client
        .log_artifact_detailed(&project, &artifact, LogOptions::default())
        .await
        .expect("log changed");
    assert!(logged.created);
    assert_eq!(
        (
            logged.uploaded_files,
            logged.uploaded_bytes,
            logged.reused_files
        ),
        (1, 7, 499),
        "only the changed file's bytes cross the wire"
    );
    let v1 = logged.version;
    assert_eq!(v1.version, "v1");

    // With a cache, a second download of the same version moves no bytes.
    let cached = client
        .clone()
        .with_cache(server._dir.join("cache"), 1 << 30);
    let used = cached
        .use_artifact(&format!("{project}/corpus:v1"), None)
        .await
        .expect("use");
    let first = used
        .download_with(&server._dir.join("c1"), None)
        .await
        .expect("first download");
    assert_eq!(
        (first.files, first.fetched_files, first.cached_files),
        (500, 500, 0)
    );
    let stats_before = Api::new(&server)
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/downloads", v1.id),
            None,
        )
        .await;
    assert!(
        stats_before["count"].as_u64() > Some(0),
        "the first download was recorded: {stats_before}"
    );
    let second = used
        .download_with(&server._dir.join("c2"), None)
        .await
        .expect("second download");
    assert_eq!(
        (
            second.fetched_files,
            second.fetched_bytes,
            second.cached_files
        ),
        (0, 0, 500)
    );
    let stats_after = Api::new(&server)
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/downloads", v1.id),
            None,
        )
        .await;
    assert_eq!(
        stats_before["count"], stats_after["count"],
        "the registry served nothing the second time"
    );
    assert_eq!(
        std::fs::read(server._dir.join("c2/shard-0/sub-0/file-000.txt")).expect("from cache"),
        b"changed"
    );
    // Cached copies that no longer hold their bytes are fetched anew, never returned: one
    // edited with a new modification time (the index notices), one edited with its old time
    // put back (the digest check while copying notices).
    let original = std::fs::read(server._dir.join("c2/shard-1/sub-1/file-001.txt")).expect("read");
    let mut touched = 0;
    for (i, rel) in ["shard-1/sub-1/file-001.txt", "shard-1/sub-2/file-008.txt"]
        .into_iter()
        .enumerate()
    {
        let bytes = std::fs::read(server._dir.join("c2").join(rel)).expect("downloaded");
        let sha = wanllmdb_domain::types::Sha256::of(&bytes);
        let entry = server
            ._dir
            .join("cache/sha256")
            .join(&sha.as_str()[..2])
            .join(sha.as_str());
        let mtime = std::fs::metadata(&entry)
            .and_then(|m| m.modified())
            .expect("cached entry");
        let mut evil = bytes.clone();
        evil.iter_mut().for_each(|b| *b = b'!');
        writable(&entry);
        std::fs::write(&entry, &evil).expect("edit the cached copy");
        if i == 1 {
            std::fs::File::options()
                .write(true)
                .open(&entry)
                .and_then(|f| f.set_modified(mtime))
                .expect("restore its time");
        }
        touched += 1;
    }
    let third = used
        .download_with(&server._dir.join("c4"), None)
        .await
        .expect("third download");
    assert_eq!(
        (third.fetched_files, third.cached_files),
        (touched, 500 - touched),
        "the two spoiled copies came from the registry"
    );
    assert_eq!(
        std::fs::read(server._dir.join("c4/shard-1/sub-1/file-001.txt")).expect("read"),
        original
    );
    let part = used
        .download_with(&server._dir.join("c3"), Some("shard-3/"))
        .await
        .expect("prefix download");
    assert_eq!(part.files, (0..500).filter(|i| i % 7 == 3).count() as u64);
    assert!(!server._dir.join("c3/shard-2").exists());
    let api = Api::new(&server);
    let diff = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{}/diff/{}", v0.id, v1.id),
            None,
        )
        .await;
    assert_eq!(diff["modified"].as_array().map(Vec::len), Some(1));
    assert_eq!(diff["unchanged"], json!(499));

    // Corrupt the stored bytes of one file: the download names it and leaves nothing behind.
    {
        let sha = hex(&sha2::Sha256::digest(b"changed"));
        match backend {
            Backend::SqliteFs => {
                let stored = walk(&server._dir.join("blobs/objects"))
                    .into_iter()
                    .find(|p| p.ends_with(&sha))
                    .expect("the blob on disk");
                std::fs::write(&stored, "tampered").expect("corrupt");
            }
            Backend::PostgresS3 => {
                use wanllmdb_domain::ports::{BlobStore, ExpectedContent};
                let store = wanllmdb_blob_s3::S3BlobStore::connect(wanllmdb_blob_s3::S3Config {
                    endpoint: env("TEST_S3_ENDPOINT"),
                    region: env("TEST_S3_REGION"),
                    bucket: env("TEST_S3_BUCKET"),
                    access_key: env("TEST_S3_ACCESS_KEY"),
                    secret_key: env("TEST_S3_SECRET_KEY"),
                    path_style: true,
                    part_size: 5 << 20,
                })
                .await
                .expect("reach Garage");
                let key = wanllmdb_domain::keys::ObjectKey::blob(
                    wanllmdb_domain::ids::ProjectId::from_uuid(v1.project_id),
                    &wanllmdb_domain::types::Sha256::parse(&sha).expect("sha"),
                );
                let body: wanllmdb_domain::ports::ByteStream =
                    Box::pin(futures::stream::once(async {
                        Ok(bytes::Bytes::from_static(b"tampered"))
                    }));
                store
                    .put(&key, body, &ExpectedContent::default())
                    .await
                    .expect("overwrite the object behind the registry's back");
            }
        }
        let used = client
            .use_artifact(&format!("{project}/corpus:latest"), None)
            .await
            .expect("use");
        let bad = server._dir.join("bad");
        match used.download(&bad).await {
            Err(ClientError::Integrity { path, .. }) => {
                assert_eq!(path, "shard-0/sub-0/file-000.txt")
            }
            other => panic!("expected an integrity error, got {other:?}"),
        }
        assert!(
            !bad.join("shard-0/sub-0/file-000.txt").exists(),
            "no corrupt file is left in the target"
        );
    }
}

on_both_backends!(sdk_logs_and_uses_artifacts,);

/// Cached copies and files linked to them are read-only; a user editing one by hand makes it
/// writable first.
fn writable(path: &std::path::Path) {
    let mut p = std::fs::metadata(path).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    p.set_readonly(false);
    std::fs::set_permissions(path, p).expect("chmod");
}

/// Sets a file's modification time `ago` in the past (a dataset written a while before it
/// is logged).
fn age(path: &std::path::Path, ago: std::time::Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - ago))
        .expect("set the modification time");
}

/// The hash cache: re-logging an unchanged folder reads none of its files; a file whose
/// contents, modification time or inode moved is read again, and only that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relogging_an_unchanged_folder_reads_no_file() {
    use std::time::Duration;
    use wanllmdb_client::{Artifact, Client, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let server = start(Backend::SqliteFs);
    let client = Client::new(&server.base, KEY).with_cache(server._dir.join("cache"), 1 << 30);
    let project = "hashes";
    client.create_project(project).await.expect("project");
    let src = server._dir.join("src");
    let mut total = 0u64;
    for i in 0..200u64 {
        let path = src.join(format!("d{}/f{i}.bin", i % 4));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        let bytes = format!("file {i} ").repeat(i as usize + 1);
        total += bytes.len() as u64;
        std::fs::write(&path, bytes).expect("write");
        age(&path, Duration::from_secs(3600));
    }
    let log = |options: LogOptions| {
        let (client, src) = (client.clone(), src.clone());
        async move {
            let artifact = Artifact::new("data", ArtifactType::Dataset)
                .add_dir(&src)
                .expect("add dir");
            client
                .log_artifact_detailed(project, &artifact, options)
                .await
                .expect("log")
        }
    };
    let first = log(LogOptions::default()).await;
    assert_eq!((first.hashed_files, first.hashed_bytes), (200, total));
    let again = log(LogOptions::default()).await;
    assert_eq!(
        (again.created, again.hashed_files, again.hashed_bytes),
        (false, 0, 0),
        "nothing read, the same version"
    );
    assert_eq!(again.version.id, first.version.id);

    // New contents (same size), an hour-old time of its own: read again, and a new version.
    let edited = src.join("d1/f5.bin");
    let mut bytes = std::fs::read(&edited).expect("read");
    bytes[0] = b'F';
    std::fs::write(&edited, &bytes).expect("edit");
    age(&edited, Duration::from_secs(3000));
    let changed = log(LogOptions::default()).await;
    assert_eq!(
        (
            changed.created,
            changed.hashed_files,
            changed.uploaded_files
        ),
        (true, 1, 1)
    );
    assert_eq!(changed.hashed_bytes, bytes.len() as u64);
    // Touched: read again, but the same bytes make the same version.
    age(&src.join("d2/f6.bin"), Duration::from_secs(2000));
    let touched = log(LogOptions::default()).await;
    assert_eq!((touched.created, touched.hashed_files), (false, 1));
    // Replaced by a copy with the same size and time: another inode, read again.
    let replaced = src.join("d3/f7.bin");
    let meta = std::fs::metadata(&replaced).expect("stat");
    let copy = src.join("d3/f7.tmp");
    std::fs::copy(&replaced, &copy).expect("copy");
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .and_then(|f| f.set_modified(meta.modified().expect("mtime")))
        .expect("same time");
    std::fs::rename(&copy, &replaced).expect("replace");
    let relinked = log(LogOptions::default()).await;
    assert_eq!((relinked.created, relinked.hashed_files), (false, 1));
    // Asked to, or told to leave the cache alone: every file is read.
    let forced = log(LogOptions::default().rehash()).await;
    assert_eq!((forced.hashed_files, forced.hashed_bytes), (200, total));
    let skipped = log(LogOptions::default().skip_cache()).await;
    assert_eq!(skipped.hashed_files, 200);
    let after = log(LogOptions::default()).await;
    assert_eq!(after.hashed_files, 0);
    // A file written just now is not remembered (a later write could keep its time): read
    // each time until it has settled.
    let fresh = src.join("d0/new.bin");
    std::fs::write(&fresh, b"fresh").expect("write");
    assert_eq!(log(LogOptions::default()).await.hashed_files, 1);
    assert_eq!(log(LogOptions::default()).await.hashed_files, 1);
}

/// A user editing or truncating downloaded files in place never changes what a later
/// download returns, though the download and the cache share bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloaded_files_edited_in_place_never_change_a_later_download() {
    use wanllmdb_client::{Artifact, Client, LogOptions};
    use wanllmdb_domain::types::ArtifactType;
    let server = start(Backend::SqliteFs);
    let client = Client::new(&server.base, KEY).with_cache(server._dir.join("cache"), 1 << 30);
    client.create_project("edits").await.expect("project");
    let src = server._dir.join("src");
    std::fs::create_dir_all(&src).expect("dir");
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            (
                format!("f{i}.txt"),
                format!(
                    "original {i}
"
                )
                .repeat(50)
                .into_bytes(),
            )
        })
        .collect();
    for (name, bytes) in &files {
        std::fs::write(src.join(name), bytes).expect("write");
    }
    let artifact = Artifact::new("e", ArtifactType::File)
        .add_dir(&src)
        .expect("add dir");
    client
        .log_artifact("edits", &artifact, LogOptions::default())
        .await
        .expect("log");
    let used = client
        .use_artifact("edits/e:latest", None)
        .await
        .expect("use");
    let first = server._dir.join("first");
    let stats = used.download_with(&first, None).await.expect("download");
    assert_eq!(stats.fetched_files, 3);
    // Edited in place with its old modification time put back, and truncated.
    let edited = first.join("f0.txt");
    let mtime = std::fs::metadata(&edited)
        .and_then(|m| m.modified())
        .expect("mtime");
    writable(&edited);
    let mut evil = files[0].1.clone();
    evil.iter_mut().for_each(|b| *b = b'#');
    std::fs::write(&edited, &evil).expect("edit in place");
    std::fs::File::options()
        .write(true)
        .open(&edited)
        .and_then(|f| f.set_modified(mtime))
        .expect("restore the time");
    let truncated = first.join("f1.txt");
    writable(&truncated);
    std::fs::File::options()
        .write(true)
        .open(&truncated)
        .and_then(|f| f.set_len(3))
        .expect("truncate in place");
    let second = server._dir.join("second");
    let again = used.download_with(&second, None).await.expect("download");
    for (name, bytes) in &files {
        assert_eq!(
            &std::fs::read(second.join(name)).expect("read"),
            bytes,
            "{name} as logged"
        );
    }
    assert_eq!(
        (again.fetched_files, again.cached_files),
        (2, 1),
        "the two spoiled files came from the registry, the third from the cache"
    );
    // Without the cache, nothing is taken from it or put in it.
    let before = wanllmdb_client::Cache::new(server._dir.join("cache"), 1 << 30).info();
    let third = server._dir.join("third");
    let plain = used
        .clone()
        .skip_cache()
        .download_with(&third, None)
        .await
        .expect("download");
    assert_eq!((plain.fetched_files, plain.cached_files), (3, 0));
    let after = wanllmdb_client::Cache::new(server._dir.join("cache"), 1 << 30).info();
    assert_eq!(before, after);
    for (name, bytes) in &files {
        assert_eq!(&std::fs::read(third.join(name)).expect("read"), bytes);
    }
}
