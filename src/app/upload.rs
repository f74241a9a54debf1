//! Uploading: bytes into the spool, then probed, stored durably, and recorded.

use std::time::Duration;

use futures_util::StreamExt;

use super::{App, AppError};
use crate::blobs::spool::SpoolFile;
use crate::model::id::random_alphanumeric;
use crate::model::{
    FileKind, FileName, FileRecord, FolderPath, MediaInfo, Principal, UploadAttributes,
};
use crate::store::{NewUpload, StoreError};

/// Longest combined length of a file's tags (ImageKit's limit).
pub const MAX_TAGS_LENGTH: usize = 500;
/// Longest description accepted.
pub const MAX_DESCRIPTION_LENGTH: usize = 5000;

/// An upload's bytes on their way into the spool; refuses to grow past the size limit.
pub struct UploadBody {
    pub(crate) spool: SpoolFile,
    limit: u64,
}

impl UploadBody {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), AppError> {
        if self.spool.len() + chunk.len() as u64 > self.limit {
            return Err(AppError::TooLarge { limit: self.limit });
        }
        self.spool.write(chunk).await?;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.spool.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spool.is_empty()
    }
}

/// What a client asked for, before validation.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub file_name: String,
    pub folder: Option<String>,
    pub use_unique_file_name: bool,
    pub overwrite_file: bool,
    pub attributes: UploadAttributes,
    /// The request's `customMetadata` object, unchecked.
    pub custom_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Validates tags as ImageKit does: no `%`, at most 500 characters in all. Empty entries
/// (from `a,,b` or a trailing comma) are dropped.
pub fn validate_tags(tags: Vec<String>) -> Result<Vec<String>, AppError> {
    let tags: Vec<String> = tags
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.iter().any(|t| t.contains('%')) {
        return Err(AppError::InvalidParameter(
            "Your request contains invalid value for tags parameter. The '%' character is not allowed."
                .into(),
        ));
    }
    if tags.iter().map(|t| t.chars().count()).sum::<usize>() > MAX_TAGS_LENGTH {
        return Err(AppError::InvalidParameter(format!(
            "Your request contains invalid value for tags parameter. Combined length of all tags should be less than or equal to {MAX_TAGS_LENGTH}."
        )));
    }
    Ok(tags)
}

/// `x,y,width,height` with non-negative integers.
pub fn validate_custom_coordinates(text: &str) -> Result<String, AppError> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != 4 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
        return Err(AppError::InvalidParameter(
            "Your request contains invalid value for customCoordinates parameter. Use the format x,y,width,height with whole numbers."
                .into(),
        ));
    }
    Ok(parts.join(","))
}

pub fn validate_description(text: &str) -> Result<(), AppError> {
    if text.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(AppError::InvalidParameter(format!(
            "description should be at most {MAX_DESCRIPTION_LENGTH} characters."
        )));
    }
    Ok(())
}

impl App {
    /// A new, empty upload body in the spool.
    pub async fn start_upload(&self, _actor: &Principal) -> Result<UploadBody, AppError> {
        Ok(UploadBody {
            spool: SpoolFile::create(&self.settings.spool_dir).await?,
            limit: self.settings.max_upload_size,
        })
    }

    /// Downloads `url` into `body`, refusing addresses the operator has not allowed.
    pub async fn fetch_into(&self, url: &str, body: &mut UploadBody) -> Result<(), AppError> {
        let response = self.fetcher.open(url).await?;
        if let Some(len) = response.content_length()
            && len > body.limit
        {
            return Err(AppError::TooLarge { limit: body.limit });
        }
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| AppError::Fetch(crate::remote::FetchError::Network(e.to_string())))?;
            body.write(&chunk).await?;
        }
        Ok(())
    }

    pub async fn upload(
        &self,
        actor: &Principal,
        mut body: UploadBody,
        mut request: UploadRequest,
    ) -> Result<FileRecord, AppError> {
        request.attributes.custom_metadata_given = request.custom_metadata.is_some();
        request.attributes.custom_metadata = self
            .metadata_write(request.custom_metadata.as_ref())
            .await?;
        let requested_name = FileName::sanitise(&request.file_name)?;
        let folder = match &request.folder {
            Some(folder) => FolderPath::parse_lenient(folder)?,
            None => FolderPath::root(),
        };
        if let Some(c) = &request.attributes.custom_coordinates {
            validate_custom_coordinates(c)?;
        }
        if let Some(d) = &request.attributes.description {
            validate_description(d)?;
        }
        if body.is_empty() {
            return Err(AppError::MissingFile);
        }
        let hash = body.spool.finish().await?;
        let size = body.len();
        let media = read_media(body.spool.path()).await?;

        if !request.use_unique_file_name && !request.overwrite_file {
            // Fail before touching storage; the transaction re-checks atomically.
            if self
                .store
                .find_file(&folder, &requested_name)
                .await?
                .is_some()
            {
                return Err(AppError::FileExists);
            }
        }
        self.store_blob(&hash, size, &body).await?;

        let mut attempts = 0;
        loop {
            let name = if request.use_unique_file_name {
                requested_name.with_unique_suffix(&random_alphanumeric(9))?
            } else {
                requested_name.clone()
            };
            let upload = NewUpload {
                folder: folder.clone(),
                name,
                replace_existing: !request.use_unique_file_name && request.overwrite_file,
                blob: hash.clone(),
                size,
                media: media.clone(),
                attributes: request.attributes.clone(),
            };
            match self.store.commit_upload(upload, actor).await {
                Ok(record) => return Ok(record),
                // A random suffix collided: try another one.
                Err(StoreError::NameTaken) if request.use_unique_file_name && attempts < 5 => {}
                // The sweeper took the blob between our claim and commit: store it again.
                Err(StoreError::BlobBusy) if attempts < 5 => {
                    self.store_blob(&hash, size, &body).await?;
                }
                Err(e) => return Err(e.into()),
            }
            attempts += 1;
        }
    }

    /// Claims the blob (waiting out a sweeper that is deleting the same bytes), then makes
    /// the bytes durable. Claim first: the sweeper never deletes a freshly claimed blob.
    async fn store_blob(&self, hash: &str, size: u64, body: &UploadBody) -> Result<(), AppError> {
        let mut waited = 0;
        loop {
            match self.store.claim_blob(hash, size).await {
                Ok(()) => break,
                Err(StoreError::BlobBusy) if waited < 300 => {
                    waited += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.blobs.put(hash, body.spool.path()).await?;
        Ok(())
    }
}

/// Most pixels of an image Kura decodes for its perceptual hash: a header may declare more
/// than the file holds (a decompression bomb), and the probe reads only headers.
const MAX_HASHED_PIXELS: u64 = 100_000_000;
/// Raster formats libvips decodes and a perceptual hash means something for.
const HASHED_FORMATS: &[&str] = &[
    "jpg", "png", "webp", "gif", "tiff", "heic", "heif", "avif", "bmp",
];

/// The image's perceptual hash (`media::phash`), when it is a raster image of a sane size;
/// an image that cannot be decoded gets none, and a warning.
fn perceptual_hash(probe: &crate::media::probe::Probe, path: &std::path::Path) -> Option<String> {
    let (w, h) = probe.dimensions?;
    if !probe.is_image()
        || !HASHED_FORMATS.contains(&probe.format)
        || u64::from(w) * u64::from(h) > MAX_HASHED_PIXELS
    {
        return None;
    }
    match crate::media::phash::of_file(path) {
        Ok(hash) => Some(hash),
        Err(e) => {
            tracing::warn!(error = %e, "no perceptual hash");
            None
        }
    }
}

/// What the bytes are (`media::probe`) and the metadata they carry (`media::metadata`), read
/// on a blocking thread. Broken metadata never fails an upload: it is read as far as it goes,
/// and what was wrong is logged.
pub(crate) async fn read_media(path: &std::path::Path) -> Result<MediaInfo, AppError> {
    let path = path.to_owned();
    let (probe, metadata) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, &mut file);
        let probe = crate::media::probe::probe(&mut reader, len)?;
        let mut metadata = crate::media::metadata::extract(&mut reader, len);
        if let Some(hash) = perceptual_hash(&probe, &path) {
            metadata.technical.insert("pHash".into(), hash.into());
        }
        Ok((probe, metadata))
    })
    .await
    .map_err(|e| std::io::Error::other(format!("probe task failed: {e}")))??;
    if !metadata.warnings.is_empty() {
        tracing::warn!(warnings = ?metadata.warnings, "embedded metadata read partially");
    }
    let kind = if probe.is_image() {
        FileKind::Image
    } else {
        FileKind::NonImage
    };
    Ok(MediaInfo {
        mime: probe.mime.to_owned(),
        format: probe.format.to_owned(),
        kind,
        width: probe.dimensions.or(metadata.video_size).map(|d| d.0),
        height: probe.dimensions.or(metadata.video_size).map(|d| d.1),
        has_alpha: probe.has_alpha,
        embedded: metadata.embedded,
        technical: Some(serde_json::Value::Object(metadata.technical).to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_limited() {
        assert_eq!(
            validate_tags(vec![" a".into(), "".into(), "b ".into()]).unwrap(),
            ["a", "b"]
        );
        assert!(validate_tags(vec!["50%".into()]).is_err());
        assert!(validate_tags(vec!["x".repeat(501)]).is_err());
        assert!(validate_tags(vec!["x".repeat(250), "y".repeat(250)]).is_ok());
    }

    #[test]
    fn coordinates_need_four_whole_numbers() {
        assert_eq!(
            validate_custom_coordinates("10, 10,100,100").unwrap(),
            "10,10,100,100"
        );
        assert!(validate_custom_coordinates("10,10,100").is_err());
        assert!(validate_custom_coordinates("a,b,c,d").is_err());
        assert!(validate_custom_coordinates("-1,0,1,1").is_err());
    }
}
