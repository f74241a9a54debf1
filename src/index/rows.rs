//! The rows of recently served pages, kept so that a listing asked for again is answered
//! without reading its rows from the store. Fed and invalidated by the same event log as the
//! index: before a search answers, catch-up drops every cached row of a file that changed
//! (and everything when a folder changed, since paths are part of a row), so a cached row is
//! never older than the index's answer it completes.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::ListedAsset;

/// (is a folder, row id): what a page names.
pub type RowKey = (bool, String);

struct Entry {
    asset: ListedAsset,
    used: u64,
}

#[derive(Default)]
struct Inner {
    rows: HashMap<RowKey, Entry>,
    /// A file's cached version rows, to drop them when the file changes.
    by_file: HashMap<String, Vec<String>>,
    clock: u64,
    /// Bumped by every invalidation: a row read from the store before a bump may be older
    /// than what the index has applied since, so it is not kept.
    epoch: u64,
}

pub struct RowCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

/// The key a page names this row by.
pub fn key_of(asset: &ListedAsset) -> RowKey {
    match asset {
        ListedAsset::File(file) => (false, file.version.id.to_string()),
        ListedAsset::Folder(folder) => (true, folder.id.to_string()),
    }
}

fn file_of(asset: &ListedAsset) -> Option<&str> {
    match asset {
        ListedAsset::File(file) => Some(file.id.as_str()),
        ListedAsset::Folder(_) => None,
    }
}

impl RowCache {
    /// `capacity` rows at most; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        RowCache {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The cached rows of `page` (None where not cached), and the epoch to hand back to
    /// `remember` with the rows read for the others.
    pub fn lookup(&self, page: &[RowKey]) -> (Vec<Option<ListedAsset>>, u64) {
        let Ok(mut inner) = self.inner.lock() else {
            return (vec![None; page.len()], u64::MAX);
        };
        inner.clock += 1;
        let now = inner.clock;
        let found = page
            .iter()
            .map(|key| {
                inner.rows.get_mut(key).map(|entry| {
                    entry.used = now;
                    entry.asset.clone()
                })
            })
            .collect();
        (found, inner.epoch)
    }

    /// Keeps rows read from the store, unless something was invalidated since `epoch`.
    pub fn remember(&self, epoch: u64, rows: impl IntoIterator<Item = (RowKey, ListedAsset)>) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.epoch != epoch {
            return;
        }
        let now = inner.clock;
        for (key, asset) in rows {
            if let Some(file) = file_of(&asset) {
                let versions = inner.by_file.entry(file.to_owned()).or_default();
                if !versions.contains(&key.1) {
                    versions.push(key.1.clone());
                }
            }
            inner.rows.insert(key, Entry { asset, used: now });
        }
        if inner.rows.len() > self.capacity {
            evict(&mut inner, self.capacity);
        }
    }

    /// Drops the rows of these files.
    pub fn forget_files(&self, files: &[String]) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.epoch += 1;
        for file in files {
            if let Some(versions) = inner.by_file.remove(file) {
                for version in versions {
                    inner.rows.remove(&(false, version));
                }
            }
        }
    }

    /// Drops every row (a folder changed: paths in file rows may have).
    pub fn forget_all(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.epoch += 1;
            inner.rows.clear();
            inner.by_file.clear();
        }
    }
}

/// Drops the least recently used rows down to 90 % of `capacity`, so that eviction's sort is
/// paid once per many insertions.
fn evict(inner: &mut Inner, capacity: usize) {
    let keep = capacity - capacity / 10;
    let mut ages: Vec<u64> = inner.rows.values().map(|e| e.used).collect();
    let drop = ages.len().saturating_sub(keep);
    if drop == 0 {
        return;
    }
    let (_, cutoff, _) = ages.select_nth_unstable(drop - 1);
    let cutoff = *cutoff;
    let mut dropped = 0;
    inner.rows.retain(|_, e| {
        if e.used <= cutoff && dropped < drop {
            dropped += 1;
            false
        } else {
            true
        }
    });
    let rows = &inner.rows;
    inner.by_file.retain(|_, versions| {
        versions.retain(|v| rows.contains_key(&(false, v.clone())));
        !versions.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FolderPath, FolderRecord, Timestamp};

    fn folder(id: &str) -> ListedAsset {
        ListedAsset::Folder(FolderRecord {
            id: crate::model::AssetId::from_stored(id.into()),
            path: FolderPath::parse_lenient("/a").unwrap_or_else(|_| FolderPath::root()),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        })
    }

    #[test]
    fn rows_read_before_an_invalidation_are_not_kept() {
        let cache = RowCache::new(10);
        let key = (true, "f1".to_owned());
        let (_, epoch) = cache.lookup(std::slice::from_ref(&key));
        cache.forget_all();
        cache.remember(epoch, [(key.clone(), folder("f1"))]);
        assert!(cache.lookup(std::slice::from_ref(&key)).0[0].is_none());
        let (_, epoch) = cache.lookup(std::slice::from_ref(&key));
        cache.remember(epoch, [(key.clone(), folder("f1"))]);
        assert!(cache.lookup(std::slice::from_ref(&key)).0[0].is_some());
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let cache = RowCache::new(10);
        let keys: Vec<RowKey> = (0..12).map(|i| (true, format!("f{i}"))).collect();
        for key in &keys {
            let (_, epoch) = cache.lookup(std::slice::from_ref(key));
            cache.remember(epoch, [(key.clone(), folder(&key.1))]);
        }
        let (found, _) = cache.lookup(&keys);
        assert!(found[0].is_none() && found[11].is_some());
        assert!(found.iter().filter(|f| f.is_some()).count() <= 10);
    }
}
