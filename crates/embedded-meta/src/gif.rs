//! GIF: the logical screen descriptor, the NETSCAPE loop count, the first transparent colour,
//! XMP in the "XMP DataXMP" application extension, comments, and — for animations — the frame
//! count and total delay, as exiftool's GIF group. Frames are counted by walking data
//! sub-blocks, which reads the whole file; the walk stops after [`SCAN_LIMIT`] bytes and then
//! reports no frame count rather than a wrong one.

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::media::f15;
use crate::source::{Slice, Source};

const SCAN_LIMIT: u64 = 8 * 1024 * 1024;
const MAX_COMMENT: usize = 64 * 1024;

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let Some(h) = src.exact::<13>(0) else {
        out.warn("GIF: truncated header");
        return;
    };
    let g = "GIF";
    out.push(
        g,
        "GIFVersion",
        Value::from(crate::text::utf8_or_latin1(&h[3..6])),
    );
    let width = u16::from_le_bytes([h[6], h[7]]);
    let height = u16::from_le_bytes([h[8], h[9]]);
    let flags = h[10];
    out.push(g, "ImageWidth", Value::from(width));
    out.push(g, "ImageHeight", Value::from(height));
    out.push(g, "HasColorMap", Value::from(flags >> 7));
    out.push(
        g,
        "ColorResolutionDepth",
        Value::from(((flags >> 4) & 7) + 1),
    );
    out.push(g, "BitsPerPixel", Value::from((flags & 7) + 1));
    out.push(g, "BackgroundColor", Value::from(h[11]));
    if h[12] != 0 {
        out.push(g, "PixelAspectRatio", f15((f64::from(h[12]) + 15.0) / 64.0));
    }
    let mut pos = 13u64;
    if flags & 0x80 != 0 {
        pos += 3 << ((flags & 7) + 1);
    }
    let (mut frames, mut delay) = (0u64, 0u64);
    let mut transparent_seen = false;
    let complete = loop {
        if pos > SCAN_LIMIT {
            out.warn("GIF: frames not counted past 8 MiB");
            break false;
        }
        let Some([block]) = src.exact::<1>(pos) else {
            out.warn("GIF: truncated before the trailer");
            break frames > 0;
        };
        match block {
            0x3B => break true,
            0x2C => {
                let Some(d) = src.exact::<10>(pos) else {
                    out.warn("GIF: truncated image descriptor");
                    break false;
                };
                frames += 1;
                pos += 10;
                if d[9] & 0x80 != 0 {
                    pos += 3 << ((d[9] & 7) + 1);
                }
                pos += 1; // LZW minimum code size
                match skip_sub_blocks(src, pos) {
                    Some(next) => pos = next,
                    None => {
                        out.warn("GIF: truncated image data");
                        break false;
                    }
                }
            }
            0x21 => {
                let Some([_, label]) = src.exact::<2>(pos) else {
                    break false;
                };
                let start = pos + 2;
                match label {
                    0xF9 => {
                        if let Some(e) = src.exact::<6>(start) {
                            delay += u64::from(u16::from_le_bytes([e[2], e[3]]));
                            if e[1] & 1 != 0 && !transparent_seen {
                                transparent_seen = true;
                                out.push(g, "TransparentColor", Value::from(e[4]));
                            }
                        }
                    }
                    0xFF => application(src, start, out),
                    0xFE => {
                        let text = sub_blocks(src, start, MAX_COMMENT);
                        out.push(
                            g,
                            "Comment",
                            Value::from(crate::text::utf8_or_latin1(&text)),
                        );
                    }
                    _ => {}
                }
                match skip_sub_blocks(src, start) {
                    Some(next) => pos = next,
                    None => {
                        out.warn("GIF: truncated extension");
                        break false;
                    }
                }
            }
            _ => {
                out.warn("GIF: unknown block; rest skipped");
                break false;
            }
        }
    };
    if complete && frames > 1 {
        out.push(g, "FrameCount", Value::from(frames));
        if delay > 0 {
            out.push(g, "Duration", f15(delay as f64 / 100.0));
        }
    }
    if frames > 1 || !complete && frames > 0 {
        let s = &mut out.media;
        s.width = Some(u64::from(width));
        s.height = Some(u64::from(height));
        if complete && frames > 1 {
            s.frame_count = Some(frames);
            s.duration = Some(delay as f64 / 100.0);
            s.video_codec = Some("gif".into());
        } else {
            // Not an animation we could count: no summary.
            *s = crate::MediaSummary::default();
        }
    }
}

/// Position after a run of data sub-blocks starting at `pos` (its 0 terminator included).
fn skip_sub_blocks<R: Read + Seek>(src: &mut Source<'_, R>, mut pos: u64) -> Option<u64> {
    loop {
        let [n] = src.exact::<1>(pos)?;
        pos += 1 + u64::from(n);
        if n == 0 {
            return Some(pos);
        }
        if pos > src.len() {
            return None;
        }
    }
}

/// The bytes of the sub-blocks at `pos`, up to `max`.
fn sub_blocks<R: Read + Seek>(src: &mut Source<'_, R>, mut pos: u64, max: usize) -> Vec<u8> {
    let mut v = Vec::new();
    while let Some([n]) = src.exact::<1>(pos) {
        if n == 0 || v.len() >= max {
            break;
        }
        v.extend(src.vec_at(pos + 1, usize::from(n)));
        pos += 1 + u64::from(n);
    }
    v
}

fn application<R: Read + Seek>(src: &mut Source<'_, R>, start: u64, out: &mut EmbeddedMetadata) {
    let Some(id) = src.exact::<12>(start) else {
        return;
    };
    if id[0] != 11 {
        return;
    }
    match &id[1..12] {
        b"NETSCAPE2.0" | b"ANIMEXTS1.0" => {
            if let Some(d) = src.exact::<4>(start + 12)
                && d[0] >= 3
                && d[1] == 1
            {
                let loops = u16::from_le_bytes([d[2], d[3]]);
                out.push("GIF", "AnimationIterations", Value::from(loops));
            }
        }
        b"XMP DataXMP" => {
            // Raw XMP (not sub-blocks) followed by a 258-byte "magic trailer" that lets
            // decoders skip it as sub-blocks.
            let raw = src.vec_at(start + 12, crate::xmp::MAX_XMP_BYTES);
            let end = raw
                .windows(3)
                .position(|w| w == [0x01, 0xFF, 0xFE])
                .unwrap_or(raw.len());
            let packet = raw.get(..end).unwrap_or_default();
            if packet.iter().all(u8::is_ascii_whitespace) {
                out.warn("GIF: empty XMP");
            } else {
                crate::xmp::read_bytes(&mut Slice(packet), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> EmbeddedMetadata {
        crate::read(&mut std::io::Cursor::new(data), data.len() as u64)
    }

    #[test]
    fn animation_is_counted_and_truncation_is_survived() {
        let mut f = b"GIF89a\x02\x00\x02\x00\x00\x00\x00".to_vec();
        for _ in 0..3 {
            f.extend(b"\x21\xF9\x04\x01\x0A\x00\x05\x00");
            f.extend(b"\x2C\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02\x44\x01\x00");
        }
        f.push(0x3B);
        let out = run(&f);
        assert_eq!(out.get("GIF", "FrameCount"), Some(&Value::from(3)));
        assert_eq!(out.get("GIF", "TransparentColor"), Some(&Value::from(5)));
        let s = out.media_summary().expect("summary");
        assert_eq!(s.duration, Some(0.3));
        for cut in 0..f.len() {
            let _ = run(&f[..cut]);
        }
        // A sub-block length pointing past the end.
        let mut g = f.clone();
        g.truncate(30);
        g.push(0xFF);
        assert!(!run(&g).warnings.is_empty());
    }
}
