//! A file's versions: `/v1/files/{fileId}/versions…`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::wire::file_json;

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let versions = state.app.file_versions(&principal, &file_id).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|v| serde_json::to_value(file_json(v, &state.urls)).unwrap_or(Value::Null))
        .collect();
    Ok(Json(Value::Array(items)).into_response())
}

pub async fn details(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((file_id, version_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let version = state
        .app
        .file_version(&principal, &file_id, &version_id)
        .await?;
    Ok(Json(file_json(&version, &state.urls)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((file_id, version_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_version(&principal, &file_id, &version_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn restore(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((file_id, version_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let file = state
        .app
        .restore_version(&principal, &file_id, &version_id)
        .await?;
    Ok(Json(file_json(&file, &state.urls)).into_response())
}
