//! Named transformations (`/v1/named-transformations`, `tr:n-<name>`): aliases for
//! transformation strings, editable without changing URLs.

use super::derived::THUMBNAIL;
use super::{App, AppError};
use crate::model::transform::{MAX_NAMED, NamedTransformation, Transformation};
use crate::model::{AssetId, Principal, Timestamp};

/// A change to a named transformation; `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub struct NamedUpdate {
    pub name: Option<String>,
    pub transformation: Option<String>,
    pub enabled: Option<bool>,
}

fn not_found() -> AppError {
    AppError::NotFound("The requested named transformation does not exist.".into())
}

impl App {
    pub async fn named_transformations(
        &self,
        _actor: &Principal,
    ) -> Result<Vec<NamedTransformation>, AppError> {
        Ok(self.store.named_transformations().await?)
    }

    pub async fn named_transformation(
        &self,
        actor: &Principal,
        id: &str,
    ) -> Result<NamedTransformation, AppError> {
        self.named_transformations(actor)
            .await?
            .into_iter()
            .find(|n| n.id.as_str() == id)
            .ok_or_else(not_found)
    }

    pub async fn create_named_transformation(
        &self,
        actor: &Principal,
        name: String,
        transformation: String,
        enabled: bool,
    ) -> Result<NamedTransformation, AppError> {
        NamedTransformation::validate(&name, &transformation)?;
        if self.store.named_transformations().await?.len() >= MAX_NAMED {
            return Err(AppError::InvalidParameter(format!(
                "A library can have at most {MAX_NAMED} named transformations."
            )));
        }
        let now = Timestamp::now();
        let named = NamedTransformation {
            id: AssetId::generate(),
            name,
            transformation,
            enabled,
            created_at: now,
            updated_at: now,
        };
        self.store
            .save_named_transformation(&named, true, actor)
            .await?;
        Ok(named)
    }

    pub async fn update_named_transformation(
        &self,
        actor: &Principal,
        id: &str,
        update: NamedUpdate,
    ) -> Result<NamedTransformation, AppError> {
        let mut named = self.named_transformation(actor, id).await?;
        if named.name == THUMBNAIL && update.name.as_ref().is_some_and(|n| *n != named.name) {
            return Err(AppError::InvalidParameter(format!(
                "`{THUMBNAIL}` makes the file objects' thumbnails; it cannot be renamed."
            )));
        }
        if let Some(name) = update.name {
            named.name = name;
        }
        if let Some(transformation) = update.transformation {
            named.transformation = transformation;
        }
        if let Some(enabled) = update.enabled {
            named.enabled = enabled;
        }
        NamedTransformation::validate(&named.name, &named.transformation)?;
        named.updated_at = Timestamp::now();
        self.store
            .save_named_transformation(&named, false, actor)
            .await?;
        Ok(named)
    }

    pub async fn delete_named_transformation(
        &self,
        actor: &Principal,
        id: &str,
    ) -> Result<(), AppError> {
        let named = self.named_transformation(actor, id).await?;
        if named.name == THUMBNAIL {
            return Err(AppError::InvalidParameter(format!(
                "`{THUMBNAIL}` makes the file objects' thumbnails; it cannot be deleted."
            )));
        }
        if !self
            .store
            .delete_named_transformation(id, actor, Timestamp::now())
            .await?
        {
            return Err(not_found());
        }
        Ok(())
    }

    /// `transformation` with its `n-<name>` steps replaced by what they stand for; an unknown
    /// or disabled name is an error naming it.
    pub(crate) async fn expand_named(
        &self,
        transformation: Transformation,
    ) -> Result<Transformation, AppError> {
        if transformation.names().next().is_none() {
            return Ok(transformation);
        }
        let all = self.store.named_transformations().await?;
        if let Some(disabled) = transformation
            .names()
            .find(|name| all.iter().any(|n| n.name == *name && !n.enabled))
        {
            return Err(AppError::Transformation(
                crate::model::transform::TransformError {
                    parameter: format!("n-{disabled}"),
                    message: "this named transformation is disabled".into(),
                },
            ));
        }
        Ok(transformation.expand_named(|name| {
            all.iter()
                .find(|n| n.name == name)
                .and_then(|n| Transformation::parse(&n.transformation).ok())
        })?)
    }
}
