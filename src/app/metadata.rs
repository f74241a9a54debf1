//! What a file's bytes say about it (`GET /v1/files/{id}/metadata`, `GET /v1/metadata`).

use futures_util::StreamExt;

use super::upload::read_media;
use super::{App, AppError};
use crate::blobs::spool::SpoolFile;
use crate::model::{FileRecord, MediaInfo, Principal};

impl App {
    /// A file (its current version) with its metadata read: at upload, or now for versions
    /// uploaded before Kura read metadata (from the stored bytes; not written back).
    pub async fn file_metadata(&self, actor: &Principal, id: &str) -> Result<FileRecord, AppError> {
        let mut file = self.file_details(actor, id).await?;
        if file.version.media.technical.is_none() {
            let mut spool = SpoolFile::create(&self.settings.spool_dir).await?;
            let mut bytes = self
                .blobs
                .read(&file.version.blob, 0, file.version.size)
                .await?;
            while let Some(chunk) = bytes.next().await {
                spool.write(&chunk?).await?;
            }
            spool.finish().await?;
            let read = read_media(spool.path()).await?;
            file.version.media.embedded = read.embedded;
            file.version.media.technical = read.technical;
        }
        Ok(file)
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
