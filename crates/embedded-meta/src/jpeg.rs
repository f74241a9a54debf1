//! JPEG: APP0 JFIF, APP1 Exif and XMP (with extended XMP), APP2 ICC profile chunks and APP13
//! Photoshop resources (IPTC). The marker walk stops at the first scan: metadata segments come
//! before the image data, and skipping the entropy-coded data is what keeps a 24 MP file cheap.

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::{Extents, Region, Source};
use crate::{exif, icc, photoshop, xmp};

const MAX_SEGMENTS: u32 = 2048;
/// Bytes of junk tolerated between segments before giving up.
const MAX_LOOSE_BYTES: u64 = 64 * 1024;
const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const MAX_PARTS: usize = 1024;

/// An extended-XMP chunk: GUID, full length, offset of this piece, where its bytes are.
struct ExtChunk {
    guid: [u8; 32],
    full: u32,
    offset: u32,
    at: u64,
    len: u64,
}

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let mut pos = 2u64;
    let mut exif_done = false;
    let mut xmp_main: Option<(u64, u64)> = None;
    let mut ext: Vec<ExtChunk> = Vec::new();
    let mut icc: Vec<(u8, u64, u64)> = Vec::new();
    let mut irb: Vec<(u64, u64)> = Vec::new();
    let mut segments = 0u32;
    loop {
        segments += 1;
        if segments > MAX_SEGMENTS {
            out.warn("JPEG: too many segments");
            break;
        }
        // Markers may be preceded by fill bytes (and, in broken files, by junk).
        let mut skipped = 0u64;
        let marker = loop {
            match src.exact::<2>(pos) {
                Some([0xFF, m]) if m != 0xFF && m != 0x00 => break Some(m),
                Some(_) if skipped < MAX_LOOSE_BYTES => {
                    pos += 1;
                    skipped += 1;
                }
                _ => break None,
            }
        };
        let Some(marker) = marker else {
            break;
        };
        if skipped > 0 {
            out.warn("JPEG: junk between segments");
        }
        if marker == 0xD9 || marker == 0xDA {
            break;
        }
        if (0xD0..=0xD8).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        let Some(len) = src.exact::<2>(pos + 2).map(u16::from_be_bytes) else {
            out.warn("JPEG: truncated segment header");
            break;
        };
        if len < 2 {
            out.warn("JPEG: bad segment length");
            break;
        }
        let body = pos + 4;
        let body_len = u64::from(len) - 2;
        if body.saturating_add(body_len) > src.len() {
            out.warn("JPEG: segment runs past the end of the file");
        }
        let head = src.vec_at(body, 80);
        match marker {
            0xE0 if head.starts_with(b"JFIF\0") => jfif(&head, out),
            0xE1 if head.starts_with(b"Exif\0") && !exif_done => {
                exif_done = true;
                let mut region = Region {
                    src: &mut *src,
                    start: body + 6,
                    len: body_len.saturating_sub(6),
                };
                exif::read(&mut region, body + 6, out);
            }
            0xE1 if head.starts_with(XMP_SIG) && xmp_main.is_none() => {
                let skip = XMP_SIG.len() as u64;
                xmp_main = Some((body + skip, body_len.saturating_sub(skip)));
            }
            0xE1 if head.starts_with(XMP_EXT_SIG) && ext.len() < MAX_PARTS => {
                let s = XMP_EXT_SIG.len();
                if let Some(h) = head.get(s..s + 40)
                    && let (Ok(guid), Ok(full), Ok(offset)) = (
                        <[u8; 32]>::try_from(&h[..32]),
                        <[u8; 4]>::try_from(&h[32..36]),
                        <[u8; 4]>::try_from(&h[36..40]),
                    )
                {
                    let skip = s as u64 + 40;
                    ext.push(ExtChunk {
                        guid,
                        full: u32::from_be_bytes(full),
                        offset: u32::from_be_bytes(offset),
                        at: body + skip,
                        len: body_len.saturating_sub(skip),
                    });
                }
            }
            0xE2 if head.starts_with(b"ICC_PROFILE\0") && icc.len() < MAX_PARTS => {
                let seq = head.get(12).copied().unwrap_or(0);
                icc.push((seq, body + 14, body_len.saturating_sub(14)));
            }
            0xED if head.starts_with(b"Photoshop 3.0\0") && irb.len() < MAX_PARTS => {
                irb.push((body + 14, body_len.saturating_sub(14)));
            }
            _ => {}
        }
        pos = body.saturating_add(body_len);
    }

    if !icc.is_empty() {
        // Chunks are numbered from 1; a stable sort keeps files that number them all 0 intact.
        icc.sort_by_key(|c| c.0);
        let parts = icc.iter().map(|c| (c.1, c.2)).collect();
        icc::read(
            &mut Extents {
                src: &mut *src,
                parts,
            },
            out,
        );
    }
    if !irb.is_empty() {
        photoshop::read(
            &mut Extents {
                src: &mut *src,
                parts: irb,
            },
            out,
        );
    }
    if let Some((start, len)) = xmp_main {
        let packet = xmp::read_region(
            &mut Region {
                src: &mut *src,
                start,
                len,
            },
            out,
        );
        if let Some(guid) = packet.and_then(|p| xmp::extended_guid(&p)) {
            extended_xmp(src, &ext, &guid, out);
        }
    }
}

/// Reassembles the extended XMP whose GUID the main packet names (chunks may come in any
/// order) into a buffer capped at the XMP limit, and reads it into the same groups.
fn extended_xmp<R: Read + Seek>(
    src: &mut Source<'_, R>,
    ext: &[ExtChunk],
    guid: &[u8],
    out: &mut EmbeddedMetadata,
) {
    let chunks: Vec<&ExtChunk> = ext.iter().filter(|c| c.guid.as_slice() == guid).collect();
    let Some(full) = chunks.first().map(|c| c.full) else {
        return;
    };
    let cap = xmp::MAX_XMP_BYTES;
    let size = usize::try_from(full).unwrap_or(usize::MAX).min(cap);
    if size < usize::try_from(full).unwrap_or(usize::MAX) {
        out.warn(format!(
            "XMP: extended XMP of {full} bytes read up to {cap}"
        ));
    }
    let mut buf = vec![0u8; size];
    for c in chunks {
        let Ok(at) = usize::try_from(c.offset) else {
            continue;
        };
        let room = size.saturating_sub(at);
        let n = usize::try_from(c.len).unwrap_or(usize::MAX).min(room);
        if let Some(dst) = buf.get_mut(at..at + n) {
            src.read_at(c.at, dst);
        }
    }
    xmp::parse(
        &buf,
        size < usize::try_from(full).unwrap_or(usize::MAX),
        out,
    );
}

fn jfif(head: &[u8], out: &mut EmbeddedMetadata) {
    let (Some(&major), Some(&minor), Some(&unit)) = (head.get(5), head.get(6), head.get(7)) else {
        return;
    };
    out.push(
        "JFIF",
        "JFIFVersion",
        Value::from(format!("{major} {minor}")),
    );
    out.push("JFIF", "ResolutionUnit", Value::from(unit));
    if let Some(x) = head.get(8..10).and_then(|b| b.try_into().ok()) {
        out.push("JFIF", "XResolution", Value::from(u16::from_be_bytes(x)));
    }
    if let Some(y) = head.get(10..12).and_then(|b| b.try_into().ok()) {
        out.push("JFIF", "YResolution", Value::from(u16::from_be_bytes(y)));
    }
}
