//! Folder paths and file names: how a client's text becomes a safe location in the library.

use std::fmt;

/// Longest folder path accepted, in bytes.
pub const MAX_FOLDER_PATH_BYTES: usize = 1024;
/// Longest single name (file or folder segment), in bytes; what common filesystems allow.
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("Missing fileName parameter.")]
    EmptyFileName,
    #[error("fileName is longer than {MAX_NAME_BYTES} bytes.")]
    FileNameTooLong,
    #[error("fileName cannot be '.' or '..'.")]
    DotFileName,
    #[error("Your request contains a NUL character in {0}.")]
    NulCharacter(&'static str),
    #[error("'.' & '..' can not be used as folder-name")]
    DotSegment,
    #[error("folder path is longer than {MAX_FOLDER_PATH_BYTES} bytes.")]
    FolderPathTooLong,
    #[error("a folder name is longer than {MAX_NAME_BYTES} bytes.")]
    FolderNameTooLong,
    #[error("folder path must start with '/'.")]
    NotAbsolute,
}

/// A normalised folder path: `/` for the root, otherwise `/a/b` (leading slash, no trailing
/// slash, no empty, `.` or `..` segments, only `[A-Za-z0-9_-]` in segment names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FolderPath(String);

impl FolderPath {
    pub fn root() -> Self {
        FolderPath("/".to_owned())
    }

    /// Parses a folder as the upload API takes it: leading/trailing/duplicate slashes are
    /// optional, characters outside `[A-Za-z0-9_-]` become `_` (ImageKit's documented rule),
    /// and `.`/`..` segments are refused rather than silently rewritten, because a client
    /// sending them almost certainly means traversal.
    pub fn parse_lenient(text: &str) -> Result<Self, PathError> {
        if text.contains('\0') {
            return Err(PathError::NulCharacter("folder"));
        }
        let mut out = String::with_capacity(text.len() + 1);
        for segment in text.split('/').filter(|s| !s.is_empty()) {
            if segment == "." || segment == ".." {
                return Err(PathError::DotSegment);
            }
            if segment.len() > MAX_NAME_BYTES {
                return Err(PathError::FolderNameTooLong);
            }
            out.push('/');
            out.extend(segment.chars().map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            }));
        }
        if out.is_empty() {
            out.push('/');
        }
        if out.len() > MAX_FOLDER_PATH_BYTES {
            return Err(PathError::FolderPathTooLong);
        }
        Ok(FolderPath(out))
    }

    /// For paths read back from the store, which only ever holds normalised paths.
    pub fn from_stored(text: String) -> Self {
        FolderPath(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The last segment; empty for the root.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    pub fn parent(&self) -> Option<FolderPath> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) | None => Some(FolderPath::root()),
            Some(i) => Some(FolderPath(self.0[..i].to_owned())),
        }
    }

    /// This folder and every ancestor except the root, outermost first.
    pub fn lineage(&self) -> Vec<FolderPath> {
        let mut chain = Vec::new();
        let mut current = Some(self.clone());
        while let Some(folder) = current {
            if folder.is_root() {
                break;
            }
            current = folder.parent();
            chain.push(folder);
        }
        chain.reverse();
        chain
    }

    /// The path of a file named `name` in this folder.
    pub fn join_file(&self, name: &FileName) -> String {
        if self.is_root() {
            format!("/{}", name.as_str())
        } else {
            format!("{}/{}", self.0, name.as_str())
        }
    }

    /// The folder `segment` inside this one; `segment` must be a single normalised name.
    pub fn child(&self, segment: &str) -> FolderPath {
        if self.is_root() {
            FolderPath(format!("/{segment}"))
        } else {
            FolderPath(format!("{}/{segment}", self.0))
        }
    }

    /// Whether this folder lies strictly below `ancestor`.
    pub fn is_within(&self, ancestor: &FolderPath) -> bool {
        if ancestor.is_root() {
            return !self.is_root();
        }
        self.0
            .strip_prefix(ancestor.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }

    /// ImageKit writes folder paths with a trailing slash in some places (`/a/b/`).
    pub fn with_trailing_slash(&self) -> String {
        if self.is_root() {
            "/".to_owned()
        } else {
            format!("{}/", self.0)
        }
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A sanitised file name: non-empty, at most 255 bytes, only `[A-Za-z0-9._-]`, not `.`/`..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    /// Applies the SDK's documented rule: every character other than `a-z A-Z 0-9 . -`
    /// becomes `_`. A NUL is refused instead: it is never part of a real name.
    pub fn sanitise(text: &str) -> Result<Self, PathError> {
        if text.contains('\0') {
            return Err(PathError::NulCharacter("fileName"));
        }
        if text.is_empty() {
            return Err(PathError::EmptyFileName);
        }
        let cleaned: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Self::check(cleaned)
    }

    fn check(cleaned: String) -> Result<Self, PathError> {
        if cleaned.len() > MAX_NAME_BYTES {
            return Err(PathError::FileNameTooLong);
        }
        if cleaned == "." || cleaned == ".." {
            return Err(PathError::DotFileName);
        }
        Ok(FileName(cleaned))
    }

    /// Inserts `_suffix` before the extension: `photo.jpg` → `photo_Ab3dE9xYz.jpg`.
    pub fn with_unique_suffix(&self, suffix: &str) -> Result<Self, PathError> {
        let (stem, ext) = self.split_extension();
        let name = match ext {
            Some(ext) => format!("{stem}_{suffix}.{ext}"),
            None => format!("{stem}_{suffix}"),
        };
        Self::check(name)
    }

    fn split_extension(&self) -> (&str, Option<&str>) {
        match self.0.rfind('.') {
            Some(i) if i > 0 && i + 1 < self.0.len() => (&self.0[..i], Some(&self.0[i + 1..])),
            _ => (&self.0, None),
        }
    }

    pub fn from_stored(text: String) -> Self {
        FileName(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a file path (`/a/b/c.jpg`) into its folder and name without rewriting anything:
/// used to resolve delivery URLs, where only an already canonical path can name a file.
pub fn split_file_path(path: &str) -> Option<(FolderPath, FileName)> {
    let rest = path.strip_prefix('/')?;
    let (folder_text, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    let folder = FolderPath::parse_lenient(folder_text).ok()?;
    let canonical_folder = folder.as_str().trim_start_matches('/');
    let file = FileName::sanitise(name).ok()?;
    (canonical_folder == folder_text && file.as_str() == name).then_some((folder, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_paths_are_normalised() {
        assert_eq!(FolderPath::parse_lenient("").unwrap().as_str(), "/");
        assert_eq!(FolderPath::parse_lenient("/").unwrap().as_str(), "/");
        assert_eq!(FolderPath::parse_lenient("a/b/").unwrap().as_str(), "/a/b");
        assert_eq!(
            FolderPath::parse_lenient("//a//b").unwrap().as_str(),
            "/a/b"
        );
        assert_eq!(
            FolderPath::parse_lenient("/sum mer/été").unwrap().as_str(),
            "/sum_mer/_t_"
        );
    }

    #[test]
    fn folder_paths_refuse_traversal_nul_and_excess() {
        assert_eq!(
            FolderPath::parse_lenient("/a/../b"),
            Err(PathError::DotSegment)
        );
        assert_eq!(FolderPath::parse_lenient("./a"), Err(PathError::DotSegment));
        assert_eq!(
            FolderPath::parse_lenient("/a\0b"),
            Err(PathError::NulCharacter("folder"))
        );
        assert_eq!(
            FolderPath::parse_lenient(&"a".repeat(256)),
            Err(PathError::FolderNameTooLong)
        );
        let deep = vec!["abcdefghij"; 100].join("/");
        assert_eq!(
            FolderPath::parse_lenient(&deep),
            Err(PathError::FolderPathTooLong)
        );
    }

    #[test]
    fn lineage_and_parent() {
        let p = FolderPath::parse_lenient("/a/b/c").unwrap();
        let names: Vec<_> = p.lineage().iter().map(|f| f.as_str().to_owned()).collect();
        assert_eq!(names, ["/a", "/a/b", "/a/b/c"]);
        assert_eq!(p.parent().unwrap().as_str(), "/a/b");
        assert_eq!(
            FolderPath::parse_lenient("/a")
                .unwrap()
                .parent()
                .unwrap()
                .as_str(),
            "/"
        );
        assert_eq!(p.name(), "c");
        assert!(FolderPath::root().lineage().is_empty());
    }

    #[test]
    fn file_names_follow_the_sdk_rule() {
        assert_eq!(
            FileName::sanitise("my file(1).JPG").unwrap().as_str(),
            "my_file_1_.JPG"
        );
        assert_eq!(FileName::sanitise("ü.png").unwrap().as_str(), "_.png");
        assert_eq!(FileName::sanitise(""), Err(PathError::EmptyFileName));
        assert_eq!(FileName::sanitise(".."), Err(PathError::DotFileName));
        assert_eq!(
            FileName::sanitise("a\0b"),
            Err(PathError::NulCharacter("fileName"))
        );
        assert_eq!(
            FileName::sanitise(&"x".repeat(256)),
            Err(PathError::FileNameTooLong)
        );
        // Traversal characters are neutralised by the rule itself.
        assert_eq!(
            FileName::sanitise("../../etc/passwd").unwrap().as_str(),
            ".._.._etc_passwd"
        );
    }

    #[test]
    fn unique_suffix_goes_before_the_extension() {
        let n = FileName::sanitise("photo.jpg").unwrap();
        assert_eq!(
            n.with_unique_suffix("abc").unwrap().as_str(),
            "photo_abc.jpg"
        );
        let n = FileName::sanitise("README").unwrap();
        assert_eq!(n.with_unique_suffix("abc").unwrap().as_str(), "README_abc");
        let n = FileName::sanitise(".env").unwrap();
        assert_eq!(n.with_unique_suffix("abc").unwrap().as_str(), ".env_abc");
    }

    #[test]
    fn split_file_path_accepts_only_canonical_paths() {
        let (f, n) = split_file_path("/a/b/c.jpg").unwrap();
        assert_eq!((f.as_str(), n.as_str()), ("/a/b", "c.jpg"));
        let (f, n) = split_file_path("/c.jpg").unwrap();
        assert_eq!((f.as_str(), n.as_str()), ("/", "c.jpg"));
        assert!(split_file_path("/a//c.jpg").is_none());
        assert!(split_file_path("/a/../c.jpg").is_none());
        assert!(split_file_path("/a b/c.jpg").is_none());
        assert!(split_file_path("/a/").is_none());
        assert!(split_file_path("c.jpg").is_none());
    }
}
