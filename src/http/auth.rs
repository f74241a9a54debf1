//! Turning a request's credentials into a `Principal`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use crate::model::Principal;

/// An authenticated caller. Handlers that take one cannot run unauthenticated.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(ApiError::unauthenticated)?;
        let key = basic_user(header.as_bytes()).ok_or_else(ApiError::unauthenticated)?;
        let expected = state.app.settings().private_key.as_bytes();
        if bool::from(key.as_slice().ct_eq(expected)) {
            Ok(Caller(Principal::AccountKey))
        } else {
            Err(ApiError::wrong_key())
        }
    }
}

/// The user name of a Basic credential. The SDKs send `base64(key:password)` with a password
/// the server must ignore; ImageKit's spec also allows the bare key after `Basic `.
fn basic_user(header: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(header).ok()?;
    let (scheme, credential) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let credential = credential.trim();
    let user = match base64::engine::general_purpose::STANDARD.decode(credential) {
        Ok(decoded) if decoded.contains(&b':') => {
            let colon = decoded.iter().position(|b| *b == b':')?;
            decoded[..colon].to_vec()
        }
        _ => credential.as_bytes().to_vec(),
    };
    (!user.is_empty()).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_name_and_ignores_the_password() {
        let sdk = base64::engine::general_purpose::STANDARD.encode("private_k:do_not_set");
        assert_eq!(
            basic_user(format!("Basic {sdk}").as_bytes()).unwrap(),
            b"private_k"
        );
        let node = base64::engine::general_purpose::STANDARD.encode("private_k:");
        assert_eq!(
            basic_user(format!("basic {node}").as_bytes()).unwrap(),
            b"private_k"
        );
        assert_eq!(basic_user(b"Basic private_k").unwrap(), b"private_k");
        assert!(basic_user(b"Bearer private_k").is_none());
        let empty = base64::engine::general_purpose::STANDARD.encode(":pw");
        assert!(basic_user(format!("Basic {empty}").as_bytes()).is_none());
    }
}
