//! The `searchQuery` language: one parser, one typed filter, and a plain in-memory evaluator
//! every fast path is checked against. `docs/search.md` is the user-facing contract.
//!
//! text ──parser──▶ `Expr` (syntax, with columns) ──filter──▶ `SearchFilter` (typed, bound to
//! "now") ──▶ evaluated by the store (SQL) or by `reference` (in memory, for tests).

pub mod custom;
mod filter;
mod parser;
pub mod reference;

pub use custom::{CustomScalar, CustomTest};
pub use filter::{
    AssetKind, Comparison, Filter, FlagField, NameMatch, NumericField, SearchFilter, Test, Words,
};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 8192;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 32;
pub const MAX_CONDITIONS: usize = 200;
/// List values (`IN [..]`) in the whole query.
pub const MAX_LIST_VALUES: usize = 1000;

/// What is wrong with a query, and where (1-based character column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid searchQuery: {message} (column {column}).")]
pub struct SearchError {
    pub column: usize,
    pub message: String,
}

impl SearchError {
    fn at(column: usize, message: impl Into<String>) -> Self {
        SearchError {
            column,
            message: message.into(),
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 40 {
        let head: String = text.chars().take(40).collect();
        format!("{head}…")
    } else {
        text.to_owned()
    }
}

/// The words `HAS` matches against: maximal runs of letters and digits, lowercased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Whether `words` (a `HAS` search) matches a text cut into `text_words`.
pub fn words_match<S: AsRef<str>>(search: &Words, text_words: &[S]) -> bool {
    search
        .whole
        .iter()
        .all(|w| text_words.iter().any(|t| t.as_ref() == w))
        && text_words
            .iter()
            .any(|t| t.as_ref().starts_with(search.prefix.as_str()))
}

/// Texts' words as the store keeps them for `HAS`: `" red summer sale "` — each word once,
/// framed by spaces so that `LIKE '% w %'` finds a whole word and `LIKE '% w%'` a prefix.
pub fn indexed_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::from(" ");
    for text in texts {
        for word in words(text) {
            if seen.insert(word.clone()) {
                out.push_str(&word);
                out.push(' ');
            }
        }
    }
    out
}

/// A version's custom metadata texts as the store keeps them for `HAS`: `" brand:red
/// brand:dress "` — each word once per field, prefixed by the field's name (names are letters,
/// digits, `_` and `-`, so neither `:` nor a space can occur in one).
pub fn indexed_custom_words(values: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::from(" ");
    for (name, value) in values {
        for scalar in custom::scalars(value) {
            if let CustomScalar::Text(text) = scalar {
                for word in words(&text) {
                    let token = format!("{name}:{word}");
                    if seen.insert(token.clone()) {
                        out.push_str(&token);
                        out.push(' ');
                    }
                }
            }
        }
    }
    out
}

/// What a search index keeps of one file version, as the store reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedVersion {
    pub file_id: String,
    pub version_id: String,
    /// Whether this is the file's current version (a `file` row) or an older one.
    pub current: bool,
    pub folder_id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub format: String,
    pub file_type: crate::model::FileKind,
    pub private: bool,
    pub published: bool,
    pub transparency: bool,
    /// Tags and AI tag names.
    pub tags: Vec<String>,
    pub custom_metadata: serde_json::Map<String, serde_json::Value>,
    /// `embeddedMetadata`, only the keys in `INDEXED_EMBEDDED`.
    pub embedded_metadata: serde_json::Map<String, serde_json::Value>,
    /// Where the file was made, from all of its embedded metadata (`GeoPoint::from_embedded`).
    pub location: Option<crate::model::geo::GeoPoint>,
}

/// The `embeddedMetadata` keys a search index keeps (memory: a photo has a hundred keys);
/// a query on another key is answered by the store.
pub const INDEXED_EMBEDDED: &[&str] = &[
    "Artist",
    "By-line",
    "Caption-Abstract",
    "City",
    "ColorSpace",
    "Copyright",
    "CopyrightNotice",
    "Country",
    "Country-PrimaryLocationName",
    "CreateDate",
    "Creator",
    "Credit",
    "DateCreated",
    "DateTimeOriginal",
    "Description",
    "ExifImageHeight",
    "ExifImageWidth",
    "ExposureTime",
    "FNumber",
    "Flash",
    "FocalLength",
    "GPSAltitude",
    "GPSLatitude",
    "GPSLongitude",
    "Headline",
    "ISO",
    "ImageDescription",
    "Keywords",
    "Label",
    "LensModel",
    "Make",
    "Model",
    "ModifyDate",
    "ObjectName",
    "Orientation",
    "Province-State",
    "Rating",
    "Software",
    "Source",
    "State",
    "Sub-location",
    "Subject",
    "Title",
    "WhiteBalance",
];

/// What a search index keeps of one folder (the root included).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedFolder {
    pub id: String,
    pub path: crate::model::FolderPath,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}
