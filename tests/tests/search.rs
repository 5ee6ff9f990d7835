//! Search, sort and folders end to end: the query strings the web UI and scripts send, the
//! errors a bad filter gets, and the CLI's `artifact ls`, `artifact versions` and
//! `artifact files --folders`, on both backends.

use wanllmdb_e2e::*;

fn enc(s: &str) -> String {
    wanllmdb_domain::signed_url::percent_encode(s)
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn named_project(api: &Api) -> (String, String) {
    let name = format!("s-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let p = api
        .ok(
            Method::POST,
            "/api/v1/projects",
            Some(json!({ "name": name })),
        )
        .await;
    (id(&p), name)
}

/// The CLI's `--json` output, as the bootstrap administrator (every server in these tests has
/// the same key, so the shared variables race with nothing).
async fn cli_json(server: &Server, args: &[&str]) -> Value {
    std::env::set_var("WANLLMDB_API_KEY", KEY);
    std::env::set_var("WANLLMDB_CACHE_DIR", server._dir.join("cli-cache"));
    let mut all = vec![
        "wanllmdb".to_owned(),
        "--json".to_owned(),
        "--url".to_owned(),
        server.base.clone(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let (code, out, err) = wanllmdb_cli::run_captured(all).await;
    assert_eq!(code, wanllmdb_cli::exit::OK, "{args:?}: {err}");
    serde_json::from_str(&out).expect("JSON on stdout")
}

async fn artifacts_are_searched_filtered_and_sorted(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let (p, project) = named_project(&api).await;
    let samples = [
        (
            "resnet-a",
            "model",
            json!({"framework": "torch", "accuracy": 0.91, "tags": ["prod"]}),
        ),
        (
            "resnet-b",
            "model",
            json!({"framework": "torch", "accuracy": 0.97, "tags": ["dev"]}),
        ),
        (
            "vit",
            "model",
            json!({"framework": "jax", "accuracy": 0.93, "tags": ["prod", "big"]}),
        ),
        (
            "imagenet",
            "dataset",
            json!({"rows": 1_281_167, "tags": ["prod"]}),
        ),
        ("notes", "file", json!({"accuracy": "n/a"})),
        ("train-code", "code", json!({})),
    ];
    for (name, t, meta) in &samples {
        api.ok(
            Method::POST,
            "/api/v1/artifacts",
            Some(
                json!({ "project_id": p, "name": name, "type": t, "metadata": meta,
                         "description": if *name == "vit" { "Vision Transformer" } else { "" } }),
            ),
        )
        .await;
    }
    let list = |query: String| {
        let api = &api;
        let p = p.clone();
        async move {
            api.ok(
                Method::GET,
                &format!("/api/v1/artifacts?project_id={p}&{query}"),
                None,
            )
            .await
        }
    };
    assert_eq!(
        names(
            &list(format!(
                "filter={}&sort=-metadata.accuracy",
                enc("metadata.accuracy >= 0.92")
            ))
            .await
        ),
        ["resnet-b", "vit"]
    );
    assert_eq!(
        names(
            &list(format!(
                "filter={}&sort=name",
                enc(r#"metadata.tags contains "prod" and metadata.framework != "torch""#)
            ))
            .await
        ),
        ["imagenet", "vit"]
    );
    assert_eq!(
        names(&list("type=dataset&type=code&sort=name".into()).await),
        ["imagenet", "train-code"],
        "a repeated type"
    );
    assert_eq!(
        names(&list("type=file,code&sort=-name".into()).await),
        ["train-code", "notes"],
        "types separated by commas"
    );
    assert_eq!(
        names(&list("q=TRANSFORMER".into()).await),
        ["vit"],
        "q matches the description, any case"
    );
    // Sorted by a metadata key: numbers (descending), then strings, then the rest; ties by id in
    // the same direction (the newer first).
    assert_eq!(
        names(&list("sort=-metadata.accuracy".into()).await),
        [
            "resnet-b",
            "vit",
            "resnet-a",
            "notes",
            "train-code",
            "imagenet"
        ]
    );
    // Pages of two under a metadata sort, each cursor used as given.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("sort=-metadata.accuracy&limit=2&cursor={}", enc(c)),
            None => "sort=-metadata.accuracy&limit=2".to_owned(),
        };
        let page = list(q).await;
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "resnet-b",
            "vit",
            "resnet-a",
            "notes",
            "train-code",
            "imagenet"
        ]
    );

    // Bad input: a 422 that names the token, never a 500.
    for (query, token) in [
        (format!("filter={}", enc("metadata.accuracy ~ 1")), "\"~\""),
        (
            format!("filter={}", enc("metadata.a = 1 or metadata.b = 2")),
            "\"or\"",
        ),
        (format!("filter={}", enc("metadata.a' OR '1'='1 = 1")), "a'"),
        (
            format!("filter={}", enc("metadata.accuracy > true")),
            "\"true\"",
        ),
        ("sort=size".to_owned(), "size"),
        ("type=checkpoint".to_owned(), "checkpoint"),
    ] {
        let (status, body) = api
            .call(
                Method::GET,
                &format!("/api/v1/artifacts?project_id={p}&{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(token)),
            "{query}: {body}"
        );
    }
    // Strings that would end an SQL literal are values like any other.
    let injected = list(format!(
        "filter={}",
        enc(r#"metadata.framework = "x'); DROP TABLE artifacts; --""#)
    ))
    .await;
    assert_eq!(names(&injected), Vec::<String>::new());
    assert_eq!(
        names(&list("sort=name".into()).await).len(),
        6,
        "nothing dropped"
    );
    // A cursor belongs to its sort order; a made-up one is refused.
    let first = list("sort=name&limit=1".into()).await;
    let c = first["next_cursor"].as_str().expect("more than one");
    let (status, body) = api
        .call(
            Method::GET,
            &format!(
                "/api/v1/artifacts?project_id={p}&sort=-metadata.accuracy&cursor={}",
                enc(c)
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/artifacts?project_id={p}&cursor=bm90LWEtY3Vyc29y"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The CLI sends the same search.
    let out = cli_json(
        &server,
        &[
            "artifact",
            "ls",
            "--project",
            &project,
            "--type",
            "model",
            "--filter",
            "metadata.framework = \"torch\"",
            "--sort",
            "-metadata.accuracy",
        ],
    )
    .await;
    let got: Vec<&str> = out
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(got, ["resnet-b", "resnet-a"]);
    let out = cli_json(
        &server,
        &[
            "artifact",
            "ls",
            "--project",
            &project,
            "--sort",
            "name",
            "--limit",
            "3",
        ],
    )
    .await;
    assert_eq!(out.as_array().expect("array").len(), 3, "--limit");
}

async fn versions_are_filtered_and_sorted(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let (p, project) = named_project(&api).await;
    let a = api.artifact(&p, "classifier").await;
    for (i, acc) in [0.71, 0.93, 0.88, 0.95].iter().enumerate() {
        let v = api
            .ok(
                Method::POST,
                &format!("/api/v1/artifacts/{a}/versions"),
                Some(json!({ "metadata": { "accuracy": acc, "epoch": i } })),
            )
            .await;
        if i != 3 {
            api.ok(
                Method::POST,
                &format!("/api/v1/artifacts/versions/{}/finalize", id(&v)),
                None,
            )
            .await;
        }
    }
    let versions = |query: &str| {
        let api = &api;
        let path = format!("/api/v1/artifacts/{a}/versions?{query}");
        async move {
            api.ok(Method::GET, &path, None).await["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|v| v["version"].as_str().expect("version").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        versions("sort=-metadata.accuracy").await,
        ["v3", "v1", "v2", "v0"]
    );
    assert_eq!(
        versions("sort=-metadata.accuracy&finalized=true&limit=1").await,
        ["v1"],
        "the best finalized version first"
    );
    assert_eq!(
        versions(&format!(
            "filter={}",
            enc("metadata.accuracy > 0.8 and metadata.epoch < 3")
        ))
        .await,
        ["v1", "v2"]
    );
    assert_eq!(versions("alias=latest").await, ["v2"]);
    assert_eq!(versions("sort=-index").await, ["v3", "v2", "v1", "v0"]);
    let (status, body) = api
        .call(
            Method::GET,
            &format!("/api/v1/artifacts/{a}/versions?sort=name"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let out = cli_json(
        &server,
        &[
            "artifact",
            "versions",
            "classifier",
            "--project",
            &project,
            "--sort",
            "-metadata.accuracy",
            "--finalized",
            "true",
        ],
    )
    .await;
    let got: Vec<&str> = out
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v["version"].as_str().expect("version"))
        .collect();
    assert_eq!(got, ["v1", "v2", "v0"]);
}

async fn folders_are_listed_with_totals(backend: Backend) {
    let server = start(backend);
    let api = Api::new(&server);
    let (p, project) = named_project(&api).await;
    let a = api.artifact(&p, "dataset").await;
    let v = api.version(&a).await;
    let files: [(&str, &[u8]); 6] = [
        ("README.md", b"# data"),
        ("train/a.bin", b"aaaa"),
        ("train/b.bin", b"bbbbbb"),
        ("train/shard-1/c.bin", b"c"),
        ("val/d.bin", b"dd"),
        ("val/deep/er/e.bin", b"eee"),
    ];
    for (path, bytes) in files {
        api.add_file(&v, path, bytes).await;
    }
    let folder = |prefix: &str| {
        let api = &api;
        let path = format!(
            "/api/v1/artifacts/versions/{v}/files?delimiter=%2F&prefix={}&limit=2",
            enc(prefix)
        );
        async move {
            // Pages of two, followed to the end.
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let url = match &cursor {
                    Some(c) => format!("{path}&cursor={}", enc(c)),
                    None => path.clone(),
                };
                let page = api.ok(Method::GET, &url, None).await;
                for e in page["items"].as_array().expect("items") {
                    out.push(match e["kind"].as_str() {
                        Some("folder") => format!(
                            "{} {} {} {}",
                            e["path"].as_str().expect("path"),
                            e["name"].as_str().expect("name"),
                            e["file_count"],
                            e["total_size"]
                        ),
                        _ => format!("{} {}", e["path"].as_str().expect("path"), e["size"]),
                    });
                }
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => return out,
                }
            }
        }
    };
    assert_eq!(
        folder("").await,
        ["README.md 6", "train/ train 3 11", "val/ val 2 5"]
    );
    assert_eq!(
        folder("train/").await,
        [
            "train/a.bin 4",
            "train/b.bin 6",
            "train/shard-1/ shard-1 1 1"
        ]
    );
    assert_eq!(folder("val/deep/").await, ["val/deep/er/ er 1 3"]);
    assert!(folder("nothing/").await.is_empty());
    for query in [
        "delimiter=%2F&prefix=train",
        "delimiter=%2F&prefix=..%2F",
        "delimiter=x",
    ] {
        let (status, body) = api
            .call(
                Method::GET,
                &format!("/api/v1/artifacts/versions/{v}/files?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
    }
    api.ok(
        Method::POST,
        &format!("/api/v1/artifacts/versions/{v}/finalize"),
        None,
    )
    .await;

    let out = cli_json(
        &server,
        &[
            "artifact",
            "files",
            &format!("{project}/dataset:v0"),
            "--folders",
            "--prefix",
            "val/",
        ],
    )
    .await;
    let got: Vec<(String, String)> = out
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                e["path"].as_str().expect("path").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("file".to_owned(), "val/d.bin".to_owned()),
            ("folder".to_owned(), "val/deep/".to_owned())
        ]
    );
}

on_both_backends!(
    artifacts_are_searched_filtered_and_sorted,
    versions_are_filtered_and_sorted,
    folders_are_listed_with_totals,
);
