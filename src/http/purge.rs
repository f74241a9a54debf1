//! Cache purge requests: `/v1/files/purge`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::auth::Caller;
use super::body::{json_object, required_str};
use super::error::ApiError;
use crate::app::purge::PurgeStatus;

pub async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let url = required_str(&body, "url")?;
    // Only URLs this server delivers can be purged; what follows the endpoint is the pattern.
    let pattern = url
        .strip_prefix(state.urls.endpoint())
        .filter(|rest| rest.starts_with('/'))
        .ok_or_else(|| ApiError::bad_request("The URL is not valid for cache purging."))?;
    let id = state.app.purge(&principal, pattern).await?;
    Ok((StatusCode::CREATED, Json(json!({ "requestId": id }))).into_response())
}

pub async fn status(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    let status = match state.app.purge_status(&principal, &request_id).await? {
        PurgeStatus::Pending => "Pending",
        PurgeStatus::Completed => "Completed",
    };
    Ok(Json(json!({ "status": status })).into_response())
}
