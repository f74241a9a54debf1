//! What both SQL stores share: how rows decode into model records, how attributes are
//! encoded into columns, and how a listing query is built. Engine modules keep their own
//! transactions and statements; the SQL dialect differences here are named in `Dialect`.

use serde_json::Value;
use sqlx::{ColumnIndex, Database, Decode, Encode, QueryBuilder, Row, Type};

use super::{Cell, StoreError, Table};
use crate::model::{
    AiTag, AssetId, AssetTypeFilter, FileAttributes, FileKind, FileName, FileRecord,
    FileTypeFilter, FolderPath, FolderRecord, JobOutcome, JobRecord, JobState, ListQuery,
    MediaInfo, SortField, SortOrder, Timestamp, VersionRecord,
};

/// The few places the two engines' SQL differs.
pub struct Dialect {
    /// Start of "some element of the JSON array in `v.tags` is one of (…)"; the caller appends
    /// the bound list and one closing parenthesis.
    pub tags_any_of: &'static str,
    /// Case-insensitive ordering by `name`.
    pub name_order: &'static str,
}

pub const SQLITE: Dialect = Dialect {
    tags_any_of: "EXISTS (SELECT 1 FROM json_each(v.tags) t WHERE t.value IN (",
    name_order: "name COLLATE NOCASE",
};

pub const POSTGRES: Dialect = Dialect {
    tags_any_of: "EXISTS (SELECT 1 FROM jsonb_array_elements_text(v.tags::jsonb) t(value) WHERE t.value IN (",
    name_order: "lower(name)",
};

/// The types a row of either engine must decode for the functions below.
pub trait DecodeRow<'r>: Row
where
    &'static str: ColumnIndex<Self>,
{
    fn text(&'r self, column: &'static str) -> Result<String, sqlx::Error>;
    fn opt_text(&'r self, column: &'static str) -> Result<Option<String>, sqlx::Error>;
    fn int(&'r self, column: &'static str) -> Result<i64, sqlx::Error>;
    fn opt_int(&'r self, column: &'static str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&'r self, column: &'static str) -> Result<bool, sqlx::Error>;
}

impl<'r, R> DecodeRow<'r> for R
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&'r self, column: &'static str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&'r self, column: &'static str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
    fn int(&'r self, column: &'static str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&'r self, column: &'static str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
    fn flag(&'r self, column: &'static str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}

pub const FILE_COLUMNS: &str = "f.id AS f_id, f.folder_path, f.name, f.current_version_id, \
     f.created_at AS f_created_at, f.updated_at AS f_updated_at, \
     v.id AS v_id, v.number, v.blob_hash, v.size, v.mime, v.format, v.file_type, v.width, \
     v.height, v.has_alpha, v.tags, v.ai_tags, v.custom_coordinates, v.custom_metadata, \
     v.description, v.is_private, v.is_published, v.created_at AS v_created_at, \
     v.updated_at AS v_updated_at";

pub fn file_from_row<'r, R>(row: &'r R) -> Result<FileRecord, StoreError>
where
    R: DecodeRow<'r>,
    &'static str: ColumnIndex<R>,
{
    let file_id = AssetId::from_stored(row.text("f_id")?);
    let version_id = row.text("v_id")?;
    let current = row.text("current_version_id")?;
    let kind_text = row.text("file_type")?;
    let kind = FileKind::parse(&kind_text)
        .ok_or_else(|| StoreError::Corrupt(format!("file type {kind_text:?}")))?;
    let width = row.opt_int("width")?;
    let height = row.opt_int("height")?;
    let attributes = FileAttributes {
        tags: json_column(row, "tags")?,
        ai_tags: json_column::<Vec<StoredAiTag>, R>(row, "ai_tags")?
            .map(|tags| tags.into_iter().map(AiTag::from).collect()),
        custom_coordinates: row.opt_text("custom_coordinates")?,
        custom_metadata: json_column(row, "custom_metadata")?.unwrap_or_default(),
        description: row.opt_text("description")?,
        is_private: row.flag("is_private")?,
        is_published: row.flag("is_published")?,
    };
    let version = VersionRecord {
        id: AssetId::from_stored(version_id.clone()),
        file_id: file_id.clone(),
        number: row.int("number")? as u32,
        blob: row.text("blob_hash")?,
        size: row.int("size")? as u64,
        media: MediaInfo {
            mime: row.text("mime")?,
            format: row.text("format")?,
            kind,
            width: width.map(|w| w as u32),
            height: height.map(|h| h as u32),
            has_alpha: row.flag("has_alpha")?,
        },
        attributes,
        created_at: Timestamp::from_millis(row.int("v_created_at")?),
        updated_at: Timestamp::from_millis(row.int("v_updated_at")?),
    };
    Ok(FileRecord {
        id: file_id,
        folder: FolderPath::from_stored(row.text("folder_path")?),
        name: FileName::from_stored(row.text("name")?),
        created_at: Timestamp::from_millis(row.int("f_created_at")?),
        updated_at: Timestamp::from_millis(row.int("f_updated_at")?),
        is_current: version_id == current,
        version,
    })
}

pub fn folder_from_row<'r, R>(row: &'r R) -> Result<FolderRecord, StoreError>
where
    R: DecodeRow<'r>,
    &'static str: ColumnIndex<R>,
{
    Ok(FolderRecord {
        id: AssetId::from_stored(row.text("id")?),
        path: FolderPath::from_stored(row.text("path")?),
        created_at: Timestamp::from_millis(row.int("created_at")?),
        updated_at: Timestamp::from_millis(row.int("updated_at")?),
    })
}

fn json_column<'r, T, R>(row: &'r R, column: &'static str) -> Result<Option<T>, StoreError>
where
    T: serde::de::DeserializeOwned,
    R: DecodeRow<'r>,
    &'static str: ColumnIndex<R>,
{
    let text = row.opt_text(column)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    })
    .transpose()
}

/// The stored JSON shape of an AI tag; private to the store so the model stays free of serde.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAiTag {
    name: String,
    confidence: Option<f64>,
    source: Option<String>,
}

impl From<StoredAiTag> for AiTag {
    fn from(t: StoredAiTag) -> Self {
        AiTag {
            name: t.name,
            confidence: t.confidence,
            source: t.source,
        }
    }
}

pub fn ai_tags_json(tags: &Option<Vec<AiTag>>) -> Option<String> {
    tags.as_ref().map(|tags| {
        let stored: Vec<StoredAiTag> = tags
            .iter()
            .map(|t| StoredAiTag {
                name: t.name.clone(),
                confidence: t.confidence,
                source: t.source.clone(),
            })
            .collect();
        serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
    })
}

pub fn tags_json(tags: &Option<Vec<String>>) -> Option<String> {
    tags.as_ref().map(|t| Value::from(t.clone()).to_string())
}

/// Appends `?, ?, …)` binding every value.
pub fn push_list<'a, DB>(qb: &mut QueryBuilder<'a, DB>, values: &[&str])
where
    DB: Database,
    String: 'a + Encode<'a, DB> + Type<DB>,
{
    let mut separated = qb.separated(", ");
    for value in values {
        separated.push_bind(value.to_string());
    }
    qb.push(")");
}

/// The query for the ordered page of (kind, id) a listing returns; `None` when nothing can match. Folders and files (or versions) are
/// projected onto common sort columns and merged in SQL, so `type=all` pages correctly.
pub fn list_page_query<'a, DB>(query: &ListQuery, dialect: &Dialect) -> Option<QueryBuilder<'a, DB>>
where
    DB: Database,
    String: 'a + Encode<'a, DB> + Type<DB>,
    i64: 'a + Encode<'a, DB> + Type<DB>,
{
    let want_folders = matches!(
        query.asset_type,
        AssetTypeFilter::Folder | AssetTypeFilter::All
    ) && query.tags.is_none();
    let want_files = !matches!(query.asset_type, AssetTypeFilter::Folder);
    let mut qb: QueryBuilder<DB> = QueryBuilder::new("SELECT kind, id FROM (");
    let mut branches = 0;
    if want_folders {
        qb.push(
            "SELECT 'folder' AS kind, id, name, created_at, updated_at, NULL AS width,
                    NULL AS height, NULL AS size FROM folders WHERE 1 = 1",
        );
        if let Some(folder) = &query.folder {
            qb.push(" AND parent_path = ")
                .push_bind(folder.as_str().to_owned());
        }
        if let Some(name) = &query.name {
            qb.push(" AND name = ").push_bind(name.clone());
        }
        branches += 1;
    }
    if want_files {
        if branches > 0 {
            qb.push(" UNION ALL ");
        }
        let versions = matches!(query.asset_type, AssetTypeFilter::FileVersion);
        qb.push(
            "SELECT 'file' AS kind, v.id AS id, f.name AS name, v.created_at AS created_at,
                    v.updated_at AS updated_at, v.width AS width, v.height AS height,
                    v.size AS size
             FROM files f JOIN file_versions v ON v.file_id = f.id WHERE ",
        );
        qb.push(if versions {
            "v.id <> f.current_version_id"
        } else {
            "v.id = f.current_version_id"
        });
        if let Some(folder) = &query.folder {
            qb.push(" AND f.folder_path = ")
                .push_bind(folder.as_str().to_owned());
        }
        if let FileTypeFilter::Only(kind) = query.file_type {
            qb.push(" AND v.file_type = ")
                .push_bind(kind.as_str().to_owned());
        }
        if let Some(name) = &query.name {
            qb.push(" AND f.name = ").push_bind(name.clone());
        }
        if let Some(tags) = &query.tags {
            qb.push(" AND ").push(dialect.tags_any_of);
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            push_list(&mut qb, &tags);
            qb.push(")");
        }
        branches += 1;
    }
    if branches == 0 {
        return None;
    }
    let (field, order) = query.sort;
    let column = match field {
        SortField::Name => dialect.name_order,
        SortField::Created
        | SortField::Relevance
        | SortField::Duration
        | SortField::OriginalCreationDate => "created_at",
        SortField::Updated => "updated_at",
        SortField::Height => "height",
        SortField::Width => "width",
        SortField::Size => "size",
    };
    let direction = match order {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    qb.push(format!(
        ") AS page ORDER BY {column} {direction}, id {direction} LIMIT "
    ));
    qb.push_bind(i64::from(query.limit));
    qb.push(" OFFSET ");
    qb.push_bind(query.skip.min(i64::MAX as u64) as i64);
    Some(qb)
}

pub const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, lease_owner, \
     lease_expires_at, result, created_at, updated_at";

pub fn job_from_row<'r, R>(row: &'r R) -> Result<JobRecord, StoreError>
where
    R: DecodeRow<'r>,
    &'static str: ColumnIndex<R>,
{
    let state_text = row.text("state")?;
    let parse = |column: &'static str, text: String| {
        serde_json::from_str::<Value>(&text)
            .map_err(|e| StoreError::Corrupt(format!("job {column}: {e}")))
    };
    Ok(JobRecord {
        id: row.text("id")?,
        kind: row.text("kind")?,
        payload: parse("payload", row.text("payload")?)?,
        state: JobState::parse(&state_text)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {state_text:?}")))?,
        attempts: row.int("attempts")? as u32,
        lease_owner: row.opt_text("lease_owner")?,
        lease_expires_at: row.opt_int("lease_expires_at")?.map(Timestamp::from_millis),
        result: row
            .opt_text("result")?
            .map(|text| parse("result", text))
            .transpose()?,
        created_at: Timestamp::from_millis(row.int("created_at")?),
        updated_at: Timestamp::from_millis(row.int("updated_at")?),
    })
}

/// The state and stored result of a finished job.
pub fn job_outcome_columns(outcome: &JobOutcome) -> (&'static str, String) {
    match outcome {
        JobOutcome::Done(result) => (JobState::Done.as_str(), result.to_string()),
        JobOutcome::Failed(message) => (
            JobState::Failed.as_str(),
            serde_json::json!({ "error": message }).to_string(),
        ),
    }
}

/// How a column is typed, for copying rows between engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int,
    Bool,
}

/// A table's columns, key first; rows are copied in key order.
pub fn table_columns(table: Table) -> &'static [(&'static str, ColumnType, bool)] {
    use ColumnType::{Bool, Int, Text};
    // (name, type, nullable)
    match table {
        Table::Blobs => &[
            ("hash", Text, false),
            ("size", Int, false),
            ("state", Text, false),
            ("claimed_at", Int, false),
        ],
        Table::Folders => &[
            ("id", Text, false),
            ("path", Text, false),
            ("parent_path", Text, false),
            ("name", Text, false),
            ("created_at", Int, false),
            ("updated_at", Int, false),
        ],
        Table::Files => &[
            ("id", Text, false),
            ("folder_path", Text, false),
            ("name", Text, false),
            ("current_version_id", Text, false),
            ("created_at", Int, false),
            ("updated_at", Int, false),
        ],
        Table::FileVersions => &[
            ("id", Text, false),
            ("file_id", Text, false),
            ("number", Int, false),
            ("blob_hash", Text, false),
            ("size", Int, false),
            ("mime", Text, false),
            ("format", Text, false),
            ("file_type", Text, false),
            ("width", Int, true),
            ("height", Int, true),
            ("has_alpha", Bool, false),
            ("tags", Text, true),
            ("ai_tags", Text, true),
            ("custom_coordinates", Text, true),
            ("custom_metadata", Text, false),
            ("description", Text, true),
            ("is_private", Bool, false),
            ("is_published", Bool, false),
            ("created_at", Int, false),
            ("updated_at", Int, false),
        ],
        Table::Events => &[
            ("seq", Int, false),
            ("occurred_at", Int, false),
            ("kind", Text, false),
            ("subject_id", Text, false),
            ("actor", Text, false),
            ("payload", Text, false),
        ],
    }
}

/// `SELECT <columns> FROM <table> [WHERE key > after] ORDER BY key LIMIT n`.
pub fn export_query<'a, DB>(table: Table, after: Option<&Cell>, limit: u32) -> QueryBuilder<'a, DB>
where
    DB: Database,
    String: 'a + Encode<'a, DB> + Type<DB>,
    i64: 'a + Encode<'a, DB> + Type<DB>,
    bool: 'a + Encode<'a, DB> + Type<DB>,
    Option<String>: 'a + Encode<'a, DB> + Type<DB>,
    Option<i64>: 'a + Encode<'a, DB> + Type<DB>,
{
    let columns = table_columns(table);
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let key = columns[0].0;
    let mut qb = QueryBuilder::new(format!("SELECT {} FROM {}", names.join(", "), table.name()));
    if let Some(after) = after {
        qb.push(format!(" WHERE {key} > "));
        push_cell(&mut qb, after);
    }
    qb.push(format!(" ORDER BY {key} LIMIT "));
    qb.push_bind(i64::from(limit));
    qb
}

/// Decodes one exported row by the table's declared column types.
pub fn row_cells<'r, R>(table: Table, row: &'r R) -> Result<Vec<Cell>, StoreError>
where
    R: DecodeRow<'r>,
    &'static str: ColumnIndex<R>,
{
    table_columns(table)
        .iter()
        .map(|(name, kind, nullable)| {
            Ok(match (kind, nullable) {
                (ColumnType::Text, false) => Cell::Text(row.text(name)?),
                (ColumnType::Text, true) => row.opt_text(name)?.map_or(Cell::Null, Cell::Text),
                (ColumnType::Int, false) => Cell::Int(row.int(name)?),
                (ColumnType::Int, true) => row.opt_int(name)?.map_or(Cell::Null, Cell::Int),
                (ColumnType::Bool, _) => Cell::Bool(row.flag(name)?),
            })
        })
        .collect()
}

/// `INSERT INTO <table> (<columns>) VALUES … ON CONFLICT DO NOTHING`: copying twice is a no-op,
/// which is what makes a migration resumable. `overriding` is PostgreSQL's clause for writing
/// identity columns.
pub fn import_query<'a, DB>(
    table: Table,
    rows: &[Vec<Cell>],
    overriding: &str,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    String: 'a + Encode<'a, DB> + Type<DB>,
    i64: 'a + Encode<'a, DB> + Type<DB>,
    bool: 'a + Encode<'a, DB> + Type<DB>,
    Option<String>: 'a + Encode<'a, DB> + Type<DB>,
    Option<i64>: 'a + Encode<'a, DB> + Type<DB>,
{
    let columns = table_columns(table);
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let mut qb = QueryBuilder::new(format!(
        "INSERT INTO {} ({}) {overriding} VALUES ",
        table.name(),
        names.join(", ")
    ));
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(");
        for (j, (cell, (_, kind, _))) in row.iter().zip(columns).enumerate() {
            if j > 0 {
                qb.push(", ");
            }
            match (cell, kind) {
                // A NULL is typed by its column so PostgreSQL accepts the bind.
                (Cell::Null, ColumnType::Int) => {
                    qb.push_bind(None::<i64>);
                }
                (Cell::Null, _) => {
                    qb.push_bind(None::<String>);
                }
                (cell, _) => push_cell(&mut qb, cell),
            }
        }
        qb.push(")");
    }
    qb.push(" ON CONFLICT DO NOTHING");
    qb
}

fn push_cell<'a, DB>(qb: &mut QueryBuilder<'a, DB>, cell: &Cell)
where
    DB: Database,
    String: 'a + Encode<'a, DB> + Type<DB>,
    i64: 'a + Encode<'a, DB> + Type<DB>,
    bool: 'a + Encode<'a, DB> + Type<DB>,
    Option<String>: 'a + Encode<'a, DB> + Type<DB>,
{
    match cell {
        Cell::Text(t) => qb.push_bind(t.clone()),
        Cell::Int(i) => qb.push_bind(*i),
        Cell::Bool(b) => qb.push_bind(*b),
        Cell::Null => qb.push_bind(None::<String>),
    };
}
