//! Folder copy / rename / move at the store level, without HTTP: seeds a folder of N files
//! through the bulk import path (seconds, where N uploads would take minutes), then runs the
//! same fenced steps a folder job runs and prints the wall-clock time of each.
//!
//!   cargo bench --bench folder_transfer                      # SQLite, 100 000 files
//!   FILES=10000 BATCH=500 cargo bench --bench folder_transfer
//!   KURA_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/kura_bench cargo bench --bench folder_transfer

use std::time::Instant;

use kura::model::{FolderPath, FolderTransfer, Principal, Timestamp, TransferKind};
use kura::store::postgres::PostgresStore;
use kura::store::sqlite::SqliteStore;
use kura::store::{Cell, JobFence, MetadataStore, Table, TransferCursor};

const SOURCE_FOLDER_ID: &str = "0000000000000000000b0001";

fn env_u32(key: &str, default: u32) -> u32 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn seed(store: &dyn MetadataStore, files: u32) {
    let text = |s: String| Cell::Text(s);
    store
        .import_rows(
            Table::Folders,
            &[vec![
                text(SOURCE_FOLDER_ID.into()),
                text("/bench".into()),
                text("/".into()),
                text("bench".into()),
                Cell::Int(0),
                Cell::Int(0),
            ]],
        )
        .await
        .unwrap();
    let ids: Vec<String> = (0..files)
        .map(|i| format!("{:024x}", 0xf000_0000u64 + u64::from(i)))
        .collect();
    for chunk in ids.chunks(5000) {
        let blobs: Vec<Vec<Cell>> = chunk
            .iter()
            .map(|id| {
                vec![
                    text(format!("{id}{id}")),
                    Cell::Int(100),
                    text("live".into()),
                    Cell::Int(0),
                ]
            })
            .collect();
        store.import_rows(Table::Blobs, &blobs).await.unwrap();
        let rows: Vec<Vec<Cell>> = chunk
            .iter()
            .map(|id| {
                vec![
                    text(id.clone()),
                    text(SOURCE_FOLDER_ID.into()),
                    text(format!("file-{id}.png")),
                    text(id.clone()),
                    Cell::Int(0),
                    Cell::Int(0),
                ]
            })
            .collect();
        store.import_rows(Table::Files, &rows).await.unwrap();
        let versions: Vec<Vec<Cell>> = chunk
            .iter()
            .map(|id| {
                vec![
                    text(id.clone()),
                    text(id.clone()),
                    Cell::Int(1),
                    text(format!("{id}{id}")),
                    Cell::Int(100),
                    text("image/png".into()),
                    text("png".into()),
                    text("image".into()),
                    Cell::Int(8),
                    Cell::Int(6),
                    Cell::Bool(false),
                    text("[\"a\",\"b\"]".into()),
                    Cell::Null,
                    Cell::Null,
                    text("{}".into()),
                    Cell::Null,
                    Cell::Bool(false),
                    Cell::Bool(true),
                    Cell::Int(0),
                    Cell::Int(0),
                ]
            })
            .collect();
        store
            .import_rows(Table::FileVersions, &versions)
            .await
            .unwrap();
    }
}

async fn run(
    store: &dyn MetadataStore,
    job: &str,
    transfer: &FolderTransfer,
    batch: u32,
) -> (f64, u64) {
    let now = Timestamp::now();
    store
        .enqueue_job(job, "bench", &serde_json::json!({}), now)
        .await
        .unwrap();
    store
        .claim_job(
            "bench-node",
            &["bench"],
            Timestamp::from_millis(now.millis() + 3_600_000),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let fence = JobFence {
        job_id: job,
        node: "bench-node",
    };
    let started = Instant::now();
    let mut cursor = TransferCursor::default();
    while !cursor.is_done() {
        cursor = store
            .advance_transfer(transfer, &cursor, batch, fence, &Principal::System)
            .await
            .unwrap();
    }
    (started.elapsed().as_secs_f64(), cursor.files)
}

async fn bench(store: &dyn MetadataStore, label: &str, files: u32, batch: u32) {
    let started = Instant::now();
    seed(store, files).await;
    println!(
        "{label}: seeded {files} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let path = |p: &str| FolderPath::parse_lenient(p).unwrap();
    let copy = FolderTransfer::into_folder(
        TransferKind::Copy {
            include_versions: false,
        },
        path("/bench"),
        &path("/copies"),
    )
    .unwrap();
    let (secs, n) = run(store, "copy", &copy, batch).await;
    println!(
        "{label}: copy   {n} files in {secs:.2} s ({:.0} files/s, batch {batch})",
        n as f64 / secs
    );
    // Again onto the copy: every file now has a namesake, so each gets a version appended.
    let (secs, n) = run(store, "copy-onto", &copy, batch).await;
    println!(
        "{label}: copy onto namesakes {n} files in {secs:.2} s ({:.0} files/s)",
        n as f64 / secs
    );
    let rename = FolderTransfer::rename(path("/copies/bench"), "renamed").unwrap();
    let (secs, _) = run(store, "rename", &rename, batch).await;
    println!("{label}: rename {files} files in {:.1} ms", secs * 1000.0);
    let mv =
        FolderTransfer::into_folder(TransferKind::Move, path("/copies/renamed"), &path("/moved"))
            .unwrap();
    let (secs, _) = run(store, "move", &mv, batch).await;
    println!("{label}: move   {files} files in {:.1} ms", secs * 1000.0);
    assert_eq!(
        store
            .count_files_below(&path("/moved/renamed"))
            .await
            .unwrap(),
        u64::from(files)
    );
}

#[tokio::main]
async fn main() {
    let files = env_u32("FILES", 100_000);
    let batch = env_u32("BATCH", 1000);
    let dir = std::env::temp_dir().join(format!("kura-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let store = SqliteStore::open(&dir.join("kura.db")).await.unwrap();
        bench(&store, "sqlite", files, batch).await;
    }
    std::fs::remove_dir_all(&dir).ok();
    if let Ok(url) = std::env::var("KURA_BENCH_POSTGRES_URL") {
        let store = PostgresStore::open(&url).await.unwrap();
        bench(&store, "postgres", files, batch).await;
        store.close().await;
    }
}
