//! File management routes: details, update, delete, bulk delete, list.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::body::{json_object, optional_bool, required_str, required_strings};
use super::error::ApiError;
use super::wire::{file_json, listed_json};
use crate::app::upload::{validate_custom_coordinates, validate_description, validate_tags};
use crate::model::list::{MAX_LIST_LIMIT, parse_sort};
use crate::model::search::NameMatch;
use crate::model::{
    AiTagRemoval, AssetTypeFilter, AttributeUpdate, FileKind, FileTypeFilter, FolderPath,
    ListQuery, PublishChange, TagChange,
};

pub async fn details(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(file_id): Path<String>,
) -> Result<Response, ApiError> {
    let file = state.app.file_details(&principal, &file_id).await?;
    Ok(Json(file_json(&file, &state.urls)).into_response())
}

/// The body of `PATCH …/details`, read from raw JSON so that an absent key (leave alone) and
/// `null` (clear) stay distinct.
fn parse_update(body: &Value) -> Result<AttributeUpdate, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let mut update = AttributeUpdate::default();
    if let Some(tags) = map.get("tags") {
        update.tags = Some(match tags {
            Value::Null => None,
            Value::Array(items) => {
                let tags = items
                    .iter()
                    .map(|t| t.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ApiError::bad_request("Your request contains invalid value for tags parameter. Provide an array of strings.")
                    })?;
                Some(validate_tags(tags)?)
            }
            _ => {
                return Err(ApiError::bad_request(
                    "Your request contains invalid value for tags parameter. Provide an array of strings or null.",
                ));
            }
        });
    }
    if let Some(coordinates) = map.get("customCoordinates") {
        update.custom_coordinates = Some(match coordinates {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(validate_custom_coordinates(s)?),
            _ => {
                return Err(ApiError::bad_request(
                    "Your request contains invalid value for customCoordinates parameter.",
                ));
            }
        });
    }
    match map.get("description") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) => {
            validate_description(d)?;
            update.description = Some(d.clone());
        }
        Some(_) => return Err(ApiError::bad_request("description should be a string.")),
    }
    match map.get("removeAITags") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "all" => update.remove_ai_tags = Some(AiTagRemoval::All),
        Some(Value::Array(items)) => {
            let names = items
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ApiError::bad_request("removeAITags should be \"all\" or an array of strings.")
                })?;
            update.remove_ai_tags = Some(AiTagRemoval::Named(names));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "removeAITags should be \"all\" or an array of strings.",
            ));
        }
    }
    match map.get("customMetadata") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err(ApiError::bad_request("customMetadata should be an object.")),
    }
    for unsupported in ["extensions", "webhookUrl"] {
        match map.get(unsupported) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "The {unsupported} parameter is not supported by this server yet."
                )));
            }
        }
    }
    if let Some(publish) = map.get("publish") {
        let is_published = publish
            .get("isPublished")
            .and_then(Value::as_bool)
            .ok_or_else(|| {
                ApiError::bad_request("publish.isPublished is required and must be a boolean.")
            })?;
        let include_file_versions = match publish.get("includeFileVersions") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "publish.includeFileVersions must be a boolean.",
                ));
            }
        };
        update.publish = Some(PublishChange {
            is_published,
            include_file_versions,
        });
    }
    Ok(update)
}

pub async fn update(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(file_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let value: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("The request body is not valid JSON: {e}"))
        })?
    };
    let update = parse_update(&value)?;
    let custom_metadata = value.get("customMetadata").and_then(Value::as_object);
    let file = state
        .app
        .update_file(&principal, &file_id, update, custom_metadata)
        .await?;
    Ok(Json(file_json(&file, &state.urls)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(file_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_file(&principal, &file_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn bulk_delete(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request("fileIds parameter is missing."))?;
    let ids = match value.get("fileIds") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request("fileIds parameter is missing."));
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad_request("fileIds should be an Array of strings."))?,
        Some(_) => return Err(ApiError::bad_request("fileIds should be an Array.")),
    };
    let deleted = state.app.delete_files(&principal, &ids).await?;
    Ok(Json(json!({ "successfullyDeletedFileIds": deleted })).into_response())
}

/// Parses `GET /v1/files`' query with ImageKit's messages for bad values; the `searchQuery`
/// text comes back apart, for the application to bind.
fn parse_list_query(raw: Option<&str>) -> Result<(ListQuery, Option<String>), ApiError> {
    let mut query = ListQuery::default();
    let mut search_query = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "type" => {
                query.asset_type = AssetTypeFilter::parse(&value).ok_or_else(|| {
                    ApiError::bad_request("Your request contains invalid value for type parameter. Please provide one of the following: file, file-version, folder, all.")
                })?
            }
            "path" => query.folder = Some(FolderPath::parse_lenient(&value).map_err(crate::app::AppError::from)?),
            "fileType" => {
                query.file_type = match value.as_str() {
                    "all" => FileTypeFilter::All,
                    other => FileTypeFilter::Only(FileKind::parse(other).ok_or_else(|| {
                        ApiError::bad_request("Your request contains invalid value for fileType parameter. Please provide one of the following: all, image, non-image.")
                    })?),
                }
            }
            "sort" => {
                query.sort = parse_sort(&value).ok_or_else(|| {
                    ApiError::bad_request("Your request contains invalid value for sort parameters.")
                })?
            }
            "skip" => {
                let skip: i64 = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("The value of skip parameter should be greater than or equal to 0. Value sent is {value}."))
                })?;
                if skip < 0 {
                    return Err(ApiError::bad_request(format!("The value of skip parameter should be greater than or equal to 0. Value sent is {value}.")));
                }
                query.skip = skip as u64;
            }
            "limit" => {
                let limit: i64 = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("Minimum value of limit parameter is 1. Value sent is {value}."))
                })?;
                if limit < 1 {
                    return Err(ApiError::bad_request(format!("Minimum value of limit parameter is 1. Value sent is {value}.")));
                }
                if limit > i64::from(MAX_LIST_LIMIT) {
                    return Err(ApiError::bad_request(format!("Maximum value of limit parameter is {MAX_LIST_LIMIT}. Value sent is {value}.")));
                }
                query.limit = limit as u32;
            }
            "tags" => {
                let tags: Vec<String> = value
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                query.tags = (!tags.is_empty()).then_some(tags);
            }
            "name" => query.name = Some(value),
            // Kura's extensions for name search boxes; ImageKit clients never send them.
            "namePrefix" => query.name_match = Some(NameMatch::prefix(&value)),
            "nameContains" => query.name_match = Some(NameMatch::contains(&value)),
            "searchQuery" => search_query = Some(value),
            // `includeFolder` and other legacy or unknown parameters change nothing.
            _ => {}
        }
    }
    Ok((query, search_query))
}

pub async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (query, search_query) = parse_list_query(raw.as_deref())?;
    let assets = state
        .app
        .list_assets(&principal, &query, search_query.as_deref())
        .await?;
    let items: Vec<_> = assets.iter().map(|a| listed_json(a, &state.urls)).collect();
    Ok(Json(items).into_response())
}

pub async fn copy(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body = json_object(&body)?;
    let source = required_str(&body, "sourceFilePath")?;
    let destination = required_str(&body, "destinationPath")?;
    let include_versions = optional_bool(&body, "includeFileVersions")?;
    state
        .app
        .copy_file(&principal, source, destination, include_versions)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn move_file(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body = json_object(&body)?;
    let source = required_str(&body, "sourceFilePath")?;
    let destination = required_str(&body, "destinationPath")?;
    state.app.move_file(&principal, source, destination).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rename(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let path = required_str(&body, "filePath")?;
    let name = required_str(&body, "newFileName")?;
    let purge = optional_bool(&body, "purgeCache")?;
    let (_, purge) = state.app.rename_file(&principal, path, name, purge).await?;
    Ok(Json(match purge {
        Some(id) => json!({ "purgeRequestId": id }),
        None => json!({}),
    })
    .into_response())
}

/// `addTags`, `removeTags`, `removeAITags`: 200 when every id was updated, 207 when some ids
/// name no file (the others are updated regardless), 404 when none does.
async fn change_tags(
    state: &AppState,
    principal: &crate::model::Principal,
    body: &Bytes,
    ai: bool,
    make: impl FnOnce(Vec<String>) -> TagChange,
) -> Result<Response, ApiError> {
    let body = json_object(body)?;
    let ids = required_strings(&body, "fileIds", "fileIds is empty.")?;
    let tags = if ai {
        required_strings(&body, "AITags", "AITags array cannot be empty.")?
    } else {
        required_strings(&body, "tags", "tags array cannot be empty.")?
    };
    let outcome = state.app.change_tags(principal, &ids, make(tags)).await?;
    if outcome.updated.is_empty() {
        return Err(crate::app::AppError::FilesNotFound(outcome.missing).into());
    }
    if outcome.missing.is_empty() {
        return Ok(Json(json!({ "successfullyUpdatedFileIds": outcome.updated })).into_response());
    }
    let errors: Vec<Value> = outcome
        .missing
        .iter()
        .map(|id| json!({ "fileId": id, "error": "The requested file does not exist." }))
        .collect();
    Ok((
        StatusCode::MULTI_STATUS,
        Json(json!({ "successfullyUpdatedFileIds": outcome.updated, "errors": errors })),
    )
        .into_response())
}

pub async fn add_tags(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_tags(&state, &principal, &body, false, TagChange::Add).await
}

pub async fn remove_tags(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_tags(&state, &principal, &body, false, TagChange::Remove).await
}

pub async fn remove_ai_tags(
    State(state): State<AppState>,
    Caller(principal): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_tags(&state, &principal, &body, true, TagChange::RemoveAi).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_defaults_and_errors() {
        let (q, _) = parse_list_query(None).unwrap();
        assert_eq!(q.limit, 1000);
        assert_eq!(q.asset_type, AssetTypeFilter::File);
        let (q, search) = parse_list_query(Some(
            "type=all&path=%2Fa%2Fb%2F&tags=x,%20y&skip=5&limit=10&searchQuery=size%3E1",
        ))
        .unwrap();
        assert_eq!(search.as_deref(), Some("size>1"));
        assert_eq!(q.folder.unwrap().as_str(), "/a/b");
        assert_eq!(q.tags.unwrap(), ["x", "y"]);
        assert_eq!((q.skip, q.limit), (5, 10));
        for bad in [
            "limit=0",
            "limit=1001",
            "skip=-1",
            "sort=UP",
            "type=x",
            "fileType=video",
            "path=/a/../b",
        ] {
            assert!(parse_list_query(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn update_distinguishes_absent_from_null() {
        let u = parse_update(&json!({"description": "x"})).unwrap();
        assert_eq!(u.tags, None);
        let u = parse_update(&json!({"tags": null, "customCoordinates": null})).unwrap();
        assert_eq!(u.tags, Some(None));
        assert_eq!(u.custom_coordinates, Some(None));
        assert!(parse_update(&json!({"tags": "a"})).is_err());
        assert!(parse_update(&json!({"publish": {}})).is_err());
    }
}
