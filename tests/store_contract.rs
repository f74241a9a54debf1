//! The contract every `MetadataStore` implementation must keep. Today it runs against the
//! embedded SQLite store; the scale-out store will run the same functions.

use std::path::PathBuf;

use kura::model::{
    AssetId, AssetTypeFilter, AttributeUpdate, FileKind, FileName, FolderPath, JobOutcome,
    JobState, ListQuery, ListedAsset, MediaInfo, Principal, SortField, SortOrder, Timestamp,
    UploadAttributes,
};
use kura::store::postgres::PostgresStore;
use kura::store::sqlite::SqliteStore;
use kura::store::{MetadataStore, NewUpload, StoreError};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
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

async fn sqlite() -> (SqliteStore, TempDir) {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0.join("kura.db")).await.unwrap();
    (store, dir)
}

/// The server the PostgreSQL contract runs against; each test gets its own database there.
fn postgres_admin_url() -> String {
    std::env::var("KURA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database; dropped by `drop_database` when the test is done.
async fn postgres() -> (PostgresStore, String) {
    let name = format!(
        "kura_test_{}",
        kura::model::id::random_alphanumeric(12).to_lowercase()
    );
    let admin = sqlx::PgPool::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL must run at KURA_TEST_POSTGRES_URL (default 127.0.0.1:5432)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = match postgres_admin_url().rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("KURA_TEST_POSTGRES_URL needs a database path"),
    };
    (PostgresStore::open(&url).await.unwrap(), name)
}

async fn drop_database(store: PostgresStore, name: &str) {
    store.close().await;
    let admin = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}

fn hash(n: u8) -> String {
    format!("{:02x}", n).repeat(32)
}

fn upload(folder: &str, name: &str, blob: &str, replace: bool) -> NewUpload {
    NewUpload {
        folder: FolderPath::parse_lenient(folder).unwrap(),
        name: FileName::sanitise(name).unwrap(),
        replace_existing: replace,
        blob: blob.to_owned(),
        size: 10,
        media: MediaInfo {
            mime: "image/png".into(),
            format: "png".into(),
            kind: FileKind::Image,
            width: Some(4),
            height: Some(3),
            has_alpha: false,
        },
        attributes: UploadAttributes {
            tags: Some(vec!["t".into()]),
            ..Default::default()
        },
    }
}

const ACTOR: Principal = Principal::AccountKey;

async fn claim_and_commit(
    store: &dyn MetadataStore,
    u: NewUpload,
) -> Result<kura::model::FileRecord, StoreError> {
    store.claim_blob(&u.blob, u.size).await?;
    store.commit_upload(u, &ACTOR).await
}

async fn uploads_create_files_folders_and_versions(store: &dyn MetadataStore) {
    let first = claim_and_commit(store, upload("/a/b", "x.png", &hash(1), true))
        .await
        .unwrap();
    assert_eq!(
        first.version.id, first.id,
        "first version shares the file id"
    );
    assert_eq!(first.version.number, 1);
    let second = claim_and_commit(store, upload("/a/b", "x.png", &hash(2), true))
        .await
        .unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.version.number, 2);
    assert_ne!(second.version.id, first.version.id);
    let refused = claim_and_commit(store, upload("/a/b", "x.png", &hash(3), false)).await;
    assert!(matches!(refused, Err(StoreError::NameTaken)));

    let folders = store
        .list(&ListQuery {
            asset_type: AssetTypeFilter::Folder,
            ..Default::default()
        })
        .await
        .unwrap();
    let paths: Vec<String> = folders
        .iter()
        .map(|a| match a {
            ListedAsset::Folder(f) => f.path.to_string(),
            ListedAsset::File(_) => panic!("file in folder listing"),
        })
        .collect();
    assert_eq!(paths, ["/a", "/a/b"]);

    let versions = store
        .list(&ListQuery {
            asset_type: AssetTypeFilter::FileVersion,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(versions.len(), 1, "only the non-current version");
    let current = store.get_file(&first.id).await.unwrap().unwrap();
    assert_eq!(current.version.blob, hash(2));
    // Every change wrote its event: two folders, a file, a version.
    assert_eq!(store.event_count().await.unwrap(), 4);
}

async fn listing_pages_and_filters(store: &dyn MetadataStore) {
    for (i, name) in ["c.png", "a.png", "b.png"].iter().enumerate() {
        claim_and_commit(store, upload("/p", name, &hash(10 + i as u8), true))
            .await
            .unwrap();
    }
    let by_name = |skip, limit| ListQuery {
        folder: Some(FolderPath::parse_lenient("/p").unwrap()),
        sort: (SortField::Name, SortOrder::Asc),
        skip,
        limit,
        ..Default::default()
    };
    let names = |assets: Vec<ListedAsset>| -> Vec<String> {
        assets
            .into_iter()
            .map(|a| match a {
                ListedAsset::File(f) => f.name.to_string(),
                ListedAsset::Folder(f) => f.path.to_string(),
            })
            .collect()
    };
    assert_eq!(
        names(store.list(&by_name(0, 10)).await.unwrap()),
        ["a.png", "b.png", "c.png"]
    );
    assert_eq!(names(store.list(&by_name(1, 1)).await.unwrap()), ["b.png"]);
    let tagged = store
        .list(&ListQuery {
            tags: Some(vec!["nope".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(tagged.is_empty());
    let all_root = store
        .list(&ListQuery {
            asset_type: AssetTypeFilter::All,
            folder: Some(FolderPath::root()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(all_root), ["/p"]);
}

async fn updates_apply_to_the_current_version(store: &dyn MetadataStore) {
    let file = claim_and_commit(store, upload("/", "u.png", &hash(20), true))
        .await
        .unwrap();
    let updated = store
        .update_file(
            &file.id,
            &AttributeUpdate {
                tags: Some(None),
                description: Some("d".into()),
                ..Default::default()
            },
            &ACTOR,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.version.attributes.tags, None);
    assert_eq!(updated.version.attributes.description.as_deref(), Some("d"));
    let missing = AssetId::parse("000000000000000000000000").unwrap();
    assert!(
        store
            .update_file(&missing, &AttributeUpdate::default(), &ACTOR)
            .await
            .unwrap()
            .is_none()
    );
}

async fn deletion_and_the_blob_claim_protocol(store: &dyn MetadataStore) {
    let shared = hash(30);
    let a = claim_and_commit(store, upload("/", "a.bin", &shared, true))
        .await
        .unwrap();
    let b = claim_and_commit(store, upload("/", "b.bin", &shared, true))
        .await
        .unwrap();
    let later = Timestamp::from_millis(Timestamp::now().millis() + 1000);

    // Referenced blobs can never be marked for deletion.
    assert!(!store.begin_blob_deletion(&shared, later).await.unwrap());
    let deleted = store
        .delete_files(std::slice::from_ref(&a.id), &ACTOR)
        .await
        .unwrap();
    assert_eq!(deleted.ids, std::slice::from_ref(&a.id));
    assert_eq!(deleted.blobs, std::slice::from_ref(&shared));
    assert!(
        !store.begin_blob_deletion(&shared, later).await.unwrap(),
        "b still uses it"
    );
    store
        .delete_files(std::slice::from_ref(&b.id), &ACTOR)
        .await
        .unwrap();

    // Claimed after the cutoff: left alone.
    let past = Timestamp::from_millis(0);
    assert!(!store.begin_blob_deletion(&shared, past).await.unwrap());
    assert!(
        store
            .unreferenced_blobs(later)
            .await
            .unwrap()
            .contains(&shared)
    );

    // Marked: uploads can neither claim it nor commit against it until it is gone.
    assert!(store.begin_blob_deletion(&shared, later).await.unwrap());
    assert!(matches!(
        store.claim_blob(&shared, 10).await,
        Err(StoreError::BlobBusy)
    ));
    assert!(matches!(
        store
            .commit_upload(upload("/", "c.bin", &shared, true), &ACTOR)
            .await,
        Err(StoreError::BlobBusy)
    ));
    store.finish_blob_deletion(&shared).await.unwrap();
    claim_and_commit(store, upload("/", "c.bin", &shared, true))
        .await
        .unwrap();

    // A claim made before the sweeper marks wins: the commit goes through.
    let fresh = hash(31);
    store.claim_blob(&fresh, 10).await.unwrap();
    assert!(!store.begin_blob_deletion(&fresh, past).await.unwrap());
    claim_and_commit(store, upload("/", "d.bin", &fresh, true))
        .await
        .unwrap();

    // Bytes with no row at all (a stray file) can be marked too.
    assert!(store.begin_blob_deletion(&hash(32), later).await.unwrap());
    store.finish_blob_deletion(&hash(32)).await.unwrap();
}

async fn concurrent_uploads_of_one_name_become_versions<S: MetadataStore>(store: &S) {
    let n = 12;
    let results = futures_util::future::join_all((0..n).map(|i| {
        claim_and_commit(
            store,
            upload("/race", "same.png", &hash(60 + i as u8), true),
        )
    }))
    .await;
    let mut numbers: Vec<u32> = results
        .into_iter()
        .map(|r| r.expect("every concurrent upload lands").version.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=n).collect::<Vec<u32>>());
}

fn at(base: Timestamp, offset: i64) -> Timestamp {
    Timestamp::from_millis(base.millis() + offset)
}

async fn jobs_are_leased_taken_over_and_finished_once<S: MetadataStore>(store: &S) {
    let t0 = Timestamp::now();
    let kinds = ["test-kind"];
    assert!(
        store
            .enqueue_job("job-1", "test-kind", &serde_json::json!({"n": 1}), t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_job("job-1", "test-kind", &serde_json::json!({"n": 2}), t0)
            .await
            .unwrap(),
        "the same id is queued once"
    );
    assert!(
        store
            .claim_job("a", &["other-kind"], at(t0, 1000), t0)
            .await
            .unwrap()
            .is_none()
    );

    let a = store
        .claim_job("a", &kinds, at(t0, 1000), t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.id.as_str(), a.attempts, a.lease_owner.as_deref()),
        ("job-1", 1, Some("a"))
    );
    assert_eq!(a.payload, serde_json::json!({"n": 1}));
    assert_eq!(a.state, JobState::Running);
    // While a's lease holds nobody else gets the job.
    assert!(
        store
            .claim_job("b", &kinds, at(t0, 2000), at(t0, 500))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .renew_job_lease("job-1", "a", at(t0, 1200))
            .await
            .unwrap()
    );

    // a stops renewing (its node died): once the lease is over, b takes the job.
    let b = store
        .claim_job("b", &kinds, at(t0, 5000), at(t0, 1500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.attempts, b.lease_owner.as_deref()), (2, Some("b")));
    // a comes back: it can neither renew nor finish what is no longer its job.
    assert!(
        !store
            .renew_job_lease("job-1", "a", at(t0, 9000))
            .await
            .unwrap()
    );
    let by_a = JobOutcome::Done(serde_json::json!({"by": "a"}));
    assert!(
        !store
            .finish_job("job-1", "a", &by_a, at(t0, 1600))
            .await
            .unwrap()
    );

    let by_b = JobOutcome::Done(serde_json::json!({"by": "b"}));
    assert!(
        store
            .finish_job("job-1", "b", &by_b, at(t0, 1700))
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_job("job-1", "b", &by_b, at(t0, 1800))
            .await
            .unwrap(),
        "finished once"
    );
    let job = store.get_job("job-1").await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.result, Some(serde_json::json!({"by": "b"})));
    assert!(
        store
            .claim_job("c", &kinds, at(t0, 99_000), at(t0, 90_000))
            .await
            .unwrap()
            .is_none()
    );

    store
        .enqueue_job("job-2", "test-kind", &serde_json::json!({}), t0)
        .await
        .unwrap();
    let c = store
        .claim_job("c", &kinds, at(t0, 1000), t0)
        .await
        .unwrap()
        .unwrap();
    let failed = JobOutcome::Failed("broken".into());
    assert!(
        store
            .finish_job(&c.id, "c", &failed, at(t0, 10))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_job("job-2").await.unwrap().unwrap().state,
        JobState::Failed
    );
    assert!(store.get_job("job-3").await.unwrap().is_none());
}

async fn concurrent_claims_take_distinct_jobs<S: MetadataStore>(store: &S) {
    let t0 = Timestamp::now();
    for i in 0..10 {
        store
            .enqueue_job(&format!("j{i:02}"), "k", &serde_json::json!({}), at(t0, i))
            .await
            .unwrap();
    }
    let nodes: Vec<String> = (0..12).map(|i| format!("node-{i}")).collect();
    let claims = futures_util::future::join_all(
        nodes
            .iter()
            .map(|n| store.claim_job(n, &["k"], at(t0, 60_000), at(t0, 100))),
    )
    .await;
    let mut ids: Vec<String> = claims
        .into_iter()
        .filter_map(|c| c.unwrap().map(|j| j.id))
        .collect();
    ids.sort();
    assert_eq!(ids, (0..10).map(|i| format!("j{i:02}")).collect::<Vec<_>>());
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite_contract {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = sqlite().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod postgres_contract {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, db) = postgres().await;
                    super::$name(&store).await;
                    drop_database(store, &db).await;
                }
            )*
        }
    };
}

contract!(
    jobs_are_leased_taken_over_and_finished_once,
    concurrent_claims_take_distinct_jobs,
    concurrent_uploads_of_one_name_become_versions,
    uploads_create_files_folders_and_versions,
    listing_pages_and_filters,
    updates_apply_to_the_current_version,
    deletion_and_the_blob_claim_protocol,
);

#[tokio::test]
async fn sqlite_event_log_is_append_only() {
    let dir = TempDir::new();
    let path = dir.0.join("kura.db");
    let store = SqliteStore::open(&path).await.unwrap();
    claim_and_commit(&store, upload("/", "e.png", &hash(50), true))
        .await
        .unwrap();
    drop(store);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    for sql in ["UPDATE events SET kind = 'x'", "DELETE FROM events"] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn sqlite_survives_reopen() {
    let dir = TempDir::new();
    let path = dir.0.join("kura.db");
    let id = {
        let store = SqliteStore::open(&path).await.unwrap();
        claim_and_commit(&store, upload("/r", "keep.png", &hash(40), true))
            .await
            .unwrap()
            .id
    };
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(store.get_file(&id).await.unwrap().is_some());
}
