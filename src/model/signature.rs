//! ImageKit's URL signatures (`ik-s`, `ik-t`) and the HMAC they are built from.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The expiry the SDKs sign with when a URL never expires.
pub const NEVER_EXPIRES: i64 = 9_999_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("This URL requires a signature.")]
    Missing,
    #[error("The signature in this URL is malformed.")]
    Malformed,
    #[error("The signature in this URL is invalid.")]
    Invalid,
    #[error("This signed URL has expired.")]
    Expired,
}

/// Lower-case hex HMAC-SHA1, as every ImageKit signature is written.
pub fn hmac_sha1_hex(key: &str, message: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a delivery URL's signature.
///
/// `relative_path` is the raw (still percent-encoded) path after the URL endpoint and its
/// slash, e.g. `tr:w-300/a.jpg`; `raw_query` is the raw query string without `?`. The SDKs sign
/// `relative path [+ "?" + other params] + expiry`, over the bytes exactly as emitted, so
/// nothing here decodes: the Node SDK signs `%2C` where Python signs `,`.
pub fn verify_url(
    private_key: &str,
    relative_path: &str,
    raw_query: Option<&str>,
    now_unix_seconds: i64,
) -> Result<(), SignatureError> {
    let mut kept = Vec::new();
    let mut signature = None;
    let mut expiry = None;
    for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("ik-s", value)) => signature = Some(value),
            Some(("ik-t", value)) => expiry = Some(value),
            _ => kept.push(pair),
        }
    }
    let signature = signature.ok_or(SignatureError::Missing)?;
    let expiry_value = match expiry {
        Some(text) => text.parse::<i64>().map_err(|_| SignatureError::Malformed)?,
        None => NEVER_EXPIRES,
    };
    let mut string_to_sign = relative_path.to_owned();
    if !kept.is_empty() {
        string_to_sign.push('?');
        string_to_sign.push_str(&kept.join("&"));
    }
    string_to_sign.push_str(&expiry_value.to_string());
    let expected = hmac_sha1_hex(private_key, &string_to_sign);
    let matches: bool = expected
        .as_bytes()
        .ct_eq(signature.to_ascii_lowercase().as_bytes())
        .into();
    if !matches {
        return Err(SignatureError::Invalid);
    }
    if expiry_value < now_unix_seconds {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "private_test_key";
    const NOW: i64 = 1_700_000_000;

    // Vectors captured from both SDKs (api-reference §7.3).
    #[test]
    fn sdk_vectors_verify() {
        verify_url(
            KEY,
            "tr:w-300,h-200/a.jpg",
            Some("ik-s=062c3687bb11e0d504849e0be34fc2e3e42392ec"),
            NOW,
        )
        .unwrap();
        verify_url(
            KEY,
            "a.jpg",
            Some("tr=w-300%2Ch-200&ik-s=863d397b4537980a6342810237eb104f0f13f30d"),
            NOW,
        )
        .unwrap();
        verify_url(
            KEY,
            "a.jpg",
            Some("tr=w-300,h-200&ik-s=08a812b02bc3a54fb4c73c9f14caa7efab629a88"),
            NOW,
        )
        .unwrap();
        verify_url(
            KEY,
            "tr:w-300,h-200/a.jpg",
            Some("v=1&ik-s=bc750b3b791e23a18bfa17caf86d750cb5e80b1c"),
            NOW,
        )
        .unwrap();
        verify_url(
            KEY,
            "tr:w-300,h-200/a.jpg",
            Some("ik-t=1800000000&ik-s=e3a8a9807e3721d3ce0c8086bec1347dcb2eec8a"),
            NOW,
        )
        .unwrap();
    }

    #[test]
    fn upload_signature_vector() {
        assert_eq!(
            hmac_sha1_hex(KEY, "tok1700000000"),
            "0a1c6674cc5139d865b73f33d8d4079e678776c8"
        );
    }

    #[test]
    fn tampering_and_expiry_are_refused() {
        let good = "ik-t=1800000000&ik-s=e3a8a9807e3721d3ce0c8086bec1347dcb2eec8a";
        assert_eq!(
            verify_url(KEY, "tr:w-300,h-200/b.jpg", Some(good), NOW),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_url(
                KEY,
                "tr:w-300,h-200/a.jpg",
                Some("ik-t=1900000000&ik-s=e3a8a9807e3721d3ce0c8086bec1347dcb2eec8a"),
                NOW
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify_url(KEY, "tr:w-300,h-200/a.jpg", Some(good), 1_800_000_001),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify_url(KEY, "a.jpg", None, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_url(KEY, "a.jpg", Some("ik-t=soon&ik-s=00"), NOW),
            Err(SignatureError::Malformed)
        );
    }
}
