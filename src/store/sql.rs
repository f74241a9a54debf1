//! What both SQL engines share: statements with their arguments, how rows decode into model
//! records, how attributes are encoded into columns, and how listing and copy queries are
//! built. The few places where the engines' SQL differs are named in `Dialect`.

use serde_json::Value;

use super::{Cell, StoreError, Table};
use crate::model::{
    AiTag, AssetId, FileAttributes, FileKind, FileName, FileRecord, FolderPath, FolderRecord,
    JobOutcome, JobRecord, JobState, ListQuery, MediaInfo, Timestamp, VersionRecord,
};

/// One bound value. NULLs carry their column type because PostgreSQL types every parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
    Float(f64),
    NullText,
    NullInt,
    NullFloat,
}

impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(v)
    }
}

impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Arg::NullFloat, Arg::Float)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<&AssetId> for Arg {
    fn from(v: &AssetId) -> Self {
        Arg::Text(v.as_str().to_owned())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::Int(i64::from(v))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<Timestamp> for Arg {
    fn from(v: Timestamp) -> Self {
        Arg::Int(v.millis())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        v.map_or(Arg::NullText, Arg::Text)
    }
}
impl From<Option<&String>> for Arg {
    fn from(v: Option<&String>) -> Self {
        v.map_or(Arg::NullText, |t| Arg::Text(t.clone()))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}

/// SQL text with its arguments. Placeholders are `$1 … $n`, which both engines accept (the
/// SQLite driver maps `$N` to the N-th argument), so one statement serves both.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Statement {
    pub fn new(text: impl Into<String>) -> Self {
        Statement {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds an argument for the next `$n` already written in the text.
    pub fn arg(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `$a, $b, …` for every value (the caller writes the parentheses).
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self
    }
}

/// Shorthand for a fixed statement: `q("… WHERE id = $1").arg(id)`.
pub fn q(text: &str) -> Statement {
    Statement::new(text)
}

/// Column access by name; every engine's row type has it.
pub trait RowAccess {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
}

impl<R> RowAccess for R
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(column)?)
    }
}

/// `sql` with `args` bound in order, for either engine's driver.
pub fn bind_args<'q, DB>(
    sql: &'q str,
    args: impl IntoIterator<Item = &'q Arg>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match arg {
            Arg::Text(t) => query.bind(t.as_str()),
            Arg::Int(i) => query.bind(*i),
            Arg::Bool(b) => query.bind(*b),
            Arg::Float(f) => query.bind(*f),
            Arg::NullText => query.bind(None::<String>),
            Arg::NullInt => query.bind(None::<i64>),
            Arg::NullFloat => query.bind(None::<f64>),
        };
    }
    query
}

/// How an engine reads JSON held in TEXT columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFlavour {
    /// `json_each`, whose rows carry `type` and `value`.
    Sqlite,
    /// `jsonb` operators on a cast.
    Postgres,
}

/// The places the two engines' SQL differs.
pub struct Dialect {
    pub json: JsonFlavour,
    /// Start of "some element of the JSON array in `v.tags` is one of (…)"; the caller appends
    /// the bound list and one closing parenthesis.
    pub tags_any_of: &'static str,
    /// The same for the names of the AI tags in `v.ai_tags`.
    pub ai_tags_any_of: &'static str,
    /// How many tags and AI tags `v` has.
    pub tag_count: &'static str,
    /// Appended to a text column so that `<` and `>` compare bytes, whatever the database's
    /// collation (path-prefix ranges rely on it).
    pub byte_order: &'static str,
    /// `f(haystack, needle)`: where the needle starts (1-based), 0 when absent.
    pub position: &'static str,
    /// Case-insensitive ordering by `name`.
    pub name_order: &'static str,
    /// Appended to a read that must keep the row from changing until commit. SQLite needs
    /// none: its write transactions (BEGIN IMMEDIATE) already exclude each other.
    pub lock_row: &'static str,
    /// Appended to a read that must keep the row from being deleted until commit.
    pub share_row: &'static str,
    /// `share_row` for a read joining `files f` with other tables: locks only the file rows.
    pub share_file: &'static str,
    /// Appended to the job-claim subquery so concurrent claimers skip each other's rows.
    pub skip_locked: &'static str,
    /// Most arguments one statement may carry.
    pub max_args: usize,
    /// Lets an insert write the events table's generated sequence numbers.
    pub identity_insert: &'static str,
    /// Run after importing events, so new events continue after the copied ones.
    pub after_events_import: Option<&'static str>,
    /// Reads the snapshot's `xmin` and `xmax` as integers, where event numbers can commit out
    /// of order.
    pub snapshot_horizon: Option<&'static str>,
}

pub const SQLITE: Dialect = Dialect {
    json: JsonFlavour::Sqlite,
    tags_any_of: "EXISTS (SELECT 1 FROM json_each(v.tags) t WHERE t.value IN (",
    ai_tags_any_of: "EXISTS (SELECT 1 FROM json_each(v.ai_tags) t WHERE json_extract(t.value, '$.name') IN (",
    tag_count: "COALESCE(json_array_length(v.tags), 0) + COALESCE(json_array_length(v.ai_tags), 0)",
    byte_order: "",
    position: "instr",
    name_order: "name COLLATE NOCASE",
    lock_row: "",
    share_row: "",
    share_file: "",
    skip_locked: "",
    max_args: 32_766,
    identity_insert: "",
    after_events_import: None,
    snapshot_horizon: None,
};

pub const POSTGRES: Dialect = Dialect {
    json: JsonFlavour::Postgres,
    tags_any_of: "EXISTS (SELECT 1 FROM jsonb_array_elements_text(v.tags::jsonb) t(value) WHERE t.value IN (",
    ai_tags_any_of: "EXISTS (SELECT 1 FROM jsonb_array_elements(v.ai_tags::jsonb) t(value) WHERE t.value->>'name' IN (",
    tag_count: "COALESCE(jsonb_array_length(v.tags::jsonb), 0) + COALESCE(jsonb_array_length(v.ai_tags::jsonb), 0)",
    byte_order: " COLLATE \"C\"",
    position: "strpos",
    name_order: "lower(name) COLLATE \"C\"",
    lock_row: " FOR UPDATE",
    share_row: " FOR SHARE",
    share_file: " FOR SHARE OF f",
    skip_locked: " FOR UPDATE SKIP LOCKED",
    max_args: 65_535,
    identity_insert: "OVERRIDING SYSTEM VALUE",
    after_events_import: Some(
        "SELECT setval(pg_get_serial_sequence('events', 'seq'),
                       GREATEST((SELECT MAX(seq) FROM events), 1))",
    ),
    snapshot_horizon: Some(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax",
    ),
};

/// The id of the root folder's row, which every install has (files refer to their folder by
/// id, so the root needs one too).
pub const ROOT_FOLDER_ID: &str = "000000000000000000000000";

/// Columns of a file joined with one of its versions and its folder; see `FILE_FROM_CURRENT`
/// and `FILE_FROM_VERSIONS`.
pub const FILE_COLUMNS: &str = "f.id AS f_id, d.path AS folder_path, f.name, f.current_version_id, \
     f.created_at AS f_created_at, f.updated_at AS f_updated_at, \
     v.id AS v_id, v.number, v.blob_hash, v.size, v.mime, v.format, v.file_type, v.width, \
     v.height, v.has_alpha, v.tags, v.ai_tags, v.custom_coordinates, v.custom_metadata, \
     v.description, v.is_private, v.is_published, v.created_at AS v_created_at, \
     v.updated_at AS v_updated_at, v.embedded_metadata, v.media_metadata";

/// Files with their current version.
pub const FILE_FROM_CURRENT: &str = "files f JOIN folders d ON d.id = f.folder_id \
     JOIN file_versions v ON v.id = f.current_version_id";

/// Versions with their file.
pub const FILE_FROM_VERSIONS: &str = "file_versions v JOIN files f ON f.id = v.file_id \
     JOIN folders d ON d.id = f.folder_id";

pub fn file_from_row(row: &impl RowAccess) -> Result<FileRecord, StoreError> {
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
        ai_tags: json_column::<Vec<StoredAiTag>>(row, "ai_tags")?
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
            embedded: json_map(row, "embedded_metadata")?,
            technical: row.opt_text("media_metadata")?,
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

pub fn folder_from_row(row: &impl RowAccess) -> Result<FolderRecord, StoreError> {
    Ok(FolderRecord {
        id: AssetId::from_stored(row.text("id")?),
        path: FolderPath::from_stored(row.text("path")?),
        created_at: Timestamp::from_millis(row.int("created_at")?),
        updated_at: Timestamp::from_millis(row.int("updated_at")?),
    })
}

/// A version's `custom_metadata` column.
pub fn custom_metadata(
    row: &impl RowAccess,
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    json_map(row, "custom_metadata")
}

/// A JSON object column; most are `{}`, which needs no parsing.
pub fn json_map(
    row: &impl RowAccess,
    column: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
    let text = row.text(column)?;
    if text == "{}" {
        return Ok(serde_json::Map::new());
    }
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn json_column<T>(row: &impl RowAccess, column: &'static str) -> Result<Option<T>, StoreError>
where
    T: serde::de::DeserializeOwned,
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

/// A version row's tags and AI tag names, together.
pub fn tag_names(row: &impl RowAccess) -> Result<Vec<String>, StoreError> {
    let tags: Vec<String> = json_column(row, "tags")?.unwrap_or_default();
    let ai: Vec<StoredAiTag> = json_column(row, "ai_tags")?.unwrap_or_default();
    Ok(tags
        .into_iter()
        .chain(ai.into_iter().map(|t| t.name))
        .collect())
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

/// The query for the ordered page of (kind, id) a listing returns; `None` when nothing can
/// match. Folders and files (or versions) are projected onto common sort columns and merged in
/// SQL, so `type=all` pages correctly.
pub fn list_page_query(query: &ListQuery, dialect: &Dialect) -> Option<Statement> {
    super::search_sql::search_page_query(&query.effective_search(), query, dialect)
}

pub const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, lease_owner, \
     lease_expires_at, result, progress, created_at, updated_at";

pub fn job_from_row(row: &impl RowAccess) -> Result<JobRecord, StoreError> {
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
        progress: row
            .opt_text("progress")?
            .map(|text| parse("progress", text))
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
            ("folder_id", Text, false),
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
            ("embedded_metadata", Text, false),
            ("media_metadata", Text, true),
        ],
        Table::CustomMetadataFields => &[
            ("id", Text, false),
            ("name", Text, false),
            ("label", Text, false),
            ("description", Text, true),
            ("schema", Text, false),
            ("deleted", Bool, false),
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
pub fn export_query(table: Table, after: Option<&Cell>, limit: u32) -> Statement {
    let columns = table_columns(table);
    let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let key = columns[0].0;
    let mut st = Statement::new(format!("SELECT {} FROM {}", names.join(", "), table.name()));
    if let Some(after) = after {
        st.push(&format!(" WHERE {key} > "));
        st.bind(cell_arg(after, columns[0].1));
    }
    st.push(&format!(" ORDER BY {key} LIMIT "));
    st.bind(limit);
    st
}

/// Decodes one exported row by the table's declared column types.
pub fn row_cells(table: Table, row: &impl RowAccess) -> Result<Vec<Cell>, StoreError> {
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
/// Columns a copied row carries beyond `table_columns`: what the store derives from the
/// others (`version_derived_cells`), so an import writes each row once, complete.
pub fn derived_columns(table: Table) -> &'static [&'static str] {
    match table {
        Table::FileVersions => &[
            "tag_words",
            "custom_words",
            "gps_lat",
            "gps_lng",
            "gps_x",
            "gps_y",
            "gps_z",
        ],
        _ => &[],
    }
}

/// The `derived_columns` of a `file_versions` row given in `table_columns` order.
pub fn version_derived_args(row: &[Cell]) -> Result<Vec<Arg>, StoreError> {
    let columns = table_columns(Table::FileVersions);
    let text = |name: &str| -> Option<&str> {
        let at = columns.iter().position(|c| c.0 == name)?;
        match row.get(at) {
            Some(Cell::Text(t)) => Some(t.as_str()),
            _ => None,
        }
    };
    let parse = |name: &'static str| -> Result<Option<Value>, StoreError> {
        text(name)
            .map(|t| {
                serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
            })
            .transpose()
    };
    let tags: Vec<String> = match parse("tags")? {
        Some(v) => {
            serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?
        }
        None => Vec::new(),
    };
    let ai: Vec<StoredAiTag> = match parse("ai_tags")? {
        Some(v) => {
            serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("ai_tags: {e}")))?
        }
        None => Vec::new(),
    };
    let custom = match parse("custom_metadata")? {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let names = tags
        .iter()
        .map(String::as_str)
        .chain(ai.iter().map(|t| t.name.as_str()));
    let embedded = match parse("embedded_metadata")? {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let mut args = vec![
        Arg::Text(crate::model::search::indexed_words(names)),
        Arg::Text(crate::model::search::indexed_custom_words(&custom)),
    ];
    args.extend(location_args(&embedded));
    Ok(args)
}

/// The `gps_lat`, `gps_lng`, `gps_x`, `gps_y` and `gps_z` of a version with this embedded
/// metadata (`model::geo`); NULLs where it says nothing of where it was made.
pub fn location_args(embedded: &serde_json::Map<String, Value>) -> [Arg; 5] {
    match crate::model::geo::GeoPoint::from_embedded(embedded) {
        Some(point) => {
            let p = point.located();
            [p.lat, p.lng, p.x, p.y, p.z].map(Arg::Float)
        }
        None => std::array::from_fn(|_| Arg::NullFloat),
    }
}

/// `derived` holds each row's `derived_columns` (none for tables without any).
pub fn import_query(
    table: Table,
    rows: &[Vec<Cell>],
    derived: &[Vec<Arg>],
    overriding: &str,
) -> Statement {
    let columns = table_columns(table);
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c.0)
        .chain(derived_columns(table).iter().copied())
        .collect();
    let mut st = Statement::new(format!(
        "INSERT INTO {} ({}) {overriding} VALUES ",
        table.name(),
        names.join(", ")
    ));
    for (i, row) in rows.iter().enumerate() {
        st.push(if i > 0 { ", (" } else { "(" });
        let declared = row
            .iter()
            .zip(columns)
            .map(|(cell, column)| cell_arg(cell, column.1));
        st.bind_list(declared.chain(derived.get(i).into_iter().flatten().cloned()));
        st.push(")");
    }
    st.push(" ON CONFLICT DO NOTHING");
    st
}

/// A copied value as an argument; a NULL is typed by its column so PostgreSQL accepts it.
fn cell_arg(cell: &Cell, kind: ColumnType) -> Arg {
    match (cell, kind) {
        (Cell::Text(t), _) => Arg::Text(t.clone()),
        (Cell::Int(i), _) => Arg::Int(*i),
        (Cell::Bool(b), _) => Arg::Bool(*b),
        (Cell::Null, ColumnType::Int) => Arg::NullInt,
        (Cell::Null, _) => Arg::NullText,
    }
}
