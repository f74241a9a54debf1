//! Metadata embedded in a file (EXIF, IPTC, XMP, ICC), in the two shapes ImageKit serves:
//! the flat `embeddedMetadata` object of a file and the `Metadata` object of
//! `GET /v1/files/{id}/metadata`. The reading itself is the `embedded-meta` crate
//! (crates/embedded-meta: bounded, never fails — broken metadata gives partial results and
//! warnings); this module only shapes its tags.

use std::io::{Read, Seek};

use serde_json::{Map, Value};

use crate::model::Timestamp;

/// What Kura keeps of a file's embedded metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractedMetadata {
    /// ImageKit's flat `embeddedMetadata`: exiftool's tag names; date-times as ISO 8601
    /// instants (`2019-10-16T19:01:03.000Z`, local times read as UTC, as ImageKit shows them).
    pub embedded: Map<String, Value>,
    /// ImageKit's `Metadata` fields that come from the bytes: `exif` (its six sections),
    /// `hasColorProfile`, `density` when the file states one, and for video and audio
    /// `duration` (whole seconds), `videoCodec`, `audioCodec` and `bitRate` (bits/s).
    pub technical: Map<String, Value>,
    /// A video's displayed size (its track's size, turned by its rotation).
    pub video_size: Option<(u32, u32)>,
    /// What was truncated or malformed, for the log.
    pub warnings: Vec<String>,
}

/// Reads the metadata of `reader` (`len` bytes long).
pub fn extract<R: Read + Seek>(reader: &mut R, len: u64) -> ExtractedMetadata {
    let read = embedded_meta::read(reader, len);
    let mut embedded = read.flat();
    // A colour profile's curves and matrices are not what people search or read; its name is.
    let elsewhere: std::collections::HashSet<&str> = read
        .tags
        .iter()
        .filter(|t| !t.group.starts_with("ICC"))
        .map(|t| t.name.as_str())
        .collect();
    let profile_only: Vec<String> = read
        .tags
        .iter()
        .filter(|t| t.group.starts_with("ICC") && t.name != "ProfileDescription")
        .filter(|t| !elsewhere.contains(t.name.as_str()))
        .map(|t| t.name.clone())
        .collect();
    for name in profile_only {
        embedded.remove(&name);
    }
    embedded.retain(|_, v| !is_binary_placeholder(v));
    for value in embedded.values_mut() {
        normalise_dates(value);
    }
    for value in embedded.values_mut() {
        trim_text(value);
    }
    let mut exif = read.exif_sections();
    for section in exif.values_mut() {
        if let Value::Object(tags) = section {
            tags.retain(|_, v| !is_binary_placeholder(v));
            tags.values_mut().for_each(trim_text);
        }
    }
    // One-byte UNDEFINED tags: ImageKit (and the SDK's types) give their raw byte as text.
    if let Some(Value::Object(tags)) = exif.get_mut("exif") {
        for key in ["SceneType", "FileSource"] {
            if let Some(v) = tags.get_mut(key)
                && let Some(byte) = v.as_u64().and_then(|n| u8::try_from(n).ok())
            {
                *v = Value::String(char::from(byte).to_string());
            }
        }
    }
    if let Some(Value::Object(gps)) = exif.get_mut("gps") {
        for key in ["GPSLatitude", "GPSLongitude"] {
            if let Some(v) = gps.get_mut(key) {
                degrees_to_dms(v);
            }
        }
        // The SDK's types: lists of numbers where exiftool prints them joined.
        if let Some(v) = gps.get_mut("GPSVersionID") {
            split_numbers(v, ' ');
        }
        if let Some(v) = gps.get_mut("GPSTimeStamp") {
            split_numbers(v, ':');
        }
    }
    let mut technical = Map::new();
    technical.insert("exif".into(), Value::Object(exif));
    let has_profile = read.tags.iter().any(|t| t.group.starts_with("ICC"));
    technical.insert("hasColorProfile".into(), Value::Bool(has_profile));
    if let Some(density) = density(&read) {
        technical.insert("density".into(), density.into());
    }
    // ImageKit's video fields (audio files get them too: duration and codec matter there).
    let mut video_size = None;
    if let Some(summary) = read.media_summary() {
        if let (Some(w), Some(h), Some(_)) = (summary.width, summary.height, &summary.video_codec)
            && let (Ok(w), Ok(h)) = (u32::try_from(w), u32::try_from(h))
            && w > 0
            && h > 0
        {
            video_size = Some(match summary.rotation {
                Some(90 | 270) => (h, w),
                _ => (w, h),
            });
        }
        if let Some(duration) = summary.duration.filter(|d| d.is_finite() && *d >= 0.0) {
            // ImageKit reports whole seconds.
            technical.insert("duration".into(), (duration.round() as u64).into());
        }
        if let Some(codec) = summary.video_codec {
            technical.insert("videoCodec".into(), codec.into());
        }
        if let Some(codec) = summary.audio_codec {
            technical.insert("audioCodec".into(), codec.into());
        }
        if let Some(bit_rate) = summary.bit_rate {
            technical.insert("bitRate".into(), bit_rate.into());
        }
    }
    ExtractedMetadata {
        embedded,
        technical,
        video_size,
        warnings: read.warnings,
    }
}

/// Dots per inch, from EXIF's resolution, else JFIF's, else PNG's pHYs.
fn density(read: &embedded_meta::EmbeddedMetadata) -> Option<u64> {
    let number = |group: &str, name: &str| read.get(group, name).and_then(Value::as_f64);
    let dpi = if let Some(r) = number("IFD0", "XResolution") {
        // EXIF's units: 2 inches (the default), 3 centimetres.
        match number("IFD0", "ResolutionUnit").unwrap_or(2.0) {
            3.0 => r * 2.54,
            _ => r,
        }
    } else if let Some(r) = number("JFIF", "XResolution") {
        // JFIF's units: 1 inches, 2 centimetres (0: aspect ratio only).
        match number("JFIF", "ResolutionUnit")? {
            1.0 => r,
            2.0 => r * 2.54,
            _ => return None,
        }
    } else {
        // PNG's pHYs: unit 1 is pixels per metre (0: aspect ratio only).
        let r = number("PNG-pHYs", "PixelsPerUnitX")?;
        match number("PNG-pHYs", "PixelUnits")? {
            1.0 => r * 0.0254,
            _ => return None,
        }
    };
    (dpi.is_finite() && dpi > 0.0 && dpi < 1e6).then(|| dpi.round() as u64)
}

/// exiftool's stand-in for bytes it does not print.
fn is_binary_placeholder(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.starts_with("(Binary data "))
}

/// Cameras pad fixed-size text fields (`"PENTAX Corporation "`); exiftool trims them, and a
/// search for the make should not depend on the padding.
fn trim_text(value: &mut Value) {
    match value {
        Value::String(text) => {
            let trimmed = text.trim_end_matches([' ', '\0']);
            if trimmed.len() != text.len() {
                *text = trimmed.to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(trim_text),
        _ => {}
    }
}

/// `"2 2 0 0"` → `[2, 2, 0, 0]`, `"14:27:07.24"` → `[14, 27, 7.24]`; left alone unless
/// every part is a number.
fn split_numbers(value: &mut Value, separator: char) {
    let Some(text) = value.as_str() else {
        return;
    };
    let numbers: Option<Vec<Value>> = text
        .split(separator)
        .map(|part| {
            let part = part.trim();
            part.parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| part.parse::<f64>().ok().map(Value::from))
        })
        .collect();
    if let Some(numbers) = numbers {
        *value = Value::Array(numbers);
    }
}

/// exiftool writes EXIF date-times as `2019:10:16 19:01:03` (optionally with a fraction and an
/// offset) and XMP's as ISO 8601; both become `2019-10-16T19:01:03.000Z`, so that dates sort
/// and compare as text, as custom metadata dates do.
fn normalise_dates(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Some(instant) = parse_date_time(text) {
                *text = instant.to_iso8601();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise_dates),
        _ => {}
    }
}

fn parse_date_time(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    // `YYYY:MM:DD` or `YYYY-MM-DD` at least, and nothing but a date-time after it.
    if b.len() < 10
        || !b[..4].iter().all(u8::is_ascii_digit)
        || !(b[4] == b':' || b[4] == b'-')
        || b[7] != b[4]
    {
        return None;
    }
    let mut iso = text.to_owned();
    if b[4] == b':' {
        iso.replace_range(4..5, "-");
        iso.replace_range(7..8, "-");
    }
    // A date with zeros (`0000:00:00 00:00:00`, cameras without a clock) is no date.
    if iso.starts_with("0000") || iso.get(5..7) == Some("00") || iso.get(8..10) == Some("00") {
        return None;
    }
    Timestamp::parse_iso8601(&iso)
}

/// ImageKit's `exif.gps` gives latitude and longitude as `[degrees, minutes, seconds]`;
/// exiftool's numeric value is decimal degrees.
fn degrees_to_dms(value: &mut Value) {
    let Some(decimal) = value.as_f64() else {
        return;
    };
    let decimal = decimal.abs();
    let degrees = decimal.trunc();
    let minutes_total = (decimal - degrees) * 60.0;
    let minutes = minutes_total.trunc();
    let seconds = ((minutes_total - minutes) * 60.0 * 1e6).round() / 1e6;
    *value = Value::Array(vec![degrees.into(), minutes.into(), seconds.into()]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_become_iso_instants() {
        let mut v = json!([
            "2019:10:16 19:01:03",
            "2019-10-16T19:01:03+02:00",
            "Canon",
            "0000:00:00 00:00:00"
        ]);
        normalise_dates(&mut v);
        assert_eq!(
            v,
            json!([
                "2019-10-16T19:01:03.000Z",
                "2019-10-16T17:01:03.000Z",
                "Canon",
                "0000:00:00 00:00:00"
            ])
        );
    }

    #[test]
    fn padding_is_trimmed_and_joined_numbers_split() {
        let mut v = json!(["PENTAX Corporation ", "a\u{0}"]);
        trim_text(&mut v);
        assert_eq!(v, json!(["PENTAX Corporation", "a"]));
        let mut t = json!("14:27:07.24");
        split_numbers(&mut t, ':');
        assert_eq!(t, json!([14, 27, 7.24]));
        let mut odd = json!("2 x");
        split_numbers(&mut odd, ' ');
        assert_eq!(odd, json!("2 x"));
    }

    #[test]
    fn gps_degrees_become_triples() {
        let mut v = json!(43.4675);
        degrees_to_dms(&mut v);
        assert_eq!(v, json!([43.0, 28.0, 3.0]));
    }

    fn corpus(name: &str) -> Option<std::fs::File> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus")
            .join(name);
        std::fs::File::open(path).ok()
    }

    #[test]
    fn a_camera_jpeg_yields_both_shapes() {
        let Some(mut file) = corpus("Canon_40D.jpg") else {
            panic!("the media corpus is not beside the repository (../shared/corpus)");
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let m = extract(&mut file, len);
        assert_eq!(m.embedded.get("Make"), Some(&json!("Canon")));
        assert_eq!(
            m.embedded.get("DateTimeOriginal"),
            Some(&json!("2008-05-30T15:56:01.000Z"))
        );
        assert_eq!(m.technical["exif"]["image"]["Make"], json!("Canon"));
        assert_eq!(m.technical["density"], json!(72));
    }
}

#[cfg(test)]
mod location_tests {
    use serde_json::Value;

    use crate::model::geo::GeoPoint;

    /// Where every corpus file says it was made agrees with exiftool's Composite position
    /// (which applies the hemispheres), and files without one get none.
    #[test]
    fn locations_agree_with_exiftool() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        let reference = dir.join("exiftool");
        let entries = std::fs::read_dir(&reference).expect("the corpus's exiftool outputs");
        let (mut located, mut checked) = (0, 0);
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let Ok(Value::Array(outputs)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let Some(tags) = outputs.first() else {
                continue;
            };
            let Some(name) = tags.get("SourceFile").and_then(Value::as_str) else {
                continue;
            };
            let Ok(mut file) = std::fs::File::open(dir.join(name)) else {
                continue;
            };
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let read = super::extract(&mut file, len);
            let expected = match (
                tags.get("Composite:GPSLatitude").and_then(Value::as_f64),
                tags.get("Composite:GPSLongitude").and_then(Value::as_f64),
                tags.get("Composite:GPSPosition").and_then(Value::as_str),
            ) {
                (Some(lat), Some(lng), _) => Some((lat, lng)),
                (_, _, Some(position)) => {
                    let mut parts = position.split(' ').filter_map(|p| p.parse::<f64>().ok());
                    parts.next().zip(parts.next())
                }
                _ => None,
            };
            let actual = GeoPoint::from_embedded(&read.embedded).map(|p| (p.lat, p.lng));
            checked += 1;
            match (expected, actual) {
                (Some(e), Some(a)) => {
                    located += 1;
                    assert!(
                        (e.0 - a.0).abs() < 1e-6 && (e.1 - a.1).abs() < 1e-6,
                        "{name}: exiftool {e:?}, Kura {a:?}"
                    );
                }
                (None, None) => {}
                (e, a) => panic!("{name}: exiftool {e:?}, Kura {a:?}"),
            }
        }
        assert!(checked > 100, "only {checked} corpus files checked");
        assert!(located >= 15, "only {located} corpus files located");
    }
}
