//! The shapes ImageKit serves: the `exif` sections of the metadata endpoint and the flat
//! `embeddedMetadata` object.

use serde_json::{Map, Value};

use crate::EmbeddedMetadata;

pub(crate) fn exif_sections(m: &EmbeddedMetadata) -> Map<String, Value> {
    let mut sections = Map::new();
    for key in [
        "image",
        "thumbnail",
        "exif",
        "gps",
        "interoperability",
        "makernote",
    ] {
        sections.insert(key.into(), Value::Object(Map::new()));
    }
    for t in &m.tags {
        let key = match t.group.as_str() {
            "IFD0" => "image",
            "IFD1" => "thumbnail",
            "ExifIFD" => "exif",
            "GPS" => "gps",
            "InteropIFD" => "interoperability",
            _ => continue,
        };
        if let Some(Value::Object(section)) = sections.get_mut(key) {
            section.insert(t.name.clone(), t.value.clone());
        }
    }
    sections
}

/// Lower ranks win when several groups carry the same tag name: the main image's EXIF first,
/// then XMP, then IPTC, then the rest; the thumbnail's IFD1 only fills gaps.
fn rank(group: &str) -> u8 {
    match group {
        "IFD0" => 0,
        "ExifIFD" => 1,
        "GPS" => 2,
        "InteropIFD" => 3,
        g if g.starts_with("SubIFD") => 4,
        g if g.starts_with("XMP-") => 10,
        "IPTC" => 20,
        "IFD1" => 25,
        g if g.starts_with("IFD") => 26,
        g if g.starts_with("ICC") => 30,
        "Photoshop" => 31,
        "JFIF" => 32,
        g if g.starts_with("PNG") => 33,
        _ => 40,
    }
}

pub(crate) fn flat(m: &EmbeddedMetadata) -> Map<String, Value> {
    let mut order: Vec<&crate::Tag> = m.tags.iter().collect();
    order.sort_by_key(|t| rank(&t.group));
    let mut flat = Map::new();
    for t in order {
        if !flat.contains_key(&t.name) {
            flat.insert(t.name.clone(), t.value.clone());
        }
    }
    // Keywords are a list whatever their source, IPTC's first, else XMP's dc:subject.
    let keywords = m
        .get("IPTC", "Keywords")
        .or_else(|| m.get("XMP-dc", "Subject"))
        .cloned();
    if let Some(k) = keywords {
        let list = match k {
            Value::Array(a) => Value::Array(a),
            Value::String(s) if s.is_empty() => Value::Array(Vec::new()),
            other => Value::Array(vec![other]),
        };
        flat.insert("Keywords".into(), list);
    }
    flat
}
