//! Cache purge requests. Kura's only cache of delivered bytes is its own derived-image cache,
//! so a purge is recorded (by path pattern under the URL endpoint) for that cache to honour,
//! and is complete as soon as nothing cached matches it.

use super::{App, AppError};
use crate::model::{AssetId, Principal, Timestamp};
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
        let now = Timestamp::now();
        let id = AssetId::generate().to_string();
        // No derived-image cache exists yet, so nothing can match: complete at once.
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
