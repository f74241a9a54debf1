//! ISO-BMFF images (HEIF/HEIC, AVIF): the `meta` box's item information (`iinf`) and locations
//! (`iloc`) lead to the "Exif" item (a 4-byte offset to the TIFF header, then EXIF) and the
//! `mime` item holding XMP; `colr` boxes of type prof/rICC hold ICC profiles. Items may live
//! anywhere in the file, the end included: each is read through its extents, never the file.

use std::io::{Read, Seek};

use crate::EmbeddedMetadata;
use crate::source::{Bytes, Extents, Source};
use crate::{exif, icc, quicktime, xmp};

const MAX_BOXES: u32 = 4096;
const MAX_ITEMS: usize = 4096;
const MAX_EXTENTS: usize = 64;
/// `iinf`, `iloc` and `iprp` are read whole; real ones are a few KiB even with 48 tiles.
const MAX_TABLE: u64 = 1024 * 1024;

pub(crate) struct BoxHeader {
    pub(crate) kind: [u8; 4],
    pub(crate) body: u64,
    pub(crate) end: u64,
}

/// The box at `pos` within `end`; None at the end or on a malformed header.
pub(crate) fn next_box<R: Read + Seek>(
    src: &mut Source<'_, R>,
    pos: u64,
    end: u64,
) -> Option<BoxHeader> {
    let h = src.exact::<8>(pos)?;
    let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    let kind = [h[4], h[5], h[6], h[7]];
    let (body, size) = match size {
        0 => (pos + 8, end.saturating_sub(pos)),
        1 => (pos + 16, src.exact::<8>(pos + 8).map(u64::from_be_bytes)?),
        s => (pos + 8, s),
    };
    if size < body - pos {
        return None;
    }
    let box_end = pos.checked_add(size)?.min(end);
    Some(BoxHeader {
        kind,
        body,
        end: box_end,
    })
}

#[derive(Default)]
struct Item {
    id: u32,
    kind: [u8; 4],
    content_type: String,
    method: u16,
    base: u64,
    extents: Vec<(u64, u64)>,
}

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let end = src.len();
    let mut pos = 0u64;
    let mut n = 0u32;
    let mut movie = quicktime::Movie::default();
    while let Some(b) = next_box(src, pos, end) {
        n += 1;
        if n > MAX_BOXES {
            out.warn("ISO-BMFF: too many top-level boxes");
            break;
        }
        if &b.kind == b"meta" {
            meta(src, b.body + 4, b.end, out);
        } else {
            quicktime::top_level(src, &b, pos, &mut movie, out);
        }
        if b.end <= pos {
            break;
        }
        pos = b.end;
    }
    if pos < end && end - pos >= 8 && n <= MAX_BOXES && next_box(src, pos, end).is_none() {
        out.warn("ISO-BMFF: malformed or truncated box header");
    }
    quicktime::finish(&movie, out);
}

fn meta<R: Read + Seek>(src: &mut Source<'_, R>, start: u64, end: u64, out: &mut EmbeddedMetadata) {
    let mut items: Vec<Item> = Vec::new();
    let mut idat: Option<(u64, u64)> = None;
    let mut pos = start;
    let mut n = 0u32;
    while let Some(b) = next_box(src, pos, end) {
        n += 1;
        if n > MAX_BOXES {
            break;
        }
        let len = b.end.saturating_sub(b.body);
        match &b.kind {
            b"iinf" | b"iloc" | b"iprp" => {
                if len > MAX_TABLE {
                    out.warn(format!(
                        "HEIF: {} box too large",
                        String::from_utf8_lossy(&b.kind)
                    ));
                } else {
                    let d = src.vec_at(b.body, usize::try_from(len).unwrap_or(0));
                    match &b.kind {
                        b"iinf" => iinf(&d, &mut items),
                        b"iloc" => iloc(&d, &mut items),
                        _ => iprp(&d, out),
                    }
                }
            }
            b"idat" => idat = Some((b.body, len)),
            _ => {}
        }
        if b.end <= pos {
            break;
        }
        pos = b.end;
    }
    for item in &items {
        let is_exif = &item.kind == b"Exif";
        let is_xmp = &item.kind == b"mime"
            && (item.content_type.contains("rdf+xml") || item.content_type.contains("xmp"));
        if !is_exif && !is_xmp {
            continue;
        }
        let mut parts = Vec::new();
        for &(off, len) in &item.extents {
            let abs = match (item.method, idat) {
                (0, _) => item.base.checked_add(off),
                (1, Some((at, _))) => at.checked_add(item.base).and_then(|a| a.checked_add(off)),
                _ => None,
            };
            let Some(abs) = abs else { continue };
            let len = if len == 0 {
                src.len().saturating_sub(abs)
            } else {
                len
            };
            parts.push((abs, len));
        }
        if parts.is_empty() {
            continue;
        }
        let first = parts.first().map_or(0, |p| p.0);
        let mut data = Extents {
            src: &mut *src,
            parts,
        };
        if is_xmp {
            xmp::read_bytes(&mut data, out);
            continue;
        }
        let r: &mut dyn Bytes = &mut data;
        let Some(skip) = r.exact::<4>(0).map(u32::from_be_bytes) else {
            out.warn("HEIF: truncated Exif item");
            continue;
        };
        let start = 4 + u64::from(skip);
        let base = first.saturating_add(start);
        let size = r.size().saturating_sub(start);
        let mut tiff = crate::source::Sub {
            inner: r,
            start,
            len: size,
        };
        exif::read(&mut tiff, base, out);
    }
}

fn be(d: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = d.get(at..at.checked_add(n)?)?;
    Some(s.iter().fold(0u64, |acc, &c| (acc << 8) | u64::from(c)))
}

fn find_item(items: &mut Vec<Item>, id: u32) -> Option<&mut Item> {
    if let Some(i) = items.iter().position(|it| it.id == id) {
        return items.get_mut(i);
    }
    if items.len() >= MAX_ITEMS {
        return None;
    }
    items.push(Item {
        id,
        ..Item::default()
    });
    items.last_mut()
}

fn iinf(d: &[u8], items: &mut Vec<Item>) {
    let Some(&version) = d.first() else { return };
    let (count, mut pos) = if version == 0 {
        (be(d, 4, 2).unwrap_or(0), 6usize)
    } else {
        (be(d, 4, 4).unwrap_or(0), 8usize)
    };
    for _ in 0..count.min(MAX_ITEMS as u64) {
        let Some(size) = be(d, pos, 4).and_then(|s| usize::try_from(s).ok()) else {
            return;
        };
        if size < 12 || d.get(pos + 4..pos + 8) != Some(b"infe") {
            return;
        }
        let body = pos + 8;
        let end = pos.saturating_add(size).min(d.len());
        let v = d.get(body).copied().unwrap_or(0);
        if v >= 2 {
            let (id, at) = if v == 2 {
                (be(d, body + 4, 2), body + 6)
            } else {
                (be(d, body + 4, 4), body + 8)
            };
            let kind = d
                .get(at + 2..at + 6)
                .and_then(|k| <[u8; 4]>::try_from(k).ok());
            if let (Some(id), Some(kind)) = (id, kind) {
                let strings = d.get(at + 6..end).unwrap_or_default();
                let mut parts = strings.split(|&c| c == 0);
                let _name = parts.next();
                let content_type = parts
                    .next()
                    .map(|c| String::from_utf8_lossy(c).into_owned());
                if let Some(item) = find_item(items, id as u32) {
                    item.kind = kind;
                    item.content_type = content_type.unwrap_or_default();
                }
            }
        }
        if size == 0 {
            return;
        }
        pos = pos.saturating_add(size);
    }
}

fn iloc(d: &[u8], items: &mut Vec<Item>) {
    let Some(&version) = d.first() else { return };
    let (Some(&a), Some(&b)) = (d.get(4), d.get(5)) else {
        return;
    };
    let (off_size, len_size, base_size) = (
        usize::from(a >> 4),
        usize::from(a & 15),
        usize::from(b >> 4),
    );
    let index_size = if version >= 1 { usize::from(b & 15) } else { 0 };
    let (count, mut pos) = if version < 2 {
        (be(d, 6, 2).unwrap_or(0), 8usize)
    } else {
        (be(d, 6, 4).unwrap_or(0), 10usize)
    };
    for _ in 0..count.min(MAX_ITEMS as u64) {
        let id_size = if version < 2 { 2 } else { 4 };
        let Some(id) = be(d, pos, id_size) else {
            return;
        };
        pos += id_size;
        let mut method = 0u16;
        if version >= 1 {
            let Some(m) = be(d, pos, 2) else { return };
            method = (m & 15) as u16;
            pos += 2;
        }
        pos += 2; // data reference index
        let Some(base) = be(d, pos, base_size) else {
            return;
        };
        pos += base_size;
        let Some(extent_count) = be(d, pos, 2) else {
            return;
        };
        pos += 2;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            pos += index_size;
            let (Some(off), Some(len)) = (be(d, pos, off_size), be(d, pos + off_size, len_size))
            else {
                return;
            };
            pos += off_size + len_size;
            if extents.len() < MAX_EXTENTS {
                extents.push((off, len));
            }
        }
        if let Some(item) = find_item(items, id as u32) {
            item.method = method;
            item.base = base;
            item.extents = extents;
        }
    }
}

/// ICC profiles in `colr` properties (type "prof" or "rICC").
fn iprp(d: &[u8], out: &mut EmbeddedMetadata) {
    // iprp > ipco > properties; find colr boxes by scanning the property container.
    let Some(size) = be(d, 0, 4).and_then(|s| usize::try_from(s).ok()) else {
        return;
    };
    if d.get(4..8) != Some(b"ipco") {
        return;
    }
    let end = size.min(d.len());
    let mut pos = 8usize;
    let mut n = 0;
    while pos + 8 <= end && n < MAX_BOXES {
        n += 1;
        let Some(len) = be(d, pos, 4).and_then(|s| usize::try_from(s).ok()) else {
            return;
        };
        if len < 8 {
            return;
        }
        if d.get(pos + 4..pos + 8) == Some(b"colr")
            && matches!(d.get(pos + 8..pos + 12), Some(b"prof" | b"rICC"))
            && let Some(profile) = d.get(pos + 12..pos.saturating_add(len).min(end))
        {
            icc::read(&mut crate::source::Slice(profile), out);
            return;
        }
        pos = pos.saturating_add(len);
    }
}
