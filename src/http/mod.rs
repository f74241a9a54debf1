//! The HTTP edge: routes, ImageKit's wire format, authentication. Holds no SQL and no
//! business rules; every handler parses, calls one use case, and shapes the answer.

pub mod auth;
pub mod body;
pub mod custom_fields;
pub mod delivery;
pub mod error;
pub mod files;
pub mod folders;
pub mod metadata;
pub mod named;
pub mod purge;
pub mod upload;
pub mod versions;
pub mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use serde_json::json;

use crate::app::App;
use crate::model::AssetId;
use error::ApiError;
use wire::{URL_ENDPOINT_PATH, Urls};

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub urls: Urls,
}

pub fn router(app: Arc<App>, public_url: &str) -> Router {
    // Room for base64's 4/3 expansion and the form's own overhead; the decoded size is
    // checked exactly while streaming.
    let max_body = app.settings().max_upload_size / 3 * 4 + 1024 * 1024;
    let state = AppState {
        app,
        urls: Urls::new(public_url),
    };
    let upload_route = post(upload::upload).layer(DefaultBodyLimit::max(
        usize::try_from(max_body).unwrap_or(usize::MAX),
    ));
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/files/upload", upload_route)
        .route("/v1/files", get(files::list))
        .route("/v1/files/", get(files::list))
        .route(
            "/v1/files/{file_id}/details",
            get(files::details).patch(files::update),
        )
        .route("/v1/files/{file_id}", axum::routing::delete(files::delete))
        .route("/v1/files/batch/deleteByFileIds", post(files::bulk_delete))
        .route("/v1/files/copy", post(files::copy))
        .route("/v1/files/move", post(files::move_file))
        .route("/v1/files/rename", put(files::rename))
        .route("/v1/files/addTags", post(files::add_tags))
        .route("/v1/files/removeTags", post(files::remove_tags))
        .route("/v1/files/removeAITags", post(files::remove_ai_tags))
        .route("/v1/files/{file_id}/versions", get(versions::list))
        .route(
            "/v1/files/{file_id}/versions/{version_id}",
            get(versions::details).delete(versions::delete),
        )
        .route(
            "/v1/files/{file_id}/versions/{version_id}/restore",
            put(versions::restore),
        )
        .route(
            "/v1/customMetadataFields",
            get(custom_fields::list).post(custom_fields::create),
        )
        .route(
            "/v1/customMetadataFields/{id}",
            axum::routing::patch(custom_fields::update).delete(custom_fields::delete),
        )
        .route(
            "/v1/named-transformations",
            get(named::list).post(named::create),
        )
        .route(
            "/v1/named-transformations/{id}",
            get(named::get).patch(named::update).delete(named::delete),
        )
        .route("/v1/files/{file_id}/metadata", get(metadata::of_file))
        .route("/v1/metadata", get(metadata::of_url))
        .route("/v1/files/purge", post(purge::create))
        .route("/v1/files/purge/{request_id}", get(purge::status))
        .route("/v1/folder", post(folders::create).delete(folders::delete))
        .route("/v1/folder/", post(folders::create).delete(folders::delete))
        .route("/v1/bulkJobs/copyFolder", post(folders::copy))
        .route("/v1/bulkJobs/moveFolder", post(folders::move_folder))
        .route("/v1/bulkJobs/renameFolder", post(folders::rename))
        .route("/v1/bulkJobs/{job_id}", get(folders::job))
        .route(
            &format!("{URL_ENDPOINT_PATH}/{{*path}}"),
            get(delivery::deliver),
        )
        .fallback(|| async { ApiError::not_found_route() })
        .layer(middleware::from_fn(log_request))
        .layer(middleware::map_response(request_id))
        .with_state(state)
}

async fn request_id(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(AssetId::generate().as_str()) {
        response.headers_mut().insert("x-ik-requestid", value);
    }
    response
}

use crate::app::SearchIndexState;

async fn health(State(state): State<AppState>) -> Response {
    let (database, storage) = state.app.health().await;
    let body = Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "database": if database { "ok" } else { "unavailable" },
        "storage": if storage { "ok" } else { "unavailable" },
        "searchIndex": match state.app.search_index_stats() {
            SearchIndexState::Off => json!("off"),
            SearchIndexState::Building => json!("building"),
            SearchIndexState::Ready(stats) => json!({ "rows": stats.live, "eventSeq": stats.seq }),
        },
    }));
    if database && storage {
        body.into_response()
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

/// Logs each request at debug level; errors are logged where they are mapped.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
    response
}
