//! ImageKit's JSON shapes. Only this module knows them: model types are converted here, at
//! the edge, and never derive the wire format themselves.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{AiTag, FileKind, FileRecord, FolderRecord, ListedAsset};

/// Where delivered files live: `{public_url}{URL_ENDPOINT_PATH}{filePath}`. No API route
/// starts with it, so any folder name (`v1`, `api`) is deliverable.
pub const URL_ENDPOINT_PATH: &str = "/media";

#[derive(Serialize)]
pub struct VersionInfoJson {
    pub id: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct AiTagJson {
    pub name: String,
    pub confidence: Option<f64>,
    pub source: Option<String>,
}

fn ai_tags(tags: &Option<Vec<AiTag>>) -> Option<Vec<AiTagJson>> {
    tags.as_ref().map(|tags| {
        tags.iter()
            .map(|t| AiTagJson {
                name: t.name.clone(),
                confidence: t.confidence,
                source: t.source.clone(),
            })
            .collect()
    })
}

/// `FileDetails`: files and file versions everywhere but the upload response.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileJson<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub file_path: String,
    pub file_id: String,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "AITags")]
    pub ai_tags: Option<Vec<AiTagJson>>,
    pub version_info: VersionInfoJson,
    pub custom_coordinates: Option<String>,
    pub custom_metadata: &'a Map<String, Value>,
    pub embedded_metadata: &'a Map<String, Value>,
    pub is_private_file: bool,
    pub is_published: bool,
    pub url: String,
    pub thumbnail: Option<String>,
    pub file_type: &'static str,
    pub mime: String,
    pub height: Option<u32>,
    pub width: Option<u32>,
    pub size: u64,
    pub has_alpha: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_codec: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_codec: Option<Value>,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderJson {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub folder_path: String,
    pub folder_id: String,
    pub custom_metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// Builds the URLs a response hands out.
#[derive(Clone)]
pub struct Urls {
    endpoint: String,
}

impl Urls {
    pub fn new(public_url: &str) -> Self {
        Urls {
            endpoint: format!("{}{URL_ENDPOINT_PATH}", public_url.trim_end_matches('/')),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A file's URL; an older version's URL names it with `?ik-obj-version=`, as ImageKit's.
    pub fn file_url(&self, file: &FileRecord) -> String {
        if file.is_current {
            format!("{}{}", self.endpoint, file.file_path())
        } else {
            format!(
                "{}{}?{}={}",
                self.endpoint,
                file.file_path(),
                crate::app::delivery::VERSION_PARAM,
                file.version.id
            )
        }
    }

    /// An image's thumbnail: the named transformation `ik_ml_thumbnail` of it, as ImageKit's
    /// (named transformations need no signature, so private files' thumbnails load too);
    /// images Kura does not transform (SVG) are their own thumbnail; other files have none.
    pub fn thumbnail(&self, file: &FileRecord) -> Option<String> {
        let media = &file.version.media;
        if media.kind != FileKind::Image {
            return None;
        }
        if !crate::app::derived::TRANSFORMABLE.contains(&media.format.as_str()) {
            return Some(self.file_url(file));
        }
        let plain = self.file_url(file);
        Some(plain.replacen(
            &self.endpoint,
            &format!("{}/tr:n-{}", self.endpoint, crate::app::derived::THUMBNAIL),
            1,
        ))
    }
}

/// `duration`, `bitRate`, `videoCodec` and `audioCodec` of a video or audio version.
fn av_fields(media: &crate::model::MediaInfo) -> Map<String, Value> {
    let timed = media.mime.starts_with("video/") || media.mime.starts_with("audio/");
    if !timed {
        return Map::new();
    }
    let technical: Map<String, Value> = media
        .technical
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    technical
        .into_iter()
        .filter(|(k, _)| {
            matches!(
                k.as_str(),
                "duration" | "bitRate" | "videoCodec" | "audioCodec"
            )
        })
        .collect()
}

pub fn file_json<'a>(file: &'a FileRecord, urls: &Urls) -> FileJson<'a> {
    let v = &file.version;
    let a = &v.attributes;
    let mut av = av_fields(&v.media);
    FileJson {
        kind: if file.is_current {
            "file"
        } else {
            "file-version"
        },
        name: file.name.to_string(),
        file_path: file.file_path(),
        file_id: file.id.to_string(),
        tags: a.tags.clone(),
        ai_tags: ai_tags(&a.ai_tags),
        version_info: VersionInfoJson {
            id: v.id.to_string(),
            name: format!("Version {}", v.number),
        },
        custom_coordinates: a.custom_coordinates.clone(),
        custom_metadata: &a.custom_metadata,
        embedded_metadata: &v.media.embedded,
        is_private_file: a.is_private,
        is_published: a.is_published,
        url: urls.file_url(file),
        thumbnail: urls.thumbnail(file),
        file_type: v.media.kind.as_str(),
        mime: v.media.mime.clone(),
        height: v.media.height,
        width: v.media.width,
        size: v.size,
        has_alpha: v.media.has_alpha,
        bit_rate: av.remove("bitRate"),
        duration: av.remove("duration"),
        audio_codec: av.remove("audioCodec"),
        video_codec: av.remove("videoCodec"),
        description: a.description.clone(),
        created_at: v.created_at.to_iso8601(),
        updated_at: v.updated_at.to_iso8601(),
    }
}

/// `{id, name, label, schema, description?}`, as the SDK's `CustomMetadataField`.
pub fn custom_field_json(field: &crate::model::CustomField) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), field.id.as_str().into());
    object.insert("name".into(), field.name.clone().into());
    object.insert("label".into(), field.label.clone().into());
    object.insert("schema".into(), field.schema.to_json());
    if let Some(description) = &field.description {
        object.insert("description".into(), description.clone().into());
    }
    Value::Object(object)
}

pub fn folder_json(folder: &FolderRecord) -> FolderJson {
    FolderJson {
        kind: "folder",
        name: folder.path.name().to_owned(),
        folder_path: folder.path.to_string(),
        folder_id: folder.id.to_string(),
        custom_metadata: Map::new(),
        created_at: folder.created_at.to_iso8601(),
        updated_at: folder.updated_at.to_iso8601(),
    }
}

/// A listing's item: a file (version) or a folder, serialised straight to the response.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ListedJson<'a> {
    File(Box<FileJson<'a>>),
    Folder(FolderJson),
}

pub fn listed_json<'a>(asset: &'a ListedAsset, urls: &Urls) -> ListedJson<'a> {
    match asset {
        ListedAsset::File(file) => ListedJson::File(Box::new(file_json(file, urls))),
        ListedAsset::Folder(folder) => ListedJson::Folder(folder_json(folder)),
    }
}

/// The optional fields of an upload response, included only when named in `responseFields`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ResponseFields {
    pub tags: bool,
    pub custom_coordinates: bool,
    pub is_private_file: bool,
    pub is_published: bool,
    pub custom_metadata: bool,
    pub embedded_metadata: bool,
    pub metadata: bool,
}

impl ResponseFields {
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut fields = ResponseFields::default();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "tags" => fields.tags = true,
                "customCoordinates" => fields.custom_coordinates = true,
                "isPrivateFile" => fields.is_private_file = true,
                "isPublished" => fields.is_published = true,
                "customMetadata" => fields.custom_metadata = true,
                "embeddedMetadata" => fields.embedded_metadata = true,
                "metadata" => fields.metadata = true,
                // Path policies' schema: Kura has none to report.
                "selectedFieldsSchema" => {}
                other => return Err(format!("Invalid value for responseFields: {other}")),
            }
        }
        Ok(fields)
    }
}

/// `FileUploadResponse`.
pub fn upload_json(file: &FileRecord, urls: &Urls, fields: ResponseFields) -> Value {
    let v = &file.version;
    let a = &v.attributes;
    let mut body = serde_json::json!({
        "fileId": file.id.as_str(),
        "name": file.name.as_str(),
        "size": v.size,
        "versionInfo": { "id": v.id.as_str(), "name": format!("Version {}", v.number) },
        "filePath": file.file_path(),
        "url": urls.file_url(file),
        "fileType": v.media.kind.as_str(),
        "thumbnailUrl": urls.thumbnail(file),
        "AITags": ai_tags(&a.ai_tags),
        "description": a.description,
    });
    if let Value::Object(map) = &mut body {
        if let (Some(w), Some(h)) = (v.media.width, v.media.height) {
            map.insert("width".into(), w.into());
            map.insert("height".into(), h.into());
        }
        map.extend(av_fields(&v.media));
        if fields.tags {
            map.insert("tags".into(), serde_json::json!(a.tags));
        }
        if fields.custom_coordinates {
            map.insert(
                "customCoordinates".into(),
                serde_json::json!(a.custom_coordinates),
            );
        }
        if fields.is_private_file {
            map.insert("isPrivateFile".into(), a.is_private.into());
        }
        if fields.is_published {
            map.insert("isPublished".into(), a.is_published.into());
        }
        if fields.custom_metadata {
            map.insert(
                "customMetadata".into(),
                Value::Object(a.custom_metadata.clone()),
            );
        }
        if fields.embedded_metadata {
            map.insert(
                "embeddedMetadata".into(),
                Value::Object(v.media.embedded.clone()),
            );
        }
        if fields.metadata {
            map.insert("metadata".into(), metadata_json(&v.media, v.size));
        }
    }
    body
}

/// ImageKit's `Metadata` object: what Kura knows of the bytes (`media::metadata`).
pub fn metadata_json(media: &crate::model::MediaInfo, size: u64) -> Value {
    let mut object = Map::new();
    if let (Some(w), Some(h)) = (media.width, media.height) {
        object.insert("height".into(), h.into());
        object.insert("width".into(), w.into());
    }
    object.insert("size".into(), size.into());
    object.insert("format".into(), media.format.clone().into());
    object.insert("hasTransparency".into(), media.has_alpha.into());
    let technical: Map<String, Value> = media
        .technical
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    object.insert("hasColorProfile".into(), false.into());
    object.extend(technical);
    object
        .entry("exif")
        .or_insert_with(|| Value::Object(Map::new()));
    Value::Object(object)
}
