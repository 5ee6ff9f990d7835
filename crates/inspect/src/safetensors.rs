//! safetensors: an 8-byte little-endian header length `n`, then `n` bytes of JSON mapping each
//! tensor's name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data
//! after the header), with string metadata under `__metadata__`.

use serde::Serialize;
use serde_json::Value;

use crate::{invalid, Entry, Error, Format, Reader, Summary, Tensor, MAX_STRING};

/// The format's own bound on the header.
const MAX_HEADER: u64 = 100_000_000;

/// Whether a prefix looks like a safetensors file: a plausible header length, then a JSON
/// object.
pub(crate) fn looks_like(head: &[u8]) -> bool {
    match head.get(..9) {
        Some(h) => {
            let mut len = [0u8; 8];
            len.copy_from_slice(&h[..8]);
            let n = u64::from_le_bytes(len);
            n > 1 && n <= MAX_HEADER && h[8] == b'{'
        }
        None => false,
    }
}

pub(crate) fn parse(head: &[u8], file_size: u64) -> Result<Summary, Error> {
    let mut r = Reader::new(head, file_size);
    let n = r.u64()?;
    if n > MAX_HEADER {
        return Err(invalid(format!(
            "a safetensors header of {n} bytes is over the format's {MAX_HEADER}"
        )));
    }
    let json = r.take(n)?;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(json)
        .map_err(|e| invalid(format!("the safetensors header is not a JSON object: {e}")))?;
    let data_size = file_size - 8 - n;
    let mut summary = Summary::new(Format::Safetensors, None, 8 + n);
    let mut tensors = Vec::with_capacity(header.len());
    for (name, info) in header {
        if name == "__metadata__" {
            let Value::Object(meta) = info else {
                return Err(invalid("__metadata__ is not an object"));
            };
            summary.metadata = meta
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    value: clip(value),
                    length: None,
                })
                .collect();
            continue;
        }
        let bad = |what: &str| invalid(format!("tensor {name:?}: {what}"));
        let dtype = info
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no dtype"))?
            .to_owned();
        let shape = info
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no shape"))?
            .iter()
            .map(|d| d.as_u64().ok_or_else(|| bad("a dimension is not a count")))
            .collect::<Result<Vec<u64>, Error>>()?;
        let offsets = info
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|o| Some((o.first()?.as_u64()?, o.get(1)?.as_u64()?)))
            .ok_or_else(|| bad("no data_offsets [begin, end]"))?;
        if offsets.0 > offsets.1 || offsets.1 > data_size {
            return Err(bad(&format!(
                "data_offsets {offsets:?} lie outside the {data_size} bytes of data"
            )));
        }
        tensors.push((offsets.0, Tensor::new(name, dtype, shape)));
    }
    // The JSON object's keys come sorted; the file's order is the data's.
    tensors.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    for (_, t) in tensors {
        summary.push(t);
    }
    Ok(summary)
}

fn clip(value: Value) -> Value {
    match value {
        Value::String(s) if s.len() > MAX_STRING => {
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Value::String(format!("{}…", &s[..end]))
        }
        v => v,
    }
}

/// A sharded model's `model.safetensors.index.json`: which shard files hold its tensors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardIndex {
    /// The shard files, relative to the index's folder, sorted and distinct.
    pub shards: Vec<String>,
    /// How many tensors the index maps.
    pub tensor_count: u64,
    /// The index's `metadata` (such as `total_size`).
    pub metadata: Vec<Entry>,
}

/// Reads an index file. Shard names must be plain relative paths (no `..`, not absolute).
pub fn shard_index(bytes: &[u8]) -> Result<ShardIndex, Error> {
    let index: serde_json::Map<String, Value> = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("the index is not a JSON object: {e}")))?;
    let map = index
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the index has no weight_map object"))?;
    let mut shards = Vec::new();
    for (tensor, shard) in map {
        let shard = shard
            .as_str()
            .ok_or_else(|| invalid(format!("weight_map[{tensor:?}] is not a file name")))?;
        if shard.is_empty()
            || shard.starts_with('/')
            || shard
                .split('/')
                .any(|p| p == ".." || p == "." || p.is_empty())
        {
            return Err(invalid(format!(
                "weight_map[{tensor:?}] = {shard:?} is not a relative path"
            )));
        }
        shards.push(shard.to_owned());
    }
    shards.sort();
    shards.dedup();
    let metadata = match index.get("metadata") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| Entry {
                key: k.clone(),
                value: clip(v.clone()),
                length: None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(ShardIndex {
        shards,
        tensor_count: map.len() as u64,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn file(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.resize(out.len() + data, 0);
        out
    }

    const HEADER: &str = r#"{"__metadata__":{"format":"pt"},"b.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]},"a.bias":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}"#;

    #[test]
    fn tensors_come_in_data_order_with_their_counts() {
        let bytes = file(HEADER, 32);
        let s = parse(&bytes, bytes.len() as u64).expect("parse");
        let names: Vec<&str> = s.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a.bias", "b.weight"]);
        assert_eq!(s.tensors[1].shape, [2, 3]);
        assert_eq!((s.tensor_count, s.parameter_count), (2, 10));
        assert_eq!(s.metadata[0].key, "format");
        assert_eq!(s.header_bytes, 8 + HEADER.len() as u64);
    }

    #[test]
    fn a_short_prefix_asks_for_exactly_the_header() {
        let bytes = file(HEADER, 32);
        let size = bytes.len() as u64;
        assert_eq!(parse(&bytes[..4], size), Err(Error::NeedBytes(8)));
        assert_eq!(
            parse(&bytes[..20], size),
            Err(Error::NeedBytes(8 + HEADER.len() as u64))
        );
    }

    #[test]
    fn hostile_headers_are_refused_without_allocating_their_claims() {
        let huge = u64::MAX.to_le_bytes();
        assert!(matches!(parse(&huge, 1 << 40), Err(Error::Invalid(_))));
        // A length past the end of the file.
        let mut past = 1000u64.to_le_bytes().to_vec();
        past.extend_from_slice(b"{}");
        assert!(matches!(parse(&past, 10), Err(Error::Invalid(_))));
        for header in [
            r#"[1,2]"#,
            r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,999]}}"#,
            r#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            r#"{"t":{"shape":[1],"data_offsets":[0,4]}}"#,
        ] {
            let bytes = file(header, 8);
            assert!(
                matches!(parse(&bytes, bytes.len() as u64), Err(Error::Invalid(_))),
                "{header}"
            );
        }
    }

    #[test]
    fn an_index_names_its_shards_once_and_refuses_paths_out() {
        let index = br#"{"metadata":{"total_size":123},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}"#;
        let i = shard_index(index).expect("index");
        assert_eq!(
            i.shards,
            [
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(i.tensor_count, 3);
        assert_eq!(i.metadata[0].value, serde_json::json!(123));
        for bad in ["../x.safetensors", "/etc/passwd", "a//b", ""] {
            let doc = format!(r#"{{"weight_map":{{"a":"{bad}"}}}}"#);
            assert!(shard_index(doc.as_bytes()).is_err(), "{bad}");
        }
    }
}
