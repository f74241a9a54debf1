//! `POST /api/v1/files/upload`: reads the multipart form as it streams in.

use axum::Json;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{Multipart, State};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::wire::{ResponseFields, upload_json};
use crate::app::upload::{UploadBody, UploadRequest, validate_tags};
use crate::model::UploadAttributes;

/// Largest text field accepted (tags, description, JSON fields, a URL).
const MAX_TEXT_FIELD: usize = 1024 * 1024;

fn multipart_error(e: MultipartError) -> ApiError {
    let status = e.status();
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "Your request contains invalid file parameter. The file size exceeds limits.",
        )
    } else {
        ApiError::new(
            status,
            format!("Malformed multipart body: {}", e.body_text()),
        )
    }
}

async fn read_text(mut field: Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::bad_request(format!("{name} is too long.")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request(format!("{name} must be UTF-8 text.")))
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" | "True" | "1" => Ok(true),
        "false" | "False" | "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Your request contains invalid value for {name} parameter. Use true or false."
        ))),
    }
}

/// Decodes base64 as it streams, so a base64 upload needs no more memory than a binary one.
/// Accepts standard and URL-safe alphabets, whitespace, and missing padding.
struct Base64Stream {
    pending: Vec<u8>,
    engine: GeneralPurpose,
}

impl Base64Stream {
    fn new() -> Self {
        Base64Stream {
            pending: Vec::new(),
            engine: GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                GeneralPurposeConfig::new()
                    .with_decode_padding_mode(DecodePaddingMode::Indifferent),
            ),
        }
    }

    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ApiError> {
        self.pending.extend(
            chunk
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .map(|b| match b {
                    b'-' => b'+',
                    b'_' => b'/',
                    other => *other,
                }),
        );
        // Only whole quanta can be decoded before the end; padding only comes at the end.
        let whole = self.pending.len() / 4 * 4;
        let keep = if whole == self.pending.len() && whole > 0 {
            4
        } else {
            0
        };
        let cut = whole.saturating_sub(keep);
        let decoded = self.decode(&self.pending[..cut])?;
        self.pending.drain(..cut);
        Ok(decoded)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ApiError> {
        let rest = std::mem::take(&mut self.pending);
        self.decode(&rest)
    }

    fn decode(&self, data: &[u8]) -> Result<Vec<u8>, ApiError> {
        self.engine.decode(data).map_err(|_| {
            ApiError::bad_request(
                "Your request contains invalid file parameter. It is neither a file, a URL nor valid base64.",
            )
        })
    }
}

/// Streams the `file` field into `body`: binary parts as they are, text parts as a URL to
/// fetch, or base64 (plain or data URI) decoded on the fly.
async fn read_file_field(
    state: &AppState,
    mut field: Field<'_>,
    body: &mut UploadBody,
) -> Result<(), ApiError> {
    let is_binary = field.file_name().is_some()
        || field
            .content_type()
            .is_some_and(|t| !t.starts_with("text/"));
    if is_binary {
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            body.write(&chunk).await?;
        }
        return Ok(());
    }
    // A text field: look at its start to tell a URL from base64.
    let mut head = Vec::new();
    while head.len() < 512 {
        match field.chunk().await.map_err(multipart_error)? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    let lowered: Vec<u8> = head.iter().take(16).map(u8::to_ascii_lowercase).collect();
    if lowered.starts_with(b"http://") || lowered.starts_with(b"https://") {
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if head.len() + chunk.len() > 8192 {
                return Err(ApiError::bad_request("The file URL is too long."));
            }
            head.extend_from_slice(&chunk);
        }
        let url = String::from_utf8(head)
            .map_err(|_| ApiError::bad_request("The file URL must be UTF-8."))?;
        state.app.fetch_into(url.trim(), body).await?;
        return Ok(());
    }
    let mut start = 0;
    if lowered.starts_with(b"data:") {
        start = head
            .iter()
            .position(|b| *b == b',')
            .map(|i| i + 1)
            .ok_or_else(|| ApiError::bad_request("The file data URI has no ',' separator."))?;
        let header = String::from_utf8_lossy(&head[..start]).to_ascii_lowercase();
        if !header.contains(";base64") {
            return Err(ApiError::bad_request(
                "Only base64 data URIs are supported.",
            ));
        }
    }
    let mut decoder = Base64Stream::new();
    body.write(&decoder.push(&head[start..])?).await?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        body.write(&decoder.push(&chunk)?).await?;
    }
    body.write(&decoder.finish()?).await?;
    Ok(())
}

pub async fn upload(
    State(state): State<AppState>,
    Caller(principal): Caller,
    mut multipart: Multipart,
) -> Result<Json<Value>, ApiError> {
    let result = receive_upload(&state, &principal, &mut multipart).await;
    if let Err(error) = &result
        && error.status == axum::http::StatusCode::PAYLOAD_TOO_LARGE
    {
        // Read (and drop) the rest of the body, up to the body limit, so the client gets to
        // read our 413 instead of a connection reset while it is still sending.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    result
}

async fn receive_upload(
    state: &AppState,
    principal: &crate::model::Principal,
    multipart: &mut Multipart,
) -> Result<Json<Value>, ApiError> {
    let mut body = state.app.start_upload(principal).await?;
    let mut has_file = false;
    let mut file_name = None;
    let mut folder = None;
    let mut use_unique = true;
    let mut overwrite_file = true;
    let mut response_fields = ResponseFields::default();
    let mut attributes = UploadAttributes::default();
    let mut custom_metadata = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if has_file {
                return Err(ApiError::bad_request(
                    "Your request contains more than one file parameter.",
                ));
            }
            has_file = true;
            read_file_field(state, field, &mut body).await?;
            continue;
        }
        let value = read_text(field, &name).await?;
        match name.as_str() {
            "fileName" => file_name = Some(value),
            "folder" => folder = Some(value),
            "useUniqueFileName" => use_unique = parse_bool(&name, &value)?,
            "overwriteFile" => overwrite_file = parse_bool(&name, &value)?,
            "overwriteTags" => attributes.overwrite_tags = parse_bool(&name, &value)?,
            "overwriteAITags" => attributes.overwrite_ai_tags = parse_bool(&name, &value)?,
            "overwriteCustomMetadata" => {
                attributes.overwrite_custom_metadata = parse_bool(&name, &value)?
            }
            "isPrivateFile" => attributes.is_private = parse_bool(&name, &value)?,
            "isPublished" => attributes.is_published = parse_bool(&name, &value)?,
            "tags" => {
                let tags = validate_tags(value.split(',').map(str::to_owned).collect())?;
                attributes.tags = (!tags.is_empty()).then_some(tags);
            }
            "customCoordinates" => {
                attributes.custom_coordinates = (!value.trim().is_empty()).then_some(value)
            }
            "description" => attributes.description = Some(value),
            "responseFields" => {
                response_fields = ResponseFields::parse(&value).map_err(ApiError::bad_request)?
            }
            "customMetadata" => {
                let parsed: Value = serde_json::from_str(&value)
                    .map_err(|_| ApiError::bad_request("customMetadata must be a JSON object."))?;
                match parsed {
                    Value::Object(map) => custom_metadata = Some(map),
                    _ => {
                        return Err(ApiError::bad_request(
                            "customMetadata must be a JSON object.",
                        ));
                    }
                }
            }
            "extensions" | "transformation" | "checks" | "webhookUrl" => {
                let empty = matches!(value.trim(), "" | "[]" | "{}");
                if !empty {
                    return Err(ApiError::bad_request(format!(
                        "The {name} parameter is not supported by this server yet."
                    )));
                }
            }
            "publicKey" | "signature" | "expire" | "token" => {
                return Err(ApiError::bad_request(
                    "Your request contains both signature and basic auth parameter. Use only one method, you might be exposing your private API key.",
                ));
            }
            // Unknown fields are ignored, as ImageKit does, so newer SDKs keep working.
            _ => {}
        }
    }
    if !has_file {
        return Err(crate::app::AppError::MissingFile.into());
    }
    let file_name =
        file_name.ok_or_else(|| ApiError::bad_request("Missing fileName parameter."))?;
    let request = UploadRequest {
        file_name,
        folder,
        use_unique_file_name: use_unique,
        overwrite_file,
        attributes,
        custom_metadata,
    };
    let record = state.app.upload(principal, body, request).await?;
    Ok(Json(upload_json(&record, &state.urls, response_fields)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_chunks(text: &str, size: usize) -> Vec<u8> {
        let mut d = Base64Stream::new();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(size) {
            out.extend(d.push(chunk).unwrap());
        }
        out.extend(d.finish().unwrap());
        out
    }

    #[test]
    fn base64_decodes_across_chunk_boundaries() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
        for size in [1, 3, 4, 5, 7, 64, 1000, 5000] {
            assert_eq!(decode_in_chunks(&encoded, size), data, "chunk size {size}");
        }
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(decode_in_chunks(&wrapped, 13), data);
        let unpadded = encoded.trim_end_matches('=');
        assert_eq!(decode_in_chunks(unpadded, 9), data);
    }

    #[test]
    fn base64_rejects_garbage() {
        let mut d = Base64Stream::new();
        assert!(d.push(b"not base64 at all!!").is_err() || d.finish().is_err());
    }
}
