//! Blobs in an S3-compatible object store: `{prefix}/blobs/ab/cd/<hash>`, path-style requests.
//!
//! Uploads stream from the spool file in parts (multipart upload), so memory stays bounded by
//! the part size whatever the blob's size; a failed multipart upload is aborted, not leaked.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use tokio::io::AsyncReadExt;

use super::{BlobError, BlobStore, ByteStream, is_blob_hash};

/// Size of each multipart part; S3 needs at least 5 MiB for all but the last.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Where and how to reach the bucket.
#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix without leading or trailing slash; empty for the bucket root.
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl S3Location {
    /// Parses `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Option<S3Location> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: None,
            region: None,
        })
    }
}

pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn to_blob_error(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { path, .. } => BlobError::NotFound(path),
        other => BlobError::Io(std::io::Error::other(other.to_string())),
    }
}

impl S3BlobStore {
    /// Credentials come from the usual AWS environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, web identity, instance metadata).
    pub fn open(location: &S3Location) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_virtual_hosted_style_request(false);
        if let Some(endpoint) = &location.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        let store = builder.build().map_err(to_blob_error)?;
        Ok(S3BlobStore {
            store: Arc::new(store),
            prefix: location.prefix.clone(),
        })
    }

    fn blobs_root(&self) -> String {
        if self.prefix.is_empty() {
            "blobs".to_owned()
        } else {
            format!("{}/blobs", self.prefix)
        }
    }

    fn key(&self, hash: &str) -> Result<ObjectPath, BlobError> {
        if !is_blob_hash(hash) {
            return Err(BlobError::NotFound(hash.to_owned()));
        }
        Ok(ObjectPath::from(format!(
            "{}/{}/{}/{hash}",
            self.blobs_root(),
            &hash[..2],
            &hash[2..4]
        )))
    }

    async fn upload_parts(
        &self,
        key: &ObjectPath,
        file: &mut tokio::fs::File,
    ) -> Result<(), BlobError> {
        let mut upload = self.store.put_multipart(key).await.map_err(to_blob_error)?;
        let result: Result<(), BlobError> = async {
            loop {
                let mut part = Vec::with_capacity(PART_SIZE);
                while part.len() < PART_SIZE {
                    let read = (&mut *file)
                        .take((PART_SIZE - part.len()) as u64)
                        .read_to_end(&mut part)
                        .await?;
                    if read == 0 {
                        break;
                    }
                }
                if part.is_empty() {
                    break;
                }
                let last = part.len() < PART_SIZE;
                // One part in flight at a time: memory stays at one part.
                upload
                    .put_part(PutPayload::from(part))
                    .await
                    .map_err(to_blob_error)?;
                if last {
                    break;
                }
            }
            upload.complete().await.map_err(to_blob_error)?;
            Ok(())
        }
        .await;
        if result.is_err()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(key = %key, error = %e, "could not abort a failed multipart upload");
        }
        result
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, hash: &str, spooled: &std::path::Path) -> Result<(), BlobError> {
        let key = self.key(hash)?;
        match self.store.head(&key).await {
            // Identical bytes are stored once.
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(to_blob_error(e)),
        }
        let mut file = tokio::fs::File::open(spooled).await?;
        let len = file.metadata().await?.len();
        if len <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes).await?;
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(to_blob_error)?;
            return Ok(());
        }
        self.upload_parts(&key, &mut file).await
    }

    async fn read(&self, hash: &str, offset: u64, len: u64) -> Result<ByteStream, BlobError> {
        let key = self.key(hash)?;
        if len == 0 {
            // S3 refuses empty ranges; still report a missing blob as missing.
            self.store.head(&key).await.map_err(to_blob_error)?;
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(offset..offset + len)),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&key, options)
            .await
            .map_err(to_blob_error)?;
        Ok(Box::pin(
            result
                .into_stream()
                .map_err(|e| std::io::Error::other(e.to_string())),
        ))
    }

    async fn size(&self, hash: &str) -> Result<u64, BlobError> {
        let meta = self
            .store
            .head(&self.key(hash)?)
            .await
            .map_err(to_blob_error)?;
        Ok(meta.size)
    }

    async fn delete(&self, hash: &str) -> Result<(), BlobError> {
        match self.store.delete(&self.key(hash)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_blob_error(e)),
        }
    }

    async fn list(&self) -> Result<Vec<(String, u64)>, BlobError> {
        let root = ObjectPath::from(self.blobs_root());
        let mut listing = self.store.list(Some(&root));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(to_blob_error)?;
            if let Some(name) = meta.location.filename()
                && is_blob_hash(name)
            {
                found.push((name.to_owned(), meta.size));
            }
        }
        Ok(found)
    }

    async fn ping(&self) -> Result<(), BlobError> {
        // Any answer from the bucket will do; a missing key is an answer.
        let probe = ObjectPath::from(format!("{}/.ping", self.blobs_root()));
        match self.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(to_blob_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let l = S3Location::parse("s3://media/kura/prod/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("media", "kura/prod")
        );
        let l = S3Location::parse("s3://media").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("media", ""));
        assert!(S3Location::parse("s3:///x").is_none());
        assert!(S3Location::parse("gs://media").is_none());
    }
}
