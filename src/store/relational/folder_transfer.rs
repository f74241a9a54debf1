//! Folder copy, move and rename, one fenced step per transaction: deciding between a path
//! rewrite and a file-by-file transfer, transferring a batch of one source folder (with its
//! namesakes at the target), and removing emptied source folders. The cursor each step
//! leaves behind is written in the step's own transaction, guarded by the job's lease.

use std::collections::HashMap;

use serde_json::json;

use super::{
    Engine, EventRow, MAPPING_CHUNK, RelationalStore, VersionCopy, all, append_event,
    append_events, copy_versions, ensure_folders, exec, folder_id, insert_versions, one,
    push_subtree, q,
};
use crate::model::{
    AssetId, FileRecord, FolderPath, FolderTransfer, Principal, Timestamp, TransferKind,
    VersionRecord,
};
use crate::store::sql::{FILE_COLUMNS, FILE_FROM_CURRENT, RowAccess, Statement, file_from_row};
use crate::store::transfer::{TransferCursor, TransferPhase};
use crate::store::{JobFence, MAX_VERSIONS, StoreError, event};

/// How a source's versions join its namesake's history.
#[derive(Debug, Clone, Copy)]
pub(super) enum Append {
    /// Copies of the current version, or of every version.
    Copies { all: bool },
    /// The versions themselves (ids and blobs kept); the source file goes away.
    Moves,
}

/// What became of one (source, namesake) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Appended {
    Done,
    /// The namesake would pass the version limit; nothing was done for this pair.
    TooMany,
    /// The namesake was deleted meanwhile; nothing was done for this pair.
    Vanished,
}

/// Appends each source's versions to the end of its namesake's history and makes the
/// source's current version (or its copy) current there — for many pairs in a few
/// statements, since a folder job may meet thousands of namesakes per step.
async fn append_to_namesakes<E: Engine>(
    tx: &mut E::Tx,
    pairs: &[(&FileRecord, &str)],
    how: Append,
    now: Timestamp,
) -> Result<Vec<Appended>, StoreError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut st = Statement::new("SELECT id FROM files WHERE id IN (");
    st.bind_list(pairs.iter().map(|p| p.1))
        .push(&format!("){}", E::dialect().lock_row));
    let mut stats: HashMap<String, (u32, u32)> = all::<E>(tx, st)
        .await?
        .iter()
        .map(|r| Ok((r.text("id")?, (0, 0))))
        .collect::<Result<_, StoreError>>()?;
    let mut st = Statement::new(
        "SELECT file_id, COUNT(*) AS n, MAX(number) AS top FROM file_versions WHERE file_id IN (",
    );
    st.bind_list(pairs.iter().map(|p| p.1))
        .push(") GROUP BY file_id");
    for row in all::<E>(tx, st).await? {
        let counts = (row.int("n")? as u32, row.int("top")? as u32);
        if let Some(entry) = stats.get_mut(&row.text("file_id")?) {
            *entry = counts;
        }
    }
    let mut history: HashMap<String, Vec<String>> = HashMap::new();
    if matches!(how, Append::Copies { all: true } | Append::Moves) {
        let mut st = Statement::new("SELECT id, file_id FROM file_versions WHERE file_id IN (");
        st.bind_list(pairs.iter().map(|p| p.0.id.as_str()))
            .push(") ORDER BY file_id, number");
        for row in all::<E>(tx, st).await? {
            history
                .entry(row.text("file_id")?)
                .or_default()
                .push(row.text("id")?);
        }
    }
    let mut outcomes = Vec::with_capacity(pairs.len());
    let (mut copies, mut renumbered, mut currents, mut gone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (source, target) in pairs {
        let Some(&(count, top)) = stats.get(*target) else {
            outcomes.push(Appended::Vanished);
            continue;
        };
        let versions = history
            .remove(source.id.as_str())
            .unwrap_or_else(|| vec![source.version.id.to_string()]);
        if count as usize + versions.len() > MAX_VERSIONS as usize {
            outcomes.push(Appended::TooMany);
            continue;
        }
        outcomes.push(Appended::Done);
        let mut current = source.version.id.to_string();
        for (i, version) in versions.into_iter().enumerate() {
            let number = top + 1 + i as u32;
            match how {
                Append::Copies { .. } => {
                    let id = AssetId::generate().to_string();
                    if version == source.version.id.as_str() {
                        current = id.clone();
                    }
                    copies.push(VersionCopy {
                        source: version,
                        id,
                        file: (*target).to_owned(),
                        number,
                    });
                }
                Append::Moves => renumbered.push((version, (*target).to_owned(), number)),
            }
        }
        currents.push(((*target).to_owned(), current));
        if matches!(how, Append::Moves) {
            gone.push(source.id.as_str());
        }
    }
    copy_versions::<E>(tx, &copies, now).await?;
    for chunk in renumbered.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new(
            "UPDATE file_versions SET file_id = m.column2, number = m.column3 FROM (VALUES ",
        );
        for (i, (version, target, number)) in chunk.iter().enumerate() {
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(version.as_str())
                .push(", ")
                .bind(target.as_str())
                .push(", ")
                .bind(*number)
                .push(")");
        }
        st.push(") AS m WHERE file_versions.id = m.column1");
        E::execute(tx, &st).await?;
    }
    for chunk in currents.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new("UPDATE files SET updated_at = ");
        st.bind(now)
            .push(", current_version_id = m.column2 FROM (VALUES ");
        for (i, (target, current)) in chunk.iter().enumerate() {
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(target.as_str())
                .push(", ")
                .bind(current.as_str())
                .push(")");
        }
        st.push(") AS m WHERE files.id = m.column1");
        E::execute(tx, &st).await?;
    }
    for chunk in gone.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new("DELETE FROM files WHERE id IN (");
        st.bind_list(chunk.iter().copied()).push(")");
        E::execute(tx, &st).await?;
    }
    Ok(outcomes)
}

/// `append_to_namesakes` for one pair, with the version limit as an error.
pub(super) async fn append_to_namesake<E: Engine>(
    tx: &mut E::Tx,
    source: &FileRecord,
    target: &str,
    how: Append,
    now: Timestamp,
) -> Result<(), StoreError> {
    match append_to_namesakes::<E>(tx, &[(source, target)], how, now)
        .await?
        .first()
    {
        Some(Appended::Done) => Ok(()),
        Some(Appended::TooMany) => Err(StoreError::VersionLimit(MAX_VERSIONS)),
        _ => Err(StoreError::Corrupt(format!(
            "file {target} vanished while locked"
        ))),
    }
}

/// Writes a job step's new cursor, only while `fence` still holds the lease; otherwise the
/// whole step is rolled back.
async fn record_progress<E: Engine>(
    tx: &mut E::Tx,
    fence: JobFence<'_>,
    cursor: &TransferCursor,
    now: Timestamp,
) -> Result<(), StoreError> {
    let updated = exec::<E>(
        tx,
        q("UPDATE jobs SET progress = $1, updated_at = $2
           WHERE id = $3 AND lease_owner = $4 AND state = 'running'")
        .arg(cursor.to_json().to_string())
        .arg(now)
        .arg(fence.job_id)
        .arg(fence.node),
    )
    .await?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

impl<E: Engine> RelationalStore<E> {
    /// One fenced step of a folder transfer; see `MetadataStore::advance_transfer`.
    pub(super) async fn advance(
        &self,
        transfer: &FolderTransfer,
        cursor: &TransferCursor,
        batch: u32,
        fence: JobFence<'_>,
        actor: &Principal,
    ) -> Result<TransferCursor, StoreError> {
        let now = Timestamp::now();
        let mut next = cursor.clone();
        let mut tx = self.engine.begin().await?;
        match cursor.phase {
            TransferPhase::Start => {
                self.start_transfer(&mut tx, transfer, &mut next, actor, now)
                    .await?
            }
            TransferPhase::Files => {
                self.transfer_batch(&mut tx, transfer, &mut next, batch.max(1), actor, now)
                    .await?
            }
            TransferPhase::Cleanup => {
                self.clean_up_source(&mut tx, transfer, actor, now).await?;
                next.phase = TransferPhase::Done;
            }
            TransferPhase::Done => return Ok(next),
        }
        record_progress::<E>(&mut tx, fence, &next, now).await?;
        E::commit(tx).await?;
        Ok(next)
    }

    /// Decides how a transfer runs and prepares the target: a path rewrite when the target
    /// does not exist (move, rename), else the target folders for a file-by-file transfer.
    async fn start_transfer(
        &self,
        tx: &mut E::Tx,
        transfer: &FolderTransfer,
        cursor: &mut TransferCursor,
        actor: &Principal,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let source = &transfer.source;
        if folder_id::<E>(tx, source).await?.is_none() {
            return Err(StoreError::FolderNotFound(source.to_string()));
        }
        let target_exists = folder_id::<E>(tx, &transfer.target).await?.is_some();
        match transfer.kind {
            TransferKind::Rename if target_exists => {
                return Err(StoreError::FolderExists(transfer.target.to_string()));
            }
            TransferKind::Rename | TransferKind::Move if !target_exists => {
                let parent = transfer.target.parent().unwrap_or_else(FolderPath::root);
                ensure_folders::<E>(tx, &parent, actor, now).await?;
                self.rewrite_paths(tx, transfer, now).await?;
                append_event::<E>(
                    tx,
                    event::FOLDER_MOVED,
                    source.as_str(),
                    actor,
                    json!({ "from": source.as_str(), "to": transfer.target.as_str() }),
                    now,
                )
                .await?;
                cursor.phase = TransferPhase::Done;
                return Ok(());
            }
            _ => {}
        }
        let mut st = Statement::new("SELECT path FROM folders WHERE ");
        push_subtree(&mut st, "path", source);
        st.push(" ORDER BY path");
        for row in all::<E>(tx, st).await? {
            let path = FolderPath::from_stored(row.text("path")?);
            if let Some(target) = transfer.map(&path) {
                ensure_folders::<E>(tx, &target, actor, now).await?;
            }
        }
        cursor.phase = TransferPhase::Files;
        cursor.folder = source.to_string();
        cursor.name.clear();
        Ok(())
    }

    /// Renames a whole subtree by rewriting its folder rows' paths. Files refer to their
    /// folder by id, so none of them changes: the cost is the number of folders.
    async fn rewrite_paths(
        &self,
        tx: &mut E::Tx,
        transfer: &FolderTransfer,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let source = transfer.source.as_str();
        let target = transfer.target.as_str();
        let parent = transfer.target.parent().unwrap_or_else(FolderPath::root);
        let keep_from = source.chars().count() as i64 + 1;
        let mut st = Statement::new("UPDATE folders SET path = ");
        st.bind(target)
            .push(" || substr(path, CAST(")
            .bind(keep_from)
            .push(" AS INTEGER)), parent_path = CASE WHEN path = ")
            .bind(source)
            .push(" THEN ")
            .bind(parent.as_str())
            .push(" ELSE ")
            .bind(target)
            .push(" || substr(parent_path, CAST(")
            .bind(keep_from)
            .push(" AS INTEGER)) END, name = CASE WHEN path = ")
            .bind(source)
            .push(" THEN ")
            .bind(transfer.target.name())
            .push(" ELSE name END, updated_at = ")
            .bind(now)
            .push(" WHERE ");
        push_subtree(&mut st, "path", &transfer.source);
        E::execute(tx, &st).await?;
        Ok(())
    }

    /// Transfers the next batch of files of the folder under the cursor, skipping to the
    /// next folder of the subtree when that one is exhausted.
    async fn transfer_batch(
        &self,
        tx: &mut E::Tx,
        transfer: &FolderTransfer,
        cursor: &mut TransferCursor,
        batch: u32,
        actor: &Principal,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        loop {
            let current = FolderPath::from_stored(cursor.folder.clone());
            if let Some(source_folder) = folder_id::<E>(tx, &current).await? {
                // The batch is read whole in one statement; its file rows stay shared-locked
                // (PostgreSQL) so a concurrent delete cannot free their blobs under the copy.
                let sql = format!(
                    "SELECT {FILE_COLUMNS} FROM {FILE_FROM_CURRENT}
                     WHERE f.folder_id = $1 AND f.name > $2 ORDER BY f.name LIMIT $3{}",
                    E::dialect().share_file
                );
                let sources = all::<E>(
                    tx,
                    q(&sql)
                        .arg(source_folder.as_str())
                        .arg(cursor.name.as_str())
                        .arg(batch),
                )
                .await?
                .iter()
                .map(file_from_row)
                .collect::<Result<Vec<_>, _>>()?;
                if !sources.is_empty() {
                    let target = transfer.map(&current).ok_or_else(|| {
                        StoreError::Corrupt(format!("{current} is outside the transfer"))
                    })?;
                    return self
                        .transfer_files(tx, transfer, &sources, &target, cursor, actor, now)
                        .await;
                }
            }
            let mut st = Statement::new("SELECT path FROM folders WHERE ");
            push_subtree(&mut st, "path", &transfer.source);
            st.push(" AND path > ")
                .bind(cursor.folder.as_str())
                .push(" ORDER BY path LIMIT 1");
            match one::<E>(tx, st).await? {
                Some(row) => {
                    cursor.folder = row.text("path")?;
                    cursor.name.clear();
                }
                None => {
                    cursor.phase = match transfer.kind {
                        TransferKind::Copy { .. } => TransferPhase::Done,
                        TransferKind::Move | TransferKind::Rename => TransferPhase::Cleanup,
                    };
                    return Ok(());
                }
            }
        }
    }

    /// Copies or moves `sources` (files of one source folder, in name order) into `target`.
    #[allow(clippy::too_many_arguments)]
    async fn transfer_files(
        &self,
        tx: &mut E::Tx,
        transfer: &FolderTransfer,
        sources: &[FileRecord],
        target: &FolderPath,
        cursor: &mut TransferCursor,
        actor: &Principal,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let target_folder = ensure_folders::<E>(tx, target, actor, now).await?;
        // Namesakes at the target: one range scan of the (folder, name) index over the batch's
        // names (which come in name order). An `IN (…1000 names)` list instead gets a generic
        // plan on PostgreSQL that filters every file of the target folder, each step.
        let mut existing = HashMap::new();
        if let (Some(first), Some(last)) = (sources.first(), sources.last()) {
            let rows = all::<E>(
                tx,
                q("SELECT id, name FROM files WHERE folder_id = $1 AND name >= $2 AND name <= $3")
                    .arg(target_folder.as_str())
                    .arg(first.name.as_str())
                    .arg(last.name.as_str()),
            )
            .await?;
            for row in rows {
                existing.insert(row.text("name")?, row.text("id")?);
            }
        }
        let mut fresh = Vec::new();
        let mut namesakes = Vec::new();
        for source in sources {
            match existing.get(source.name.as_str()) {
                Some(target_id) => namesakes.push((source, target_id.as_str())),
                None => fresh.push(source),
            }
        }
        if let Some(last) = sources.last() {
            cursor.name = last.name.to_string();
        }
        let how = match transfer.kind {
            TransferKind::Copy { include_versions } => Append::Copies {
                all: include_versions,
            },
            TransferKind::Move | TransferKind::Rename => Append::Moves,
        };
        let outcomes = append_to_namesakes::<E>(tx, &namesakes, how, now).await?;
        let mut events = Vec::new();
        for ((source, target_id), outcome) in namesakes.iter().zip(outcomes) {
            match outcome {
                Appended::Done => {
                    cursor.files += 1;
                    cursor.merged += 1;
                    events.push(EventRow {
                        kind: event::FILE_VERSION_CREATED,
                        subject: (*target_id).to_owned(),
                        payload: json!({
                            "fileId": target_id,
                            "filePath": target.join_file(&source.name),
                            "from": source.file_path(),
                        }),
                    });
                }
                Appended::TooMany => cursor.skip(source.file_path()),
                // Deleted since the lookup: the name is free again.
                Appended::Vanished => fresh.push(source),
            }
        }
        match transfer.kind {
            TransferKind::Copy { include_versions } => {
                self.copy_fresh(
                    tx,
                    &fresh,
                    include_versions,
                    target,
                    &target_folder,
                    &mut events,
                    now,
                )
                .await?;
            }
            TransferKind::Move | TransferKind::Rename => {
                if !fresh.is_empty() {
                    let mut st = Statement::new("UPDATE files SET folder_id = ");
                    st.bind(target_folder.as_str())
                        .push(", updated_at = ")
                        .bind(now)
                        .push(" WHERE id IN (");
                    st.bind_list(fresh.iter().map(|f| f.id.as_str())).push(")");
                    E::execute(tx, &st).await?;
                    events.extend(fresh.iter().map(|f| EventRow {
                        kind: event::FILE_MOVED,
                        subject: f.id.to_string(),
                        payload: json!({
                            "fileId": f.id.as_str(),
                            "from": f.file_path(),
                            "to": target.join_file(&f.name),
                        }),
                    }));
                }
            }
        }
        cursor.files += fresh.len() as u64;
        append_events::<E>(tx, &events, actor, now).await
    }

    /// Creates copies of files that have no namesake at the target, in bulk.
    #[allow(clippy::too_many_arguments)]
    async fn copy_fresh(
        &self,
        tx: &mut E::Tx,
        sources: &[&FileRecord],
        include_versions: bool,
        target: &FolderPath,
        target_folder: &str,
        events: &mut Vec<EventRow>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if sources.is_empty() {
            return Ok(());
        }
        let mut history: HashMap<String, Vec<String>> = HashMap::new();
        if include_versions {
            let mut st = Statement::new("SELECT id, file_id FROM file_versions WHERE file_id IN (");
            st.bind_list(sources.iter().map(|f| f.id.as_str()))
                .push(") ORDER BY file_id, number");
            for row in all::<E>(tx, st).await? {
                history
                    .entry(row.text("file_id")?)
                    .or_default()
                    .push(row.text("id")?);
            }
        }
        let mut copies = Vec::new();
        let mut files = Vec::with_capacity(sources.len());
        for source in sources {
            let new_id = AssetId::generate().to_string();
            let versions = history
                .remove(source.id.as_str())
                .unwrap_or_else(|| vec![source.version.id.to_string()]);
            let mut current = new_id.clone();
            for (i, v) in versions.into_iter().enumerate() {
                let id = if i == 0 {
                    new_id.clone()
                } else {
                    AssetId::generate().to_string()
                };
                if v == source.version.id.as_str() {
                    current = id.clone();
                }
                copies.push(VersionCopy {
                    source: v,
                    id,
                    file: new_id.clone(),
                    number: i as u32 + 1,
                });
            }
            events.push(EventRow {
                kind: event::FILE_CREATED,
                subject: new_id.clone(),
                payload: json!({
                    "fileId": &new_id,
                    "filePath": target.join_file(&source.name),
                    "copiedFrom": source.id.as_str(),
                }),
            });
            files.push((new_id, source.name.as_str(), current));
        }
        // Without history, every copy is one version whose row is already in hand: insert it
        // from values rather than joining back to the source row (an index lookup a row).
        let fresh_versions: Vec<VersionRecord> = if include_versions {
            Vec::new()
        } else {
            sources
                .iter()
                .zip(&files)
                .map(|(source, (id, _, _))| VersionRecord {
                    id: AssetId::from_stored(id.clone()),
                    file_id: AssetId::from_stored(id.clone()),
                    number: 1,
                    created_at: now,
                    updated_at: now,
                    ..source.version.clone()
                })
                .collect()
        };
        for chunk in files.chunks(MAPPING_CHUNK) {
            let mut st = Statement::new(
                "INSERT INTO files (id, folder_id, name, current_version_id, created_at, updated_at)
                 VALUES ",
            );
            for (i, (id, name, current)) in chunk.iter().enumerate() {
                st.push(if i > 0 { ", (" } else { "(" });
                st.bind(id.as_str())
                    .push(", ")
                    .bind(target_folder)
                    .push(", ")
                    .bind(*name)
                    .push(", ")
                    .bind(current.as_str())
                    .push(", ")
                    .bind(now)
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
            E::execute(tx, &st).await?;
        }
        if include_versions {
            copy_versions::<E>(tx, &copies, now).await
        } else {
            insert_versions::<E>(tx, &fresh_versions).await
        }
    }

    /// Removes the source folders a move emptied, deepest first. Folders that still hold
    /// files (skipped ones, or uploads that arrived during the move) stay.
    async fn clean_up_source(
        &self,
        tx: &mut E::Tx,
        transfer: &FolderTransfer,
        actor: &Principal,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        loop {
            let mut st = Statement::new("DELETE FROM folders WHERE ");
            push_subtree(&mut st, "path", &transfer.source);
            st.push(
                " AND NOT EXISTS (SELECT 1 FROM files WHERE files.folder_id = folders.id)
                  AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_path = folders.path)",
            );
            if E::execute(tx, &st).await? == 0 {
                break;
            }
        }
        append_event::<E>(
            tx,
            event::FOLDER_MOVED,
            transfer.source.as_str(),
            actor,
            json!({ "from": transfer.source.as_str(), "to": transfer.target.as_str() }),
            now,
        )
        .await
    }
}
