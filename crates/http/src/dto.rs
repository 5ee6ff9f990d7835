//! Requests into validated domain values, so a bad name, path or digest is a 422 naming the
//! field; pages and cursors. The wire types themselves live in `wanllmdb-api`.

use base64::Engine;
pub use wanllmdb_api::*;
use wanllmdb_domain::ids::{ProjectId, RunId, UserId};
use wanllmdb_domain::ports::{
    ArtifactFilter, ArtifactSortField, MetaFilter, Page, PageRequest, Patch, Sort, SortKey,
    VersionFilter, VersionSortField,
};
use wanllmdb_domain::service::FileSpec;
use wanllmdb_domain::types::*;

use crate::error::{ApiError, ApiResult};

/// A page request from `?limit=&cursor=`.
pub trait PageQueryExt {
    /// A page request whose cursor parses with `parse`.
    fn request<K>(&self, parse: impl Fn(&str) -> Option<K>) -> ApiResult<PageRequest<K>>;
}

pub trait PatchExt {
    fn into_patch(self) -> ApiResult<Patch>;
}

pub trait ArtifactQueryExt {
    /// The filter, the order and the page asked for.
    fn into_parts(
        self,
    ) -> ApiResult<(
        ArtifactFilter,
        Sort<ArtifactSortField>,
        PageRequest<SortKey>,
    )>;
}

pub trait VersionQueryExt {
    /// The filter, the order and the page asked for.
    fn into_parts(self)
        -> ApiResult<(VersionFilter, Sort<VersionSortField>, PageRequest<SortKey>)>;
}

/// A file's path, size and digests, validated.
pub trait FileSpecExt {
    fn into_spec(self) -> ApiResult<FileSpec>;
}

pub trait FileBatchExt {
    /// Every file validated, or the first one's error.
    fn into_specs(self) -> ApiResult<Vec<FileSpec>>;
}

pub trait FilesQueryExt {
    /// The page asked for, keyed by path.
    fn page_request(&self) -> ApiResult<PageRequest<FilePath>>;
}

pub fn valid<T>(r: Result<T, wanllmdb_domain::ValidationError>) -> ApiResult<T> {
    r.map_err(|e| ApiError::invalid(e.to_string()))
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

impl PageQueryExt for PageQuery {
    /// A page request whose cursor parses with `parse`.
    fn request<K>(&self, parse: impl Fn(&str) -> Option<K>) -> ApiResult<PageRequest<K>> {
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

impl PatchExt for PatchDto {
    fn into_patch(self) -> ApiResult<Patch> {
        Ok(Patch {
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

impl ArtifactQueryExt for ArtifactQuery {
    fn into_parts(
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

impl VersionQueryExt for VersionQuery {
    fn into_parts(
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

impl FileSpecExt for FileSpecDto {
    fn into_spec(self) -> ApiResult<FileSpec> {
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
            md5: valid(self.md5_hash.map(Md5::parse).transpose())?,
            sha256: valid(Sha256::parse(self.sha256_hash))?,
            content_type: self
                .content_type
                .map(ContentType::parse)
                .transpose()
                .map_err(|e| ApiError::invalid(e.to_string()))?,
        })
    }
}

impl FileBatchExt for FileBatchDto {
    /// Every file validated, or the first one's error.
    fn into_specs(self) -> ApiResult<Vec<FileSpec>> {
        self.files.into_iter().map(FileSpecExt::into_spec).collect()
    }
}

impl FileSpecExt for FileSpecFields {
    fn into_spec(self) -> ApiResult<FileSpec> {
        FileSpecDto::of(self.path, self.size, self.md5_hash, self.sha256_hash).into_spec()
    }
}

impl FilesQueryExt for FilesQuery {
    /// The page asked for, keyed by path.
    fn page_request(&self) -> ApiResult<PageRequest<FilePath>> {
        PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .request(|s| FilePath::parse(s).ok())
    }
}
