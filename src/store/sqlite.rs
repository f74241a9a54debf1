//! The embedded metadata store's engine: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so transactions never contend for
//! SQLite's single write lock inside this process; reads use their own pool and run beside it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};

use super::StoreError;
use super::relational::{Engine, RelationalStore};
use super::sql::{Arg, Dialect, SQLITE, Statement, bind_args};
use crate::model::Timestamp;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_jobs.sql")),
    (
        3,
        include_str!("../../migrations/sqlite/0003_folder_ids.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_search.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_custom_metadata_fields.sql"),
    ),
    (
        6,
        include_str!("../../migrations/sqlite/0006_embedded_metadata.sql"),
    ),
    (7, include_str!("../../migrations/sqlite/0007_location.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_derived_images.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_named_transformations.sql"),
    ),
];

pub struct SqliteEngine {
    writer: SqlitePool,
    reader: SqlitePool,
}

pub type SqliteStore = RelationalStore<SqliteEngine>;

impl RelationalStore<SqliteEngine> {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit the API has acknowledged survives power loss, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        migrate(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let store = RelationalStore::new(SqliteEngine { writer, reader });
        store.fill_derived_columns().await?;
        Ok(store)
    }
}

/// Applies pending migrations. Foreign keys are off while they run — SQLite's documented way
/// to rebuild a table that others reference — and checked before each commit.
async fn migrate(writer: &SqlitePool) -> Result<(), StoreError> {
    let mut conn = writer.acquire().await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::raw_sql("PRAGMA foreign_keys = OFF")
        .execute(&mut *conn)
        .await?;
    let result = async {
        for (version, sql) in MIGRATIONS {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
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
            let broken: Vec<SqliteRow> = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&mut *tx)
                .await?;
            if !broken.is_empty() {
                return Err(StoreError::Migration(format!(
                    "migration {version} left {} rows with dangling references",
                    broken.len()
                )));
            }
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(Timestamp::now().millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }
    .await;
    sqlx::raw_sql("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    result
}

/// Rewrites `$n` placeholders as anonymous `?`, repeating arguments as needed. SQLite looks up
/// a named parameter's name by walking a list (`sqlite3_bind_parameter_name` is linear), which
/// the driver does for every argument: a 6 000-argument batch insert spent 75 % of its time
/// there. Anonymous parameters have no names to walk.
fn positional(statement: &Statement) -> (String, Vec<&Arg>) {
    let text = &statement.text;
    let mut sql = String::with_capacity(text.len());
    let mut args = Vec::with_capacity(statement.args.len());
    let mut in_literal = false;
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\'' {
            in_literal = !in_literal;
        }
        if c != '$' || in_literal {
            sql.push(c);
            continue;
        }
        let mut number = 0usize;
        let mut digits = 0;
        while let Some(&(_, d)) = chars.peek() {
            let Some(value) = d.to_digit(10) else { break };
            number = number * 10 + value as usize;
            digits += 1;
            chars.next();
        }
        match statement.args.get(number.wrapping_sub(1)) {
            Some(arg) if digits > 0 => {
                sql.push('?');
                args.push(arg);
            }
            // Not a placeholder we know: leave it for SQLite to reject.
            _ => {
                sql.push('$');
                if digits > 0 {
                    sql.push_str(&number.to_string());
                }
            }
        }
    }
    (sql, args)
}

#[async_trait]
impl Engine for SqliteEngine {
    type Tx = Transaction<'static, Sqlite>;
    type Row = SqliteRow;

    fn dialect() -> &'static Dialect {
        &SQLITE
    }

    async fn begin(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn commit(tx: Self::Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn execute(tx: &mut Self::Tx, statement: &Statement) -> Result<u64, StoreError> {
        let (sql, args) = positional(statement);
        Ok(bind_args::<Sqlite>(&sql, args.iter().copied())
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    async fn fetch(tx: &mut Self::Tx, statement: &Statement) -> Result<Vec<SqliteRow>, StoreError> {
        let (sql, args) = positional(statement);
        Ok(bind_args::<Sqlite>(&sql, args.iter().copied())
            .fetch_all(&mut **tx)
            .await?)
    }

    async fn read(&self, statement: &Statement) -> Result<Vec<SqliteRow>, StoreError> {
        let (sql, args) = positional(statement);
        Ok(bind_args::<Sqlite>(&sql, args.iter().copied())
            .fetch_all(&self.reader)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_anonymous() {
        let st = Statement::new("SELECT '$1', a FROM t WHERE b = $2 AND c = $1 OR d = $2")
            .arg(1i64)
            .arg("x");
        let (sql, args) = positional(&st);
        assert_eq!(sql, "SELECT '$1', a FROM t WHERE b = ? AND c = ? OR d = ?");
        assert_eq!(
            args,
            vec![&Arg::Text("x".into()), &Arg::Int(1), &Arg::Text("x".into())]
        );
    }
}
