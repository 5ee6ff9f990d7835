//! GGUF (llama.cpp's format, versions 2 and 3): the magic `GGUF`, a version, the tensor and
//! metadata counts, the metadata as typed key-value pairs, then the tensor infos (name,
//! dimensions, ggml type, offset). All little-endian; strings are a u64 length and UTF-8.

use serde_json::Value;

use crate::{invalid, Entry, Error, Format, Reader, Summary, Tensor, ARRAY_HEAD, MAX_STRING};

/// Arrays of arrays nest at most this deep.
const MAX_DEPTH: u32 = 4;

pub(crate) fn parse(head: &[u8], file_size: u64) -> Result<Summary, Error> {
    let mut r = Reader::new(head, file_size);
    if r.take(4)? != b"GGUF" {
        return Err(invalid("not a GGUF file"));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(invalid(format!(
            "GGUF version {version} is not supported (2 and 3 are)"
        )));
    }
    let tensor_count = r.u64()?;
    let kv_count = r.u64()?;
    let mut summary = Summary::new(Format::Gguf, Some(version.to_string()), 0);
    for _ in 0..kv_count {
        let key = string(&mut r)?;
        let kind = r.u32()?;
        let (value, length) = value(&mut r, kind, 0)?;
        summary.metadata.push(Entry { key, value, length });
    }
    for _ in 0..tensor_count {
        let name = string(&mut r)?;
        let dims = r.u32()?;
        if dims > 8 {
            return Err(invalid(format!("tensor {name:?} has {dims} dimensions")));
        }
        let shape = (0..dims).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
        let dtype = ggml_type(r.u32()?);
        let _offset = r.u64()?;
        summary.push(Tensor::new(name, dtype, shape));
    }
    summary.header_bytes = r.pos as u64;
    Ok(summary)
}

fn string(r: &mut Reader<'_>) -> Result<String, Error> {
    let n = r.u64()?;
    let bytes = r.take(n)?;
    let cut = &bytes[..bytes.len().min(MAX_STRING)];
    let text = String::from_utf8_lossy(cut);
    Ok(if bytes.len() > MAX_STRING {
        format!("{text}…")
    } else {
        text.into_owned()
    })
}

/// A value of GGUF type `kind`; for an array, its first items and its length.
fn value(r: &mut Reader<'_>, kind: u32, depth: u32) -> Result<(Value, Option<u64>), Error> {
    let v = match kind {
        0 => Value::from(r.u8()?),
        1 => Value::from(r.u8()? as i8),
        2 => Value::from(r.u16()?),
        3 => Value::from(r.u16()? as i16),
        4 => Value::from(r.u32()?),
        5 => Value::from(r.u32()? as i32),
        6 => number(f64::from(f32::from_bits(r.u32()?))),
        7 => Value::from(r.u8()? != 0),
        8 => Value::from(string(r)?),
        9 => {
            if depth >= MAX_DEPTH {
                return Err(invalid("arrays nest too deep"));
            }
            let item = r.u32()?;
            let n = r.u64()?;
            let mut head = Vec::new();
            for i in 0..n {
                let (v, _) = value(r, item, depth + 1)?;
                if i < ARRAY_HEAD as u64 {
                    head.push(v);
                }
            }
            return Ok((Value::Array(head), Some(n)));
        }
        10 => Value::from(r.u64()?),
        11 => Value::from(r.u64()? as i64),
        12 => number(f64::from_bits(r.u64()?)),
        other => return Err(invalid(format!("unknown GGUF value type {other}"))),
    };
    Ok((v, None))
}

/// JSON has no NaN or infinity: those become strings.
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or_else(|| Value::from(x.to_string()), Value::Number)
}

/// ggml's tensor type names (ggml.h `enum ggml_type`).
fn ggml_type(t: u32) -> String {
    const NAMES: &[(u32, &str)] = &[
        (0, "F32"),
        (1, "F16"),
        (2, "Q4_0"),
        (3, "Q4_1"),
        (6, "Q5_0"),
        (7, "Q5_1"),
        (8, "Q8_0"),
        (9, "Q8_1"),
        (10, "Q2_K"),
        (11, "Q3_K"),
        (12, "Q4_K"),
        (13, "Q5_K"),
        (14, "Q6_K"),
        (15, "Q8_K"),
        (16, "IQ2_XXS"),
        (17, "IQ2_XS"),
        (18, "IQ3_XXS"),
        (19, "IQ1_S"),
        (20, "IQ4_NL"),
        (21, "IQ3_S"),
        (22, "IQ2_S"),
        (23, "IQ4_XS"),
        (24, "I8"),
        (25, "I16"),
        (26, "I32"),
        (27, "I64"),
        (28, "F64"),
        (29, "IQ1_M"),
        (30, "BF16"),
        (34, "TQ1_0"),
        (35, "TQ2_0"),
        (39, "MXFP4"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == t)
        .map_or_else(|| format!("type {t}"), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a GGUF file: metadata (a string, a u32, a long string array) and tensors.
    pub(crate) fn file(tensors: &[(&str, &[u64], u32)], tokens: usize) -> Vec<u8> {
        fn s(out: &mut Vec<u8>, text: &str) {
            out.extend_from_slice(&(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&3u64.to_le_bytes());
        s(&mut out, "general.architecture");
        out.extend_from_slice(&8u32.to_le_bytes());
        s(&mut out, "llama");
        s(&mut out, "llama.context_length");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&4096u32.to_le_bytes());
        s(&mut out, "tokenizer.ggml.tokens");
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(tokens as u64).to_le_bytes());
        for i in 0..tokens {
            s(&mut out, &format!("tok{i}"));
        }
        for (name, dims, kind) in tensors {
            s(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in *dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        out.resize(out.len() + 64, 0);
        out
    }

    #[test]
    fn metadata_and_tensors_with_long_arrays_cut() {
        let bytes = file(
            &[("token_embd.weight", &[4096, 32000], 12), ("out", &[8], 0)],
            1000,
        );
        let s = parse(&bytes, bytes.len() as u64).expect("parse");
        assert_eq!(s.version.as_deref(), Some("3"));
        assert_eq!(s.metadata[0].value, Value::from("llama"));
        assert_eq!(s.metadata[1].value, Value::from(4096));
        let tokens = &s.metadata[2];
        assert_eq!(tokens.length, Some(1000));
        assert_eq!(tokens.value.as_array().map(Vec::len), Some(ARRAY_HEAD));
        assert_eq!(s.tensors[0].dtype, "Q4_K");
        assert_eq!(s.tensors[1].dtype, "F32");
        assert_eq!(s.parameter_count, 4096 * 32000 + 8);
        assert_eq!(s.header_bytes, bytes.len() as u64 - 64);
    }

    #[test]
    fn a_prefix_asks_for_more_and_garbage_is_refused() {
        let bytes = file(&[("t", &[2, 2], 1)], 10);
        let size = bytes.len() as u64;
        assert!(matches!(parse(&bytes[..30], size), Err(Error::NeedBytes(n)) if n > 30));
        let mut bad = bytes.clone();
        bad[4] = 9;
        assert!(matches!(parse(&bad, size), Err(Error::Invalid(_))));
        // A string claiming more bytes than the file has.
        let mut long = b"GGUF\x03\0\0\0".to_vec();
        long.extend_from_slice(&0u64.to_le_bytes());
        long.extend_from_slice(&1u64.to_le_bytes());
        long.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            parse(&long, long.len() as u64),
            Err(Error::Invalid(_))
        ));
    }
}
