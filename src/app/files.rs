//! Reading, changing, listing and deleting files.

use super::{App, AppError};
use crate::model::{AssetId, AttributeUpdate, FileRecord, ListQuery, ListedAsset, Principal};

/// Most ids one bulk delete accepts (ImageKit's limit).
pub const MAX_BULK_DELETE: usize = 100;

impl App {
    pub async fn file_details(&self, _actor: &Principal, id: &str) -> Result<FileRecord, AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        self.store
            .get_file(&id)
            .await?
            .ok_or(AppError::FileNotFound)
    }

    pub async fn update_file(
        &self,
        actor: &Principal,
        id: &str,
        update: AttributeUpdate,
    ) -> Result<FileRecord, AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        self.store
            .update_file(&id, &update, actor)
            .await?
            .ok_or(AppError::FileNotFound)
    }

    pub async fn delete_file(&self, actor: &Principal, id: &str) -> Result<(), AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        let deleted = self.store.delete_files(&[id], actor).await?;
        if deleted.ids.is_empty() {
            return Err(AppError::FileNotFound);
        }
        self.release_blobs(&deleted.blobs).await;
        Ok(())
    }

    /// Deletes all of `ids` or, if any does not exist, none of them: the client learns which
    /// ids were wrong without having lost the others.
    pub async fn delete_files(
        &self,
        actor: &Principal,
        ids: &[String],
    ) -> Result<Vec<String>, AppError> {
        if ids.is_empty() {
            return Err(AppError::InvalidParameter("fileIds is empty.".into()));
        }
        if ids.len() > MAX_BULK_DELETE {
            return Err(AppError::InvalidParameter(format!(
                "fileIds cannot have more than {MAX_BULK_DELETE} items."
            )));
        }
        let mut parsed = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match AssetId::parse(id) {
                Some(asset) if self.store.get_file(&asset).await?.is_some() => {
                    if !parsed.contains(&asset) {
                        parsed.push(asset);
                    }
                }
                _ => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(AppError::FilesNotFound(missing));
        }
        let deleted = self.store.delete_files(&parsed, actor).await?;
        self.release_blobs(&deleted.blobs).await;
        Ok(deleted.ids.into_iter().map(|id| id.to_string()).collect())
    }

    pub async fn list_assets(
        &self,
        _actor: &Principal,
        query: &ListQuery,
    ) -> Result<Vec<ListedAsset>, AppError> {
        Ok(self.store.list(query).await?)
    }
}
