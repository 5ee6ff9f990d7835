//! The Python package as users run it (default settings, a fresh cache folder per figure)
//! beside the `wanllmdb` command line measured in the same run, on the embedded default and on
//! PostgreSQL + Garage (`make bench`, after `scripts/python-env.sh --release`):
//! - log and download of 2,000 files of 4 KiB and of one 512 MiB file: Python within 10% of
//!   the CLI;
//! - `add_dir` + log of 10,000 files of 40 KB: at most 5 s on the embedded default.
//!
//! Both are timed as whole processes (the interpreter's start and `import wanllmdb` included).
//! The CLI and Python log into different projects, so neither finds the other's bytes stored.

use std::path::{Path, PathBuf};
use std::process::Command;

use wanllmdb_e2e::measure::{cp_sync_floor, measured, write_big, write_small, Ran};
use wanllmdb_e2e::{cli_bin, start, Backend, KEY};

const SCRIPT: &str = r#"
import json, os, sys
import wanllmdb

op, project, name, path = sys.argv[1:5]
if op == "log":
    run = wanllmdb.init(project=project)
    art = wanllmdb.Artifact(name, type="dataset")
    if os.path.isdir(path):
        art.add_dir(path)
    else:
        art.add_file(path)
    run.log_artifact(art)
    print(json.dumps({"uploaded_bytes": art.log_stats.uploaded_bytes,
                      "uploaded_files": art.log_stats.uploaded_files}))
else:
    art = wanllmdb.Api().artifact(f"{project}/{name}:latest")
    art.download(path)
    print(json.dumps({"files": art.file_count}))
"#;

fn python() -> PathBuf {
    std::env::var_os("WANLLMDB_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv-py/bin/python")
        })
}

struct Users {
    base: String,
    home: PathBuf,
}

impl Users {
    fn env(&self, cmd: &mut Command, cache: &Path) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("WANLLMDB_URL", &self.base)
            .env("WANLLMDB_API_KEY", KEY)
            .env("WANLLMDB_CACHE_DIR", cache)
            .stderr(std::process::Stdio::null());
    }

    fn cli(&self, cache: &Path, args: &[&str]) -> Ran {
        settle();
        let mut cmd = Command::new(cli_bin());
        cmd.arg("--json").args(args);
        self.env(&mut cmd, cache);
        measured(&mut cmd)
    }

    fn python(&self, cache: &Path, args: &[&str]) -> Ran {
        settle();
        let mut cmd = Command::new(python());
        cmd.arg("-c").arg(SCRIPT).args(args);
        self.env(&mut cmd, cache);
        measured(&mut cmd)
    }
}

/// Flushes what the previous measurement left to write back, so it does not slow the next.
fn settle() {
    let _ = Command::new("sync").status();
}

/// How many times each figure is measured (`WANLLMDB_BENCH_REPEAT`, default 5): the disk of a
/// shared machine stalls for seconds now and then, so one run of each says little.
fn repeat() -> usize {
    std::env::var("WANLLMDB_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1)
}

fn median(mut secs: Vec<f64>) -> f64 {
    secs.sort_by(f64::total_cmp);
    secs[secs.len() / 2]
}

fn line(what: &str, cli: Vec<f64>, py: Vec<f64>) {
    let all = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (cli_all, py_all) = (all(&cli), all(&py));
    let (cli, py) = (median(cli), median(py));
    let ratio = py / cli;
    let verdict = if ratio <= 1.1 { "meets" } else { "misses" };
    println!(
        "  {what:<30} CLI {cli:6.2} s  Python {py:6.2} s  ratio {ratio:4.2} (target <= 1.10x, {verdict}; medians of CLI [{cli_all}], Python [{py_all}])"
    );
}

/// Logs then downloads `path` with the CLI and with Python, each with fresh caches, `repeat()`
/// times in turn (who goes first alternates), each log into projects of its own.
fn compare(users: &Users, work: &Path, what: &str, name: &str, path: &Path, files: u64) {
    let source = path.display().to_string();
    let fresh =
        |who: &str, step: &str, i: usize| work.join(format!("cache-{name}-{who}-{step}-{i}"));
    let (mut cli_log, mut py_log) = (Vec::new(), Vec::new());
    for i in 0..repeat() {
        let (cli_project, py_project) = (format!("cli{i}"), format!("py{i}"));
        let cli = || {
            let ran = users.cli(
                &fresh("cli", "log", i),
                &[
                    "artifact",
                    "put",
                    &source,
                    "--project",
                    &cli_project,
                    "--name",
                    name,
                    "--type",
                    "dataset",
                ],
            );
            assert_eq!(ran.out["uploaded_files"].as_u64(), Some(files));
            ran.secs
        };
        let py = || {
            let ran = users.python(&fresh("py", "log", i), &["log", &py_project, name, &source]);
            assert_eq!(ran.out["uploaded_files"].as_u64(), Some(files));
            ran.secs
        };
        let (c, p) = in_turn(i, cli, py);
        cli_log.push(c);
        py_log.push(p);
    }
    line(&format!("log {what}"), cli_log, py_log);

    let (mut cli_get, mut py_get) = (Vec::new(), Vec::new());
    for i in 0..repeat() {
        let (cli_out, py_out) = (
            work.join(format!("{name}-cli-{i}")),
            work.join(format!("{name}-py-{i}")),
        );
        let cli = || {
            let ran = users.cli(
                &fresh("cli", "get", i),
                &[
                    "artifact",
                    "get",
                    &format!("cli0/{name}:latest"),
                    "-o",
                    &cli_out.display().to_string(),
                ],
            );
            assert_eq!(ran.out["stats"]["fetched_files"].as_u64(), Some(files));
            ran.secs
        };
        let py = || {
            let ran = users.python(
                &fresh("py", "get", i),
                &["download", "py0", name, &py_out.display().to_string()],
            );
            assert_eq!(ran.out["files"].as_u64(), Some(files));
            ran.secs
        };
        let (c, p) = in_turn(i, cli, py);
        cli_get.push(c);
        py_get.push(p);
        for dir in [cli_out, py_out] {
            let _ = std::fs::remove_dir_all(dir);
        }
        for who in ["cli", "py"] {
            let _ = std::fs::remove_dir_all(fresh(who, "get", i));
        }
    }
    line(&format!("download {what}"), cli_get, py_get);
}

/// Runs both, the CLI first on even turns and Python first on odd ones.
fn in_turn(i: usize, cli: impl FnOnce() -> f64, py: impl FnOnce() -> f64) -> (f64, f64) {
    if i % 2 == 0 {
        let c = cli();
        (c, py())
    } else {
        let p = py();
        (cli(), p)
    }
}

fn run(label: &str, backend: Backend) {
    let work = std::env::temp_dir()
        .join("wanllmdb-bench-python")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&work).expect("dir");
    let server = start(backend);
    let users = Users {
        base: server.base.clone(),
        home: work.clone(),
    };
    for i in 0..repeat() {
        let project = format!("cli{i}");
        users.cli(&work.join("cache-setup"), &["project", "create", &project]);
    }
    println!("{label}");

    let small = work.join("small");
    write_small(&small, 2000, 4096, backend as u8);
    let big = work.join("big-512mib.bin");
    write_big(&big, 512);
    let many = work.join("many");
    write_small(&many, 10_000, 40_000, 100 + backend as u8);
    // Files written this instant are hashed again by design (see the hash cache); users log
    // data written earlier.
    std::thread::sleep(std::time::Duration::from_secs(2));

    compare(&users, &work, "2,000 x 4 KiB", "small", &small, 2000);
    compare(&users, &work, "512 MiB", "big", &big, 1);
    settle();
    let floor = cp_sync_floor(&many, &server._dir);
    let logged = users.python(
        &work.join("cache-many"),
        &["log", "py0", "many", &many.display().to_string()],
    );
    assert_eq!(logged.out["uploaded_files"].as_u64(), Some(10_000));
    let target = 5.0;
    let verdict = match backend {
        // The target is the embedded default's; elsewhere the figure is only reported.
        Backend::PostgresS3 => "no target here",
        Backend::SqliteFs if logged.secs <= target => "meets",
        Backend::SqliteFs => "misses",
    };
    println!(
        "  {:<30} Python {:6.2} s (target <= {target:.1} s on the embedded default, {verdict}; floor `cp -r` + `sync` into the server's folder {floor:.2} s, ratio {:.2}; peak memory {:.0} MiB)",
        "add_dir + log 10,000 x 40 KB",
        logged.secs,
        logged.secs / floor,
        logged.peak_mib
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
}

fn main() {
    let py = python();
    assert!(
        py.exists(),
        "{} is missing: run scripts/python-env.sh --release first (make bench does)",
        py.display()
    );
    // `WANLLMDB_BENCH_BACKENDS`: `sqlite`, `postgres` or both (the default).
    let only = std::env::var("WANLLMDB_BENCH_BACKENDS").unwrap_or_default();
    if only.is_empty() || only.contains("sqlite") {
        run("SQLite + filesystem", Backend::SqliteFs);
    }
    if only.is_empty() || only.contains("postgres") {
        run("PostgreSQL + Garage", Backend::PostgresS3);
    }
}
