//! The SDK against the real server (`make bench`), on the embedded default and on PostgreSQL +
//! Garage: put 2,000 files of 4 KiB; re-put with one changed; get them; put and get one 512 MiB
//! file. Hashing and verification stay on. Targets on the 2-core machine: 1.5 s, 0.5 s, 1.5 s,
//! 1.5 s and 1.5 s.

use std::time::Instant;

use wanllmdb_client::{Artifact, Client, LogOptions};
use wanllmdb_domain::types::ArtifactType;
use wanllmdb_e2e::{start, Backend, KEY};

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

async fn run(label: &str, backend: Backend) {
    let dir = std::env::temp_dir()
        .join("wanllmdb-bench-sdk")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    let server = start(backend);
    let client = Client::new(&server.base, KEY).with_state_dir(None);
    let project = format!("bench-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    client.create_project(&project).await.expect("project");
    let small = dir.join("small");
    for i in 0..2000 {
        let p = small.join(format!("d{}/f{i:04}.bin", i % 20));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, vec![(i % 251) as u8; 4096]).expect("write");
    }
    let a = Artifact::new("small", ArtifactType::Dataset)
        .add_dir(&small)
        .expect("add");
    let t = Instant::now();
    client
        .log_artifact(&project, &a, LogOptions::default())
        .await
        .expect("put");
    let put = secs(t);
    std::fs::write(small.join("d0/f0000.bin"), vec![255u8; 4096]).expect("change");
    let a = Artifact::new("small", ArtifactType::Dataset)
        .add_dir(&small)
        .expect("add");
    let t = Instant::now();
    let logged = client
        .log_artifact_detailed(&project, &a, LogOptions::default())
        .await
        .expect("re-put");
    let reput = secs(t);
    assert_eq!(logged.uploaded_files, 1);
    let used = client
        .use_artifact(&format!("{project}/small:latest"), None)
        .await
        .expect("use");
    let t = Instant::now();
    let got = used
        .download_with(&dir.join("small-out"), None)
        .await
        .expect("get");
    let get = secs(t);
    assert_eq!(got.fetched_files, 2000);

    let big = dir.join("big.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).expect("create");
        let chunk: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        for i in 0..512u32 {
            let mut c = chunk.clone();
            c[0] = i as u8;
            f.write_all(&c).expect("write");
        }
    }
    let a = Artifact::new("big", ArtifactType::Model)
        .add_file(&big)
        .expect("add");
    let t = Instant::now();
    client
        .log_artifact(&project, &a, LogOptions::default())
        .await
        .expect("put big");
    let big_put = secs(t);
    let used = client
        .use_artifact(&format!("{project}/big:latest"), None)
        .await
        .expect("use");
    let t = Instant::now();
    used.download(&dir.join("big-out")).await.expect("get big");
    let big_get = secs(t);
    println!("{label}");
    for (what, s, target) in [
        ("put 2,000 files of 4 KiB", put, 1.5),
        ("re-put with one file changed", reput, 0.5),
        ("get the 2,000 files", get, 1.5),
        ("put one 512 MiB file", big_put, 1.5),
        ("get one 512 MiB file", big_get, 1.5),
    ] {
        let verdict = if s <= target { "meets" } else { "misses" };
        println!("  {what:<32} {s:7.2} s   target {target:.1} s ({verdict})");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run("SQLite + filesystem", Backend::SqliteFs));
    rt.block_on(run("PostgreSQL + Garage", Backend::PostgresS3));
}
