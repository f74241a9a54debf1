//! WebP (RIFF): the EXIF, "XMP " and ICCP chunks.

use std::io::{Read, Seek};

use crate::EmbeddedMetadata;
use crate::source::{Bytes, Region, Source};
use crate::{exif, icc, xmp};

const MAX_CHUNKS: u32 = 4096;

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let Some(riff_len) = src.exact::<4>(4).map(u32::from_le_bytes) else {
        return;
    };
    let end = (u64::from(riff_len) + 8).min(src.len());
    let mut pos = 12u64;
    let mut n = 0u32;
    while pos.saturating_add(8) <= end {
        n += 1;
        if n > MAX_CHUNKS {
            out.warn("WebP: too many chunks");
            return;
        }
        let Some(h) = src.exact::<8>(pos) else {
            return;
        };
        let len = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let at = pos + 8;
        if at.saturating_add(len) > src.len() {
            out.warn("WebP: chunk runs past the end of the file");
        }
        let mut region = Region {
            src: &mut *src,
            start: at,
            len,
        };
        match &h[..4] {
            b"EXIF" => {
                let r: &mut dyn Bytes = &mut region;
                // Some writers keep JPEG's "Exif\0\0" prefix.
                if r.exact::<6>(0) == Some(*b"Exif\0\0") {
                    let mut inner = Region {
                        src: &mut *src,
                        start: at + 6,
                        len: len.saturating_sub(6),
                    };
                    exif::read(&mut inner, at + 6, out);
                } else {
                    exif::read(&mut region, at, out);
                }
            }
            b"XMP " => xmp::read_bytes(&mut region, out),
            b"ICCP" => icc::read(&mut region, out),
            _ => {}
        }
        pos = at.saturating_add(len).saturating_add(len & 1);
    }
}
