//! Metadata embedded in image files: EXIF, XMP, IPTC-IIM and ICC profiles, read from JPEG, PNG,
//! WebP, HEIF/AVIF and TIFF containers, named and valued the way `exiftool -json -G1 -n` does
//! (numeric, unconverted values), so what Kura serves matches what users check with exiftool.
//! Video and audio containers (MP4/MOV, WebM/Matroska, MP3, WAV, GIF) add their container tags
//! and a [`MediaSummary`] (duration, codecs, bit rate, size) for ImageKit's video fields.
//!
//! Only the segments, chunks, boxes and IFDs that carry metadata are read, through a budgeted
//! positional reader ([`source`]), and every count, length and string taken from the file is
//! capped before anything is allocated for it. Malformed input never fails the whole file: each
//! reader keeps what it could decode and records a warning.

mod bmff;
mod exif;
mod gif;
mod icc;
mod inflate;
mod iptc;
mod jpeg;
mod matroska;
mod media;
mod mpeg;
mod output;
mod photoshop;
mod png;
mod quicktime;
mod riff;
mod source;
mod text;
mod value;
mod xmp;

use std::collections::HashMap;
use std::io::{Read, Seek};

use serde_json::Value;

pub use media::MediaSummary;

/// Everything read from one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbeddedMetadata {
    /// In reading order; at most one tag per (group, name): a later one replaces an earlier one,
    /// as exiftool does within a group.
    pub tags: Vec<Tag>,
    /// What was truncated, malformed or skipped. Not an error: the tags are still usable.
    pub warnings: Vec<String>,
    index: HashMap<(String, String), usize>,
    /// Approximate bytes held by `tags`, checked against `MAX_TOTAL_BYTES`.
    held: usize,
    /// Filled by the video and audio readers; see [`EmbeddedMetadata::media_summary`].
    media: MediaSummary,
}

/// One tag, e.g. group "IFD0", name "Orientation", value 6.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// exiftool's family-1 group: "IFD0", "IFD1", "ExifIFD", "GPS", "InteropIFD", "IPTC",
    /// "XMP-dc", "ICC-header", "ICC_Profile", "JFIF", "PNG", "Photoshop", ...
    pub group: String,
    pub name: String,
    pub value: Value,
}

/// Far above real files (a camera JPEG has a few hundred tags, IPTC's reference image ~900).
const MAX_TAGS: usize = 8192;
const MAX_WARNINGS: usize = 64;
/// Bounds the memory of the result whatever the file holds.
const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;

/// Reads the metadata of `reader`, whose total length is `len`. Sniffs the container from its
/// first bytes; an unsupported or unrecognised file gives an empty result.
pub fn read<R: Read + Seek>(reader: &mut R, len: u64) -> EmbeddedMetadata {
    let mut out = EmbeddedMetadata::default();
    let mut src = source::Source::new(reader, len);
    let head = src.vec_at(0, 16);
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg::read(&mut src, &mut out);
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        png::read(&mut src, &mut out);
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        riff::read(&mut src, &mut out);
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        riff::read_wave(&mut src, &mut out);
    } else if matches!(
        head.get(4..8),
        Some(b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot")
    ) {
        bmff::read(&mut src, &mut out);
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        matroska::read(&mut src, &mut out);
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        gif::read(&mut src, &mut out);
    } else if head.starts_with(b"ID3") || mpeg::is_frame_header(&head) {
        mpeg::read(&mut src, &mut out);
    } else if head.starts_with(b"II*\0")
        || head.starts_with(b"MM\0*")
        || head.starts_with(b"II+\0")
        || head.starts_with(b"MM\0+")
    {
        let size = src.len();
        let mut region = source::Region {
            src: &mut src,
            start: 0,
            len: size,
        };
        exif::read(&mut region, 0, &mut out);
    }
    if let Some(why) = src.exhausted.take() {
        out.warn(why);
    }
    if !out.media.is_empty() {
        out.media.finish(src.len());
    }
    out
}

impl EmbeddedMetadata {
    /// ImageKit's `exif` object of `GET /v1/files/{id}/metadata`: `image` (IFD0), `thumbnail`
    /// (IFD1), `exif` (ExifIFD), `gps`, `interoperability` and an empty `makernote`.
    pub fn exif_sections(&self) -> serde_json::Map<String, Value> {
        output::exif_sections(self)
    }

    /// ImageKit's flat `embeddedMetadata`: one key per tag name, EXIF winning over XMP over IPTC
    /// over the rest when several groups carry the same name.
    pub fn flat(&self) -> serde_json::Map<String, Value> {
        output::flat(self)
    }

    /// Duration, codecs, bit rate and size of a video or audio file (MP4/MOV, WebM/Matroska,
    /// MP3, WAV, animated GIF), for ImageKit's `duration`, `videoCodec`, `audioCodec`,
    /// `bitRate`, `width` and `height`; None for still images and unreadable files.
    pub fn media_summary(&self) -> Option<MediaSummary> {
        (!self.media.is_empty()).then(|| self.media.clone())
    }

    /// The value of `group:name`, if read.
    pub fn get(&self, group: &str, name: &str) -> Option<&Value> {
        let i = self.index.get(&(group.to_owned(), name.to_owned()))?;
        self.tags.get(*i).map(|t| &t.value)
    }

    pub(crate) fn push(&mut self, group: &str, name: &str, value: Value) {
        let value = value::exiftool_json(value);
        let size = value::approx_size(&value) + group.len() + name.len();
        let key = (group.to_owned(), name.to_owned());
        if let Some(&i) = self.index.get(&key) {
            if let Some(tag) = self.tags.get_mut(i) {
                self.held = self.held.saturating_sub(value::approx_size(&tag.value));
                self.held = self.held.saturating_add(value::approx_size(&value));
                tag.value = value;
            }
            return;
        }
        if self.tags.len() >= MAX_TAGS || self.held.saturating_add(size) > MAX_TOTAL_BYTES {
            self.warn("too many tags or too much metadata; the rest was dropped");
            return;
        }
        self.held = self.held.saturating_add(size);
        self.index.insert(key, self.tags.len());
        self.tags.push(Tag {
            group: group.to_owned(),
            name: name.to_owned(),
            value,
        });
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        let message = message.into();
        if self.warnings.len() < MAX_WARNINGS && !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }
}
