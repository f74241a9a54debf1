//! Delivering originals at `{urlEndpoint}{filePath}`: GET and HEAD with validators, ranges
//! and the headers that keep uploaded content from running script on this origin.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

use super::AppState;
use super::error::ApiError;
use super::wire::URL_ENDPOINT_PATH;
use crate::app::derived::Delivered;
use crate::model::FileRecord;

pub async fn deliver(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let prefix_len = URL_ENDPOINT_PATH.len() + 1;
    let relative = uri.path().get(prefix_len..).unwrap_or("");
    let target = state.app.resolve_delivery(relative, uri.query()).await?;
    let file = target.file;
    // What is sent: the original's bytes, or a derived image's.
    let mut served = Served {
        blob: file.version.blob.clone(),
        size: file.version.size,
        mime: file.version.media.mime.clone(),
        modified: file.version.created_at.to_system_time(),
        varies_by_accept: false,
        cache: None,
    };
    if let Some(text) = &target.transformation {
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
        if let Delivered::Derived {
            image,
            varies_by_accept,
            hit,
        } = state.app.derived_image(&file, text, accept).await?
        {
            served = Served {
                blob: image.blob,
                size: image.size,
                mime: image.mime,
                modified: served.modified,
                varies_by_accept,
                cache: Some(if hit { "HIT" } else { "MISS" }),
            };
        }
    }
    let size = served.size;
    let etag = format!("\"{}\"", served.blob);
    let modified = served.modified;

    let mut builder = Response::builder()
        .header(ETAG, &etag)
        .header(LAST_MODIFIED, httpdate::fmt_http_date(modified))
        .header(ACCEPT_RANGES, "bytes")
        .header(CACHE_CONTROL, cache_control(&file))
        .header("x-content-type-options", "nosniff");
    if served.varies_by_accept {
        builder = builder.header(VARY, "Accept");
    }
    if let Some(cache) = served.cache {
        // Whether the derived image came from the cache (`x-cache`, as CDNs say it).
        builder = builder.header("x-cache", cache);
    }
    if is_scriptable(&served.mime) {
        builder = builder.header("content-security-policy", "sandbox");
    }
    if wants_attachment(uri.query()) {
        builder = builder.header(
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", file.name),
        );
    }

    if not_modified(&headers, &etag, modified) {
        return Ok(builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default());
    }
    let builder = builder.header(CONTENT_TYPE, content_type(&served.mime));

    let range = headers
        .get(RANGE)
        .filter(|_| if_range_matches(&headers, &etag, modified))
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (status, start, len, builder) = match range {
        Some(RangeRequest::Satisfiable(start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            start,
            end - start + 1,
            builder.header(CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
        ),
        Some(RangeRequest::Unsatisfiable) => {
            return Ok(builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .unwrap_or_default());
        }
        Some(RangeRequest::Ignored) | None => (StatusCode::OK, 0, size, builder),
    };
    let builder = builder.status(status).header(CONTENT_LENGTH, len);
    let body = if method == Method::HEAD || len == 0 {
        Body::empty()
    } else {
        Body::from_stream(state.app.read_blob(&served.blob, start, len).await?)
    };
    Ok(builder.body(body).unwrap_or_default())
}

/// The bytes a delivery sends and how they are described.
struct Served {
    blob: String,
    size: u64,
    mime: String,
    modified: std::time::SystemTime,
    varies_by_accept: bool,
    /// For derived images: `HIT` or `MISS`.
    cache: Option<&'static str>,
}

fn cache_control(file: &FileRecord) -> &'static str {
    if file.version.attributes.is_private {
        "private, max-age=3600"
    } else {
        // Short: overwriting a file keeps its URL, so caches must come back and revalidate.
        "public, max-age=300"
    }
}

/// Types a browser may execute when opened directly: they get a sandboxing CSP.
fn is_scriptable(mime: &str) -> bool {
    ["svg", "html", "xml", "javascript", "ecmascript"]
        .iter()
        .any(|t| mime.contains(t))
}

fn content_type(mime: &str) -> HeaderValue {
    HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn wants_attachment(query: Option<&str>) -> bool {
    query
        .unwrap_or("")
        .split('&')
        .any(|p| p == "ik-attachment=true")
}

fn etag_listed(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn not_modified(headers: &HeaderMap, etag: &str, modified: std::time::SystemTime) -> bool {
    if let Some(list) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return etag_listed(list, etag);
    }
    headers
        .get(IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| truncate_to_seconds(modified) <= since)
}

fn if_range_matches(headers: &HeaderMap, etag: &str, modified: std::time::SystemTime) -> bool {
    match headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) if v.starts_with('"') => v == etag,
        Some(v) => {
            httpdate::parse_http_date(v).is_ok_and(|date| truncate_to_seconds(modified) <= date)
        }
    }
}

fn truncate_to_seconds(t: std::time::SystemTime) -> std::time::SystemTime {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Inclusive byte positions.
    Satisfiable(u64, u64),
    Unsatisfiable,
    /// Syntax we do not serve partially (several ranges, other units): send it all.
    Ignored,
}

fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignored;
    };
    if spec.contains(',') {
        return RangeRequest::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = if first.is_empty() {
        match last.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size.saturating_sub(1))),
            Err(_) => None,
        }
    } else {
        match (first.parse::<u64>(), last) {
            (Ok(start), "") => Some((start, size.saturating_sub(1))),
            (Ok(start), end) => match end.parse::<u64>() {
                Ok(end) if end >= start => Some((start, end.min(size.saturating_sub(1)))),
                _ => None,
            },
            _ => None,
        }
    };
    match parsed {
        None => RangeRequest::Ignored,
        Some((start, _)) if size == 0 || start >= size => RangeRequest::Unsatisfiable,
        Some((start, end)) => RangeRequest::Satisfiable(start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_per_rfc_9110() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Satisfiable(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-200", 100), Satisfiable(0, 99));
        assert_eq!(parse_range("bytes=50-500", 100), Satisfiable(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=9-0", 100), Ignored);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignored);
        assert_eq!(parse_range("items=0-1", 100), Ignored);
    }

    #[test]
    fn etag_lists_match_weak_and_star() {
        assert!(etag_listed("\"a\", W/\"b\"", "\"b\""));
        assert!(etag_listed("*", "\"x\""));
        assert!(!etag_listed("\"a\"", "\"b\""));
    }
}
