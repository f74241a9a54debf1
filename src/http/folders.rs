//! Folders and folder jobs: `/v1/folder`, `/v1/bulkJobs/…`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::auth::Caller;
use super::body::{json_object, optional_bool, required_str};
use super::error::ApiError;
use crate::model::{JobState, TransferKind};

pub async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let name = required_str(&body, "folderName")?;
    let parent = required_str(&body, "parentFolderPath")?;
    state.app.create_folder(&principal, name, parent).await?;
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body = json_object(&body)?;
    let path = required_str(&body, "folderPath")?;
    state.app.delete_folder(&principal, path).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn copy(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let source = required_str(&body, "sourceFolderPath")?;
    let destination = required_str(&body, "destinationPath")?;
    // The Node SDK 6 sends `includeFileVersions` here; both mean the same.
    let include_versions =
        optional_bool(&body, "includeVersions")? || optional_bool(&body, "includeFileVersions")?;
    let job = state
        .app
        .queue_folder_transfer(
            &principal,
            TransferKind::Copy { include_versions },
            source,
            destination,
        )
        .await?;
    Ok(Json(json!({ "jobId": job })).into_response())
}

pub async fn move_folder(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let source = required_str(&body, "sourceFolderPath")?;
    let destination = required_str(&body, "destinationPath")?;
    let job = state
        .app
        .queue_folder_transfer(&principal, TransferKind::Move, source, destination)
        .await?;
    Ok(Json(json!({ "jobId": job })).into_response())
}

pub async fn rename(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let path = required_str(&body, "folderPath")?;
    let name = required_str(&body, "newFolderName")?;
    let purge = optional_bool(&body, "purgeCache")?;
    let job = state
        .app
        .queue_folder_rename(&principal, path, name, purge)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobId": job }))).into_response())
}

pub async fn job(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    let job = state.app.folder_job(&principal, &job_id).await?;
    let status = match job.state {
        JobState::Queued | JobState::Running => "Pending",
        JobState::Done => "Completed",
        JobState::Failed => "Failed",
    };
    let mut body = json!({
        "jobId": job.id,
        "type": job.kind.job_type(),
        "status": status,
        "progress": {
            "filesTransferred": job.progress.files,
            "appendedAsVersions": job.progress.merged,
            "skipped": job.progress.skipped,
            "skippedCount": job.progress.skipped_count,
        },
    });
    if let Some(purge) = job.purge_request_id {
        body["purgeRequestId"] = json!(purge);
    }
    if let Some(error) = job.error {
        body["message"] = json!(error);
    }
    Ok(Json(body).into_response())
}
