//! Pure functions over a version's file list: the manifest digest and the diff of two versions.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use sha2::Digest;

use crate::entities::ArtifactFile;
use crate::types::{FilePath, Sha256};

/// One manifest entry.
#[derive(Clone, Copy, Debug)]
pub struct ManifestEntry<'a> {
    pub path: &'a FilePath,
    pub sha256: &'a Sha256,
    pub size: u64,
}

/// The manifest digest: SHA-256 over `path \t sha256 \t size \n` for every file, sorted by path
/// bytes. Paths cannot hold control characters, so the encoding is unambiguous; two versions with
/// the same files have the same digest whatever order the files were added in.
pub fn manifest_digest<'a>(entries: impl IntoIterator<Item = ManifestEntry<'a>>) -> Sha256 {
    let mut entries: Vec<ManifestEntry<'a>> = entries.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    let mut hasher = ManifestHasher::default();
    for e in entries {
        hasher.update(e.path.as_str(), e.sha256.as_str(), e.size);
    }
    hasher.finish()
}

/// The manifest digest computed incrementally, for stores that stream a version's files in
/// path (byte) order instead of holding them all.
#[derive(Clone, Debug, Default)]
pub struct ManifestHasher {
    hasher: sha2::Sha256,
}

impl ManifestHasher {
    /// Adds the next entry; entries MUST come in ascending path byte order.
    pub fn update(&mut self, path: &str, sha256: &str, size: u64) {
        self.hasher.update(path.as_bytes());
        self.hasher.update(b"\t");
        self.hasher.update(sha256.as_bytes());
        self.hasher.update(b"\t");
        self.hasher.update(size.to_string().as_bytes());
        self.hasher.update(b"\n");
    }

    pub fn finish(self) -> Sha256 {
        Sha256::from_bytes(self.hasher.finalize().into())
    }
}

/// A file that changed between two versions: the old and the new row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileChange {
    pub from: ArtifactFile,
    pub to: ArtifactFile,
}

/// How version `to` differs from version `from`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VersionDiff {
    /// In `to` only (and not a rename).
    pub added: Vec<ArtifactFile>,
    /// In `from` only (and not a rename).
    pub removed: Vec<ArtifactFile>,
    /// Same path, other content.
    pub modified: Vec<FileChange>,
    /// Same content, other path: a path only in `from` paired with a path only in `to` with the
    /// same SHA-256.
    pub renamed: Vec<FileChange>,
    /// Same path, same content.
    pub unchanged: u64,
    /// More changes follow than this page holds: the lists hold the page's changes by path,
    /// renames are paired within the page, and `unchanged` counts the page's paths.
    pub truncated: bool,
    /// Where the next page starts (the last path this page covered).
    pub next: Option<FilePath>,
}

/// The most changed files one page of a diff lists, so comparing two huge versions holds a
/// bounded number of rows.
pub const MAX_DIFF_FILES: usize = 10_000;

/// Builds a diff from both versions' files fed in ascending path order (a merge of two sorted
/// listings), holding only changed files: memory grows with the changes listed, never with
/// the versions' sizes.
#[derive(Debug)]
pub struct DiffBuilder {
    diff: VersionDiff,
    only_from: Vec<ArtifactFile>,
    only_to: Vec<ArtifactFile>,
    /// Changes this page may hold.
    budget: usize,
    last: Option<FilePath>,
    stopped: bool,
}

impl DiffBuilder {
    pub fn new(budget: usize) -> Self {
        Self {
            diff: VersionDiff::default(),
            only_from: Vec::new(),
            only_to: Vec::new(),
            budget: budget.max(1),
            last: None,
            stopped: false,
        }
    }

    fn changes(&self) -> usize {
        self.diff.modified.len() + self.only_from.len() + self.only_to.len()
    }

    /// Whether the page holds as many changes as it may (merging stops; `finish` says where
    /// the next page starts).
    pub fn is_full(&self) -> bool {
        self.changes() >= self.budget
    }

    /// Whether merging stopped because the page is full.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// A path in both versions.
    pub fn both(&mut self, from: ArtifactFile, to: ArtifactFile) {
        self.last = Some(to.path.clone());
        if from.sha256 == to.sha256 && from.size == to.size {
            self.diff.unchanged += 1;
        } else {
            self.diff.modified.push(FileChange { from, to });
        }
    }

    /// A path only in `from`.
    pub fn only_from(&mut self, file: ArtifactFile) {
        self.last = Some(file.path.clone());
        self.only_from.push(file);
    }

    /// A path only in `to`.
    pub fn only_to(&mut self, file: ArtifactFile) {
        self.last = Some(file.path.clone());
        self.only_to.push(file);
    }

    /// Takes files off the fronts of the two path-ordered queues while the order decides what
    /// they are; stops when a queue whose side is not `done` runs empty (refill it and call
    /// again). With both sides done, takes everything.
    pub fn merge(
        &mut self,
        from: &mut VecDeque<ArtifactFile>,
        to: &mut VecDeque<ArtifactFile>,
        from_done: bool,
        to_done: bool,
    ) {
        loop {
            if self.is_full() {
                // Unchanged paths right after the page's last change still belong to it.
                let next_unchanged = match (from.front(), to.front()) {
                    (Some(a), Some(b)) => {
                        a.path == b.path && a.sha256 == b.sha256 && a.size == b.size
                    }
                    _ => false,
                };
                if !next_unchanged {
                    // Anything left (or still to list) goes on the next page.
                    self.diff.truncated =
                        !from.is_empty() || !to.is_empty() || !from_done || !to_done;
                    self.stopped = true;
                    return;
                }
            }
            let order = match (from.front(), to.front()) {
                (Some(a), Some(b)) => a.path.as_str().cmp(b.path.as_str()),
                (Some(_), None) if to_done => Ordering::Less,
                (None, Some(_)) if from_done => Ordering::Greater,
                _ => return,
            };
            match order {
                Ordering::Equal => {
                    if let (Some(a), Some(b)) = (from.pop_front(), to.pop_front()) {
                        self.both(a, b);
                    }
                }
                Ordering::Less => {
                    if let Some(a) = from.pop_front() {
                        self.only_from(a);
                    }
                }
                Ordering::Greater => {
                    if let Some(b) = to.pop_front() {
                        self.only_to(b);
                    }
                }
            }
        }
    }

    /// Pairs removed and added files with the same content as renames.
    pub fn finish(self) -> VersionDiff {
        let Self {
            mut diff,
            only_from,
            only_to,
            last,
            ..
        } = self;
        if diff.truncated {
            diff.next = last;
        }
        // Removed files by content, the lowest path last so it pairs first.
        let mut removed_by_sha: HashMap<Sha256, Vec<ArtifactFile>> = HashMap::new();
        for f in only_from.into_iter().rev() {
            removed_by_sha.entry(f.sha256.clone()).or_default().push(f);
        }
        for file in only_to {
            match removed_by_sha.get_mut(&file.sha256).and_then(Vec::pop) {
                Some(old) => diff.renamed.push(FileChange {
                    from: old,
                    to: file,
                }),
                None => diff.added.push(file),
            }
        }
        diff.removed = removed_by_sha.into_values().flatten().collect();
        diff.removed.sort_by(|a, b| a.path.cmp(&b.path));
        diff
    }
}

/// Compares two file lists. Every list in the result is ordered by path (of `to` for renames).
pub fn diff_files(mut from: Vec<ArtifactFile>, mut to: Vec<ArtifactFile>) -> VersionDiff {
    from.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    to.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    let mut builder = DiffBuilder::new(usize::MAX);
    builder.merge(&mut from.into(), &mut to.into(), true, true);
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use crate::keys::ObjectKey;
    use crate::types::*;

    fn file(path: &str, content: &[u8]) -> ArtifactFile {
        let sha256 = Sha256::of(content);
        ArtifactFile {
            id: FileId::new(),
            version_id: VersionId::new(),
            path: FilePath::parse(path).expect("path"),
            size: content.len() as u64,
            md5: Md5::of(content),
            storage_key: ObjectKey::blob(ProjectId::new(), &sha256),
            sha256,
            content_type: ContentType::octet_stream(),
            created_at: chrono::Utc::now(),
        }
    }

    fn digest(files: &[ArtifactFile]) -> Sha256 {
        manifest_digest(files.iter().map(|f| ManifestEntry {
            path: &f.path,
            sha256: &f.sha256,
            size: f.size,
        }))
    }

    #[test]
    fn manifest_digest_ignores_order_but_not_content() {
        let a = [file("a", b"1"), file("b/c", b"2")];
        let b = [file("b/c", b"2"), file("a", b"1")];
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&[file("a", b"1"), file("b/c", b"3")]));
        assert_ne!(digest(&a), digest(&[file("a", b"1"), file("b/d", b"2")]));
        assert_ne!(digest(&a), digest(&a[..1]));
        assert_eq!(
            digest(&[]),
            Sha256::of(b""),
            "an empty manifest hashes nothing"
        );
    }

    #[test]
    fn diff_pairs_renames_by_content() {
        let from = vec![file("x", b"dup"), file("y", b"dup"), file("z", b"z")];
        let to = vec![file("x2", b"dup"), file("z", b"zz")];
        let d = diff_files(from, to);
        assert_eq!(
            d.renamed.len(),
            1,
            "one of the two identical files was renamed"
        );
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.modified.len(), 1);
        assert!(d.added.is_empty());
        assert_eq!(d.unchanged, 0);
    }
}
