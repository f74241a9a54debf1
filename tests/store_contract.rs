//! The contract every `MetadataStore` implementation must keep. Today it runs against the
//! embedded SQLite store; the scale-out store will run the same functions.

use kura::model::{
    AssetId, AssetTypeFilter, AttributeUpdate, FileKind, FileName, FolderPath, FolderTransfer,
    JobOutcome, JobState, ListQuery, ListedAsset, MediaInfo, Principal, SortField, SortOrder,
    TagChange, Timestamp, TransferKind, UploadAttributes,
};
use kura::store::postgres::PostgresStore;
use kura::store::sqlite::SqliteStore;
use kura::store::{
    JobFence, MetadataStore, NewUpload, StoreError, TransferCursor, TransferPhase, VersionDeletion,
};

mod common;
use common::{TempDir, database_url, drop_database, postgres, sqlite};

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
            ..Default::default()
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

/// Derived images: found by (source, transform), used-at touched only when stale, evicted
/// least recently used first, forgotten with their source; their blobs count as referenced.
async fn derived_images_are_a_cache_the_sweeper_respects<S: MetadataStore>(store: &S) {
    let source = hash(40);
    claim_and_commit(store, upload("/", "src.png", &source, true))
        .await
        .unwrap();
    let derived = |n: u8, transform: &str, used: i64, size: u64| kura::store::DerivedImage {
        source_blob: source.clone(),
        transform: transform.to_owned(),
        blob: hash(n),
        size,
        mime: "image/jpeg".into(),
        created_at: Timestamp::from_millis(used),
        used_at: Timestamp::from_millis(used),
    };
    for (n, transform, used) in [
        (41, "w-1|jpg", 1000),
        (42, "w-2|jpg", 3000),
        (43, "w-3|webp", 2000),
    ] {
        store.claim_blob(&hash(n), 100).await.unwrap();
        store
            .record_derived(&derived(n, transform, used, 100))
            .await
            .unwrap();
    }
    let now = Timestamp::from_millis(10_000);
    // Fresh enough: found, not touched.
    let hit = store
        .find_derived(&source, "w-2|jpg", now, Timestamp::from_millis(2000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (hit.blob, hit.size, hit.used_at.millis()),
        (hash(42), 100, 3000)
    );
    // Stale: touched now.
    let touched = store
        .find_derived(&source, "w-1|jpg", now, Timestamp::from_millis(5000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.used_at, now);
    assert_eq!(
        store
            .find_derived(&source, "w-9|jpg", now, now)
            .await
            .unwrap(),
        None
    );

    // Referenced derived blobs are never swept, even long after their claim.
    let later = Timestamp::from_millis(Timestamp::now().millis() + 1000);
    let unreferenced = store.unreferenced_blobs(later).await.unwrap();
    assert!(!unreferenced.contains(&hash(41)) && !unreferenced.contains(&hash(43)));
    assert!(!store.begin_blob_deletion(&hash(43), later).await.unwrap());
    let refs = store.blob_references().await.unwrap();
    assert!(refs.referenced.iter().any(|(h, _)| h == &hash(42)));

    // Over 250 bytes of 300: the least recently used (w-3, used at 2000) goes first.
    assert_eq!(store.evict_derived(250).await.unwrap(), vec![hash(43)]);
    assert_eq!(
        store.evict_derived(250).await.unwrap(),
        Vec::<String>::new()
    );
    assert!(
        store
            .unreferenced_blobs(later)
            .await
            .unwrap()
            .contains(&hash(43))
    );

    // Forgetting a source drops the rest and hands back their blobs.
    let mut forgotten = store
        .forget_derived(std::slice::from_ref(&source))
        .await
        .unwrap();
    forgotten.sort();
    assert_eq!(forgotten, vec![hash(41), hash(42)]);
    assert_eq!(
        store
            .find_derived(&source, "w-2|jpg", now, now)
            .await
            .unwrap(),
        None
    );
    assert!(store.begin_blob_deletion(&hash(42), later).await.unwrap());
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

fn folder(path: &str) -> FolderPath {
    FolderPath::parse_lenient(path).unwrap()
}

fn name(text: &str) -> FileName {
    FileName::sanitise(text).unwrap()
}

/// The files directly in `path`, by name.
async fn files_in<S: MetadataStore>(store: &S, path: &str) -> Vec<kura::model::FileRecord> {
    let query = ListQuery {
        folder: Some(folder(path)),
        sort: (SortField::Name, SortOrder::Asc),
        ..ListQuery::default()
    };
    store
        .list(&query)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|a| match a {
            ListedAsset::File(f) => Some(*f),
            ListedAsset::Folder(_) => None,
        })
        .collect()
}

async fn names_in<S: MetadataStore>(store: &S, path: &str) -> Vec<String> {
    let mut names: Vec<String> = files_in(store, path)
        .await
        .into_iter()
        .map(|f| f.name.to_string())
        .collect();
    names.sort();
    names
}

/// Queues a job and leases it to `node`, as a node's job loop would.
async fn start_job<S: MetadataStore>(store: &S, id: &str, kind: &str, node: &str, now: Timestamp) {
    store
        .enqueue_job(id, kind, &serde_json::json!({}), now)
        .await
        .unwrap();
    store
        .claim_job(node, &[kind], at(now, 99_000), now)
        .await
        .unwrap()
        .unwrap();
}

async fn versions_copies_moves_and_renames<S: MetadataStore>(store: &S) {
    let x1 = claim_and_commit(store, upload("/v", "x.png", &hash(60), true))
        .await
        .unwrap();
    let x2 = claim_and_commit(store, upload("/v", "x.png", &hash(61), true))
        .await
        .unwrap();
    assert_eq!((x2.id.clone(), x2.version.number), (x1.id.clone(), 2));
    let history = store.file_versions(&x1.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(!history[0].is_current && history[1].is_current);

    // Copy: the current version only, then all of them onto the copy's history.
    let copy = store
        .copy_file(&x1.id, &folder("/w"), false, &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(copy.id, x1.id);
    assert_eq!(
        copy.version.id, copy.id,
        "a copy's first version shares its id"
    );
    assert_eq!(copy.version.blob, hash(61), "copies share blobs");
    let merged = store
        .copy_file(&x1.id, &folder("/w"), true, &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.id, copy.id, "a namesake gets the versions appended");
    assert_eq!(merged.version.number, 3);
    assert_eq!(merged.version.blob, hash(61));
    assert_eq!(store.file_versions(&copy.id).await.unwrap().len(), 3);

    // Versions: the current one cannot go; an old one can, and can be restored before that.
    assert_eq!(
        store
            .delete_version(&x1.id, &x2.version.id, &ACTOR)
            .await
            .unwrap(),
        VersionDeletion::Current
    );
    let restored = store
        .restore_version(&x1.id, &x1.version.id, &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.version.id, x1.version.id);
    assert_eq!(
        store.get_file(&x1.id).await.unwrap().unwrap().version.blob,
        hash(60)
    );
    assert_eq!(
        store
            .delete_version(&x1.id, &x2.version.id, &ACTOR)
            .await
            .unwrap(),
        VersionDeletion::Deleted { blob: hash(61) }
    );
    assert_eq!(
        store
            .delete_version(&x1.id, &x2.version.id, &ACTOR)
            .await
            .unwrap(),
        VersionDeletion::NotFound
    );

    // Rename: in place, refusing a name in use.
    claim_and_commit(store, upload("/v", "taken.png", &hash(62), true))
        .await
        .unwrap();
    assert!(matches!(
        store.rename_file(&x1.id, &name("taken.png"), &ACTOR).await,
        Err(StoreError::NameTaken)
    ));
    let renamed = store
        .rename_file(&x1.id, &name("y.png"), &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.file_path(), "/v/y.png");
    assert!(
        store
            .find_file(&folder("/v"), &name("x.png"))
            .await
            .unwrap()
            .is_none()
    );

    // Move: keeps the id; onto a namesake it merges and disappears.
    let moved = store
        .move_file(&x1.id, &folder("/m"), &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (moved.id.clone(), moved.file_path()),
        (x1.id.clone(), "/m/y.png".to_owned())
    );
    let other = claim_and_commit(store, upload("/n", "y.png", &hash(63), true))
        .await
        .unwrap();
    let into = store
        .move_file(&x1.id, &folder("/n"), &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(into.id, other.id);
    assert_eq!(
        into.version.blob,
        hash(60),
        "the moved file's current version leads"
    );
    assert_eq!(store.file_versions(&other.id).await.unwrap().len(), 2);
    assert!(store.get_file(&x1.id).await.unwrap().is_none());

    // Bulk tags: unknown ids are skipped, known ones changed.
    let unknown = AssetId::generate();
    let updated = store
        .change_tags(
            &[other.id.clone(), unknown],
            &TagChange::Add(vec!["t".into(), "new".into()]),
            &ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(updated, vec![other.id.clone()]);
    let tags = store
        .get_file(&other.id)
        .await
        .unwrap()
        .unwrap()
        .version
        .attributes
        .tags;
    assert_eq!(tags, Some(vec!["t".to_owned(), "new".to_owned()]));
}

/// Runs a folder job to the end as node `node`; returns the final cursor.
async fn run_transfer<S: MetadataStore>(
    store: &S,
    transfer: &FolderTransfer,
    job: &str,
    node: &str,
    batch: u32,
) -> TransferCursor {
    let mut cursor =
        TransferCursor::from_json(store.get_job(job).await.unwrap().unwrap().progress.as_ref());
    let fence = JobFence { job_id: job, node };
    while !cursor.is_done() {
        cursor = store
            .advance_transfer(transfer, &cursor, batch, fence, &ACTOR)
            .await
            .unwrap();
    }
    cursor
}

async fn folder_transfers_resume_and_are_fenced<S: MetadataStore>(store: &S) {
    let mut expected = Vec::new();
    for i in 0..23u8 {
        let path = if i % 5 == 0 { "/src/deep/er" } else { "/src" };
        claim_and_commit(
            store,
            upload(path, &format!("f{i:02}.png"), &hash(100 + i), true),
        )
        .await
        .unwrap();
        expected.push((path, format!("f{i:02}.png")));
    }
    claim_and_commit(store, upload("/dst/src", "f01.png", &hash(99), true))
        .await
        .unwrap();
    let t0 = Timestamp::now();
    store
        .enqueue_job("copy-1", "folder-copy", &serde_json::json!({}), t0)
        .await
        .unwrap();
    store
        .claim_job("a", &["folder-copy"], at(t0, 1000), t0)
        .await
        .unwrap()
        .unwrap();
    let copy = FolderTransfer::into_folder(
        TransferKind::Copy {
            include_versions: false,
        },
        folder("/src"),
        &folder("/dst"),
    )
    .unwrap();
    // Node a does two steps, then dies; b takes the job over.
    let fence_a = JobFence {
        job_id: "copy-1",
        node: "a",
    };
    let mut cursor = TransferCursor::default();
    for _ in 0..3 {
        cursor = store
            .advance_transfer(&copy, &cursor, 7, fence_a, &ACTOR)
            .await
            .unwrap();
    }
    assert_eq!(cursor.phase, TransferPhase::Files);
    assert_eq!(cursor.files, 14);
    store
        .claim_job("b", &["folder-copy"], at(t0, 99_000), at(t0, 2000))
        .await
        .unwrap()
        .unwrap();
    let before = names_in(store, "/dst/src").await;
    assert!(matches!(
        store
            .advance_transfer(&copy, &cursor, 7, fence_a, &ACTOR)
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(
        names_in(store, "/dst/src").await,
        before,
        "a fenced-off step changes nothing"
    );
    let done = run_transfer(store, &copy, "copy-1", "b", 7).await;
    assert_eq!((done.files, done.merged), (23, 1));
    let top: Vec<String> = expected
        .iter()
        .filter(|e| e.0 == "/src")
        .map(|e| e.1.clone())
        .collect();
    let deep: Vec<String> = expected
        .iter()
        .filter(|e| e.0 != "/src")
        .map(|e| e.1.clone())
        .collect();
    assert_eq!(names_in(store, "/dst/src").await, top);
    assert_eq!(names_in(store, "/dst/src/deep/er").await, deep);
    assert_eq!(names_in(store, "/src").await, top, "the source stays");
    let namesake = store
        .find_file(&folder("/dst/src"), &name("f01.png"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        namesake.version.number, 2,
        "the namesake got the copy as a version"
    );
    assert_eq!(namesake.version.blob, hash(101));

    // A rename onto an existing folder is refused; onto a free name it rewrites paths only.
    let ids_before: Vec<AssetId> = files_in(store, "/src/deep/er")
        .await
        .into_iter()
        .map(|f| f.id)
        .collect();
    let taken = FolderTransfer::rename(folder("/src"), "dst").unwrap();
    start_job(store, "rename-1", "folder-rename", "a", at(t0, 3000)).await;
    let fence = JobFence {
        job_id: "rename-1",
        node: "a",
    };
    assert!(matches!(
        store
            .advance_transfer(&taken, &TransferCursor::default(), 7, fence, &ACTOR)
            .await,
        Err(StoreError::FolderExists(_))
    ));
    let rename = FolderTransfer::rename(folder("/src"), "renamed").unwrap();
    let done = run_transfer(store, &rename, "rename-1", "a", 7).await;
    assert_eq!(done.files, 0, "a rename moves no file rows");
    assert!(store.get_folder(&folder("/src")).await.unwrap().is_none());
    assert_eq!(names_in(store, "/renamed").await, top);
    let ids_after: Vec<AssetId> = files_in(store, "/renamed/deep/er")
        .await
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids_after, ids_before);

    // A move onto an existing tree merges file by file and removes the emptied source.
    start_job(store, "move-1", "folder-move", "a", at(t0, 3000)).await;
    let onto = FolderTransfer {
        kind: TransferKind::Move,
        source: folder("/dst/src"),
        target: folder("/renamed"),
    };
    let done = run_transfer(store, &onto, "move-1", "a", 5).await;
    assert_eq!((done.files, done.merged), (23, 23));
    assert!(
        store
            .get_folder(&folder("/dst/src"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_folder(&folder("/dst/src/deep/er"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(names_in(store, "/renamed").await, top);

    // Deleting a folder removes the subtree and reports the blobs it freed.
    assert_eq!(
        store.count_files_below(&folder("/renamed")).await.unwrap(),
        23
    );
    let deleted = store
        .delete_folder(&folder("/renamed"), &ACTOR)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.ids.len(), 23);
    assert!(deleted.blobs.contains(&hash(100)));
    assert!(
        store
            .get_folder(&folder("/renamed/deep"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .delete_folder(&folder("/renamed"), &ACTOR)
            .await
            .unwrap()
            .is_none()
    );
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
    versions_copies_moves_and_renames,
    folder_transfers_resume_and_are_fenced,
    derived_images_are_a_cache_the_sweeper_respects,
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

/// Rows as an install before migration 3 (files held their folder's path) wrote them.
const V2_ROWS: &str = r#"
    INSERT INTO folders (id, path, parent_path, name, created_at, updated_at)
        VALUES ('0000000000000000000000aa', '/old', '/', 'old', 1, 1);
    INSERT INTO blobs (hash, size, state, claimed_at) VALUES ('h1', 3, 'live', 1);
    INSERT INTO files (id, folder_path, name, current_version_id, created_at, updated_at)
        VALUES ('0000000000000000000000f1', '/old', 'a.png', '0000000000000000000000f1', 1, 1),
               ('0000000000000000000000f2', '/', 'root.png', '0000000000000000000000f2', 1, 1);
    INSERT INTO file_versions (id, file_id, number, blob_hash, size, mime, format, file_type,
            has_alpha, is_private, is_published, created_at, updated_at, tags, ai_tags)
        VALUES ('0000000000000000000000f1', '0000000000000000000000f1', 1, 'h1', 3,
                'image/png', 'png', 'image', false, false, true, 1, 1, '["Summer Sale"]', NULL),
               ('0000000000000000000000f2', '0000000000000000000000f2', 1, 'h1', 3,
                'image/png', 'png', 'image', false, false, true, 1, 1, NULL,
                '[{"name":"Beach","confidence":90.0,"source":"x"}]');
"#;

async fn search_names<S: MetadataStore>(store: &S, text: &str) -> Vec<String> {
    let query = ListQuery {
        search: kura::model::search::SearchFilter::parse(
            text,
            Timestamp::now(),
            &Default::default(),
        )
        .unwrap(),
        ..ListQuery::default()
    };
    store
        .list(&query)
        .await
        .unwrap()
        .into_iter()
        .map(|a| match a {
            ListedAsset::File(f) => f.name.as_str().to_owned(),
            ListedAsset::Folder(f) => f.path.as_str().to_owned(),
        })
        .collect()
}

async fn assert_migrated_v2_rows<S: MetadataStore>(store: &S) {
    let file = store
        .find_file(&folder("/old"), &name("a.png"))
        .await
        .unwrap()
        .expect("the file keeps its folder");
    assert_eq!(file.id.as_str(), "0000000000000000000000f1");
    assert!(
        store
            .find_file(&folder("/"), &name("root.png"))
            .await
            .unwrap()
            .is_some()
    );
    // Migration 4: the words of tags written before it are filled in when the store opens.
    assert_eq!(search_names(store, "tags HAS \"summ\"").await, ["a.png"]);
    assert_eq!(
        search_names(store, "tags HAS \"beach\"").await,
        ["root.png"]
    );
    // The migrated schema takes new uploads and renames.
    claim_and_commit(store, upload("/old", "b.png", &hash(7), false))
        .await
        .unwrap();
    let rename = FolderTransfer::rename(folder("/old"), "new").unwrap();
    start_job(store, "r", "folder-rename", "n", Timestamp::now()).await;
    run_transfer(store, &rename, "r", "n", 10).await;
    assert_eq!(names_in(store, "/new").await, vec!["a.png", "b.png"]);
}

#[tokio::test]
async fn sqlite_migration_3_keeps_files_in_their_folders() {
    let dir = TempDir::new();
    let path = dir.0.join("kura.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let v2 = [
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/sqlite/0002_jobs.sql"),
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0), (2, 0);",
        V2_ROWS,
    ];
    for sql in v2 {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = SqliteStore::open(&path).await.unwrap();
    assert_migrated_v2_rows(&store).await;
}

#[tokio::test]
async fn postgres_migration_3_keeps_files_in_their_folders() {
    let (store, db) = postgres().await;
    store.close().await;
    let url = database_url(&db);
    // Rebuild the database as version 2 and fill it.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public;
         CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 0), (2, 0);",
    )
    .execute(&pool)
    .await
    .unwrap();
    for sql in [
        include_str!("../migrations/postgres/0001_init.sql"),
        include_str!("../migrations/postgres/0002_jobs.sql"),
        V2_ROWS,
    ] {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = PostgresStore::open(&url).await.unwrap();
    assert_migrated_v2_rows(&store).await;
    drop_database(store, &db).await;
}
