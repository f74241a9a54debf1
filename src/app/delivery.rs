//! Serving originals by URL: which file a delivery path names, and whether the request may
//! have it.

use super::{App, AppError};
use crate::blobs::ByteStream;
use crate::model::path::split_file_path;
use crate::model::signature::verify_url;
use crate::model::{AssetId, FileRecord, Timestamp};

impl App {
    /// `relative_path` is the raw request path after the URL endpoint's `/`, and `raw_query`
    /// the raw query: signatures are checked over the bytes exactly as sent.
    pub async fn resolve_delivery(
        &self,
        relative_path: &str,
        raw_query: Option<&str>,
    ) -> Result<FileRecord, AppError> {
        let decoded = percent_encoding::percent_decode_str(relative_path)
            .decode_utf8()
            .map_err(|_| AppError::FileNotFound)?;
        if decoded.starts_with("tr:") || has_param(raw_query, "tr") {
            return Err(AppError::NotSupported(
                "URL transformations are not supported by this server yet.".into(),
            ));
        }
        let (folder, name) =
            split_file_path(&format!("/{decoded}")).ok_or(AppError::FileNotFound)?;
        let current = self
            .store
            .find_file(&folder, &name)
            .await?
            .ok_or(AppError::FileNotFound)?;
        // `?ik-obj-version=<versionId>` (the URL a listed file version carries) names an
        // older version of the file at this path.
        let file = match param(raw_query, VERSION_PARAM) {
            None => current,
            Some(version) => {
                let version = AssetId::parse(&version).ok_or(AppError::FileNotFound)?;
                self.store
                    .get_version(&current.id, &version)
                    .await?
                    .ok_or(AppError::FileNotFound)?
            }
        };
        if !file.version.attributes.is_published {
            // Drafts are visible in the library only, never at their public URL.
            return Err(AppError::FileNotFound);
        }
        if file.version.attributes.is_private {
            verify_url(
                &self.settings.private_key,
                relative_path,
                raw_query,
                Timestamp::now().unix_seconds(),
            )?;
        }
        Ok(file)
    }

    pub async fn read_blob(
        &self,
        hash: &str,
        offset: u64,
        len: u64,
    ) -> Result<ByteStream, AppError> {
        Ok(self.blobs.read(hash, offset, len).await?)
    }
}

/// The query parameter that selects a file version at delivery (ImageKit's name).
pub const VERSION_PARAM: &str = "ik-obj-version";

fn has_param(raw_query: Option<&str>, name: &str) -> bool {
    raw_query
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

fn param(raw_query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
