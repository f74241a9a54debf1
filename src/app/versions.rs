//! A file's version history: listing, reading, deleting and restoring versions.

use super::{App, AppError};
use crate::model::{AssetId, FileRecord, Principal};
use crate::store::VersionDeletion;

fn version_not_found() -> AppError {
    AppError::NotFound("The requested file version does not exist.".into())
}

fn parse_ids(file: &str, version: &str) -> Result<(AssetId, AssetId), AppError> {
    let file = AssetId::parse(file).ok_or_else(|| {
        AppError::InvalidParameter("Your request contains invalid fileId parameter.".into())
    })?;
    let version = AssetId::parse(version).ok_or_else(|| {
        AppError::InvalidParameter("Your request contains invalid versionId parameter.".into())
    })?;
    Ok((file, version))
}

impl App {
    /// Every version of a file, oldest first.
    pub async fn file_versions(
        &self,
        _actor: &Principal,
        id: &str,
    ) -> Result<Vec<FileRecord>, AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        let versions = self.store.file_versions(&id).await?;
        if versions.is_empty() {
            return Err(AppError::FileNotFound);
        }
        self.shown_files(versions).await
    }

    pub async fn file_version(
        &self,
        _actor: &Principal,
        file: &str,
        version: &str,
    ) -> Result<FileRecord, AppError> {
        let (file, version) = parse_ids(file, version)?;
        let found = self
            .store
            .get_version(&file, &version)
            .await?
            .ok_or_else(version_not_found)?;
        self.shown_file(found).await
    }

    /// Deletes a non-current version and frees its bytes if nothing else uses them.
    pub async fn delete_version(
        &self,
        actor: &Principal,
        file: &str,
        version: &str,
    ) -> Result<(), AppError> {
        let (file, version) = parse_ids(file, version)?;
        match self.store.delete_version(&file, &version, actor).await? {
            VersionDeletion::Deleted { blob } => {
                self.release_blobs(&[blob]).await;
                Ok(())
            }
            VersionDeletion::NotFound => Err(AppError::NotFound(
                "The requested asset does not exist.".into(),
            )),
            VersionDeletion::Current => Err(AppError::InvalidParameter(
                "You cannot delete current version of a file.".into(),
            )),
        }
    }

    /// Makes an older version the current one.
    pub async fn restore_version(
        &self,
        actor: &Principal,
        file: &str,
        version: &str,
    ) -> Result<FileRecord, AppError> {
        let (file, version) = parse_ids(file, version)?;
        let restored = self
            .store
            .restore_version(&file, &version, actor)
            .await?
            .ok_or_else(version_not_found)?;
        self.shown_file(restored).await
    }
}
