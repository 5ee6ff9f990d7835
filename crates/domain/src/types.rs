//! Validated value types. Each constructor enforces the documented rule, so a value of one of these
//! types is valid wherever it travels; adapters may rebuild them from trusted storage with
//! `from_trusted` without re-checking.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Checks a name: 1..=max ASCII letters, digits, `-`, `_`, `.`, starting with a letter or digit.
fn check_name(field: &'static str, s: &str, max: usize) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if s.len() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters, got {}", s.len()),
        ));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(ValidationError::new(
            field,
            format!("{s:?} must start with a letter or digit"),
        ));
    }
    if let Some(bad) = s.chars().find(|c| !is_name_char(*c)) {
        return Err(ValidationError::new(
            field,
            format!("{s:?} contains {bad:?}; allowed are ASCII letters, digits, '-', '_' and '.'"),
        ));
    }
    Ok(())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, |$s:ident| $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
                let $s: String = value.into();
                $check?;
                Ok(Self($s))
            }

            /// Rebuilds a value read back from storage that was validated when written.
            pub fn from_trusted(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// The field name used in validation errors.
            pub const FIELD: &'static str = $field;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype!(
    /// A project's slug: 1..=64 of lowercase ASCII letters, digits, `-`, `_`, `.`, starting with a
    /// letter or digit. Unique across the registry.
    ProjectName, "project_name", |s| {
        check_name("project_name", &s, 64).and_then(|_| {
            if s.chars().any(|c| c.is_ascii_uppercase()) {
                Err(ValidationError::new("project_name", format!("{s:?} must be lowercase")))
            } else {
                Ok(())
            }
        })
    }
);

string_newtype!(
    /// A user's login name, same rule as a project name.
    UserName, "user_name", |s| {
        check_name("user_name", &s, 64).and_then(|_| {
            if s.chars().any(|c| c.is_ascii_uppercase()) {
                Err(ValidationError::new("user_name", format!("{s:?} must be lowercase")))
            } else {
                Ok(())
            }
        })
    }
);

string_newtype!(
    /// An artifact's name: 1..=128 ASCII letters, digits, `-`, `_`, `.`, starting with a letter or
    /// digit. Unique within its project. (`:` and `/` are excluded so references stay unambiguous.)
    ArtifactName, "artifact_name", |s| check_name("artifact_name", &s, 128)
);

string_newtype!(
    /// A run's display name: 1..=128 characters of the artifact-name set.
    RunName, "run_name", |s| check_name("run_name", &s, 128)
);

/// The name of the system-managed alias.
pub const LATEST: &str = "latest";

string_newtype!(
    /// An alias: 1..=64 characters of the artifact-name set. Names that read as a version
    /// (`v` followed by digits) are refused because a reference `name:v3` must mean version 3.
    /// `latest` is a valid alias name but only the system may move it.
    AliasName, "alias", |s| {
        check_name("alias", &s, 64).and_then(|_| {
            if VersionIndex::parse_label(&s).is_some() {
                Err(ValidationError::new("alias", format!("{s:?} reads as a version; aliases may not look like v<N>")))
            } else if s == "history" {
                Err(ValidationError::new("alias", "\"history\" is reserved (GET .../aliases/history lists the moves)"))
            } else {
                Ok(())
            }
        })
    }
);

impl AliasName {
    pub fn latest() -> Self {
        Self(LATEST.to_owned())
    }

    pub fn is_latest(&self) -> bool {
        self.0 == LATEST
    }
}

/// The index of a version within its artifact: v0, v1, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionIndex(pub u32);

impl VersionIndex {
    /// Parses `v<N>` (no sign, no leading `+`, at most u32).
    pub fn parse_label(s: &str) -> Option<Self> {
        let digits = s.strip_prefix('v')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Self)
    }

    pub fn label(&self) -> String {
        format!("v{}", self.0)
    }
}

impl fmt::Display for VersionIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// What an artifact holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactType {
    Model,
    Dataset,
    File,
    Code,
}

impl ArtifactType {
    pub const ALL: [ArtifactType; 4] = [
        ArtifactType::Model,
        ArtifactType::Dataset,
        ArtifactType::File,
        ArtifactType::Code,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ArtifactType::Model => "model",
            ArtifactType::Dataset => "dataset",
            ArtifactType::File => "file",
            ArtifactType::Code => "code",
        }
    }
}

impl fmt::Display for ArtifactType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArtifactType {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "type",
                    format!("{s:?} is not one of model, dataset, file, code"),
                )
            })
    }
}

/// A user's role in a project. Ordered: each role can do everything the previous one can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads artifacts, versions, files; downloads.
    Viewer,
    /// Also creates and changes artifacts, versions, files, aliases and runs.
    Editor,
    /// Also manages the project's members and deletes the project.
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(ValidationError::new(
                "role",
                format!("{s:?} is not one of viewer, editor, admin"),
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn check_hex(field: &'static str, s: &str, len: usize) -> Result<(), ValidationError> {
    if s.len() != len
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ValidationError::new(
            field,
            format!("must be {len} lowercase hex characters, got {s:?}"),
        ));
    }
    Ok(())
}

string_newtype!(
    /// A SHA-256 digest as 64 lowercase hex characters.
    Sha256, "sha256_hash", |s| check_hex("sha256_hash", &s, 64)
);

string_newtype!(
    /// An MD5 digest as 32 lowercase hex characters.
    Md5, "md5_hash", |s| check_hex("md5_hash", &s, 32)
);

impl Sha256 {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    pub fn of(data: &[u8]) -> Self {
        use sha2::Digest;
        Self::from_bytes(sha2::Sha256::digest(data).into())
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // Valid by construction: 64 lowercase hex characters.
        hex::decode_to_slice(&self.0, &mut out).unwrap_or_default();
        out
    }

    /// The base64 form S3 uses in `x-amz-checksum-sha256`.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.to_bytes())
    }
}

impl Md5 {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(hex::encode(bytes))
    }

    pub fn of(data: &[u8]) -> Self {
        use md5::Digest;
        Self::from_bytes(md5::Md5::digest(data).into())
    }

    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        hex::decode_to_slice(&self.0, &mut out).unwrap_or_default();
        out
    }

    /// The base64 form of the `Content-MD5` header.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.to_bytes())
    }
}

/// The most bytes a path may have.
pub const MAX_PATH_BYTES: usize = 1024;
/// The most bytes one path segment may have.
pub const MAX_SEGMENT_BYTES: usize = 255;

string_newtype!(
    /// A file's path inside a version: a relative POSIX path. Rules: 1..=1024 bytes; segments of
    /// 1..=255 bytes separated by `/`; no leading `/`, no empty segment (so no `//` and no trailing
    /// `/`), no `.` or `..` segment, no `\`, no NUL or other control character. `parse` accepts
    /// exactly the normalised form; `normalize` first drops `./` segments and turns `\` into `/`.
    FilePath, "path", |s| check_path(&s)
);

fn check_path(s: &str) -> Result<(), ValidationError> {
    let err = |m: String| Err(ValidationError::new("path", m));
    if s.is_empty() {
        return err("must not be empty".into());
    }
    if s.len() > MAX_PATH_BYTES {
        return err(format!(
            "must be at most {MAX_PATH_BYTES} bytes, got {}",
            s.len()
        ));
    }
    if s.starts_with('/') {
        return err(format!("{s:?} must be relative (no leading '/')"));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return err(format!("{s:?} contains the control character {c:?}"));
    }
    if s.contains('\\') {
        return err(format!("{s:?} contains '\\'; use '/' between segments"));
    }
    for seg in s.split('/') {
        match seg {
            "" => return err(format!("{s:?} has an empty segment")),
            "." | ".." => return err(format!("{s:?} has a {seg:?} segment")),
            _ if seg.len() > MAX_SEGMENT_BYTES => {
                return err(format!(
                    "{s:?} has a segment over {MAX_SEGMENT_BYTES} bytes"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

impl FilePath {
    /// Accepts what clients on other systems send: `\` separators and `./` segments are
    /// normalised away; everything else must already satisfy the rule.
    pub fn normalize(raw: &str) -> Result<Self, ValidationError> {
        let replaced = raw.replace('\\', "/");
        let trimmed: Vec<&str> = replaced.split('/').filter(|seg| *seg != ".").collect();
        Self::parse(trimmed.join("/"))
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Whether this path lies under `prefix` (plain string prefix, as S3 prefixes are).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

/// The most bytes a description may have.
pub const MAX_DESCRIPTION_BYTES: usize = 16 * 1024;
/// The most bytes a metadata object may take as JSON.
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

string_newtype!(
    /// Free text, at most 16 KiB, without NUL.
    #[derive(Default)]
    Description, "description", |s| {
        if s.len() > MAX_DESCRIPTION_BYTES {
            Err(ValidationError::new("description", format!("must be at most {MAX_DESCRIPTION_BYTES} bytes")))
        } else if s.contains('\0') {
            Err(ValidationError::new("description", "must not contain NUL"))
        } else {
            Ok(())
        }
    }
);

/// User metadata: a JSON object of at most 256 KiB when serialised.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Metadata(serde_json::Map<String, serde_json::Value>);

impl Metadata {
    pub fn parse(value: serde_json::Value) -> Result<Self, ValidationError> {
        match value {
            serde_json::Value::Object(map) => {
                let len = serde_json::to_vec(&map)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX);
                if len > MAX_METADATA_BYTES {
                    return Err(ValidationError::new(
                        "metadata",
                        format!("must be at most {MAX_METADATA_BYTES} bytes as JSON, got {len}"),
                    ));
                }
                Ok(Self(map))
            }
            serde_json::Value::Null => Ok(Self::default()),
            other => Err(ValidationError::new(
                "metadata",
                format!("must be a JSON object, got {}", json_kind(&other)),
            )),
        }
    }

    pub fn from_trusted(map: serde_json::Map<String, serde_json::Value>) -> Self {
        Self(map)
    }

    pub fn as_map(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.0.clone())
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Self(serde_json::Map::new())
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Self::parse(v).map_err(serde::de::Error::custom)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

string_newtype!(
    /// A MIME type such as `application/octet-stream`: `type/subtype`, at most 255 visible ASCII
    /// characters.
    ContentType, "content_type", |s| {
        let ok = !s.is_empty()
            && s.len() <= 255
            && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            && s.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty());
        if ok { Ok(()) } else {
            Err(ValidationError::new("content_type", format!("{s:?} is not a MIME type")))
        }
    }
);

impl ContentType {
    pub fn octet_stream() -> Self {
        Self("application/octet-stream".into())
    }

    /// A guess from the file name's extension, for files registered without a type.
    pub fn guess(path: &FilePath) -> Self {
        let ext = path
            .file_name()
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let t = match ext.as_str() {
            "json" => "application/json",
            "jsonl" | "ndjson" => "application/x-ndjson",
            "txt" | "log" | "md" => "text/plain",
            "csv" => "text/csv",
            "tsv" => "text/tab-separated-values",
            "yaml" | "yml" => "application/yaml",
            "toml" => "application/toml",
            "html" | "htm" => "text/html",
            "py" => "text/x-python",
            "rs" => "text/x-rust",
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "svg" => "image/svg+xml",
            "wav" => "audio/wav",
            "mp3" => "audio/mpeg",
            "mp4" => "video/mp4",
            "gz" => "application/gzip",
            "zip" => "application/zip",
            "tar" => "application/x-tar",
            "parquet" => "application/vnd.apache.parquet",
            _ => "application/octet-stream",
        };
        Self(t.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_rule() {
        for ok in [
            "a",
            "a/b/c.txt",
            "checkpoints/epoch-1/model.pt",
            ".hidden",
            "a/.b",
            "a..b",
            "ünï/cødé",
        ] {
            assert!(FilePath::parse(ok).is_ok(), "{ok} should be accepted");
        }
        let long_segment = "x".repeat(MAX_SEGMENT_BYTES + 1);
        let long_path = vec!["abcdefgh"; 120].join("/") + "/tail";
        for (bad, why) in [
            ("", "empty"),
            ("..", "parent"),
            ("a/../b", "parent inside"),
            ("../etc/passwd", "parent first"),
            ("/etc/passwd", "absolute"),
            ("a//b", "empty segment"),
            ("a/", "trailing slash"),
            ("./a", "dot segment"),
            ("a/./b", "dot segment inside"),
            ("a\0b", "NUL"),
            ("a\nb", "newline"),
            ("a\u{7f}b", "DEL"),
            ("a\\b", "backslash"),
            (long_segment.as_str(), "over-long segment"),
            (long_path.as_str(), "over-long path"),
        ] {
            let err = FilePath::parse(bad).expect_err(why);
            assert_eq!(err.field, "path", "{why}");
        }
    }

    #[test]
    fn normalize_fixes_only_harmless_forms() {
        assert_eq!(FilePath::normalize("./a/./b").expect("ok").as_str(), "a/b");
        assert_eq!(
            FilePath::normalize("dir\\file.txt").expect("ok").as_str(),
            "dir/file.txt"
        );
        assert!(FilePath::normalize("a/../b").is_err());
        assert!(FilePath::normalize("/abs").is_err());
        assert!(FilePath::normalize("..\\up").is_err());
        assert_eq!(
            FilePath::parse("a/b/c.tar.gz").expect("ok").file_name(),
            "c.tar.gz"
        );
    }

    #[test]
    fn names_have_a_documented_character_set() {
        assert!(ArtifactName::parse("My_Model-v2.1").is_ok());
        for bad in [
            "",
            "-lead",
            ".lead",
            "has space",
            "a/b",
            "a:b",
            "ünï",
            &"x".repeat(129),
        ] {
            assert!(ArtifactName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ProjectName::parse("team-vision").is_ok());
        assert!(
            ProjectName::parse("Team").is_err(),
            "project names are lowercase"
        );
        assert!(UserName::parse("alice.smith").is_ok());
        assert!(AliasName::parse("best").is_ok());
        assert!(AliasName::parse("v1").is_err());
        assert!(AliasName::parse("v").is_ok(), "a lone v is not a version");
        assert!(AliasName::parse("latest").expect("valid name").is_latest());
    }

    #[test]
    fn version_labels() {
        assert_eq!(VersionIndex::parse_label("v0"), Some(VersionIndex(0)));
        assert_eq!(VersionIndex::parse_label("v42"), Some(VersionIndex(42)));
        for bad in ["v", "v-1", "v+1", "V1", "1", "v1a", "v99999999999"] {
            assert_eq!(VersionIndex::parse_label(bad), None, "{bad}");
        }
        assert_eq!(VersionIndex(7).to_string(), "v7");
    }

    #[test]
    fn digests_are_lowercase_hex_of_the_right_length() {
        let sha = Sha256::of(b"abc");
        assert_eq!(
            sha.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::parse(sha.as_str()).expect("ok"), sha);
        assert!(Sha256::parse(sha.as_str().to_uppercase()).is_err());
        assert!(Sha256::parse(&sha.as_str()[1..]).is_err());
        assert!(Sha256::parse("z".repeat(64)).is_err());
        assert_eq!(Md5::of(b"abc").as_str(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(Md5::of(b"abc").to_base64(), "kAFQmDzST7DWlj99KOF/cg==");
        assert_eq!(
            sha.to_base64(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn metadata_must_be_a_bounded_object() {
        assert!(Metadata::parse(serde_json::json!({"a": 1})).is_ok());
        assert_eq!(
            Metadata::parse(serde_json::Value::Null).expect("null is empty"),
            Metadata::default()
        );
        assert!(Metadata::parse(serde_json::json!([1, 2])).is_err());
        assert!(Metadata::parse(serde_json::json!("text")).is_err());
        let huge = serde_json::json!({"blob": "x".repeat(MAX_METADATA_BYTES)});
        assert!(Metadata::parse(huge).is_err());
        let via_serde: Result<Metadata, _> = serde_json::from_str("[1]");
        assert!(via_serde.is_err(), "deserialising validates too");
    }

    #[test]
    fn types_and_roles_parse() {
        assert_eq!(
            "dataset".parse::<ArtifactType>().expect("ok"),
            ArtifactType::Dataset
        );
        assert!("weights".parse::<ArtifactType>().is_err());
        assert!(Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        assert!("owner".parse::<Role>().is_err());
        assert_eq!(
            ContentType::guess(&FilePath::parse("x/y.JSON").expect("p")).as_str(),
            "application/json"
        );
        assert!(ContentType::parse("nonsense").is_err());
    }
}
