//! The scale-out metadata store: PostgreSQL, shared by any number of `kura serve` nodes.
//!
//! Same statements as the SQLite store where the engines agree. Where SQLite relies on its
//! single writer, this store takes row locks: the file row when adding a version or updating,
//! and the blob row in both the upload commit (`FOR SHARE`) and the sweeper (`FOR UPDATE`), so
//! the claim protocol holds across nodes.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::sql::{
    self, FILE_COLUMNS, JOB_COLUMNS, ai_tags_json, file_from_row, folder_from_row, job_from_row,
    job_outcome_columns, push_list, tags_json,
};
use super::{
    BlobReferences, Cell, DeletedFiles, MAX_VERSIONS, MetadataStore, NewUpload, StoreError, Table,
    event,
};
use crate::model::{
    AssetId, AttributeUpdate, FileName, FileRecord, FolderPath, JobOutcome, JobRecord, ListQuery,
    ListedAsset, Principal, Timestamp, VersionRecord,
};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_jobs.sql")),
];

/// Serialises migrations across nodes starting at once (an arbitrary, fixed key).
const MIGRATION_LOCK: i64 = 0x6b75_7261_6d69_6772;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        for (version, sql) in MIGRATIONS {
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_some() {
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration(format!("migration {version}: {e}")))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(Timestamp::now().millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Closes the pool's connections (so the database can be dropped, in tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

async fn append_event(
    tx: &mut Transaction<'static, Postgres>,
    kind: &str,
    subject: &str,
    actor: &Principal,
    payload: Value,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (occurred_at, kind, subject_id, actor, payload) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at.millis())
    .bind(kind)
    .bind(subject)
    .bind(actor.audit_name())
    .bind(payload.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates `folder` and its missing ancestors inside `tx`.
async fn ensure_folders(
    tx: &mut Transaction<'static, Postgres>,
    folder: &FolderPath,
    actor: &Principal,
    now: Timestamp,
) -> Result<(), StoreError> {
    for path in folder.lineage() {
        let parent = path.parent().unwrap_or_else(FolderPath::root);
        let id = AssetId::generate();
        let inserted = sqlx::query(
            "INSERT INTO folders (id, path, parent_path, name, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (path) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(path.as_str())
        .bind(parent.as_str())
        .bind(path.name())
        .bind(now.millis())
        .bind(now.millis())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            append_event(
                tx,
                event::FOLDER_CREATED,
                id.as_str(),
                actor,
                serde_json::json!({ "folderPath": path.as_str() }),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// Reads a file and locks its row until the transaction ends, so concurrent versions and
/// updates of one file apply one after the other.
async fn file_in_tx(
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
) -> Result<Option<FileRecord>, StoreError> {
    // Lock the file row on its own first: a locking read over the join would, after waiting,
    // re-check the join against the new current version id but the old version rows and
    // miss the file entirely. The read after the lock takes a fresh snapshot.
    let locked: Option<i32> = sqlx::query_scalar("SELECT 1 FROM files WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files f JOIN file_versions v ON v.id = f.current_version_id
         WHERE f.id = $1"
    );
    let row = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(file_from_row).transpose()
}

async fn insert_version(
    tx: &mut Transaction<'static, Postgres>,
    version: &VersionRecord,
) -> Result<(), StoreError> {
    let a = &version.attributes;
    let m = &version.media;
    sqlx::query(
        "INSERT INTO file_versions (id, file_id, number, blob_hash, size, mime, format, file_type,
            width, height, has_alpha, tags, ai_tags, custom_coordinates, custom_metadata,
            description, is_private, is_published, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(version.id.as_str())
    .bind(version.file_id.as_str())
    .bind(i64::from(version.number))
    .bind(&version.blob)
    .bind(version.size as i64)
    .bind(&m.mime)
    .bind(&m.format)
    .bind(m.kind.as_str())
    .bind(m.width.map(i64::from))
    .bind(m.height.map(i64::from))
    .bind(m.has_alpha)
    .bind(tags_json(&a.tags))
    .bind(ai_tags_json(&a.ai_tags))
    .bind(&a.custom_coordinates)
    .bind(Value::Object(a.custom_metadata.clone()).to_string())
    .bind(&a.description)
    .bind(a.is_private)
    .bind(a.is_published)
    .bind(version.created_at.millis())
    .bind(version.updated_at.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl PostgresStore {
    async fn try_commit_upload(
        &self,
        upload: NewUpload,
        actor: &Principal,
    ) -> Result<FileRecord, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        // The sweeper may have started deleting the bytes since they were claimed.
        let blob_state: Option<String> =
            // FOR SHARE: a sweeper marking this blob waits for this commit, then sees the
            // new reference.
            sqlx::query_scalar("SELECT state FROM blobs WHERE hash = $1 FOR SHARE")
                .bind(&upload.blob)
                .fetch_optional(&mut *tx)
                .await?;
        if blob_state.as_deref() != Some("live") {
            return Err(StoreError::BlobBusy);
        }
        ensure_folders(&mut tx, &upload.folder, actor, now).await?;
        let existing_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM files WHERE folder_path = $1 AND name = $2")
                .bind(upload.folder.as_str())
                .bind(upload.name.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let existing = match existing_id {
            Some(id) => file_in_tx(&mut tx, &id).await?,
            None => None,
        };
        let record = match existing {
            Some(_) if !upload.replace_existing => return Err(StoreError::NameTaken),
            Some(previous) => {
                let (count, max_number): (i64, i64) = sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(MAX(number), 0) FROM file_versions WHERE file_id = $1",
                )
                .bind(previous.id.as_str())
                .fetch_one(&mut *tx)
                .await?;
                if count as u32 >= MAX_VERSIONS {
                    return Err(StoreError::VersionLimit(MAX_VERSIONS));
                }
                let version = VersionRecord {
                    id: AssetId::generate(),
                    file_id: previous.id.clone(),
                    number: max_number as u32 + 1,
                    blob: upload.blob.clone(),
                    size: upload.size,
                    media: upload.media.clone(),
                    attributes: upload
                        .attributes
                        .resolve(Some(&previous.version.attributes)),
                    created_at: now,
                    updated_at: now,
                };
                insert_version(&mut tx, &version).await?;
                sqlx::query(
                    "UPDATE files SET current_version_id = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(version.id.as_str())
                .bind(now.millis())
                .bind(previous.id.as_str())
                .execute(&mut *tx)
                .await?;
                append_event(
                    &mut tx,
                    event::FILE_VERSION_CREATED,
                    previous.id.as_str(),
                    actor,
                    serde_json::json!({
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
                let inserted = sqlx::query(
                    "INSERT INTO files (id, folder_path, name, current_version_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id.as_str())
                .bind(upload.folder.as_str())
                .bind(upload.name.as_str())
                .bind(id.as_str())
                .bind(now.millis())
                .bind(now.millis())
                .execute(&mut *tx)
                .await;
                match inserted {
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::NameTaken),
                    other => other?,
                };
                insert_version(&mut tx, &version).await?;
                let record = FileRecord {
                    id: id.clone(),
                    folder: upload.folder.clone(),
                    name: upload.name.clone(),
                    created_at: now,
                    updated_at: now,
                    version,
                    is_current: true,
                };
                append_event(
                    &mut tx,
                    event::FILE_CREATED,
                    id.as_str(),
                    actor,
                    serde_json::json!({
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
        tx.commit().await?;
        Ok(record)
    }
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn claim_blob(&self, hash: &str, size: u64) -> Result<(), StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO blobs (hash, size, state, claimed_at) VALUES ($1, $2, 'live', $3)
             ON CONFLICT (hash) DO UPDATE SET claimed_at = excluded.claimed_at
             WHERE blobs.state = 'live'",
        )
        .bind(hash)
        .bind(size as i64)
        .bind(Timestamp::now().millis())
        .execute(&self.pool)
        .await?
        .rows_affected();
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
            match self.try_commit_upload(upload.clone(), actor).await {
                Err(StoreError::NameTaken) if upload.replace_existing && attempts < 3 => {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    async fn get_file(&self, id: &AssetId) -> Result<Option<FileRecord>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files f JOIN file_versions v ON v.id = f.current_version_id
             WHERE f.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn find_file(
        &self,
        folder: &FolderPath,
        name: &FileName,
    ) -> Result<Option<FileRecord>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files f JOIN file_versions v ON v.id = f.current_version_id
             WHERE f.folder_path = $1 AND f.name = $2"
        );
        let row = sqlx::query(&sql)
            .bind(folder.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn update_file(
        &self,
        id: &AssetId,
        update: &AttributeUpdate,
        actor: &Principal,
    ) -> Result<Option<FileRecord>, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let Some(mut file) = file_in_tx(&mut tx, id.as_str()).await? else {
            return Ok(None);
        };
        update.apply(&mut file.version.attributes);
        let a = &file.version.attributes;
        sqlx::query(
            "UPDATE file_versions SET tags = $1, ai_tags = $2, custom_coordinates = $3,
                custom_metadata = $4, description = $5, is_published = $6, updated_at = $7
             WHERE id = $8",
        )
        .bind(tags_json(&a.tags))
        .bind(ai_tags_json(&a.ai_tags))
        .bind(&a.custom_coordinates)
        .bind(Value::Object(a.custom_metadata.clone()).to_string())
        .bind(&a.description)
        .bind(a.is_published)
        .bind(now.millis())
        .bind(file.version.id.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(publish) = update.publish.filter(|p| p.include_file_versions) {
            sqlx::query(
                "UPDATE file_versions SET is_published = $1, updated_at = $2 WHERE file_id = $3",
            )
            .bind(publish.is_published)
            .bind(now.millis())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE files SET updated_at = $1 WHERE id = $2")
            .bind(now.millis())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        append_event(
            &mut tx,
            event::FILE_UPDATED,
            id.as_str(),
            actor,
            serde_json::json!({
                "fileId": id.as_str(),
                "versionId": file.version.id.as_str(),
                "tags": &a.tags,
                "customCoordinates": &a.custom_coordinates,
                "description": &a.description,
                "isPublished": a.is_published,
            }),
            now,
        )
        .await?;
        tx.commit().await?;
        file.updated_at = now;
        file.version.updated_at = now;
        Ok(Some(file))
    }

    async fn delete_files(
        &self,
        ids: &[AssetId],
        actor: &Principal,
    ) -> Result<DeletedFiles, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let mut deleted = DeletedFiles::default();
        for id in ids {
            let Some(file) = file_in_tx(&mut tx, id.as_str()).await? else {
                continue;
            };
            let blobs: Vec<String> =
                sqlx::query_scalar("SELECT blob_hash FROM file_versions WHERE file_id = $1")
                    .bind(id.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            sqlx::query("DELETE FROM file_versions WHERE file_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM files WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            append_event(
                &mut tx,
                event::FILE_DELETED,
                id.as_str(),
                actor,
                serde_json::json!({
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
        tx.commit().await?;
        Ok(deleted)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<ListedAsset>, StoreError> {
        let page: Vec<(String, String)> = match sql::list_page_query(query, &sql::POSTGRES) {
            Some(mut qb) => qb.build_query_as().fetch_all(&self.pool).await?,
            None => Vec::new(),
        };
        let folder_ids: Vec<&str> = page
            .iter()
            .filter(|(kind, _)| kind == "folder")
            .map(|(_, id)| id.as_str())
            .collect();
        let version_ids: Vec<&str> = page
            .iter()
            .filter(|(kind, _)| kind != "folder")
            .map(|(_, id)| id.as_str())
            .collect();
        let mut folders = HashMap::new();
        if !folder_ids.is_empty() {
            let mut qb = QueryBuilder::<Postgres>::new(
                "SELECT id, path, created_at, updated_at FROM folders WHERE id IN (",
            );
            push_list(&mut qb, &folder_ids);
            for row in qb.build().fetch_all(&self.pool).await? {
                let folder = folder_from_row(&row)?;
                folders.insert(folder.id.to_string(), folder);
            }
        }
        let mut files = HashMap::new();
        if !version_ids.is_empty() {
            let mut qb = QueryBuilder::<Postgres>::new(format!(
                "SELECT {FILE_COLUMNS} FROM file_versions v JOIN files f ON f.id = v.file_id
                 WHERE v.id IN ("
            ));
            push_list(&mut qb, &version_ids);
            for row in qb.build().fetch_all(&self.pool).await? {
                let file = file_from_row(&row)?;
                files.insert(file.version.id.to_string(), file);
            }
        }
        // In page order; a row deleted between the two queries is simply not listed.
        Ok(page
            .into_iter()
            .filter_map(|(kind, id)| {
                if kind == "folder" {
                    folders.remove(&id).map(ListedAsset::Folder)
                } else {
                    files.remove(&id).map(|f| ListedAsset::File(Box::new(f)))
                }
            })
            .collect())
    }

    async fn unreferenced_blobs(&self, cutoff: Timestamp) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT hash FROM blobs b WHERE claimed_at < $1
             AND NOT EXISTS (SELECT 1 FROM file_versions v WHERE v.blob_hash = b.hash)",
        )
        .bind(cutoff.millis())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn begin_blob_deletion(&self, hash: &str, cutoff: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // A stored blob without a row (bytes left by hand or by an old crash) gets a
        // 'deleting' row, so an upload claiming it meanwhile waits for the deletion.
        sqlx::query(
            "INSERT INTO blobs (hash, size, state, claimed_at) VALUES ($1, 0, 'deleting', 0)
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        // FOR UPDATE waits for any upload holding the row FOR SHARE to commit; the reference
        // check below runs after the lock, so it sees that upload's version row.
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT state, claimed_at FROM blobs WHERE hash = $1 FOR UPDATE")
                .bind(hash)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((state, claimed_at)) = row else {
            return Ok(false);
        };
        if state == "deleting" {
            tx.commit().await?;
            return Ok(true);
        }
        if claimed_at >= cutoff.millis() {
            return Ok(false);
        }
        let referenced: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM file_versions WHERE blob_hash = $1)")
                .bind(hash)
                .fetch_one(&mut *tx)
                .await?;
        if referenced {
            return Ok(false);
        }
        sqlx::query("UPDATE blobs SET state = 'deleting' WHERE hash = $1")
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn finish_blob_deletion(&self, hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM blobs WHERE hash = $1 AND state = 'deleting'")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn blob_references(&self) -> Result<BlobReferences, StoreError> {
        let referenced: Vec<(String, i64)> =
            sqlx::query_as("SELECT DISTINCT blob_hash, size FROM file_versions")
                .fetch_all(&self.pool)
                .await?;
        let claimed = sqlx::query_scalar("SELECT hash FROM blobs")
            .fetch_all(&self.pool)
            .await?;
        Ok(BlobReferences {
            referenced: referenced.into_iter().map(|(h, s)| (h, s as u64)).collect(),
            claimed,
        })
    }

    async fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn enqueue_job(
        &self,
        id: &str,
        kind: &str,
        payload: &Value,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, kind, payload, state, attempts, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', 0, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(payload.to_string())
        .bind(now.millis())
        .bind(now.millis())
        .execute(&self.pool)
        .await?
        .rows_affected();
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
        // SKIP LOCKED: nodes claiming at once each take a different job instead of waiting.
        let mut qb =
            QueryBuilder::<Postgres>::new("UPDATE jobs SET state = 'running', lease_owner = ");
        qb.push_bind(node.to_owned())
            .push(", lease_expires_at = ")
            .push_bind(lease_until.millis())
            .push(", attempts = attempts + 1, updated_at = ")
            .push_bind(now.millis())
            .push(" WHERE id = (SELECT id FROM jobs WHERE kind IN (");
        push_list(&mut qb, kinds);
        qb.push(" AND (state = 'queued' OR (state = 'running' AND lease_expires_at < ")
            .push_bind(now.millis())
            .push(format!(
                ")) ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {JOB_COLUMNS}"
            ));
        let row = qb.build().fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn renew_job_lease(
        &self,
        id: &str,
        node: &str,
        lease_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(lease_until.millis())
        .bind(id)
        .bind(node)
        .execute(&self.pool)
        .await?
        .rows_affected();
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
        let finished = sqlx::query(
            "UPDATE jobs SET state = $1, result = $2, lease_expires_at = NULL, updated_at = $3
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(state)
        .bind(result)
        .bind(now.millis())
        .bind(id)
        .bind(node)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(finished == 1)
    }

    async fn get_job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn export_rows(
        &self,
        table: Table,
        after: Option<&Cell>,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        let rows = sql::export_query::<Postgres>(table, after, limit)
            .build()
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| sql::row_cells(table, row)).collect()
    }

    async fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let mut inserted = 0;
        // Events keep their sequence numbers, so the log's order survives the move.
        let overriding = if table == Table::Events {
            "OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        for chunk in rows.chunks(500) {
            inserted += sql::import_query::<Postgres>(table, chunk, overriding)
                .build()
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        if table == Table::Events {
            // New events continue after the copied ones.
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('events', 'seq'),
                               GREATEST((SELECT MAX(seq) FROM events), 1))",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn count_rows(&self, table: Table) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name()))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}
