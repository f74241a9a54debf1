//! The background job runner over a real store: claim, run, finish; a job taken over by
//! another node is not finished twice.

use std::sync::Arc;

use kura::app::jobs::BLOB_SWEEP;
use kura::app::upload::UploadRequest;
use kura::app::{App, AppSettings};
use kura::blobs::local::LocalBlobStore;
use kura::model::id::random_alphanumeric;
use kura::model::{JobState, Principal, Timestamp, TransferKind};
use kura::remote::RemoteFetcher;
use kura::store::MetadataStore;
use kura::store::sqlite::SqliteStore;

async fn embedded_app(dir: &std::path::Path) -> (Arc<App>, Arc<SqliteStore>) {
    embedded_app_with(
        dir,
        kura::app::jobs::DEFAULT_LEASE,
        kura::app::jobs::DEFAULT_TRANSFER_BATCH,
    )
    .await
}

async fn embedded_app_with(
    dir: &std::path::Path,
    job_lease: std::time::Duration,
    transfer_batch: u32,
) -> (Arc<App>, Arc<SqliteStore>) {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("kura.db")).await.unwrap());
    let app = App::new(
        store.clone(),
        Arc::new(LocalBlobStore::open(dir.join("blobs")).unwrap()),
        RemoteFetcher::new(false).unwrap(),
        AppSettings {
            private_key: "k".into(),
            max_upload_size: 1024,
            spool_dir: dir.join("tmp"),
            job_lease,
            transfer_batch,
            search_index: false,
            page_cache_rows: 0,
            images: Default::default(),
        },
    );
    (app, store)
}

#[tokio::test]
async fn a_queued_sweep_runs_once_on_one_node() {
    let dir = std::env::temp_dir().join(format!("kura-jobs-test-{}", random_alphanumeric(10)));
    let (app, store) = embedded_app(&dir).await;
    let now = Timestamp::now();
    assert!(
        store
            .enqueue_job("sweep-now", BLOB_SWEEP, &serde_json::json!({}), now)
            .await
            .unwrap()
    );
    assert!(
        app.run_next_job("node-a").await.unwrap(),
        "the job was claimed and run"
    );
    assert!(
        !app.run_next_job("node-b").await.unwrap(),
        "nothing left for another node"
    );
    let job = store.get_job("sweep-now").await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(
        job.result,
        Some(serde_json::json!({ "removedBlobs": 0, "evictedDerivedImages": 0 }))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_scrub_finds_damaged_and_missing_bytes() {
    let dir = std::env::temp_dir().join(format!("kura-scrub-test-{}", random_alphanumeric(10)));
    let (app, _store) = embedded_app(&dir).await;
    let mut hashes = Vec::new();
    for content in [&b"intact"[..], b"will rot", b"will vanish"] {
        let mut body = app.start_upload(&Principal::AccountKey).await.unwrap();
        body.write(content).await.unwrap();
        let request = UploadRequest {
            file_name: "f.txt".into(),
            folder: None,
            use_unique_file_name: true,
            overwrite_file: true,
            attributes: Default::default(),
            custom_metadata: None,
        };
        let file = app
            .upload(&Principal::AccountKey, body, request)
            .await
            .unwrap();
        hashes.push(file.version.blob);
    }
    let path = |h: &str| dir.join("blobs").join(&h[..2]).join(&h[2..4]).join(h);
    std::fs::write(path(&hashes[1]), b"will r0t").unwrap();
    std::fs::remove_file(path(&hashes[2])).unwrap();

    let id = app.queue_scrub().await.unwrap();
    assert!(app.run_next_job("node-a").await.unwrap());
    let job = app.job(&id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(
        job.result,
        Some(serde_json::json!({
            "checked": 3,
            "damaged": [hashes[1]],
            "missing": [hashes[2]],
        }))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn upload_text(app: &App, folder: &str, name: &str, content: &[u8]) {
    let mut body = app.start_upload(&Principal::AccountKey).await.unwrap();
    body.write(content).await.unwrap();
    let request = UploadRequest {
        file_name: name.into(),
        folder: Some(folder.into()),
        use_unique_file_name: false,
        overwrite_file: true,
        attributes: Default::default(),
        custom_metadata: None,
    };
    app.upload(&Principal::AccountKey, body, request)
        .await
        .unwrap();
}

/// A lease renewal that comes due while a step's transaction is open must not stop that step
/// from committing (it once did: the renewal waited for the writer the step held, and the
/// step waited for the renewal to let it run).
#[tokio::test]
async fn lease_renewals_do_not_stall_a_folder_job() {
    let dir = std::env::temp_dir().join(format!("kura-lease-test-{}", random_alphanumeric(10)));
    let lease = std::time::Duration::from_millis(150);
    let (app, store) = embedded_app_with(&dir, lease, 1).await;
    for i in 0..120 {
        upload_text(
            &app,
            "/big",
            &format!("f{i:03}.txt"),
            format!("file {i}").as_bytes(),
        )
        .await;
    }
    let id = app
        .queue_folder_transfer(
            &Principal::AccountKey,
            TransferKind::Copy {
                include_versions: false,
            },
            "/big",
            "/copy",
        )
        .await
        .unwrap();
    // 120 one-file steps against a renewal every 50 ms.
    let ran = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        app.run_next_job("node-a"),
    )
    .await
    .expect("the job finished without stalling");
    assert!(ran.unwrap());
    let job = store.get_job(&id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done, "{:?}", job.result);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.result.unwrap()["files"], 120);
    std::fs::remove_dir_all(&dir).unwrap();
}
