//! Model inspection through the API on both backends: safetensors, GGUF and `.npy` headers read
//! by range, and a clear 422 for a file that is no model.

use wanllmdb_e2e::*;

fn gguf() -> Vec<u8> {
    fn s(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(&(text.len() as u64).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes()); // tensors
    out.extend_from_slice(&2u64.to_le_bytes()); // metadata
    s(&mut out, "general.name");
    out.extend_from_slice(&8u32.to_le_bytes());
    s(&mut out, "tiny");
    s(&mut out, "tokenizer.ggml.scores");
    out.extend_from_slice(&9u32.to_le_bytes());
    out.extend_from_slice(&6u32.to_le_bytes()); // of f32
    out.extend_from_slice(&100u64.to_le_bytes());
    for i in 0..100u32 {
        out.extend_from_slice(&(i as f32).to_le_bytes());
    }
    s(&mut out, "blk.0.attn_q.weight");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&64u64.to_le_bytes());
    out.extend_from_slice(&32u64.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes()); // Q8_0
    out.extend_from_slice(&0u64.to_le_bytes());
    out.resize(out.len() + 4096, 0);
    out
}

fn npy() -> Vec<u8> {
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }";
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + 240, 0);
    out
}

/// An `.npz` as numpy's `savez` writes it (Python's zipfile): a 4 MiB float32 array stored,
/// then a small int64 array deflated.
fn npz() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("npz-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let npy = |descr: &str, shape: &str, data: usize| {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.resize(out.len() + data, 0);
        out
    };
    std::fs::write(dir.join("w.npy"), npy("<f4", "(1024, 1024)", 4 << 20)).expect("write");
    std::fs::write(dir.join("l.npy"), npy("<i8", "(1000,)", 8000)).expect("write");
    let out = dir.join("arrays.npz");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   z.write(sys.argv[2], 'weights.npy', zipfile.ZIP_STORED)\n\
             \x20   z.write(sys.argv[3], 'labels.npy', zipfile.ZIP_DEFLATED)",
        ])
        .arg(&out)
        .arg(dir.join("w.npy"))
        .arg(dir.join("l.npy"))
        .status()
        .expect("python3 makes the .npz (its zipfile module, as numpy.savez uses)");
    assert!(status.success());
    let bytes = std::fs::read(&out).expect("read");
    std::fs::remove_dir_all(&dir).expect("clean");
    bytes
}

fn safetensors() -> Vec<u8> {
    let header = r#"{"w":{"dtype":"F32","shape":[8,8],"data_offsets":[0,256]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + 256, 0);
    out
}

async fn model_headers_are_read_and_other_files_refused(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let p = api.project().await;
    let a = api.artifact(&p, "inspected").await;
    let v = api.version(&a).await;
    for (path, bytes) in [
        ("model.safetensors", safetensors()),
        // Named as anything: the content says GGUF.
        ("weights/tiny.bin", gguf()),
        ("arrays/x.npy", npy()),
        ("arrays/both.npz", npz()),
        ("README.md", b"# not a model".to_vec()),
    ] {
        api.add_file(&v, path, &bytes).await;
    }
    let files = api
        .ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{v}/files"),
            None,
        )
        .await;
    let file = |path: &str| {
        files["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|f| f["path"] == path)
            .map(id)
            .unwrap_or_else(|| panic!("{path}"))
    };
    let inspect = |path: &str| format!("/api/v1/artifacts/files/{}/inspect", file(path));

    let st = api
        .ok(Method::GET, &inspect("model.safetensors"), None)
        .await;
    assert_eq!(st["format"], "safetensors");
    assert_eq!(st["tensors"][0]["shape"], json!([8, 8]));
    assert_eq!(st["parameter_count"], 64);

    let g = api
        .ok(Method::GET, &inspect("weights/tiny.bin"), None)
        .await;
    assert_eq!(
        (g["format"].clone(), g["format_version"].clone()),
        (json!("gguf"), json!("3"))
    );
    assert_eq!(g["tensors"][0]["dtype"], "Q8_0");
    assert_eq!(g["parameter_count"], 64 * 32);
    let scores = &g["metadata"][1];
    assert_eq!(scores["key"], "tokenizer.ggml.scores");
    assert_eq!(scores["length"], 100);
    assert_eq!(scores["value"].as_array().map(Vec::len), Some(16));
    assert!(
        g["bytes_read"].as_u64().expect("bytes_read") < 4096 + 1000,
        "{g}"
    );

    let n = api.ok(Method::GET, &inspect("arrays/x.npy"), None).await;
    assert_eq!(n["tensors"][0]["dtype"], "<f8");
    assert_eq!(n["tensors"][0]["shape"], json!([10, 3]));

    // An .npz: its directory and each member's header, not its 4 MiB.
    let z = api.ok(Method::GET, &inspect("arrays/both.npz"), None).await;
    assert_eq!(z["format"], "npz", "{z}");
    assert_eq!(z["tensors"][0]["name"], "weights");
    assert_eq!(z["tensors"][0]["shape"], json!([1024, 1024]));
    assert_eq!(z["tensors"][1]["name"], "labels");
    assert_eq!(z["tensors"][1]["dtype"], "<i8");
    assert_eq!(z["parameter_count"], 1024 * 1024 + 1000);
    let read = z["bytes_read"].as_u64().expect("bytes_read");
    assert!(read < 128 << 10, "read {read} bytes of a 4 MiB archive");

    let (status, problem) = api.call(Method::GET, &inspect("README.md"), None).await;
    assert_eq!(status.as_u16(), 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("README.md") && d.contains("safetensors")),
        "{problem}"
    );
    let unknown = format!("/api/v1/artifacts/files/{}/inspect", uuid::Uuid::now_v7());
    assert_eq!(api.call(Method::GET, &unknown, None).await.0.as_u16(), 404);
}

on_both_backends!(model_headers_are_read_and_other_files_refused);
