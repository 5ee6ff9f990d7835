//! Model inspection: the tensors and metadata of a safetensors, GGUF or `.npy` file, read from
//! its header by range reads (never the whole file), the arrays of an `.npz` archive (its
//! central directory, then each member's first bytes), and a sharded safetensors model through
//! its `*.safetensors.index.json`.

use serde::Serialize;
use wanllmdb_inspect::{npz, shard_index, Error as ParseError, Format, Summary};

use super::{Actor, Registry};
use crate::entities::ArtifactFile;
use crate::error::{Error, Result, ValidationError};
use crate::ids::FileId;
use crate::ports::{collect_stream, ByteRange};
use crate::types::FilePath;

/// Bytes read at first: most headers fit.
const FIRST_READ: u64 = 64 << 10;
/// The most bytes inspecting one file (or one shard) may read.
pub const INSPECT_BUDGET: u64 = 32 << 20;
/// The most shards an index may name.
const MAX_SHARDS: usize = 256;
/// The most `.npz` members read (one range read each); the rest are not listed.
pub const MAX_NPZ_MEMBERS: usize = 1000;

/// One shard of a sharded model.
#[derive(Clone, Debug, Serialize)]
pub struct Shard {
    pub path: String,
    pub file_id: FileId,
    pub tensor_count: u64,
}

/// What inspecting a file found.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub file: ArtifactFile,
    pub summary: Summary,
    /// For an index file, the shards it names (all in this version).
    pub shards: Vec<Shard>,
    /// The bytes read from the store to answer.
    pub bytes_read: u64,
}

fn not_inspectable(message: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::new("file", message))
}

impl Registry {
    /// Reads what a model file holds from its header (viewers may). A file of no known model
    /// format, a header past [`INSPECT_BUDGET`], or a broken header is invalid input.
    pub async fn inspect_file(&self, actor: &Actor, id: FileId) -> Result<Inspection> {
        let file = self.get_file(actor, id).await?;
        if file.name().ends_with(".safetensors.index.json") {
            return self.inspect_index(file).await;
        }
        let (summary, bytes_read) = self.read_header(&file).await?;
        Ok(Inspection {
            file,
            summary,
            shards: Vec::new(),
            bytes_read,
        })
    }

    async fn inspect_index(&self, file: ArtifactFile) -> Result<Inspection> {
        if file.size > INSPECT_BUDGET {
            return Err(not_inspectable(format!(
                "{} is {} bytes, over the {INSPECT_BUDGET} inspected",
                file.path, file.size
            )));
        }
        let bytes = self.read_range(&file, 0, file.size).await?;
        let index = shard_index(&bytes).map_err(|e| not_inspectable(e.to_string()))?;
        if index.shards.len() > MAX_SHARDS {
            return Err(not_inspectable(format!(
                "the index names {} shards, over {MAX_SHARDS}",
                index.shards.len()
            )));
        }
        let folder = file
            .path
            .as_str()
            .rsplit_once('/')
            .map_or("", |(dir, _)| dir);
        let mut bytes_read = file.size;
        let mut summary: Option<Summary> = None;
        let mut shards = Vec::with_capacity(index.shards.len());
        for name in &index.shards {
            let path = if folder.is_empty() {
                name.clone()
            } else {
                format!("{folder}/{name}")
            };
            let path = FilePath::parse(path.as_str()).map_err(Error::Invalid)?;
            let shard = self
                .meta
                .get_file_by_path(file.version_id, &path)
                .await
                .map_err(|_| not_inspectable(format!("the shard {path} is not in this version")))?;
            let (part, read) = self.read_header(&shard).await?;
            bytes_read += read;
            shards.push(Shard {
                path: shard.path.as_str().to_owned(),
                file_id: shard.id,
                tensor_count: part.tensor_count,
            });
            match &mut summary {
                Some(s) => s.merge(part),
                None => summary = Some(part),
            }
        }
        let mut summary = summary.ok_or_else(|| not_inspectable("the index names no shard"))?;
        // The index's own metadata first, in its order; the shards' after, without repeats.
        summary
            .metadata
            .retain(|m| index.metadata.iter().all(|e| e.key != m.key));
        summary.metadata.splice(0..0, index.metadata);
        Ok(Inspection {
            file,
            summary,
            shards,
            bytes_read,
        })
    }

    /// Parses a file's header, reading more of the file only as the parser asks.
    async fn read_header(&self, file: &ArtifactFile) -> Result<(Summary, u64)> {
        let mut head: Vec<u8> = Vec::new();
        let mut want = FIRST_READ.min(file.size);
        loop {
            let have = head.len() as u64;
            if want > have {
                head.extend_from_slice(&self.read_range(file, have, want).await?);
            }
            let format = Format::detect(file.name(), &head).ok_or_else(|| {
                not_inspectable(format!(
                    "{} is not a model file this registry reads (safetensors, GGUF, .npy, .npz)",
                    file.path
                ))
            })?;
            if format == Format::Npz {
                return self.read_npz(file).await;
            }
            match format.parse(&head, file.size) {
                Ok(summary) => return Ok((summary, head.len() as u64)),
                Err(ParseError::NeedBytes(n)) if n > INSPECT_BUDGET => {
                    return Err(not_inspectable(format!(
                        "the header of {} is over the {INSPECT_BUDGET} bytes inspected",
                        file.path
                    )))
                }
                Err(ParseError::NeedBytes(n)) => {
                    // At least double, so a header read piece by piece costs a few requests.
                    want = n
                        .max(2 * head.len() as u64)
                        .min(file.size)
                        .min(INSPECT_BUDGET);
                    if want <= head.len() as u64 {
                        return Err(not_inspectable(format!("{} is cut short", file.path)));
                    }
                }
                Err(ParseError::Invalid(m)) => {
                    return Err(not_inspectable(format!("{}: {m}", file.path)))
                }
            }
        }
    }

    /// An `.npz` archive's arrays: its central directory from the end of the file, then each
    /// `.npy` member's local header and array header (inflated when compressed).
    async fn read_npz(&self, file: &ArtifactFile) -> Result<(Summary, u64)> {
        let bad = |e: ParseError| not_inspectable(format!("{}: {e}", file.path));
        let tail_start = file.size.saturating_sub(npz::TAIL);
        let tail = self.read_range(file, tail_start, file.size).await?;
        let mut read = tail.len() as u64;
        let dir = npz::directory(&tail, file.size).map_err(bad)?;
        if dir.size > INSPECT_BUDGET {
            return Err(not_inspectable(format!(
                "the directory of {} is over the {INSPECT_BUDGET} bytes inspected",
                file.path
            )));
        }
        let cd = match dir.offset.checked_sub(tail_start) {
            Some(at) => tail[at as usize..(at + dir.size) as usize].to_vec(),
            None => {
                read += dir.size;
                self.read_range(file, dir.offset, dir.offset + dir.size)
                    .await?
            }
        };
        let members = npz::members(&cd, MAX_NPZ_MEMBERS).map_err(bad)?;
        let mut parts = Vec::new();
        for member in members.into_iter().filter(|m| m.name.ends_with(".npy")) {
            let mut want = npz::MEMBER_HEAD;
            loop {
                let end = member.offset.saturating_add(want).min(file.size);
                let local = self.read_range(file, member.offset, end).await?;
                read += local.len() as u64;
                if read > INSPECT_BUDGET {
                    return Err(not_inspectable(format!(
                        "the headers of {} are over the {INSPECT_BUDGET} bytes inspected",
                        file.path
                    )));
                }
                match npz::member_summary(&local, &member) {
                    Ok(summary) => {
                        parts.push((member.name.clone(), summary));
                        break;
                    }
                    Err(ParseError::NeedBytes(n)) if end < file.size => want = n.max(2 * want),
                    Err(ParseError::NeedBytes(_)) => {
                        return Err(not_inspectable(format!(
                            "{}: the member {} is cut short",
                            file.path, member.name
                        )))
                    }
                    Err(e) => return Err(bad(e)),
                }
            }
        }
        Ok((npz::combine(parts, read), read))
    }

    /// Bytes `[start, end)` of a file.
    async fn read_range(&self, file: &ArtifactFile, start: u64, end: u64) -> Result<Vec<u8>> {
        if start >= end {
            return Ok(Vec::new());
        }
        let range = ByteRange::From {
            start,
            end: Some(end - 1),
        };
        let read = self.blobs.get(&file.storage_key, Some(range)).await?;
        let bytes = collect_stream(read.body)
            .await
            .map_err(|e| Error::Unavailable(format!("reading {}: {e}", file.path)))?;
        Ok(bytes.to_vec())
    }
}
