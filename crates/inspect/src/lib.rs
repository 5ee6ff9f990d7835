//! What a model file holds, read from its header alone: the tensors (name, dtype, shape) and
//! the metadata of safetensors, GGUF and NumPy `.npy` files, the arrays of a NumPy `.npz`
//! archive (from its central directory and each member's first bytes), and the shards a
//! sharded safetensors model's `model.safetensors.index.json` names.
//!
//! Parsers are pure: each takes the first bytes of a file and answers a [`Summary`], or
//! [`Error::NeedBytes`] with how many bytes from the start it needs to go on. The caller reads
//! more (a range request) and asks again, so a 5 GB file costs only its header. Nothing here
//! allocates by what a header claims before the bytes are there.

mod gguf;
mod npy;
pub mod npz;
mod safetensors;

use serde::Serialize;

pub use safetensors::{shard_index, ShardIndex};

/// The most tensors listed; the counts still cover all of them.
pub const MAX_TENSORS: usize = 10_000;
/// Array values in metadata keep their first this many items (and their full length).
pub const ARRAY_HEAD: usize = 16;
/// String values in metadata are cut at this many bytes.
pub const MAX_STRING: usize = 1024;

/// A file format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Safetensors,
    Gguf,
    Npy,
    /// Read through [`npz`] (its directory is at the end), not [`Format::parse`].
    Npz,
}

impl Format {
    /// `safetensors`, `gguf`, `npy` or `npz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Npy => "npy",
            Format::Npz => "npz",
        }
    }

    /// The format of a file, from its name and its first bytes (at least 8 where the file has
    /// them). Content wins over the name: a `.bin` that starts with `GGUF` is GGUF.
    pub fn detect(name: &str, head: &[u8]) -> Option<Format> {
        if head.starts_with(b"GGUF") {
            return Some(Format::Gguf);
        }
        if head.starts_with(npy::MAGIC) {
            return Some(Format::Npy);
        }
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".npz") && (head.is_empty() || npz::looks_like(head)) {
            return Some(Format::Npz);
        }
        if lower.ends_with(".safetensors") || safetensors::looks_like(head) {
            return Some(Format::Safetensors);
        }
        None
    }

    /// Parses the first bytes of a file of `file_size` bytes.
    pub fn parse(self, head: &[u8], file_size: u64) -> Result<Summary, Error> {
        match self {
            Format::Safetensors => safetensors::parse(head, file_size),
            Format::Gguf => gguf::parse(head, file_size),
            Format::Npy => npy::parse(head, file_size),
            Format::Npz => Err(invalid(
                "an .npz is read from its central directory (see the npz module), not a prefix",
            )),
        }
    }
}

/// One tensor: its name, element type as the format spells it (`F32`, `Q4_K`, `<f4`), shape
/// and element count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub parameters: u64,
}

impl Tensor {
    fn new(name: String, dtype: String, shape: Vec<u64>) -> Self {
        let parameters = shape.iter().try_fold(1u64, |n, d| n.checked_mul(*d));
        Tensor {
            name,
            dtype,
            shape,
            parameters: parameters.unwrap_or(u64::MAX),
        }
    }
}

/// One metadata entry. For an array, `value` holds its first [`ARRAY_HEAD`] items and
/// `length` its full length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// What a file's header says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub format: Format,
    /// The format's version, where it has one (GGUF 3, NumPy 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// At most [`MAX_TENSORS`], in file order.
    pub tensors: Vec<Tensor>,
    pub tensor_count: u64,
    pub parameter_count: u64,
    pub metadata: Vec<Entry>,
    /// The bytes of the header (what inspecting the file needs to read).
    pub header_bytes: u64,
}

impl Summary {
    fn new(format: Format, version: Option<String>, header_bytes: u64) -> Self {
        Summary {
            format,
            version,
            tensors: Vec::new(),
            tensor_count: 0,
            parameter_count: 0,
            metadata: Vec::new(),
            header_bytes,
        }
    }

    fn push(&mut self, tensor: Tensor) {
        self.tensor_count += 1;
        self.parameter_count = self.parameter_count.saturating_add(tensor.parameters);
        if self.tensors.len() < MAX_TENSORS {
            self.tensors.push(tensor);
        }
    }

    /// Adds another shard's tensors and counts (a sharded model's parts).
    pub fn merge(&mut self, other: Summary) {
        self.tensor_count += other.tensor_count;
        self.parameter_count = self.parameter_count.saturating_add(other.parameter_count);
        self.header_bytes += other.header_bytes;
        let room = MAX_TENSORS.saturating_sub(self.tensors.len());
        self.tensors.extend(other.tensors.into_iter().take(room));
        for e in other.metadata {
            if !self.metadata.iter().any(|m| m.key == e.key) {
                self.metadata.push(e);
            }
        }
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The first `0` bytes are needed (more than were given); the file has them.
    #[error("needs the first {0} bytes")]
    NeedBytes(u64),
    /// Not a valid file of the format.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(what: impl Into<String>) -> Error {
    Error::Invalid(what.into())
}

/// Reads little-endian numbers and length-prefixed strings from a prefix of a file, asking for
/// more bytes when the prefix ends before the file does.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    file_size: u64,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], file_size: u64) -> Self {
        Reader {
            buf,
            pos: 0,
            file_size,
        }
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Error> {
        let end = (self.pos as u64)
            .checked_add(n)
            .ok_or_else(|| invalid("a length overflows"))?;
        if end > self.file_size {
            return Err(invalid(format!(
                "the header runs past the end of the file ({end} > {} bytes)",
                self.file_size
            )));
        }
        if end > self.buf.len() as u64 {
            return Err(Error::NeedBytes(end));
        }
        let start = self.pos;
        self.pos = end as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_prefers_content_to_the_name() {
        assert_eq!(
            Format::detect("x.bin", b"GGUF\x03\0\0\0"),
            Some(Format::Gguf)
        );
        assert_eq!(
            Format::detect("x.safetensors", b"\x93NUMPY\x01\0"),
            Some(Format::Npy)
        );
        assert_eq!(
            Format::detect("weights.safetensors", b"\0\0\0\0\0\0\0\0"),
            Some(Format::Safetensors)
        );
        assert_eq!(Format::detect("notes.txt", b"hello world"), None);
    }

    #[test]
    fn the_reader_asks_for_what_it_lacks_and_refuses_what_the_file_lacks() {
        let mut r = Reader::new(&[1, 0, 0, 0], 100);
        assert_eq!(r.u32(), Ok(1));
        assert_eq!(r.u64(), Err(Error::NeedBytes(12)));
        let mut short = Reader::new(&[1, 0], 2);
        assert!(matches!(short.u32(), Err(Error::Invalid(_))));
    }
}
