//! Model inspection: what a safetensors, GGUF, `.npy` or `.npz` file holds, from its header.

use crate::prelude::*;
use wanllmdb_domain::service::{Inspection, Shard};

/// One tensor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TensorDto {
    pub name: String,
    /// As the format spells it: `F32`, `BF16`, `Q4_K`, `<f4`.
    pub dtype: String,
    pub shape: Vec<u64>,
    /// Elements: the product of the shape.
    pub parameters: u64,
}

/// One metadata entry; an array keeps its first 16 items in `value` and its full `length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelMetadataDto {
    pub key: String,
    pub value: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// One shard of a sharded model, a file of the same version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShardDto {
    pub path: String,
    pub file_id: Uuid,
    pub tensor_count: u64,
}

/// `GET /api/v1/artifacts/files/{id}/inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InspectDto {
    pub file_id: Uuid,
    pub path: String,
    /// `safetensors`, `gguf`, `npy` or `npz`.
    pub format: String,
    /// The format's version where it has one (GGUF `3`, NumPy `1.0`).
    #[serde(default)]
    pub format_version: Option<String>,
    pub tensor_count: u64,
    pub parameter_count: u64,
    /// The first 10,000 tensors in file order (`tensor_count` counts all).
    pub tensors: Vec<TensorDto>,
    pub metadata: Vec<ModelMetadataDto>,
    /// For `*.safetensors.index.json`, the shards it names; their tensors are merged above.
    #[serde(default)]
    pub shards: Vec<ShardDto>,
    /// Header bytes (of every shard).
    pub header_bytes: u64,
    /// Bytes read from the store to answer.
    pub bytes_read: u64,
}

impl From<Inspection> for InspectDto {
    fn from(i: Inspection) -> Self {
        let s = i.summary;
        Self {
            file_id: i.file.id.into_uuid(),
            path: i.file.path.into_string(),
            format: s.format.as_str().to_owned(),
            format_version: s.version,
            tensor_count: s.tensor_count,
            parameter_count: s.parameter_count,
            tensors: s
                .tensors
                .into_iter()
                .map(|t| TensorDto {
                    name: t.name,
                    dtype: t.dtype,
                    shape: t.shape,
                    parameters: t.parameters,
                })
                .collect(),
            metadata: s
                .metadata
                .into_iter()
                .map(|e| ModelMetadataDto {
                    key: e.key,
                    value: e.value,
                    length: e.length,
                })
                .collect(),
            shards: i.shards.into_iter().map(ShardDto::from).collect(),
            header_bytes: s.header_bytes,
            bytes_read: i.bytes_read,
        }
    }
}

impl From<Shard> for ShardDto {
    fn from(s: Shard) -> Self {
        Self {
            path: s.path,
            file_id: s.file_id.into_uuid(),
            tensor_count: s.tensor_count,
        }
    }
}
