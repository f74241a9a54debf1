//! Metadata: what the library knows about folders, files, versions and blobs, behind one
//! interface with one implementation per database. Holds no HTTP types and no business rules
//! beyond calling the model's (e.g. how a new version's attributes are resolved).

pub mod postgres;
pub mod relational;
pub mod search_sql;
pub mod sql;
pub mod sqlite;
pub mod transfer;

use async_trait::async_trait;

use crate::model::search::{IndexedFolder, IndexedVersion};
use crate::model::transform::NamedTransformation;
use crate::model::{
    AssetId, AttributeUpdate, CustomField, FieldUpdate, FileName, FileRecord, FolderPath,
    FolderRecord, FolderTransfer, JobOutcome, JobRecord, ListQuery, ListedAsset, MediaInfo,
    Principal, TagChange, Timestamp, UploadAttributes,
};

pub use transfer::{TransferCursor, TransferPhase};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a file with this name already exists in this folder")]
    NameTaken,
    #[error("the file already has the maximum of {0} versions")]
    VersionLimit(u32),
    #[error("the blob is being deleted; claim it again shortly")]
    BlobBusy,
    #[error("no folder at {0}")]
    FolderNotFound(String),
    #[error("a folder already exists at {0}")]
    FolderExists(String),
    #[error("this node no longer holds the job's lease")]
    LeaseLost,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("A custom metadata field with this name already exists.")]
    FieldNameTaken,
    #[error("A custom metadata field with this label already exists.")]
    FieldLabelTaken,
    #[error(transparent)]
    InvalidField(#[from] crate::model::FieldError),
    #[error("A named transformation with this name already exists.")]
    NamedTransformationTaken,
}

/// Most versions a file may have (ImageKit's limit).
pub const MAX_VERSIONS: u32 = 100;

/// Everything the store needs to record an upload whose bytes are already durable.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub folder: FolderPath,
    pub name: FileName,
    /// When a file of this name exists: add a version (true) or fail with `NameTaken` (false).
    pub replace_existing: bool,
    pub blob: String,
    pub size: u64,
    pub media: MediaInfo,
    pub attributes: UploadAttributes,
}

/// What a deletion removed.
#[derive(Debug, Clone, Default)]
pub struct DeletedFiles {
    /// The requested ids that existed.
    pub ids: Vec<AssetId>,
    /// Blobs the deleted versions pointed at; some may still be used by other files.
    pub blobs: Vec<String>,
}

/// What deleting one version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionDeletion {
    /// Gone; its blob may now be unreferenced.
    Deleted {
        blob: String,
    },
    NotFound,
    /// The current version cannot be deleted (delete the file instead).
    Current,
}

/// A job step's proof that it runs under the job's lease: the step's transaction only commits
/// while `node` still holds the lease on `job_id`.
#[derive(Debug, Clone, Copy)]
pub struct JobFence<'a> {
    pub job_id: &'a str,
    pub node: &'a str,
}

/// A recorded cache purge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRecord {
    pub id: String,
    pub url: String,
    pub created_at: Timestamp,
    /// Set once every cached derivative of `url` is gone.
    pub completed_at: Option<Timestamp>,
}

/// Counts `kura check` compares against the blob store.
#[derive(Debug, Clone, Default)]
pub struct BlobReferences {
    /// Every blob a version points at, with the size the version recorded.
    pub referenced: Vec<(String, u64)>,
    /// Every claimed blob, referenced or not.
    pub claimed: Vec<String>,
}

#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Cheap round trip, for `/health`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Announces that bytes with this hash are about to be written and referenced, so the
    /// sweeper leaves them alone. Fails with `BlobBusy` while the sweeper is deleting them.
    async fn claim_blob(&self, hash: &str, size: u64) -> Result<(), StoreError>;

    /// Records an upload in one transaction: missing folders, the file or its new version,
    /// and the events.
    async fn commit_upload(
        &self,
        upload: NewUpload,
        actor: &Principal,
    ) -> Result<FileRecord, StoreError>;

    async fn get_file(&self, id: &AssetId) -> Result<Option<FileRecord>, StoreError>;

    async fn find_file(
        &self,
        folder: &FolderPath,
        name: &FileName,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Applies a partial update to the current version; `None` when the file does not exist.
    async fn update_file(
        &self,
        id: &AssetId,
        update: &AttributeUpdate,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Every custom metadata field, deleted ones included, oldest first.
    async fn custom_fields(&self) -> Result<Vec<CustomField>, StoreError>;

    /// Adds a field with its event; `FieldNameTaken` when any field (deleted ones too) has
    /// its name, `FieldLabelTaken` when a live one has its label.
    async fn create_custom_field(
        &self,
        field: &CustomField,
        actor: &Principal,
    ) -> Result<(), StoreError>;

    /// Applies `FieldUpdate::apply` in one transaction; `None` when no field has this id.
    async fn update_custom_field(
        &self,
        id: &AssetId,
        update: &FieldUpdate,
        actor: &Principal,
    ) -> Result<Option<CustomField>, StoreError>;

    /// Marks a live field deleted; false when there is none with this id.
    async fn delete_custom_field(
        &self,
        id: &AssetId,
        actor: &Principal,
    ) -> Result<bool, StoreError>;

    /// Deletes files with all their versions in one transaction.
    async fn delete_files(
        &self,
        ids: &[AssetId],
        actor: &Principal,
    ) -> Result<DeletedFiles, StoreError>;

    async fn list(&self, query: &ListQuery) -> Result<Vec<ListedAsset>, StoreError>;

    /// The folders (`true`) and file versions (`false`) with these ids, in this order; rows
    /// that no longer exist are left out.
    async fn listed_assets(&self, page: &[(bool, String)]) -> Result<Vec<ListedAsset>, StoreError>;

    /// Every version of a file, oldest first; empty when the file does not exist.
    async fn file_versions(&self, id: &AssetId) -> Result<Vec<FileRecord>, StoreError>;

    async fn get_version(
        &self,
        file: &AssetId,
        version: &AssetId,
    ) -> Result<Option<FileRecord>, StoreError>;

    async fn delete_version(
        &self,
        file: &AssetId,
        version: &AssetId,
        actor: &Principal,
    ) -> Result<VersionDeletion, StoreError>;

    /// Makes an older version current again; `None` when file or version does not exist.
    async fn restore_version(
        &self,
        file: &AssetId,
        version: &AssetId,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Renames a file in place (all versions); `NameTaken` when the name is in use.
    async fn rename_file(
        &self,
        id: &AssetId,
        name: &FileName,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Copies a file (its current version, or all versions) into `folder`, sharing its blobs.
    /// A file of the same name there gets the copied versions appended to its history.
    async fn copy_file(
        &self,
        id: &AssetId,
        folder: &FolderPath,
        include_versions: bool,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Moves a file with all its versions into `folder`; a file of the same name there gets
    /// them appended to its history and the moved file disappears.
    async fn move_file(
        &self,
        id: &AssetId,
        folder: &FolderPath,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError>;

    /// Applies a tag change to each file's current version in one transaction; returns the
    /// ids that exist (and were updated).
    async fn change_tags(
        &self,
        ids: &[AssetId],
        change: &TagChange,
        actor: &Principal,
    ) -> Result<Vec<AssetId>, StoreError>;

    /// Creates a folder and its missing ancestors; false when it existed.
    async fn create_folder(&self, path: &FolderPath, actor: &Principal)
    -> Result<bool, StoreError>;

    async fn get_folder(&self, path: &FolderPath) -> Result<Option<FolderRecord>, StoreError>;

    /// Deletes a folder with everything below it in one transaction; `None` when missing.
    async fn delete_folder(
        &self,
        path: &FolderPath,
        actor: &Principal,
    ) -> Result<Option<DeletedFiles>, StoreError>;

    /// Number of files in a folder subtree (all depths).
    async fn count_files_below(&self, path: &FolderPath) -> Result<u64, StoreError>;

    /// Runs the next step of a folder transfer job in one transaction that also records the
    /// new cursor in the job row, fenced by the lease: a step is applied exactly once however
    /// often the job is interrupted and resumed. At most `batch` files per step.
    async fn advance_transfer(
        &self,
        transfer: &FolderTransfer,
        cursor: &TransferCursor,
        batch: u32,
        fence: JobFence<'_>,
        actor: &Principal,
    ) -> Result<TransferCursor, StoreError>;

    async fn record_purge(&self, purge: &PurgeRecord) -> Result<(), StoreError>;

    async fn get_purge(&self, id: &str) -> Result<Option<PurgeRecord>, StoreError>;

    /// Versions whose bytes were never read for metadata (uploaded before Kura read it, or
    /// marked for a new reading by a migration), in id order after `after`.
    async fn unread_versions(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UnreadVersion>, StoreError>;

    /// Stores what a version's bytes say (its embedded and technical metadata, and a video's
    /// size where none is known) and logs `file.metadata-read`, unless another node stored it
    /// first. Returns whether this call wrote it.
    async fn store_read_metadata(
        &self,
        version: &UnreadVersion,
        media: &MediaInfo,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Every named transformation, by name.
    async fn named_transformations(&self) -> Result<Vec<NamedTransformation>, StoreError>;

    /// Adds (`created`) or replaces a named transformation, with its event;
    /// `NamedTransformationTaken` when another one has its name.
    async fn save_named_transformation(
        &self,
        named: &NamedTransformation,
        created: bool,
        actor: &Principal,
    ) -> Result<(), StoreError>;

    /// Deletes a named transformation with its event; false when there is none with this id.
    async fn delete_named_transformation(
        &self,
        id: &str,
        actor: &Principal,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The cached rendering of `transform` (canonical, with its output format) of the blob
    /// `source`; a hit last used before `touch_before` is marked used now.
    async fn find_derived(
        &self,
        source: &str,
        transform: &str,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> Result<Option<DerivedImage>, StoreError>;

    /// Records a rendering whose blob is stored (and claimed); replaces an older one.
    async fn record_derived(&self, derived: &DerivedImage) -> Result<(), StoreError>;

    /// The source blobs that have renderings, of every version of every file in the folder at
    /// `path` or below it (a purge of `/folder/*`).
    async fn derived_sources_below(&self, path: &FolderPath) -> Result<Vec<String>, StoreError>;

    /// Forgets every rendering of these source blobs (a purge, a deletion). Returns the
    /// blobs of the forgotten renderings, for the caller (or the sweeper) to free.
    async fn forget_derived(&self, sources: &[String]) -> Result<Vec<String>, StoreError>;

    /// Forgets the least recently used renderings until those left take at most `max_bytes`.
    /// Returns the blobs of the forgotten renderings.
    async fn evict_derived(&self, max_bytes: u64) -> Result<Vec<String>, StoreError>;

    /// Claimed blobs that no version references and that were last claimed before `cutoff`.
    async fn unreferenced_blobs(&self, cutoff: Timestamp) -> Result<Vec<String>, StoreError>;

    /// Marks an unreferenced blob as being deleted, atomically re-checking that it is still
    /// unreferenced and unclaimed since `cutoff`. Returns whether the caller may delete the bytes.
    async fn begin_blob_deletion(&self, hash: &str, cutoff: Timestamp) -> Result<bool, StoreError>;

    /// Forgets a blob whose bytes are gone.
    async fn finish_blob_deletion(&self, hash: &str) -> Result<(), StoreError>;

    async fn blob_references(&self) -> Result<BlobReferences, StoreError>;

    /// Number of events in the log (for tests and `kura check`).
    async fn event_count(&self) -> Result<u64, StoreError>;

    /// The newest event's sequence number (0 for an empty log).
    async fn latest_event_seq(&self) -> Result<i64, StoreError>;

    /// Up to `limit` committed events after `seq`, in order. On PostgreSQL a transaction
    /// still running may hold a lower number than one already visible: see
    /// `in_flight_horizon`.
    async fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError>;

    /// PostgreSQL's current snapshot as (xmin, xmax): every transaction numbered below xmin
    /// has ended. A gap in event numbers seen while xmax was X is final once xmin ≥ X. None
    /// where gaps cannot happen (SQLite commits in number order).
    async fn in_flight_horizon(&self) -> Result<Option<(u64, u64)>, StoreError>;

    /// Every file version (current or not) with its file's name and folder, by version id
    /// after `after`; for building a search index.
    async fn indexed_versions(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IndexedVersion>, StoreError>;

    /// Every version of these files (none for a file that no longer exists).
    async fn indexed_versions_of(
        &self,
        files: &[String],
    ) -> Result<Vec<IndexedVersion>, StoreError>;

    /// Every folder, the root included.
    async fn indexed_folders(&self) -> Result<Vec<IndexedFolder>, StoreError>;

    /// Queues a job under a caller-chosen id; returns false (and changes nothing) when a job
    /// with that id exists, so nodes can schedule the same periodic job without duplicates.
    async fn enqueue_job(
        &self,
        id: &str,
        kind: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Takes the oldest job of one of `kinds` that is queued, or running with a lease that
    /// expired before `now` (its node died), leasing it to `node` until `lease_until`. Two
    /// nodes never get the same job for the same lease.
    async fn claim_job(
        &self,
        node: &str,
        kinds: &[&str],
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<JobRecord>, StoreError>;

    /// Extends `node`'s lease; false when the lease was lost (expired and taken over).
    async fn renew_job_lease(
        &self,
        id: &str,
        node: &str,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Records the outcome if `node` still holds the lease; false otherwise, so a job is
    /// finished exactly once even when a presumed-dead node comes back.
    async fn finish_job(
        &self,
        id: &str,
        node: &str,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    async fn get_job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;

    /// Queued or running jobs of these kinds.
    async fn active_jobs(&self, kinds: &[&str]) -> Result<Vec<JobRecord>, StoreError>;

    /// Up to `limit` rows of `table` whose key is greater than `after`, in key order, for
    /// copying an install to another store.
    async fn export_rows(
        &self,
        table: Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError>;

    /// Inserts rows exported by `export_rows` (from either engine); rows whose key exists are
    /// skipped. Returns how many were new.
    async fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<u64, StoreError>;

    async fn count_rows(&self, table: Table) -> Result<u64, StoreError>;
}

/// The tables an install consists of, in the order they can be copied (a row's references
/// exist before it). Jobs are transient and not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Blobs,
    Folders,
    Files,
    FileVersions,
    CustomMetadataFields,
    Events,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Blobs,
        Table::Folders,
        Table::Files,
        Table::FileVersions,
        Table::CustomMetadataFields,
        Table::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Blobs => "blobs",
            Table::Folders => "folders",
            Table::Files => "files",
            Table::FileVersions => "file_versions",
            Table::CustomMetadataFields => "custom_metadata_fields",
            Table::Events => "events",
        }
    }
}

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// One entry of the event log, as a search index reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub seq: i64,
    pub kind: String,
    /// A file id for `file.*` and `file-version.*` events, a folder id for `folder.*`.
    pub subject: String,
}

/// Convenience used by the application layer.
pub type DynMetadataStore = std::sync::Arc<dyn MetadataStore>;

/// A cached rendering of a transformation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedImage {
    pub source_blob: String,
    /// The canonical transformation and its output format (`app::derived`).
    pub transform: String,
    pub blob: String,
    pub size: u64,
    pub mime: String,
    pub created_at: Timestamp,
    pub used_at: Timestamp,
}

/// A version whose metadata is still to be read from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadVersion {
    pub id: String,
    pub file_id: String,
    pub blob: String,
    pub size: u64,
}

/// The event kinds written to the log.
pub mod event {
    pub const FILE_CREATED: &str = "file.created";
    pub const FILE_UPDATED: &str = "file.updated";
    pub const FILE_DELETED: &str = "file.deleted";
    pub const FILE_VERSION_CREATED: &str = "file-version.created";
    pub const FILE_RENAMED: &str = "file.renamed";
    pub const FILE_MOVED: &str = "file.moved";
    pub const FILE_VERSION_DELETED: &str = "file-version.deleted";
    pub const FILE_VERSION_RESTORED: &str = "file-version.restored";
    /// A version's metadata was read from its bytes after its upload (the backfill).
    pub const FILE_METADATA_READ: &str = "file.metadata-read";
    pub const FOLDER_CREATED: &str = "folder.created";
    pub const FOLDER_DELETED: &str = "folder.deleted";
    /// A whole subtree changed path at once; its files keep their ids.
    pub const FOLDER_MOVED: &str = "folder.moved";
    pub const FIELD_CREATED: &str = "custom-metadata-field.created";
    pub const FIELD_UPDATED: &str = "custom-metadata-field.updated";
    pub const FIELD_DELETED: &str = "custom-metadata-field.deleted";
    pub const NAMED_TRANSFORMATION_SAVED: &str = "named-transformation.saved";
    pub const NAMED_TRANSFORMATION_DELETED: &str = "named-transformation.deleted";
}
