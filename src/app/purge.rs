//! Cache purge requests. Kura's only cache of delivered bytes is its own derived-image cache,
//! so a purge is recorded (by path pattern under the URL endpoint) for that cache to honour,
//! and is complete as soon as nothing cached matches it.

use super::{App, AppError};
use crate::model::{AssetId, FolderPath, Principal, Timestamp};
use crate::store::PurgeRecord;

/// Where a purge stands, in ImageKit's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeStatus {
    Pending,
    Completed,
}

impl App {
    /// Records a purge of every cached response for `pattern`: a path under the URL endpoint
    /// (`/folder/file.jpg`, optionally with transformations or a query), where a trailing `*`
    /// covers every path that starts with the rest. Returns the request id.
    pub async fn purge(&self, _actor: &Principal, pattern: &str) -> Result<String, AppError> {
        if !pattern.starts_with('/') || pattern.contains('\0') {
            return Err(AppError::InvalidParameter(
                "The URL is not valid for cache purging.".into(),
            ));
        }
        self.purge_prefix(pattern).await
    }

    pub(crate) async fn purge_prefix(&self, pattern: &str) -> Result<String, AppError> {
        self.drop_purged(pattern).await?;
        let now = Timestamp::now();
        let id = AssetId::generate().to_string();
        // The derived images it covers are gone when this returns: complete at once.
        self.store
            .record_purge(&PurgeRecord {
                id: id.clone(),
                url: pattern.to_owned(),
                created_at: now,
                completed_at: Some(now),
            })
            .await?;
        Ok(id)
    }

    /// Drops the derived images a purge pattern covers: those of the file it names (every
    /// version); for `/folder/*`, those of every file in the folder and below; for any other
    /// pattern ending in `*`, every derived image (more than it asks, never less: they are
    /// rendered again when next asked for).
    async fn drop_purged(&self, pattern: &str) -> Result<(), AppError> {
        let path = pattern.split('?').next().unwrap_or("");
        if let Some(prefix) = path.strip_suffix('*') {
            let decoded = percent_encoding::percent_decode_str(prefix).decode_utf8_lossy();
            let folder = decoded
                .strip_suffix('/')
                .filter(|_| !decoded.starts_with("/tr:"))
                .and_then(|f| FolderPath::parse_lenient(f).ok());
            match folder {
                Some(folder) => {
                    let sources = self.store.derived_sources_below(&folder).await?;
                    self.forget_derived(&sources).await?;
                }
                None => {
                    let blobs = self.store.evict_derived(0).await?;
                    self.release_blobs(&blobs).await;
                }
            }
            return Ok(());
        }
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        // `/tr:w-100/folder/file.jpg`: the transformation segment names no file.
        let file_path = match decoded.strip_prefix("/tr:") {
            Some(rest) => rest.split_once('/').map_or("", |(_, p)| p).to_owned(),
            None => decoded.trim_start_matches('/').to_owned(),
        };
        let Some((folder, name)) = crate::model::path::split_file_path(&format!("/{file_path}"))
        else {
            return Ok(());
        };
        if let Some(file) = self.store.find_file(&folder, &name).await? {
            let blobs: Vec<String> = self
                .store
                .file_versions(&file.id)
                .await?
                .into_iter()
                .map(|v| v.version.blob)
                .collect();
            self.forget_derived(&blobs).await?;
        }
        Ok(())
    }

    pub async fn purge_status(
        &self,
        _actor: &Principal,
        id: &str,
    ) -> Result<PurgeStatus, AppError> {
        let purge = self.store.get_purge(id).await?.ok_or_else(|| {
            AppError::InvalidParameter("No request found for this requestId.".into())
        })?;
        Ok(if purge.completed_at.is_some() {
            PurgeStatus::Completed
        } else {
            PurgeStatus::Pending
        })
    }
}
