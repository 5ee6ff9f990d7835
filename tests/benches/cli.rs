//! The `wanllmdb` command line as users run it (default settings, its own cache folder), on the
//! embedded default and on PostgreSQL + Garage (`make bench`). Each figure is printed beside a
//! floor measured in the same run on the same filesystem:
//! - 2,000 files of 4 KiB: put, unchanged re-put (hash cache), get with an empty cache and with
//!   one holding 100,000 other files; the floor is `cp -r` of the folder;
//! - one 512 MiB and one 5 GiB file (`WANLLMDB_BENCH_HUGE_GIB`, 0 to skip): put against
//!   `dd bs=4M conv=fsync` into the blob directory's filesystem, unchanged re-put, get (empty
//!   cache) against `cp` into the target's filesystem, with the disk the target and the cache
//!   use together, and the CLI's peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wanllmdb_e2e::measure::{
    absolute_line, cp_floor, dd_floor, disk_use, measured, ratio_line, write_big, write_small, Ran,
};
use wanllmdb_e2e::{cli_bin, env, start, Backend, KEY};

/// The CLI with a server's address and key in its environment, and nothing else of the
/// machine's (no saved login, its own cache folder).
struct Cli {
    vars: Vec<(String, String)>,
}

impl Cli {
    fn new(base: &str, home: &Path) -> Self {
        let vars = [
            ("WANLLMDB_URL", base.to_owned()),
            ("WANLLMDB_API_KEY", KEY.to_owned()),
            ("HOME", home.display().to_string()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
        ];
        Self {
            vars: vars.map(|(k, v)| (k.to_owned(), v)).to_vec(),
        }
    }

    fn run(&self, cache: &Path, args: &[&str]) -> Ran {
        measured(
            Command::new(cli_bin())
                .arg("--json")
                .args(args)
                .envs(self.vars.iter().cloned())
                .env("WANLLMDB_CACHE_DIR", cache),
        )
    }
}

/// A cache holding `n` small files no download asks for.
fn fill_cache(dir: &Path, n: u32) {
    let cache = wanllmdb_client::Cache::new(dir.to_owned(), 20 << 30);
    let src = dir.with_extension("src");
    std::fs::create_dir_all(&src).expect("dir");
    for i in 0..n {
        let bytes = format!("unrelated cached file {i}").into_bytes();
        let f = src.join(i.to_string());
        std::fs::write(&f, &bytes).expect("write");
        cache
            .put(&wanllmdb_domain::types::Sha256::of(&bytes), &f)
            .expect("put");
        std::fs::remove_file(&f).expect("remove");
    }
    assert_eq!(cache.info().files, u64::from(n));
}

fn big_file(label: &str, cli: &Cli, work: &Path, blobs: &Path, file: &Path, project: &str) {
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("name")
        .to_owned();
    let size = std::fs::metadata(file).expect("stat").len();
    let cache = work.join(format!("cache-{name}"));
    let put_floor = dd_floor(file, blobs);
    let source = file.display().to_string();
    let put_args = [
        "artifact",
        "put",
        &source,
        "--project",
        project,
        "--name",
        &name,
        "--type",
        "model",
    ];
    let put = cli.run(&cache, &put_args);
    assert_eq!(put.out["uploaded_bytes"].as_u64(), Some(size), "{label}");
    ratio_line(&format!("put {name} (new)"), put_floor, put.secs, 1.3);
    let reput = cli.run(&cache, &put_args);
    assert_eq!(reput.out["hashed_bytes"].as_u64(), Some(0), "{label}");
    absolute_line(
        &format!("re-put {name} (unchanged)"),
        put_floor,
        reput.secs,
        0.1,
    );
    let target = work.join(format!("get-{name}"));
    std::fs::create_dir_all(&target).expect("dir");
    let get_floor = cp_floor(file, &target);
    let get = cli.run(
        &cache,
        &[
            "artifact",
            "get",
            &format!("{project}/{name}:latest"),
            "-o",
            &target.display().to_string(),
        ],
    );
    ratio_line(
        &format!("get {name} (empty cache)"),
        get_floor,
        get.secs,
        1.3,
    );
    let used = disk_use(&[&target, &cache]);
    println!(
        "  {:<44} {:.2} GiB on disk for a {:.2} GiB file (target and cache together)",
        format!("disk used by get {name}"),
        used as f64 / f64::from(1 << 30),
        size as f64 / f64::from(1 << 30)
    );
    if size <= 1 << 30 {
        let verdict = |m: f64| if m <= 128.0 { "meets" } else { "misses" };
        println!(
            "  {:<44} put {:.0} MiB ({}), get {:.0} MiB ({}); target < 128 MiB",
            format!("peak memory of the CLI, {name}"),
            put.peak_mib,
            verdict(put.peak_mib),
            get.peak_mib,
            verdict(get.peak_mib)
        );
    }
    let _ = std::fs::remove_dir_all(&target);
    let _ = std::fs::remove_dir_all(&cache);
}

fn run(label: &str, backend: Backend, full_cache: &Path, huge_gib: u64) {
    let work = std::env::temp_dir()
        .join("wanllmdb-bench-cli")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&work).expect("dir");
    let server = start(backend);
    let blobs = match backend {
        Backend::SqliteFs => server._dir.join("blobs"),
        Backend::PostgresS3 => PathBuf::from(env("TEST_S3_DATA_DIR")),
    };
    std::fs::create_dir_all(&blobs).expect("blob dir");
    let cli = Cli::new(&server.base, &work);
    let project = "bench";
    cli.run(&work.join("cache-setup"), &["project", "create", project]);
    println!("{label}");

    let small = work.join("small");
    // Distinct per backend, so the shared full cache never holds them.
    write_small(&small, 2000, 4096, backend as u8);
    let small_floor = cp_floor(&small, &work);
    let cache = work.join("cache");
    let put_args = [
        "artifact",
        "put",
        small.to_str().expect("path"),
        "--project",
        project,
        "--name",
        "small",
        "--type",
        "dataset",
    ];
    // Files written this instant are hashed again by design (see the hash cache); users log
    // data written earlier.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let put = cli.run(&cache, &put_args);
    assert_eq!(put.out["uploaded_files"].as_u64(), Some(2000));
    absolute_line("put 2,000 x 4 KiB (new)", small_floor, put.secs, 1.5);
    let reput = cli.run(&cache, &put_args);
    assert_eq!(
        (
            reput.out["created"].as_bool(),
            reput.out["hashed_files"].as_u64()
        ),
        (Some(false), Some(0))
    );
    absolute_line(
        "re-put 2,000 x 4 KiB (unchanged)",
        small_floor,
        reput.secs,
        0.15,
    );
    let reference = format!("{project}/small:latest");
    for (what, cache, jobs) in [
        (
            "get 2,000 x 4 KiB (empty cache)",
            work.join("cache-empty"),
            "8",
        ),
        (
            "get 2,000 x 4 KiB (cache of 100,000 others)",
            full_cache.to_owned(),
            "8",
        ),
        // 64 small files at once, as before session 7 (the default is 256): what concurrency
        // buys where each small GET waits on the store.
        (
            "get 2,000 x 4 KiB (empty cache, --jobs 2)",
            work.join("cache-empty-2"),
            "2",
        ),
    ] {
        let target = work.join("small-out");
        let got = cli.run(
            &cache,
            &[
                "--jobs",
                jobs,
                "artifact",
                "get",
                &reference,
                "-o",
                &target.display().to_string(),
            ],
        );
        assert_eq!(got.out["stats"]["fetched_files"].as_u64(), Some(2000));
        absolute_line(what, small_floor, got.secs, 1.0);
        std::fs::remove_dir_all(&target).expect("clean");
    }

    let big = work.join("big-512mib.bin");
    write_big(&big, 512);
    let mut files = vec![big];
    if huge_gib > 0 {
        let huge = work.join(format!("huge-{huge_gib}gib.bin"));
        write_big(&huge, huge_gib << 10);
        files.push(huge);
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    for file in &files {
        big_file(label, &cli, &work, &blobs, file, project);
        let _ = std::fs::remove_file(file);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
}

fn main() {
    let huge_gib = std::env::var("WANLLMDB_BENCH_HUGE_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let full_cache = std::env::temp_dir()
        .join("wanllmdb-bench-cli")
        .join(format!("full-cache-{}", uuid::Uuid::now_v7().simple()));
    let t = Instant::now();
    fill_cache(&full_cache, 100_000);
    println!(
        "(a cache of 100,000 files filled in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    run(
        "SQLite + filesystem",
        Backend::SqliteFs,
        &full_cache,
        huge_gib,
    );
    run(
        "PostgreSQL + Garage",
        Backend::PostgresS3,
        &full_cache,
        huge_gib,
    );
    let _ = std::fs::remove_dir_all(&full_cache);
    let _ = std::fs::remove_dir_all(full_cache.with_extension("src"));
}
