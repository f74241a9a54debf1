//! The contract every `BlobStore` keeps, run against local disk and, when the test run
//! provides one (`scripts/test` starts SeaweedFS), a real S3-compatible server.

use std::path::PathBuf;

use futures_util::TryStreamExt;
use kura::blobs::local::LocalBlobStore;
use kura::blobs::s3::{S3BlobStore, S3Location};
use kura::blobs::{BlobError, BlobStore};
use kura::model::id::random_alphanumeric;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("kura-blob-test-{}", random_alphanumeric(12)));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `data` to a spool-like file and returns its path and BLAKE3 hash.
fn spooled(dir: &TempDir, data: &[u8]) -> (PathBuf, String) {
    let path = dir.0.join(format!("spool-{}", random_alphanumeric(8)));
    std::fs::write(&path, data).unwrap();
    (path, blake3::hash(data).to_hex().to_string())
}

async fn read_all(store: &dyn BlobStore, hash: &str, offset: u64, len: u64) -> Vec<u8> {
    let stream = store.read(hash, offset, len).await.unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    chunks.concat()
}

async fn round_trip_ranges_and_deletion(store: &dyn BlobStore) {
    store.ping().await.unwrap();
    let dir = TempDir::new();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let (path, hash) = spooled(&dir, &data);
    store.put(&hash, &path).await.unwrap();
    // Idempotent: the same bytes again succeed and change nothing.
    store.put(&hash, &path).await.unwrap();
    assert_eq!(store.size(&hash).await.unwrap(), data.len() as u64);
    assert_eq!(read_all(store, &hash, 0, data.len() as u64).await, data);
    assert_eq!(read_all(store, &hash, 10, 90).await, &data[10..100]);
    assert_eq!(read_all(store, &hash, 99_990, 10).await, &data[99_990..]);
    assert!(read_all(store, &hash, 5, 0).await.is_empty());
    assert!(
        store
            .list()
            .await
            .unwrap()
            .contains(&(hash.clone(), data.len() as u64))
    );

    store.delete(&hash).await.unwrap();
    store.delete(&hash).await.unwrap();
    assert!(matches!(
        store.size(&hash).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(
        store.read(&hash, 0, 1).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(!store.list().await.unwrap().iter().any(|(h, _)| h == &hash));
    // Names that are not hashes never reach storage.
    assert!(matches!(
        store.size("../../etc/passwd").await,
        Err(BlobError::NotFound(_))
    ));
}

async fn large_blobs_stream_in_parts(store: &dyn BlobStore) {
    let dir = TempDir::new();
    // Larger than one S3 part (8 MiB), not a multiple of it.
    let data: Vec<u8> = (0..(19 * 1024 * 1024 + 123) as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (path, hash) = spooled(&dir, &data);
    store.put(&hash, &path).await.unwrap();
    assert_eq!(store.size(&hash).await.unwrap(), data.len() as u64);
    let start = 8 * 1024 * 1024 - 10;
    assert_eq!(
        read_all(store, &hash, start, 20).await,
        &data[start as usize..start as usize + 20]
    );
    assert_eq!(read_all(store, &hash, 0, data.len() as u64).await, data);
    store.delete(&hash).await.unwrap();
}

fn s3() -> Option<S3BlobStore> {
    let endpoint = std::env::var("KURA_TEST_S3_ENDPOINT").ok()?;
    let bucket = std::env::var("KURA_TEST_S3_BUCKET").unwrap_or_else(|_| "kura-test".into());
    let mut location = S3Location::parse(&format!(
        "s3://{bucket}/contract-{}",
        random_alphanumeric(10)
    ))
    .unwrap();
    location.endpoint = Some(endpoint);
    Some(S3BlobStore::open(&location).unwrap())
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod local_contract {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = super::TempDir::new();
                    let store = super::LocalBlobStore::open(dir.0.join("blobs")).unwrap();
                    super::$name(&store).await;
                }
            )*
        }
        mod s3_contract {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(store) = super::s3() else {
                        eprintln!("skipped: KURA_TEST_S3_ENDPOINT is not set (scripts/test sets it)");
                        return;
                    };
                    super::$name(&store).await;
                }
            )*
        }
    };
}

contract!(round_trip_ranges_and_deletion, large_blobs_stream_in_parts);
