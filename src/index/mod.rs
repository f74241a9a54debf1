//! The search index: every file, file version and folder in memory, column by column, with
//! posting lists and sorted orders, so a `searchQuery` over millions of assets is answered in
//! milliseconds (docs/performance.md has the figures against plain SQL).
//!
//! Each node builds its own from the metadata store at startup and keeps it current from the
//! event log: before answering, it reads the events committed since, re-reads the files (and,
//! on folder events, the folders) they name, and replaces their rows. So a search sees every
//! write that returned before it was sent, on this node or any other. Until the first build
//! finishes, `search` answers `None` and the caller uses the store's SQL.
//!
//! On PostgreSQL an event number can become visible after a higher one (transactions commit
//! out of order). A gap is remembered with the snapshot's `xmax` at the time and re-read
//! until the snapshot's `xmin` passes it — when every transaction that could fill it has
//! ended; the index's position never moves past an open gap.

mod bits;
mod custom;
mod folders;
mod locations;
mod query;
pub mod rows;
mod table;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use folders::Folders;
use table::{ABSENT, NewRow, Table, format_id, parse_id};

use crate::model::ListQuery;
use crate::model::search::{AssetKind, IndexedVersion};
use crate::store::{DynMetadataStore, LoggedEvent, StoreError};

/// Versions read per round trip while building.
const BUILD_BATCH: u32 = 20_000;
/// Events read per round trip while catching up.
const EVENT_BATCH: u32 = 5_000;

/// Thresholds that trade memory and rebuild pauses against per-query work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexTuning {
    /// Up to this many hits, a page is cut by sorting the hits; above, by walking the sort
    /// order.
    pub sort_hits_below: usize,
    /// Rows appended since the last sort before the sorted orders are rebuilt (at least; 5 %
    /// of the live rows when that is more).
    pub delta_limit: usize,
    /// How many of the rows loaded at build go into the sorted orders (the rest start as the
    /// delta). All of them normally; tests sort fewer to exercise the merge of both.
    pub build_sorted: usize,
    /// Rows of served pages kept (`rows::RowCache`).
    pub page_cache_rows: usize,
}

impl Default for IndexTuning {
    fn default() -> Self {
        IndexTuning {
            sort_hits_below: 4096,
            delta_limit: 50_000,
            build_sorted: usize::MAX,
            page_cache_rows: 0,
        }
    }
}

struct State {
    table: Table,
    folders: Folders,
    /// Every event up to here is applied (or known never to exist).
    seq: i64,
    /// Event numbers missing past `seq`, with the snapshot `xmax` when first seen missing.
    gaps: HashMap<i64, u64>,
    /// Events past a gap that are applied already.
    applied: BTreeSet<i64>,
}

pub struct SearchIndex {
    store: DynMetadataStore,
    tuning: IndexTuning,
    state: RwLock<Option<State>>,
    catching_up: tokio::sync::Mutex<()>,
    rows: rows::RowCache,
    /// Counts catch-ups that applied a custom metadata field event, so that what depends on
    /// the fields can tell it is still current.
    field_changes: std::sync::atomic::AtomicU64,
}

/// Size figures for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub rows: usize,
    pub live: usize,
    pub seq: i64,
}

impl SearchIndex {
    pub fn new(store: DynMetadataStore) -> Arc<Self> {
        Self::tuned(store, IndexTuning::default())
    }

    pub fn tuned(store: DynMetadataStore, tuning: IndexTuning) -> Arc<Self> {
        Arc::new(SearchIndex {
            store,
            tuning,
            state: RwLock::new(None),
            catching_up: tokio::sync::Mutex::new(()),
            rows: rows::RowCache::new(tuning.page_cache_rows),
            field_changes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Changes with every catch-up that applied a custom metadata field's event.
    pub fn field_generation(&self) -> u64 {
        self.field_changes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The cached rows of a page (`rows::RowCache::lookup`).
    pub fn cached_rows(
        &self,
        page: &[rows::RowKey],
    ) -> (Vec<Option<crate::model::ListedAsset>>, u64) {
        self.rows.lookup(page)
    }

    /// Keeps rows read from the store for a page (`rows::RowCache::remember`).
    pub fn remember_rows(&self, epoch: u64, assets: &[crate::model::ListedAsset]) {
        self.rows.remember(
            epoch,
            assets
                .iter()
                .map(|asset| (rows::key_of(asset), asset.clone())),
        );
    }

    pub fn stats(&self) -> Option<IndexStats> {
        let guard = self.state.read().ok()?;
        guard.as_ref().map(|s| IndexStats {
            rows: s.table.len(),
            live: s.table.live(),
            seq: s.seq,
        })
    }

    /// Loads everything from the store. Events logged while loading are applied after.
    pub async fn build(&self) -> Result<IndexStats, StoreError> {
        let _one = self.catching_up.lock().await;
        let seq = self.store.latest_event_seq().await?;
        let mut folders = Folders::default();
        let mut table = Table::default();
        let changes = folders.sync(self.store.indexed_folders().await?);
        for slot in changes.changed {
            push_folder_row(&mut table, &folders, slot);
        }
        let mut after: Option<String> = None;
        loop {
            let batch = self
                .store
                .indexed_versions(after.as_deref(), BUILD_BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.version_id.clone());
            for version in &batch {
                push_version_row(&mut table, &folders, version);
            }
        }
        table.reorder_first(self.tuning.build_sorted);
        table.shrink();
        let state = State {
            table,
            folders,
            seq,
            gaps: HashMap::new(),
            applied: BTreeSet::new(),
        };
        *self.state.write().map_err(poisoned)? = Some(state);
        drop(_one);
        self.catch_up().await?;
        self.stats()
            .ok_or_else(|| StoreError::Corrupt("search index vanished".into()))
    }

    /// The page a listing answers — `(is_folder, row id)` in order — or None while the index
    /// is not built.
    pub async fn search(
        &self,
        query: &ListQuery,
    ) -> Result<Option<Vec<(bool, String)>>, StoreError> {
        let search = query.effective_search();
        if self.state.read().map_err(poisoned)?.is_none() || !search.embedded_keys_indexed() {
            return Ok(None);
        }
        self.catch_up().await?;
        let guard = self.state.read().map_err(poisoned)?;
        let Some(state) = guard.as_ref() else {
            return Ok(None);
        };
        let evaluator = query::Evaluator {
            table: &state.table,
            folders: &state.folders,
        };
        let hits = evaluator.hits(&search, query);
        let rows = query::page(&state.table, &hits, query, self.tuning.sort_hits_below);
        Ok(Some(
            rows.into_iter()
                .map(|r| {
                    (
                        state.table.kind(r) == AssetKind::Folder,
                        format_id(&state.table.row[r as usize]),
                    )
                })
                .collect(),
        ))
    }

    /// Applies every event committed since the last call.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let _one = self.catching_up.lock().await;
        // Where the next read starts: the index's position at first (so open gaps are read
        // again), then past the last event read, so a full batch of events applied already
        // behind an open gap cannot hold the loop in place.
        let mut read_from: Option<i64> = None;
        loop {
            let (position, has_gaps) = {
                let guard = self.state.read().map_err(poisoned)?;
                let Some(state) = guard.as_ref() else {
                    return Ok(());
                };
                (state.seq, !state.gaps.is_empty())
            };
            let seq = read_from.unwrap_or(position);
            // Taken before the read: a gap whose transactions had all ended by now and that
            // the read does not fill is final.
            let before = if has_gaps && read_from.is_none() {
                self.store.in_flight_horizon().await?
            } else {
                None
            };
            let events = self.store.events_after(seq, EVENT_BATCH).await?;
            let fresh: Vec<&LoggedEvent> = {
                let guard = self.state.read().map_err(poisoned)?;
                let Some(state) = guard.as_ref() else {
                    return Ok(());
                };
                events
                    .iter()
                    .filter(|e| !state.applied.contains(&e.seq))
                    .collect()
            };
            let files: Vec<String> = fresh
                .iter()
                // file.* and file-version.*; other subjects (folders, fields) are no files.
                .filter(|e| e.kind.starts_with("file"))
                .map(|e| e.subject.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            // folder.created, folder.moved, folder.deleted, and any folder event to come.
            let folders_changed = fresh.iter().any(|e| e.kind.starts_with("folder."));
            let versions = if files.is_empty() {
                Vec::new()
            } else {
                self.store.indexed_versions_of(&files).await?
            };
            // Folders are read after the files, so every folder a file names is among them.
            let unknown_folder = {
                let guard = self.state.read().map_err(poisoned)?;
                guard.as_ref().is_some_and(|state| {
                    versions
                        .iter()
                        .any(|v| state.folders.slot_of_id(&v.folder_id).is_none())
                })
            };
            let folder_rows = if folders_changed || unknown_folder {
                Some(self.store.indexed_folders().await?)
            } else {
                None
            };
            // Any gap in this read, with the horizon after it: whatever fills the gap is a
            // transaction running now, numbered below this xmax.
            let mut expected = seq + 1;
            let mut new_gaps = Vec::new();
            for e in &events {
                new_gaps.extend(expected..e.seq);
                expected = e.seq + 1;
            }
            let after = if new_gaps.is_empty() {
                None
            } else {
                self.store.in_flight_horizon().await?
            };
            let mut guard = self.state.write().map_err(poisoned)?;
            let Some(state) = guard.as_mut() else {
                return Ok(());
            };
            if fresh
                .iter()
                .any(|e| e.kind.starts_with("custom-metadata-field."))
            {
                self.field_changes
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            // Under the write lock: no search can complete a page from rows older than this.
            if folders_changed {
                self.rows.forget_all();
            } else if !files.is_empty() {
                self.rows.forget_files(&files);
            }
            if let Some(current) = folder_rows {
                apply_folders(state, current);
            }
            apply_files(state, &files, &versions);
            for e in &events {
                state.applied.insert(e.seq);
            }
            match after {
                Some((_, xmax)) => {
                    for gap in new_gaps {
                        state.gaps.entry(gap).or_insert(xmax);
                    }
                }
                // SQLite numbers events in commit order: a gap there is final.
                None => {
                    for gap in new_gaps {
                        state.applied.insert(gap);
                    }
                }
            }
            // Only gaps this read covered: up to its last event, or all when it was not full.
            let covered = if events.len() as u32 == EVENT_BATCH {
                events.last().map_or(seq, |e| e.seq)
            } else {
                i64::MAX
            };
            if let Some((xmin, _)) = before {
                let closed: Vec<i64> = state
                    .gaps
                    .iter()
                    .filter(|(gap, xmax)| {
                        **xmax <= xmin && **gap <= covered && !state.applied.contains(gap)
                    })
                    .map(|(gap, _)| *gap)
                    .collect();
                for gap in closed {
                    state.applied.insert(gap);
                }
            }
            // Advance over everything applied without a hole.
            while state.applied.remove(&(state.seq + 1)) {
                state.seq += 1;
                state.gaps.remove(&state.seq);
            }
            let s = state.seq;
            state.applied.retain(|&e| e > s);
            let table = &state.table;
            let resort = table.len() - table.base > self.tuning.delta_limit.max(table.live() / 20);
            let compact = resort && table.len() - table.live() > table.live();
            let more = events.len() as u32 == EVENT_BATCH;
            read_from = events.last().map(|e| e.seq);
            drop(guard);
            // Sorting a million rows takes a second or two: done under the shared lock, so
            // searches go on meanwhile (only catch-up changes the table, and this is it).
            if compact {
                let fresh = cpu_heavy(|| {
                    let guard = self.state.read().map_err(poisoned)?;
                    Ok::<_, StoreError>(guard.as_ref().map(|state| state.table.compacted()))
                })?;
                if let (Some(fresh), Some(state)) =
                    (fresh, self.state.write().map_err(poisoned)?.as_mut())
                {
                    state.table = fresh;
                }
            } else if resort {
                let orders = cpu_heavy(|| {
                    let guard = self.state.read().map_err(poisoned)?;
                    Ok::<_, StoreError>(
                        guard
                            .as_ref()
                            .map(|state| state.table.sorted_orders(usize::MAX)),
                    )
                })?;
                if let (Some(orders), Some(state)) =
                    (orders, self.state.write().map_err(poisoned)?.as_mut())
                {
                    state.table.install_orders(orders);
                }
            }
            if !more {
                return Ok(());
            }
        }
    }
}

/// Runs seconds of CPU work on this thread, telling a multi-threaded runtime to move its other
/// tasks elsewhere meanwhile.
fn cpu_heavy<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Corrupt("the search index lock was poisoned by a panic".into())
}

fn push_folder_row(table: &mut Table, folders: &Folders, slot: u32) {
    let s = &folders.slots[slot as usize];
    // The root is not a row: listings never show it.
    let Some(parent) = s.path.parent() else {
        return;
    };
    let Some(parent_slot) = folders.slot_of_path(&parent) else {
        return;
    };
    table.push(&NewRow {
        kind: AssetKind::Folder,
        asset: s.id,
        row: s.id,
        name: &s.name,
        folder: parent_slot,
        created: s.created,
        updated: s.updated,
        size: ABSENT,
        width: ABSENT,
        height: ABSENT,
        format: None,
        file_type: None,
        flags: 0,
        tags: &[],
        custom: None,
        embedded: None,
        location: None,
    });
}

fn push_version_row(table: &mut Table, folders: &Folders, version: &IndexedVersion) {
    let Some(slot) = folders.slot_of_id(&version.folder_id) else {
        tracing::warn!(file = %version.file_id, "search index: a file in an unknown folder");
        return;
    };
    if let Some(row) = NewRow::version(version, slot) {
        table.push(&row);
    }
}

fn apply_folders(state: &mut State, current: Vec<crate::model::search::IndexedFolder>) {
    let changes = state.folders.sync(current);
    for &slot in &changes.removed {
        let id = state.folders.slots[slot as usize].id;
        state.table.remove_asset(&id);
        // Whatever was in a deleted folder went with it, in the same transaction.
        let inside: Vec<table::Id> = state
            .table
            .by_folder
            .get(slot as usize)
            .map(|rows| {
                rows.rows()
                    .filter(|&r| state.table.alive.get(r))
                    .map(|r| state.table.asset[r as usize])
                    .collect()
            })
            .unwrap_or_default();
        for asset in inside {
            state.table.remove_asset(&asset);
        }
    }
    for &slot in &changes.changed {
        let id = state.folders.slots[slot as usize].id;
        state.table.remove_asset(&id);
        push_folder_row(&mut state.table, &state.folders, slot);
    }
}

fn apply_files(state: &mut State, files: &[String], versions: &[IndexedVersion]) {
    for file in files {
        if let Some(id) = parse_id(file) {
            state.table.remove_asset(&id);
        }
    }
    for version in versions {
        push_version_row(&mut state.table, &state.folders, version);
    }
}
