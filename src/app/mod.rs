//! Use cases: what a client can ask Kura to do, with the permission check each needs. Speaks
//! in model types; knows the store and blob interfaces but neither HTTP nor SQL.

pub mod custom_fields;
pub mod delivery;
pub mod derived;
pub mod files;
pub mod folders;
pub mod integrity;
pub mod jobs;
pub mod library_gen;
pub mod metadata;
pub mod migrate;
pub mod named;
pub mod purge;
pub mod upload;
pub mod versions;

use std::path::PathBuf;
use std::sync::Arc;

use crate::blobs::{BlobError, DynBlobStore};
use crate::model::search::SearchError;
use crate::model::signature::SignatureError;
use crate::model::{FieldError, InvalidMetadata, PathError};
use crate::remote::{FetchError, RemoteFetcher};
use crate::store::{DynMetadataStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    InvalidPath(#[from] PathError),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Your request is missing file parameter.")]
    MissingFile,
    #[error("The requested file does not exist.")]
    FileNotFound,
    #[error("The requested file(s) does not exist.")]
    FilesNotFound(Vec<String>),
    /// Anything else that does not exist, with ImageKit's message for it.
    #[error("{0}")]
    NotFound(String),
    /// The request collides with what exists (a name in use).
    #[error("{0}")]
    Conflict(String),
    /// A running job holds the folder.
    #[error("{0}")]
    Locked(String),
    #[error(transparent)]
    Transfer(#[from] crate::model::TransferError),
    #[error(
        "A file with the same name already exists at the exact location. We could not overwrite it because both overwriteFile and useUniqueFileName are set to false."
    )]
    FileExists,
    #[error("A file can have a maximum of {0} versions.")]
    VersionLimit(u32),
    #[error(
        "Your request contains invalid file parameter. The file size exceeds limits ({limit} bytes)."
    )]
    TooLarge { limit: u64 },
    #[error("Your request contains invalid file parameter. {0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    NotSupported(String),
    #[error(transparent)]
    InvalidField(#[from] FieldError),
    /// Custom metadata values that break their fields' rules.
    #[error(transparent)]
    InvalidMetadata(#[from] InvalidMetadata),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Transformation(#[from] crate::model::transform::TransformError),
    /// The image cannot be transformed: too large, unreadable, not an image.
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NameTaken => AppError::FileExists,
            StoreError::VersionLimit(n) => AppError::VersionLimit(n),
            StoreError::InvalidField(e) => AppError::InvalidField(e),
            e @ (StoreError::FieldNameTaken
            | StoreError::FieldLabelTaken
            | StoreError::NamedTransformationTaken) => AppError::InvalidParameter(e.to_string()),
            other => AppError::Store(other),
        }
    }
}

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub private_key: String,
    pub max_upload_size: u64,
    pub spool_dir: PathBuf,
    /// How long a node's claim on a job lasts without renewal (it renews at a third of it).
    pub job_lease: std::time::Duration,
    /// Files a folder job handles per step (one transaction each).
    pub transfer_batch: u32,
    /// Answer `searchQuery` listings from the in-memory search index (else from SQL).
    pub search_index: bool,
    /// Rows of served pages the search index keeps (`index::rows`); 0: none.
    pub page_cache_rows: usize,
    pub images: ImageSettings,
}

/// Limits of URL transformations (`app::derived`).
#[derive(Debug, Clone)]
pub struct ImageSettings {
    /// Most pixels a source image (or an output) may have; checked from the header.
    pub max_pixels: u64,
    /// Bytes of derived images kept; least recently used ones are dropped beyond.
    pub cache_bytes: u64,
    /// Transformations rendered at once on this node; others wait their turn.
    pub render_slots: usize,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            max_pixels: 100_000_000,
            cache_bytes: 10 * 1024 * 1024 * 1024,
            render_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Whether searches are answered from the in-memory index, for `/health`.
pub enum SearchIndexState {
    Off,
    Building,
    Ready(crate::index::IndexStats),
}

/// The application: every use case hangs off this, shared by all requests.
pub struct App {
    pub(crate) store: DynMetadataStore,
    pub(crate) blobs: DynBlobStore,
    pub(crate) fetcher: RemoteFetcher,
    pub(crate) settings: AppSettings,
    /// Wakes this node's job loop when a request queues a job.
    pub(crate) job_queued: tokio::sync::Notify,
    pub(crate) search_index: Option<Arc<crate::index::SearchIndex>>,
    /// The fields as of a search index field generation (`custom_fields::fields_for_listing`).
    pub(crate) listing_fields: std::sync::Mutex<Option<(u64, Arc<crate::model::FieldSet>)>>,
    /// Bounds the transformations rendering at once (`ImageSettings::render_slots`).
    pub(crate) render_slots: tokio::sync::Semaphore,
    /// One lock per rendering in progress on this node: concurrent requests for the same
    /// uncached rendering wait for the first instead of rendering it again.
    pub(crate) renders_in_flight: derived::InFlight,
}

impl App {
    pub fn new(
        store: DynMetadataStore,
        blobs: DynBlobStore,
        fetcher: RemoteFetcher,
        settings: AppSettings,
    ) -> Arc<Self> {
        let settings_slots = settings.images.render_slots.max(1);
        let search_index = settings.search_index.then(|| {
            crate::index::SearchIndex::tuned(
                store.clone(),
                crate::index::IndexTuning {
                    page_cache_rows: settings.page_cache_rows,
                    ..Default::default()
                },
            )
        });
        Arc::new(App {
            store,
            blobs,
            fetcher,
            settings,
            job_queued: tokio::sync::Notify::new(),
            search_index,
            listing_fields: std::sync::Mutex::new(None),
            render_slots: tokio::sync::Semaphore::new(settings_slots),
            renders_in_flight: Default::default(),
        })
    }

    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    pub fn search_index_stats(&self) -> SearchIndexState {
        match &self.search_index {
            None => SearchIndexState::Off,
            Some(index) => index
                .stats()
                .map_or(SearchIndexState::Building, SearchIndexState::Ready),
        }
    }

    /// Builds the search index, then keeps it current between searches (a search catches up
    /// by itself too; this keeps that catch-up short after a burst of writes elsewhere).
    pub async fn run_search_index(&self) {
        let Some(index) = &self.search_index else {
            return;
        };
        let started = std::time::Instant::now();
        match index.build().await {
            Ok(stats) => tracing::info!(
                rows = stats.live,
                millis = started.elapsed().as_millis() as u64,
                "search index built"
            ),
            Err(e) => {
                tracing::error!(error = %e, "search index build failed; searching with SQL");
                return;
            }
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = index.catch_up().await {
                tracing::warn!(error = %e, "search index catch-up failed; retrying");
            }
        }
    }

    /// `(database ok, storage ok)` for `/health`.
    pub async fn health(&self) -> (bool, bool) {
        let (db, storage) = tokio::join!(self.store.ping(), self.blobs.ping());
        (db.is_ok(), storage.is_ok())
    }
}
