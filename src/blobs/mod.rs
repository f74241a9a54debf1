//! Bytes, addressed by their BLAKE3 hash, behind one interface with one implementation per
//! kind of storage. Knows nothing of files, folders or names: only hashes and bytes.

pub mod local;
pub mod s3;
pub mod spool;

use std::path::Path;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} does not exist")]
    NotFound(String),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A byte stream read from storage.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// A BLAKE3 hash in lower-case hex: the only name a blob has.
pub fn is_blob_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Makes the spooled file's bytes durable under `hash`. On return the bytes survive a
    /// crash. Idempotent: storing bytes that are already there succeeds.
    async fn put(&self, hash: &str, spooled: &Path) -> Result<(), BlobError>;

    /// Streams `len` bytes starting at `offset`.
    async fn read(&self, hash: &str, offset: u64, len: u64) -> Result<ByteStream, BlobError>;

    /// The stored size, or `NotFound`.
    async fn size(&self, hash: &str) -> Result<u64, BlobError>;

    /// Removes a blob; removing a missing blob succeeds.
    async fn delete(&self, hash: &str) -> Result<(), BlobError>;

    /// Every stored blob with its size.
    async fn list(&self) -> Result<Vec<(String, u64)>, BlobError>;

    /// Cheap check that the storage answers, for `/health`.
    async fn ping(&self) -> Result<(), BlobError>;
}

pub type DynBlobStore = std::sync::Arc<dyn BlobStore>;

/// BLAKE3 of a stored blob's bytes, read back from storage; a short read counts as damage.
pub async fn content_hash(
    blobs: &dyn BlobStore,
    hash: &str,
    size: u64,
) -> Result<String, BlobError> {
    use futures_util::TryStreamExt;
    let mut hasher = blake3::Hasher::new();
    let mut stream = blobs.read(hash, 0, size).await?;
    let mut seen = 0u64;
    while let Some(chunk) = stream.try_next().await? {
        seen += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if seen != size {
        return Ok(format!("short read: {seen} of {size} bytes"));
    }
    Ok(hasher.finalize().to_hex().to_string())
}
