//! Object-store keys. `ObjectKey` owns the layout of the bucket: content-addressed blobs live at
//! `projects/{project_id}/blobs/sha256/{h[0..2]}/{h[2..4]}/{h}`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::ProjectId;
use crate::types::Sha256;

/// Where every key the registry writes starts: garbage collection touches nothing outside it,
/// so the bucket can be shared.
pub const BLOB_ROOT: &str = "projects/";

/// The most bytes a key may have (S3's limit).
pub const MAX_KEY_BYTES: usize = 1024;

/// A key in the object store: 1..=1024 bytes of visible ASCII without `\`, no leading `/`, no empty,
/// `.` or `..` segment. Keys made by the registry come from the constructors below.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn parse(key: impl Into<String>) -> Result<Self, ValidationError> {
        let key = key.into();
        let bad = key.is_empty()
            || key.len() > MAX_KEY_BYTES
            || key.starts_with('/')
            || !key.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
            || key
                .split('/')
                .any(|seg| seg.is_empty() || seg == "." || seg == "..");
        if bad {
            return Err(ValidationError::new(
                "storage_key",
                format!("{key:?} is not a valid object key"),
            ));
        }
        Ok(Self(key))
    }

    /// Where the bytes with this SHA-256 live for this project.
    pub fn blob(project: ProjectId, sha256: &Sha256) -> Self {
        let h = sha256.as_str();
        Self(format!(
            "{}{}/{}/{}",
            Self::blob_prefix(project),
            &h[0..2],
            &h[2..4],
            h
        ))
    }

    /// The prefix under which all of a project's blobs live.
    pub fn blob_prefix(project: ProjectId) -> String {
        format!("projects/{project}/blobs/sha256/")
    }

    /// Reads a blob key back into its project and digest; `None` for any other key.
    pub fn parse_blob(&self) -> Option<(ProjectId, Sha256)> {
        let rest = self.0.strip_prefix("projects/")?;
        let (project, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("blobs/sha256/")?;
        let mut parts = rest.split('/');
        let (a, b, h) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let sha = Sha256::parse(h).ok()?;
        (a == &h[0..2] && b == &h[2..4]).then_some(())?;
        Some((project.parse().ok()?, sha))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<ObjectKey> for String {
    fn from(k: ObjectKey) -> Self {
        k.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_keys_have_the_documented_layout() {
        let p = ProjectId::new();
        let sha = Sha256::of(b"hello");
        let k = ObjectKey::blob(p, &sha);
        let h = sha.as_str();
        assert_eq!(
            k.as_str(),
            format!("projects/{p}/blobs/sha256/{}/{}/{h}", &h[..2], &h[2..4])
        );
        assert_eq!(k.parse_blob(), Some((p, sha)));
        assert!(k.as_str().starts_with(&ObjectKey::blob_prefix(p)));
        assert_eq!(ObjectKey::parse("other/key").expect("k").parse_blob(), None);
    }

    #[test]
    fn unsafe_keys_are_refused() {
        for bad in [
            "", "/abs", "a//b", "a/../b", "a/./b", "a\\b", "sp ace", "nul\0",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
