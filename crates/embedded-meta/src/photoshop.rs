//! Photoshop image resource blocks ("8BIM"): the carrier of IPTC in JPEG APP13 and TIFF, plus a
//! few resources of its own that exiftool reports in the "Photoshop" group.

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::{Bytes, Sub};
use crate::value::{binary, num, round_sig};
use crate::{exif, icc, iptc, text, xmp};

const MAX_RESOURCES: usize = 1024;
/// Small resources are read whole to decode them; larger ones are only measured or handed on.
const MAX_SMALL: u64 = 4096;

pub(crate) fn read(b: &mut dyn Bytes, out: &mut EmbeddedMetadata) {
    let size = b.size();
    let mut pos = 0u64;
    let mut n = 0usize;
    while pos.saturating_add(12) <= size {
        n += 1;
        if n > MAX_RESOURCES {
            out.warn("Photoshop: too many resources");
            return;
        }
        let Some(head) = b.exact::<7>(pos) else {
            return;
        };
        if &head[..4] != b"8BIM" {
            // Files padded with zeros end here quietly; other bytes mean damage.
            if head.iter().any(|&c| c != 0) {
                out.warn("Photoshop: bad resource signature");
            }
            return;
        }
        let id = u16::from_be_bytes([head[4], head[5]]);
        // Pascal name, padded so that length byte plus name is even.
        let name_len = u64::from(head[6]);
        let after_name = pos + 6 + ((name_len + 2) & !1);
        let Some(len) = b.exact::<4>(after_name).map(u32::from_be_bytes) else {
            out.warn("Photoshop: truncated resource");
            return;
        };
        let len = u64::from(len);
        let data_at = after_name + 4;
        if data_at.saturating_add(len) > size {
            out.warn("Photoshop: resource runs past the end of the block");
        }
        let len = len.min(size.saturating_sub(data_at));
        resource(b, id, data_at, len, out);
        pos = data_at.saturating_add((len + 1) & !1);
    }
}

fn resource(b: &mut dyn Bytes, id: u16, at: u64, len: u64, out: &mut EmbeddedMetadata) {
    let mut sub = Sub {
        inner: &mut *b,
        start: at,
        len,
    };
    match id {
        0x0404 => return iptc::read_bytes(&mut sub, out),
        0x040F => return icc::read(&mut sub, out),
        0x0424 => return xmp::read_bytes(&mut sub, out),
        0x0422 => return exif::read(&mut sub, 0, out),
        0x040C | 0x0409 => {
            out.push(
                "Photoshop",
                "PhotoshopThumbnail",
                binary(len.saturating_sub(28)),
            );
            return;
        }
        _ => {}
    }
    if len > MAX_SMALL {
        return;
    }
    let d = sub.vec_at_dyn(len);
    let u16_at = |o: usize| d.get(o..o + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let i16_at = |o: usize| u16_at(o).map(|v| v as i16);
    let u32_at = |o: usize| {
        d.get(o..o + 4)
            .and_then(|x| x.try_into().ok())
            .map(u32::from_be_bytes)
    };
    let p = "Photoshop";
    match id {
        0x03ED => {
            if let (Some(x), Some(ux), Some(y), Some(uy)) =
                (u32_at(0), u16_at(4), u32_at(8), u16_at(12))
            {
                out.push(p, "XResolution", num(round_sig(f64::from(x) / 65536.0, 10)));
                out.push(p, "DisplayedUnitsX", Value::from(ux));
                out.push(p, "YResolution", num(round_sig(f64::from(y) / 65536.0, 10)));
                out.push(p, "DisplayedUnitsY", Value::from(uy));
            }
        }
        0x0406 => {
            if let (Some(q), Some(f)) = (i16_at(0), i16_at(2)) {
                out.push(p, "PhotoshopQuality", Value::from(q));
                out.push(p, "PhotoshopFormat", Value::from(f));
            }
        }
        0x040A => {
            if let Some(&f) = d.first() {
                out.push(p, "CopyrightFlag", Value::from(f));
            }
        }
        0x040B => out.push(p, "URL", Value::from(text::utf8_or_latin1(&d))),
        0x040D => {
            if let Some(v) = u32_at(0) {
                out.push(p, "GlobalAngle", Value::from(v as i32));
            }
        }
        0x0419 => {
            if let Some(v) = u32_at(0) {
                out.push(p, "GlobalAltitude", Value::from(v as i32));
            }
        }
        0x0421 => {
            if let Some(&merged) = d.get(4) {
                out.push(p, "HasRealMergedData", Value::from(merged));
                let (writer, next) = unicode(&d, 5);
                out.push(p, "WriterName", Value::from(writer));
                let (reader, _) = unicode(&d, next);
                out.push(p, "ReaderName", Value::from(reader));
            }
        }
        0x0425 => {
            let hex: String = d.iter().map(|c| format!("{c:02x}")).collect();
            out.push(p, "IPTCDigest", Value::from(hex));
        }
        0x041A => {
            let (group, next) = unicode(&d, 20);
            out.push(p, "SlicesGroupName", Value::from(group));
            if let Some(n) = u32_at(next) {
                out.push(p, "NumSlices", Value::from(n));
            }
        }
        0x0428 => {
            if let Some(x) = d.get(4..12).and_then(|x| x.try_into().ok()) {
                out.push(
                    p,
                    "PixelAspectRatio",
                    num(round_sig(f64::from_be_bytes(x), 15)),
                );
            }
        }
        _ => {}
    }
}

/// A Photoshop Unicode string (32-bit count of UTF-16BE units) at `at`; returns it and the
/// offset after it.
fn unicode(d: &[u8], at: usize) -> (String, usize) {
    let count = d
        .get(at..at + 4)
        .and_then(|x| x.try_into().ok())
        .map_or(0, u32::from_be_bytes);
    let units = usize::try_from(count).unwrap_or(0).min(d.len());
    let start = at + 4;
    let end = start.saturating_add(units * 2).min(d.len());
    let s = text::utf16(d.get(start..end).unwrap_or_default(), false);
    (s, end)
}

impl Sub<'_> {
    fn vec_at_dyn(&mut self, len: u64) -> Vec<u8> {
        let me: &mut dyn Bytes = self;
        me.vec_at(0, usize::try_from(len).unwrap_or(0))
    }
}
