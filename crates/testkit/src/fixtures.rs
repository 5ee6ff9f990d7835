//! Builders for test data with unique names, so checks never collide in a shared store.

use std::sync::Arc;

use wanllmdb_domain::entities::*;
use wanllmdb_domain::ids::*;
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::ports::{MetadataStore, NewFile, NewVersion, PageRequest};
use wanllmdb_domain::types::*;

/// A short unique suffix.
pub fn unique() -> String {
    // The tail of a UUIDv7 is random.
    uuid::Uuid::now_v7().simple().to_string()[16..].to_owned()
}

pub fn user(prefix: &str) -> User {
    User {
        id: UserId::new(),
        name: UserName::parse(format!("{prefix}-{}", unique())).expect("valid user name"),
        is_admin: false,
        created_at: now(),
    }
}

pub fn project(prefix: &str, owner: UserId) -> Project {
    Project {
        id: ProjectId::new(),
        name: ProjectName::parse(format!("{prefix}-{}", unique())).expect("valid project name"),
        description: Description::default(),
        created_by: owner,
        created_at: now(),
    }
}

pub fn artifact(project: ProjectId, name: &str, t: ArtifactType, by: UserId) -> Artifact {
    let now = now();
    Artifact {
        id: ArtifactId::new(),
        project_id: project,
        name: ArtifactName::parse(name).expect("valid artifact name"),
        artifact_type: t,
        description: Description::default(),
        metadata: Metadata::default(),
        created_by: by,
        version_count: 0,
        next_version_index: 0,
        latest_version: None,
        created_at: now,
        updated_at: now,
    }
}

pub fn new_version(artifact: ArtifactId, by: UserId) -> NewVersion {
    NewVersion {
        id: VersionId::new(),
        artifact_id: artifact,
        description: Description::default(),
        metadata: Metadata::default(),
        run_id: None,
        created_by: by,
        created_at: now(),
    }
}

/// A file row whose digests are those of `content`.
pub fn new_file(project: ProjectId, path: &str, content: &[u8]) -> NewFile {
    let sha256 = Sha256::of(content);
    NewFile {
        id: FileId::new(),
        path: FilePath::parse(path).expect("valid path"),
        size: content.len() as u64,
        md5: Md5::of(content),
        storage_key: ObjectKey::blob(project, &sha256),
        sha256,
        content_type: ContentType::octet_stream(),
        created_at: now(),
    }
}

/// A user with a project they own, and an artifact in it.
#[derive(Debug, Clone)]
pub struct World {
    pub user: User,
    pub project: Project,
    pub artifact: Artifact,
}

impl World {
    pub async fn new(store: &Arc<dyn MetadataStore>) -> World {
        let user = store.create_user(user("u")).await.expect("create user");
        let project = store
            .create_project(project("p", user.id))
            .await
            .expect("create project");
        let artifact = store
            .create_artifact(artifact(project.id, "model", ArtifactType::Model, user.id))
            .await
            .expect("create artifact");
        World {
            user,
            project,
            artifact,
        }
    }

    /// A new draft version of the world's artifact.
    pub async fn draft(&self, store: &Arc<dyn MetadataStore>) -> ArtifactVersion {
        store
            .create_next_version(new_version(self.artifact.id, self.user.id))
            .await
            .expect("create version")
    }

    /// A finalized version holding `files` (path, content).
    pub async fn finalized(
        &self,
        store: &Arc<dyn MetadataStore>,
        files: &[(&str, &[u8])],
    ) -> ArtifactVersion {
        let v = self.draft(store).await;
        if !files.is_empty() {
            let rows = files
                .iter()
                .map(|(p, c)| new_file(self.project.id, p, c))
                .collect();
            store.add_files(v.id, rows).await.expect("add files");
        }
        store
            .finalize_version(v.id, self.user.id, now())
            .await
            .expect("finalize")
            .version
    }
}

/// Reads every page of a listing through `fetch`, checking each page respects the limit.
pub async fn collect_pages<T, K, F, Fut>(limit: u32, mut fetch: F) -> Vec<T>
where
    K: Clone,
    F: FnMut(PageRequest<K>) -> Fut,
    Fut: std::future::Future<Output = wanllmdb_domain::ports::Page<T, K>>,
{
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..100_000 {
        let page = fetch(PageRequest {
            after: after.clone(),
            limit,
        })
        .await;
        assert!(
            page.items.len() <= limit as usize,
            "page larger than its limit"
        );
        let full = page.items.len() == limit as usize;
        out.extend(page.items);
        match page.next {
            Some(n) => {
                assert!(full, "a page with a next cursor must be full");
                after = Some(n);
            }
            None => return out,
        }
    }
    panic!("pagination never ended");
}
