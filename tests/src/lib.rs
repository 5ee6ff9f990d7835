//! The end-to-end harness: the real server (`e2e-server`, which is `wanllmdb_server::main`) on
//! a free port, on the embedded default (SQLite + filesystem) or on PostgreSQL + Garage (S3), a
//! raw HTTP client for it, and `on_both_backends!`. The scenarios in `tests/` and the benchmarks
//! in `benches/` share it.

pub use std::io::{BufRead, BufReader};
pub use std::process::{Child, Command, Stdio};
pub use std::time::Duration;

use md5::Digest as _;

pub mod measure;
pub use reqwest::{Method, StatusCode};
pub use serde_json::{json, Value};

/// The server binary this package builds (cargo builds a package's binaries before its tests
/// and benchmarks run): beside the `deps` folder the running test or bench executable is in.
pub fn server_bin() -> std::path::PathBuf {
    own_bin("e2e-server")
}

/// The command line (`e2e-cli`, which is `wanllmdb`'s `main`), found like `server_bin`.
pub fn cli_bin() -> std::path::PathBuf {
    own_bin("e2e-cli")
}

fn own_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the scenarios with `cargo test -p wanllmdb-e2e` (or `make test`), which builds it",
        bin.display()
    );
    bin
}

pub const KEY: &str = "wlm_e2e_bootstrap_key_0123456789abcdefghijklmnop";

/// Server settings that make files over 6 MiB go up in 5 MiB parts.
pub const SMALL_PARTS: [(&str, &str); 2] = [
    ("WANLLMDB__UPLOADS__MULTIPART_THRESHOLD", "6291456"),
    ("WANLLMDB__UPLOADS__PART_SIZE", "5242880"),
];

pub struct Server {
    pub child: Child,
    pub base: String,
    pub _dir: std::path::PathBuf,
    /// The environment it was started with (for `wanllmdb-server admin ...` on its data).
    pub vars: Vec<(String, String)>,
    /// Its own PostgreSQL database, dropped after the server stops.
    pub db: Option<wanllmdb_store_sql::testing::TestDatabase>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pid", &self.child.id())
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its database, blobs and the tests' files (hundreds of MB for some): a run leaves no
        // litter in the temporary directory.
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests with `make test`, which starts PostgreSQL and Garage")
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    SqliteFs,
    PostgresS3,
}

/// Environment for a server on `backend`; `database` shares one PostgreSQL database between servers.
pub fn server_env(
    backend: Backend,
    dir: &std::path::Path,
    database: Option<&str>,
) -> Vec<(String, String)> {
    let mut vars = vec![
        ("WANLLMDB__SERVER__BIND".into(), "127.0.0.1:0".into()),
        ("WANLLMDB__AUTH__BOOTSTRAP_KEY".into(), KEY.into()),
        ("WANLLMDB__SERVER__WORKERS".into(), "2".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    match backend {
        Backend::SqliteFs => {
            vars.push((
                "WANLLMDB__DATABASE__URL".into(),
                format!("sqlite://{}/wanllmdb.db", dir.display()),
            ));
            vars.push(("WANLLMDB__STORAGE__BACKEND".into(), "fs".into()));
            vars.push((
                "WANLLMDB__STORAGE__FS__ROOT".into(),
                format!("{}/blobs", dir.display()),
            ));
        }
        Backend::PostgresS3 => {
            let db = database
                .expect("a PostgreSQL server needs a database: TestDatabase::postgres()")
                .to_owned();
            vars.push(("WANLLMDB__DATABASE__URL".into(), db));
            vars.push(("WANLLMDB__STORAGE__BACKEND".into(), "s3".into()));
            vars.push((
                "WANLLMDB__STORAGE__S3__ENDPOINT".into(),
                env("TEST_S3_ENDPOINT"),
            ));
            vars.push((
                "WANLLMDB__STORAGE__S3__REGION".into(),
                env("TEST_S3_REGION"),
            ));
            vars.push((
                "WANLLMDB__STORAGE__S3__BUCKET".into(),
                env("TEST_S3_BUCKET"),
            ));
            vars.push((
                "WANLLMDB__STORAGE__S3__ACCESS_KEY".into(),
                env("TEST_S3_ACCESS_KEY"),
            ));
            vars.push((
                "WANLLMDB__STORAGE__S3__SECRET_KEY".into(),
                env("TEST_S3_SECRET_KEY"),
            ));
        }
    }
    vars
}

pub fn start_with(
    vars: Vec<(String, String)>,
    dir: std::path::PathBuf,
    db: Option<wanllmdb_store_sql::testing::TestDatabase>,
) -> Server {
    start_binary(&server_bin(), vars, dir, db)
}

/// `start_with` for another build of the server (a benchmark comparing an older commit's).
pub fn start_binary(
    bin: &std::path::Path,
    vars: Vec<(String, String)>,
    dir: std::path::PathBuf,
    db: Option<wanllmdb_store_sql::testing::TestDatabase>,
) -> Server {
    let mut child = Command::new(bin)
        .arg("serve")
        .envs(vars.clone())
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start wanllmdb-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .expect("read stdout");
        if let Some(rest) = line.strip_prefix("wanllmdb-server listening on ") {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base,
        _dir: dir,
        vars,
        db,
    }
}

pub fn start(backend: Backend) -> Server {
    start_extra(backend, &[])
}

pub fn start_extra(backend: Backend, extra: &[(&str, &str)]) -> Server {
    let dir = std::env::temp_dir()
        .join("wanllmdb-e2e")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("dir");
    let db =
        (backend == Backend::PostgresS3).then(wanllmdb_store_sql::testing::TestDatabase::postgres);
    let mut vars = server_env(backend, &dir, db.as_ref().map(|d| d.url()));
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    start_with(vars, dir, db)
}

#[derive(Debug)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Api {
    pub fn new(server: &Server) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.base.clone(),
            key: KEY.into(),
        }
    }

    pub fn as_user(&self, key: &str) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            key: key.into(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    /// A version's download statistics (`GET .../downloads`).
    pub async fn downloads(&self, version: &str) -> Value {
        self.ok(
            Method::GET,
            &format!("/api/v1/artifacts/versions/{version}/downloads"),
            None,
        )
        .await
    }

    /// A file's bytes through the server, whole or a `Range` (`bytes=a-b`).
    pub async fn content(&self, file: &str, range: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!(
                "{}/api/v1/artifacts/files/{file}/content",
                self.base
            ))
            .bearer_auth(&self.key);
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send().await.expect("GET content")
    }

    pub async fn project(&self) -> String {
        let name = format!("p-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
        id(&self
            .ok(
                Method::POST,
                "/api/v1/projects",
                Some(json!({ "name": name })),
            )
            .await)
    }

    pub async fn artifact(&self, project: &str, name: &str) -> String {
        let body =
            json!({ "project_id": project, "name": name, "type": "model", "description": "e2e" });
        id(&self.ok(Method::POST, "/api/v1/artifacts", Some(body)).await)
    }

    pub async fn version(&self, artifact: &str) -> String {
        id(&self
            .ok(
                Method::POST,
                &format!("/api/v1/artifacts/{artifact}/versions"),
                None,
            )
            .await)
    }

    /// The bytes of a version's first file (by path), fetched through its presigned URL.
    pub async fn first_file_bytes(&self, version: &str) -> Vec<u8> {
        let files = self
            .ok(
                Method::GET,
                &format!("/api/v1/artifacts/versions/{version}/files"),
                None,
            )
            .await;
        let file = files["items"][0]["id"].as_str().expect("a file").to_owned();
        let url = self
            .ok(
                Method::GET,
                &format!("/api/v1/artifacts/files/{file}/download-url"),
                None,
            )
            .await;
        let got = self
            .http
            .get(url["download_url"].as_str().expect("url"))
            .send()
            .await
            .expect("GET");
        got.bytes().await.expect("bytes").to_vec()
    }

    /// The seed's flow for one file; returns whether bytes were uploaded.
    pub async fn add_file(&self, version: &str, path: &str, bytes: &[u8]) -> bool {
        let spec = spec(path, bytes);
        let plan = self
            .ok(
                Method::POST,
                &format!("/api/v1/artifacts/versions/{version}/files/upload-url"),
                Some(spec.clone()),
            )
            .await;
        let uploaded = !plan["already_stored"].as_bool().expect("already_stored");
        if uploaded {
            let status = put_presigned(&self.http, &plan, bytes.to_vec()).await;
            assert!(status.is_success(), "presigned PUT refused: {status}");
        }
        self.ok(
            Method::POST,
            &format!("/api/v1/artifacts/versions/{version}/files"),
            Some(spec),
        )
        .await;
        uploaded
    }
}

pub fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn spec(path: &str, bytes: &[u8]) -> Value {
    json!({
        "path": path,
        "size": bytes.len(),
        "md5_hash": hex(&md5::Md5::digest(bytes)),
        "sha256_hash": hex(&sha2::Sha256::digest(bytes)),
    })
}

pub async fn put_presigned(http: &reqwest::Client, plan: &Value, body: Vec<u8>) -> StatusCode {
    let mut req = http.put(plan["upload_url"].as_str().expect("upload_url"));
    for (k, v) in plan["headers"].as_object().expect("headers") {
        req = req.header(k, v.as_str().expect("header value"));
    }
    req.body(body).send().await.expect("PUT").status()
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Expands to one test per scenario and backend: `sqlite_fs::NAME` and `postgres_s3::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_fs {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::SqliteFs).await;
                }
            )*
        }
        mod postgres_s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::PostgresS3).await;
                }
            )*
        }
    };
}
