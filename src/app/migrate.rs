//! Moving an install to other stores (`kura migrate`): bytes first, then rows, then a check
//! that the target holds everything with the right content. Every step skips what the target
//! already has, so an interrupted migration is resumed by running it again.

use std::path::Path;

use futures_util::TryStreamExt;

use crate::blobs::spool::SpoolFile;
use crate::blobs::{BlobError, DynBlobStore};
use crate::store::{Cell, DynMetadataStore, StoreError, Table};

/// Rows copied per round trip.
const PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("verification failed: {0}")]
    Mismatch(String),
}

/// One side of a migration.
pub struct Install {
    pub store: DynMetadataStore,
    pub blobs: DynBlobStore,
}

#[derive(Debug, Default)]
pub struct MigrationReport {
    pub blobs_copied: u64,
    pub blobs_already_there: u64,
    pub bytes_copied: u64,
    /// Per table: rows newly copied, and the row count on both sides after copying.
    pub tables: Vec<(Table, u64, u64, u64)>,
    pub blobs_verified: u64,
}

/// Copies `source` into `target`. `copy_blobs` is false when both sides share the blob store.
pub async fn migrate_install(
    source: &Install,
    target: &Install,
    copy_blobs: bool,
    spool_dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<MigrationReport, MigrateError> {
    let mut report = MigrationReport::default();
    if copy_blobs {
        let stored = source.blobs.list().await?;
        let total = stored.len();
        for (i, (hash, size)) in stored.into_iter().enumerate() {
            if matches!(target.blobs.size(&hash).await, Ok(s) if s == size) {
                report.blobs_already_there += 1;
            } else {
                copy_blob(source, target, &hash, size, spool_dir).await?;
                report.blobs_copied += 1;
                report.bytes_copied += size;
            }
            if (i + 1) % 100 == 0 || i + 1 == total {
                progress(&format!("blobs: {}/{total}", i + 1));
            }
        }
    }
    for table in Table::ALL {
        let mut after: Option<Cell> = None;
        let mut copied = 0;
        loop {
            let rows = source
                .store
                .export_rows(table, after.as_ref(), PAGE)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.first().cloned();
            copied += target.store.import_rows(table, &rows).await?;
            if rows.len() < PAGE as usize {
                break;
            }
        }
        let (in_source, in_target) = (
            source.store.count_rows(table).await?,
            target.store.count_rows(table).await?,
        );
        progress(&format!(
            "{}: {copied} rows copied, {in_source} in source, {in_target} in target",
            table.name()
        ));
        if in_target < in_source {
            return Err(MigrateError::Mismatch(format!(
                "{} has {in_source} rows in the source but {in_target} in the target",
                table.name()
            )));
        }
        report.tables.push((table, copied, in_source, in_target));
    }
    // Every byte the target's rows reference must be there and hash to its name.
    let references = target.store.blob_references().await?;
    let total = references.referenced.len();
    for (i, (hash, size)) in references.referenced.iter().enumerate() {
        let actual = crate::blobs::content_hash(target.blobs.as_ref(), hash, *size).await?;
        if &actual != hash {
            return Err(MigrateError::Mismatch(format!(
                "blob {hash} in the target hashes to {actual}"
            )));
        }
        report.blobs_verified += 1;
        if (i + 1) % 100 == 0 || i + 1 == total {
            progress(&format!("verified: {}/{total}", i + 1));
        }
    }
    Ok(report)
}

async fn copy_blob(
    source: &Install,
    target: &Install,
    hash: &str,
    size: u64,
    spool_dir: &Path,
) -> Result<(), MigrateError> {
    let mut spool = SpoolFile::create(spool_dir).await?;
    let mut stream = source.blobs.read(hash, 0, size).await?;
    while let Some(chunk) = stream.try_next().await? {
        spool.write(&chunk).await?;
    }
    let actual = spool.finish().await?;
    if actual != hash {
        return Err(MigrateError::Mismatch(format!(
            "blob {hash} in the source hashes to {actual}; run `kura check` on the source"
        )));
    }
    target.blobs.put(hash, spool.path()).await?;
    Ok(())
}
