//! Derived images: a URL transformation of a stored image, rendered once (`media::render`),
//! kept as a blob of its own and found again by (source blob, canonical transformation,
//! output format) — so two spellings of a transformation share one entry, and every node of a
//! scale-out setup shares the cache through the blob store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{App, AppError};
use crate::blobs::spool::SpoolFile;
use crate::media::render::{RenderError, RenderOptions, render};
use crate::media::vips::Encoding;
use crate::model::transform::{OutputFormat, Transformation};
use crate::model::{FileKind, FileRecord, Timestamp};
use crate::store::DerivedImage;

/// Formats libvips reads that Kura transforms.
pub const TRANSFORMABLE: &[&str] = &[
    "jpg", "png", "webp", "gif", "avif", "heic", "heif", "tiff", "bmp",
];
/// The quality of lossy encodings when a transformation names none (ImageKit's default).
const DEFAULT_QUALITY: u8 = 80;
/// A cache hit refreshes its last use at most this often: one write an hour, not per hit.
const TOUCH_EVERY: Duration = Duration::from_secs(3600);
/// The named transformation of file objects' `thumbnail` URLs (ImageKit's media library's);
/// every library has it (migration 9), and it cannot be deleted or renamed.
pub const THUMBNAIL: &str = "ik_ml_thumbnail";

/// What a transformation URL is served from.
pub enum Delivered {
    /// `orig-true`: the original bytes.
    Original,
    Derived {
        image: DerivedImage,
        /// The output format was chosen by the request's `Accept` (`f-auto`).
        varies_by_accept: bool,
        /// Found in the cache, not rendered for this request.
        hit: bool,
    },
}

/// The renderings in progress on this node, each behind its own lock.
#[derive(Default)]
pub struct InFlight(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl InFlight {
    fn key(blob: &str, transform: &str) -> String {
        format!("{blob}|{transform}")
    }

    /// The lock of this rendering, shared with every request that asks for it meanwhile.
    fn lock_for(&self, blob: &str, transform: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(Self::key(blob, transform)).or_default().clone()
    }

    /// Gives `lock` back; the entry goes when nobody else holds it.
    fn release(&self, blob: &str, transform: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let key = Self::key(blob, transform);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Two references: the map's and `lock`.
        if map
            .get(&key)
            .is_some_and(|entry| Arc::strong_count(entry) == 2)
        {
            map.remove(&key);
        }
        drop(lock);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// An encoding and how it is named.
#[derive(Debug, Clone, Copy)]
struct Output {
    encoding: Encoding,
    extension: &'static str,
    mime: &'static str,
}

impl App {
    /// The rendering of `text` (a `tr` value) for `file`, from the cache or rendered now.
    /// `accept` is the request's Accept header, for `f-auto`.
    pub async fn derived_image(
        &self,
        file: &FileRecord,
        text: &str,
        accept: Option<&str>,
    ) -> Result<Delivered, AppError> {
        let transformation = self.expand_named(Transformation::parse(text)?).await?;
        if transformation.wants_original() {
            return Ok(Delivered::Original);
        }
        let media = &file.version.media;
        if media.kind != FileKind::Image || !TRANSFORMABLE.contains(&media.format.as_str()) {
            return Err(AppError::Unprocessable(format!(
                "Transformations apply to images ({}); this file is {}.",
                TRANSFORMABLE.join(", "),
                if media.format.is_empty() {
                    "of an unknown type"
                } else {
                    &media.format
                }
            )));
        }
        let requested = transformation.format();
        let output = output(requested, &media.format, accept, &transformation);
        let key = format!("{}|{}", transformation.canonical(), output.extension);
        let now = Timestamp::now();
        let touch_before = Timestamp::from_millis(now.millis() - TOUCH_EVERY.as_millis() as i64);
        let varies_by_accept = requested == Some(OutputFormat::Auto);
        if let Some(image) = self
            .store
            .find_derived(&file.version.blob, &key, now, touch_before)
            .await?
        {
            return Ok(Delivered::Derived {
                image,
                varies_by_accept,
                hit: true,
            });
        }
        // One render per key on this node: later requests wait, then find it cached.
        let lock = self.renders_in_flight.lock_for(&file.version.blob, &key);
        let guard = lock.lock().await;
        let cached = self
            .store
            .find_derived(&file.version.blob, &key, now, touch_before)
            .await;
        let result = match cached {
            Ok(Some(image)) => Ok((image, true)),
            Ok(None) => self
                .render_and_store(file, &transformation, output, key.clone())
                .await
                .map(|image| (image, false)),
            Err(e) => Err(e.into()),
        };
        drop(guard);
        self.renders_in_flight
            .release(&file.version.blob, &key, lock);
        let (image, hit) = result?;
        Ok(Delivered::Derived {
            image,
            varies_by_accept,
            hit,
        })
    }

    async fn render_and_store(
        &self,
        file: &FileRecord,
        transformation: &Transformation,
        output: Output,
        key: String,
    ) -> Result<DerivedImage, AppError> {
        // Waits for a slot: at most `render_slots` decodes in memory at once.
        let _slot = self
            .render_slots
            .acquire()
            .await
            .map_err(|_| AppError::Unprocessable("The server is shutting down.".into()))?;
        let mut source = SpoolFile::create(&self.settings.spool_dir).await?;
        let mut bytes = self
            .blobs
            .read(&file.version.blob, 0, file.version.size)
            .await?;
        while let Some(chunk) = bytes.next().await {
            source.write(&chunk?).await?;
        }
        source.finish().await?;
        let options = RenderOptions {
            max_pixels: self.settings.images.max_pixels,
            custom_area: file
                .version
                .attributes
                .custom_coordinates
                .as_deref()
                .and_then(parse_area),
            encoding: output.encoding,
            keep_metadata: transformation
                .steps
                .iter()
                .rev()
                .find_map(|s| s.keep_metadata)
                .unwrap_or(false),
        };
        let path = source.path().to_owned();
        let plan = transformation.clone();
        let rendered = tokio::task::spawn_blocking(move || render(&path, &plan, &options))
            .await
            .map_err(|e| std::io::Error::other(format!("render task failed: {e}")))?
            .map_err(|e| match e {
                RenderError::Engine(e) => {
                    tracing::warn!(error = %e, "a transformation failed");
                    AppError::Unprocessable(format!("The image could not be transformed: {e}."))
                }
                other => AppError::Unprocessable(format!("{}.", capitalised(&other.to_string()))),
            })?;
        drop(source);

        let hash = blake3::hash(&rendered.bytes).to_hex().to_string();
        let size = rendered.bytes.len() as u64;
        let mut spooled = SpoolFile::create(&self.settings.spool_dir).await?;
        spooled.write(&rendered.bytes).await?;
        spooled.finish().await?;
        // Claimed first: the sweeper leaves a blob claimed within the hour alone.
        self.store.claim_blob(&hash, size).await?;
        self.blobs.put(&hash, spooled.path()).await?;
        let now = Timestamp::now();
        let image = DerivedImage {
            source_blob: file.version.blob.clone(),
            transform: key,
            blob: hash,
            size,
            mime: output.mime.to_owned(),
            created_at: now,
            used_at: now,
        };
        self.store.record_derived(&image).await?;
        Ok(image)
    }

    /// Drops the least recently used derived images beyond the configured size, and frees
    /// their bytes. Returns how many were dropped.
    pub async fn evict_derived(&self) -> Result<usize, AppError> {
        let blobs = self
            .store
            .evict_derived(self.settings.images.cache_bytes)
            .await?;
        self.release_blobs(&blobs).await;
        Ok(blobs.len())
    }

    /// Drops the derived images of these source blobs and frees their bytes.
    pub(crate) async fn forget_derived(&self, sources: &[String]) -> Result<usize, AppError> {
        let blobs = self.store.forget_derived(sources).await?;
        self.release_blobs(&blobs).await;
        Ok(blobs.len())
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `customCoordinates` (`x,y,width,height`).
fn parse_area(text: &str) -> Option<(u32, u32, u32, u32)> {
    let mut parts = text.split(',').map(|p| p.trim().parse::<u32>().ok());
    let area = (
        parts.next()??,
        parts.next()??,
        parts.next()??,
        parts.next()??,
    );
    (area.2 > 0 && area.3 > 0).then_some(area)
}

/// Whether the Accept header takes `mime` (explicitly; `*/*` does not count).
fn accepts(accept: Option<&str>, mime: &str) -> bool {
    accept.unwrap_or("").split(',').any(|part| {
        let mut fields = part.split(';');
        let kind = fields.next().unwrap_or("").trim();
        let refused = fields.any(|f| {
            f.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        kind.eq_ignore_ascii_case(mime) && !refused
    })
}

/// The encoding of a rendering: the format asked for (`f-auto`: AVIF, then WebP, by
/// `Accept`), else the original's where browsers show it, else JPEG.
fn output(
    requested: Option<OutputFormat>,
    source_format: &str,
    accept: Option<&str>,
    transformation: &Transformation,
) -> Output {
    let steps = || transformation.steps.iter().rev();
    let quality = steps().find_map(|s| s.quality).unwrap_or(DEFAULT_QUALITY);
    let lossless = steps().find_map(|s| s.lossless).unwrap_or(false);
    let progressive = steps().find_map(|s| s.progressive).unwrap_or(false);
    let original = match source_format {
        "png" => OutputFormat::Png,
        "webp" => OutputFormat::Webp,
        "gif" => OutputFormat::Gif,
        "avif" => OutputFormat::Avif,
        _ => OutputFormat::Jpg,
    };
    let format = match requested {
        None | Some(OutputFormat::Orig) => original,
        Some(OutputFormat::Auto) if accepts(accept, "image/avif") => OutputFormat::Avif,
        Some(OutputFormat::Auto) if accepts(accept, "image/webp") => OutputFormat::Webp,
        Some(OutputFormat::Auto) => original,
        Some(f) => f,
    };
    match format {
        OutputFormat::Png => Output {
            encoding: Encoding::Png { progressive },
            extension: "png",
            mime: "image/png",
        },
        OutputFormat::Webp => Output {
            encoding: Encoding::Webp { quality, lossless },
            extension: "webp",
            mime: "image/webp",
        },
        OutputFormat::Avif => Output {
            encoding: Encoding::Avif { quality, lossless },
            extension: "avif",
            mime: "image/avif",
        },
        OutputFormat::Gif => Output {
            encoding: Encoding::Gif,
            extension: "gif",
            mime: "image/gif",
        },
        _ => Output {
            encoding: Encoding::Jpeg {
                quality,
                progressive,
            },
            extension: "jpg",
            mime: "image/jpeg",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_auto_follows_accept() {
        let t = Transformation::parse("w-10,f-auto").unwrap();
        let pick =
            |accept: Option<&str>| output(Some(OutputFormat::Auto), "jpg", accept, &t).extension;
        assert_eq!(pick(Some("image/avif,image/webp,*/*")), "avif");
        assert_eq!(pick(Some("image/webp,*/*;q=0.8")), "webp");
        assert_eq!(pick(Some("image/avif;q=0,image/webp")), "webp");
        assert_eq!(pick(Some("*/*")), "jpg");
        assert_eq!(pick(None), "jpg");
        let png = output(Some(OutputFormat::Auto), "png", Some("text/html"), &t);
        assert_eq!(png.extension, "png");
        assert_eq!(output(None, "heic", None, &t).extension, "jpg");
        assert_eq!(output(None, "tiff", None, &t).mime, "image/jpeg");
    }

    #[tokio::test]
    async fn in_flight_locks_are_shared_then_dropped() {
        let flights = InFlight::default();
        let a = flights.lock_for("b", "t");
        let b = flights.lock_for("b", "t");
        assert!(Arc::ptr_eq(&a, &b));
        let guard = a.lock().await;
        assert!(b.try_lock().is_err(), "the second request waits");
        drop(guard);
        flights.release("b", "t", a);
        assert_eq!(flights.len(), 1, "still held by the second request");
        flights.release("b", "t", b);
        assert_eq!(flights.len(), 0);
    }

    #[test]
    fn custom_coordinates_are_an_area() {
        assert_eq!(parse_area("10,20,30,40"), Some((10, 20, 30, 40)));
        assert_eq!(parse_area("10,20,0,40"), None);
        assert_eq!(parse_area("10,20,30"), None);
        assert_eq!(parse_area("a,b,c,d"), None);
    }
}
