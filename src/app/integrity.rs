//! Keeping metadata and bytes in agreement: the blob sweeper and `kura check`.

use std::collections::{HashMap, HashSet};

use super::{App, AppError};
use crate::model::Timestamp;

/// What `kura check` found.
#[derive(Debug, Default, Clone)]
pub struct CheckReport {
    pub blobs_stored: usize,
    pub blobs_referenced: usize,
    /// Stored blobs no version points at.
    pub orphan_blobs: Vec<String>,
    /// Blobs versions point at that storage does not have (or has at another size).
    pub dangling: Vec<String>,
    pub removed_orphans: usize,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.dangling.is_empty() && self.orphan_blobs.len() == self.removed_orphans
    }
}

impl App {
    /// Removes blobs that no version references and nobody claimed after `cutoff`.
    /// Safe beside running uploads: see the claim protocol in ARCHITECTURE.md.
    pub async fn sweep_blobs(&self, cutoff: Timestamp) -> Result<usize, AppError> {
        let mut removed = 0;
        for hash in self.store.unreferenced_blobs(cutoff).await? {
            if self.remove_blob(&hash, cutoff).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Frees the bytes of deleted versions right away when nothing else uses them. Failures
    /// only delay the space coming back: the sweeper finds the same blobs later.
    pub(crate) async fn release_blobs(&self, hashes: &[String]) {
        let cutoff = Timestamp::from_millis(Timestamp::now().millis() + 1);
        let mut seen = HashSet::new();
        for hash in hashes.iter().filter(|h| seen.insert(h.as_str())) {
            if let Err(e) = self.remove_blob(hash, cutoff).await {
                tracing::warn!(blob = %hash, error = %e, "could not free a deleted file's blob");
            }
        }
    }

    async fn remove_blob(&self, hash: &str, cutoff: Timestamp) -> Result<bool, AppError> {
        if !self.store.begin_blob_deletion(hash, cutoff).await? {
            return Ok(false);
        }
        self.blobs.delete(hash).await?;
        self.store.finish_blob_deletion(hash).await?;
        // Renderings of bytes that are gone can never be asked for again.
        let derived = self.store.forget_derived(&[hash.to_owned()]).await?;
        for blob in derived {
            Box::pin(self.remove_blob(&blob, cutoff)).await?;
        }
        Ok(true)
    }

    /// Compares what the metadata references with what storage holds. With `repair`,
    /// removes orphan blobs (never anything a version references).
    pub async fn check(&self, repair: bool) -> Result<CheckReport, AppError> {
        let stored: HashMap<String, u64> = self.blobs.list().await?.into_iter().collect();
        let references = self.store.blob_references().await?;
        let referenced: HashSet<&str> = references
            .referenced
            .iter()
            .map(|(h, _)| h.as_str())
            .collect();
        let mut report = CheckReport {
            blobs_stored: stored.len(),
            blobs_referenced: referenced.len(),
            ..Default::default()
        };
        for (hash, size) in &references.referenced {
            if stored.get(hash) != Some(size) {
                report.dangling.push(hash.clone());
            }
        }
        report.orphan_blobs = stored
            .keys()
            .filter(|h| !referenced.contains(h.as_str()))
            .cloned()
            .collect();
        report.orphan_blobs.sort();
        report.dangling.sort();
        if repair {
            // Anything claimed until now may go: an upload that claims the blob later
            // re-checks in its own transaction and stores the bytes again.
            let cutoff = Timestamp::from_millis(Timestamp::now().millis() + 1);
            for hash in &report.orphan_blobs {
                if self.remove_blob(hash, cutoff).await? {
                    report.removed_orphans += 1;
                }
            }
            // Claims of uploads that died before writing bytes.
            self.sweep_blobs(cutoff).await?;
        }
        Ok(report)
    }
}
