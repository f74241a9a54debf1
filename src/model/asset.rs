//! What the library holds: folders, files and their versions.

use super::{AssetId, FileName, FolderPath, Timestamp};

/// ImageKit's `fileType`: images can be transformed and measured, everything else cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileKind {
    Image,
    #[default]
    NonImage,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Image => "image",
            FileKind::NonImage => "non-image",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "image" => Some(FileKind::Image),
            "non-image" => Some(FileKind::NonImage),
            _ => None,
        }
    }
}

/// What was learned from a version's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaInfo {
    pub mime: String,
    /// Short format name (`jpg`, `png`, `pdf`, …), empty when unknown.
    pub format: String,
    pub kind: FileKind,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub has_alpha: bool,
    /// ImageKit's flat `embeddedMetadata`: exiftool's tag names, dates as ISO 8601 instants.
    pub embedded: serde_json::Map<String, serde_json::Value>,
    /// The parts of ImageKit's `Metadata` object read from the bytes (`exif` sections,
    /// `hasColorProfile`, `density`, video fields), as JSON text: only `GET …/metadata` reads
    /// it, so listings carry it without parsing it. `None`: never read (older versions).
    pub technical: Option<String>,
}

/// An AI-generated tag; kept as plain data so extensions can add them later.
#[derive(Debug, Clone, PartialEq)]
pub struct AiTag {
    pub name: String,
    pub confidence: Option<f64>,
    pub source: Option<String>,
}

/// Everything a client can set on a file version besides its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct FileAttributes {
    pub tags: Option<Vec<String>>,
    pub ai_tags: Option<Vec<AiTag>>,
    pub custom_coordinates: Option<String>,
    /// A JSON object; stays opaque until custom metadata fields exist.
    pub custom_metadata: serde_json::Map<String, serde_json::Value>,
    pub description: Option<String>,
    pub is_private: bool,
    pub is_published: bool,
}

/// One stored version of a file: its bytes (by content hash), what they are, and the
/// attributes that were current while it was.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    pub id: AssetId,
    pub file_id: AssetId,
    /// 1-based: "Version N".
    pub number: u32,
    pub blob: String,
    pub size: u64,
    pub media: MediaInfo,
    pub attributes: FileAttributes,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A file as the API shows it: identity and location, plus one version (the current one,
/// unless a specific version was asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    pub id: AssetId,
    pub folder: FolderPath,
    pub name: FileName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: VersionRecord,
    /// Whether `version` is the file's current version.
    pub is_current: bool,
}

impl FileRecord {
    pub fn file_path(&self) -> String {
        self.folder.join_file(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FolderRecord {
    pub id: AssetId,
    pub path: FolderPath,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One row of a listing.
#[derive(Debug, Clone, PartialEq)]
pub enum ListedAsset {
    File(Box<FileRecord>),
    Folder(FolderRecord),
}
