//! Finalizing a version of 1,000,000 files against the real server (`make bench`), on the
//! embedded default and on PostgreSQL + Garage: the time it takes and how far the server's
//! resident memory rises above what it held just before (target: at most 64 MiB, whatever the
//! file count). Two figures: the peak of all resident memory (/proc VmHWM, reset through
//! clear_refs right before the call, so nothing is missed between samples), which includes the
//! pages of SQLite's memory-mapped database file (page cache, given back under pressure), and
//! the peak of anonymous memory (RssAnon, sampled every 10 ms: the heap and SQLite's own page
//! cache), which is what grows with the file count when a server holds rows it should not.
//!
//! `WANLLMDB_BENCH_SERVER=/path/to/wanllmdb-server` measures another build (e.g. an older
//! commit's) the same way; `WANLLMDB_BENCH_FILES=N` changes the file count.

use std::time::Instant;

use md5::Digest as _;
use serde_json::{json, Value};
use wanllmdb_e2e::{hex, server_bin, server_env, start_binary, Backend, Server, KEY};
use wanllmdb_store_sql::testing::TestDatabase;

/// Distinct contents the files cycle through (finalize checks each distinct blob once a page).
const CONTENTS: usize = 8;
const BATCH: usize = 10_000;

/// The server under test (`WANLLMDB_BENCH_SERVER`, else this package's build), on its own data;
/// on S3 with a bucket of its own, so finalize checks only this run's blobs.
fn start(backend: Backend) -> Server {
    let dir = std::env::temp_dir()
        .join("wanllmdb-bench-finalize-server")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    let db = (backend == Backend::PostgresS3).then(TestDatabase::postgres);
    let mut vars = server_env(backend, &dir, db.as_ref().map(|d| d.url()));
    if backend == Backend::PostgresS3 {
        let bucket = format!("fin-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        vars.push(("WANLLMDB__STORAGE__S3__BUCKET".into(), bucket));
    }
    let bin = std::env::var("WANLLMDB_BENCH_SERVER")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| server_bin());
    start_binary(&bin, vars, dir, db)
}

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}/api/v1{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

async fn run(label: &str, backend: Backend, files: usize) {
    let dir = std::env::temp_dir()
        .join("wanllmdb-bench-finalize")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    let server = start(backend);
    let api = Api {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    use reqwest::Method;
    let name = format!("fin-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let p = api
        .call(Method::POST, "/projects", Some(json!({ "name": name })))
        .await;
    let a = api
        .call(
            Method::POST,
            "/artifacts",
            Some(json!({ "project_id": p["id"], "name": "wide", "type": "dataset" })),
        )
        .await;
    let artifact = a["id"].as_str().expect("id").to_owned();
    let v = api
        .call(
            Method::POST,
            &format!("/artifacts/{artifact}/versions"),
            None,
        )
        .await;
    let version = v["id"].as_str().expect("id").to_owned();
    let specs: Vec<Value> = (0..CONTENTS)
        .map(|i| {
            let bytes = format!("content {i}").into_bytes();
            json!({
                "path": format!("c/{i}"),
                "size": bytes.len(),
                "md5_hash": hex(&md5::Md5::digest(&bytes)),
                "sha256_hash": hex(&sha2::Sha256::digest(&bytes)),
            })
        })
        .collect();
    for (i, spec) in specs.iter().enumerate() {
        let resp = api
            .http
            .put(format!(
                "{}/api/v1/artifacts/versions/{version}/files/content?path={}&size={}&md5_hash={}&sha256_hash={}",
                api.base,
                spec["path"].as_str().expect("path"),
                spec["size"],
                spec["md5_hash"].as_str().expect("md5"),
                spec["sha256_hash"].as_str().expect("sha")
            ))
            .bearer_auth(KEY)
            .body(format!("content {i}"))
            .send()
            .await
            .expect("PUT");
        assert!(resp.status().is_success(), "{resp:?}");
    }
    let t = Instant::now();
    for start in (0..files).step_by(BATCH) {
        let batch: Vec<Value> = (start..(start + BATCH).min(files))
            .map(|n| {
                let mut s = specs[n % CONTENTS].clone();
                s["path"] = json!(format!("d{:03}/f{n:07}.bin", n % 1000));
                s
            })
            .collect();
        api.call(
            Method::POST,
            &format!("/artifacts/versions/{version}/files/batch"),
            Some(json!({ "files": batch })),
        )
        .await;
    }
    let register = t.elapsed().as_secs_f64();
    let pid = server.child.id();
    let before = status_kib(pid, "VmRSS:");
    let anon_before = status_kib(pid, "RssAnon:");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak (clear_refs)");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(status_kib(pid, "RssAnon:"));
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            peak
        })
    };
    let t = Instant::now();
    let done = api
        .call(
            Method::POST,
            &format!("/artifacts/versions/{version}/finalize"),
            None,
        )
        .await;
    let finalize = t.elapsed().as_secs_f64();
    let peak = status_kib(pid, "VmHWM:");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let anon_peak = sampler.join().expect("sampler");
    assert_eq!(done["file_count"], json!(files));
    let mib = |kib: u64| kib as f64 / 1024.0;
    let anon_rise = mib(anon_peak.saturating_sub(anon_before));
    let verdict = if anon_rise <= 64.0 { "meets" } else { "misses" };
    println!("{label}");
    println!("  register {files} files (batches of {BATCH})   {register:7.2} s");
    println!("  finalize {files} files                        {finalize:7.2} s");
    println!(
        "  server resident memory: {:.0} MiB before, peak {:.0} MiB during finalize (+{:.0} MiB, \
         mapped database pages included)",
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before))
    );
    println!(
        "  server anonymous memory: {:.0} MiB before, peak {:.0} MiB during finalize: \
         +{anon_rise:.0} MiB, target <= 64 MiB ({verdict})",
        mib(anon_before),
        mib(anon_peak)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let files = std::env::var("WANLLMDB_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(
        "SQLite + filesystem (embedded default)",
        Backend::SqliteFs,
        files,
    ));
    rt.block_on(run("PostgreSQL + Garage (S3)", Backend::PostgresS3, files));
}
