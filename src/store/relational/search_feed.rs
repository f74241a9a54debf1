//! Reads that feed a search index: every version and folder in bulk, the versions of given
//! files, and the event log's tail.

use super::{Engine, RelationalStore};
use crate::model::geo::GeoPoint;
use crate::model::search::{INDEXED_EMBEDDED, IndexedFolder, IndexedVersion};
use crate::model::{FileKind, FolderPath};
use crate::store::sql::{self, RowAccess, Statement, q};
use crate::store::{LoggedEvent, StoreError};

const VERSION_SELECT: &str = "SELECT v.id AS v_id, v.file_id, f.current_version_id, f.folder_id,
        f.name, v.created_at, v.updated_at, v.size, v.width, v.height, v.format, v.file_type,
        v.is_private, v.is_published, v.has_alpha, v.tags, v.ai_tags, v.custom_metadata,
        v.embedded_metadata
     FROM file_versions v JOIN files f ON f.id = v.file_id";

fn version_from_row(row: &impl RowAccess) -> Result<IndexedVersion, StoreError> {
    let version_id = row.text("v_id")?;
    let kind = row.text("file_type")?;
    let mut embedded = sql::json_map(row, "embedded_metadata")?;
    let location = GeoPoint::from_embedded(&embedded);
    embedded.retain(|key, _| INDEXED_EMBEDDED.contains(&key.as_str()));
    Ok(IndexedVersion {
        current: row.text("current_version_id")? == version_id,
        version_id,
        file_id: row.text("file_id")?,
        folder_id: row.text("folder_id")?,
        name: row.text("name")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        size: row.int("size")?,
        width: row.opt_int("width")?,
        height: row.opt_int("height")?,
        format: row.text("format")?,
        file_type: FileKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("file type {kind:?}")))?,
        private: row.flag("is_private")?,
        published: row.flag("is_published")?,
        transparency: row.flag("has_alpha")?,
        tags: sql::tag_names(row)?,
        custom_metadata: sql::custom_metadata(row)?,
        embedded_metadata: embedded,
        location,
    })
}

impl<E: Engine> RelationalStore<E> {
    pub(super) async fn feed_versions(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IndexedVersion>, StoreError> {
        let mut st = Statement::new(VERSION_SELECT);
        if let Some(after) = after {
            st.push(" WHERE v.id > ").bind(after.to_owned());
        }
        st.push(" ORDER BY v.id LIMIT ").bind(i64::from(limit));
        self.engine
            .read(&st)
            .await?
            .iter()
            .map(version_from_row)
            .collect()
    }

    pub(super) async fn feed_versions_of(
        &self,
        files: &[String],
    ) -> Result<Vec<IndexedVersion>, StoreError> {
        let mut out = Vec::new();
        for chunk in files.chunks(500) {
            let mut st = Statement::new(VERSION_SELECT);
            st.push(" WHERE v.file_id IN (");
            st.bind_list(chunk.iter().cloned()).push(")");
            for row in self.engine.read(&st).await? {
                out.push(version_from_row(&row)?);
            }
        }
        Ok(out)
    }

    pub(super) async fn feed_folders(&self) -> Result<Vec<IndexedFolder>, StoreError> {
        self.engine
            .read(&q(
                "SELECT id, path, name, created_at, updated_at FROM folders ORDER BY id",
            ))
            .await?
            .iter()
            .map(|row| {
                Ok(IndexedFolder {
                    id: row.text("id")?,
                    path: FolderPath::from_stored(row.text("path")?),
                    name: row.text("name")?,
                    created_at: row.int("created_at")?,
                    updated_at: row.int("updated_at")?,
                })
            })
            .collect()
    }

    pub(super) async fn feed_events(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        self.engine
            .read(
                &q("SELECT seq, kind, subject_id FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .arg(after)
                    .arg(i64::from(limit)),
            )
            .await?
            .iter()
            .map(|row| {
                Ok(LoggedEvent {
                    seq: row.int("seq")?,
                    kind: row.text("kind")?,
                    subject: row.text("subject_id")?,
                })
            })
            .collect()
    }

    pub(super) async fn feed_latest_seq(&self) -> Result<i64, StoreError> {
        let rows = self
            .engine
            .read(&q("SELECT COALESCE(MAX(seq), 0) AS seq FROM events"))
            .await?;
        match rows.first() {
            Some(row) => row.int("seq"),
            None => Ok(0),
        }
    }
}
