//! Serving files by URL: which file a delivery path names, which transformation it asks
//! for (`tr:…` as the path's first segment, or `?tr=…`), and whether the request may have it.

use super::{App, AppError};
use crate::blobs::ByteStream;
use crate::model::path::split_file_path;
use crate::model::signature::verify_url;
use crate::model::{AssetId, FileRecord, Timestamp};

/// What a delivery URL names.
pub struct DeliveryTarget {
    pub file: FileRecord,
    /// The transformation asked for (path steps, then query steps), percent-decoded.
    pub transformation: Option<String>,
}

impl App {
    /// `relative_path` is the raw request path after the URL endpoint's `/`, and `raw_query`
    /// the raw query: signatures are checked over the bytes exactly as sent.
    pub async fn resolve_delivery(
        &self,
        relative_path: &str,
        raw_query: Option<&str>,
    ) -> Result<DeliveryTarget, AppError> {
        let decoded = percent_encoding::percent_decode_str(relative_path)
            .decode_utf8()
            .map_err(|_| AppError::FileNotFound)?;
        // `tr:w-300,h-200/path/to/file.jpg`: the first segment (N6 and PY in path mode).
        let (path_steps, file_path) = match decoded.strip_prefix("tr:") {
            Some(rest) => {
                let (steps, path) = rest.split_once('/').ok_or(AppError::FileNotFound)?;
                (Some(steps.to_owned()), path.to_owned())
            }
            None => (None, decoded.into_owned()),
        };
        let query_steps = param(raw_query, "tr").filter(|t| !t.is_empty());
        let transformation = match (path_steps, query_steps) {
            (Some(p), Some(q)) => Some(format!("{p}:{q}")),
            (p, q) => p.or(q),
        };
        let (folder, name) =
            split_file_path(&format!("/{file_path}")).ok_or(AppError::FileNotFound)?;
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
        // Named transformations need no signature, private file or not (ImageKit's rule): the
        // account chose what they show.
        let named_only = transformation.as_deref().is_some_and(only_named);
        if file.version.attributes.is_private && !named_only {
            verify_url(
                &self.settings.private_key,
                relative_path,
                raw_query,
                Timestamp::now().unix_seconds(),
            )?;
        }
        Ok(DeliveryTarget {
            file,
            transformation,
        })
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

/// Whether a transformation is nothing but named transformations (`n-thumb:n-small`).
fn only_named(text: &str) -> bool {
    crate::model::transform::Transformation::parse(text).is_ok_and(|t| {
        t.steps.iter().all(|step| {
            step.named.is_some()
                && crate::model::transform::Step {
                    named: None,
                    ..step.clone()
                } == crate::model::transform::Step::default()
        })
    })
}

/// The query parameter that selects a file version at delivery (ImageKit's name).
pub const VERSION_PARAM: &str = "ik-obj-version";

fn param(raw_query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
