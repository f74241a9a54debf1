//! Running durable background jobs. Every node runs this loop; the store's leases make sure
//! each job runs on one node at a time and is finished once, and a job whose node died is
//! picked up by another when its lease runs out.

use std::time::Duration;

use serde_json::json;

use super::{App, AppError};
use crate::model::{JobOutcome, JobRecord, Timestamp};

/// Removes unreferenced blobs; scheduled once per `SWEEP_EVERY` across all nodes.
pub const BLOB_SWEEP: &str = "blob-sweep";
/// Re-reads every referenced blob and checks it still hashes to its name (bit rot, a
/// damaged bucket); queued by `kura scrub`.
pub const BLOB_SCRUB: &str = "blob-scrub";
/// Folder jobs (`/v1/bulkJobs/…`): run in fenced steps that record their progress.
pub const FOLDER_COPY: &str = "folder-copy";
pub const FOLDER_MOVE: &str = "folder-move";
pub const FOLDER_RENAME: &str = "folder-rename";
pub const FOLDER_KINDS: &[&str] = &[FOLDER_COPY, FOLDER_MOVE, FOLDER_RENAME];
/// Reads the metadata of versions stored without it (`App::backfill_metadata`); queued by
/// every node when it starts, which is when migrations may have asked for it.
pub const METADATA_BACKFILL: &str = "metadata-backfill";
/// Every kind this build knows how to run.
pub const KNOWN_KINDS: &[&str] = &[
    BLOB_SWEEP,
    BLOB_SCRUB,
    FOLDER_COPY,
    FOLDER_MOVE,
    FOLDER_RENAME,
    METADATA_BACKFILL,
];

/// The default lease; see `AppSettings::job_lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// The default step size of folder jobs; see `AppSettings::transfer_batch`.
pub const DEFAULT_TRANSFER_BATCH: u32 = 1000;

const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// Blobs unreferenced for less than this are left alone: an upload may be about to use them.
const SWEEP_GRACE: Duration = Duration::from_secs(3600);
const POLL: Duration = Duration::from_secs(2);

fn after(now: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_millis(now.millis() + d.as_millis() as i64)
}

impl App {
    /// Schedules periodic jobs and runs claimable ones, forever.
    pub async fn run_background(&self, node: &str) {
        let backfill = format!("{METADATA_BACKFILL}-{}", crate::model::AssetId::generate());
        if let Err(e) = self
            .store
            .enqueue_job(&backfill, METADATA_BACKFILL, &json!({}), Timestamp::now())
            .await
        {
            tracing::warn!(error = %e, "could not queue the metadata backfill");
        }
        loop {
            if let Err(e) = self.schedule_periodic().await {
                tracing::warn!(error = %e, "could not schedule periodic jobs");
            }
            loop {
                match self.run_next_job(node).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not claim a job");
                        break;
                    }
                }
            }
            // Jobs queued on this node start at once; other nodes' within a poll.
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = self.job_queued.notified() => {}
            }
        }
    }

    /// One sweep per period, whichever node gets there first: the id names the period.
    async fn schedule_periodic(&self) -> Result<(), AppError> {
        let now = Timestamp::now();
        let period = now.millis() / SWEEP_EVERY.as_millis() as i64;
        let id = format!("{BLOB_SWEEP}-{period}");
        self.store
            .enqueue_job(&id, BLOB_SWEEP, &json!({}), now)
            .await?;
        Ok(())
    }

    /// Claims and runs one job; false when there was none.
    pub async fn run_next_job(&self, node: &str) -> Result<bool, AppError> {
        let lease = self.settings.job_lease;
        let now = Timestamp::now();
        let Some(job) = self
            .store
            .claim_job(node, KNOWN_KINDS, after(now, lease), now)
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "running job");
        // The renewal runs beside the work, not inside a handler that would stop polling it:
        // a renewal that waits on a row (or on SQLite's writer) held by the work's open
        // transaction must not keep that transaction from committing.
        let renewal = async {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                let until = after(Timestamp::now(), lease);
                match self.store.renew_job_lease(&job.id, node, until).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    // The lease may still hold; the next tick tries again, and the work's
                    // steps are fenced should another node have taken over meanwhile.
                    Err(e) => {
                        tracing::warn!(job = %job.id, error = %e, "could not renew a job lease")
                    }
                }
            }
        };
        let outcome = tokio::select! {
            result = self.execute(&job, node) => result,
            () = renewal => {
                // Another node has it now; stop rather than run it twice.
                tracing::warn!(job = %job.id, "lost the lease on a running job");
                return Ok(true);
            }
        };
        let outcome = match outcome {
            Ok(result) => JobOutcome::Done(result),
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "job failed");
                JobOutcome::Failed(e.to_string())
            }
        };
        if !self
            .store
            .finish_job(&job.id, node, &outcome, Timestamp::now())
            .await?
        {
            tracing::warn!(job = %job.id, "job finished after its lease was taken over");
        }
        Ok(true)
    }

    /// Queues a scrub of every referenced blob; returns the job id.
    pub async fn queue_scrub(&self) -> Result<String, AppError> {
        let id = format!("{BLOB_SCRUB}-{}", crate::model::AssetId::generate());
        self.store
            .enqueue_job(&id, BLOB_SCRUB, &json!({}), Timestamp::now())
            .await?;
        Ok(id)
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRecord>, AppError> {
        Ok(self.store.get_job(id).await?)
    }

    async fn scrub_blobs(&self) -> Result<serde_json::Value, AppError> {
        let mut referenced = self.store.blob_references().await?.referenced;
        referenced.sort();
        let (mut damaged, mut missing) = (Vec::new(), Vec::new());
        for (hash, size) in &referenced {
            match crate::blobs::content_hash(self.blobs.as_ref(), hash, *size).await {
                Ok(actual) if &actual == hash => {}
                Ok(_) => damaged.push(hash.clone()),
                Err(crate::blobs::BlobError::NotFound(_)) => missing.push(hash.clone()),
                Err(e) => return Err(e.into()),
            }
        }
        if !damaged.is_empty() || !missing.is_empty() {
            tracing::error!(
                damaged = damaged.len(),
                missing = missing.len(),
                "blob scrub found problems"
            );
        }
        Ok(json!({ "checked": referenced.len(), "damaged": damaged, "missing": missing }))
    }

    async fn execute(&self, job: &JobRecord, node: &str) -> Result<serde_json::Value, AppError> {
        match job.kind.as_str() {
            BLOB_SWEEP => {
                let cutoff = Timestamp::from_millis(
                    Timestamp::now().millis() - SWEEP_GRACE.as_millis() as i64,
                );
                // Evicted renderings' bytes go at once when they are older than the grace
                // period, else with the next sweep.
                let evicted = self.evict_derived().await?;
                let removed = self.sweep_blobs(cutoff).await?;
                Ok(json!({ "removedBlobs": removed, "evictedDerivedImages": evicted }))
            }
            BLOB_SCRUB => self.scrub_blobs().await,
            METADATA_BACKFILL => self.backfill_metadata().await,
            FOLDER_COPY | FOLDER_MOVE | FOLDER_RENAME => self.run_folder_transfer(job, node).await,
            other => Err(AppError::NotSupported(format!("unknown job kind {other}"))),
        }
    }
}
