//! `GET /v1/files/{fileId}/metadata` and `GET /v1/metadata?url=`: ImageKit's `Metadata`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::wire::metadata_json;

pub async fn of_file(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let file = state.app.file_metadata(&principal, &file_id).await?;
    Ok(Json(metadata_json(&file.version.media, file.version.size)).into_response())
}

/// A URL of this server's URL endpoint names a file of the library; any other is fetched
/// under the rules of upload from a URL (no private addresses).
pub async fn of_url(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let url = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "url")
        .map(|(_, value)| value.into_owned())
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing url parameter."))?;
    let own = format!("{}/", state.urls.endpoint().trim_end_matches('/'));
    if let Some(relative) = url.strip_prefix(&own) {
        // The query (`?ik-obj-version=…`, `?updatedAt=…`) names nothing more here.
        let path = relative.split(['?', '#']).next().unwrap_or_default();
        let file = state.app.own_file_metadata(&principal, path).await?;
        return Ok(Json(metadata_json(&file.version.media, file.version.size)).into_response());
    }
    let (media, size) = state.app.remote_metadata(&principal, &url).await?;
    Ok(Json(metadata_json(&media, size)).into_response())
}
