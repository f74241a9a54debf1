//! Plain domain types: what a file, a version and a folder are, how names and paths are
//! validated, and how listings are asked for. Nothing here knows about HTTP, SQL or bytes on disk.

pub mod asset;
pub mod custom_field;
pub mod geo;
pub mod id;
pub mod job;
pub mod list;
pub mod path;
pub mod principal;
pub mod search;
pub mod signature;
pub mod time;
pub mod transfer;
pub mod transform;
pub mod upload;

pub use asset::{
    AiTag, FileAttributes, FileKind, FileRecord, FolderRecord, ListedAsset, MediaInfo,
    VersionRecord,
};
pub use custom_field::{
    CustomField, FieldError, FieldSchema, FieldSet, FieldType, FieldUpdate, InvalidMetadata,
    MetadataWrite,
};
pub use id::AssetId;
pub use job::{JobOutcome, JobRecord, JobState};
pub use list::{AssetTypeFilter, FileTypeFilter, ListQuery, SortField, SortOrder};
pub use path::{FileName, FolderPath, PathError};
pub use principal::Principal;
pub use time::Timestamp;
pub use transfer::{FolderTransfer, TransferError, TransferKind};
pub use upload::{AiTagRemoval, AttributeUpdate, PublishChange, TagChange, UploadAttributes};
