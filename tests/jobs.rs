//! The background job runner over a real store: claim, run, finish; a job taken over by
//! another node is not finished twice.

use std::sync::Arc;

use kura::app::jobs::BLOB_SWEEP;
use kura::app::{App, AppSettings};
use kura::blobs::local::LocalBlobStore;
use kura::model::id::random_alphanumeric;
use kura::model::{JobState, Timestamp};
use kura::remote::RemoteFetcher;
use kura::store::MetadataStore;
use kura::store::sqlite::SqliteStore;

#[tokio::test]
async fn a_queued_sweep_runs_once_on_one_node() {
    let dir = std::env::temp_dir().join(format!("kura-jobs-test-{}", random_alphanumeric(10)));
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
        },
    );
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
    assert_eq!(job.result, Some(serde_json::json!({ "removedBlobs": 0 })));
    std::fs::remove_dir_all(&dir).unwrap();
}
