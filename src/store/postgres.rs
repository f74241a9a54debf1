//! The scale-out metadata store's engine: PostgreSQL, shared by any number of `kura serve`
//! nodes. The statements are the shared ones in `relational`; the row locks they take here
//! (the dialect's `lock_row`/`share_row`) stand in for SQLite's single writer.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Transaction};

use super::StoreError;
use super::relational::{Engine, RelationalStore};
use super::sql::{Dialect, POSTGRES, Statement, bind_args};
use crate::model::Timestamp;

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_jobs.sql")),
    (
        3,
        include_str!("../../migrations/postgres/0003_folder_ids.sql"),
    ),
    (4, include_str!("../../migrations/postgres/0004_search.sql")),
    (
        5,
        include_str!("../../migrations/postgres/0005_custom_metadata_fields.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_embedded_metadata.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_location.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_derived_images.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_named_transformations.sql"),
    ),
];

/// Serialises migrations across nodes starting at once (an arbitrary, fixed key).
const MIGRATION_LOCK: i64 = 0x6b75_7261_6d69_6772;

pub struct PostgresEngine {
    pool: PgPool,
}

pub type PostgresStore = RelationalStore<PostgresEngine>;

impl RelationalStore<PostgresEngine> {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        migrate(&pool).await?;
        let store = RelationalStore::new(PostgresEngine { pool });
        store.fill_derived_columns().await?;
        Ok(store)
    }

    /// Closes the pool's connections (so the database can be dropped, in tests).
    pub async fn close(&self) {
        self.engine.pool.close().await;
    }
}

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
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

#[async_trait]
impl Engine for PostgresEngine {
    type Tx = Transaction<'static, Postgres>;
    type Row = PgRow;

    fn dialect() -> &'static Dialect {
        &POSTGRES
    }

    async fn begin(&self) -> Result<Self::Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn commit(tx: Self::Tx) -> Result<(), StoreError> {
        Ok(tx.commit().await?)
    }

    async fn execute(tx: &mut Self::Tx, statement: &Statement) -> Result<u64, StoreError> {
        Ok(bind_args::<Postgres>(&statement.text, &statement.args)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }

    async fn fetch(tx: &mut Self::Tx, statement: &Statement) -> Result<Vec<PgRow>, StoreError> {
        Ok(bind_args::<Postgres>(&statement.text, &statement.args)
            .fetch_all(&mut **tx)
            .await?)
    }

    async fn read(&self, statement: &Statement) -> Result<Vec<PgRow>, StoreError> {
        Ok(bind_args::<Postgres>(&statement.text, &statement.args)
            .fetch_all(&self.pool)
            .await?)
    }
}
