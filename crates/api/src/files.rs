//! Files: upload negotiation, multipart uploads, registration, listings, downloads.

use crate::prelude::*;

/// A file's path, size and digests, as the seed's upload-url and register requests carry them
/// (its `ArtifactFileCreate`: `name` and `storage_key` are accepted when they agree with the
/// path and with the key the registry derives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSpecDto {
    /// Relative, `/`-separated, no `..`.
    #[schema(min_length = 1, max_length = 1024)]
    pub path: String,
    pub size: u64,
    /// Required to register a file. An upload-url request may leave it out (a big file is then
    /// read once for its SHA-256 before the upload, and its MD5 is taken while it is sent): the
    /// answer is then `already_stored` (with the stored bytes' `md5_hash`) or `multipart`, and
    /// the MD5 is given at `complete`.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_hash: Option<String>,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256_hash: String,
    pub content_type: Option<String>,
    /// The file's name: the last segment of `path`.
    pub name: Option<String>,
    /// The key the upload-url answer gave.
    pub storage_key: Option<String>,
}

impl FileSpecDto {
    /// Just the path, size and digests.
    pub fn of(path: String, size: u64, md5_hash: Option<String>, sha256_hash: String) -> Self {
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileBatchDto {
    pub files: Vec<FileSpecDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListFilesQuery {
    pub prefix: Option<String>,
    /// Only `/` is supported.
    #[param(pattern = "^/$")]
    pub delimiter: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One child in a folder listing: a file, or a folder with the totals of everything below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadUrlDto {
    pub path: String,
    pub sha256_hash: String,
    /// The stored bytes' MD5, when `already_stored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_hash: Option<String>,
    pub storage_key: String,
    pub already_stored: bool,
    pub upload_url: Option<String>,
    pub method: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub multipart: Option<MultipartDto>,
}

/// The answers to a batch of upload-url requests, in the order of the request's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UploadUrlsDto {
    pub files: Vec<UploadUrlDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MultipartDto {
    pub upload_id: String,
    pub part_size: u64,
    pub parts: Vec<PartUrlDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartUrlsDto {
    #[serde(flatten)]
    pub file: FileSpecFields,
    pub parts: Vec<u32>,
}

/// A file's spec and the parts to assemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteDto {
    #[serde(flatten)]
    pub file: FileSpecFields,
    pub parts: Vec<CompletedPartDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPartDto {
    pub part_number: u32,
    pub etag: String,
}

/// The spec fields, for bodies that carry more (serde cannot deny unknown fields through flatten).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileSpecFields {
    #[schema(min_length = 1, max_length = 1024)]
    pub path: String,
    pub size: u64,
    /// Required to complete an upload; part URLs do not need it.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_hash: Option<String>,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Sha256Query {
    #[param(pattern = "^[0-9a-f]{64}$")]
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
            md5_hash: p.md5.map(Md5::into_string),
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    pub prefix: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    #[param(min_length = 1, max_length = 1024)]
    pub path: String,
    pub size: u64,
    #[param(pattern = "^[0-9a-f]{32}$")]
    pub md5_hash: String,
    #[param(pattern = "^[0-9a-f]{64}$")]
    pub sha256_hash: String,
}

/// Bytes now stored under their content address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredDto {
    pub storage_key: String,
    pub sha256_hash: String,
    pub size: u64,
}

/// A part of a multipart upload already in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredPartDto {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
}

impl From<wanllmdb_domain::ports::PartInfo> for StoredPartDto {
    fn from(p: wanllmdb_domain::ports::PartInfo) -> Self {
        Self {
            part_number: p.part_number,
            size: p.size,
            etag: p.etag,
        }
    }
}

/// A batch of registered files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FilesDto {
    pub files: Vec<FileDto>,
}

/// Raw bytes (`application/octet-stream`), in a request or a response body.
#[derive(Debug, Clone, Copy)]
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}

/// `GET .../archive`: the files under `prefix` (all without one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArchiveQuery {
    pub prefix: Option<String>,
}
