//! Reading JSON request bodies the way ImageKit's clients send them: Python sends
//! `Content-Type: application/json` with an empty body on some calls, Node sends form content
//! types on others, so bodies are parsed from bytes whatever the header says.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::error::ApiError;

/// The body as a JSON object; an empty body is an empty object.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// A required, non-empty string field.
pub fn required_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(ApiError::bad_request(format!(
            "{key} parameter is missing."
        ))),
        Some(Value::String(s)) if s.is_empty() => Err(ApiError::bad_request(format!(
            "{key} parameter is missing."
        ))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!("{key} should be a string."))),
    }
}

/// An optional string property: absent or `null` is `None`, anything but a string is refused.
pub fn optional_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::bad_request(format!(
            "Invalid {key}. It must be a string."
        ))),
    }
}

/// An optional boolean (`true`, `"true"`); absent is false.
pub fn optional_bool(map: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(_) => Err(ApiError::bad_request(format!("{key} should be a boolean."))),
    }
}

/// A required array of strings, with ImageKit's messages for each way it can be wrong.
pub fn required_strings(
    map: &Map<String, Value>,
    key: &str,
    empty_message: &str,
) -> Result<Vec<String>, ApiError> {
    let items = match map.get(key) {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(format!(
                "{key} parameter is missing."
            )));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request(format!("{key} should be an Array."))),
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(empty_message));
    }
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Your request contains invalid value for {key}. Please provide an array of strings."
            ))
        })
}
