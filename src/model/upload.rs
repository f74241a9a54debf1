//! The rules for what a new version's attributes are, given what the upload asked for and
//! what the file had before.

use super::custom_field::MetadataWrite;
use super::{AiTag, FileAttributes};

/// What an upload request said about attributes, with the overwrite flags that decide what
/// happens to attributes it did not mention.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadAttributes {
    pub tags: Option<Vec<String>>,
    pub custom_coordinates: Option<String>,
    /// Whether the request gave `customMetadata` (its values are then in `custom_metadata`).
    pub custom_metadata_given: bool,
    /// The request's custom metadata, validated against the fields, with their defaults.
    pub custom_metadata: MetadataWrite,
    pub description: Option<String>,
    pub is_private: bool,
    pub is_published: bool,
    pub overwrite_tags: bool,
    pub overwrite_ai_tags: bool,
    pub overwrite_custom_metadata: bool,
}

impl Default for UploadAttributes {
    /// What an upload that names no attributes gets: public, published, and every
    /// `overwrite…` flag at ImageKit's default of true.
    fn default() -> Self {
        UploadAttributes {
            tags: None,
            custom_coordinates: None,
            custom_metadata_given: false,
            custom_metadata: MetadataWrite::default(),
            description: None,
            is_private: false,
            is_published: true,
            overwrite_tags: true,
            overwrite_ai_tags: true,
            overwrite_custom_metadata: true,
        }
    }
}

impl UploadAttributes {
    /// ImageKit's rules (upload API docs): an attribute the request omits is removed from the
    /// new version unless its `overwrite…` flag is false, in which case it carries over.
    pub fn resolve(&self, previous: Option<&FileAttributes>) -> FileAttributes {
        let keep = |overwrite: bool| if overwrite { None } else { previous };
        FileAttributes {
            tags: self
                .tags
                .clone()
                .or_else(|| keep(self.overwrite_tags).and_then(|p| p.tags.clone())),
            ai_tags: keep(self.overwrite_ai_tags).and_then(|p| p.ai_tags.clone()),
            custom_coordinates: self.custom_coordinates.clone(),
            custom_metadata: self.custom_metadata.apply(
                &if self.custom_metadata_given {
                    None
                } else {
                    keep(self.overwrite_custom_metadata)
                }
                .map(|p| p.custom_metadata.clone())
                .unwrap_or_default(),
            ),
            description: self.description.clone(),
            is_private: self.is_private,
            is_published: self.is_published,
        }
    }
}

/// Which AI tags an update removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AiTagRemoval {
    All,
    Named(Vec<String>),
}

/// A bulk tag operation (`/v1/files/addTags`, `removeTags`, `removeAITags`) on current versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAi(Vec<String>),
}

impl TagChange {
    /// Applies the change; a tag list left empty becomes null, as a file that never had tags.
    pub fn apply(&self, attributes: &mut FileAttributes) {
        match self {
            TagChange::Add(new) => {
                let tags = attributes.tags.get_or_insert_with(Vec::new);
                for tag in new {
                    if !tags.contains(tag) {
                        tags.push(tag.clone());
                    }
                }
            }
            TagChange::Remove(gone) => {
                if let Some(tags) = &mut attributes.tags {
                    tags.retain(|t| !gone.contains(t));
                    if tags.is_empty() {
                        attributes.tags = None;
                    }
                }
            }
            TagChange::RemoveAi(gone) => {
                if let Some(tags) = &mut attributes.ai_tags {
                    tags.retain(|t| !gone.contains(&t.name));
                    if tags.is_empty() {
                        attributes.ai_tags = None;
                    }
                }
            }
        }
    }
}

/// A partial update of a file's current version (`PATCH /v1/files/{id}/details`).
/// `Some(None)` means "set to null", `None` means "leave alone".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeUpdate {
    pub tags: Option<Option<Vec<String>>>,
    pub custom_coordinates: Option<Option<String>>,
    pub description: Option<String>,
    pub custom_metadata: Option<MetadataWrite>,
    pub remove_ai_tags: Option<AiTagRemoval>,
    pub publish: Option<PublishChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishChange {
    pub is_published: bool,
    pub include_file_versions: bool,
}

impl AttributeUpdate {
    pub fn apply(&self, attributes: &mut FileAttributes) {
        if let Some(tags) = &self.tags {
            attributes.tags = tags.clone().filter(|t| !t.is_empty());
        }
        if let Some(coordinates) = &self.custom_coordinates {
            attributes.custom_coordinates = coordinates.clone();
        }
        if let Some(description) = &self.description {
            attributes.description = Some(description.clone());
        }
        if let Some(write) = &self.custom_metadata {
            attributes.custom_metadata = write.apply(&attributes.custom_metadata);
        }
        match &self.remove_ai_tags {
            Some(AiTagRemoval::All) => attributes.ai_tags = None,
            Some(AiTagRemoval::Named(names)) => {
                if let Some(tags) = &mut attributes.ai_tags {
                    tags.retain(|t: &AiTag| !names.contains(&t.name));
                    if tags.is_empty() {
                        attributes.ai_tags = None;
                    }
                }
            }
            None => {}
        }
        if let Some(publish) = self.publish {
            attributes.is_published = publish.is_published;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previous() -> FileAttributes {
        FileAttributes {
            tags: Some(vec!["old".into()]),
            ai_tags: Some(vec![AiTag {
                name: "cat".into(),
                confidence: Some(0.9),
                source: Some("google-auto-tagging".into()),
            }]),
            custom_coordinates: Some("1,2,3,4".into()),
            custom_metadata: serde_json::Map::from_iter([("k".to_owned(), 1.into())]),
            description: Some("before".into()),
            is_private: false,
            is_published: true,
        }
    }

    fn request() -> UploadAttributes {
        UploadAttributes::default()
    }

    #[test]
    fn omitted_attributes_are_removed_by_default() {
        let new = request().resolve(Some(&previous()));
        assert_eq!(new.tags, None);
        assert_eq!(new.ai_tags, None);
        assert_eq!(new.custom_coordinates, None);
        assert!(new.custom_metadata.is_empty());
    }

    #[test]
    fn overwrite_flags_false_carry_attributes_over() {
        let mut r = request();
        r.overwrite_tags = false;
        r.overwrite_ai_tags = false;
        r.overwrite_custom_metadata = false;
        let new = r.resolve(Some(&previous()));
        assert_eq!(new.tags, Some(vec!["old".to_owned()]));
        assert_eq!(new.ai_tags.map(|t| t.len()), Some(1));
        assert_eq!(new.custom_metadata.len(), 1);
    }

    #[test]
    fn given_tags_win_over_carried_ones() {
        let mut r = request();
        r.overwrite_tags = false;
        r.tags = Some(vec!["new".into()]);
        assert_eq!(
            r.resolve(Some(&previous())).tags,
            Some(vec!["new".to_owned()])
        );
    }

    #[test]
    fn updates_apply_null_and_removals() {
        let mut a = previous();
        AttributeUpdate {
            tags: Some(None),
            custom_coordinates: Some(None),
            remove_ai_tags: Some(AiTagRemoval::Named(vec!["cat".into()])),
            publish: Some(PublishChange {
                is_published: false,
                include_file_versions: false,
            }),
            ..Default::default()
        }
        .apply(&mut a);
        assert_eq!(a.tags, None);
        assert_eq!(a.custom_coordinates, None);
        assert_eq!(a.ai_tags, None);
        assert!(!a.is_published);
        assert_eq!(a.description.as_deref(), Some("before"));
    }
}
