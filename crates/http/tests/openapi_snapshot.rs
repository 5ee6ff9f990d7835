//! The web UI's types are generated from `web/openapi.json`; this keeps that file equal to the
//! document the server serves, so a contract change reaches the UI's type check. After changing
//! the API, refresh it with `make openapi` (UPDATE_OPENAPI=1 on this test).

use std::path::PathBuf;

#[test]
fn web_openapi_json_is_the_served_document() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json");
    let mut served = serde_json::to_string_pretty(&wanllmdb_http::openapi_document())
        .expect("the document serialises");
    served.push('\n');
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &served).expect("write web/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == served,
        "web/openapi.json differs from the served OpenAPI document: run `make openapi` and commit it"
    );
}
