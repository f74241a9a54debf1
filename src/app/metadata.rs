//! What a file's bytes say about it (`GET /v1/files/{id}/metadata`, `GET /v1/metadata`).

use futures_util::StreamExt;
use serde_json::json;

use super::upload::read_media;
use super::{App, AppError};
use crate::blobs::spool::SpoolFile;
use crate::model::{FileRecord, MediaInfo, Principal, Timestamp};

/// Versions the backfill reads per store query.
const BACKFILL_BATCH: u32 = 100;
/// Failures the backfill logs one by one; the rest are counted in its summary.
const BACKFILL_LOGGED_FAILURES: u64 = 20;

impl App {
    /// A file (its current version) with its metadata read: at upload, or now for versions
    /// uploaded before Kura read metadata (from the stored bytes; not written back).
    pub async fn file_metadata(&self, actor: &Principal, id: &str) -> Result<FileRecord, AppError> {
        let mut file = self.file_details(actor, id).await?;
        if file.version.media.technical.is_none() {
            let read = self
                .read_stored_media(&file.version.blob, file.version.size)
                .await?;
            file.version.media.embedded = read.embedded;
            file.version.media.technical = read.technical;
        }
        Ok(file)
    }

    /// What a stored blob is and the metadata it carries.
    async fn read_stored_media(&self, blob: &str, size: u64) -> Result<MediaInfo, AppError> {
        let mut spool = SpoolFile::create(&self.settings.spool_dir).await?;
        let mut bytes = self.blobs.read(blob, 0, size).await?;
        while let Some(chunk) = bytes.next().await {
            spool.write(&chunk?).await?;
        }
        spool.finish().await?;
        read_media(spool.path()).await
    }

    /// Reads and stores the metadata of every version whose bytes were never read (uploaded
    /// before Kura read metadata, or marked by a migration that stores more of it): the
    /// `metadata-backfill` job every node queues when it starts. A version whose bytes cannot
    /// be read is logged and left for the next start.
    pub(crate) async fn backfill_metadata(&self) -> Result<serde_json::Value, AppError> {
        let (mut read, mut failed) = (0u64, 0u64);
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .store
                .unread_versions(after.as_deref(), BACKFILL_BATCH)
                .await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = Some(last.id.clone());
            for version in &batch {
                match self.read_stored_media(&version.blob, version.size).await {
                    Ok(media) => {
                        if self
                            .store
                            .store_read_metadata(version, &media, Timestamp::now())
                            .await?
                        {
                            read += 1;
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        if failed <= BACKFILL_LOGGED_FAILURES {
                            tracing::warn!(version = %version.id, error = %e,
                                "could not read a stored version's metadata");
                        }
                    }
                }
            }
        }
        if failed > 0 {
            tracing::warn!(
                read,
                failed,
                "metadata backfill finished; some versions unread"
            );
        } else if read > 0 {
            tracing::info!(read, "metadata backfill finished");
        }
        Ok(json!({ "read": read, "failed": failed }))
    }

    /// A file of this library by its delivery path (the part of a URL after the URL
    /// endpoint's `/`): the API caller holds the key, so neither publication nor a signature
    /// is asked for.
    pub async fn own_file_metadata(
        &self,
        actor: &Principal,
        relative_path: &str,
    ) -> Result<FileRecord, AppError> {
        let decoded = percent_encoding::percent_decode_str(relative_path)
            .decode_utf8()
            .map_err(|_| AppError::FileNotFound)?;
        let (folder, name) = crate::model::path::split_file_path(&format!("/{decoded}"))
            .ok_or(AppError::FileNotFound)?;
        let file = self
            .store
            .find_file(&folder, &name)
            .await?
            .ok_or(AppError::FileNotFound)?;
        self.file_metadata(actor, file.id.as_str()).await
    }

    /// What the file at `url` is and the metadata it carries, with the SSRF rules of upload
    /// from a URL; nothing is stored. Returns the media and the size in bytes.
    pub async fn remote_metadata(
        &self,
        actor: &Principal,
        url: &str,
    ) -> Result<(MediaInfo, u64), AppError> {
        let mut body = self.start_upload(actor).await?;
        self.fetch_into(url, &mut body).await?;
        if body.is_empty() {
            return Err(AppError::InvalidParameter(
                "The file at url is empty.".into(),
            ));
        }
        let size = body.len();
        body.spool.finish().await?;
        let media = read_media(body.spool.path()).await?;
        Ok((media, size))
    }
}
