//! Where unfinished multipart uploads are remembered between calls (one small file per
//! SHA-256 in the state directory), so the next call resumes instead of resending.

use super::*;

impl Client {
    pub(super) fn state_file(&self, sha256: &str) -> Option<PathBuf> {
        self.state_dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}.upload")))
    }

    pub(super) fn remembered_upload(&self, sha256: &str) -> Option<String> {
        let id = std::fs::read_to_string(self.state_file(sha256)?).ok()?;
        Some(id.trim().to_owned()).filter(|s| !s.is_empty())
    }

    pub(super) fn remember_upload(&self, sha256: &str, upload_id: &str) {
        if let Some(path) = self.state_file(sha256) {
            // Without the note, an interruption only costs resending parts.
            let _ = path.parent().map(std::fs::create_dir_all);
            let _ = std::fs::write(path, upload_id);
        }
    }

    pub(super) fn forget_upload(&self, sha256: &str) {
        if let Some(path) = self.state_file(sha256) {
            let _ = std::fs::remove_file(path);
        }
    }
}
