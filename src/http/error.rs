//! The one table that decides every error's HTTP status and ImageKit error body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppError;
use crate::blobs::BlobError;
use crate::model::signature::SignatureError;
use crate::remote::FetchError;

pub const HELP: &str = "See Kura's README (API coverage) or run `kura --help`.";

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Extra fields merged into the body (`missingFileIds`, `reason`, …).
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            extra: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Your request does not contain private API key.",
        )
    }

    pub fn wrong_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Your account cannot be authenticated.",
        )
    }

    pub fn not_found_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        let (status, extra) = match &error {
            AppError::InvalidPath(_) => (
                StatusCode::BAD_REQUEST,
                Some(json!({ "reason": "INVALID_PATH" })),
            ),
            AppError::InvalidParameter(_) | AppError::MissingFile | AppError::FileExists => {
                (StatusCode::BAD_REQUEST, None)
            }
            AppError::VersionLimit(_) => (StatusCode::BAD_REQUEST, None),
            AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, None),
            AppError::NotSupported(_)
            | AppError::InvalidField(_)
            | AppError::Search(_)
            | AppError::Transformation(_) => (StatusCode::BAD_REQUEST, None),
            AppError::InvalidMetadata(invalid) => {
                let errors: serde_json::Map<String, Value> = invalid
                    .errors
                    .iter()
                    .map(|(name, rule)| (name.clone(), Value::String(rule.clone())))
                    .collect();
                (StatusCode::BAD_REQUEST, Some(json!({ "errors": errors })))
            }
            AppError::FileNotFound | AppError::NotFound(_) => (StatusCode::NOT_FOUND, None),
            AppError::Conflict(_) => (StatusCode::CONFLICT, None),
            AppError::Locked(_) => (StatusCode::LOCKED, None),
            AppError::Transfer(_) => (StatusCode::BAD_REQUEST, None),
            AppError::FilesNotFound(ids) => (
                StatusCode::NOT_FOUND,
                Some(json!({ "missingFileIds": ids })),
            ),
            AppError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, None),
            AppError::Fetch(FetchError::Timeout | FetchError::Status(_))
            | AppError::Fetch(FetchError::Network(_))
            | AppError::Fetch(FetchError::InvalidUrl)
            | AppError::Fetch(FetchError::ForbiddenAddress(_)) => (StatusCode::BAD_REQUEST, None),
            AppError::Signature(SignatureError::Expired | SignatureError::Invalid)
            | AppError::Signature(SignatureError::Missing | SignatureError::Malformed) => {
                (StatusCode::UNAUTHORIZED, None)
            }
            AppError::Blob(BlobError::NotFound(_)) => {
                tracing::error!(error = %error, "a stored version's bytes are missing");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
            AppError::Store(_) | AppError::Blob(_) | AppError::Io(_) => {
                tracing::error!(error = %error, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "An internal error occurred; the server log has the details.".to_owned()
        } else {
            message
        };
        ApiError {
            status,
            message,
            extra,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "message": self.message, "help": HELP });
        if let (Some(Value::Object(extra)), Value::Object(map)) = (self.extra, &mut body) {
            map.extend(extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status.is_client_error() && self.status != StatusCode::TOO_MANY_REQUESTS {
            // Tell the SDK's retry loop that sending the same request again cannot help.
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}
