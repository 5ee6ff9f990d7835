//! A hostile (or broken) server cannot make a download write outside its target folder.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use wanllmdb_client::{Client, ClientError};

/// Answers every request with canned JSON; file paths try to climb out of the target.
fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let me = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut h = String::new();
            while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let version = r#"{"id":"01a22500-0000-7000-8000-000000000001","artifact_id":"01a22500-0000-7000-8000-000000000002","project_id":"01a22500-0000-7000-8000-000000000003","version":"v0","digest":null,"file_count":2,"total_size":10,"is_finalized":true,"aliases":[]}"#;
            let body = if path.starts_with("/api/v1/resolve") {
                format!(r#"{{"artifact":{{}},"version":{version}}}"#)
            } else if path.contains("/files?") {
                let sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
                format!(
                    r#"{{"items":[{{"id":"f1","path":"../escaped.txt","size":6,"sha256_hash":"{sha}"}},{{"id":"f2","path":"/etc/owned","size":6,"sha256_hash":"{sha}"}}],"next_cursor":null}}"#
                )
            } else if path.contains("download-url") {
                format!(r#"{{"download_url":"{me}/blob"}}"#)
            } else {
                "hello\n".to_owned()
            };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[tokio::test]
async fn paths_that_climb_out_are_refused() {
    let base = hostile_server();
    let root = std::env::temp_dir()
        .join("wanllmdb-hostile")
        .join(uuid::Uuid::now_v7().simple().to_string());
    let target = root.join("target");
    let client =
        Client::new(&base, "wlm_whatever_key_0123456789abcdefghijklmnopq").with_concurrency(1);
    let used = client.use_artifact("p/a:v0", None).await.expect("resolve");
    match used.download(&target).await {
        Err(ClientError::Invalid(m)) => assert!(m.contains("refusing to write"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !root.join("escaped.txt").exists(),
        "nothing was written above the target"
    );
    assert!(
        std::fs::read_dir(&target).map(|d| d.count()).unwrap_or(0) == 0,
        "nothing was written in it either"
    );
}
