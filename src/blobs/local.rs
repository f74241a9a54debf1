//! Blobs as files on local disk: `blobs/ab/cd/<hash>` under the data directory.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::{BlobError, BlobStore, ByteStream, is_blob_hash};

pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// `root` must be on the same filesystem as the spool, so that storing is a link.
    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(LocalBlobStore { root })
    }

    fn path_of(&self, hash: &str) -> Result<PathBuf, BlobError> {
        if !is_blob_hash(hash) {
            return Err(BlobError::NotFound(hash.to_owned()));
        }
        Ok(self.root.join(&hash[..2]).join(&hash[2..4]).join(hash))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, hash: &str, spooled: &Path) -> Result<(), BlobError> {
        let target = self.path_of(hash)?;
        let spooled = spooled.to_owned();
        tokio::task::spawn_blocking(move || -> Result<(), BlobError> {
            // The bytes must be on disk before the name points at them, and the name must be
            // on disk before the caller commits a row that references it.
            std::fs::File::open(&spooled)?.sync_all()?;
            let dir = target
                .parent()
                .ok_or_else(|| std::io::Error::other("blob path has no parent"))?;
            std::fs::create_dir_all(dir)?;
            // A hard link, not a rename: the spool copy stays until the upload is committed,
            // so the upload can store the bytes again if the sweeper took them meanwhile.
            match std::fs::hard_link(&spooled, &target) {
                Ok(()) => sync_dir(dir)?,
                // Identical bytes are stored once.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
            Ok(())
        })
        .await
        .map_err(|e| std::io::Error::other(format!("blob writer task failed: {e}")))?
    }

    async fn read(&self, hash: &str, offset: u64, len: u64) -> Result<ByteStream, BlobError> {
        let path = self.path_of(hash)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound(hash.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(Box::pin(ReaderStream::with_capacity(
            file.take(len),
            64 * 1024,
        )))
    }

    async fn size(&self, hash: &str) -> Result<u64, BlobError> {
        match tokio::fs::metadata(self.path_of(hash)?).await {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(hash.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, hash: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path_of(hash)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self) -> Result<Vec<(String, u64)>, BlobError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<(String, u64)>, BlobError> {
            let mut found = Vec::new();
            for level1 in std::fs::read_dir(&root)? {
                let level1 = level1?;
                if !level1.file_type()?.is_dir() {
                    continue;
                }
                for level2 in std::fs::read_dir(level1.path())? {
                    let level2 = level2?;
                    if !level2.file_type()?.is_dir() {
                        continue;
                    }
                    for blob in std::fs::read_dir(level2.path())? {
                        let blob = blob?;
                        let name = blob.file_name().to_string_lossy().into_owned();
                        if is_blob_hash(&name) {
                            found.push((name, blob.metadata()?.len()));
                        }
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| std::io::Error::other(format!("blob listing task failed: {e}")))?
    }

    async fn ping(&self) -> Result<(), BlobError> {
        tokio::fs::metadata(&self.root).await?;
        Ok(())
    }
}
