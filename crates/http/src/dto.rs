//! Request and response bodies. Requests deny unknown fields and are converted into validated
//! domain values here, so a bad name, path or digest is a 422 naming the field.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wanllmdb_domain::entities::*;
use wanllmdb_domain::ids::{ProjectId, RunId, UserId};
use wanllmdb_domain::ports::{
    ArtifactFilter, ArtifactSortField, MetaFilter, Page, PageRequest, PresignedRequest, Sort,
    SortKey, VersionFilter, VersionSortField,
};
use wanllmdb_domain::service::{
    DownloadTarget, FileSpec, MultipartPlan, UploadAction, UploadPlan, VersionView,
};
use wanllmdb_domain::types::*;

use crate::error::{ApiError, ApiResult};

pub fn valid<T>(r: Result<T, wanllmdb_domain::ValidationError>) -> ApiResult<T> {
    r.map_err(|e| ApiError::invalid(e.to_string()))
}

// ------------------------------------------------------------------ pagination

/// `?limit=&cursor=` on every listing. The cursor is opaque: base64url of the last key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Serialize)]
pub struct PageDto<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_cursor(cursor: &str) -> ApiResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "the cursor is not one this API gave out")
        })
}

impl PageQuery {
    /// A page request whose cursor parses with `parse`.
    pub fn request<K>(&self, parse: impl Fn(&str) -> Option<K>) -> ApiResult<PageRequest<K>> {
        let after = match &self.cursor {
            Some(c) => Some(parse(&decode_cursor(c)?).ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this API gave out")
            })?),
            None => None,
        };
        valid(PageRequest::new(after, self.limit))
    }
}

pub fn page<T, K, D>(
    p: Page<T, K>,
    item: impl Fn(T) -> D,
    key: impl Fn(&K) -> String,
) -> PageDto<D> {
    PageDto {
        next_cursor: p.next.as_ref().map(|k| encode_cursor(&key(k))),
        items: p.items.into_iter().map(item).collect(),
    }
}

// ------------------------------------------------------------------ projects and users

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectDto {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDto {
    pub role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserDto {
    pub name: String,
    #[serde(default)]
    pub is_admin: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyDto {
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub label: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.into_uuid(),
            user_id: k.user_id.into_uuid(),
            label: k.label,
            prefix: k.prefix,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

// ------------------------------------------------------------------ artifacts

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateArtifactDto {
    pub project_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub artifact_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchDto {
    pub description: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

impl PatchDto {
    pub fn into_patch(self) -> ApiResult<wanllmdb_domain::ports::Patch> {
        Ok(wanllmdb_domain::ports::Patch {
            description: self
                .description
                .map(Description::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(e.to_string()))?,
            metadata: self
                .metadata
                .map(Metadata::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(e.to_string()))?,
        })
    }
}

/// `GET /api/v1/artifacts`: search and filters, all of which must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactQuery {
    pub project_id: Option<Uuid>,
    /// One or more types (`type=model&type=code` or `type=model,code`).
    #[serde(rename = "type", default)]
    pub artifact_type: Vec<String>,
    /// A substring of the name (case-insensitive).
    pub name: Option<String>,
    /// A substring of the name or the description (case-insensitive).
    pub q: Option<String>,
    pub created_by: Option<Uuid>,
    /// Artifacts with a version carrying this alias.
    pub alias: Option<String>,
    /// Metadata conditions, e.g. `metadata.accuracy >= 0.9 and metadata.tags contains "prod"`.
    pub filter: Option<String>,
    /// `name`, `created_at`, `updated_at`, `version_count` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ArtifactQuery {
    pub fn into_parts(
        self,
    ) -> ApiResult<(
        ArtifactFilter,
        Sort<ArtifactSortField>,
        PageRequest<SortKey>,
    )> {
        let artifact_types = crate::query::split_values(&self.artifact_type)
            .map(|t| valid(t.parse::<ArtifactType>()))
            .collect::<ApiResult<Vec<_>>>()?;
        let filter = ArtifactFilter {
            project_id: self.project_id.map(ProjectId::from_uuid),
            project_ids: None,
            artifact_types,
            name_contains: self.name,
            text: self.q,
            created_by: self.created_by.map(UserId::from_uuid),
            alias: self
                .alias
                .map(AliasName::parse)
                .transpose()
                .map_err(invalid)?,
            metadata: meta_filter(self.filter.as_deref())?,
        };
        let sort = match self.sort.as_deref() {
            Some(s) => valid(Sort::<ArtifactSortField>::parse(s))?,
            None => Sort::default(),
        };
        let page = key_page(self.limit, self.cursor)?;
        Ok((filter, sort, page))
    }
}

/// `GET /api/v1/artifacts/{id}/versions`: filters, all of which must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    pub alias: Option<String>,
    pub finalized: Option<bool>,
    pub run_id: Option<Uuid>,
    /// Metadata conditions, as for artifacts.
    pub filter: Option<String>,
    /// `index`, `created_at`, `total_size` or `metadata.<key>`; `-` descends.
    pub sort: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl VersionQuery {
    pub fn into_parts(
        self,
    ) -> ApiResult<(VersionFilter, Sort<VersionSortField>, PageRequest<SortKey>)> {
        let filter = VersionFilter {
            alias: self
                .alias
                .map(AliasName::parse)
                .transpose()
                .map_err(invalid)?,
            finalized: self.finalized,
            run_id: self.run_id.map(RunId::from_uuid),
            metadata: meta_filter(self.filter.as_deref())?,
        };
        let sort = match self.sort.as_deref() {
            Some(s) => valid(Sort::<VersionSortField>::parse(s))?,
            None => Sort::default(),
        };
        Ok((filter, sort, key_page(self.limit, self.cursor)?))
    }
}

fn invalid(e: wanllmdb_domain::ValidationError) -> ApiError {
    ApiError::invalid(e.to_string())
}

fn meta_filter(s: Option<&str>) -> ApiResult<MetaFilter> {
    valid(MetaFilter::parse(s.unwrap_or_default()))
}

/// A page keyed by `SortKey`, whose cursor is the key as JSON.
fn key_page(limit: Option<u32>, cursor: Option<String>) -> ApiResult<PageRequest<SortKey>> {
    PageQuery { limit, cursor }.request(|s| serde_json::from_str::<SortKey>(s).ok())
}

/// The cursor of a `SortKey`-keyed page.
pub fn sort_key_cursor(k: &SortKey) -> String {
    serde_json::to_string(k).unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct ArtifactDto {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub description: String,
    pub metadata: serde_json::Value,
    pub created_by: Uuid,
    pub version_count: u32,
    pub latest_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Artifact> for ArtifactDto {
    fn from(a: Artifact) -> Self {
        Self {
            id: a.id.into_uuid(),
            project_id: a.project_id.into_uuid(),
            name: a.name.into_string(),
            artifact_type: a.artifact_type,
            description: a.description.into_string(),
            metadata: a.metadata.to_value(),
            created_by: a.created_by.into_uuid(),
            version_count: a.version_count,
            latest_version: a.latest_version.map(|v| v.label()),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

// ------------------------------------------------------------------ versions

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateVersionDto {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
    pub run_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct VersionDto {
    pub id: Uuid,
    pub artifact_id: Uuid,
    pub project_id: Uuid,
    pub version: String,
    pub description: String,
    pub metadata: serde_json::Value,
    pub file_count: u64,
    pub total_size: u64,
    /// Where the version's files are addressed in the registry (their bytes live at content
    /// addresses; see each file's `storage_key`).
    pub storage_path: String,
    pub digest: Option<String>,
    pub is_finalized: bool,
    pub finalized_at: Option<DateTime<Utc>>,
    pub run_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub aliases: Vec<String>,
}

impl VersionDto {
    pub fn new(v: ArtifactVersion, aliases: Vec<AliasName>) -> Self {
        Self {
            storage_path: format!(
                "projects/{}/artifacts/{}/{}",
                v.project_id, v.artifact_id, v.index
            ),
            id: v.id.into_uuid(),
            artifact_id: v.artifact_id.into_uuid(),
            project_id: v.project_id.into_uuid(),
            version: v.index.label(),
            description: v.description.into_string(),
            metadata: v.metadata.to_value(),
            file_count: v.file_count,
            total_size: v.total_size,
            digest: v.digest.map(Sha256::into_string),
            is_finalized: v.is_finalized,
            finalized_at: v.finalized_at,
            run_id: v.run_id.map(|r| r.into_uuid()),
            created_by: v.created_by.into_uuid(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            aliases: aliases.into_iter().map(AliasName::into_string).collect(),
        }
    }
}

impl From<VersionView> for VersionDto {
    fn from(v: VersionView) -> Self {
        Self::new(v.version, v.aliases)
    }
}

#[derive(Debug, Serialize)]
pub struct VersionWithFilesDto {
    #[serde(flatten)]
    pub version: VersionDto,
    pub files: Vec<FileDto>,
    pub next_files_cursor: Option<String>,
}

// ------------------------------------------------------------------ files

/// A file's path, size and digests, as the seed's upload-url and register requests carry them
/// (its `ArtifactFileCreate`: `name` and `storage_key` are accepted when they agree with the
/// path and with the key the registry derives).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpecDto {
    pub path: String,
    pub size: u64,
    pub md5_hash: String,
    pub sha256_hash: String,
    pub content_type: Option<String>,
    /// The file's name: the last segment of `path`.
    pub name: Option<String>,
    /// The key the upload-url answer gave.
    pub storage_key: Option<String>,
}

impl FileSpecDto {
    /// Just the path, size and digests.
    pub fn of(path: String, size: u64, md5_hash: String, sha256_hash: String) -> Self {
        Self {
            path,
            size,
            md5_hash,
            sha256_hash,
            content_type: None,
            name: None,
            storage_key: None,
        }
    }

    pub fn into_spec(self) -> ApiResult<FileSpec> {
        let path = valid(FilePath::normalize(&self.path))?;
        if let Some(name) = &self.name {
            let expected = path.as_str().rsplit('/').next().unwrap_or_default();
            if name != expected {
                return Err(ApiError::invalid(format!(
                    "name: the file at {path} is named {expected:?}, not {name:?}"
                )));
            }
        }
        Ok(FileSpec {
            storage_key: self.storage_key,
            path,
            size: self.size,
            md5: valid(Md5::parse(self.md5_hash))?,
            sha256: valid(Sha256::parse(self.sha256_hash))?,
            content_type: self
                .content_type
                .map(ContentType::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(e.to_string()))?,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBatchDto {
    pub files: Vec<FileSpecDto>,
}

impl FileBatchDto {
    /// Every file validated, or the first one's error.
    pub fn into_specs(self) -> ApiResult<Vec<FileSpec>> {
        self.files.into_iter().map(FileSpecDto::into_spec).collect()
    }
}

#[derive(Debug, Serialize)]
pub struct FileDto {
    pub id: Uuid,
    pub version_id: Uuid,
    pub path: String,
    pub name: String,
    pub size: u64,
    pub storage_key: String,
    pub md5_hash: String,
    pub sha256_hash: String,
    pub content_type: String,
    pub created_at: DateTime<Utc>,
}

impl From<ArtifactFile> for FileDto {
    fn from(f: ArtifactFile) -> Self {
        Self {
            id: f.id.into_uuid(),
            version_id: f.version_id.into_uuid(),
            name: f.name().to_owned(),
            path: f.path.into_string(),
            size: f.size,
            storage_key: f.storage_key.into(),
            md5_hash: f.md5.into_string(),
            sha256_hash: f.sha256.into_string(),
            content_type: f.content_type.into_string(),
            created_at: f.created_at,
        }
    }
}

/// `GET .../files`: every file under `prefix`, or with `delimiter=/` the children of the
/// folder `prefix` (empty or ending in `/`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListFilesQuery {
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One child in a folder listing: a file, or a folder with the totals of everything below it.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FolderEntryDto {
    File(FileDto),
    Folder {
        /// Ends in `/`; pass it back as `prefix` to open the folder.
        path: String,
        /// Its last segment, without the slash.
        name: String,
        file_count: u64,
        total_size: u64,
    },
}

impl From<FolderEntry> for FolderEntryDto {
    fn from(e: FolderEntry) -> Self {
        match e {
            FolderEntry::File(f) => FolderEntryDto::File(f.into()),
            FolderEntry::Folder(d) => FolderEntryDto::Folder {
                name: d
                    .path
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                path: d.path,
                file_count: d.file_count,
                total_size: d.total_size,
            },
        }
    }
}

/// The answer to an upload-url request: the bytes are already stored (register the file,
/// upload nothing), or where and how to PUT them, or (large files) the parts to PUT.
#[derive(Debug, Serialize)]
pub struct UploadUrlDto {
    pub path: String,
    pub sha256_hash: String,
    pub storage_key: String,
    pub already_stored: bool,
    pub upload_url: Option<String>,
    pub method: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub multipart: Option<MultipartDto>,
}

#[derive(Debug, Serialize)]
pub struct MultipartDto {
    pub upload_id: String,
    pub part_size: u64,
    pub parts: Vec<PartUrlDto>,
}

#[derive(Debug, Serialize)]
pub struct PartUrlDto {
    pub part_number: u32,
    pub size: u64,
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

impl From<MultipartPlan> for MultipartDto {
    fn from(m: MultipartPlan) -> Self {
        Self {
            upload_id: m.upload_id,
            part_size: m.part_size,
            parts: m
                .parts
                .into_iter()
                .map(|p| PartUrlDto {
                    part_number: p.part_number,
                    size: p.size,
                    url: p.request.url,
                    method: p.request.method,
                    headers: p.request.headers,
                    expires_at: p.request.expires_at,
                })
                .collect(),
        }
    }
}

/// A file's spec and some part numbers (fresh part URLs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartUrlsDto {
    #[serde(flatten)]
    pub file: FileSpecFields,
    pub parts: Vec<u32>,
}

/// A file's spec and the parts to assemble.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteDto {
    #[serde(flatten)]
    pub file: FileSpecFields,
    pub parts: Vec<CompletedPartDto>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletedPartDto {
    pub part_number: u32,
    pub etag: String,
}

/// The spec fields, for bodies that carry more (serde cannot deny unknown fields through flatten).
#[derive(Debug, Deserialize)]
pub struct FileSpecFields {
    pub path: String,
    pub size: u64,
    pub md5_hash: String,
    pub sha256_hash: String,
}

impl FileSpecFields {
    pub fn into_spec(self) -> ApiResult<FileSpec> {
        FileSpecDto::of(self.path, self.size, self.md5_hash, self.sha256_hash).into_spec()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sha256Query {
    pub sha256_hash: String,
}

impl From<UploadPlan> for UploadUrlDto {
    fn from(p: UploadPlan) -> Self {
        let (already_stored, req, multipart): (
            bool,
            Option<PresignedRequest>,
            Option<MultipartDto>,
        ) = match p.action {
            UploadAction::AlreadyStored => (true, None, None),
            UploadAction::Upload { request } => (false, Some(request), None),
            UploadAction::Multipart(m) => (false, None, Some(m.into())),
        };
        Self {
            path: p.path.into_string(),
            sha256_hash: p.sha256.into_string(),
            storage_key: p.storage_key.into(),
            already_stored,
            upload_url: req.as_ref().map(|r| r.url.clone()),
            method: req.as_ref().map(|r| r.method.clone()),
            headers: req.as_ref().map(|r| r.headers.clone()),
            expires_at: req.map(|r| r.expires_at),
            multipart,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DownloadUrlDto {
    pub file: FileDto,
    pub download_url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

impl From<DownloadTarget> for DownloadUrlDto {
    fn from(t: DownloadTarget) -> Self {
        Self {
            file: t.file.into(),
            download_url: t.request.url,
            method: t.request.method,
            headers: t.request.headers,
            expires_at: t.request.expires_at,
        }
    }
}

/// A listing of a version's files (query string of `GET .../files`, body of `POST .../download-urls`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    pub prefix: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl FilesQuery {
    /// The page asked for, keyed by path.
    pub fn page_request(&self) -> ApiResult<PageRequest<FilePath>> {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .request(|s| FilePath::parse(s).ok())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    pub path: String,
    pub size: u64,
    pub md5_hash: String,
    pub sha256_hash: String,
}

// ------------------------------------------------------------------ aliases, runs, lineage

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAliasDto {
    /// `v3`, or give `version_id`.
    pub version: Option<String>,
    pub version_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasHistoryQuery {
    pub alias: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AliasDto {
    pub name: String,
    pub version_id: Uuid,
    pub version: String,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl From<Alias> for AliasDto {
    fn from(a: Alias) -> Self {
        Self {
            name: a.name.into_string(),
            version_id: a.version_id.into_uuid(),
            version: a.version_index.label(),
            updated_by: a.updated_by.map(|u| u.into_uuid()),
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    #[serde(rename = "ref")]
    pub reference: String,
    pub project_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRunDto {
    pub project_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    pub project_id: Uuid,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRefDto {
    pub version_id: Uuid,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageQuery {
    pub depth: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcDto {
    #[serde(default = "default_grace")]
    pub grace_seconds: u64,
    /// Drafts and multipart uploads older than this are abandoned (default 7 days).
    #[serde(default = "default_stale_after")]
    pub stale_after_seconds: u64,
    #[serde(default)]
    pub dry_run: bool,
}

fn default_grace() -> u64 {
    24 * 3600
}

fn default_stale_after() -> u64 {
    7 * 24 * 3600
}
