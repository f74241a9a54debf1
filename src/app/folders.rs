//! Folders: creating and deleting them, and the durable jobs that copy, move and rename them.

use serde_json::{Value, json};

use super::jobs::{FOLDER_COPY, FOLDER_KINDS, FOLDER_MOVE, FOLDER_RENAME};
use super::{App, AppError};
use crate::model::{
    AssetId, FolderPath, FolderTransfer, JobRecord, JobState, PathError, Principal, Timestamp,
    TransferKind,
};
use crate::store::{JobFence, StoreError, TransferCursor};

/// Most files one folder deletion removes (ImageKit's limit); larger trees are deleted in
/// parts, folder by folder.
pub const MAX_FOLDER_DELETE: u64 = 100_000;

/// Where a folder job stands, in ImageKit's terms, plus what it has done so far.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderJobStatus {
    pub id: String,
    pub kind: TransferKind,
    pub state: JobState,
    pub purge_request_id: Option<String>,
    pub progress: TransferCursor,
    pub error: Option<String>,
}

/// ImageKit's folder-name rule: every character but letters and digits becomes `_` (and `-`
/// survives a rename). Kura's paths are ASCII, so non-ASCII letters become `_` too.
fn folder_name(text: &str, keep_dash: bool) -> Result<String, AppError> {
    if text.contains('\0') {
        return Err(PathError::NulCharacter("folderName").into());
    }
    if text == "." || text == ".." {
        return Err(PathError::DotSegment.into());
    }
    if text.is_empty() {
        return Err(AppError::InvalidParameter(
            "folderName parameter is missing.".into(),
        ));
    }
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || (keep_dash && c == '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.len() > crate::model::path::MAX_NAME_BYTES {
        return Err(PathError::FolderNameTooLong.into());
    }
    Ok(name)
}

fn transfer_kind(job: &JobRecord) -> Option<TransferKind> {
    match job.kind.as_str() {
        FOLDER_COPY => Some(TransferKind::Copy {
            include_versions: job.payload["includeVersions"].as_bool().unwrap_or(false),
        }),
        FOLDER_MOVE => Some(TransferKind::Move),
        FOLDER_RENAME => Some(TransferKind::Rename),
        _ => None,
    }
}

fn transfer_of(job: &JobRecord) -> Result<FolderTransfer, AppError> {
    let corrupt = || AppError::Store(StoreError::Corrupt(format!("job {} payload", job.id)));
    let kind = transfer_kind(job).ok_or_else(corrupt)?;
    let path = |key: &str| {
        job.payload[key]
            .as_str()
            .map(|p| FolderPath::from_stored(p.to_owned()))
            .ok_or_else(corrupt)
    };
    Ok(FolderTransfer {
        kind,
        source: path("source")?,
        target: path("target")?,
    })
}

fn overlaps(a: &FolderPath, b: &FolderPath) -> bool {
    a == b || a.is_within(b) || b.is_within(a)
}

impl App {
    /// Creates `parent/name` and any missing parents. Creating an existing folder is fine.
    pub async fn create_folder(
        &self,
        actor: &Principal,
        name: &str,
        parent: &str,
    ) -> Result<(), AppError> {
        let parent = FolderPath::parse_lenient(parent)?;
        let folder = parent.child(&folder_name(name, false)?);
        if folder.as_str().len() > crate::model::path::MAX_FOLDER_PATH_BYTES {
            return Err(PathError::FolderPathTooLong.into());
        }
        self.store.create_folder(&folder, actor).await?;
        Ok(())
    }

    /// Deletes a folder with everything in it, and frees the bytes nothing else uses.
    pub async fn delete_folder(&self, actor: &Principal, path: &str) -> Result<(), AppError> {
        let folder = FolderPath::parse_lenient(path)?;
        if folder.is_root() {
            return Err(AppError::InvalidParameter(
                "folderPath cannot be root.".into(),
            ));
        }
        let not_found = || AppError::NotFound(format!("No folder found with folderPath `{path}`."));
        if self.store.get_folder(&folder).await?.is_none() {
            return Err(not_found());
        }
        self.refuse_if_locked(&[&folder]).await?;
        if self.store.count_files_below(&folder).await? > MAX_FOLDER_DELETE {
            return Err(AppError::InvalidParameter(format!(
                "Total nested assets (files, folders and file versions) are more than allowed limit of {MAX_FOLDER_DELETE} items."
            )));
        }
        let deleted = self
            .store
            .delete_folder(&folder, actor)
            .await?
            .ok_or_else(not_found)?;
        self.release_blobs(&deleted.blobs).await;
        Ok(())
    }

    /// Queues a copy or move of `source` into `destination`; returns the job id.
    pub async fn queue_folder_transfer(
        &self,
        actor: &Principal,
        kind: TransferKind,
        source: &str,
        destination: &str,
    ) -> Result<String, AppError> {
        let source_path = FolderPath::parse_lenient(source)?;
        let destination = FolderPath::parse_lenient(destination)?;
        if !source_path.is_root() && self.store.get_folder(&source_path).await?.is_none() {
            return Err(AppError::NotFound(format!(
                "No files & folder found at sourceFolderPath `{source}`."
            )));
        }
        let transfer = FolderTransfer::into_folder(kind, source_path, &destination)?;
        self.queue_transfer(actor, transfer, false).await
    }

    /// Queues a rename of the folder at `path`; returns the job id.
    pub async fn queue_folder_rename(
        &self,
        actor: &Principal,
        path: &str,
        new_name: &str,
        purge_cache: bool,
    ) -> Result<String, AppError> {
        let folder = FolderPath::parse_lenient(path)?;
        let transfer = FolderTransfer::rename(folder, &folder_name(new_name, true)?)?;
        if self.store.get_folder(&transfer.source).await?.is_none() {
            return Err(AppError::NotFound("Source folder not found.".into()));
        }
        if self.store.get_folder(&transfer.target).await?.is_some() {
            return Err(AppError::Conflict(
                "Folder with name newFolderName already exists at the same location.".into(),
            ));
        }
        self.queue_transfer(actor, transfer, purge_cache).await
    }

    /// ImageKit answers 423 while another bulk job works on an overlapping folder.
    async fn refuse_if_locked(&self, folders: &[&FolderPath]) -> Result<(), AppError> {
        for job in self.store.active_jobs(FOLDER_KINDS).await? {
            let Ok(running) = transfer_of(&job) else {
                continue;
            };
            if folders
                .iter()
                .any(|f| overlaps(f, &running.source) || overlaps(f, &running.target))
            {
                return Err(AppError::Locked(
                    "A bulk job is running on given folder path, please try after sometime.".into(),
                ));
            }
        }
        Ok(())
    }

    async fn queue_transfer(
        &self,
        actor: &Principal,
        transfer: FolderTransfer,
        purge_cache: bool,
    ) -> Result<String, AppError> {
        self.refuse_if_locked(&[&transfer.source, &transfer.target])
            .await?;
        let (kind, include_versions) = match transfer.kind {
            TransferKind::Copy { include_versions } => (FOLDER_COPY, include_versions),
            TransferKind::Move => (FOLDER_MOVE, false),
            TransferKind::Rename => (FOLDER_RENAME, false),
        };
        let id = AssetId::generate().to_string();
        let payload = json!({
            "source": transfer.source.as_str(),
            "target": transfer.target.as_str(),
            "includeVersions": include_versions,
            "purgeCache": purge_cache,
            "actor": actor.audit_name(),
        });
        self.store
            .enqueue_job(&id, kind, &payload, Timestamp::now())
            .await?;
        self.job_queued.notify_one();
        Ok(id)
    }

    pub async fn folder_job(
        &self,
        _actor: &Principal,
        id: &str,
    ) -> Result<FolderJobStatus, AppError> {
        let not_found = || AppError::NotFound("The requested job does not exist.".into());
        let job = self.store.get_job(id).await?.ok_or_else(not_found)?;
        let kind = transfer_kind(&job).ok_or_else(not_found)?;
        let result = job.result.as_ref();
        Ok(FolderJobStatus {
            id: job.id.clone(),
            kind,
            state: job.state,
            purge_request_id: result
                .and_then(|r| r["purgeRequestId"].as_str())
                .map(str::to_owned),
            progress: TransferCursor::from_json(job.progress.as_ref()),
            error: result.and_then(|r| r["error"].as_str()).map(str::to_owned),
        })
    }

    /// Runs a folder job to the end, one fenced step at a time, starting where the cursor in
    /// the job row says: a job interrupted anywhere resumes without redoing or skipping work.
    pub(crate) async fn run_folder_transfer(
        &self,
        job: &JobRecord,
        node: &str,
    ) -> Result<Value, AppError> {
        let transfer = transfer_of(job)?;
        let actor = match job.payload["actor"].as_str() {
            Some("account-key") => Principal::AccountKey,
            _ => Principal::System,
        };
        let fence = JobFence {
            job_id: &job.id,
            node,
        };
        let mut cursor = TransferCursor::from_json(job.progress.as_ref());
        let mut failures = 0;
        while !cursor.is_done() {
            let step = self
                .store
                .advance_transfer(
                    &transfer,
                    &cursor,
                    self.settings.transfer_batch,
                    fence,
                    &actor,
                )
                .await;
            match step {
                Ok(next) => {
                    cursor = next;
                    failures = 0;
                }
                Err(StoreError::FolderNotFound(path)) => {
                    return Err(AppError::NotFound(format!("No folder found at {path}.")));
                }
                Err(StoreError::FolderExists(_)) => {
                    return Err(AppError::Conflict(
                        "Folder with name newFolderName already exists at the same location."
                            .into(),
                    ));
                }
                Err(StoreError::LeaseLost) => return Err(StoreError::LeaseLost.into()),
                // A step collides with concurrent uploads now and then (a name taken between
                // the step's read and its insert); its transaction rolled back, so run it again.
                Err(e) if failures < 5 => {
                    failures += 1;
                    tracing::warn!(job = %job.id, error = %e, "folder job step failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * failures)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let purge = if job.payload["purgeCache"].as_bool() == Some(true) {
            Some(
                self.purge_prefix(&format!("{}/*", transfer.source.as_str()))
                    .await?,
            )
        } else {
            None
        };
        Ok(json!({
            "files": cursor.files,
            "appendedAsVersions": cursor.merged,
            "skipped": cursor.skipped,
            "skippedCount": cursor.skipped_count,
            "purgeRequestId": purge,
        }))
    }
}
