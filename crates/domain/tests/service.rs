//! The use cases, end to end on the in-memory adapters.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wanllmdb_domain::error::{Entity, Error};
use wanllmdb_domain::memory::{MemoryBlobStore, MemoryMetadataStore};
use wanllmdb_domain::ports::{stream_from_bytes, BlobStore, PageRequest, Patch};
use wanllmdb_domain::reference::ArtifactRef;
use wanllmdb_domain::service::*;
use wanllmdb_domain::types::*;
use wanllmdb_domain::{entities::*, ids::*};
use wanllmdb_testkit::{MemoryPresignedClient, PresignedClient};

struct Env {
    reg: Registry,
    blobs: Arc<MemoryBlobStore>,
    client: MemoryPresignedClient,
    admin: Actor,
}

async fn env() -> Env {
    env_with(RegistryConfig::default()).await
}

async fn env_with(config: RegistryConfig) -> Env {
    let blobs = Arc::new(MemoryBlobStore::new());
    let reg = Registry::new(Arc::new(MemoryMetadataStore::new()), blobs.clone(), config);
    let (_, key) = reg
        .bootstrap(UserName::parse("admin").expect("name"), None)
        .await
        .expect("bootstrap")
        .expect("first bootstrap creates the admin");
    let admin = reg
        .authenticate(&key.secret)
        .await
        .expect("admin key works");
    Env {
        client: MemoryPresignedClient(blobs.clone()),
        reg,
        blobs,
        admin,
    }
}

impl Env {
    async fn user(&self, name: &str) -> Actor {
        let u = self
            .reg
            .create_user(&self.admin, UserName::parse(name).expect("name"), false)
            .await
            .expect("user");
        let key = self
            .reg
            .create_api_key(&self.admin, u.id, "test")
            .await
            .expect("key");
        self.reg.authenticate(&key.secret).await.expect("auth")
    }

    async fn project(&self, actor: &Actor, name: &str) -> Project {
        self.reg
            .create_project(
                actor,
                ProjectName::parse(name).expect("name"),
                Description::default(),
            )
            .await
            .expect("project")
    }

    async fn artifact(&self, actor: &Actor, project: ProjectId, name: &str) -> Artifact {
        self.reg
            .create_artifact(
                actor,
                CreateArtifact {
                    project_id: project,
                    name: ArtifactName::parse(name).expect("name"),
                    artifact_type: ArtifactType::Model,
                    description: Description::default(),
                    metadata: Metadata::default(),
                },
            )
            .await
            .expect("artifact")
    }

    /// The seed's flow for a set of files: negotiate, PUT what is asked for, register, finalize.
    /// Returns the version and how many files were uploaded.
    async fn log(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        files: &[(&str, &[u8])],
    ) -> (ArtifactVersion, usize) {
        let (v, uploaded) = self.draft(actor, artifact, files).await;
        let done = self
            .reg
            .finalize_version(actor, v.id)
            .await
            .expect("finalize");
        (done.version, uploaded)
    }

    /// A draft with these files uploaded and registered, not finalized.
    async fn draft(
        &self,
        actor: &Actor,
        artifact: ArtifactId,
        files: &[(&str, &[u8])],
    ) -> (ArtifactVersion, usize) {
        let v = self
            .reg
            .create_version(actor, artifact, CreateVersion::default())
            .await
            .expect("version");
        if files.is_empty() {
            return (v, 0);
        }
        let specs: Vec<FileSpec> = files.iter().map(|(p, c)| spec(p, c)).collect();
        let plans = self
            .reg
            .negotiate_uploads(actor, v.id, specs.clone())
            .await
            .expect("negotiate");
        let mut uploaded = 0;
        for (plan, (_, content)) in plans.iter().zip(files) {
            if let UploadAction::Upload { request } = &plan.action {
                let resp = self
                    .client
                    .send(request, Bytes::copy_from_slice(content))
                    .await
                    .expect("send");
                assert!(resp.is_success(), "upload refused: {resp:?}");
                uploaded += 1;
            }
        }
        self.reg
            .register_files(actor, v.id, specs)
            .await
            .expect("register");
        (v, uploaded)
    }
}

fn gc(grace: Duration, dry_run: bool) -> GcOptions {
    GcOptions {
        grace,
        dry_run,
        ..GcOptions::default()
    }
}

fn spec(path: &str, content: &[u8]) -> FileSpec {
    FileSpec {
        path: FilePath::parse(path).expect("path"),
        size: content.len() as u64,
        md5: Some(Md5::of(content)),
        sha256: Sha256::of(content),
        content_type: None,
        storage_key: None,
    }
}

#[track_caller]
fn assert_err<T: std::fmt::Debug>(r: Result<T, Error>, code: &str) {
    match &r {
        Err(e) if e.code() == code => {}
        _ => panic!("expected {code}, got {r:?}"),
    }
}

#[tokio::test]
async fn seed_flow_upload_register_finalize_download() {
    let e = env().await;
    let p = e.project(&e.admin, "vision").await;
    let a = e.artifact(&e.admin, p.id, "resnet").await;
    let (v, uploaded) = e
        .log(
            &e.admin,
            a.id,
            &[("model.pth", b"weights"), ("cfg/config.json", b"{}")],
        )
        .await;
    assert_eq!(uploaded, 2);
    assert_eq!(
        (v.index, v.file_count, v.total_size, v.is_finalized),
        (VersionIndex(0), 2, 9, true)
    );
    assert!(v.digest.is_some());

    let files = e
        .reg
        .list_files(&e.admin, v.id, None, PageRequest::first(10))
        .await
        .expect("files");
    let model = files
        .items
        .iter()
        .find(|f| f.path.as_str() == "model.pth")
        .expect("model file");
    assert_eq!(model.content_type.as_str(), "application/octet-stream");
    assert_eq!(
        files.items[0].content_type.as_str(),
        "application/json",
        "guessed from the extension"
    );
    let expected = wanllmdb_domain::manifest::manifest_digest(files.items.iter().map(|f| {
        wanllmdb_domain::manifest::ManifestEntry {
            path: &f.path,
            sha256: &f.sha256,
            size: f.size,
        }
    }));
    assert_eq!(
        v.digest,
        Some(expected),
        "the digest covers the version's files"
    );
    let target = e
        .reg
        .download_file(&e.admin, model.id)
        .await
        .expect("download url");
    let got = e
        .client
        .send(&target.request, Bytes::new())
        .await
        .expect("get");
    assert_eq!(got.body, Bytes::from_static(b"weights"));
    let stats = e.reg.download_stats(&e.admin, v.id).await.expect("stats");
    assert_eq!(stats.count, 1, "the download was recorded");

    let view = e
        .reg
        .get_version_with_files(&e.admin, v.id, PageRequest::first(1))
        .await
        .expect("with files");
    assert_eq!(view.version.aliases, vec![AliasName::latest()]);
    assert_eq!(view.files.items.len(), 1);
    assert!(view.files.next.is_some());
}

#[tokio::test]
async fn unchanged_files_are_not_uploaded_twice() {
    let e = env().await;
    let p = e.project(&e.admin, "dedup").await;
    let a = e.artifact(&e.admin, p.id, "data").await;
    let (_, first) = e
        .log(
            &e.admin,
            a.id,
            &[("a", b"one"), ("b", b"two"), ("c", b"three")],
        )
        .await;
    assert_eq!(first, 3);
    let (_, second) = e
        .log(
            &e.admin,
            a.id,
            &[("a", b"one"), ("b", b"two, changed"), ("c", b"three")],
        )
        .await;
    assert_eq!(second, 1, "only the changed file is uploaded");
    assert_eq!(e.blobs.object_count(), 4);
    // The same bytes in another artifact of the project are not uploaded either.
    let other = e.artifact(&e.admin, p.id, "copy").await;
    let (_, third) = e.log(&e.admin, other.id, &[("renamed", b"one")]).await;
    assert_eq!(third, 0);
}

#[tokio::test]
async fn dedup_refuses_contradicting_claims() {
    let e = env().await;
    let p = e.project(&e.admin, "claims").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    e.log(&e.admin, a.id, &[("a", b"bytes")]).await;
    let v = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v");
    let mut lie = spec("a", b"bytes");
    lie.size = 999;
    assert_err(
        e.reg.negotiate_upload(&e.admin, v.id, lie.clone()).await,
        "invalid_input",
    );
    assert_err(
        e.reg.register_file(&e.admin, v.id, lie).await,
        "invalid_input",
    );
    let mut wrong_md5 = spec("a", b"bytes");
    wrong_md5.md5 = Some(Md5::of(b"other"));
    assert_err(
        e.reg.register_file(&e.admin, v.id, wrong_md5).await,
        "invalid_input",
    );
}

#[tokio::test]
async fn register_requires_uploaded_bytes() {
    let e = env().await;
    let p = e.project(&e.admin, "reg").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let v = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v");
    assert_err(
        e.reg
            .register_file(&e.admin, v.id, spec("x.bin", b"never sent"))
            .await,
        "precondition_failed",
    );
    let after = e.reg.get_version(&e.admin, v.id).await.expect("v");
    assert_eq!(after.version.file_count, 0, "nothing registered");
}

#[tokio::test]
async fn finalize_refuses_missing_or_wrong_size_blobs() {
    let e = env().await;
    let p = e.project(&e.admin, "fin").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    for (case, damage) in [("missing", 0), ("resized", 1)] {
        let v = e
            .reg
            .create_version(&e.admin, a.id, CreateVersion::default())
            .await
            .expect("v");
        let content = format!("content of {case}");
        let s = spec("w.bin", content.as_bytes());
        let key = e
            .reg
            .upload_bytes(
                &e.admin,
                v.id,
                &s,
                stream_from_bytes(Bytes::from(content.clone())),
            )
            .await
            .expect("upload");
        e.reg
            .register_file(&e.admin, v.id, s)
            .await
            .expect("register");
        if damage == 0 {
            e.blobs.delete(&key).await.expect("delete");
        } else {
            e.blobs.corrupt(&key, Bytes::from_static(b"short"));
        }
        let err = e
            .reg
            .finalize_version(&e.admin, v.id)
            .await
            .expect_err("finalize must fail");
        assert_eq!(err.code(), "precondition_failed", "{case}: {err}");
        assert!(
            err.to_string().contains("w.bin"),
            "the message names the file: {err}"
        );
        let still = e.reg.get_version(&e.admin, v.id).await.expect("v");
        assert!(
            !still.version.is_finalized,
            "{case}: the version stays a draft"
        );
    }
    assert_eq!(
        e.reg
            .get_artifact(&e.admin, a.id)
            .await
            .expect("a")
            .latest_version,
        None
    );
}

#[tokio::test]
async fn files_cannot_change_after_finalize() {
    let e = env().await;
    let p = e.project(&e.admin, "frozen").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let (v, _) = e.log(&e.admin, a.id, &[("a", b"a")]).await;
    assert_err(
        e.reg
            .negotiate_upload(&e.admin, v.id, spec("b", b"b"))
            .await,
        "conflict",
    );
    assert_err(
        e.reg.register_file(&e.admin, v.id, spec("a", b"a")).await,
        "conflict",
    );
    assert_err(
        e.reg
            .upload_bytes(
                &e.admin,
                v.id,
                &spec("b", b"b"),
                stream_from_bytes(Bytes::from_static(b"b")),
            )
            .await,
        "conflict",
    );
    let f = e
        .reg
        .list_files(&e.admin, v.id, None, PageRequest::first(1))
        .await
        .expect("files")
        .items[0]
        .clone();
    assert_err(e.reg.delete_file(&e.admin, f.id).await, "conflict");
    assert_err(e.reg.finalize_version(&e.admin, v.id).await, "conflict");
    // Annotations are still allowed.
    let meta = Metadata::parse(serde_json::json!({"eval": 1})).expect("meta");
    e.reg
        .update_version(
            &e.admin,
            v.id,
            Patch {
                description: None,
                metadata: Some(meta),
            },
        )
        .await
        .expect("annotate");
}

#[tokio::test]
async fn latest_tracks_the_newest_finalized_version() {
    let e = env().await;
    let p = e.project(&e.admin, "latest").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let v0 = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v0");
    let (v1, _) = e.log(&e.admin, a.id, &[("x", b"1")]).await;
    async fn latest(e: &Env) -> VersionId {
        let r: ArtifactRef = "latest/m:latest".parse().expect("reference");
        e.reg
            .resolve(&e.admin, &r, None)
            .await
            .expect("resolve")
            .1
            .id
    }
    assert_eq!(latest(&e).await, v1.id);
    e.reg
        .finalize_version(&e.admin, v0.id)
        .await
        .expect("finalize v0");
    assert_eq!(
        latest(&e).await,
        v1.id,
        "an older version finalized later does not take latest"
    );
    let (v2, _) = e.log(&e.admin, a.id, &[("x", b"2")]).await;
    assert_eq!(latest(&e).await, v2.id);
    e.reg
        .delete_version(&e.admin, v2.id)
        .await
        .expect("delete v2");
    assert_eq!(latest(&e).await, v1.id, "deleting the latest falls back");
    let history = e
        .reg
        .alias_history(&e.admin, a.id, Some(&AliasName::latest()))
        .await
        .expect("history");
    assert_eq!(history.len(), 3);
}

#[tokio::test]
async fn alias_names_that_look_like_versions_or_latest_are_refused() {
    let e = env().await;
    let p = e.project(&e.admin, "alias").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let (v0, _) = e.log(&e.admin, a.id, &[("x", b"1")]).await;
    for bad in ["v3", "v0", "v12345"] {
        assert!(AliasName::parse(bad).is_err(), "{bad} must be refused");
    }
    let latest = AliasName::latest();
    assert_err(
        e.reg
            .set_alias(&e.admin, a.id, &latest, VersionTarget::Id(v0.id))
            .await,
        "invalid_input",
    );
    assert_err(
        e.reg.remove_alias(&e.admin, a.id, &latest).await,
        "invalid_input",
    );
    // Names that merely start with v are fine.
    let ok = AliasName::parse("v3-candidate").expect("fine");
    let (alias, _) = e
        .reg
        .set_alias(&e.admin, a.id, &ok, VersionTarget::Index(VersionIndex(0)))
        .await
        .expect("set");
    assert_eq!(alias.version_id, v0.id);
    let draft = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("draft");
    assert_err(
        e.reg
            .set_alias(&e.admin, a.id, &ok, VersionTarget::Id(draft.id))
            .await,
        "conflict",
    );
}

#[tokio::test]
async fn fifty_concurrent_creators_get_fifty_contiguous_indices() {
    let e = env().await;
    let p = e.project(&e.admin, "race").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let reg = Arc::new(e.reg.clone());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (reg, admin) = (reg.clone(), e.admin);
            tokio::spawn(async move {
                reg.create_version(&admin, a.id, CreateVersion::default())
                    .await
            })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for t in tasks {
        seen.insert(t.await.expect("join").expect("create").index.0);
    }
    assert_eq!(seen, (0..50).collect());
}

#[tokio::test]
async fn roles_gate_reads_and_writes() {
    let e = env().await;
    let owner = e.user("owner").await;
    let viewer = e.user("viewer").await;
    let outsider = e.user("outsider").await;
    let p = e.project(&owner, "team").await;
    e.reg
        .set_member(&owner, p.id, viewer.user_id, Role::Viewer)
        .await
        .expect("add viewer");
    let a = e.artifact(&owner, p.id, "m").await;
    let (v, _) = e.log(&owner, a.id, &[("x", b"x")]).await;

    e.reg
        .get_artifact(&viewer, a.id)
        .await
        .expect("viewer reads");
    e.reg
        .get_version(&viewer, v.id)
        .await
        .expect("viewer reads versions");
    assert_err(
        e.reg
            .create_version(&viewer, a.id, CreateVersion::default())
            .await,
        "forbidden",
    );
    assert_err(e.reg.delete_artifact(&viewer, a.id).await, "forbidden");
    assert_err(
        e.reg
            .set_member(&viewer, p.id, outsider.user_id, Role::Viewer)
            .await,
        "forbidden",
    );
    // Without a role, the project's things do not exist.
    assert_err(e.reg.get_artifact(&outsider, a.id).await, "not_found");
    assert_err(e.reg.get_version(&outsider, v.id).await, "not_found");
    assert_err(
        e.reg
            .create_version(&outsider, a.id, CreateVersion::default())
            .await,
        "not_found",
    );
    let listed = e
        .reg
        .list_artifacts(
            &outsider,
            Default::default(),
            &wanllmdb_domain::ports::Sort::default(),
            PageRequest::first(100),
        )
        .await
        .expect("list");
    assert!(listed.items.is_empty(), "no project, no artifacts");
    let listed = e
        .reg
        .list_artifacts(
            &viewer,
            Default::default(),
            &wanllmdb_domain::ports::Sort::default(),
            PageRequest::first(100),
        )
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    // Registry admins see everything.
    e.reg
        .get_artifact(&e.admin, a.id)
        .await
        .expect("admin reads");
    assert_err(
        e.reg
            .create_user(&owner, UserName::parse("sneaky").expect("n"), true)
            .await,
        "forbidden",
    );
}

#[tokio::test]
async fn a_project_keeps_its_last_admin() {
    let e = env().await;
    let owner = e.user("solo").await;
    let p = e.project(&owner, "solo").await;
    assert_err(
        e.reg
            .set_member(&owner, p.id, owner.user_id, Role::Viewer)
            .await,
        "conflict",
    );
    assert_err(
        e.reg.remove_member(&owner, p.id, owner.user_id).await,
        "conflict",
    );
    let second = e.user("second").await;
    e.reg
        .set_member(&owner, p.id, second.user_id, Role::Admin)
        .await
        .expect("second admin");
    e.reg
        .remove_member(&owner, p.id, owner.user_id)
        .await
        .expect("now the first may leave");
    assert_eq!(
        e.reg
            .list_members(&second, p.id)
            .await
            .expect("members")
            .len(),
        1
    );
}

#[tokio::test]
async fn api_keys_authenticate_until_revoked() {
    let e = env().await;
    assert!(
        e.reg
            .bootstrap(UserName::parse("again").expect("n"), None)
            .await
            .expect("bootstrap")
            .is_none(),
        "bootstrap runs once"
    );
    let u = e
        .reg
        .create_user(&e.admin, UserName::parse("keyholder").expect("n"), false)
        .await
        .expect("user");
    let key = e
        .reg
        .create_api_key(&e.admin, u.id, "laptop")
        .await
        .expect("key");
    assert!(key.secret.starts_with(API_KEY_PREFIX));
    assert_ne!(
        key.key.secret_hash.as_str(),
        key.secret,
        "only a hash is stored"
    );
    let actor = e.reg.authenticate(&key.secret).await.expect("auth");
    assert_eq!((actor.user_id, actor.is_admin), (u.id, false));
    e.reg
        .revoke_api_key(&actor, u.id, key.key.id)
        .await
        .expect("revoke own key");
    assert_err(e.reg.authenticate(&key.secret).await, "unauthenticated");
    assert_err(
        e.reg
            .authenticate("wlm_not-a-real-key-but-long-enough-to-look-real")
            .await,
        "unauthenticated",
    );
    assert_err(e.reg.authenticate("").await, "unauthenticated");
}

#[tokio::test]
async fn bootstrap_with_a_given_key() {
    let blobs = Arc::new(MemoryBlobStore::new());
    let reg = Registry::new(
        Arc::new(MemoryMetadataStore::new()),
        blobs,
        RegistryConfig::default(),
    );
    assert_err(
        reg.bootstrap(UserName::parse("root").expect("n"), Some("short".into()))
            .await,
        "invalid_input",
    );
    let secret = "wlm_automation_key_0123456789abcdefghijklmnopqrstuv".to_owned();
    let (user, key) = reg
        .bootstrap(UserName::parse("root").expect("n"), Some(secret.clone()))
        .await
        .expect("ok")
        .expect("created");
    assert!(user.is_admin);
    assert_eq!(key.secret, secret);
    assert!(reg.authenticate(&secret).await.expect("auth").is_admin);
}

#[tokio::test]
async fn references_resolve() {
    let e = env().await;
    let p = e.project(&e.admin, "refs").await;
    let a = e.artifact(&e.admin, p.id, "bert").await;
    let (v0, _) = e.log(&e.admin, a.id, &[("x", b"0")]).await;
    let (v1, _) = e.log(&e.admin, a.id, &[("x", b"1")]).await;
    e.reg
        .set_alias(
            &e.admin,
            a.id,
            &AliasName::parse("best").expect("a"),
            VersionTarget::Id(v0.id),
        )
        .await
        .expect("alias");
    for (r, want) in [
        ("bert", v1.id),
        ("bert:latest", v1.id),
        ("bert:v0", v0.id),
        ("bert:best", v0.id),
        ("refs/bert:v1", v1.id),
    ] {
        let parsed: ArtifactRef = r.parse().expect("parse");
        let (_, v) = e
            .reg
            .resolve(&e.admin, &parsed, Some(p.id))
            .await
            .expect("resolve");
        assert_eq!(v.id, want, "{r}");
    }
    let no_project: ArtifactRef = "bert:v0".parse().expect("parse");
    assert_err(
        e.reg.resolve(&e.admin, &no_project, None).await,
        "invalid_input",
    );
    for missing in ["refs/bert:v7", "refs/bert:nope", "refs/gpt", "nope/bert"] {
        let parsed: ArtifactRef = missing.parse().expect("parse");
        assert_err(e.reg.resolve(&e.admin, &parsed, None).await, "not_found");
    }
}

#[tokio::test]
async fn diff_classifies_changes() {
    let e = env().await;
    let p = e.project(&e.admin, "diff").await;
    let a = e.artifact(&e.admin, p.id, "d").await;
    let (v0, _) = e
        .log(
            &e.admin,
            a.id,
            &[
                ("same", b"s"),
                ("edit", b"old"),
                ("gone", b"g"),
                ("move/from", b"m"),
            ],
        )
        .await;
    let (v1, _) = e
        .log(
            &e.admin,
            a.id,
            &[
                ("same", b"s"),
                ("edit", b"new"),
                ("new", b"n"),
                ("move/to", b"m"),
            ],
        )
        .await;
    let d = e
        .reg
        .diff_versions(&e.admin, v0.id, v1.id, Default::default())
        .await
        .expect("diff");
    let paths = |fs: &[ArtifactFile]| fs.iter().map(|f| f.path.to_string()).collect::<Vec<_>>();
    assert_eq!(paths(&d.added), vec!["new"]);
    assert_eq!(paths(&d.removed), vec!["gone"]);
    assert_eq!(
        d.modified
            .iter()
            .map(|c| c.to.path.to_string())
            .collect::<Vec<_>>(),
        vec!["edit"]
    );
    assert_eq!(
        d.renamed
            .iter()
            .map(|c| (c.from.path.to_string(), c.to.path.to_string()))
            .collect::<Vec<_>>(),
        vec![("move/from".to_owned(), "move/to".to_owned())]
    );
    assert_eq!(d.unchanged, 1);
    let same = e
        .reg
        .diff_versions(&e.admin, v1.id, v1.id, Default::default())
        .await
        .expect("self diff");
    assert_eq!((same.unchanged, same.added.len()), (4, 0));
}

#[tokio::test]
async fn lineage_walks_producers_and_consumers() {
    let e = env().await;
    let p = e.project(&e.admin, "lineage").await;
    let data = e.artifact(&e.admin, p.id, "data").await;
    let model = e.artifact(&e.admin, p.id, "model").await;
    let (raw, _) = e.log(&e.admin, data.id, &[("raw", b"r")]).await;
    let prep = e
        .reg
        .create_run(
            &e.admin,
            p.id,
            RunName::parse("prep").expect("n"),
            Metadata::default(),
        )
        .await
        .expect("run");
    let train = e
        .reg
        .create_run(
            &e.admin,
            p.id,
            RunName::parse("train").expect("n"),
            Metadata::default(),
        )
        .await
        .expect("run");
    let eval = e
        .reg
        .create_run(
            &e.admin,
            p.id,
            RunName::parse("eval").expect("n"),
            Metadata::default(),
        )
        .await
        .expect("run");
    // prep: raw -> clean; train: clean -> weights; eval uses weights.
    e.reg
        .mark_used(&e.admin, prep.id, raw.id)
        .await
        .expect("use raw");
    let clean = e
        .reg
        .create_version(
            &e.admin,
            data.id,
            CreateVersion {
                run_id: Some(prep.id),
                ..Default::default()
            },
        )
        .await
        .expect("clean");
    e.reg
        .finalize_version(&e.admin, clean.id)
        .await
        .expect("fin");
    let clean_ref: ArtifactRef = "lineage/data:latest".parse().expect("ref");
    e.reg
        .use_artifact(&e.admin, &clean_ref, None, Some(train.id))
        .await
        .expect("use clean");
    let weights = e
        .reg
        .create_version(&e.admin, model.id, CreateVersion::default())
        .await
        .expect("w");
    e.reg
        .mark_produced(&e.admin, train.id, weights.id)
        .await
        .expect("produced");
    e.reg
        .finalize_version(&e.admin, weights.id)
        .await
        .expect("fin");
    e.reg
        .mark_used(&e.admin, eval.id, weights.id)
        .await
        .expect("eval uses");

    let one = e
        .reg
        .lineage(&e.admin, weights.id, 1)
        .await
        .expect("depth 1");
    let ids = |l: &Lineage| l.versions.iter().map(|v| v.id).collect::<BTreeSet<_>>();
    assert_eq!(ids(&one), BTreeSet::from([weights.id, clean.id]));
    assert_eq!(
        one.runs.iter().map(|r| r.id).collect::<BTreeSet<_>>(),
        BTreeSet::from([train.id, eval.id])
    );
    assert!(one.edges.contains(&LineageEdge {
        run: train.id,
        version: weights.id,
        kind: EdgeKind::Produced
    }));
    assert!(one.edges.contains(&LineageEdge {
        run: train.id,
        version: clean.id,
        kind: EdgeKind::Used
    }));
    assert!(one.edges.contains(&LineageEdge {
        run: eval.id,
        version: weights.id,
        kind: EdgeKind::Used
    }));
    let two = e
        .reg
        .lineage(&e.admin, weights.id, 2)
        .await
        .expect("depth 2");
    assert_eq!(
        ids(&two),
        BTreeSet::from([weights.id, clean.id, raw.id]),
        "depth 2 reaches the raw data"
    );
    let down = e
        .reg
        .lineage(&e.admin, raw.id, 3)
        .await
        .expect("downstream");
    assert!(
        ids(&down).contains(&weights.id),
        "raw data leads to the weights"
    );
    assert_err(e.reg.lineage(&e.admin, raw.id, 0).await, "invalid_input");
    let draft = e
        .reg
        .create_version(&e.admin, data.id, CreateVersion::default())
        .await
        .expect("draft");
    assert_err(
        e.reg.mark_used(&e.admin, eval.id, draft.id).await,
        "conflict",
    );
}

#[tokio::test]
async fn proxied_upload_verifies_digests() {
    let e = env().await;
    let p = e.project(&e.admin, "proxy").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let v = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v");
    let s = spec("big.bin", b"the real bytes");
    let err = e
        .reg
        .upload_bytes(
            &e.admin,
            v.id,
            &s,
            stream_from_bytes(Bytes::from_static(b"tampered bytes")),
        )
        .await;
    assert_err(err, "invalid_input");
    assert_eq!(e.blobs.object_count(), 0, "nothing stored on a mismatch");
    e.reg
        .upload_bytes(
            &e.admin,
            v.id,
            &s,
            stream_from_bytes(Bytes::from_static(b"the real bytes")),
        )
        .await
        .expect("upload");
    e.reg
        .register_file(&e.admin, v.id, s)
        .await
        .expect("register");
    let (file, read) = {
        let f = e
            .reg
            .list_files(&e.admin, v.id, None, PageRequest::first(1))
            .await
            .expect("files")
            .items[0]
            .clone();
        e.reg
            .read_file(
                &e.admin,
                f.id,
                Some(wanllmdb_domain::ports::ByteRange::From {
                    start: 4,
                    end: Some(7),
                }),
            )
            .await
            .expect("read")
    };
    assert_eq!(file.path.as_str(), "big.bin");
    let body = wanllmdb_domain::ports::collect_stream(read.body)
        .await
        .expect("body");
    assert_eq!(body, Bytes::from_static(b"real"));
    // A range (a preview) is not a download; a whole read is.
    let stats = e.reg.download_stats(&e.admin, v.id).await.expect("stats");
    assert_eq!(stats.count, 0, "a range read was counted as a download");
    e.reg
        .read_file(&e.admin, file.id, None)
        .await
        .expect("whole read");
    let stats = e.reg.download_stats(&e.admin, v.id).await.expect("stats");
    assert_eq!(stats.count, 1, "a whole read was not counted");
}

#[tokio::test]
async fn garbage_collection_removes_only_unreferenced_bytes() {
    let e = env().await;
    let p = e.project(&e.admin, "gc").await;
    let keep = e.artifact(&e.admin, p.id, "keep").await;
    let drop = e.artifact(&e.admin, p.id, "drop").await;
    e.log(&e.admin, keep.id, &[("shared", b"shared")]).await;
    e.log(
        &e.admin,
        drop.id,
        &[("shared", b"shared"), ("own", b"own bytes")],
    )
    .await;
    assert_eq!(e.blobs.object_count(), 2);
    e.reg
        .delete_artifact(&e.admin, drop.id)
        .await
        .expect("delete");
    let recent = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::from_secs(3600), false))
        .await
        .expect("gc");
    assert_eq!(recent.blobs, 0, "the grace period protects recent blobs");
    let dry = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::ZERO, true))
        .await
        .expect("dry run");
    assert_eq!((dry.blobs, dry.bytes), (1, 9));
    assert_eq!(e.blobs.object_count(), 2, "a dry run deletes nothing");
    let real = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::ZERO, false))
        .await
        .expect("gc");
    assert_eq!((real.blobs, real.bytes), (1, 9));
    assert_eq!(e.blobs.object_count(), 1, "the shared blob stays");
    let user = e.user("plain").await;
    assert_err(
        e.reg.collect_garbage(&user, gc(Duration::ZERO, true)).await,
        "forbidden",
    );
}

#[tokio::test]
async fn garbage_collection_drops_abandoned_drafts_and_uploads() {
    let e = env().await;
    let p = e.project(&e.admin, "stale").await;
    let a = e.artifact(&e.admin, p.id, "a").await;
    let (done, _) = e.log(&e.admin, a.id, &[("kept", b"kept")]).await;
    let (draft, _) = e
        .draft(
            &e.admin,
            a.id,
            &[("kept", b"kept"), ("lost", b"lost bytes")],
        )
        .await;
    let key = wanllmdb_domain::keys::ObjectKey::blob(p.id, &Sha256::of(b"never finished"));
    let upload = e
        .blobs
        .create_multipart(&key, 5 << 20)
        .await
        .expect("start upload");
    assert_eq!(e.blobs.object_count(), 2);

    let recent = e
        .reg
        .collect_garbage(
            &e.admin,
            GcOptions {
                grace: Duration::ZERO,
                stale_after: Duration::from_secs(3600),
                dry_run: false,
            },
        )
        .await
        .expect("gc");
    assert_eq!(
        (recent.drafts, recent.multipart_uploads, recent.blobs),
        (0, 0, 0),
        "young drafts and uploads are in progress"
    );
    let stale = GcOptions {
        grace: Duration::ZERO,
        stale_after: Duration::ZERO,
        dry_run: true,
    };
    let dry = e.reg.collect_garbage(&e.admin, stale).await.expect("dry");
    assert_eq!((dry.drafts, dry.multipart_uploads), (1, 1));
    e.reg
        .get_version(&e.admin, draft.id)
        .await
        .expect("a dry run deletes nothing");
    let real = e
        .reg
        .collect_garbage(
            &e.admin,
            GcOptions {
                dry_run: false,
                ..stale
            },
        )
        .await
        .expect("gc");
    assert_eq!(
        (real.drafts, real.multipart_uploads, real.blobs, real.bytes),
        (1, 1, 1, 10),
        "the draft, its own bytes and the upload go"
    );
    assert_err(e.reg.get_version(&e.admin, draft.id).await, "not_found");
    assert!(e.blobs.list_parts(&key, &upload).await.is_err(), "aborted");
    let kept = e.reg.get_version(&e.admin, done.id).await.expect("kept");
    assert!(kept.version.is_finalized);
    assert_eq!(
        e.blobs.object_count(),
        1,
        "the finalized version's bytes stay"
    );
    let artifact = e.reg.get_artifact(&e.admin, a.id).await.expect("artifact");
    assert_eq!(artifact.version_count, 1);
}

#[tokio::test]
async fn batches_are_bounded() {
    let e = env().await;
    let p = e.project(&e.admin, "batch").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let v = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v");
    assert_err(
        e.reg.negotiate_uploads(&e.admin, v.id, vec![]).await,
        "invalid_input",
    );
    let too_many: Vec<FileSpec> = (0..10_001).map(|i| spec(&format!("f{i}"), b"x")).collect();
    assert_err(
        e.reg.register_files(&e.admin, v.id, too_many).await,
        "invalid_input",
    );
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let e = env().await;
    assert!(matches!(
        e.reg.get_artifact(&e.admin, ArtifactId::new()).await,
        Err(Error::NotFound {
            entity: Entity::Artifact,
            ..
        })
    ));
    assert!(matches!(
        e.reg.get_version(&e.admin, VersionId::new()).await,
        Err(Error::NotFound {
            entity: Entity::Version,
            ..
        })
    ));
    assert!(matches!(
        e.reg.get_file(&e.admin, FileId::new()).await,
        Err(Error::NotFound {
            entity: Entity::File,
            ..
        })
    ));
    assert!(matches!(
        e.reg.get_run(&e.admin, RunId::new()).await,
        Err(Error::NotFound {
            entity: Entity::Run,
            ..
        })
    ));
}

/// A client may negotiate without the MD5 (it takes it while sending): the plan is then in
/// parts even for a small file, completing and registering need the MD5, and bytes already
/// stored come with theirs.
#[tokio::test]
async fn a_spec_without_md5_is_sent_in_parts_and_names_it_at_complete() {
    let e = env().await;
    let p = e.project(&e.admin, "nomd5").await;
    let a = e.artifact(&e.admin, p.id, "m").await;
    let (v, _) = e.draft(&e.admin, a.id, &[]).await;
    let content = b"bytes whose MD5 comes later";
    let full = spec("a.bin", content);
    let bare = FileSpec {
        md5: None,
        ..full.clone()
    };
    let plan = e
        .reg
        .negotiate_upload(&e.admin, v.id, bare.clone())
        .await
        .expect("negotiate");
    assert_eq!(plan.md5, None);
    let UploadAction::Multipart(m) = plan.action else {
        panic!("no single PUT is bound without an MD5: {plan:?}")
    };
    assert_eq!(m.parts.len(), 1);
    let sent = e
        .client
        .send(&m.parts[0].request, Bytes::copy_from_slice(content))
        .await
        .expect("send");
    let parts = vec![wanllmdb_domain::ports::CompletedPart {
        part_number: 1,
        etag: sent.etag.expect("etag"),
    }];
    assert_err(
        e.reg
            .complete_multipart(&e.admin, v.id, &bare, &m.upload_id, &parts)
            .await,
        "invalid_input",
    );
    e.reg
        .complete_multipart(&e.admin, v.id, &full, &m.upload_id, &parts)
        .await
        .expect("complete");
    assert_err(
        e.reg.register_file(&e.admin, v.id, bare.clone()).await,
        "invalid_input",
    );
    let file = e
        .reg
        .register_file(&e.admin, v.id, full.clone())
        .await
        .expect("register");
    assert_eq!(Some(file.md5), full.md5);
    let again = e
        .reg
        .negotiate_upload(&e.admin, v.id, bare)
        .await
        .expect("negotiate again");
    assert_eq!(again.action, UploadAction::AlreadyStored);
    assert_eq!(again.md5, full.md5, "the stored bytes' MD5");
}

#[tokio::test]
async fn large_files_upload_in_parts_and_resume() {
    let mib = 1024 * 1024;
    let e = env_with(RegistryConfig {
        multipart_threshold: 6 * mib,
        part_size: 5 * mib,
        ..RegistryConfig::default()
    })
    .await;
    let p = e.project(&e.admin, "multi").await;
    let a = e.artifact(&e.admin, p.id, "ckpt").await;
    let v = e
        .reg
        .create_version(&e.admin, a.id, CreateVersion::default())
        .await
        .expect("v");
    let data: Vec<u8> = (0..(11 * mib as usize + 123))
        .map(|i| (i % 251) as u8)
        .collect();
    let s = spec("ckpt.bin", &data);
    let plan = e
        .reg
        .negotiate_upload(&e.admin, v.id, s.clone())
        .await
        .expect("negotiate");
    let UploadAction::Multipart(m) = plan.action else {
        panic!("a large file is uploaded in parts: {plan:?}")
    };
    assert_eq!((m.part_size, m.parts.len()), (5 * mib, 3));
    assert_eq!(
        m.parts.iter().map(|p| p.size).sum::<u64>(),
        data.len() as u64
    );
    // Part 1, then the client stops; it asks what is done and sends the rest.
    let send = |n: usize| {
        let part = &m.parts[n];
        let start = n * 5 * mib as usize;
        let bytes = Bytes::copy_from_slice(&data[start..start + part.size as usize]);
        let client = e.client.clone();
        let req = part.request.clone();
        async move { client.send(&req, bytes).await.expect("send part") }
    };
    let first = send(0).await;
    assert!(first.is_success());
    let done = e
        .reg
        .multipart_parts(&e.admin, v.id, &s.sha256, &m.upload_id)
        .await
        .expect("parts");
    assert_eq!(
        done.iter().map(|p| p.part_number).collect::<Vec<_>>(),
        vec![1]
    );
    let mut parts = vec![wanllmdb_domain::ports::CompletedPart {
        part_number: 1,
        etag: done[0].etag.clone(),
    }];
    for n in 1..3 {
        let r = send(n).await;
        parts.push(wanllmdb_domain::ports::CompletedPart {
            part_number: n as u32 + 1,
            etag: r.etag.expect("etag"),
        });
    }
    // Completing with a wrong digest keeps nothing; the right one stores the file.
    let mut wrong = s.clone();
    wrong.sha256 = Sha256::of(b"something else");
    assert!(e
        .reg
        .complete_multipart(&e.admin, v.id, &wrong, &m.upload_id, &parts)
        .await
        .is_err());
    let plan = e
        .reg
        .negotiate_upload(&e.admin, v.id, s.clone())
        .await
        .expect("again");
    let UploadAction::Multipart(m) = plan.action else {
        panic!("still not stored")
    };
    for (n, part) in m.parts.iter().enumerate() {
        let start = n * 5 * mib as usize;
        let r = e
            .client
            .send(
                &part.request,
                Bytes::copy_from_slice(&data[start..start + part.size as usize]),
            )
            .await
            .expect("send");
        parts[n].etag = r.etag.expect("etag");
    }
    e.reg
        .complete_multipart(&e.admin, v.id, &s, &m.upload_id, &parts)
        .await
        .expect("complete");
    e.reg
        .register_file(&e.admin, v.id, s)
        .await
        .expect("register");
    let done = e
        .reg
        .finalize_version(&e.admin, v.id)
        .await
        .expect("finalize");
    assert_eq!(done.version.total_size, data.len() as u64);
}

#[tokio::test]
async fn garbage_collection_drops_bytes_never_registered() {
    let e = env().await;
    let p = e.project(&e.admin, "orphans").await;
    let a = e.artifact(&e.admin, p.id, "a").await;
    e.log(&e.admin, a.id, &[("kept", b"kept")]).await;
    // Bytes uploaded (presigned PUT, or through the server) whose file was never registered.
    let (draft, _) = e.draft(&e.admin, a.id, &[]).await;
    let lonely = spec("lonely", b"uploaded, never registered");
    let plan = e
        .reg
        .negotiate_upload(&e.admin, draft.id, lonely.clone())
        .await
        .expect("plan");
    let UploadAction::Upload { request } = plan.action else {
        panic!("a small new file gets one PUT: {plan:?}");
    };
    let sent = e
        .client
        .send(&request, Bytes::from_static(b"uploaded, never registered"))
        .await
        .expect("PUT");
    assert!(sent.is_success());
    e.reg
        .upload_bytes(
            &e.admin,
            draft.id,
            &spec("streamed", b"through the server"),
            stream_from_bytes(Bytes::from_static(b"through the server")),
        )
        .await
        .expect("upload through the server");
    // A key under the registry's prefix that is no blob key at all.
    let stray =
        wanllmdb_domain::keys::ObjectKey::parse(format!("projects/{}/stray", p.id)).expect("key");
    e.blobs
        .put(
            &stray,
            stream_from_bytes(Bytes::from_static(b"x")),
            &Default::default(),
        )
        .await
        .expect("put");
    assert_eq!(e.blobs.object_count(), 4);

    let young = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::from_secs(3600), false))
        .await
        .expect("gc");
    assert_eq!(
        young.orphan_objects, 0,
        "uploads within the grace period may still register"
    );
    let dry = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::ZERO, true))
        .await
        .expect("dry");
    assert_eq!((dry.orphan_objects, dry.orphan_bytes), (3, 26 + 18 + 1));
    assert_eq!(e.blobs.object_count(), 4, "a dry run deletes nothing");
    let real = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::ZERO, false))
        .await
        .expect("gc");
    assert_eq!(
        (real.orphan_objects, real.orphan_bytes, real.blobs),
        (3, 45, 0)
    );
    assert_eq!(e.blobs.object_count(), 1, "the registered bytes stay");
    let again = e
        .reg
        .collect_garbage(&e.admin, gc(Duration::ZERO, false))
        .await
        .expect("gc");
    assert_eq!(again.orphan_objects, 0);
}

#[tokio::test]
async fn sizes_above_the_maximum_are_refused_before_anything_is_planned() {
    let e = env_with(RegistryConfig {
        max_object_size: 1 << 20,
        ..RegistryConfig::default()
    })
    .await;
    let p = e.project(&e.admin, "huge").await;
    let a = e.artifact(&e.admin, p.id, "a").await;
    let (draft, _) = e.draft(&e.admin, a.id, &[]).await;
    let mut huge = spec("huge.bin", b"x");
    for size in [(1 << 20) + 1, 1 << 63, u64::MAX] {
        huge.size = size;
        for r in [
            e.reg
                .negotiate_uploads(&e.admin, draft.id, vec![huge.clone()])
                .await
                .map(|_| ()),
            e.reg
                .register_files(&e.admin, draft.id, vec![huge.clone()])
                .await
                .map(|_| ()),
            e.reg
                .upload_bytes(
                    &e.admin,
                    draft.id,
                    &huge,
                    stream_from_bytes(Bytes::from_static(b"x")),
                )
                .await
                .map(|_| ()),
            e.reg
                .multipart_part_urls(&e.admin, draft.id, &huge, "u", &[2])
                .await
                .map(|_| ()),
        ] {
            match r {
                Err(Error::Invalid(v)) => {
                    assert_eq!(v.field, "size");
                    assert!(v.message.contains("largest file"), "{}", v.message);
                }
                other => panic!("size {size}: expected invalid_input, got {other:?}"),
            }
        }
    }
    assert_eq!(e.blobs.object_count(), 0, "nothing was stored");
}

#[tokio::test]
/// A version names a run of its own project: another project's run is unknown to it (as one
/// the caller cannot see would be), and a run cannot produce another project's version.
async fn a_run_of_another_project_is_not_found_like_an_unknown_one() {
    let e = env().await;
    let p = e.project(&e.admin, "mine").await;
    let other = e.project(&e.admin, "theirs").await;
    let a = e.artifact(&e.admin, p.id, "a").await;
    let foreign = e
        .reg
        .create_run(
            &e.admin,
            other.id,
            RunName::parse("elsewhere").expect("n"),
            Metadata::default(),
        )
        .await
        .expect("run");
    let (draft, _) = e.draft(&e.admin, a.id, &[]).await;
    assert_err(
        e.reg.mark_produced(&e.admin, foreign.id, draft.id).await,
        "invalid_input",
    );
    assert_err(
        e.reg
            .create_version(
                &e.admin,
                a.id,
                CreateVersion {
                    run_id: Some(foreign.id),
                    ..CreateVersion::default()
                },
            )
            .await,
        "not_found",
    );
}

#[tokio::test]
async fn finalize_and_diff_page_through_versions_larger_than_a_page() {
    let e = env().await;
    let p = e.project(&e.admin, "wide").await;
    let a = e.artifact(&e.admin, p.id, "a").await;
    let contents: Vec<(String, Vec<u8>)> = (0..2500)
        .map(|i| (format!("f/{i:05}"), format!("{}", i % 7).into_bytes()))
        .collect();
    let files: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let (v0, _) = e.log(&e.admin, a.id, &files).await;
    assert_eq!(v0.file_count, 2500);
    let mut changed = contents.clone();
    changed[1200].1 = b"new".to_vec();
    changed.remove(2400);
    changed.push(("g/added".into(), b"added bytes".to_vec()));
    let files: Vec<(&str, &[u8])> = changed
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let (v1, _) = e.log(&e.admin, a.id, &files).await;
    let d = e
        .reg
        .diff_versions(&e.admin, v0.id, v1.id, Default::default())
        .await
        .expect("diff");
    assert_eq!(d.unchanged, 2498);
    assert_eq!(d.modified.len(), 1);
    assert_eq!(d.modified[0].to.path.as_str(), "f/01200");
    assert_eq!((d.removed.len(), d.added.len(), d.truncated), (1, 1, false));
    assert_eq!(d.removed[0].path.as_str(), "f/02400");
    assert_eq!(d.added[0].path.as_str(), "g/added");

    // The same comparison a few changes at a time: pages join into the whole, none over its
    // limit, and listings of the versions (1,000 files each) are crossed on the way.
    let mut many = contents.clone();
    for i in (0..2500).step_by(97) {
        many[i].1 = format!("changed {i}").into_bytes();
    }
    many.retain(|(p, _)| !p.ends_with('3') || p.as_str() < "f/02000");
    many.push(("h/new".into(), b"new file".to_vec()));
    let many_files: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let (v2, _) = e.log(&e.admin, a.id, &many_files).await;
    let whole = e
        .reg
        .diff_versions(&e.admin, v0.id, v2.id, Default::default())
        .await
        .expect("diff");
    assert!(!whole.truncated && whole.next.is_none());
    let (mut modified, mut removed, mut added, mut unchanged, mut pages) =
        (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    let mut after = None;
    loop {
        let page = e
            .reg
            .diff_versions(
                &e.admin,
                v0.id,
                v2.id,
                wanllmdb_domain::service::DiffPage { after, limit: 7 },
            )
            .await
            .expect("page");
        pages += 1;
        assert!(page.modified.len() + page.removed.len() + page.added.len() <= 7);
        modified.extend(page.modified.iter().map(|c| c.to.path.to_string()));
        removed.extend(page.removed.iter().map(|f| f.path.to_string()));
        added.extend(page.added.iter().map(|f| f.path.to_string()));
        unchanged += page.unchanged;
        assert_eq!(page.truncated, page.next.is_some());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let paths = |v: &[wanllmdb_domain::entities::ArtifactFile]| -> Vec<String> {
        v.iter().map(|f| f.path.to_string()).collect()
    };
    assert_eq!(
        modified,
        whole
            .modified
            .iter()
            .map(|c| c.to.path.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(removed, paths(&whole.removed));
    assert_eq!(added, paths(&whole.added));
    assert_eq!(unchanged, whole.unchanged);
    let changes = whole.modified.len() + whole.removed.len() + whole.added.len();
    assert!(pages >= changes / 7, "{pages} pages for {changes} changes");

    // A missing blob on a later page is still found.
    let (draft, _) = e.draft(&e.admin, a.id, &files).await;
    let gone = wanllmdb_domain::keys::ObjectKey::blob(p.id, &Sha256::of(b"added bytes"));
    e.blobs.delete(&gone).await.expect("delete");
    let err = e
        .reg
        .finalize_version(&e.admin, draft.id)
        .await
        .expect_err("bytes are missing");
    assert!(
        err.to_string().contains("g/added: bytes not uploaded"),
        "{err}"
    );
}

/// A safetensors file: the header, then `data` bytes of zeros.
fn safetensors(header: &str, data: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data, 0);
    out
}

#[tokio::test]
async fn inspecting_a_model_reads_its_header_not_its_bytes() {
    let e = env().await;
    let p = e.project(&e.admin, "llm").await;
    let a = e.artifact(&e.admin, p.id, "tiny-llama").await;
    let data = 48 << 20;
    let big = safetensors(
        &format!(
            r#"{{"__metadata__":{{"format":"pt"}},"embed.weight":{{"dtype":"BF16","shape":[4096,2048],"data_offsets":[0,{}]}},"head.bias":{{"dtype":"F32","shape":[16],"data_offsets":[{},{}]}}}}"#,
            data - 64,
            data - 64,
            data
        ),
        data,
    );
    let shard1 = safetensors(
        r#"{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]}}"#,
        8,
    );
    let shard2 = safetensors(
        r#"{"b":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}}"#,
        6,
    );
    let index = br#"{"metadata":{"total_size":14},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#;
    let outside = br#"{"weight_map":{"a":"../secret.safetensors"}}"#;
    let (v, _) = e
        .log(
            &e.admin,
            a.id,
            &[
                ("model.safetensors", &big),
                ("sharded/model-00001-of-00002.safetensors", &shard1),
                ("sharded/model-00002-of-00002.safetensors", &shard2),
                ("sharded/model.safetensors.index.json", index),
                ("bad/model.safetensors.index.json", outside),
                ("notes.txt", b"plain text"),
            ],
        )
        .await;
    let files = e
        .reg
        .list_files(&e.admin, v.id, None, PageRequest::first(10))
        .await
        .expect("files");
    let file = |path: &str| {
        files
            .items
            .iter()
            .find(|f| f.path.as_str() == path)
            .unwrap_or_else(|| panic!("{path}"))
            .id
    };

    let before = e.blobs.bytes_served();
    let i = e
        .reg
        .inspect_file(&e.admin, file("model.safetensors"))
        .await
        .expect("inspect");
    let read = e.blobs.bytes_served() - before;
    assert!(
        read < 1 << 20,
        "read {read} bytes of a {} byte file",
        big.len()
    );
    assert_eq!(read, i.bytes_read);
    let names: Vec<&str> = i.summary.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["embed.weight", "head.bias"]);
    assert_eq!(i.summary.parameter_count, 4096 * 2048 + 16);
    assert_eq!(i.summary.metadata[0].key, "format");

    let sharded = e
        .reg
        .inspect_file(&e.admin, file("sharded/model.safetensors.index.json"))
        .await
        .expect("index");
    assert_eq!(sharded.shards.len(), 2);
    assert_eq!(
        sharded.shards[1].path,
        "sharded/model-00002-of-00002.safetensors"
    );
    assert_eq!(
        (
            sharded.summary.tensor_count,
            sharded.summary.parameter_count
        ),
        (2, 7)
    );
    assert_eq!(sharded.summary.metadata[0].key, "total_size");

    assert_err(
        e.reg
            .inspect_file(&e.admin, file("bad/model.safetensors.index.json"))
            .await,
        "invalid_input",
    );
    assert_err(
        e.reg.inspect_file(&e.admin, file("notes.txt")).await,
        "invalid_input",
    );
    let stranger = e.user("stranger").await;
    assert_err(
        e.reg
            .inspect_file(&stranger, file("model.safetensors"))
            .await,
        "not_found",
    );
}

#[tokio::test]
async fn sessions_expire_and_end() {
    let e = env_with(RegistryConfig {
        session_ttl: Duration::from_millis(300),
        ..RegistryConfig::default()
    })
    .await;
    let user = e.user("browser").await;
    let key = e
        .reg
        .create_api_key(&e.admin, user.user_id, "web")
        .await
        .expect("key");
    let new = e.reg.create_session(&key.secret).await.expect("session");
    assert!(new.secret.starts_with(SESSION_PREFIX));
    let (actor, session) = e.reg.authenticate_session(&new.secret).await.expect("live");
    assert_eq!((actor, session.id), (user, new.session.id));
    assert_ne!(session.csrf_token, new.secret);
    // Neither the key nor the CSRF token is a session.
    for not_a_session in [&key.secret, &session.csrf_token] {
        assert_err(
            e.reg.authenticate_session(not_a_session).await,
            "unauthenticated",
        );
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_err(
        e.reg.authenticate_session(&new.secret).await,
        "unauthenticated",
    );

    let ended = e.reg.create_session(&key.secret).await.expect("second");
    e.reg.end_session(ended.session.id).await.expect("sign out");
    assert_err(
        e.reg.authenticate_session(&ended.secret).await,
        "unauthenticated",
    );
    // A revoked key signs nobody in.
    e.reg
        .revoke_api_key(&e.admin, user.user_id, key.key.id)
        .await
        .expect("revoke");
    assert_err(e.reg.create_session(&key.secret).await, "unauthenticated");
}
