//! The metadata store, written once for both SQL engines. An `Engine` supplies transactions,
//! statement execution and row access; everything else — the statements, the transaction
//! boundaries, the rules — lives here, so SQLite and PostgreSQL cannot drift apart.
//!
//! Concurrency: SQLite runs every write transaction alone (`BEGIN IMMEDIATE` on a single
//! writer connection). PostgreSQL runs them side by side, so the statements below lock what
//! they rely on with the dialect's `lock_row`/`share_row` clauses, which are empty on SQLite.

use std::collections::HashMap;

mod custom_fields;
mod folder_transfer;
mod named_transformations;
mod search_feed;

use async_trait::async_trait;
use serde_json::{Value, json};

use folder_transfer::{Append, append_to_namesake};

use super::sql::{
    self, Arg, Dialect, FILE_COLUMNS, FILE_FROM_CURRENT, FILE_FROM_VERSIONS, JOB_COLUMNS,
    ROOT_FOLDER_ID, RowAccess, Statement, ai_tags_json, file_from_row, folder_from_row,
    job_from_row, job_outcome_columns, q, tags_json,
};
use super::{
    BlobReferences, Cell, DeletedFiles, DerivedImage, JobFence, LoggedEvent, MAX_VERSIONS,
    MetadataStore, NewUpload, PurgeRecord, StoreError, Table, UnreadVersion, VersionDeletion,
    event,
};
use crate::model::search::{IndexedFolder, IndexedVersion, indexed_custom_words};
use crate::model::transform::NamedTransformation;
use crate::model::{
    AssetId, AttributeUpdate, CustomField, FieldUpdate, FileName, FileRecord, FolderPath,
    FolderRecord, FolderTransfer, JobOutcome, JobRecord, ListQuery, ListedAsset, MediaInfo,
    Principal, TagChange, Timestamp, VersionRecord,
};
use crate::store::transfer::TransferCursor;

/// What a SQL engine provides to the shared store.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    type Tx: Send;
    type Row: RowAccess + Send + Sync;

    fn dialect() -> &'static Dialect;
    /// Starts a write transaction.
    async fn begin(&self) -> Result<Self::Tx, StoreError>;
    async fn commit(tx: Self::Tx) -> Result<(), StoreError>;
    async fn execute(tx: &mut Self::Tx, statement: &Statement) -> Result<u64, StoreError>;
    async fn fetch(tx: &mut Self::Tx, statement: &Statement) -> Result<Vec<Self::Row>, StoreError>;
    /// Runs a read outside any write transaction (SQLite: on the read pool).
    async fn read(&self, statement: &Statement) -> Result<Vec<Self::Row>, StoreError>;
}

pub struct RelationalStore<E> {
    pub(crate) engine: E,
}

impl<E: Engine> RelationalStore<E> {
    pub fn new(engine: E) -> Self {
        RelationalStore { engine }
    }

    /// Brings derived columns up to date; run once when the store opens, after migrations.
    pub(crate) async fn fill_derived_columns(&self) -> Result<(), StoreError> {
        let mut tx = self.engine.begin().await?;
        fill_tag_words::<E>(&mut tx).await?;
        fill_custom_words::<E>(&mut tx).await?;
        E::commit(tx).await
    }

    async fn read_one(&self, statement: Statement) -> Result<Option<E::Row>, StoreError> {
        Ok(self.engine.read(&statement).await?.into_iter().next())
    }

    /// One statement in its own transaction.
    async fn write(&self, statement: Statement) -> Result<u64, StoreError> {
        let mut tx = self.engine.begin().await?;
        let n = E::execute(&mut tx, &statement).await?;
        E::commit(tx).await?;
        Ok(n)
    }
}

/// Versions copied or moved per statement; 4 arguments each.
const MAPPING_CHUNK: usize = 1000;

async fn exec<E: Engine>(tx: &mut E::Tx, statement: Statement) -> Result<u64, StoreError> {
    E::execute(tx, &statement).await
}

async fn one<E: Engine>(
    tx: &mut E::Tx,
    statement: Statement,
) -> Result<Option<E::Row>, StoreError> {
    Ok(E::fetch(tx, &statement).await?.into_iter().next())
}

async fn all<E: Engine>(tx: &mut E::Tx, statement: Statement) -> Result<Vec<E::Row>, StoreError> {
    E::fetch(tx, &statement).await
}

fn is_unique_violation(err: &StoreError) -> bool {
    matches!(err, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// `(path = $a OR substr(path, 1, $b) = $c)`: the folder and everything below it. `substr`
/// rather than LIKE because folder names may contain `_`, LIKE's wildcard.
fn push_subtree(st: &mut Statement, column: &str, folder: &FolderPath) {
    let prefix = format!("{}/", folder.as_str());
    st.push(&format!("({column} = "))
        .bind(folder.as_str())
        .push(&format!(" OR substr({column}, 1, CAST("))
        .bind(prefix.chars().count() as i64)
        .push(" AS INTEGER)) = ")
        .bind(prefix)
        .push(")");
}

struct EventRow {
    kind: &'static str,
    subject: String,
    payload: Value,
}

async fn append_events<E: Engine>(
    tx: &mut E::Tx,
    events: &[EventRow],
    actor: &Principal,
    at: Timestamp,
) -> Result<(), StoreError> {
    for chunk in events.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new(
            "INSERT INTO events (occurred_at, kind, subject_id, actor, payload) VALUES ",
        );
        for (i, e) in chunk.iter().enumerate() {
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(at)
                .push(", ")
                .bind(e.kind)
                .push(", ")
                .bind(e.subject.as_str())
                .push(", ")
                .bind(actor.audit_name())
                .push(", ")
                .bind(e.payload.to_string())
                .push(")");
        }
        E::execute(tx, &st).await?;
    }
    Ok(())
}

async fn append_event<E: Engine>(
    tx: &mut E::Tx,
    kind: &'static str,
    subject: &str,
    actor: &Principal,
    payload: Value,
    at: Timestamp,
) -> Result<(), StoreError> {
    let row = EventRow {
        kind,
        subject: subject.to_owned(),
        payload,
    };
    append_events::<E>(tx, std::slice::from_ref(&row), actor, at).await
}

async fn folder_id<E: Engine>(
    tx: &mut E::Tx,
    folder: &FolderPath,
) -> Result<Option<String>, StoreError> {
    let row = one::<E>(
        tx,
        q("SELECT id FROM folders WHERE path = $1").arg(folder.as_str()),
    )
    .await?;
    row.map(|r| r.text("id")).transpose()
}

/// Creates `folder` and its missing ancestors; returns the folder's id.
async fn ensure_folders<E: Engine>(
    tx: &mut E::Tx,
    folder: &FolderPath,
    actor: &Principal,
    now: Timestamp,
) -> Result<String, StoreError> {
    if folder.is_root() {
        return Ok(ROOT_FOLDER_ID.to_owned());
    }
    if let Some(id) = folder_id::<E>(tx, folder).await? {
        return Ok(id);
    }
    for path in folder.lineage() {
        let parent = path.parent().unwrap_or_else(FolderPath::root);
        let id = AssetId::generate();
        let inserted = exec::<E>(
            tx,
            q(
                "INSERT INTO folders (id, path, parent_path, name, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO NOTHING",
            )
            .arg(&id)
            .arg(path.as_str())
            .arg(parent.as_str())
            .arg(path.name())
            .arg(now)
            .arg(now),
        )
        .await?;
        if inserted == 1 {
            append_event::<E>(
                tx,
                event::FOLDER_CREATED,
                id.as_str(),
                actor,
                json!({ "folderPath": path.as_str() }),
                now,
            )
            .await?;
        }
    }
    folder_id::<E>(tx, folder)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("folder {folder} vanished while created")))
}

/// Reads a file with its current version and locks its row until the transaction ends, so
/// concurrent changes to one file apply one after the other.
async fn file_in_tx<E: Engine>(tx: &mut E::Tx, id: &str) -> Result<Option<FileRecord>, StoreError> {
    // Lock the file row on its own first: a locking read over the join would, after waiting,
    // re-check the join against the new current version id but the old version rows and
    // miss the file entirely. The read after the lock sees the committed state.
    let lock = format!(
        "SELECT id FROM files WHERE id = $1{}",
        E::dialect().lock_row
    );
    if one::<E>(tx, q(&lock).arg(id)).await?.is_none() {
        return Ok(None);
    }
    let sql = format!("SELECT {FILE_COLUMNS} FROM {FILE_FROM_CURRENT} WHERE f.id = $1");
    one::<E>(tx, q(&sql).arg(id))
        .await?
        .as_ref()
        .map(file_from_row)
        .transpose()
}

async fn insert_version<E: Engine>(
    tx: &mut E::Tx,
    version: &VersionRecord,
) -> Result<(), StoreError> {
    insert_versions::<E>(tx, std::slice::from_ref(version)).await
}

/// Inserts version rows, many per statement.
async fn insert_versions<E: Engine>(
    tx: &mut E::Tx,
    versions: &[VersionRecord],
) -> Result<(), StoreError> {
    // 29 arguments a row, within both engines' per-statement limits.
    for chunk in versions.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new(
            "INSERT INTO file_versions (id, file_id, number, blob_hash, size, mime, format,
                file_type, width, height, has_alpha, tags, ai_tags, custom_coordinates,
                custom_metadata, description, is_private, is_published, created_at, updated_at,
                tag_words, custom_words, embedded_metadata, media_metadata, gps_lat, gps_lng,
                gps_x, gps_y, gps_z)
             VALUES ",
        );
        for (i, version) in chunk.iter().enumerate() {
            let a = &version.attributes;
            let m = &version.media;
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind_list([
                Arg::from(&version.id),
                Arg::from(&version.file_id),
                Arg::from(version.number),
                Arg::from(&version.blob),
                Arg::from(version.size as i64),
                Arg::from(&m.mime),
                Arg::from(&m.format),
                Arg::from(m.kind.as_str()),
                Arg::from(m.width.map(i64::from)),
                Arg::from(m.height.map(i64::from)),
                Arg::from(m.has_alpha),
                Arg::from(tags_json(&a.tags)),
                Arg::from(ai_tags_json(&a.ai_tags)),
                Arg::from(a.custom_coordinates.as_ref()),
                Arg::from(Value::Object(a.custom_metadata.clone()).to_string()),
                Arg::from(a.description.as_ref()),
                Arg::from(a.is_private),
                Arg::from(a.is_published),
                Arg::from(version.created_at),
                Arg::from(version.updated_at),
                Arg::from(tag_words(&a.tags, &a.ai_tags)),
                Arg::from(indexed_custom_words(&a.custom_metadata)),
                Arg::from(Value::Object(m.embedded.clone()).to_string()),
                Arg::from(m.technical.clone()),
            ]);
            st.push(", ");
            st.bind_list(sql::location_args(&m.embedded));
            st.push(")");
        }
        E::execute(tx, &st).await?;
    }
    Ok(())
}

/// The `tag_words` column of a version with these tags.
fn tag_words(tags: &Option<Vec<String>>, ai_tags: &Option<Vec<crate::model::AiTag>>) -> String {
    let tags = tags.iter().flatten().map(String::as_str);
    let ai = ai_tags.iter().flatten().map(|t| t.name.as_str());
    crate::model::search::indexed_words(tags.chain(ai))
}

/// Computes `tag_words` where it is missing: rows from before migration 4 and bulk imports.
/// The partial index on `tag_words IS NULL` makes this a no-op lookup when none are.
pub(crate) async fn fill_tag_words<E: Engine>(tx: &mut E::Tx) -> Result<u64, StoreError> {
    let mut filled = 0;
    loop {
        let rows = E::fetch(
            tx,
            &q("SELECT id, tags, ai_tags FROM file_versions WHERE tag_words IS NULL LIMIT 1000"),
        )
        .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut st = Statement::new("UPDATE file_versions SET tag_words = m.column2 FROM (VALUES ");
        for (i, row) in rows.iter().enumerate() {
            let names = sql::tag_names(row)?;
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(row.text("id")?)
                .push(", ")
                .bind(crate::model::search::indexed_words(
                    names.iter().map(String::as_str),
                ))
                .push(")");
        }
        st.push(") AS m WHERE file_versions.id = m.column1");
        filled += E::execute(tx, &st).await?;
    }
}

/// Computes `custom_words` where it is missing (bulk imports), as `fill_tag_words` does.
pub(crate) async fn fill_custom_words<E: Engine>(tx: &mut E::Tx) -> Result<u64, StoreError> {
    let mut filled = 0;
    loop {
        let rows = E::fetch(
            tx,
            &q("SELECT id, custom_metadata FROM file_versions WHERE custom_words IS NULL LIMIT 1000"),
        )
        .await?;
        if rows.is_empty() {
            return Ok(filled);
        }
        let mut st =
            Statement::new("UPDATE file_versions SET custom_words = m.column2 FROM (VALUES ");
        for (i, row) in rows.iter().enumerate() {
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(row.text("id")?)
                .push(", ")
                .bind(indexed_custom_words(&sql::custom_metadata(row)?))
                .push(")");
        }
        st.push(") AS m WHERE file_versions.id = m.column1");
        filled += E::execute(tx, &st).await?;
    }
}

/// Writes the attributes of `file`'s current version (as changed in memory), touches the
/// file, and logs the change.
async fn save_attributes<E: Engine>(
    tx: &mut E::Tx,
    file: &mut FileRecord,
    actor: &Principal,
    now: Timestamp,
) -> Result<(), StoreError> {
    let a = &file.version.attributes;
    exec::<E>(
        tx,
        q(
            "UPDATE file_versions SET tags = $1, ai_tags = $2, custom_coordinates = $3,
             custom_metadata = $4, description = $5, is_published = $6, updated_at = $7,
             tag_words = $9, custom_words = $10
           WHERE id = $8",
        )
        .arg(tags_json(&a.tags))
        .arg(ai_tags_json(&a.ai_tags))
        .arg(a.custom_coordinates.as_ref())
        .arg(Value::Object(a.custom_metadata.clone()).to_string())
        .arg(a.description.as_ref())
        .arg(a.is_published)
        .arg(now)
        .arg(&file.version.id)
        .arg(tag_words(&a.tags, &a.ai_tags))
        .arg(indexed_custom_words(&a.custom_metadata)),
    )
    .await?;
    exec::<E>(
        tx,
        q("UPDATE files SET updated_at = $1 WHERE id = $2")
            .arg(now)
            .arg(&file.id),
    )
    .await?;
    append_event::<E>(
        tx,
        event::FILE_UPDATED,
        file.id.as_str(),
        actor,
        json!({
            "fileId": file.id.as_str(),
            "versionId": file.version.id.as_str(),
            "tags": &a.tags,
            "AITags": a.ai_tags.as_ref().map(|t| t.iter().map(|t| t.name.clone()).collect::<Vec<_>>()),
            "customCoordinates": &a.custom_coordinates,
            "description": &a.description,
            "isPublished": a.is_published,
        }),
        now,
    )
    .await?;
    file.updated_at = now;
    file.version.updated_at = now;
    Ok(())
}

/// (number of versions, highest version number) of a file.
async fn version_stats<E: Engine>(tx: &mut E::Tx, file: &str) -> Result<(u32, u32), StoreError> {
    let row = one::<E>(
        tx,
        q(
            "SELECT COUNT(*) AS n, COALESCE(MAX(number), 0) AS top FROM file_versions
           WHERE file_id = $1",
        )
        .arg(file),
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt("aggregate returned no row".into()))?;
    Ok((row.int("n")? as u32, row.int("top")? as u32))
}

/// A version to be copied: its source, its new id, the file it joins and its number there.
struct VersionCopy {
    source: String,
    id: String,
    file: String,
    number: u32,
}

/// Inserts copies of versions in bulk; the copies share the sources' blobs and attributes.
async fn copy_versions<E: Engine>(
    tx: &mut E::Tx,
    copies: &[VersionCopy],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in copies.chunks(MAPPING_CHUNK) {
        let mut st = Statement::new(
            "INSERT INTO file_versions (id, file_id, number, blob_hash, size, mime, format,
                file_type, width, height, has_alpha, tags, ai_tags, custom_coordinates,
                custom_metadata, description, is_private, is_published, tag_words, custom_words,
                embedded_metadata, media_metadata, gps_lat, gps_lng, gps_x, gps_y, gps_z,
                created_at, updated_at)
             SELECT m.column2, m.column3, m.column4, v.blob_hash, v.size, v.mime, v.format,
                v.file_type, v.width, v.height, v.has_alpha, v.tags, v.ai_tags,
                v.custom_coordinates, v.custom_metadata, v.description, v.is_private,
                v.is_published, v.tag_words, v.custom_words, v.embedded_metadata,
                v.media_metadata, v.gps_lat, v.gps_lng, v.gps_x, v.gps_y, v.gps_z, ",
        );
        st.bind(now).push(", ").bind(now).push(" FROM (VALUES ");
        for (i, c) in chunk.iter().enumerate() {
            st.push(if i > 0 { ", (" } else { "(" });
            st.bind(c.source.as_str())
                .push(", ")
                .bind(c.id.as_str())
                .push(", ")
                .bind(c.file.as_str())
                .push(", ")
                .bind(c.number)
                .push(")");
        }
        st.push(") AS m JOIN file_versions v ON v.id = m.column1");
        E::execute(tx, &st).await?;
    }
    Ok(())
}

/// Version ids of a file in history order (only the current one unless `all`).
async fn versions_to_copy<E: Engine>(
    tx: &mut E::Tx,
    file: &FileRecord,
    all: bool,
) -> Result<Vec<String>, StoreError> {
    if !all {
        return Ok(vec![file.version.id.to_string()]);
    }
    let rows = self::all::<E>(
        tx,
        q("SELECT id FROM file_versions WHERE file_id = $1 ORDER BY number").arg(&file.id),
    )
    .await?;
    rows.iter().map(|r| r.text("id")).collect()
}

impl<E: Engine> RelationalStore<E> {
    async fn try_commit_upload(
        &self,
        upload: &NewUpload,
        actor: &Principal,
    ) -> Result<FileRecord, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        // The sweeper may have started deleting the bytes since they were claimed. Holding
        // the blob row (PostgreSQL: FOR SHARE) makes a sweeper wait for this commit, after
        // which it sees the new reference.
        let state_sql = format!(
            "SELECT state FROM blobs WHERE hash = $1{}",
            E::dialect().share_row
        );
        let state = one::<E>(&mut tx, q(&state_sql).arg(&upload.blob))
            .await?
            .map(|r| r.text("state"))
            .transpose()?;
        if state.as_deref() != Some("live") {
            return Err(StoreError::BlobBusy);
        }
        let folder = ensure_folders::<E>(&mut tx, &upload.folder, actor, now).await?;
        let existing_id = one::<E>(
            &mut tx,
            q("SELECT id FROM files WHERE folder_id = $1 AND name = $2")
                .arg(folder.as_str())
                .arg(upload.name.as_str()),
        )
        .await?
        .map(|r| r.text("id"))
        .transpose()?;
        let existing = match existing_id {
            Some(id) => file_in_tx::<E>(&mut tx, &id).await?,
            None => None,
        };
        let record =
            match existing {
                Some(_) if !upload.replace_existing => return Err(StoreError::NameTaken),
                Some(previous) => {
                    let (count, top) = version_stats::<E>(&mut tx, previous.id.as_str()).await?;
                    if count >= MAX_VERSIONS {
                        return Err(StoreError::VersionLimit(MAX_VERSIONS));
                    }
                    let version = VersionRecord {
                        id: AssetId::generate(),
                        file_id: previous.id.clone(),
                        number: top + 1,
                        blob: upload.blob.clone(),
                        size: upload.size,
                        media: upload.media.clone(),
                        attributes: upload
                            .attributes
                            .resolve(Some(&previous.version.attributes)),
                        created_at: now,
                        updated_at: now,
                    };
                    insert_version::<E>(&mut tx, &version).await?;
                    exec::<E>(
                    &mut tx,
                    q("UPDATE files SET current_version_id = $1, updated_at = $2 WHERE id = $3")
                        .arg(&version.id)
                        .arg(now)
                        .arg(&previous.id),
                )
                .await?;
                    append_event::<E>(
                        &mut tx,
                        event::FILE_VERSION_CREATED,
                        previous.id.as_str(),
                        actor,
                        json!({
                            "fileId": previous.id.as_str(),
                            "versionId": version.id.as_str(),
                            "filePath": previous.file_path(),
                            "blob": &version.blob,
                        }),
                        now,
                    )
                    .await?;
                    FileRecord {
                        updated_at: now,
                        version,
                        is_current: true,
                        ..previous
                    }
                }
                None => {
                    let id = AssetId::generate();
                    // The first version shares the file's id, as ImageKit's does.
                    let version = VersionRecord {
                        id: id.clone(),
                        file_id: id.clone(),
                        number: 1,
                        blob: upload.blob.clone(),
                        size: upload.size,
                        media: upload.media.clone(),
                        attributes: upload.attributes.resolve(None),
                        created_at: now,
                        updated_at: now,
                    };
                    let inserted = exec::<E>(
                    &mut tx,
                    q("INSERT INTO files (id, folder_id, name, current_version_id, created_at,
                        updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .arg(&id)
                    .arg(folder.as_str())
                    .arg(upload.name.as_str())
                    .arg(&id)
                    .arg(now)
                    .arg(now),
                )
                .await;
                    match inserted {
                        Err(e) if is_unique_violation(&e) => return Err(StoreError::NameTaken),
                        other => other?,
                    };
                    insert_version::<E>(&mut tx, &version).await?;
                    let record = FileRecord {
                        id: id.clone(),
                        folder: upload.folder.clone(),
                        name: upload.name.clone(),
                        created_at: now,
                        updated_at: now,
                        version,
                        is_current: true,
                    };
                    append_event::<E>(
                        &mut tx,
                        event::FILE_CREATED,
                        id.as_str(),
                        actor,
                        json!({
                            "fileId": id.as_str(),
                            "filePath": record.file_path(),
                            "blob": &record.version.blob,
                        }),
                        now,
                    )
                    .await?;
                    record
                }
            };
        E::commit(tx).await?;
        Ok(record)
    }

    /// Copies or moves one file into `folder` inside `tx`; see `copy_file` and `move_file`.
    async fn transfer_file(
        &self,
        tx: &mut E::Tx,
        id: &AssetId,
        folder: &FolderPath,
        copy: Option<bool>,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let now = Timestamp::now();
        let Some(source) = file_in_tx::<E>(tx, id.as_str()).await? else {
            return Ok(None);
        };
        let target_folder = ensure_folders::<E>(tx, folder, actor, now).await?;
        let existing = one::<E>(
            tx,
            q("SELECT id FROM files WHERE folder_id = $1 AND name = $2")
                .arg(target_folder.as_str())
                .arg(source.name.as_str()),
        )
        .await?
        .map(|r| r.text("id"))
        .transpose()?;
        let target = match existing {
            Some(t) => file_in_tx::<E>(tx, &t).await?,
            None => None,
        };
        let result_id =
            match (copy, target) {
                (_, Some(t)) if t.id == source.id => t.id,
                (Some(include_versions), Some(t)) => {
                    let how = Append::Copies {
                        all: include_versions,
                    };
                    append_to_namesake::<E>(tx, &source, t.id.as_str(), how, now).await?;
                    append_event::<E>(
                        tx,
                        event::FILE_VERSION_CREATED,
                        t.id.as_str(),
                        actor,
                        json!({
                            "fileId": t.id.as_str(),
                            "filePath": t.file_path(),
                            "copiedFrom": source.id.as_str(),
                        }),
                        now,
                    )
                    .await?;
                    t.id
                }
                (Some(include_versions), None) => {
                    let versions = versions_to_copy::<E>(tx, &source, include_versions).await?;
                    let new_id = AssetId::generate();
                    let copies: Vec<VersionCopy> = versions
                        .iter()
                        .enumerate()
                        .map(|(i, v)| VersionCopy {
                            source: v.clone(),
                            // The first version shares the file's id, as in an upload.
                            id: if i == 0 {
                                new_id.to_string()
                            } else {
                                AssetId::generate().to_string()
                            },
                            file: new_id.to_string(),
                            number: i as u32 + 1,
                        })
                        .collect();
                    let current = copies
                        .iter()
                        .find(|c| c.source == source.version.id.as_str())
                        .map(|c| c.id.clone())
                        .unwrap_or_else(|| new_id.to_string());
                    exec::<E>(
                    tx,
                    q("INSERT INTO files (id, folder_id, name, current_version_id, created_at,
                        updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .arg(&new_id)
                    .arg(target_folder.as_str())
                    .arg(source.name.as_str())
                    .arg(current)
                    .arg(now)
                    .arg(now),
                )
                .await?;
                    copy_versions::<E>(tx, &copies, now).await?;
                    append_event::<E>(
                        tx,
                        event::FILE_CREATED,
                        new_id.as_str(),
                        actor,
                        json!({
                            "fileId": new_id.as_str(),
                            "filePath": folder.join_file(&source.name),
                            "copiedFrom": source.id.as_str(),
                        }),
                        now,
                    )
                    .await?;
                    new_id
                }
                (None, Some(t)) => {
                    append_to_namesake::<E>(tx, &source, t.id.as_str(), Append::Moves, now).await?;
                    append_event::<E>(
                        tx,
                        event::FILE_MOVED,
                        source.id.as_str(),
                        actor,
                        json!({
                            "fileId": source.id.as_str(),
                            "from": source.file_path(),
                            "to": t.file_path(),
                            "mergedInto": t.id.as_str(),
                        }),
                        now,
                    )
                    .await?;
                    t.id
                }
                (None, None) => {
                    exec::<E>(
                        tx,
                        q("UPDATE files SET folder_id = $1, updated_at = $2 WHERE id = $3")
                            .arg(target_folder.as_str())
                            .arg(now)
                            .arg(&source.id),
                    )
                    .await?;
                    append_event::<E>(
                        tx,
                        event::FILE_MOVED,
                        source.id.as_str(),
                        actor,
                        json!({
                            "fileId": source.id.as_str(),
                            "from": source.file_path(),
                            "to": folder.join_file(&source.name),
                        }),
                        now,
                    )
                    .await?;
                    source.id
                }
            };
        file_in_tx::<E>(tx, result_id.as_str()).await
    }
}

#[async_trait]
impl<E: Engine> MetadataStore for RelationalStore<E> {
    async fn ping(&self) -> Result<(), StoreError> {
        self.engine
            .read(&q("SELECT path FROM folders WHERE id = ''"))
            .await?;
        Ok(())
    }

    async fn claim_blob(&self, hash: &str, size: u64) -> Result<(), StoreError> {
        let claimed = self
            .write(
                q(
                    "INSERT INTO blobs (hash, size, state, claimed_at) VALUES ($1, $2, 'live', $3)
                   ON CONFLICT (hash) DO UPDATE SET claimed_at = excluded.claimed_at
                   WHERE blobs.state = 'live'",
                )
                .arg(hash)
                .arg(size as i64)
                .arg(Timestamp::now()),
            )
            .await?;
        if claimed == 1 {
            Ok(())
        } else {
            Err(StoreError::BlobBusy)
        }
    }

    async fn commit_upload(
        &self,
        upload: NewUpload,
        actor: &Principal,
    ) -> Result<FileRecord, StoreError> {
        // Two nodes creating the same new file at once: one insert loses on the unique
        // (folder, name); when replacing is allowed, run again and become its next version.
        let mut attempts = 0;
        loop {
            match self.try_commit_upload(&upload, actor).await {
                Err(StoreError::NameTaken) if upload.replace_existing && attempts < 3 => {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_file(&self, id: &AssetId) -> Result<Option<FileRecord>, StoreError> {
        let sql = format!("SELECT {FILE_COLUMNS} FROM {FILE_FROM_CURRENT} WHERE f.id = $1");
        self.read_one(q(&sql).arg(id))
            .await?
            .as_ref()
            .map(file_from_row)
            .transpose()
    }

    async fn find_file(
        &self,
        folder: &FolderPath,
        name: &FileName,
    ) -> Result<Option<FileRecord>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILE_FROM_CURRENT} WHERE d.path = $1 AND f.name = $2"
        );
        self.read_one(q(&sql).arg(folder.as_str()).arg(name.as_str()))
            .await?
            .as_ref()
            .map(file_from_row)
            .transpose()
    }

    async fn update_file(
        &self,
        id: &AssetId,
        update: &AttributeUpdate,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let Some(mut file) = file_in_tx::<E>(&mut tx, id.as_str()).await? else {
            return Ok(None);
        };
        update.apply(&mut file.version.attributes);
        save_attributes::<E>(&mut tx, &mut file, actor, now).await?;
        if let Some(publish) = update.publish.filter(|p| p.include_file_versions) {
            exec::<E>(
                &mut tx,
                q("UPDATE file_versions SET is_published = $1, updated_at = $2 WHERE file_id = $3")
                    .arg(publish.is_published)
                    .arg(now)
                    .arg(id),
            )
            .await?;
        }
        E::commit(tx).await?;
        Ok(Some(file))
    }

    async fn delete_files(
        &self,
        ids: &[AssetId],
        actor: &Principal,
    ) -> Result<DeletedFiles, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let mut deleted = DeletedFiles::default();
        for id in ids {
            let Some(file) = file_in_tx::<E>(&mut tx, id.as_str()).await? else {
                continue;
            };
            let blobs = all::<E>(
                &mut tx,
                q("SELECT blob_hash FROM file_versions WHERE file_id = $1").arg(id),
            )
            .await?
            .iter()
            .map(|r| r.text("blob_hash"))
            .collect::<Result<Vec<_>, _>>()?;
            exec::<E>(
                &mut tx,
                q("DELETE FROM file_versions WHERE file_id = $1").arg(id),
            )
            .await?;
            exec::<E>(&mut tx, q("DELETE FROM files WHERE id = $1").arg(id)).await?;
            append_event::<E>(
                &mut tx,
                event::FILE_DELETED,
                id.as_str(),
                actor,
                json!({
                    "fileId": id.as_str(),
                    "filePath": file.file_path(),
                    "blobs": &blobs,
                }),
                now,
            )
            .await?;
            deleted.ids.push(id.clone());
            deleted.blobs.extend(blobs);
        }
        E::commit(tx).await?;
        Ok(deleted)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ListedAsset>, StoreError> {
        let page: Vec<(bool, String)> = match sql::list_page_query(query, E::dialect()) {
            Some(st) => self
                .engine
                .read(&st)
                .await?
                .iter()
                .map(|r| Ok((r.text("kind")? == "folder", r.text("id")?)))
                .collect::<Result<_, StoreError>>()?,
            None => Vec::new(),
        };
        self.listed_assets(&page).await
    }

    async fn listed_assets(&self, page: &[(bool, String)]) -> Result<Vec<ListedAsset>, StoreError> {
        let folder_ids: Vec<&str> = page
            .iter()
            .filter(|(folder, _)| *folder)
            .map(|(_, id)| id.as_str())
            .collect();
        let version_ids: Vec<&str> = page
            .iter()
            .filter(|(folder, _)| !*folder)
            .map(|(_, id)| id.as_str())
            .collect();
        let mut folders = HashMap::new();
        if !folder_ids.is_empty() {
            let mut st = Statement::new(
                "SELECT id, path, created_at, updated_at FROM folders WHERE id IN (",
            );
            st.bind_list(folder_ids).push(")");
            for row in self.engine.read(&st).await? {
                let folder = folder_from_row(&row)?;
                folders.insert(folder.id.to_string(), folder);
            }
        }
        let mut files = HashMap::new();
        if !version_ids.is_empty() {
            let mut st = Statement::new(format!(
                "SELECT {FILE_COLUMNS} FROM {FILE_FROM_VERSIONS} WHERE v.id IN ("
            ));
            st.bind_list(version_ids).push(")");
            for row in self.engine.read(&st).await? {
                let file = file_from_row(&row)?;
                files.insert(file.version.id.to_string(), file);
            }
        }
        // In page order; a row deleted between the two queries is simply not listed.
        Ok(page
            .iter()
            .filter_map(|(folder, id)| {
                if *folder {
                    folders.remove(id).map(ListedAsset::Folder)
                } else {
                    files.remove(id).map(|f| ListedAsset::File(Box::new(f)))
                }
            })
            .collect())
    }

    async fn file_versions(&self, id: &AssetId) -> Result<Vec<FileRecord>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILE_FROM_VERSIONS} WHERE v.file_id = $1 ORDER BY v.number"
        );
        self.engine
            .read(&q(&sql).arg(id))
            .await?
            .iter()
            .map(file_from_row)
            .collect()
    }

    async fn get_version(
        &self,
        file: &AssetId,
        version: &AssetId,
    ) -> Result<Option<FileRecord>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILE_FROM_VERSIONS} WHERE v.file_id = $1 AND v.id = $2"
        );
        self.read_one(q(&sql).arg(file).arg(version))
            .await?
            .as_ref()
            .map(file_from_row)
            .transpose()
    }

    async fn delete_version(
        &self,
        file: &AssetId,
        version: &AssetId,
        actor: &Principal,
    ) -> Result<VersionDeletion, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let Some(record) = file_in_tx::<E>(&mut tx, file.as_str()).await? else {
            return Ok(VersionDeletion::NotFound);
        };
        if &record.version.id == version {
            return Ok(VersionDeletion::Current);
        }
        let Some(row) = one::<E>(
            &mut tx,
            q("SELECT blob_hash FROM file_versions WHERE id = $1 AND file_id = $2")
                .arg(version)
                .arg(file),
        )
        .await?
        else {
            return Ok(VersionDeletion::NotFound);
        };
        let blob = row.text("blob_hash")?;
        exec::<E>(
            &mut tx,
            q("DELETE FROM file_versions WHERE id = $1").arg(version),
        )
        .await?;
        append_event::<E>(
            &mut tx,
            event::FILE_VERSION_DELETED,
            file.as_str(),
            actor,
            json!({ "fileId": file.as_str(), "versionId": version.as_str(), "blob": &blob }),
            now,
        )
        .await?;
        E::commit(tx).await?;
        Ok(VersionDeletion::Deleted { blob })
    }

    async fn restore_version(
        &self,
        file: &AssetId,
        version: &AssetId,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        if file_in_tx::<E>(&mut tx, file.as_str()).await?.is_none() {
            return Ok(None);
        }
        let exists = one::<E>(
            &mut tx,
            q("SELECT id FROM file_versions WHERE id = $1 AND file_id = $2")
                .arg(version)
                .arg(file),
        )
        .await?
        .is_some();
        if !exists {
            return Ok(None);
        }
        exec::<E>(
            &mut tx,
            q("UPDATE files SET current_version_id = $1, updated_at = $2 WHERE id = $3")
                .arg(version)
                .arg(now)
                .arg(file),
        )
        .await?;
        append_event::<E>(
            &mut tx,
            event::FILE_VERSION_RESTORED,
            file.as_str(),
            actor,
            json!({ "fileId": file.as_str(), "versionId": version.as_str() }),
            now,
        )
        .await?;
        let restored = file_in_tx::<E>(&mut tx, file.as_str()).await?;
        E::commit(tx).await?;
        Ok(restored)
    }

    async fn rename_file(
        &self,
        id: &AssetId,
        name: &FileName,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let Some(file) = file_in_tx::<E>(&mut tx, id.as_str()).await? else {
            return Ok(None);
        };
        let renamed = exec::<E>(
            &mut tx,
            q("UPDATE files SET name = $1, updated_at = $2 WHERE id = $3")
                .arg(name.as_str())
                .arg(now)
                .arg(id),
        )
        .await;
        match renamed {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::NameTaken),
            other => other?,
        };
        append_event::<E>(
            &mut tx,
            event::FILE_RENAMED,
            id.as_str(),
            actor,
            json!({
                "fileId": id.as_str(),
                "from": file.file_path(),
                "to": file.folder.join_file(name),
            }),
            now,
        )
        .await?;
        let renamed = file_in_tx::<E>(&mut tx, id.as_str()).await?;
        E::commit(tx).await?;
        Ok(renamed)
    }

    async fn copy_file(
        &self,
        id: &AssetId,
        folder: &FolderPath,
        include_versions: bool,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let mut tx = self.engine.begin().await?;
        let copied = self
            .transfer_file(&mut tx, id, folder, Some(include_versions), actor)
            .await?;
        E::commit(tx).await?;
        Ok(copied)
    }

    async fn move_file(
        &self,
        id: &AssetId,
        folder: &FolderPath,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let mut tx = self.engine.begin().await?;
        let moved = self.transfer_file(&mut tx, id, folder, None, actor).await?;
        E::commit(tx).await?;
        Ok(moved)
    }

    async fn change_tags(
        &self,
        ids: &[AssetId],
        change: &TagChange,
        actor: &Principal,
    ) -> Result<Vec<AssetId>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let mut updated = Vec::new();
        for id in ids {
            let Some(mut file) = file_in_tx::<E>(&mut tx, id.as_str()).await? else {
                continue;
            };
            change.apply(&mut file.version.attributes);
            save_attributes::<E>(&mut tx, &mut file, actor, now).await?;
            updated.push(id.clone());
        }
        E::commit(tx).await?;
        Ok(updated)
    }

    async fn custom_fields(&self) -> Result<Vec<CustomField>, StoreError> {
        self.read_custom_fields().await
    }

    async fn create_custom_field(
        &self,
        field: &CustomField,
        actor: &Principal,
    ) -> Result<(), StoreError> {
        self.insert_custom_field(field, actor).await
    }

    async fn update_custom_field(
        &self,
        id: &AssetId,
        update: &FieldUpdate,
        actor: &Principal,
    ) -> Result<Option<CustomField>, StoreError> {
        self.change_custom_field(id, update, actor).await
    }

    async fn delete_custom_field(
        &self,
        id: &AssetId,
        actor: &Principal,
    ) -> Result<bool, StoreError> {
        self.remove_custom_field(id, actor).await
    }

    async fn create_folder(
        &self,
        path: &FolderPath,
        actor: &Principal,
    ) -> Result<bool, StoreError> {
        let mut tx = self.engine.begin().await?;
        if path.is_root() || folder_id::<E>(&mut tx, path).await?.is_some() {
            return Ok(false);
        }
        ensure_folders::<E>(&mut tx, path, actor, Timestamp::now()).await?;
        E::commit(tx).await?;
        Ok(true)
    }

    async fn get_folder(&self, path: &FolderPath) -> Result<Option<FolderRecord>, StoreError> {
        self.read_one(
            q("SELECT id, path, created_at, updated_at FROM folders WHERE path = $1")
                .arg(path.as_str()),
        )
        .await?
        .as_ref()
        .map(folder_from_row)
        .transpose()
    }

    async fn delete_folder(
        &self,
        path: &FolderPath,
        actor: &Principal,
    ) -> Result<Option<DeletedFiles>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.engine.begin().await?;
        let lock = format!(
            "SELECT id FROM folders WHERE path = $1{}",
            E::dialect().lock_row
        );
        let Some(folder) = one::<E>(&mut tx, q(&lock).arg(path.as_str())).await? else {
            return Ok(None);
        };
        let folder = folder.text("id")?;
        let in_subtree = |select: &str| {
            let mut st = Statement::new(select);
            st.push(" IN (SELECT id FROM folders WHERE ");
            push_subtree(&mut st, "path", path);
            st.push(")");
            st
        };
        let ids = all::<E>(&mut tx, in_subtree("SELECT id FROM files WHERE folder_id"))
            .await?
            .iter()
            .map(|r| r.text("id").map(AssetId::from_stored))
            .collect::<Result<Vec<_>, _>>()?;
        let blobs = all::<E>(
            &mut tx,
            in_subtree(
                "SELECT DISTINCT v.blob_hash FROM file_versions v JOIN files f ON f.id = v.file_id
                 WHERE f.folder_id",
            ),
        )
        .await?
        .iter()
        .map(|r| r.text("blob_hash"))
        .collect::<Result<Vec<_>, _>>()?;
        let mut st = in_subtree(
            "DELETE FROM file_versions WHERE file_id IN (SELECT id FROM files WHERE folder_id",
        );
        st.push(")");
        E::execute(&mut tx, &st).await?;
        E::execute(&mut tx, &in_subtree("DELETE FROM files WHERE folder_id")).await?;
        let mut st = Statement::new("DELETE FROM folders WHERE ");
        push_subtree(&mut st, "path", path);
        E::execute(&mut tx, &st).await?;
        append_event::<E>(
            &mut tx,
            event::FOLDER_DELETED,
            &folder,
            actor,
            json!({ "folderPath": path.as_str(), "files": ids.len(), "blobs": blobs.len() }),
            now,
        )
        .await?;
        E::commit(tx).await?;
        Ok(Some(DeletedFiles { ids, blobs }))
    }

    async fn count_files_below(&self, path: &FolderPath) -> Result<u64, StoreError> {
        let mut st = Statement::new(
            "SELECT COUNT(*) AS n FROM files WHERE folder_id IN (SELECT id FROM folders WHERE ",
        );
        push_subtree(&mut st, "path", path);
        st.push(")");
        let row = self
            .read_one(st)
            .await?
            .ok_or_else(|| StoreError::Corrupt("count returned no row".into()))?;
        Ok(row.int("n")? as u64)
    }

    async fn derived_sources_below(&self, path: &FolderPath) -> Result<Vec<String>, StoreError> {
        let mut st = Statement::new(
            "SELECT DISTINCT d.source_blob FROM derived_images d
             JOIN file_versions v ON v.blob_hash = d.source_blob
             JOIN files f ON f.id = v.file_id
             WHERE f.folder_id IN (SELECT id FROM folders WHERE ",
        );
        push_subtree(&mut st, "path", path);
        st.push(")");
        self.engine
            .read(&st)
            .await?
            .iter()
            .map(|r| r.text("source_blob"))
            .collect()
    }

    async fn advance_transfer(
        &self,
        transfer: &FolderTransfer,
        cursor: &TransferCursor,
        batch: u32,
        fence: JobFence<'_>,
        actor: &Principal,
    ) -> Result<TransferCursor, StoreError> {
        self.advance(transfer, cursor, batch, fence, actor).await
    }

    async fn record_purge(&self, purge: &PurgeRecord) -> Result<(), StoreError> {
        self.write(
            q("INSERT INTO purges (id, url, created_at, completed_at) VALUES ($1, $2, $3, $4)")
                .arg(purge.id.as_str())
                .arg(purge.url.as_str())
                .arg(purge.created_at)
                .arg(purge.completed_at.map(|t| t.millis())),
        )
        .await?;
        Ok(())
    }

    async fn get_purge(&self, id: &str) -> Result<Option<PurgeRecord>, StoreError> {
        let Some(row) = self
            .read_one(
                q("SELECT id, url, created_at, completed_at FROM purges WHERE id = $1").arg(id),
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(PurgeRecord {
            id: row.text("id")?,
            url: row.text("url")?,
            created_at: Timestamp::from_millis(row.int("created_at")?),
            completed_at: row.opt_int("completed_at")?.map(Timestamp::from_millis),
        }))
    }

    async fn unread_versions(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UnreadVersion>, StoreError> {
        let mut st = Statement::new(
            "SELECT id, file_id, blob_hash, size FROM file_versions WHERE media_metadata IS NULL",
        );
        if let Some(after) = after {
            st.push(" AND id > ").bind(after);
        }
        st.push(" ORDER BY id LIMIT ").bind(i64::from(limit));
        self.engine
            .read(&st)
            .await?
            .iter()
            .map(|row| {
                Ok(UnreadVersion {
                    id: row.text("id")?,
                    file_id: row.text("file_id")?,
                    blob: row.text("blob_hash")?,
                    size: u64::try_from(row.int("size")?)
                        .map_err(|_| StoreError::Corrupt("a negative size".into()))?,
                })
            })
            .collect()
    }

    async fn store_read_metadata(
        &self,
        version: &UnreadVersion,
        media: &MediaInfo,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.engine.begin().await?;
        let mut st = Statement::new("UPDATE file_versions SET embedded_metadata = ");
        st.bind(Value::Object(media.embedded.clone()).to_string())
            .push(", media_metadata = ")
            .bind(media.technical.clone())
            .push(", width = COALESCE(width, ")
            .bind(media.width.map(i64::from))
            .push("), height = COALESCE(height, ")
            .bind(media.height.map(i64::from))
            .push(")");
        for (column, arg) in ["gps_lat", "gps_lng", "gps_x", "gps_y", "gps_z"]
            .into_iter()
            .zip(sql::location_args(&media.embedded))
        {
            st.push(&format!(", {column} = ")).bind(arg);
        }
        st.push(" WHERE id = ")
            .bind(version.id.as_str())
            .push(" AND media_metadata IS NULL");
        if E::execute(&mut tx, &st).await? == 0 {
            return Ok(false);
        }
        append_event::<E>(
            &mut tx,
            event::FILE_METADATA_READ,
            &version.file_id,
            &Principal::System,
            json!({ "fileId": version.file_id, "versionId": version.id }),
            at,
        )
        .await?;
        E::commit(tx).await?;
        Ok(true)
    }

    async fn named_transformations(&self) -> Result<Vec<NamedTransformation>, StoreError> {
        self.read_named_transformations().await
    }

    async fn save_named_transformation(
        &self,
        named: &NamedTransformation,
        created: bool,
        actor: &Principal,
    ) -> Result<(), StoreError> {
        self.write_named_transformation(named, created, actor).await
    }

    async fn delete_named_transformation(
        &self,
        id: &str,
        actor: &Principal,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.remove_named_transformation(id, actor, at).await
    }

    async fn find_derived(
        &self,
        source: &str,
        transform: &str,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> Result<Option<DerivedImage>, StoreError> {
        let Some(row) = self
            .read_one(
                q(
                    "SELECT blob_hash, size, mime, created_at, used_at FROM derived_images
                   WHERE source_blob = $1 AND transform = $2",
                )
                .arg(source)
                .arg(transform),
            )
            .await?
        else {
            return Ok(None);
        };
        let mut used_at = Timestamp::from_millis(row.int("used_at")?);
        if used_at < touch_before {
            self.write(
                q("UPDATE derived_images SET used_at = $1 WHERE source_blob = $2 AND transform = $3")
                    .arg(now)
                    .arg(source)
                    .arg(transform),
            )
            .await?;
            used_at = now;
        }
        Ok(Some(DerivedImage {
            source_blob: source.to_owned(),
            transform: transform.to_owned(),
            blob: row.text("blob_hash")?,
            size: u64::try_from(row.int("size")?)
                .map_err(|_| StoreError::Corrupt("a negative size".into()))?,
            mime: row.text("mime")?,
            created_at: Timestamp::from_millis(row.int("created_at")?),
            used_at,
        }))
    }

    async fn record_derived(&self, d: &DerivedImage) -> Result<(), StoreError> {
        self.write(
            q(
                "INSERT INTO derived_images (source_blob, transform, blob_hash, size, mime,
                   created_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (source_blob, transform) DO UPDATE SET blob_hash = excluded.blob_hash,
                   size = excluded.size, mime = excluded.mime, created_at = excluded.created_at,
                   used_at = excluded.used_at",
            )
            .arg(d.source_blob.as_str())
            .arg(d.transform.as_str())
            .arg(d.blob.as_str())
            .arg(d.size as i64)
            .arg(d.mime.as_str())
            .arg(d.created_at)
            .arg(d.used_at),
        )
        .await?;
        Ok(())
    }

    async fn forget_derived(&self, sources: &[String]) -> Result<Vec<String>, StoreError> {
        let mut forgotten = Vec::new();
        for chunk in sources.chunks(MAPPING_CHUNK) {
            let mut st = Statement::new("DELETE FROM derived_images WHERE source_blob IN (");
            st.bind_list(chunk.iter().map(String::as_str));
            st.push(") RETURNING blob_hash");
            let mut tx = self.engine.begin().await?;
            for row in E::fetch(&mut tx, &st).await? {
                forgotten.push(row.text("blob_hash")?);
            }
            E::commit(tx).await?;
        }
        Ok(forgotten)
    }

    async fn evict_derived(&self, max_bytes: u64) -> Result<Vec<String>, StoreError> {
        let total = self
            .read_one(q(
                "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM derived_images",
            ))
            .await?
            .map(|r| r.int("total"))
            .transpose()?
            .unwrap_or(0);
        let mut excess = total - i64::try_from(max_bytes).unwrap_or(i64::MAX);
        let mut evicted = Vec::new();
        while excess > 0 {
            let rows = self
                .engine
                .read(&q(
                    "SELECT source_blob, transform, size, blob_hash FROM derived_images
                     ORDER BY used_at, source_blob, transform LIMIT 500",
                ))
                .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                if excess <= 0 {
                    break;
                }
                let deleted = self
                    .write(
                        q("DELETE FROM derived_images WHERE source_blob = $1 AND transform = $2")
                            .arg(row.text("source_blob")?)
                            .arg(row.text("transform")?),
                    )
                    .await?;
                if deleted > 0 {
                    evicted.push(row.text("blob_hash")?);
                }
                excess -= row.int("size")?;
            }
        }
        Ok(evicted)
    }

    async fn unreferenced_blobs(&self, cutoff: Timestamp) -> Result<Vec<String>, StoreError> {
        self.engine
            .read(
                &q("SELECT hash FROM blobs b WHERE claimed_at < $1
                    AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.blob_hash = b.hash)
                    AND NOT EXISTS (SELECT 1 FROM derived_images d WHERE d.blob_hash = b.hash)")
                .arg(cutoff),
            )
            .await?
            .iter()
            .map(|r| r.text("hash"))
            .collect()
    }

    async fn begin_blob_deletion(&self, hash: &str, cutoff: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.engine.begin().await?;
        // A stored blob without a row (bytes left by hand or by an old crash) gets a
        // 'deleting' row, so an upload claiming it meanwhile waits for the deletion.
        exec::<E>(
            &mut tx,
            q(
                "INSERT INTO blobs (hash, size, state, claimed_at) VALUES ($1, 0, 'deleting', 0)
               ON CONFLICT (hash) DO NOTHING",
            )
            .arg(hash),
        )
        .await?;
        // PostgreSQL: FOR UPDATE waits for any upload holding the row FOR SHARE to commit; the
        // reference check below runs after the lock, so it sees that upload's version row.
        let sql = format!(
            "SELECT state, claimed_at FROM blobs WHERE hash = $1{}",
            E::dialect().lock_row
        );
        let Some(row) = one::<E>(&mut tx, q(&sql).arg(hash)).await? else {
            return Ok(false);
        };
        if row.text("state")? == "deleting" {
            E::commit(tx).await?;
            return Ok(true);
        }
        if row.int("claimed_at")? >= cutoff.millis() {
            return Ok(false);
        }
        let referenced = one::<E>(
            &mut tx,
            q("SELECT 1 AS one FROM file_versions WHERE blob_hash = $1
               UNION ALL SELECT 1 AS one FROM derived_images WHERE blob_hash = $1 LIMIT 1")
            .arg(hash),
        )
        .await?
        .is_some();
        if referenced {
            return Ok(false);
        }
        exec::<E>(
            &mut tx,
            q("UPDATE blobs SET state = 'deleting' WHERE hash = $1").arg(hash),
        )
        .await?;
        E::commit(tx).await?;
        Ok(true)
    }

    async fn finish_blob_deletion(&self, hash: &str) -> Result<(), StoreError> {
        self.write(q("DELETE FROM blobs WHERE hash = $1 AND state = 'deleting'").arg(hash))
            .await?;
        Ok(())
    }

    async fn blob_references(&self) -> Result<BlobReferences, StoreError> {
        let referenced =
            self.engine
                .read(&q("SELECT DISTINCT blob_hash, size FROM file_versions
                      UNION SELECT DISTINCT blob_hash, size FROM derived_images"))
                .await?
                .iter()
                .map(|r| Ok((r.text("blob_hash")?, r.int("size")? as u64)))
                .collect::<Result<_, StoreError>>()?;
        let claimed = self
            .engine
            .read(&q("SELECT hash FROM blobs"))
            .await?
            .iter()
            .map(|r| r.text("hash"))
            .collect::<Result<_, _>>()?;
        Ok(BlobReferences {
            referenced,
            claimed,
        })
    }

    async fn event_count(&self) -> Result<u64, StoreError> {
        self.count_rows(Table::Events).await
    }

    async fn latest_event_seq(&self) -> Result<i64, StoreError> {
        self.feed_latest_seq().await
    }

    async fn events_after(&self, seq: i64, limit: u32) -> Result<Vec<LoggedEvent>, StoreError> {
        self.feed_events(seq, limit).await
    }

    async fn in_flight_horizon(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let Some(query) = E::dialect().snapshot_horizon else {
            return Ok(None);
        };
        let rows = self.engine.read(&q(query)).await?;
        match rows.first() {
            Some(row) => Ok(Some((row.int("xmin")? as u64, row.int("xmax")? as u64))),
            None => Ok(None),
        }
    }

    async fn indexed_versions(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IndexedVersion>, StoreError> {
        self.feed_versions(after, limit).await
    }

    async fn indexed_versions_of(
        &self,
        files: &[String],
    ) -> Result<Vec<IndexedVersion>, StoreError> {
        self.feed_versions_of(files).await
    }

    async fn indexed_folders(&self) -> Result<Vec<IndexedFolder>, StoreError> {
        self.feed_folders().await
    }

    async fn enqueue_job(
        &self,
        id: &str,
        kind: &str,
        payload: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = self
            .write(
                q(
                    "INSERT INTO jobs (id, kind, payload, state, attempts, created_at, updated_at)
                   VALUES ($1, $2, $3, 'queued', 0, $4, $5) ON CONFLICT (id) DO NOTHING",
                )
                .arg(id)
                .arg(kind)
                .arg(payload.to_string())
                .arg(now)
                .arg(now),
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn claim_job(
        &self,
        node: &str,
        kinds: &[&str],
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<JobRecord>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        // SKIP LOCKED (PostgreSQL): nodes claiming at once each take a different job instead
        // of waiting; SQLite's single writer serialises claims anyway.
        let mut st = Statement::new("UPDATE jobs SET state = 'running', lease_owner = ");
        st.bind(node)
            .push(", lease_expires_at = ")
            .bind(lease_until)
            .push(", attempts = attempts + 1, updated_at = ")
            .bind(now)
            .push(" WHERE id = (SELECT id FROM jobs WHERE kind IN (");
        st.bind_list(kinds.iter().copied())
            .push(") AND (state = 'queued' OR (state = 'running' AND lease_expires_at < ")
            .bind(now)
            .push(&format!(
                ")) ORDER BY created_at, id LIMIT 1{}) RETURNING {JOB_COLUMNS}",
                E::dialect().skip_locked
            ));
        let mut tx = self.engine.begin().await?;
        let row = one::<E>(&mut tx, st).await?;
        E::commit(tx).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn renew_job_lease(
        &self,
        id: &str,
        node: &str,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let renewed = self
            .write(
                q("UPDATE jobs SET lease_expires_at = $1
                   WHERE id = $2 AND lease_owner = $3 AND state = 'running'")
                .arg(lease_until)
                .arg(id)
                .arg(node),
            )
            .await?;
        Ok(renewed == 1)
    }

    async fn finish_job(
        &self,
        id: &str,
        node: &str,
        outcome: &JobOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (state, result) = job_outcome_columns(outcome);
        let finished = self
            .write(
                q(
                    "UPDATE jobs SET state = $1, result = $2, lease_expires_at = NULL,
                     updated_at = $3
                   WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
                )
                .arg(state)
                .arg(result)
                .arg(now)
                .arg(id)
                .arg(node),
            )
            .await?;
        Ok(finished == 1)
    }

    async fn get_job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.read_one(q(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")).arg(id))
            .await?
            .as_ref()
            .map(job_from_row)
            .transpose()
    }

    async fn active_jobs(&self, kinds: &[&str]) -> Result<Vec<JobRecord>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut st = Statement::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') AND kind IN ("
        ));
        st.bind_list(kinds.iter().copied())
            .push(") ORDER BY created_at, id");
        self.engine
            .read(&st)
            .await?
            .iter()
            .map(job_from_row)
            .collect()
    }

    async fn export_rows(
        &self,
        table: Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.engine
            .read(&sql::export_query(table, after, limit))
            .await?
            .iter()
            .map(|row| sql::row_cells(table, row))
            .collect()
    }

    async fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let dialect = E::dialect();
        let mut tx = self.engine.begin().await?;
        let mut inserted = 0;
        // Events keep their sequence numbers, so the log's order survives the move.
        let overriding = if table == Table::Events {
            dialect.identity_insert
        } else {
            ""
        };
        let width = sql::table_columns(table).len() + sql::derived_columns(table).len();
        let per_statement = (dialect.max_args / width).min(500);
        for chunk in rows.chunks(per_statement) {
            let derived = if table == Table::FileVersions {
                chunk
                    .iter()
                    .map(|row| sql::version_derived_args(row))
                    .collect::<Result<Vec<_>, StoreError>>()?
            } else {
                Vec::new()
            };
            let statement = sql::import_query(table, chunk, &derived, overriding);
            inserted += E::execute(&mut tx, &statement).await?;
        }
        if table == Table::Events
            && let Some(fixup) = dialect.after_events_import
        {
            E::execute(&mut tx, &q(fixup)).await?;
        }
        E::commit(tx).await?;
        Ok(inserted)
    }

    async fn count_rows(&self, table: Table) -> Result<u64, StoreError> {
        let row = self
            .read_one(q(&format!("SELECT COUNT(*) AS n FROM {}", table.name())))
            .await?
            .ok_or_else(|| StoreError::Corrupt("count returned no row".into()))?;
        Ok(row.int("n")? as u64)
    }
}
