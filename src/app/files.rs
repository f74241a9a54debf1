//! Reading, changing, listing and deleting files.

use super::upload::validate_tags;
use super::{App, AppError};
use crate::model::path::split_file_path;
use crate::model::search::SearchFilter;
use crate::model::{
    AssetId, AttributeUpdate, FieldSet, FileName, FileRecord, FolderPath, ListQuery, ListedAsset,
    Principal, TagChange, Timestamp,
};
use crate::store::StoreError;

/// Most ids one bulk delete accepts (ImageKit's limit).
pub const MAX_BULK_DELETE: usize = 100;
/// Most ids one bulk tag change accepts (ImageKit's limit).
pub const MAX_BULK_TAGS: usize = 50;

/// What a bulk tag change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChangeOutcome {
    pub updated: Vec<String>,
    /// Requested ids that name no file; the others were updated regardless.
    pub missing: Vec<String>,
}

impl App {
    pub async fn file_details(&self, _actor: &Principal, id: &str) -> Result<FileRecord, AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        let file = self
            .store
            .get_file(&id)
            .await?
            .ok_or(AppError::FileNotFound)?;
        self.shown_file(file).await
    }

    /// Applies a partial update; `custom_metadata` (the request's object, `null` values
    /// removing) is checked against the fields first.
    pub async fn update_file(
        &self,
        actor: &Principal,
        id: &str,
        mut update: AttributeUpdate,
        custom_metadata: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<FileRecord, AppError> {
        let id = AssetId::parse(id).ok_or(AppError::FileNotFound)?;
        if let Some(given) = custom_metadata {
            update.custom_metadata = Some(self.metadata_write(Some(given)).await?);
        }
        let file = self
            .store
            .update_file(&id, &update, actor)
            .await?
            .ok_or(AppError::FileNotFound)?;
        self.shown_file(file).await
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

    /// A listing; `search_query` (ImageKit's `searchQuery`) replaces `query.search`.
    pub async fn list_assets(
        &self,
        _actor: &Principal,
        query: &ListQuery,
        search_query: Option<&str>,
    ) -> Result<Vec<ListedAsset>, AppError> {
        let searched;
        let query = match search_query {
            Some(text) => {
                // Only a query naming a custom field needs the fields.
                let fields = if text.contains("customMetadata.") {
                    self.field_set().await?
                } else {
                    FieldSet::default()
                };
                let mut q = query.clone();
                q.search = SearchFilter::parse(text, Timestamp::now(), &fields)?;
                searched = q;
                &searched
            }
            None => query,
        };
        let mut by_index = false;
        let assets = if let Some(index) = &self.search_index
            && let Some(page) = index.search(query).await?
        {
            by_index = true;
            // Rows of recent pages come from memory, the others from the store.
            let (cached, epoch) = index.cached_rows(&page);
            let missing: Vec<(bool, String)> = page
                .iter()
                .zip(&cached)
                .filter(|(_, row)| row.is_none())
                .map(|(key, _)| key.clone())
                .collect();
            let mut read: std::collections::HashMap<(bool, String), ListedAsset> =
                if missing.is_empty() {
                    Default::default()
                } else {
                    let rows = self.store.listed_assets(&missing).await?;
                    index.remember_rows(epoch, &rows);
                    rows.into_iter()
                        .map(|row| (crate::index::rows::key_of(&row), row))
                        .collect()
                };
            // In page order; a row deleted meanwhile is simply not listed.
            page.iter()
                .zip(cached)
                .filter_map(|(key, row)| row.or_else(|| read.remove(key)))
                .collect()
        } else {
            self.store.list(query).await?
        };
        self.shown_assets(assets, by_index).await
    }

    /// Finds a file by its full path (`/folder/name.jpg`), with ImageKit's message when absent.
    async fn file_at(&self, path: &str) -> Result<FileRecord, AppError> {
        let not_found = || AppError::NotFound(format!("No file found with filePath `{path}`."));
        let (folder, name) = split_file_path(path).ok_or_else(not_found)?;
        self.store
            .find_file(&folder, &name)
            .await?
            .ok_or_else(not_found)
    }

    /// The file at `source` and the folder `destination` names, which must be another one.
    async fn transfer_ends(
        &self,
        source: &str,
        destination: &str,
    ) -> Result<(FileRecord, FolderPath), AppError> {
        let file = self.file_at(source).await?;
        let folder = FolderPath::parse_lenient(destination)?;
        if folder == file.folder {
            return Err(AppError::InvalidParameter(
                "destinationPath is the folder the file is already in.".into(),
            ));
        }
        Ok((file, folder))
    }

    /// Copies a file into a folder; versions share the source's bytes.
    pub async fn copy_file(
        &self,
        actor: &Principal,
        source: &str,
        destination: &str,
        include_versions: bool,
    ) -> Result<FileRecord, AppError> {
        let (file, folder) = self.transfer_ends(source, destination).await?;
        self.store
            .copy_file(&file.id, &folder, include_versions, actor)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No file found with filePath `{source}`.")))
    }

    /// Moves a file with all its versions into a folder.
    pub async fn move_file(
        &self,
        actor: &Principal,
        source: &str,
        destination: &str,
    ) -> Result<FileRecord, AppError> {
        let (file, folder) = self.transfer_ends(source, destination).await?;
        self.store
            .move_file(&file.id, &folder, actor)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("No file found with filePath `{source}`.")))
    }

    /// Renames a file in place; returns the renamed file and, when asked, the purge request
    /// for its old URLs.
    pub async fn rename_file(
        &self,
        actor: &Principal,
        path: &str,
        new_name: &str,
        purge_cache: bool,
    ) -> Result<(FileRecord, Option<String>), AppError> {
        let not_found =
            || AppError::NotFound(format!("No file found in media library at filePath {path}"));
        let file = self.file_at(path).await.map_err(|_| not_found())?;
        let name = FileName::sanitise(new_name)?;
        if name == file.name {
            return Err(AppError::InvalidParameter(
                "newFileName cannot be the same as its existing name.".into(),
            ));
        }
        let renamed = match self.store.rename_file(&file.id, &name, actor).await {
            Err(StoreError::NameTaken) => {
                return Err(AppError::Conflict(
                    "File with name newFileName already exists at the same location.".into(),
                ));
            }
            other => self.shown_file(other?.ok_or_else(not_found)?).await?,
        };
        let purge = if purge_cache {
            Some(self.purge_prefix(&file.file_path()).await?)
        } else {
            None
        };
        Ok((renamed, purge))
    }

    /// Adds or removes tags on up to 50 files at once; ids that name no file are reported.
    pub async fn change_tags(
        &self,
        actor: &Principal,
        ids: &[String],
        change: TagChange,
    ) -> Result<TagChangeOutcome, AppError> {
        if ids.is_empty() {
            return Err(AppError::InvalidParameter("fileIds is empty.".into()));
        }
        if ids.len() > MAX_BULK_TAGS {
            return Err(AppError::InvalidParameter(format!(
                "A maximum of {MAX_BULK_TAGS} files can be edited at a time."
            )));
        }
        let change = match change {
            TagChange::Add(tags) => TagChange::Add(validate_tags(tags)?),
            TagChange::Remove(tags) => TagChange::Remove(validate_tags(tags)?),
            other => other,
        };
        let mut parsed = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match AssetId::parse(id) {
                Some(asset) if !parsed.contains(&asset) => parsed.push(asset),
                Some(_) => {}
                None => missing.push(id.clone()),
            }
        }
        let updated: Vec<String> = self
            .store
            .change_tags(&parsed, &change, actor)
            .await?
            .into_iter()
            .map(|id| id.to_string())
            .collect();
        missing.extend(
            parsed
                .iter()
                .map(|id| id.to_string())
                .filter(|id| !updated.contains(id)),
        );
        Ok(TagChangeOutcome { updated, missing })
    }
}
