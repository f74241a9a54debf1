//! Stores for the store-level test suites: a SQLite file in a temporary directory, or a fresh
//! PostgreSQL database on the server at KURA_TEST_POSTGRES_URL.

// Each test crate uses its own subset of these.
#![allow(dead_code)]

use std::path::PathBuf;

use kura::store::postgres::PostgresStore;
use kura::store::sqlite::SqliteStore;

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "kura-store-test-{}",
            kura::model::id::random_alphanumeric(12)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub async fn sqlite() -> (SqliteStore, TempDir) {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0.join("kura.db")).await.unwrap();
    (store, dir)
}

/// The server the PostgreSQL tests run against; each test gets its own database there.
pub fn postgres_admin_url() -> String {
    std::env::var("KURA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database; dropped by `drop_database` when the test is done.
pub async fn postgres() -> (PostgresStore, String) {
    postgres_with("").await
}

/// A fresh database created with these `CREATE DATABASE` options (a collation, say).
pub async fn postgres_with(options: &str) -> (PostgresStore, String) {
    let name = format!(
        "kura_test_{}",
        kura::model::id::random_alphanumeric(12).to_lowercase()
    );
    let admin = sqlx::PgPool::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL must run at KURA_TEST_POSTGRES_URL (default 127.0.0.1:5432)");
    sqlx::query(&format!("CREATE DATABASE {name} {options}"))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} {options}: {e}"));
    admin.close().await;
    (
        PostgresStore::open(&database_url(&name)).await.unwrap(),
        name,
    )
}

/// The URL of a database on the test server.
pub fn database_url(name: &str) -> String {
    match postgres_admin_url().rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("KURA_TEST_POSTGRES_URL needs a database path"),
    }
}

pub async fn drop_database(store: PostgresStore, name: &str) {
    store.close().await;
    let admin = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
