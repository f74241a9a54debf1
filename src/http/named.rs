//! `/v1/named-transformations`: aliases for transformation strings (`tr:n-<name>`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use super::auth::Caller;
use super::body::{json_object, optional_string as text};
use super::error::ApiError;
use crate::app::named::NamedUpdate;
use crate::model::transform::NamedTransformation;

fn named_json(n: &NamedTransformation) -> Value {
    json!({
        "id": n.id.as_str(),
        "name": n.name,
        "transformation": n.transformation,
        "enabled": n.enabled,
        "createdAt": n.created_at.to_iso8601(),
        "updatedAt": n.updated_at.to_iso8601(),
    })
}

fn flag(map: &Map<String, Value>, key: &'static str) -> Result<Option<bool>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!(
            "Invalid {key}. It must be true or false."
        ))),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> Result<Response, ApiError> {
    let all = state.app.named_transformations(&principal).await?;
    Ok(Json(Value::Array(all.iter().map(named_json).collect())).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let named = state.app.named_transformation(&principal, &id).await?;
    Ok(Json(named_json(&named)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let name =
        text(&body, "name")?.ok_or_else(|| ApiError::bad_request("Missing name parameter."))?;
    let transformation = text(&body, "transformation")?
        .ok_or_else(|| ApiError::bad_request("Missing transformation parameter."))?;
    let enabled = flag(&body, "enabled")?.unwrap_or(true);
    let named = state
        .app
        .create_named_transformation(&principal, name, transformation, enabled)
        .await?;
    Ok((StatusCode::CREATED, Json(named_json(&named))).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let update = NamedUpdate {
        name: text(&body, "name")?,
        transformation: text(&body, "transformation")?,
        enabled: flag(&body, "enabled")?,
    };
    let named = state
        .app
        .update_named_transformation(&principal, &id, update)
        .await?;
    Ok(Json(named_json(&named)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .app
        .delete_named_transformation(&principal, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
