//! A version or a folder of it as one streaming zip, on both backends: every file with its
//! bytes (CRC-checked by an independent reader), one download recorded per archive, and a clear
//! 404 for a folder with nothing in it.

use std::io::Read as _;

use wanllmdb_e2e::*;

async fn get_zip(api: &Api, v: &str, query: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = api
        .http
        .get(format!(
            "{}/api/v1/artifacts/versions/{v}/archive{query}",
            api.base
        ))
        .bearer_auth(&api.key)
        .send()
        .await
        .expect("GET");
    let status = resp.status();
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        disposition,
        resp.bytes().await.expect("body").to_vec(),
    )
}

fn entries(zip: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip archive");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).expect("entry");
            let mut bytes = Vec::new();
            // Reading to the end checks the entry's CRC-32.
            f.read_to_end(&mut bytes).expect("entry bytes");
            (f.name().to_owned(), bytes)
        })
        .collect()
}

async fn versions_and_folders_download_as_one_zip(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "zipped").await;
    let v = api.version(&a).await;
    let big: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("README.md", b"# zipped".to_vec()),
        ("ckpt/model.bin", big),
        ("ckpt/sub/opt.bin", vec![1, 2, 3]),
        ("ckpt/empty", Vec::new()),
        ("other/notes.txt", b"notes".to_vec()),
    ];
    for (path, bytes) in &files {
        api.add_file(&v, path, bytes).await;
    }

    let (status, disposition, zip) = get_zip(&api, &v, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.contains("zipped-v0.zip"), "{disposition}");
    let mut want: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, b)| ((*p).to_owned(), b.clone()))
        .collect();
    want.sort();
    assert_eq!(entries(zip), want);

    let (status, disposition, zip) = get_zip(&api, &v, "?prefix=ckpt/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.contains("zipped-v0-ckpt.zip"), "{disposition}");
    let names: Vec<String> = entries(zip).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["ckpt/empty", "ckpt/model.bin", "ckpt/sub/opt.bin"]);

    let (status, _, body) = get_zip(&api, &v, "?prefix=nothing/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let problem: Value = serde_json::from_slice(&body).expect("problem");
    assert_eq!(problem["code"], "not_found", "{problem}");

    let stats = api.downloads(&v).await;
    assert_eq!(stats["count"], 2, "one download per archive: {stats}");

    let stranger = api.as_user("wlm_not_a_key_0123456789abcdefghijklmnopqrstuv");
    assert_eq!(get_zip(&stranger, &v, "").await.0, StatusCode::UNAUTHORIZED);
}

on_both_backends!(versions_and_folders_download_as_one_zip);
