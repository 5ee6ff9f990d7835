//! NumPy `.npz`: a zip archive of `.npy` members (`np.savez` stores them, `np.savez_compressed`
//! deflates them). Read from its central directory at the end of the file, then each member's
//! local header and the first bytes of its data (inflated when compressed), so a large archive
//! costs a few KiB per array. Zip64 archives (members or offsets past 4 GiB) are read too.

use crate::{invalid, npy, Error, Format, Reader, Summary};

/// The end-of-central-directory record is at most this far from the end (22 bytes and a
/// comment of up to 65,535).
pub const TAIL: u64 = 22 + 65_535;
/// Bytes of a member read at first: its local header and a typical `.npy` header.
pub const MEMBER_HEAD: u64 = 4096;

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// Where the central directory is: `[offset, offset + size)`, and how many members it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    pub offset: u64,
    pub size: u64,
    pub members: u64,
}

/// One member of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// 0: stored, 8: deflated.
    pub method: u16,
    pub compressed_size: u64,
    pub size: u64,
    /// Where its local header starts.
    pub offset: u64,
}

/// Whether the first bytes are a zip archive's.
pub(crate) fn looks_like(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// Finds the central directory from the file's last bytes (`tail`, at most [`TAIL`] of them,
/// ending at `file_size`).
pub fn directory(tail: &[u8], file_size: u64) -> Result<Directory, Error> {
    let base = file_size - tail.len() as u64;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == EOCD.to_le_bytes())
        .ok_or_else(|| invalid("not a zip archive (no end of central directory)"))?;
    let mut r = Reader::new(&tail[at..], tail.len() as u64);
    r.take(10)?;
    let members = u64::from(r.u16()?);
    let size = u64::from(r.u32()?);
    let offset = u64::from(r.u32()?);
    let mut dir = Directory {
        offset,
        size,
        members,
    };
    if (offset == u64::from(u32::MAX) || size == u64::from(u32::MAX) || members == 0xFFFF)
        && at >= 20
    {
        // Zip64: the locator just before points at the zip64 record, which must be in the tail.
        let mut l = Reader::new(&tail[at - 20..at], 20);
        if l.u32()? == ZIP64_LOCATOR {
            l.u32()?;
            let record = l.u64()?;
            let start = record
                .checked_sub(base)
                .filter(|s| *s < tail.len() as u64)
                .ok_or_else(|| invalid("the zip64 record is not near the end of the file"))?;
            let mut z = Reader::new(&tail[start as usize..], tail.len() as u64 - start);
            if z.u32()? != ZIP64_EOCD {
                return Err(invalid("a broken zip64 end of central directory"));
            }
            z.take(20)?;
            dir.members = z.u64()?;
            z.u64()?;
            dir.size = z.u64()?;
            dir.offset = z.u64()?;
        }
    }
    let end = dir
        .offset
        .checked_add(dir.size)
        .ok_or_else(|| invalid("a length overflows"))?;
    if end > file_size {
        return Err(invalid(
            "the central directory runs past the end of the file",
        ));
    }
    Ok(dir)
}

/// The members the central directory lists (`cd`: its bytes), at most `limit` of them.
pub fn members(cd: &[u8], limit: usize) -> Result<Vec<Member>, Error> {
    let mut r = Reader::new(cd, cd.len() as u64);
    let mut out = Vec::new();
    while (r.pos as u64) + 46 <= cd.len() as u64 && out.len() < limit {
        if r.u32()? != CENTRAL {
            return Err(invalid("a broken central directory entry"));
        }
        r.take(6)?;
        let method = r.u16()?;
        r.take(8)?;
        let mut compressed_size = u64::from(r.u32()?);
        let mut size = u64::from(r.u32()?);
        let name_len = u64::from(r.u16()?);
        let extra_len = r.u16()?;
        let comment_len = u64::from(r.u16()?);
        r.take(8)?;
        let mut offset = u64::from(r.u32()?);
        let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
        let extra = r.take(u64::from(extra_len))?;
        // The zip64 extra field holds, in this order, only the values that overflowed.
        let mut e = Reader::new(extra, extra.len() as u64);
        while (e.pos as u64) + 4 <= extra.len() as u64 {
            let (id, len) = (e.u16()?, u64::from(e.u16()?));
            let body = e.take(len)?;
            if id == 1 {
                let mut z = Reader::new(body, len);
                for field in [&mut size, &mut compressed_size, &mut offset] {
                    if *field == u64::from(u32::MAX) {
                        *field = z.u64()?;
                    }
                }
            }
        }
        r.take(comment_len)?;
        out.push(Member {
            name,
            method,
            compressed_size,
            size,
            offset,
        });
    }
    Ok(out)
}

/// A member's array, from the bytes at its local header (`local`: a prefix of the member's
/// local header and data). Answers `NeedBytes` counted from the local header.
pub fn member_summary(local: &[u8], member: &Member) -> Result<Summary, Error> {
    let mut r = Reader::new(local, u64::MAX);
    if r.u32()? != LOCAL {
        return Err(invalid(format!("{}: a broken local header", member.name)));
    }
    r.take(22)?;
    let name_len = u64::from(r.u16()?);
    let extra_len = u64::from(r.u16()?);
    r.take(name_len + extra_len)?;
    let data = &local[r.pos..];
    let header_at = r.pos as u64;
    let summary = match member.method {
        0 => npy::parse(data, member.size).map_err(|e| match e {
            Error::NeedBytes(n) => Error::NeedBytes(header_at + n),
            other => other,
        })?,
        8 => {
            let (head, complete) = inflate_prefix(data, MEMBER_HEAD as usize * 16)?;
            match npy::parse(&head, member.size) {
                // More of the compressed stream gives more of the header.
                Err(Error::NeedBytes(_)) if !complete => {
                    return Err(Error::NeedBytes(
                        header_at + 2 * (data.len() as u64).max(MEMBER_HEAD),
                    ))
                }
                other => other?,
            }
        }
        m => {
            return Err(invalid(format!(
                "{}: zip compression method {m} is not read",
                member.name
            )))
        }
    };
    Ok(summary)
}

/// Inflates the start of a raw deflate stream: up to `limit` bytes out, and whether the input
/// given ran out before the output did (`false`: more input may give more output).
fn inflate_prefix(input: &[u8], limit: usize) -> Result<(Vec<u8>, bool), Error> {
    use miniz_oxide::inflate::stream::{inflate, InflateState};
    use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut out = vec![0u8; limit];
    let result = inflate(&mut state, input, &mut out, MZFlush::None);
    out.truncate(result.bytes_written);
    match result.status {
        Ok(MZStatus::StreamEnd) => Ok((out, true)),
        Ok(_) | Err(MZError::Buf) => Ok((out, false)),
        Err(e) => Err(invalid(format!("a broken deflate stream ({e:?})"))),
    }
}

/// The archive's arrays as one summary: each member named by its path without `.npy`.
pub fn combine(parts: Vec<(String, Summary)>, header_bytes: u64) -> Summary {
    let mut summary = Summary::new(Format::Npz, None, header_bytes);
    for (name, part) in parts {
        for mut t in part.tensors {
            t.name = name.strip_suffix(".npy").unwrap_or(&name).to_owned();
            summary.push(t);
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(descr: &str, shape: &str) -> Vec<u8> {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.resize(out.len() + 64, 0);
        out
    }

    /// A zip of `(name, method, data-as-stored, uncompressed size)` members.
    fn zip(members: &[(&str, u16, Vec<u8>, usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, method, data, size) in members {
            let offset = out.len() as u32;
            let mut local = LOCAL.to_le_bytes().to_vec();
            local.extend_from_slice(&[20, 0, 0, 0]);
            local.extend_from_slice(&method.to_le_bytes());
            local.extend_from_slice(&[0; 8]);
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(*size as u32).to_le_bytes());
            local.extend_from_slice(&(name.len() as u16).to_le_bytes());
            local.extend_from_slice(&0u16.to_le_bytes());
            local.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&local);
            out.extend_from_slice(data);
            let mut c = CENTRAL.to_le_bytes().to_vec();
            c.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            c.extend_from_slice(&method.to_le_bytes());
            c.extend_from_slice(&[0; 8]);
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(&(*size as u32).to_le_bytes());
            c.extend_from_slice(&(name.len() as u16).to_le_bytes());
            c.extend_from_slice(&[0; 12]);
            c.extend_from_slice(&offset.to_le_bytes());
            c.extend_from_slice(name.as_bytes());
            central.extend_from_slice(&c);
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    fn read_all(file: &[u8]) -> Summary {
        let size = file.len() as u64;
        let tail = &file[file.len().saturating_sub(TAIL as usize)..];
        let dir = directory(tail, size).expect("directory");
        let cd = &file[dir.offset as usize..(dir.offset + dir.size) as usize];
        let parts = members(cd, 100)
            .expect("members")
            .into_iter()
            .map(|m| {
                let local = &file[m.offset as usize..];
                (m.name.clone(), member_summary(local, &m).expect("member"))
            })
            .collect();
        combine(parts, 0)
    }

    #[test]
    fn stored_and_deflated_members_are_read() {
        let a = npy_bytes("<f4", "(3, 4)");
        let b = npy_bytes("<i8", "(10,)");
        let deflated = miniz_oxide::deflate::compress_to_vec(&b, 6);
        let file = zip(&[
            ("weights.npy", 0, a.clone(), a.len()),
            ("labels.npy", 8, deflated, b.len()),
        ]);
        assert!(looks_like(&file));
        let s = read_all(&file);
        assert_eq!(s.format, Format::Npz);
        assert_eq!(s.tensor_count, 2);
        assert_eq!(s.parameter_count, 22);
        assert_eq!(s.tensors[0].name, "weights");
        assert_eq!(s.tensors[0].shape, vec![3, 4]);
        assert_eq!(s.tensors[1].name, "labels");
        assert_eq!(s.tensors[1].dtype, "<i8");
    }

    #[test]
    fn a_short_prefix_asks_for_more() {
        let a = npy_bytes("<f4", "(3, 4)");
        let file = zip(&[("a.npy", 0, a.clone(), a.len())]);
        let m = Member {
            name: "a.npy".into(),
            method: 0,
            compressed_size: a.len() as u64,
            size: a.len() as u64,
            offset: 0,
        };
        assert!(matches!(member_summary(&file[..40], &m), Err(Error::NeedBytes(n)) if n > 40));
    }

    #[test]
    fn what_is_not_a_zip_is_refused() {
        assert!(matches!(
            directory(b"just some bytes, no zip here at all", 35),
            Err(Error::Invalid(_))
        ));
        let mut file = zip(&[("a.npy", 0, vec![1, 2, 3], 3)]);
        let n = file.len();
        // A directory offset past the end.
        file[n - 6..n - 2].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(directory(&file, n as u64), Err(Error::Invalid(_))));
    }
}
