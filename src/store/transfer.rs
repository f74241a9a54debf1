//! Where a folder transfer job stands. Stored as JSON in the job row and advanced in the same
//! transaction as the work it describes, so it is never ahead of or behind the data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferPhase {
    /// Nothing done yet: decide between a path rewrite and a file-by-file transfer.
    #[default]
    Start,
    /// Working through the source's files folder by folder, in (folder path, name) order.
    Files,
    /// Removing the emptied source folders (moves only).
    Cleanup,
    Done,
}

/// Files whose transfer was refused are listed up to this many times.
pub const MAX_SKIPPED_LISTED: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TransferCursor {
    pub phase: TransferPhase,
    /// The source folder being worked through…
    pub folder: String,
    /// …and the last file name in it that is done.
    pub name: String,
    /// Files copied or moved so far.
    pub files: u64,
    /// Of those, how many were appended to an existing file's history at the target.
    pub merged: u64,
    /// Files left where they were because the target file had no room for their versions.
    pub skipped: Vec<String>,
    pub skipped_count: u64,
}

impl TransferCursor {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// A job that has not run yet has no progress and starts at the beginning.
    pub fn from_json(value: Option<&serde_json::Value>) -> Self {
        value
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    pub fn is_done(&self) -> bool {
        self.phase == TransferPhase::Done
    }

    pub(crate) fn skip(&mut self, file_path: String) {
        self.skipped_count += 1;
        if self.skipped.len() < MAX_SKIPPED_LISTED {
            self.skipped.push(file_path);
        }
    }
}
