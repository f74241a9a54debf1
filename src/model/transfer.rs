//! Moving a folder's contents somewhere else: what goes where, and which requests are refused
//! before any work starts.

use super::FolderPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// New files (sharing the source's bytes) appear under the target; the source stays.
    Copy { include_versions: bool },
    /// The source's files end up under the target and the source folders are removed.
    Move,
    /// A move within the same parent; the target must not exist.
    Rename,
}

impl TransferKind {
    /// ImageKit's job type names.
    pub fn job_type(self) -> &'static str {
        match self {
            TransferKind::Copy { .. } => "COPY_FOLDER",
            TransferKind::Move => "MOVE_FOLDER",
            TransferKind::Rename => "RENAME_FOLDER",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("sourceFolderPath and destinationPath is same")]
    SameFolder,
    #[error(
        "This operation is not allowed because parent folder cannot be moved into child folder."
    )]
    IntoItself,
    #[error("folderPath cannot be root.")]
    RootSource,
}

/// A folder subtree and where it goes: `source` (and everything under it) becomes `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderTransfer {
    pub kind: TransferKind,
    pub source: FolderPath,
    pub target: FolderPath,
}

impl FolderTransfer {
    /// Copy or move `source` *into* `destination`: `/a` into `/b` becomes `/b/a`.
    pub fn into_folder(
        kind: TransferKind,
        source: FolderPath,
        destination: &FolderPath,
    ) -> Result<Self, TransferError> {
        if source.is_root() {
            return Err(TransferError::RootSource);
        }
        if &source == destination {
            return Err(TransferError::SameFolder);
        }
        let target = destination.child(source.name());
        Self::checked(kind, source, target)
    }

    /// Rename `source` to `new_name` in its parent.
    pub fn rename(source: FolderPath, new_name: &str) -> Result<Self, TransferError> {
        let parent = source.parent().ok_or(TransferError::RootSource)?;
        let target = parent.child(new_name);
        if target == source {
            return Err(TransferError::SameFolder);
        }
        Self::checked(TransferKind::Rename, source, target)
    }

    fn checked(
        kind: TransferKind,
        source: FolderPath,
        target: FolderPath,
    ) -> Result<Self, TransferError> {
        if target == source {
            return Err(TransferError::SameFolder);
        }
        // Target inside the source would copy the copy; source inside the target would make
        // the target's files their own sources (moving `/a/a` up onto `/a`).
        if target.is_within(&source) || source.is_within(&target) {
            return Err(TransferError::IntoItself);
        }
        Ok(FolderTransfer {
            kind,
            source,
            target,
        })
    }

    /// Where a folder of the source subtree ends up; `None` for folders outside it.
    pub fn map(&self, folder: &FolderPath) -> Option<FolderPath> {
        if folder == &self.source {
            return Some(self.target.clone());
        }
        let rest = folder.as_str().strip_prefix(self.source.as_str())?;
        rest.starts_with('/')
            .then(|| FolderPath::from_stored(format!("{}{rest}", self.target.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FolderPath {
        FolderPath::parse_lenient(s).unwrap()
    }

    #[test]
    fn copies_into_the_destination() {
        let t = FolderTransfer::into_folder(TransferKind::Move, p("/a/x"), &p("/b")).unwrap();
        assert_eq!(t.target, p("/b/x"));
        assert_eq!(t.map(&p("/a/x")), Some(p("/b/x")));
        assert_eq!(t.map(&p("/a/x/y/z")), Some(p("/b/x/y/z")));
        assert_eq!(t.map(&p("/a/xy")), None);
        assert_eq!(t.map(&p("/a")), None);
        let root = FolderTransfer::into_folder(TransferKind::Move, p("/a/x"), &p("/")).unwrap();
        assert_eq!(root.target, p("/x"));
    }

    #[test]
    fn refuses_overlapping_subtrees() {
        let copy = TransferKind::Copy {
            include_versions: false,
        };
        assert_eq!(
            FolderTransfer::into_folder(copy, p("/a"), &p("/a")),
            Err(TransferError::SameFolder)
        );
        assert_eq!(
            FolderTransfer::into_folder(copy, p("/a"), &p("/a/b")),
            Err(TransferError::IntoItself)
        );
        // `/b/a` into `/b` is `/b/a` again.
        assert_eq!(
            FolderTransfer::into_folder(copy, p("/b/a"), &p("/b")),
            Err(TransferError::SameFolder)
        );
        assert_eq!(
            FolderTransfer::into_folder(copy, p("/a/a"), &p("/")),
            Err(TransferError::IntoItself)
        );
        assert_eq!(
            FolderTransfer::into_folder(copy, p("/"), &p("/b")),
            Err(TransferError::RootSource)
        );
        assert!(FolderTransfer::into_folder(copy, p("/ab"), &p("/a")).is_ok());
        assert_eq!(
            FolderTransfer::rename(p("/"), "x"),
            Err(TransferError::RootSource)
        );
        let renamed = FolderTransfer::rename(p("/a/b"), "c").unwrap();
        assert_eq!(renamed.target, p("/a/c"));
    }
}
