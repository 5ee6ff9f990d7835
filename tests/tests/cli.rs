//! The `wanllmdb` command line against the real server on both backends: login, project, put a
//! folder, list, get it back.

use wanllmdb_e2e::*;

/// The command line against the real server: login, project, put a folder, list, get it back.
async fn cli_puts_and_gets(backend: Backend) {
    use wanllmdb_cli::{exit, run};
    let server = start(backend);
    // Only this test reads the CLI's config dir, so setting it here races with nothing.
    let config = server._dir.join("cli-config");
    std::env::set_var("WANLLMDB_CONFIG_DIR", &config);
    std::env::set_var("WANLLMDB_CACHE_DIR", server._dir.join("cli-cache"));
    let cli = |args: &[&str]| {
        let mut all = vec![
            "wanllmdb".to_owned(),
            "--url".to_owned(),
            server.base.clone(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        async move { run(all).await }
    };
    assert_eq!(
        run(["wanllmdb", "login", "--url", &server.base, "--key", KEY]).await,
        exit::OK
    );
    assert!(
        config.join("credentials.json").exists(),
        "login saves the credentials"
    );
    let project = format!("cli-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    assert_eq!(cli(&["project", "create", &project]).await, exit::OK);
    let src = server._dir.join("cli-src");
    std::fs::create_dir_all(src.join("nested")).expect("dirs");
    std::fs::write(src.join("a.txt"), "alpha").expect("write");
    std::fs::write(src.join("nested/b.bin"), vec![9u8; 4096]).expect("write");
    let src_s = src.to_string_lossy().into_owned();
    assert_eq!(
        cli(&[
            "artifact",
            "put",
            &src_s,
            "--project",
            &project,
            "--name",
            "bundle",
            "--type",
            "dataset",
            "--alias",
            "best",
            "--metadata",
            "{\"rows\": 2}"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "ls", "--project", &project]).await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "versions", "bundle", "--project", &project]).await,
        exit::OK
    );
    let reference = format!("{project}/bundle:best");
    assert_eq!(
        cli(&["--json", "artifact", "info", &reference]).await,
        exit::OK
    );
    let out = server._dir.join("cli-out");
    let out_s = out.to_string_lossy().into_owned();
    assert_eq!(
        cli(&["artifact", "get", &reference, "-o", &out_s]).await,
        exit::OK
    );
    assert_eq!(
        std::fs::read(out.join("nested/b.bin")).expect("restored"),
        vec![9u8; 4096]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("a.txt")).expect("restored"),
        "alpha"
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/nope:v0")]).await,
        exit::FAILED,
        "an unknown reference fails"
    );
    std::fs::write(src.join("a.txt"), "alpha, again").expect("write");
    // `--json` output, read back: what the put sent, the files, runs and lineage.
    let json_of = |args: &[&str]| {
        let mut all = vec![
            "wanllmdb".to_owned(),
            "--json".to_owned(),
            "--url".to_owned(),
            server.base.clone(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        async move {
            let (code, out, err) = wanllmdb_cli::run_captured(all).await;
            assert_eq!(code, exit::OK, "{err}");
            serde_json::from_str::<Value>(&out).expect("JSON on stdout")
        }
    };
    let run_id = json_of(&["run", "create", "--project", &project, "train"]).await["id"]
        .as_str()
        .expect("run id")
        .to_owned();
    let put = json_of(&[
        "artifact",
        "put",
        &src_s,
        "--project",
        &project,
        "--name",
        "bundle",
        "--type",
        "dataset",
        "--run",
        &run_id,
    ])
    .await;
    assert_eq!(
        (
            put["version"].clone(),
            put["created"].clone(),
            put["uploaded_files"].clone(),
            put["uploaded_bytes"].clone(),
            put["reused_files"].clone()
        ),
        (json!("v1"), json!(true), json!(1), json!(12), json!(1)),
        "only the changed file was sent: {put}"
    );
    let files = json_of(&[
        "artifact",
        "files",
        &format!("{project}/bundle:v1"),
        "--prefix",
        "nested/",
    ])
    .await;
    assert_eq!(files[0]["path"], json!("nested/b.bin"));
    assert_eq!(files.as_array().map(Vec::len), Some(1));
    let runs = json_of(&["run", "ls", "--project", &project]).await;
    assert_eq!(runs[0]["name"], json!("train"));
    let lineage = json_of(&["artifact", "lineage", &format!("{project}/bundle:v1")]).await;
    assert_eq!(lineage["edges"][0]["run"], json!(run_id));
    assert_eq!(lineage["edges"][0]["kind"], json!("produced"));
    assert_eq!(
        cli(&[
            "artifact",
            "diff",
            &format!("{project}/bundle:v0"),
            &format!("{project}/bundle:v1")
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "alias",
            "set",
            &format!("{project}/bundle:v1"),
            "prod"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "get",
            &format!("{project}/bundle:prod"),
            "-o",
            &out_s,
            "--prefix",
            "nested/"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&[
            "artifact",
            "alias",
            "rm",
            &format!("{project}/bundle"),
            "prod"
        ])
        .await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/bundle:prod")]).await,
        exit::FAILED,
        "the alias is gone"
    );
    assert_eq!(cli(&["cache", "info"]).await, exit::OK);
    assert_eq!(cli(&["cache", "clean"]).await, exit::OK);
    assert_eq!(
        cli(&["artifact", "rm", &format!("{project}/bundle")]).await,
        exit::OK
    );
    assert_eq!(
        cli(&["artifact", "get", &format!("{project}/bundle:v0")]).await,
        exit::FAILED,
        "deleted"
    );
    assert_eq!(
        cli(&[
            "artifact",
            "put",
            &src_s,
            "--project",
            &project,
            "--name",
            "x",
            "--type",
            "weights"
        ])
        .await,
        exit::USAGE
    );
    assert_eq!(
        run(["wanllmdb", "artifact", "frobnicate"]).await,
        exit::USAGE
    );
}

/// One test for both backends: the CLI reads its configuration from process-wide variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_on_both_backends() {
    cli_puts_and_gets(Backend::SqliteFs).await;
    cli_puts_and_gets(Backend::PostgresS3).await;
}

/// Two `wanllmdb get` processes at once into one cache that already holds 20,000 other
/// entries and has little room left: both write the right bytes, and the cache ends within its
/// bound with its index and its files agreeing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_download_into_one_full_cache() {
    use wanllmdb_client::{Artifact, Cache, Client, LogOptions};
    use wanllmdb_domain::types::{ArtifactType, Sha256};
    let server = start(Backend::SqliteFs);
    let client = Client::new(&server.base, KEY).with_hash_cache(None);
    client.create_project("shared").await.expect("project");
    let src = server._dir.join("src");
    let mut files = Vec::new();
    for i in 0..300u32 {
        let rel = format!("d{}/f{i}.bin", i % 5);
        let bytes = format!("file {i} of the shared download ")
            .repeat(40)
            .into_bytes();
        std::fs::create_dir_all(src.join(&rel).parent().expect("parent")).expect("dirs");
        std::fs::write(src.join(&rel), &bytes).expect("write");
        files.push((rel, bytes));
    }
    let artifact = Artifact::new("d", ArtifactType::Dataset)
        .add_dir(&src)
        .expect("add dir");
    client
        .log_artifact("shared", &artifact, LogOptions::default())
        .await
        .expect("log");
    let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    // Room for the others and half of the download.
    let bound = 20_000 * 64 + total / 2;
    let cache_dir = server._dir.join("cache");
    {
        let cache = Cache::new(cache_dir.clone(), bound);
        let scratch = server._dir.join("fill");
        std::fs::create_dir_all(&scratch).expect("dir");
        for i in 0..20_000u32 {
            let mut bytes = format!("other {i}").into_bytes();
            bytes.resize(64, b'.');
            let f = scratch.join("x");
            std::fs::write(&f, &bytes).expect("write");
            cache.put(&Sha256::of(&bytes), &f).expect("fill");
            std::fs::remove_file(&f).expect("remove");
        }
        assert_eq!(cache.info().files, 20_000);
    }
    let children: Vec<_> = (0..2)
        .map(|n| {
            let out = server._dir.join(format!("out{n}"));
            let child = Command::new(cli_bin())
                .args(["--json", "artifact", "get", "shared/d:latest", "-o"])
                .arg(&out)
                .env("WANLLMDB_URL", &server.base)
                .env("WANLLMDB_API_KEY", KEY)
                .env("WANLLMDB_CONFIG_DIR", server._dir.join("no-config"))
                .env("WANLLMDB_CACHE_DIR", &cache_dir)
                .env("WANLLMDB_CACHE_MAX_BYTES", bound.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start wanllmdb");
            (out, child)
        })
        .collect();
    for (out, child) in children {
        let done = child.wait_with_output().expect("wait");
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        for (rel, bytes) in &files {
            assert_eq!(&std::fs::read(out.join(rel)).expect("read"), bytes, "{rel}");
        }
    }
    let cache = Cache::new(cache_dir.clone(), bound);
    let info = cache.info();
    assert!(info.bytes <= bound, "{info:?} within {bound}");
    let on_disk: Vec<std::path::PathBuf> = walk(&cache_dir.join("sha256"));
    assert_eq!(on_disk.len() as u64, info.files, "index and files agree");
    let bytes: u64 = on_disk
        .iter()
        .map(|p| std::fs::metadata(p).expect("stat").len())
        .sum();
    assert_eq!(bytes, info.bytes);
}
