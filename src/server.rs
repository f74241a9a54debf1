//! The composition root: opens the embedded stores under the data directory, wires the
//! application, and runs the server or a maintenance command.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::app::integrity::CheckReport;
use crate::app::jobs::{DEFAULT_LEASE, DEFAULT_TRANSFER_BATCH};
use crate::app::migrate::{Install, MigrateError, MigrationReport, migrate_install};
use crate::app::{App, AppError, AppSettings};
use crate::blobs::DynBlobStore;
use crate::blobs::local::LocalBlobStore;
use crate::blobs::s3::{S3BlobStore, S3Location};
use crate::blobs::spool::clear_spool;
use crate::config::{CheckArgs, JobArgs, MigrateArgs, ServeArgs, StorageArgs, StorageOnlyArgs};
use crate::model::id::random_alphanumeric;
use crate::remote::{FetchError, RemoteFetcher};
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{DynMetadataStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("another kura server is already using the data directory {0}")]
    DataDirInUse(PathBuf),
    #[error("KURA_DATABASE_URL must start with postgres:// (got {0})")]
    UnknownDatabase(String),
    #[error("KURA_STORAGE must look like s3://bucket/prefix (got {0})")]
    UnknownStorage(String),
    #[error("opening the blob store failed: {0}")]
    Blobs(crate::blobs::BlobError),
    #[error("opening the database failed: {0}")]
    Store(#[from] StoreError),
    #[error("setting up the URL fetcher failed: {0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("migration failed: {0}")]
    Migrate(#[from] MigrateError),
    #[error("kura migrate needs --to-database and/or --to-storage")]
    NothingToMigrate,
}

fn io_context(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartupError {
    let context = context.into();
    move |source| StartupError::Io { context, source }
}

/// The data directory (spool, key, and the embedded stores) and where metadata lives.
struct DataDir {
    root: PathBuf,
    database_url: Option<String>,
    storage: Option<S3Location>,
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

impl DataDir {
    fn create(args: &StorageArgs) -> Result<Self, StartupError> {
        let root = &args.data_dir;
        std::fs::create_dir_all(root).map_err(io_context(format!(
            "creating data directory {}",
            root.display()
        )))?;
        let storage = match args.storage.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let mut location = S3Location::parse(url)
                    .ok_or_else(|| StartupError::UnknownStorage(url.to_owned()))?;
                location.endpoint = args.s3_endpoint.clone().filter(|e| !e.is_empty());
                location.region = args.s3_region.clone().filter(|r| !r.is_empty());
                Some(location)
            }
        };
        Ok(DataDir {
            root: root.to_owned(),
            database_url: args.database_url.clone().filter(|u| !u.trim().is_empty()),
            storage,
        })
    }

    fn spool(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Held for the server's lifetime: two servers on one embedded data directory would
    /// clear each other's spool.
    fn lock(&self) -> Result<File, StartupError> {
        let path = self.root.join("kura.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_context(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(StartupError::DataDirInUse(self.root.clone()))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io_context(format!("locking {}", path.display()))(e))
            }
        }
    }

    /// The configured key, else the stored one, else a new one stored with mode 0600.
    fn private_key(&self, configured: Option<String>) -> Result<String, StartupError> {
        if let Some(key) = configured.filter(|k| !k.trim().is_empty()) {
            return Ok(key.trim().to_owned());
        }
        let path = self.root.join("private_key");
        match std::fs::read_to_string(&path) {
            Ok(key) if !key.trim().is_empty() => {
                println!(
                    "kura using the private API key stored in {}",
                    path.display()
                );
                return Ok(key.trim().to_owned());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_context(format!("reading {}", path.display()))(e)),
        }
        let key = format!("private_{}", random_alphanumeric(32));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_context(format!("creating {}", path.display())))?;
        file.write_all(key.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_context(format!("writing {}", path.display())))?;
        println!(
            "kura generated a private API key and stored it in {}",
            path.display()
        );
        Ok(key)
    }

    async fn open_metadata(&self) -> Result<DynMetadataStore, StartupError> {
        open_metadata(self.database_url.as_deref(), &self.root).await
    }

    fn open_blobs(&self) -> Result<DynBlobStore, StartupError> {
        open_blobs(self.storage.as_ref(), &self.root)
    }

    /// The application over this data dir. `allow_private_urls` is the fetcher's SSRF rule;
    /// the spool directory is created here.
    async fn open_app(
        &self,
        allow_private_urls: bool,
        settings: impl FnOnce(PathBuf) -> AppSettings,
    ) -> Result<Arc<App>, StartupError> {
        let spool = self.spool();
        std::fs::create_dir_all(&spool)
            .map_err(io_context(format!("creating {}", spool.display())))?;
        Ok(App::new(
            self.open_metadata().await?,
            self.open_blobs()?,
            RemoteFetcher::new(allow_private_urls)?,
            settings(spool),
        ))
    }

    /// The application for a one-shot command: no key, no uploads, no search index.
    async fn open_tool_app(&self) -> Result<Arc<App>, StartupError> {
        self.open_app(false, |spool| AppSettings {
            private_key: String::new(),
            max_upload_size: 0,
            spool_dir: spool,
            job_lease: DEFAULT_LEASE,
            transfer_batch: DEFAULT_TRANSFER_BATCH,
            search_index: false,
            page_cache_rows: 0,
            images: crate::app::ImageSettings::default(),
        })
        .await
    }
}

/// PostgreSQL for a `postgres://` URL, else the embedded SQLite file under `root`.
async fn open_metadata(
    database_url: Option<&str>,
    root: &std::path::Path,
) -> Result<DynMetadataStore, StartupError> {
    Ok(match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(PostgresStore::open(url).await?)
        }
        Some(other) => return Err(StartupError::UnknownDatabase(redact(other))),
        None => Arc::new(SqliteStore::open(&root.join("kura.db")).await?),
    })
}

/// S3 for a location, else local disk under `root`.
fn open_blobs(
    location: Option<&S3Location>,
    root: &std::path::Path,
) -> Result<DynBlobStore, StartupError> {
    Ok(match location {
        Some(location) => Arc::new(S3BlobStore::open(location).map_err(StartupError::Blobs)?),
        None => Arc::new(
            LocalBlobStore::open(root.join("blobs"))
                .map_err(io_context("opening the blob directory"))?,
        ),
    })
}

/// Copies the install described by `args.data` into the target stores; the source must not be
/// served meanwhile (its data-dir lock is held throughout).
pub async fn migrate(
    args: MigrateArgs,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<MigrationReport, StartupError> {
    if args.to_database.is_none() && args.to_storage.is_none() {
        return Err(StartupError::NothingToMigrate);
    }
    let data = DataDir::create(&args.data)?;
    let _lock = data.lock()?;
    std::fs::create_dir_all(data.spool()).map_err(io_context("creating the spool directory"))?;
    let source = Install {
        store: data.open_metadata().await?,
        blobs: data.open_blobs()?,
    };
    let target_store = match &args.to_database {
        Some(url) => open_metadata(Some(url), &data.root).await?,
        None => source.store.clone(),
    };
    let (target_blobs, copy_blobs) = match &args.to_storage {
        Some(url) => {
            let mut location = S3Location::parse(url)
                .ok_or_else(|| StartupError::UnknownStorage(url.to_owned()))?;
            location.endpoint = args.to_s3_endpoint.clone();
            location.region = args.to_s3_region.clone();
            (open_blobs(Some(&location), &data.root)?, true)
        }
        None => (source.blobs.clone(), false),
    };
    let target = Install {
        store: target_store,
        blobs: target_blobs,
    };
    Ok(migrate_install(&source, &target, copy_blobs, &data.spool(), progress).await?)
}

pub async fn serve(args: ServeArgs) -> Result<(), StartupError> {
    let data = DataDir::create(&args.data)?;
    let _lock = data.lock()?;
    let removed = clear_spool(&data.spool()).map_err(io_context("clearing the upload spool"))?;
    if removed > 0 {
        tracing::info!(
            removed,
            "removed partial uploads left by an earlier process"
        );
    }
    let key = data.private_key(args.private_key)?;
    let app = data
        .open_app(args.allow_private_urls, |spool| AppSettings {
            private_key: key,
            max_upload_size: args.max_upload_size,
            spool_dir: spool,
            job_lease: Duration::from_secs(args.job_lease_seconds.max(1)),
            transfer_batch: args.job_batch_size.max(1),
            search_index: args.search_index,
            page_cache_rows: if args.search_index {
                args.page_cache_rows
            } else {
                0
            },
            images: crate::app::ImageSettings {
                max_pixels: args.max_image_pixels,
                cache_bytes: args.derived_cache_size,
                render_slots: args
                    .render_slots
                    .unwrap_or_else(|| crate::app::ImageSettings::default().render_slots),
            },
        })
        .await?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(io_context(format!("listening on {}", args.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(io_context("reading the bound address"))?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    let router = crate::http::router(app.clone(), &public_url);

    // Each process is its own node for job leases: unique even on one host.
    let node = format!("node-{}", random_alphanumeric(12));
    let background_app = app.clone();
    let background_node = node.clone();
    tokio::spawn(async move { background_app.run_background(&background_node).await });
    tracing::info!(%node, "background jobs enabled");
    let index_app = app.clone();
    tokio::spawn(async move { index_app.run_search_index().await });

    println!("kura listening on http://{bound}");
    println!(
        "kura url endpoint {public_url}{}",
        crate::http::wire::URL_ENDPOINT_PATH
    );
    let _ = std::io::stdout().flush();
    // No Nagle delay: a streamed body's first chunk must not wait for the ACK of the headers
    // (40 ms per delivered file with a delayed-ACK client).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(io_context("serving HTTP"))?;
    tracing::info!("kura stopped");
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

pub async fn check(args: CheckArgs) -> Result<CheckReport, StartupError> {
    let data = DataDir::create(&args.data)?;
    // The key is irrelevant to checking; do not create one as a side effect.
    let app = data.open_tool_app().await?;
    Ok(app.check(args.repair).await?)
}

/// Queues a blob scrub for the running servers; returns its job id.
pub async fn scrub(args: StorageOnlyArgs) -> Result<String, StartupError> {
    let data = DataDir::create(&args.data)?;
    let app = data.open_tool_app().await?;
    Ok(app.queue_scrub().await?)
}

/// A job's record as JSON, or `None` when there is no such job.
pub async fn job(args: JobArgs) -> Result<Option<serde_json::Value>, StartupError> {
    let data = DataDir::create(&args.data)?;
    let app = data.open_tool_app().await?;
    Ok(app.job(&args.id).await?.map(|job| {
        serde_json::json!({
            "id": job.id,
            "kind": job.kind,
            "state": job.state.as_str(),
            "attempts": job.attempts,
            "node": job.lease_owner,
            "result": job.result,
            "createdAt": job.created_at.to_iso8601(),
            "updatedAt": job.updated_at.to_iso8601(),
        })
    }))
}
