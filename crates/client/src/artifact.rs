//! What to log: an artifact's name, type, description, metadata and files.

use std::path::{Path, PathBuf};

use uuid::Uuid;
use wanllmdb_domain::types::{ArtifactType, FilePath};

use crate::api::{ClientError, Result};

/// An artifact to log, built up file by file.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub name: String,
    pub artifact_type: ArtifactType,
    pub description: String,
    pub metadata: serde_json::Value,
    /// (file on disk, path in the artifact)
    pub files: Vec<(PathBuf, FilePath)>,
}

impl Artifact {
    pub fn new(name: &str, artifact_type: ArtifactType) -> Self {
        Self {
            name: name.to_owned(),
            artifact_type,
            description: String::new(),
            metadata: serde_json::json!({}),
            files: Vec::new(),
        }
    }

    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_owned();
        self
    }

    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Adds a file under its file name.
    pub fn add_file(self, local: impl AsRef<Path>) -> Result<Self> {
        let local = local.as_ref();
        let name = local
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ClientError::Invalid(format!("{} has no file name", local.display())))?
            .to_owned();
        self.add_file_at(local, &name)
    }

    /// Adds a file under a path of your choice.
    pub fn add_file_at(mut self, local: impl AsRef<Path>, path: &str) -> Result<Self> {
        let local = local.as_ref();
        if !local.is_file() {
            return Err(ClientError::Invalid(format!(
                "{} is not a file",
                local.display()
            )));
        }
        let path = FilePath::normalize(path).map_err(|e| ClientError::Invalid(e.to_string()))?;
        self.files.push((local.to_owned(), path));
        Ok(self)
    }

    /// Adds every file under `dir`, at its path relative to `dir`.
    pub fn add_dir(self, dir: impl AsRef<Path>) -> Result<Self> {
        self.add_dir_at(dir, "")
    }

    /// Adds every file under `dir`, at `prefix/` and its path relative to `dir` (`""`: at the
    /// artifact's root).
    pub fn add_dir_at(mut self, dir: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let dir = dir.as_ref();
        let prefix = prefix.trim_matches('/');
        let mut stack = vec![dir.to_owned()];
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| ClientError::Io {
                path: d.display().to_string(),
                source: e,
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| ClientError::Io {
                    path: d.display().to_string(),
                    source: e,
                })?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|e| ClientError::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    found.push(path);
                }
            }
        }
        found.sort();
        for local in found {
            let rel = local
                .strip_prefix(dir)
                .ok()
                .and_then(|r| r.to_str())
                .ok_or_else(|| {
                    ClientError::Invalid(format!("{} is not valid UTF-8", local.display()))
                })?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let path = match prefix {
                "" => rel,
                p => format!("{p}/{rel}"),
            };
            self = self.add_file_at(&local, &path)?;
        }
        Ok(self)
    }
}

/// How to log.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub aliases: Vec<String>,
    /// The run that produced the version.
    pub run_id: Option<Uuid>,
    /// Hash every file even where the hash cache knows it (and remember the new digests).
    pub rehash: bool,
    /// Leave the local caches alone: hash every file and remember nothing.
    pub skip_cache: bool,
}

impl LogOptions {
    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.to_owned());
        self
    }

    pub fn run(mut self, run: Uuid) -> Self {
        self.run_id = Some(run);
        self
    }

    pub fn rehash(mut self) -> Self {
        self.rehash = true;
        self
    }

    pub fn skip_cache(mut self) -> Self {
        self.skip_cache = true;
        self
    }
}
