//! The folders the index knows, by slot number: rows refer to their folder by slot, so
//! renaming or moving a folder changes one slot's path and no row.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use super::table::{Id, parse_id};
use crate::model::FolderPath;
use crate::model::search::IndexedFolder;

pub struct FolderSlot {
    pub id: Id,
    pub path: FolderPath,
    pub name: String,
    pub created: i64,
    pub updated: i64,
    pub alive: bool,
}

#[derive(Default)]
pub struct Folders {
    pub slots: Vec<FolderSlot>,
    by_id: HashMap<Id, u32>,
    by_path: BTreeMap<String, u32>,
}

/// What `Folders::sync` changed.
#[derive(Default)]
pub struct FolderChanges {
    /// New folders, and folders whose path, name or times changed.
    pub changed: Vec<u32>,
    pub removed: Vec<u32>,
}

impl Folders {
    pub fn slot_of_path(&self, path: &FolderPath) -> Option<u32> {
        self.by_path.get(path.as_str()).copied()
    }

    pub fn slot_of_id(&self, id: &str) -> Option<u32> {
        self.by_id.get(&parse_id(id)?).copied()
    }

    /// `root` and every folder below it.
    pub fn slots_within<'a>(&'a self, root: &FolderPath) -> impl Iterator<Item = u32> + 'a {
        let own = self.slot_of_path(root);
        // Below `/a`: paths in ['/a/', '/a0'); below the root: every other path.
        let (low, high) = if root.is_root() {
            ("/".to_owned(), None)
        } else {
            (
                format!("{}/", root.as_str()),
                Some(format!("{}0", root.as_str())),
            )
        };
        let range = match high {
            Some(high) => self
                .by_path
                .range::<String, _>((Bound::Excluded(low), Bound::Excluded(high))),
            None => self
                .by_path
                .range::<String, _>((Bound::Excluded(low), Bound::Unbounded)),
        };
        own.into_iter().chain(range.map(|(_, &slot)| slot))
    }

    /// Makes the slots match the store's folders.
    pub fn sync(&mut self, current: Vec<IndexedFolder>) -> FolderChanges {
        let mut changes = FolderChanges::default();
        let mut present = vec![false; self.slots.len()];
        for folder in current {
            let Some(id) = parse_id(&folder.id) else {
                continue;
            };
            match self.by_id.get(&id).copied() {
                Some(slot) => {
                    present[slot as usize] = true;
                    let s = &mut self.slots[slot as usize];
                    if s.path != folder.path
                        || s.name != folder.name
                        || s.created != folder.created_at
                        || s.updated != folder.updated_at
                        || !s.alive
                    {
                        if s.path != folder.path {
                            self.by_path.remove(s.path.as_str());
                        }
                        s.path = folder.path;
                        s.name = folder.name;
                        s.created = folder.created_at;
                        s.updated = folder.updated_at;
                        s.alive = true;
                        self.by_path.insert(s.path.as_str().to_owned(), slot);
                        changes.changed.push(slot);
                    }
                }
                None => {
                    let slot = self.slots.len() as u32;
                    self.by_id.insert(id, slot);
                    self.by_path.insert(folder.path.as_str().to_owned(), slot);
                    self.slots.push(FolderSlot {
                        id,
                        path: folder.path,
                        name: folder.name,
                        created: folder.created_at,
                        updated: folder.updated_at,
                        alive: true,
                    });
                    present.push(true);
                    changes.changed.push(slot);
                }
            }
        }
        for (slot, seen) in present.into_iter().enumerate() {
            let s = &mut self.slots[slot];
            if !seen && s.alive {
                s.alive = false;
                if self.by_path.get(s.path.as_str()) == Some(&(slot as u32)) {
                    self.by_path.remove(s.path.as_str());
                }
                changes.removed.push(slot as u32);
            }
        }
        // A path freed by one folder and taken by another in the same sync must point at
        // the live one.
        for &slot in &changes.changed {
            let s = &self.slots[slot as usize];
            self.by_path.insert(s.path.as_str().to_owned(), slot);
        }
        changes
    }
}
