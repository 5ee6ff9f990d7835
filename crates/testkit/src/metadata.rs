//! The metadata contract: every check the port docs promise, for any adapter.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use wanllmdb_domain::entities::*;
use wanllmdb_domain::error::Entity;
use wanllmdb_domain::ids::*;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::types::*;

use crate::fixtures::{self, collect_pages, new_file, new_version, unique, World};

type Store = Arc<dyn MetadataStore>;

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: StoreResult<T>, entity: Entity) {
    match r {
        Err(StoreError::NotFound { entity: e, .. }) => {
            assert_eq!(e, entity, "NotFound names the wrong entity")
        }
        other => panic!("expected NotFound({entity}), got {other:?}"),
    }
}

#[track_caller]
fn assert_exists<T: std::fmt::Debug>(r: StoreResult<T>, entity: Entity) {
    match r {
        Err(StoreError::AlreadyExists { entity: e, .. }) => {
            assert_eq!(e, entity, "AlreadyExists names the wrong entity")
        }
        other => panic!("expected AlreadyExists({entity}), got {other:?}"),
    }
}

/// The typed failure an operation with its own error enum must report.
macro_rules! assert_fails {
    ($r:expr, $pat:pat) => {
        match $r {
            Err($pat) => {}
            other => panic!("expected {}, got {other:?}", stringify!($pat)),
        }
    };
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(r: StoreResult<T>) {
    match r {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

fn key(user: UserId, hash_of: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        user_id: user,
        label: "test".into(),
        secret_hash: Sha256::of(hash_of.as_bytes()),
        prefix: "wlm_test".into(),
        created_at: now(),
        revoked_at: None,
    }
}

pub async fn users_and_names(store: Store) {
    let u = store
        .create_user(fixtures::user("alice"))
        .await
        .expect("create");
    assert_eq!(store.get_user(u.id).await.expect("get"), u);
    assert_eq!(store.get_user_by_name(&u.name).await.expect("by name"), u);
    let mut clash = fixtures::user("x");
    clash.name = u.name.clone();
    assert_exists(store.create_user(clash).await, Entity::User);
    assert_not_found(store.get_user(UserId::new()).await, Entity::User);
    assert_not_found(
        store
            .get_user_by_name(&UserName::parse(format!("nobody-{}", unique())).expect("name"))
            .await,
        Entity::User,
    );
    assert!(store.count_users().await.expect("count") >= 1);
}

pub async fn api_keys(store: Store) {
    let u = store
        .create_user(fixtures::user("keys"))
        .await
        .expect("user");
    let secret = unique();
    let k1 = store.create_api_key(key(u.id, &secret)).await.expect("key");
    assert_eq!(store.find_api_key(&k1.secret_hash).await.expect("find"), k1);
    assert_exists(
        store.create_api_key(key(u.id, &secret)).await,
        Entity::ApiKey,
    );
    assert_not_found(
        store.create_api_key(key(UserId::new(), &unique())).await,
        Entity::User,
    );
    assert_not_found(
        store.find_api_key(&Sha256::of(unique().as_bytes())).await,
        Entity::ApiKey,
    );

    let k2 = store
        .create_api_key(key(u.id, &unique()))
        .await
        .expect("key 2");
    let listed = store.list_api_keys(u.id).await.expect("list");
    assert_eq!(
        listed.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![k1.id, k2.id],
        "oldest first"
    );

    let t1 = now();
    let revoked = store.revoke_api_key(k1.id, t1).await.expect("revoke");
    assert_eq!(
        revoked.revoked_at.map(|t| t.timestamp_millis()),
        Some(t1.timestamp_millis())
    );
    let again = store
        .revoke_api_key(k1.id, t1 + Duration::hours(1))
        .await
        .expect("revoke twice");
    assert_eq!(
        again.revoked_at, revoked.revoked_at,
        "the first revocation time is kept"
    );
    assert!(store
        .find_api_key(&k1.secret_hash)
        .await
        .expect("find revoked")
        .revoked_at
        .is_some());
    assert_not_found(
        store.revoke_api_key(ApiKeyId::new(), t1).await,
        Entity::ApiKey,
    );
}

fn session(user: UserId, hash_of: &str, expires_in_secs: i64) -> BrowserSession {
    let at = now();
    BrowserSession {
        id: SessionId::new(),
        user_id: user,
        secret_hash: Sha256::of(hash_of.as_bytes()),
        csrf_token: unique(),
        created_at: at,
        expires_at: at + Duration::seconds(expires_in_secs),
        revoked_at: None,
    }
}

pub async fn sessions(store: Store) {
    let u = store
        .create_user(fixtures::user("sessions"))
        .await
        .expect("user");
    let secret = unique();
    let s1 = store
        .create_session(session(u.id, &secret, 3600))
        .await
        .expect("session");
    let found = store.find_session(&s1.secret_hash).await.expect("find");
    assert_eq!((found.id, found.user_id), (s1.id, u.id));
    assert_eq!(found.csrf_token, s1.csrf_token);
    assert_eq!(
        found.expires_at.timestamp_millis(),
        s1.expires_at.timestamp_millis()
    );
    assert_exists(
        store.create_session(session(u.id, &secret, 3600)).await,
        Entity::Session,
    );
    assert_not_found(
        store
            .create_session(session(UserId::new(), &unique(), 3600))
            .await,
        Entity::User,
    );
    assert_not_found(
        store.find_session(&Sha256::of(unique().as_bytes())).await,
        Entity::Session,
    );

    let t1 = now();
    let ended = store.revoke_session(s1.id, t1).await.expect("revoke");
    assert_eq!(
        ended.revoked_at.map(|t| t.timestamp_millis()),
        Some(t1.timestamp_millis())
    );
    let again = store
        .revoke_session(s1.id, t1 + Duration::seconds(5))
        .await
        .expect("revoke again");
    assert_eq!(
        again.revoked_at.map(|t| t.timestamp_millis()),
        Some(t1.timestamp_millis()),
        "the first sign-out time stays"
    );
    assert_not_found(
        store.revoke_session(SessionId::new(), t1).await,
        Entity::Session,
    );

    // Stale: expired or ended before the cut-off. A live one stays.
    let expired = store
        .create_session(session(u.id, &unique(), -7200))
        .await
        .expect("expired");
    let live = store
        .create_session(session(u.id, &unique(), 3600))
        .await
        .expect("live");
    let cut = now() + Duration::seconds(60);
    assert!(store.delete_stale_sessions(cut).await.expect("delete") >= 2);
    for gone in [&s1, &expired] {
        assert_not_found(store.find_session(&gone.secret_hash).await, Entity::Session);
    }
    assert_eq!(
        store
            .find_session(&live.secret_hash)
            .await
            .expect("live")
            .id,
        live.id
    );
}

pub async fn projects_and_memberships(store: Store) {
    let owner = store
        .create_user(fixtures::user("owner"))
        .await
        .expect("owner");
    let other = store
        .create_user(fixtures::user("other"))
        .await
        .expect("other");
    let p = store
        .create_project(fixtures::project("proj", owner.id))
        .await
        .expect("project");
    assert_eq!(store.get_project(p.id).await.expect("get"), p);
    assert_eq!(
        store.get_project_by_name(&p.name).await.expect("by name"),
        p
    );
    assert_eq!(
        store.get_role(p.id, owner.id).await.expect("role"),
        Some(Role::Admin),
        "creator is admin"
    );
    assert_eq!(store.get_role(p.id, other.id).await.expect("role"), None);

    let mut clash = fixtures::project("x", owner.id);
    clash.name = p.name.clone();
    assert_exists(store.create_project(clash).await, Entity::Project);
    assert_not_found(
        store
            .create_project(fixtures::project("ghost", UserId::new()))
            .await,
        Entity::User,
    );
    assert_not_found(store.get_project(ProjectId::new()).await, Entity::Project);

    let m = |u: UserId, role| Membership {
        project_id: p.id,
        user_id: u,
        role,
        created_at: now(),
    };
    store
        .upsert_membership(m(other.id, Role::Viewer))
        .await
        .expect("add viewer");
    assert_eq!(
        store.get_role(p.id, other.id).await.expect("role"),
        Some(Role::Viewer)
    );
    store
        .upsert_membership(m(other.id, Role::Editor))
        .await
        .expect("promote");
    assert_eq!(
        store.get_role(p.id, other.id).await.expect("role"),
        Some(Role::Editor),
        "upsert replaces the role"
    );
    let members = store.list_members(p.id).await.expect("members");
    assert_eq!(members.len(), 2);
    assert!(
        members.windows(2).all(|w| w[0].user_id < w[1].user_id),
        "members by user id"
    );
    assert_not_found(
        store
            .upsert_membership(m(UserId::new(), Role::Viewer))
            .await,
        Entity::User,
    );
    assert_not_found(
        store
            .upsert_membership(Membership {
                project_id: ProjectId::new(),
                user_id: other.id,
                role: Role::Viewer,
                created_at: now(),
            })
            .await,
        Entity::Project,
    );

    // list_projects: member filter and pagination by name.
    let mut mine = vec![p.name.clone()];
    for _ in 0..4 {
        mine.push(
            store
                .create_project(fixtures::project("proj", other.id))
                .await
                .expect("p")
                .name,
        );
    }
    mine.sort();
    let listed: Vec<ProjectName> = collect_pages(2, |page| {
        let s = store.clone();
        async move { s.list_projects(Some(other.id), page).await.expect("list") }
    })
    .await
    .into_iter()
    .map(|p| p.name)
    .collect();
    assert_eq!(listed, mine, "the member's projects, by name, across pages");

    store
        .remove_membership(p.id, other.id)
        .await
        .expect("remove");
    assert_eq!(store.get_role(p.id, other.id).await.expect("role"), None);
    assert_not_found(
        store.remove_membership(p.id, other.id).await,
        Entity::Membership,
    );
}

pub async fn project_delete_cascades(store: Store) {
    let w = World::new(&store).await;
    let v = w.finalized(&store, &[("a.bin", b"a")]).await;
    let run = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("run");
    store
        .add_run_input(run.id, v.id, now())
        .await
        .expect("input");
    store.delete_project(w.project.id).await.expect("delete");
    assert_not_found(store.get_project(w.project.id).await, Entity::Project);
    assert_not_found(store.get_artifact(w.artifact.id).await, Entity::Artifact);
    assert_not_found(store.get_version(v.id).await, Entity::Version);
    assert_not_found(store.get_run(run.id).await, Entity::Run);
    assert_eq!(
        store.get_role(w.project.id, w.user.id).await.expect("role"),
        None
    );
    assert_not_found(
        store.get_blob(w.project.id, &Sha256::of(b"a")).await,
        Entity::Blob,
    );
    assert_not_found(store.delete_project(w.project.id).await, Entity::Project);
    // The name is free again.
    let mut again = fixtures::project("p", w.user.id);
    again.name = w.project.name.clone();
    store
        .create_project(again)
        .await
        .expect("name reusable after delete");
}

fn run(project: ProjectId, by: UserId) -> Run {
    Run {
        id: RunId::new(),
        project_id: project,
        name: RunName::parse(format!("run-{}", unique())).expect("run name"),
        metadata: Metadata::default(),
        created_by: by,
        created_at: now(),
    }
}

pub async fn artifact_crud(store: Store) {
    let w = World::new(&store).await;
    let mut a = fixtures::artifact(w.project.id, "data", ArtifactType::Dataset, w.user.id);
    a.version_count = 7;
    a.next_version_index = 9;
    a.latest_version = Some(VersionIndex(3));
    let a = store.create_artifact(a).await.expect("create");
    assert_eq!(
        (a.version_count, a.next_version_index, a.latest_version),
        (0, 0, None),
        "counters start empty"
    );
    assert_eq!(store.get_artifact(a.id).await.expect("get"), a);
    assert_eq!(
        store
            .get_artifact_by_name(w.project.id, &a.name)
            .await
            .expect("by name"),
        a
    );

    assert_exists(
        store
            .create_artifact(fixtures::artifact(
                w.project.id,
                "data",
                ArtifactType::Model,
                w.user.id,
            ))
            .await,
        Entity::Artifact,
    );
    let other = store
        .create_project(fixtures::project("p2", w.user.id))
        .await
        .expect("p2");
    store
        .create_artifact(fixtures::artifact(
            other.id,
            "data",
            ArtifactType::Dataset,
            w.user.id,
        ))
        .await
        .expect("same name in another project");
    store
        .create_artifact(fixtures::artifact(
            other.id,
            "code",
            ArtifactType::Code,
            w.user.id,
        ))
        .await
        .expect("second in p2");
    assert_eq!(
        store
            .count_artifacts(vec![other.id, ProjectId::new(), w.project.id])
            .await
            .expect("count"),
        // The world's project holds its own artifact and "data".
        vec![2, 0, 2],
        "counts follow the ids given, 0 for an unknown project"
    );
    assert_eq!(
        store.count_artifacts(vec![]).await.expect("none"),
        Vec::<u64>::new()
    );
    assert_not_found(
        store
            .create_artifact(fixtures::artifact(
                ProjectId::new(),
                "x",
                ArtifactType::Code,
                w.user.id,
            ))
            .await,
        Entity::Project,
    );

    let meta = Metadata::parse(serde_json::json!({"lr": 0.1, "tags": ["a"]})).expect("meta");
    let at = now() + Duration::seconds(5);
    let patched = store
        .update_artifact(
            a.id,
            Patch {
                description: Some(Description::parse("hello").expect("d")),
                metadata: Some(meta.clone()),
            },
            at,
        )
        .await
        .expect("update");
    assert_eq!(patched.description.as_str(), "hello");
    assert_eq!(patched.metadata, meta);
    assert_eq!(patched.updated_at.timestamp_millis(), at.timestamp_millis());
    let only_desc = store
        .update_artifact(
            a.id,
            Patch {
                description: Some(Description::parse("bye").expect("d")),
                metadata: None,
            },
            at,
        )
        .await
        .expect("update");
    assert_eq!(only_desc.metadata, meta, "a None field is left alone");
    assert_not_found(
        store
            .update_artifact(ArtifactId::new(), Patch::default(), at)
            .await,
        Entity::Artifact,
    );
    assert_not_found(
        store.delete_artifact(ArtifactId::new()).await,
        Entity::Artifact,
    );
}

pub async fn artifact_list_filters_and_pagination(store: Store) {
    let w = World::new(&store).await;
    let second = store
        .create_user(fixtures::user("second"))
        .await
        .expect("user");
    let mut made = vec![w.artifact.clone()];
    for i in 0..24 {
        let t = ArtifactType::ALL[i % 4];
        let by = if i % 3 == 0 { second.id } else { w.user.id };
        let name = if i % 5 == 0 {
            format!("ResNet-{i}")
        } else {
            format!("thing-{i}")
        };
        made.push(
            store
                .create_artifact(fixtures::artifact(w.project.id, &name, t, by))
                .await
                .expect("create"),
        );
    }
    let list = |filter: ArtifactFilter, limit: u32| {
        let store = store.clone();
        async move {
            collect_pages(limit, |page| {
                let (s, f) = (store.clone(), filter.clone());
                async move {
                    s.list_artifacts(&f, &Sort::default(), page)
                        .await
                        .expect("list")
                }
            })
            .await
        }
    };
    let base = ArtifactFilter {
        project_id: Some(w.project.id),
        ..Default::default()
    };
    let all = list(base.clone(), 7).await;
    assert_eq!(
        all, made,
        "all artifacts in creation (id) order across pages"
    );
    assert_eq!(
        list(base.clone(), 25).await.len(),
        25,
        "a limit equal to the count ends with no cursor"
    );

    let models = list(
        ArtifactFilter {
            artifact_types: vec![ArtifactType::Model],
            ..base.clone()
        },
        4,
    )
    .await;
    assert_eq!(
        models.len(),
        made.iter()
            .filter(|a| a.artifact_type == ArtifactType::Model)
            .count()
    );
    assert!(models
        .iter()
        .all(|a| a.artifact_type == ArtifactType::Model));

    let resnets = list(
        ArtifactFilter {
            name_contains: Some("resnet".into()),
            ..base.clone()
        },
        100,
    )
    .await;
    assert_eq!(resnets.len(), 5, "case-insensitive substring");
    let by_second = list(
        ArtifactFilter {
            created_by: Some(second.id),
            ..base.clone()
        },
        3,
    )
    .await;
    assert_eq!(by_second.len(), 8);
    assert!(by_second.iter().all(|a| a.created_by == second.id));

    let none = list(
        ArtifactFilter {
            project_ids: Some(vec![]),
            ..Default::default()
        },
        10,
    )
    .await;
    assert!(none.is_empty(), "an empty project set shows nothing");
    let restricted = list(
        ArtifactFilter {
            project_ids: Some(vec![w.project.id]),
            ..Default::default()
        },
        50,
    )
    .await;
    assert_eq!(restricted, made);
}

pub async fn artifact_pagination_stable_under_inserts(store: Store) {
    let w = World::new(&store).await;
    for i in 0..5 {
        store
            .create_artifact(fixtures::artifact(
                w.project.id,
                &format!("a{i}"),
                ArtifactType::File,
                w.user.id,
            ))
            .await
            .expect("a");
    }
    let filter = ArtifactFilter {
        project_id: Some(w.project.id),
        ..Default::default()
    };
    let first = store
        .list_artifacts(
            &filter,
            &Sort::default(),
            PageRequest {
                after: None,
                limit: 3,
            },
        )
        .await
        .expect("page 1");
    // Rows added after the first page appear at the end, never duplicated or skipped.
    let late = store
        .create_artifact(fixtures::artifact(
            w.project.id,
            "late",
            ArtifactType::File,
            w.user.id,
        ))
        .await
        .expect("late");
    let second = store
        .list_artifacts(
            &filter,
            &Sort::default(),
            PageRequest {
                after: first.next,
                limit: 10,
            },
        )
        .await
        .expect("page 2");
    assert_eq!(first.items.len() + second.items.len(), 7);
    assert_eq!(second.items.last().map(|a| a.id), Some(late.id));
    assert!(second.next.is_none());
}

pub async fn version_numbering_sequential(store: Store) {
    let w = World::new(&store).await;
    for i in 0..3 {
        let v = w.draft(&store).await;
        assert_eq!(v.index, VersionIndex(i));
        assert!(!v.is_finalized && v.digest.is_none() && v.file_count == 0 && v.total_size == 0);
        assert_eq!(v.project_id, w.project.id);
    }
    let a = store.get_artifact(w.artifact.id).await.expect("artifact");
    assert_eq!((a.version_count, a.next_version_index), (3, 3));
    let v1 = store
        .get_version_by_index(w.artifact.id, VersionIndex(1))
        .await
        .expect("v1");
    assert_eq!(store.get_version(v1.id).await.expect("get"), v1);
    assert_not_found(
        store
            .get_version_by_index(w.artifact.id, VersionIndex(9))
            .await,
        Entity::Version,
    );
    assert_not_found(
        store
            .create_next_version(new_version(ArtifactId::new(), w.user.id))
            .await,
        Entity::Artifact,
    );
    let by_index = Sort::<VersionSortField>::default();
    let v0 = store
        .get_version_by_index(w.artifact.id, VersionIndex(0))
        .await
        .expect("v0");
    let page = store
        .list_versions(
            w.artifact.id,
            &VersionFilter::default(),
            &by_index,
            PageRequest {
                after: Some(by_index.key(&v0)),
                limit: 1,
            },
        )
        .await
        .expect("list");
    assert_eq!(
        page.items.iter().map(|v| v.index).collect::<Vec<_>>(),
        vec![VersionIndex(1)]
    );
    assert_eq!(page.next, Some(by_index.key(&v1)));

    let mut with_run = new_version(w.artifact.id, w.user.id);
    with_run.run_id = Some(RunId::new());
    assert_not_found(
        store.create_next_version(with_run.clone()).await,
        Entity::Run,
    );
    let other = store
        .create_project(fixtures::project("p", w.user.id))
        .await
        .expect("p");
    let foreign = store
        .create_run(run(other.id, w.user.id))
        .await
        .expect("run");
    with_run.run_id = Some(foreign.id);
    assert_not_found(store.create_next_version(with_run).await, Entity::Run);
    assert_eq!(
        store
            .get_artifact(w.artifact.id)
            .await
            .expect("a")
            .next_version_index,
        3,
        "failed creates use no index"
    );
}

pub async fn version_numbering_concurrent(store: Store) {
    let w = World::new(&store).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (s, a, u) = (store.clone(), w.artifact.id, w.user.id);
            tokio::spawn(async move { s.create_next_version(new_version(a, u)).await })
        })
        .collect();
    let mut indices = BTreeSet::new();
    for t in tasks {
        let v = t.await.expect("join").expect("create");
        assert!(indices.insert(v.index.0), "index {} given twice", v.index);
    }
    assert_eq!(
        indices,
        (0..50).collect::<BTreeSet<u32>>(),
        "50 distinct, contiguous indices"
    );
    let a = store.get_artifact(w.artifact.id).await.expect("a");
    assert_eq!((a.version_count, a.next_version_index), (50, 50));
}

pub async fn version_run_rules(store: Store) {
    let w = World::new(&store).await;
    let r1 = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("r1");
    let r2 = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("r2");
    let v = w.draft(&store).await;
    assert_eq!(
        store
            .set_version_run(v.id, r1.id)
            .await
            .expect("set")
            .run_id,
        Some(r1.id)
    );
    assert_eq!(
        store
            .set_version_run(v.id, r1.id)
            .await
            .expect("same again")
            .run_id,
        Some(r1.id)
    );
    assert_conflict(store.set_version_run(v.id, r2.id).await);
    let other = store
        .create_project(fixtures::project("p", w.user.id))
        .await
        .expect("p");
    let foreign = store
        .create_run(run(other.id, w.user.id))
        .await
        .expect("run");
    let v2 = w.draft(&store).await;
    assert_not_found(store.set_version_run(v2.id, foreign.id).await, Entity::Run);
    assert_not_found(
        store.set_version_run(v2.id, RunId::new()).await,
        Entity::Run,
    );
    let done = w.finalized(&store, &[]).await;
    assert_conflict(store.set_version_run(done.id, r1.id).await);
}

pub async fn files_add_list_delete(store: Store) {
    let w = World::new(&store).await;
    let v = w.draft(&store).await;
    let rows = vec![
        new_file(w.project.id, "b/data.bin", b"bbbb"),
        new_file(w.project.id, "a.txt", b"aa"),
    ];
    let added = store.add_files(v.id, rows.clone()).await.expect("add");
    assert_eq!(added.len(), 2);
    assert_eq!(added[0].path, rows[0].path);
    assert_eq!(added[0].name(), "data.bin");
    let after = store.get_version(v.id).await.expect("v");
    assert_eq!((after.file_count, after.total_size), (2, 6));
    assert_eq!(store.get_file(added[1].id).await.expect("file"), added[1]);
    assert_eq!(
        store
            .get_file_by_path(v.id, &rows[0].path)
            .await
            .expect("by path"),
        added[0]
    );

    assert_fails!(
        store
            .add_files(v.id, vec![new_file(w.project.id, "a.txt", b"other")])
            .await,
        AddFilesError::PathTaken(_)
    );
    assert_fails!(
        store
            .add_files(VersionId::new(), vec![new_file(w.project.id, "x", b"x")])
            .await,
        AddFilesError::VersionNotFound(_)
    );

    let removed = store.delete_file(added[0].id).await.expect("delete");
    assert_eq!(removed.id, added[0].id);
    let after = store.get_version(v.id).await.expect("v");
    assert_eq!((after.file_count, after.total_size), (1, 2));
    assert_not_found(store.get_file(added[0].id).await, Entity::File);
    assert_not_found(store.delete_file(added[0].id).await, Entity::File);
    // The path is free again in the draft.
    store
        .add_files(v.id, vec![new_file(w.project.id, "b/data.bin", b"new")])
        .await
        .expect("re-add");
}

pub async fn files_batch_is_all_or_nothing(store: Store) {
    let w = World::new(&store).await;
    let v = w.draft(&store).await;
    let batch = vec![
        new_file(w.project.id, "x/1", b"1"),
        new_file(w.project.id, "x/2", b"2"),
        new_file(w.project.id, "x/1", b"dup"),
    ];
    assert_fails!(
        store.add_files(v.id, batch).await,
        AddFilesError::PathTaken(_)
    );
    let after = store.get_version(v.id).await.expect("v");
    assert_eq!(
        (after.file_count, after.total_size),
        (0, 0),
        "nothing of a failed batch is written"
    );
    let page = store
        .list_files(v.id, None, PageRequest::first(10))
        .await
        .expect("list");
    assert!(page.items.is_empty());
    assert_not_found(
        store.get_blob(w.project.id, &Sha256::of(b"1")).await,
        Entity::Blob,
    );
}

pub async fn file_listing_prefix_and_pages(store: Store) {
    let w = World::new(&store).await;
    let v = w.draft(&store).await;
    let mut paths: Vec<String> = (0..30).map(|i| format!("train/{i:03}.bin")).collect();
    paths.extend((0..7).map(|i| format!("val/{i}.bin")));
    paths.push("train.csv".into());
    paths.push("README".into());
    let rows = paths
        .iter()
        .map(|p| new_file(w.project.id, p, p.as_bytes()))
        .collect();
    store.add_files(v.id, rows).await.expect("add");
    paths.sort();

    let all: Vec<String> = collect_pages(4, |page| {
        let s = store.clone();
        async move { s.list_files(v.id, None, page).await.expect("list") }
    })
    .await
    .into_iter()
    .map(|f| f.path.into_string())
    .collect();
    assert_eq!(all, paths, "all files by path across pages");

    let train: Vec<String> = collect_pages(7, |page| {
        let s = store.clone();
        async move {
            s.list_files(v.id, Some("train/"), page)
                .await
                .expect("list")
        }
    })
    .await
    .into_iter()
    .map(|f| f.path.into_string())
    .collect();
    assert_eq!(train.len(), 30);
    assert!(train.iter().all(|p| p.starts_with("train/")));
    let by_plain_prefix = store
        .list_files(v.id, Some("train"), PageRequest::first(1000))
        .await
        .expect("list");
    assert_eq!(
        by_plain_prefix.items.len(),
        31,
        "a prefix is a plain string prefix"
    );
    let nothing = store
        .list_files(v.id, Some("zzz"), PageRequest::first(10))
        .await
        .expect("list");
    assert!(nothing.items.is_empty() && nothing.next.is_none());
    // A cursor before the prefix still starts at the prefix.
    let early = store
        .list_files(
            v.id,
            Some("val/"),
            PageRequest {
                after: Some(FilePath::parse("README").expect("p")),
                limit: 100,
            },
        )
        .await
        .expect("list");
    assert_eq!(early.items.len(), 7);
    assert_not_found(
        store
            .list_files(VersionId::new(), None, PageRequest::first(10))
            .await,
        Entity::Version,
    );
}

pub async fn finalize_and_latest(store: Store) {
    let w = World::new(&store).await;
    let v0 = w.draft(&store).await;
    let v1 = w.draft(&store).await;
    store
        .add_files(v1.id, vec![new_file(w.project.id, "f", b"f")])
        .await
        .expect("add");
    // The digest covers exactly the version's files: path, SHA-256 and size, in path order.
    let digest =
        wanllmdb_domain::manifest::manifest_digest([wanllmdb_domain::manifest::ManifestEntry {
            path: &FilePath::parse("f").expect("path"),
            sha256: &Sha256::of(b"f"),
            size: 1,
        }]);
    let done = store
        .finalize_version(v1.id, w.user.id, now())
        .await
        .expect("finalize");
    assert!(done.version.is_finalized && done.version.finalized_at.is_some());
    assert_eq!(done.version.digest, Some(digest.clone()));
    let moved = done
        .latest_moved
        .expect("latest moves to the first finalized version");
    assert_eq!(
        (moved.from_version, moved.to_version, moved.actor),
        (None, Some(v1.id), Some(w.user.id))
    );
    assert_eq!(
        store
            .get_artifact(w.artifact.id)
            .await
            .expect("a")
            .latest_version,
        Some(VersionIndex(1))
    );
    assert_eq!(
        store
            .get_alias(w.artifact.id, &AliasName::latest())
            .await
            .expect("latest")
            .version_id,
        v1.id
    );

    assert_fails!(
        store.finalize_version(v1.id, w.user.id, now()).await,
        FinalizeError::AlreadyFinalized(_)
    );
    assert_fails!(
        store
            .add_files(v1.id, vec![new_file(w.project.id, "g", b"g")])
            .await,
        AddFilesError::Finalized(_)
    );
    let f = store
        .list_files(v1.id, None, PageRequest::first(10))
        .await
        .expect("files")
        .items;
    assert_conflict(store.delete_file(f[0].id).await);

    // Finalizing an older draft does not move `latest` backwards.
    let old = store
        .finalize_version(v0.id, w.user.id, now())
        .await
        .expect("finalize v0");
    assert!(old.latest_moved.is_none());
    assert_eq!(
        store
            .get_alias(w.artifact.id, &AliasName::latest())
            .await
            .expect("latest")
            .version_id,
        v1.id
    );
    let v2 = w.finalized(&store, &[]).await;
    assert_eq!(
        store
            .get_alias(w.artifact.id, &AliasName::latest())
            .await
            .expect("latest")
            .version_id,
        v2.id
    );
    assert_eq!(
        store
            .get_artifact(w.artifact.id)
            .await
            .expect("a")
            .latest_version,
        Some(VersionIndex(2))
    );
    assert_fails!(
        store
            .finalize_version(VersionId::new(), w.user.id, now())
            .await,
        FinalizeError::NotFound(_)
    );
}

pub async fn update_allowed_after_finalize(store: Store) {
    let w = World::new(&store).await;
    let v = w.finalized(&store, &[("a", b"a")]).await;
    let meta = Metadata::parse(serde_json::json!({"accuracy": 0.93})).expect("meta");
    let updated = store
        .update_version(
            v.id,
            Patch {
                description: None,
                metadata: Some(meta.clone()),
            },
            now(),
        )
        .await
        .expect("annotate a finalized version");
    assert_eq!(updated.metadata, meta);
    assert_eq!(updated.digest, v.digest, "content is untouched");
    assert_not_found(
        store
            .update_version(VersionId::new(), Patch::default(), now())
            .await,
        Entity::Version,
    );
}

pub async fn aliases_move_and_history(store: Store) {
    let w = World::new(&store).await;
    let best = AliasName::parse("best").expect("alias");
    let v0 = w.finalized(&store, &[]).await;
    let v1 = w.finalized(&store, &[]).await;
    let draft = w.draft(&store).await;
    assert_conflict(
        store
            .set_alias(w.artifact.id, &best, draft.id, Some(w.user.id), now())
            .await,
    );

    let (a, ev) = store
        .set_alias(w.artifact.id, &best, v0.id, Some(w.user.id), now())
        .await
        .expect("set");
    assert_eq!((a.version_id, a.version_index), (v0.id, VersionIndex(0)));
    let ev = ev.expect("an event");
    assert_eq!((ev.from_version, ev.to_version), (None, Some(v0.id)));
    let (_, none) = store
        .set_alias(w.artifact.id, &best, v0.id, Some(w.user.id), now())
        .await
        .expect("same");
    assert!(none.is_none(), "setting the same target records nothing");
    let (_, moved) = store
        .set_alias(w.artifact.id, &best, v1.id, Some(w.user.id), now())
        .await
        .expect("move");
    assert_eq!(
        moved.map(|e| (e.from_version, e.to_version)),
        Some((Some(v0.id), Some(v1.id)))
    );
    assert_eq!(
        store
            .get_alias(w.artifact.id, &best)
            .await
            .expect("get")
            .version_id,
        v1.id
    );

    let names: Vec<String> = store
        .version_aliases(v1.id)
        .await
        .expect("aliases")
        .into_iter()
        .map(|a| a.name.into_string())
        .collect();
    assert_eq!(names, vec!["best".to_owned(), "latest".to_owned()]);
    let all: Vec<String> = store
        .list_aliases(w.artifact.id)
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.name.into_string())
        .collect();
    assert_eq!(all, vec!["best".to_owned(), "latest".to_owned()]);

    // Another artifact's version cannot be aliased here.
    let other = store
        .create_artifact(fixtures::artifact(
            w.project.id,
            "other",
            ArtifactType::Model,
            w.user.id,
        ))
        .await
        .expect("other");
    let ow = World {
        artifact: other.clone(),
        ..w.clone()
    };
    let foreign = ow.finalized(&store, &[]).await;
    assert_not_found(
        store
            .set_alias(w.artifact.id, &best, foreign.id, None, now())
            .await,
        Entity::Version,
    );

    let removed = store
        .remove_alias(w.artifact.id, &best, Some(w.user.id), now())
        .await
        .expect("remove");
    assert_eq!(
        (removed.from_version, removed.to_version),
        (Some(v1.id), None)
    );
    assert_not_found(store.get_alias(w.artifact.id, &best).await, Entity::Alias);
    assert_not_found(
        store.remove_alias(w.artifact.id, &best, None, now()).await,
        Entity::Alias,
    );

    let history = store
        .alias_history(w.artifact.id, Some(&best))
        .await
        .expect("history");
    let moves: Vec<(Option<VersionId>, Option<VersionId>)> = history
        .iter()
        .map(|e| (e.from_version, e.to_version))
        .collect();
    assert_eq!(
        moves,
        vec![
            (None, Some(v0.id)),
            (Some(v0.id), Some(v1.id)),
            (Some(v1.id), None)
        ],
        "oldest first"
    );
    let everything = store
        .alias_history(w.artifact.id, None)
        .await
        .expect("all history");
    assert_eq!(everything.len(), 5, "three moves of best and two of latest");
}

pub async fn delete_version_moves_latest(store: Store) {
    let w = World::new(&store).await;
    let v0 = w.finalized(&store, &[("a", b"a")]).await;
    let v1 = w.finalized(&store, &[("b", b"b")]).await;
    let best = AliasName::parse("best").expect("alias");
    store
        .set_alias(w.artifact.id, &best, v1.id, Some(w.user.id), now())
        .await
        .expect("best");

    store.delete_version(v1.id, now()).await.expect("delete v1");
    assert_not_found(store.get_version(v1.id).await, Entity::Version);
    let latest = store
        .get_alias(w.artifact.id, &AliasName::latest())
        .await
        .expect("latest");
    assert_eq!(
        latest.version_id, v0.id,
        "latest falls back to the newest remaining finalized version"
    );
    assert_not_found(store.get_alias(w.artifact.id, &best).await, Entity::Alias);
    let last = store
        .alias_history(w.artifact.id, Some(&AliasName::latest()))
        .await
        .expect("h");
    let fallback = last.last().expect("an event");
    assert_eq!(
        (fallback.from_version, fallback.to_version, fallback.actor),
        (Some(v1.id), Some(v0.id), None)
    );
    let a = store.get_artifact(w.artifact.id).await.expect("a");
    assert_eq!(
        (a.version_count, a.next_version_index, a.latest_version),
        (1, 2, Some(VersionIndex(0)))
    );

    store.delete_version(v0.id, now()).await.expect("delete v0");
    assert_not_found(
        store.get_alias(w.artifact.id, &AliasName::latest()).await,
        Entity::Alias,
    );
    let a = store.get_artifact(w.artifact.id).await.expect("a");
    assert_eq!((a.version_count, a.latest_version), (0, None));
    assert_eq!(
        w.draft(&store).await.index,
        VersionIndex(2),
        "indices are never reused"
    );
    assert_not_found(store.delete_version(v0.id, now()).await, Entity::Version);
}

pub async fn delete_artifact_cascades(store: Store) {
    let w = World::new(&store).await;
    let v = w.finalized(&store, &[("w.bin", b"weights")]).await;
    let file = store
        .list_files(v.id, None, PageRequest::first(10))
        .await
        .expect("files")
        .items[0]
        .clone();
    let run = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("run");
    store
        .add_run_input(run.id, v.id, now())
        .await
        .expect("input");
    store
        .record_download(Download {
            id: DownloadId::new(),
            version_id: v.id,
            file_id: Some(file.id),
            user_id: w.user.id,
            at: now(),
        })
        .await
        .expect("download");

    let deleted = store.delete_artifact(w.artifact.id).await.expect("delete");
    assert_eq!(deleted.id, w.artifact.id);
    assert_not_found(store.get_artifact(w.artifact.id).await, Entity::Artifact);
    assert_not_found(store.get_version(v.id).await, Entity::Version);
    assert_not_found(store.get_file(file.id).await, Entity::File);
    assert_not_found(
        store.get_alias(w.artifact.id, &AliasName::latest()).await,
        Entity::Alias,
    );
    assert!(
        store.run_inputs(run.id).await.expect("inputs").is_empty(),
        "lineage edges go too"
    );
    // The blob record stays, now unreferenced: garbage for the collector.
    let blob = store
        .get_blob(w.project.id, &Sha256::of(b"weights"))
        .await
        .expect("blob stays");
    let garbage = store
        .unreferenced_blobs(now() + Duration::seconds(1), 10_000)
        .await
        .expect("gc");
    assert!(garbage
        .iter()
        .any(|b| b.sha256 == blob.sha256 && b.project_id == w.project.id));
    // The name is free again.
    store
        .create_artifact(fixtures::artifact(
            w.project.id,
            w.artifact.name.as_str(),
            ArtifactType::Model,
            w.user.id,
        ))
        .await
        .expect("name reusable");
}

pub async fn runs_and_lineage_edges(store: Store) {
    let w = World::new(&store).await;
    let r = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("run");
    assert_eq!(store.get_run(r.id).await.expect("get"), r);
    assert_not_found(
        store.create_run(run(ProjectId::new(), w.user.id)).await,
        Entity::Project,
    );
    assert_not_found(store.get_run(RunId::new()).await, Entity::Run);
    let input = w.finalized(&store, &[]).await;
    store
        .add_run_input(r.id, input.id, now())
        .await
        .expect("use");
    store
        .add_run_input(r.id, input.id, now())
        .await
        .expect("use again is idempotent");
    assert_eq!(
        store.run_inputs(r.id).await.expect("inputs"),
        vec![input.id]
    );
    assert_eq!(
        store.version_consumers(input.id).await.expect("consumers"),
        vec![r.id]
    );
    let out = w.draft(&store).await;
    store.set_version_run(out.id, r.id).await.expect("produce");
    assert_eq!(
        store.run_outputs(r.id).await.expect("outputs"),
        vec![out.id]
    );
    assert_not_found(
        store.add_run_input(r.id, VersionId::new(), now()).await,
        Entity::Version,
    );
    assert_not_found(
        store.add_run_input(RunId::new(), input.id, now()).await,
        Entity::Run,
    );
    let r2 = store
        .create_run(run(w.project.id, w.user.id))
        .await
        .expect("run 2");
    let runs = store
        .list_runs(
            w.project.id,
            PageRequest {
                after: None,
                limit: 1,
            },
        )
        .await
        .expect("runs");
    assert_eq!(
        runs.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r.id]
    );
    let rest = store
        .list_runs(
            w.project.id,
            PageRequest {
                after: runs.next,
                limit: 5,
            },
        )
        .await
        .expect("runs");
    assert_eq!(
        rest.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r2.id]
    );
    assert!(rest.next.is_none());
}

pub async fn downloads_and_stats(store: Store) {
    let w = World::new(&store).await;
    let other = store.create_user(fixtures::user("dl")).await.expect("user");
    let v = w.finalized(&store, &[("x", b"x")]).await;
    let file = store
        .list_files(v.id, None, PageRequest::first(1))
        .await
        .expect("files")
        .items[0]
        .clone();
    let empty = store.download_stats(v.id).await.expect("stats");
    assert_eq!(empty, DownloadStats::default());
    let t = now();
    for (user, f, at) in [
        (w.user.id, None, t),
        (w.user.id, Some(file.id), t + Duration::seconds(1)),
        (other.id, None, t),
    ] {
        store
            .record_download(Download {
                id: DownloadId::new(),
                version_id: v.id,
                file_id: f,
                user_id: user,
                at,
            })
            .await
            .expect("record");
    }
    let stats = store.download_stats(v.id).await.expect("stats");
    assert_eq!((stats.count, stats.unique_users), (3, 2));
    assert_eq!(
        stats.last_at.map(|t| t.timestamp_millis()),
        Some((t + Duration::seconds(1)).timestamp_millis())
    );
    let recent: Vec<_> = stats
        .recent
        .iter()
        .map(|d| (d.user_name.as_str(), d.file_id, d.file_path.clone()))
        .collect();
    assert_eq!(
        recent,
        vec![
            (w.user.name.as_str(), Some(file.id), Some(file.path.clone())),
            (other.name.as_str(), None, None),
            (w.user.name.as_str(), None, None),
        ],
        "newest first, ties by the later record, with the users' names and the files' paths"
    );
    assert_not_found(
        store
            .record_download(Download {
                id: DownloadId::new(),
                version_id: VersionId::new(),
                file_id: None,
                user_id: w.user.id,
                at: t,
            })
            .await,
        Entity::Version,
    );
    assert_not_found(
        store
            .record_download(Download {
                id: DownloadId::new(),
                version_id: v.id,
                file_id: Some(FileId::new()),
                user_id: w.user.id,
                at: t,
            })
            .await,
        Entity::File,
    );
    assert_not_found(
        store.download_stats(VersionId::new()).await,
        Entity::Version,
    );
}

pub async fn blob_records_and_garbage(store: Store) {
    let w = World::new(&store).await;
    let content: &[u8] = b"shared bytes";
    let sha = Sha256::of(content);
    let v0 = w.draft(&store).await;
    let v1 = w.draft(&store).await;
    store
        .add_files(v0.id, vec![new_file(w.project.id, "a", content)])
        .await
        .expect("add");
    store
        .add_files(v1.id, vec![new_file(w.project.id, "b", content)])
        .await
        .expect("add same bytes");
    let blob = store.get_blob(w.project.id, &sha).await.expect("blob");
    assert_eq!(
        (blob.size, blob.md5.clone()),
        (content.len() as u64, Md5::of(content))
    );
    let other = store
        .create_project(fixtures::project("p", w.user.id))
        .await
        .expect("p");
    assert_not_found(store.get_blob(other.id, &sha).await, Entity::Blob);
    // In bulk: repeats allowed, unknown digests and other projects' records left out, and
    // more digests than one IN list holds.
    let mut wanted: Vec<Sha256> = (0..2500u32).map(|i| Sha256::of(&i.to_le_bytes())).collect();
    wanted.extend([sha.clone(), sha.clone()]);
    let found = store
        .get_blobs(w.project.id, &wanted)
        .await
        .expect("get_blobs");
    assert_eq!(found, vec![blob.clone()]);
    assert!(store
        .get_blobs(other.id, &wanted)
        .await
        .expect("get_blobs")
        .is_empty());
    assert!(store
        .get_blobs(w.project.id, &[])
        .await
        .expect("none asked")
        .is_empty());

    let later = now() + Duration::seconds(1);
    let is_garbage = |list: &Vec<Blob>| {
        list.iter()
            .any(|b| b.project_id == w.project.id && b.sha256 == sha)
    };
    assert!(
        !is_garbage(&store.unreferenced_blobs(later, 100_000).await.expect("gc")),
        "referenced twice"
    );
    assert_fails!(
        store.delete_blob_record(w.project.id, &sha).await,
        DeleteBlobError::Referenced(_)
    );

    let f0 = store
        .get_file_by_path(v0.id, &FilePath::parse("a").expect("p"))
        .await
        .expect("f0");
    store.delete_file(f0.id).await.expect("delete one");
    assert!(
        !is_garbage(&store.unreferenced_blobs(later, 100_000).await.expect("gc")),
        "still referenced once"
    );
    store
        .delete_version(v1.id, now())
        .await
        .expect("delete the other");
    assert!(
        is_garbage(&store.unreferenced_blobs(later, 100_000).await.expect("gc")),
        "unreferenced now"
    );
    let early = blob.created_at - Duration::seconds(1);
    assert!(
        !is_garbage(&store.unreferenced_blobs(early, 100_000).await.expect("gc")),
        "younger than the cutoff"
    );

    store
        .delete_blob_record(w.project.id, &sha)
        .await
        .expect("delete record");
    assert_not_found(store.get_blob(w.project.id, &sha).await, Entity::Blob);
    assert_fails!(
        store.delete_blob_record(w.project.id, &sha).await,
        DeleteBlobError::NotFound(_)
    );
}

pub async fn stale_drafts_and_their_deletion(store: Store) {
    let w = World::new(&store).await;
    let draft = w.draft(&store).await;
    store
        .add_files(draft.id, vec![new_file(w.project.id, "half", b"half done")])
        .await
        .expect("add");
    let done = w.draft(&store).await;
    store
        .add_files(done.id, vec![new_file(w.project.id, "whole", b"whole")])
        .await
        .expect("add");
    store
        .finalize_version(done.id, w.user.id, now())
        .await
        .expect("finalize");
    let later = now() + Duration::seconds(1);
    let stale: Vec<VersionId> = store
        .stale_drafts(later, 100_000)
        .await
        .expect("stale drafts")
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert!(stale.contains(&draft.id), "the draft is listed");
    assert!(!stale.contains(&done.id), "finalized versions are not");
    assert!(
        !store
            .stale_drafts(draft.created_at, 100_000)
            .await
            .expect("stale drafts")
            .iter()
            .any(|v| v.id == draft.id),
        "a draft created at the cutoff is not older than it"
    );
    assert_fails!(
        store.delete_stale_draft(done.id, later).await,
        DeleteDraftError::NotStale(_)
    );
    assert_fails!(
        store.delete_stale_draft(draft.id, draft.created_at).await,
        DeleteDraftError::NotStale(_)
    );
    store
        .get_version(done.id)
        .await
        .expect("refusals delete nothing");
    let deleted = store
        .delete_stale_draft(draft.id, later)
        .await
        .expect("delete the draft");
    assert_eq!(deleted.id, draft.id);
    assert_not_found(store.get_version(draft.id).await, Entity::Version);
    assert_fails!(
        store.delete_stale_draft(draft.id, later).await,
        DeleteDraftError::NotFound(_)
    );
    let artifact = store.get_artifact(w.artifact.id).await.expect("artifact");
    assert_eq!(artifact.version_count, 1);
    assert_eq!(
        store
            .list_files(done.id, None, PageRequest::new(None, None).expect("page"))
            .await
            .expect("files")
            .items
            .len(),
        1,
        "the finalized version keeps its files"
    );
}
