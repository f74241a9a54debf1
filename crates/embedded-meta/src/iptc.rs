//! IPTC-IIM datasets (records 1 and 2), from Photoshop's IRB resource 0x0404 or a TIFF tag.
//!
//! Text is UTF-8 when record 1:90 says so (ESC % G), else Latin-1, as exiftool assumes.
//! Repeatable datasets (Keywords, By-line, ...) become arrays.

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::Bytes;
use crate::text::utf8_or_latin1;

/// IPTC blocks are a few KiB; this bounds what is read.
const MAX_IPTC_BYTES: usize = 1024 * 1024;
const MAX_DATASETS: usize = 4096;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// Repeatable: collected into an array.
    List,
    /// Binary unsigned integer.
    Int,
    /// Digits → number (exiftool's JSON writes digit strings as numbers anyway).
    Date,
    Time,
    Binary,
}

fn dataset(record: u8, id: u8) -> Option<(&'static str, Kind)> {
    use Kind::*;
    Some(match (record, id) {
        (1, 0) => ("EnvelopeRecordVersion", Int),
        (1, 5) => ("Destination", List),
        (1, 20) => ("FileFormat", Int),
        (1, 22) => ("FileVersion", Int),
        (1, 30) => ("ServiceIdentifier", Text),
        (1, 40) => ("EnvelopeNumber", Text),
        (1, 50) => ("ProductID", List),
        (1, 60) => ("EnvelopePriority", Text),
        (1, 70) => ("DateSent", Date),
        (1, 80) => ("TimeSent", Time),
        (1, 90) => ("CodedCharacterSet", Text),
        (1, 100) => ("UniqueObjectName", Text),
        (1, 120) => ("ARMIdentifier", Int),
        (1, 122) => ("ARMVersion", Int),
        (2, 0) => ("ApplicationRecordVersion", Int),
        (2, 3) => ("ObjectTypeReference", Text),
        (2, 4) => ("ObjectAttributeReference", List),
        (2, 5) => ("ObjectName", Text),
        (2, 7) => ("EditStatus", Text),
        (2, 8) => ("EditorialUpdate", Text),
        (2, 10) => ("Urgency", Text),
        (2, 12) => ("SubjectReference", List),
        (2, 15) => ("Category", Text),
        (2, 20) => ("SupplementalCategories", List),
        (2, 22) => ("FixtureIdentifier", Text),
        (2, 25) => ("Keywords", List),
        (2, 26) => ("ContentLocationCode", List),
        (2, 27) => ("ContentLocationName", List),
        (2, 30) => ("ReleaseDate", Date),
        (2, 35) => ("ReleaseTime", Time),
        (2, 37) => ("ExpirationDate", Date),
        (2, 38) => ("ExpirationTime", Time),
        (2, 40) => ("SpecialInstructions", Text),
        (2, 42) => ("ActionAdvised", Text),
        (2, 45) => ("ReferenceService", List),
        (2, 47) => ("ReferenceDate", List),
        (2, 50) => ("ReferenceNumber", List),
        (2, 55) => ("DateCreated", Date),
        (2, 60) => ("TimeCreated", Time),
        (2, 62) => ("DigitalCreationDate", Date),
        (2, 63) => ("DigitalCreationTime", Time),
        (2, 65) => ("OriginatingProgram", Text),
        (2, 70) => ("ProgramVersion", Text),
        (2, 75) => ("ObjectCycle", Text),
        (2, 80) => ("By-line", List),
        (2, 85) => ("By-lineTitle", List),
        (2, 90) => ("City", Text),
        (2, 92) => ("Sub-location", Text),
        (2, 95) => ("Province-State", Text),
        (2, 100) => ("Country-PrimaryLocationCode", Text),
        (2, 101) => ("Country-PrimaryLocationName", Text),
        (2, 103) => ("OriginalTransmissionReference", Text),
        (2, 105) => ("Headline", Text),
        (2, 110) => ("Credit", Text),
        (2, 115) => ("Source", Text),
        (2, 116) => ("CopyrightNotice", Text),
        (2, 118) => ("Contact", List),
        (2, 120) => ("Caption-Abstract", Text),
        (2, 121) => ("LocalCaption", Text),
        (2, 122) => ("Writer-Editor", List),
        (2, 125) => ("RasterizedCaption", Binary),
        (2, 130) => ("ImageType", Text),
        (2, 131) => ("ImageOrientation", Text),
        (2, 135) => ("LanguageIdentifier", Text),
        (2, 150) => ("AudioType", Text),
        (2, 151) => ("AudioSamplingRate", Text),
        (2, 152) => ("AudioSamplingResolution", Text),
        (2, 153) => ("AudioDuration", Text),
        (2, 154) => ("AudioOutcue", Text),
        (2, 184) => ("JobID", Text),
        (2, 185) => ("MasterDocumentID", Text),
        (2, 186) => ("ShortDocumentID", Text),
        (2, 187) => ("UniqueDocumentID", Text),
        (2, 188) => ("OwnerID", Text),
        (2, 200) => ("ObjectPreviewFileFormat", Int),
        (2, 201) => ("ObjectPreviewFileVersion", Int),
        (2, 202) => ("ObjectPreviewData", Binary),
        (2, 221) => ("Prefs", Text),
        (2, 225) => ("ClassifyState", Text),
        (2, 228) => ("SimilarityIndex", Text),
        (2, 230) => ("DocumentNotes", Text),
        (2, 231) => ("DocumentHistory", Text),
        (2, 232) => ("ExifCameraInfo", Text),
        (2, 255) => ("CatalogSets", List),
        _ => return None,
    })
}

/// Reads IPTC-IIM datasets from `b`.
pub(crate) fn read_bytes(b: &mut dyn Bytes, out: &mut EmbeddedMetadata) {
    let size = b.size();
    let data = b.vec_at(0, MAX_IPTC_BYTES);
    if (data.len() as u64) < size {
        out.warn("IPTC: block truncated");
    }
    parse(&data, out);
}

pub(crate) fn parse(data: &[u8], out: &mut EmbeddedMetadata) {
    let mut utf8 = false;
    let mut pos = 0usize;
    let mut count = 0usize;
    let mut lists: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut single: Vec<(&'static str, Value)> = Vec::new();
    while pos + 5 <= data.len() {
        let Some(&[tag, record, id, l1, l2]) = data.get(pos..pos + 5) else {
            break;
        };
        if tag != 0x1C {
            // Padding at the end of the block is common; anything else is damage.
            if data.get(pos..).is_some_and(|r| r.iter().any(|&c| c != 0)) {
                out.warn("IPTC: bad dataset marker; rest skipped");
            }
            break;
        }
        count += 1;
        if count > MAX_DATASETS {
            out.warn("IPTC: too many datasets");
            break;
        }
        let mut len = usize::from(u16::from_be_bytes([l1, l2]));
        let mut body_at = pos + 5;
        if len & 0x8000 != 0 {
            // Extended dataset: the low bits give the size of the length field.
            let n = len & 0x7FFF;
            let Some(bytes) = data.get(body_at..body_at + n).filter(|_| n <= 4) else {
                out.warn("IPTC: bad extended dataset length");
                break;
            };
            len = bytes
                .iter()
                .fold(0usize, |acc, &c| (acc << 8) | usize::from(c));
            body_at += n;
        }
        let Some(body) = data.get(body_at..body_at.saturating_add(len)) else {
            out.warn("IPTC: dataset runs past the end of the block");
            break;
        };
        pos = body_at + len;
        if record == 1 && id == 90 {
            utf8 = body == b"\x1b%G";
        }
        let Some((name, kind)) = dataset(record, id) else {
            continue;
        };
        let text = || {
            if utf8 {
                String::from_utf8_lossy(body).into_owned()
            } else {
                utf8_or_latin1(body)
            }
        };
        let value = match kind {
            Kind::Int => Value::from(
                body.iter()
                    .fold(0u64, |acc, &c| acc.wrapping_shl(8) | u64::from(c)),
            ),
            Kind::Binary => crate::value::binary(len as u64),
            Kind::Date => Value::from(iptc_date(&text())),
            Kind::Time => Value::from(iptc_time(&text())),
            Kind::Text | Kind::List => Value::from(text()),
        };
        if kind == Kind::List {
            match lists.iter_mut().find(|l| l.0 == name) {
                Some(l) => l.1.push(value),
                None => lists.push((name, vec![value])),
            }
        } else {
            single.push((name, value));
        }
    }
    for (name, value) in single {
        out.push("IPTC", name, value);
    }
    for (name, mut values) in lists {
        let v = if values.len() == 1 {
            values.pop().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        };
        out.push("IPTC", name, v);
    }
}

/// "20040226" → "2004:02:26".
fn iptc_date(s: &str) -> String {
    match (s.get(0..4), s.get(4..6), s.get(6..8)) {
        (Some(y), Some(m), Some(d)) if s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit()) => {
            format!("{y}:{m}:{d}")
        }
        _ => s.to_owned(),
    }
}

/// "002302+0000" → "00:23:02+00:00".
fn iptc_time(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 6 && b.iter().take(6).all(u8::is_ascii_digit) {
        let mut t = format!(
            "{}:{}:{}",
            s.get(0..2).unwrap_or_default(),
            s.get(2..4).unwrap_or_default(),
            s.get(4..6).unwrap_or_default()
        );
        if b.len() == 11 && matches!(b.get(6), Some(b'+' | b'-')) {
            t.push_str(s.get(6..9).unwrap_or_default());
            t.push(':');
            t.push_str(s.get(9..11).unwrap_or_default());
        }
        return t;
    }
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_repeat_into_an_array() {
        let mut data = Vec::new();
        for kw in [&b"one"[..], b"two"] {
            data.extend([0x1C, 2, 25, 0, kw.len() as u8]);
            data.extend(kw);
        }
        data.extend([0x1C, 2, 55, 0, 8]);
        data.extend(b"20040226");
        let mut out = EmbeddedMetadata::default();
        parse(&data, &mut out);
        assert_eq!(
            out.get("IPTC", "Keywords"),
            Some(&serde_json::json!(["one", "two"]))
        );
        assert_eq!(
            out.get("IPTC", "DateCreated"),
            Some(&Value::from("2004:02:26"))
        );
    }

    #[test]
    fn oversized_lengths_stop_cleanly() {
        let data = [0x1C, 2, 25, 0xFF, 0xFF, b'a'];
        let mut out = EmbeddedMetadata::default();
        parse(&data, &mut out);
        assert!(out.tags.is_empty());
        assert!(!out.warnings.is_empty());
        let ext = [0x1C, 2, 25, 0x80, 0x04, 0xFF, 0xFF, 0xFF, 0xFF];
        parse(&ext, &mut out);
        assert!(out.tags.is_empty());
    }
}
