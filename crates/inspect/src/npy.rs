//! NumPy `.npy`: the magic `\x93NUMPY`, a version (1.0, 2.0, 3.0), a little-endian header
//! length (u16 in 1.0, u32 after), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.

use serde_json::Value;

use crate::{invalid, Entry, Error, Format, Reader, Summary, Tensor};

pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";

/// NumPy's own bound on the header (`numpy.lib.format`, since 1.24: 10,000 bytes is a soft
/// limit; a million is far past any real file).
const MAX_HEADER: u64 = 1 << 20;

pub(crate) fn parse(head: &[u8], file_size: u64) -> Result<Summary, Error> {
    let mut r = Reader::new(head, file_size);
    if r.take(6)? != MAGIC {
        return Err(invalid("not a .npy file"));
    }
    let (major, minor) = (r.u8()?, r.u8()?);
    let len = match major {
        1 => u64::from(r.u16()?),
        2 | 3 => u64::from(r.u32()?),
        v => {
            return Err(invalid(format!(
                ".npy version {v}.{minor} is not supported"
            )))
        }
    };
    if len > MAX_HEADER {
        return Err(invalid(format!("a .npy header of {len} bytes")));
    }
    let text = r.take(len)?;
    let text = std::str::from_utf8(text).map_err(|_| invalid("the .npy header is not text"))?;
    let descr = field(text, "descr")
        .and_then(|v| quoted(v.trim()))
        .ok_or_else(|| invalid("the .npy header has no 'descr' string"))?;
    let fortran = match field(text, "fortran_order").map(str::trim) {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => return Err(invalid("the .npy header has no 'fortran_order'")),
    };
    let shape = field(text, "shape")
        .and_then(tuple)
        .ok_or_else(|| invalid("the .npy header has no 'shape' tuple of counts"))?;
    let mut summary = Summary::new(Format::Npy, Some(format!("{major}.{minor}")), r.pos as u64);
    summary.metadata.push(Entry {
        key: "fortran_order".into(),
        value: Value::Bool(fortran),
        length: None,
    });
    summary.push(Tensor::new(String::new(), descr.to_owned(), shape));
    Ok(summary)
}

/// The text after `'key':` in the dict literal.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = &text[at + key.len() + 2..];
    rest.trim_start().strip_prefix(':')
}

fn quoted(v: &str) -> Option<&str> {
    let q = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = v[1..].find(q)?;
    Some(&v[1..1 + end])
}

/// `(3, 4)`, `(5,)` or `()`.
fn tuple(v: &str) -> Option<Vec<u64>> {
    let inner = v.trim_start().strip_prefix('(')?;
    let inner = &inner[..inner.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dict: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.resize(out.len() + 48, 0);
        out
    }

    #[test]
    fn dtype_and_shape_of_numpy_headers() {
        let bytes = file("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n");
        let s = parse(&bytes, bytes.len() as u64).expect("parse");
        assert_eq!(s.tensors[0].dtype, "<f4");
        assert_eq!(s.tensors[0].shape, [3, 4]);
        assert_eq!(s.parameter_count, 12);
        assert_eq!(s.version.as_deref(), Some("1.0"));
        let scalar = file("{'descr': '|u1', 'fortran_order': True, 'shape': (), }");
        let s = parse(&scalar, scalar.len() as u64).expect("scalar");
        assert_eq!((s.tensors[0].shape.len(), s.parameter_count), (0, 1));
        let one = file("{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }");
        assert_eq!(
            parse(&one, one.len() as u64).expect("1-d").tensors[0].shape,
            [5]
        );
    }

    #[test]
    fn broken_headers_are_refused() {
        for dict in [
            "{'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f4', 'shape': (3,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': 3, }",
        ] {
            let bytes = file(dict);
            assert!(parse(&bytes, bytes.len() as u64).is_err(), "{dict}");
        }
    }
}
