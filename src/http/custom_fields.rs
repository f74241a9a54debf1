//! `/v1/customMetadataFields`: defining the fields custom metadata values are checked against.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::body::{json_object, optional_string as text};
use super::error::ApiError;
use super::wire::custom_field_json;
use crate::app::custom_fields::NewField;
use crate::model::{FieldError, FieldUpdate};

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut include_deleted = false;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        // `folderPath` changes nothing: every field applies everywhere (no path policies).
        if key == "includeDeleted" {
            include_deleted = match value.as_ref() {
                "true" => true,
                "false" | "" => false,
                _ => {
                    return Err(ApiError::bad_request(
                        "includeDeleted must be true or false.",
                    ));
                }
            };
        }
    }
    let fields = state
        .app
        .list_custom_fields(&principal, include_deleted)
        .await?;
    let items: Vec<Value> = fields.iter().map(custom_field_json).collect();
    Ok(Json(Value::Array(items)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let new = NewField {
        name: text(&body, "name")?,
        label: text(&body, "label")?,
        description: text(&body, "description")?,
        schema: body.get("schema").filter(|s| !s.is_null()).cloned(),
    };
    let field = state.app.create_custom_field(&principal, new).await?;
    Ok((StatusCode::CREATED, Json(custom_field_json(&field))).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    if body.contains_key("name") {
        return Err(crate::app::AppError::from(FieldError::NameChange).into());
    }
    let update = FieldUpdate {
        label: text(&body, "label")?,
        description: text(&body, "description")?,
        schema: body.get("schema").filter(|s| !s.is_null()).cloned(),
    };
    let field = state
        .app
        .update_custom_field(&principal, &id, update)
        .await?;
    Ok(Json(custom_field_json(&field)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_custom_field(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
