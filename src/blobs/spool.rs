//! The spool: where an upload's bytes land first, hashed as they arrive, before anyone knows
//! whether they will be kept. Always on local disk, whatever the blob store is, so probing can
//! seek in the bytes and memory does not grow with the upload.

use std::path::{Path, PathBuf};

use tokio::fs::File;
use tokio::io::AsyncWriteExt;

use crate::model::id::random_alphanumeric;

/// A file being written in the spool directory. Deleted on drop unless kept.
pub struct SpoolFile {
    path: PathBuf,
    file: Option<File>,
    hasher: blake3::Hasher,
    len: u64,
}

impl SpoolFile {
    pub async fn create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(format!("upload-{}", random_alphanumeric(16)));
        let file = File::create_new(&path).await?;
        Ok(SpoolFile {
            path,
            file: Some(file),
            hasher: blake3::Hasher::new(),
            len: 0,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        match &mut self.file {
            Some(file) => file.write_all(chunk).await,
            None => Err(std::io::Error::other("spool file already finished")),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flushes and closes the file; returns the BLAKE3 hash of everything written.
    pub async fn finish(&mut self) -> std::io::Result<String> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
        }
        Ok(self.hasher.finalize().to_hex().to_string())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        // Whatever happened, the spool copy is not needed any more: a kept upload was moved
        // (or copied) into the blob store, a failed one must leave nothing behind.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Empties the spool directory at startup: anything there belongs to an upload that died with
/// the previous process.
pub fn clear_spool(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}
