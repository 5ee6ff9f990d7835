//! 1 GiB through each blob adapter, against the same bytes moved with no adapter logic, in one
//! run (`make bench`, which starts Garage):
//! - S3 (Garage): adapter `put` (streamed, hashed, verified multipart) and `get`, against one plain
//!   presigned PUT and GET streamed with reqwest;
//! - filesystem: adapter `put` (hashed, temp file, fsync, rename) and `get`, against writing the
//!   bytes to a file (with fsync) and reading them back.
//!
//! Each case runs in a child process of its own, which reports its peak resident memory (VmHWM),
//! so the figure is that case's alone. The adapters must stream: a 1 GiB put stays under 64 MiB.

use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use md5::Digest as _;
use wanllmdb_blob_fs::FsBlobStore;
use wanllmdb_blob_s3::{S3BlobStore, S3Config, DEFAULT_PART_SIZE};
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::ports::{BlobStore, ByteStream, ExpectedContent};
use wanllmdb_domain::signed_url::UrlSigner;
use wanllmdb_domain::types::{Md5, Sha256};

const MIB: usize = 1024 * 1024;
const CHUNKS: usize = 1024; // 1 GiB in 1 MiB chunks

fn chunk(i: usize) -> Bytes {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut v = vec![0u8; MIB];
    for word in v.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    Bytes::from(v)
}

fn source() -> ByteStream {
    Box::pin(futures::stream::iter((0..CHUNKS).map(|i| Ok(chunk(i)))))
}

fn digests() -> (Sha256, Md5) {
    let (mut s, mut m) = (sha2::Sha256::new(), md5::Md5::new());
    for i in 0..CHUNKS {
        let c = chunk(i);
        s.update(&c);
        m.update(&c);
    }
    (
        Sha256::from_bytes(s.finalize().into()),
        Md5::from_bytes(m.finalize().into()),
    )
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn s3_config() -> S3Config {
    let env = |n: &str| {
        std::env::var(n)
            .unwrap_or_else(|_| panic!("{n} is not set: run `make bench`, which starts Garage"))
    };
    S3Config {
        endpoint: env("TEST_S3_ENDPOINT"),
        region: env("TEST_S3_REGION"),
        bucket: env("TEST_S3_BUCKET"),
        access_key: env("TEST_S3_ACCESS_KEY"),
        secret_key: env("TEST_S3_SECRET_KEY"),
        path_style: true,
        part_size: DEFAULT_PART_SIZE,
    }
}

async fn drain(mut body: ByteStream) -> u64 {
    let mut n = 0;
    while let Some(c) = body.next().await {
        n += c.expect("read").len() as u64;
    }
    n
}

/// Runs one case in this process and prints `seconds peak_mib`.
async fn run_case(case: &str, key: &str, dir: &str) {
    let key = ObjectKey::parse(key).expect("key");
    let start = Instant::now();
    match case {
        "s3-put" | "s3-get" | "s3-plain-put" | "s3-plain-get" => {
            let store = S3BlobStore::connect(s3_config()).await.expect("connect");
            match case {
                "s3-put" => {
                    let (sha256, md5) = digests();
                    let start = Instant::now();
                    let expected = ExpectedContent {
                        sha256: Some(sha256),
                        md5: Some(md5),
                        size: Some((CHUNKS * MIB) as u64),
                    };
                    store.put(&key, source(), &expected).await.expect("put");
                    println!("{} {}", start.elapsed().as_secs_f64(), peak_rss_mib());
                    return;
                }
                "s3-get" => assert_eq!(
                    drain(store.get(&key, None).await.expect("get").body).await,
                    (CHUNKS * MIB) as u64
                ),
                "s3-plain-put" => {
                    // A presigned PUT of the same bytes with no checksums and no adapter logic.
                    let url = s3_bucket_presign_put(&store, &key).await;
                    let body = reqwest::Body::wrap_stream(source());
                    let resp = reqwest::Client::new()
                        .put(url)
                        .header("content-length", (CHUNKS * MIB).to_string())
                        .body(body)
                        .send()
                        .await
                        .expect("put");
                    assert!(resp.status().is_success(), "{}", resp.status());
                }
                _ => {
                    let req = store
                        .presign_get(&key, None, std::time::Duration::from_secs(600))
                        .await
                        .expect("presign");
                    let resp = reqwest::get(&req.url).await.expect("get");
                    let mut n = 0;
                    let mut s = resp.bytes_stream();
                    while let Some(c) = s.next().await {
                        n += c.expect("read").len();
                    }
                    assert_eq!(n, CHUNKS * MIB);
                }
            }
        }
        "fs-put" | "fs-get" => {
            let store = FsBlobStore::open(dir, UrlSigner::new(b"k".to_vec(), "http://h"))
                .await
                .expect("open");
            if case == "fs-put" {
                let (sha256, md5) = digests();
                let start = Instant::now();
                let expected = ExpectedContent {
                    sha256: Some(sha256),
                    md5: Some(md5),
                    size: Some((CHUNKS * MIB) as u64),
                };
                store.put(&key, source(), &expected).await.expect("put");
                println!("{} {}", start.elapsed().as_secs_f64(), peak_rss_mib());
                return;
            }
            assert_eq!(
                drain(store.get(&key, None).await.expect("get").body).await,
                (CHUNKS * MIB) as u64
            );
        }
        "fs-plain-put" => {
            use tokio::io::AsyncWriteExt;
            let path = std::path::Path::new(dir).join("plain.bin");
            let mut f = tokio::fs::File::create(&path).await.expect("create");
            let mut s = source();
            while let Some(c) = s.next().await {
                f.write_all(&c.expect("chunk")).await.expect("write");
            }
            f.sync_all().await.expect("fsync");
        }
        "fs-plain-get" => {
            use tokio::io::AsyncReadExt;
            let path = std::path::Path::new(dir).join("plain.bin");
            let mut f = tokio::fs::File::open(&path).await.expect("open");
            let mut buf = vec![0u8; 256 * 1024];
            let mut n = 0;
            loop {
                let r = f.read(&mut buf).await.expect("read");
                if r == 0 {
                    break;
                }
                n += r;
            }
            assert_eq!(n, CHUNKS * MIB);
        }
        other => panic!("unknown case {other}"),
    }
    println!("{} {}", start.elapsed().as_secs_f64(), peak_rss_mib());
}

/// A plain presigned PUT (no checksum headers), signed with rust-s3 directly: the baseline with no
/// adapter logic.
async fn s3_bucket_presign_put(_store: &S3BlobStore, key: &ObjectKey) -> String {
    let c = s3_config();
    let region = s3::Region::Custom {
        region: c.region,
        endpoint: c.endpoint,
    };
    let creds =
        s3::creds::Credentials::new(Some(&c.access_key), Some(&c.secret_key), None, None, None)
            .expect("creds");
    let mut bucket = s3::Bucket::new(&c.bucket, region, creds).expect("bucket");
    bucket.set_path_style();
    bucket
        .presign_put(format!("/{key}"), 600, None, None)
        .await
        .expect("presign")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--case") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(run_case(&args[pos + 1], &args[pos + 2], &args[pos + 3]));
        return;
    }
    let exe = std::env::current_exe().expect("exe");
    let dir = std::env::temp_dir().join(format!("wanllmdb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let dir_s = dir.to_string_lossy().into_owned();
    let id = format!("{}", std::process::id());
    let run = |case: &str, key: &str| -> (f64, f64) {
        let out = Command::new(&exe)
            .args(["--case", case, key, &dir_s])
            .output()
            .expect("child");
        assert!(
            out.status.success(),
            "{case} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default().to_owned();
        let mut parts = line
            .split_whitespace()
            .map(|p| p.parse::<f64>().unwrap_or(f64::NAN));
        (
            parts.next().unwrap_or(f64::NAN),
            parts.next().unwrap_or(f64::NAN),
        )
    };
    println!("1 GiB, one process per case; time and peak resident memory of that process");
    let mut rows = Vec::new();
    for (store, put, get, plain_put, plain_get) in [
        (
            "S3 (Garage)",
            "s3-put",
            "s3-get",
            "s3-plain-put",
            "s3-plain-get",
        ),
        (
            "filesystem",
            "fs-put",
            "fs-get",
            "fs-plain-put",
            "fs-plain-get",
        ),
    ] {
        let k_adapter = format!("bench/{id}/adapter.bin");
        let k_plain = format!("bench/{id}/plain.bin");
        let (tp, mp) = run(put, &k_adapter);
        let (tg, mg) = run(get, &k_adapter);
        let (bp, bmp) = run(plain_put, &k_plain);
        let (bg, bmg) = run(plain_get, &k_plain);
        rows.push((store, tp, mp, tg, mg, bp, bmp, bg, bmg));
    }
    let mibs = |t: f64| 1024.0 / t;
    for (store, tp, mp, tg, mg, bp, bmp, bg, bmg) in rows {
        println!("{store}");
        println!(
            "  adapter put   {tp:6.2} s  {:7.0} MiB/s  peak {mp:5.1} MiB",
            mibs(tp)
        );
        println!("  plain put     {bp:6.2} s  {:7.0} MiB/s  peak {bmp:5.1} MiB   adapter/plain time {:.2}", mibs(bp), tp / bp);
        println!(
            "  adapter get   {tg:6.2} s  {:7.0} MiB/s  peak {mg:5.1} MiB",
            mibs(tg)
        );
        println!("  plain get     {bg:6.2} s  {:7.0} MiB/s  peak {bmg:5.1} MiB   adapter/plain time {:.2}", mibs(bg), tg / bg);
        assert!(
            mp < 64.0,
            "{store}: a 1 GiB put peaked at {mp:.1} MiB (limit 64 MiB)"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
