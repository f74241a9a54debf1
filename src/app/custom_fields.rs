//! Custom metadata fields: defining them, and applying them to the values clients send and
//! the values Kura shows.

use serde_json::{Map, Value};

use super::{App, AppError};
use crate::model::custom_field::{validate_description, validate_label, validate_name};
use crate::model::{
    AssetId, CustomField, FieldError, FieldSchema, FieldSet, FieldUpdate, FileRecord, ListedAsset,
    MetadataWrite, Principal, Timestamp,
};

/// A field as a client asks for it, before validation.
#[derive(Debug, Clone, Default)]
pub struct NewField {
    pub name: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub schema: Option<Value>,
}

fn no_such_field() -> AppError {
    AppError::NotFound("No such custom metadata field exists.".into())
}

fn field_id(id: &str) -> Result<AssetId, AppError> {
    AssetId::parse(id).ok_or_else(|| {
        AppError::InvalidParameter("Your request contains invalid ID parameter.".into())
    })
}

impl App {
    /// Every field the library defines (deleted ones included), for checking and showing
    /// values. Read per request: the table is small, and every node sees changes at once.
    pub async fn field_set(&self) -> Result<FieldSet, AppError> {
        Ok(FieldSet::new(self.store.custom_fields().await?))
    }

    pub async fn list_custom_fields(
        &self,
        _actor: &Principal,
        include_deleted: bool,
    ) -> Result<Vec<CustomField>, AppError> {
        let mut fields = self.store.custom_fields().await?;
        if !include_deleted {
            fields.retain(|f| !f.deleted);
        }
        Ok(fields)
    }

    pub async fn create_custom_field(
        &self,
        actor: &Principal,
        new: NewField,
    ) -> Result<CustomField, AppError> {
        let name = new.name.ok_or(FieldError::Missing("name"))?;
        let label = new.label.ok_or(FieldError::Missing("label"))?;
        let schema = new.schema.ok_or(FieldError::Missing("schema"))?;
        validate_name(&name)?;
        validate_label(&label)?;
        if let Some(description) = &new.description {
            validate_description(description)?;
        }
        let now = Timestamp::now();
        let field = CustomField {
            id: AssetId::generate(),
            name,
            label,
            description: new.description.filter(|d| !d.is_empty()),
            schema: FieldSchema::from_json(&schema)?,
            deleted: false,
            created_at: now,
            updated_at: now,
        };
        self.store.create_custom_field(&field, actor).await?;
        Ok(field)
    }

    pub async fn update_custom_field(
        &self,
        actor: &Principal,
        id: &str,
        update: FieldUpdate,
    ) -> Result<CustomField, AppError> {
        let id = field_id(id)?;
        update.validate()?;
        self.store
            .update_custom_field(&id, &update, actor)
            .await?
            .ok_or_else(no_such_field)
    }

    pub async fn delete_custom_field(&self, actor: &Principal, id: &str) -> Result<(), AppError> {
        let id = field_id(id)?;
        if self.store.delete_custom_field(&id, actor).await? {
            Ok(())
        } else {
            Err(no_such_field())
        }
    }

    /// A request's `customMetadata` (none: only the defaults) checked against the fields.
    pub(crate) async fn metadata_write(
        &self,
        given: Option<&Map<String, Value>>,
    ) -> Result<MetadataWrite, AppError> {
        let empty = Map::new();
        Ok(self.field_set().await?.write(given.unwrap_or(&empty))?)
    }

    /// Hides the values of fields that no longer exist.
    pub(crate) async fn shown_files(
        &self,
        mut files: Vec<FileRecord>,
    ) -> Result<Vec<FileRecord>, AppError> {
        if files
            .iter()
            .any(|f| !f.version.attributes.custom_metadata.is_empty())
        {
            let fields = self.field_set().await?;
            for file in &mut files {
                fields.visible(&mut file.version.attributes.custom_metadata);
            }
        }
        Ok(files)
    }

    pub(crate) async fn shown_file(&self, file: FileRecord) -> Result<FileRecord, AppError> {
        let mut shown = self.shown_files(vec![file]).await?;
        shown.pop().ok_or(AppError::FileNotFound)
    }

    /// The fields for a listing the search index answered: read again only when the index's
    /// catch-up (which ran for this search) applied a field change since the last read.
    async fn fields_for_listing(&self) -> Result<std::sync::Arc<FieldSet>, AppError> {
        let Some(index) = &self.search_index else {
            return Ok(std::sync::Arc::new(self.field_set().await?));
        };
        let generation = index.field_generation();
        if let Ok(cached) = self.listing_fields.lock()
            && let Some((at, fields)) = cached.as_ref()
            && *at == generation
        {
            return Ok(fields.clone());
        }
        let fields = std::sync::Arc::new(self.field_set().await?);
        if let Ok(mut cached) = self.listing_fields.lock() {
            *cached = Some((generation, fields.clone()));
        }
        Ok(fields)
    }

    /// `shown_files` for a listing; `index_caught_up`: the search index answered it (so its
    /// catch-up ran), which lets `fields_for_listing` reuse the fields it read last.
    pub(crate) async fn shown_assets(
        &self,
        mut assets: Vec<ListedAsset>,
        index_caught_up: bool,
    ) -> Result<Vec<ListedAsset>, AppError> {
        let any_values = assets.iter().any(|a| {
            matches!(a, ListedAsset::File(f) if !f.version.attributes.custom_metadata.is_empty())
        });
        if any_values {
            let fields = if index_caught_up {
                self.fields_for_listing().await?
            } else {
                std::sync::Arc::new(self.field_set().await?)
            };
            for asset in &mut assets {
                if let ListedAsset::File(file) = asset {
                    fields.visible(&mut file.version.attributes.custom_metadata);
                }
            }
        }
        Ok(assets)
    }
}
