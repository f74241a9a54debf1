//! PNG: IHDR and the small ancillary chunks exiftool reports in group "PNG", text chunks
//! (tEXt, zTXt, iTXt; "XML:com.adobe.xmp" is XMP and ImageMagick's "Raw profile type ..." carry
//! EXIF, IPTC or XMP as hex), eXIf, and iCCP. Compressed chunks are inflated with an output cap:
//! a zTXt bomb yields its first [`MAX_TEXT_BYTES`] and a warning.

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::inflate::{self, Stop};
use crate::source::{Region, Slice, Source};
use crate::value::{binary, num};
use crate::{exif, icc, iptc, photoshop, text, xmp};

const MAX_CHUNKS: u32 = 100_000;
/// Text chunks are read (and inflated) up to this; longer ones are cut with a warning.
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Compressed input read for one chunk.
const MAX_CHUNK_READ: u64 = 4 * 1024 * 1024;
const MAX_ICC_BYTES: usize = 4 * 1024 * 1024;
/// tEXt/iTXt chunks: the XMP cap, hex-encoded raw profiles at twice the size, and room for the
/// keyword fields.
const MAX_PLAIN_READ: u64 = 2 * xmp::MAX_XMP_BYTES as u64 + 4096;

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let mut pos = 8u64;
    let mut chunks = 0u32;
    let mut color_type = 0u8;
    while let Some(h) = src.exact::<8>(pos) {
        chunks += 1;
        if chunks > MAX_CHUNKS {
            out.warn("PNG: too many chunks");
            break;
        }
        let len = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let kind = [h[4], h[5], h[6], h[7]];
        let at = pos + 8;
        if at.saturating_add(len) > src.len() {
            out.warn(format!(
                "PNG: {} chunk runs past the end of the file",
                String::from_utf8_lossy(&kind)
            ));
        }
        match &kind {
            b"IHDR" => {
                let d = src.vec_at(at, 13);
                if let Some(
                    &[
                        w0,
                        w1,
                        w2,
                        w3,
                        h0,
                        h1,
                        h2,
                        h3,
                        depth,
                        ct,
                        comp,
                        filter,
                        interlace,
                    ],
                ) = d.get(..13)
                {
                    color_type = ct;
                    let p = "PNG";
                    out.push(
                        p,
                        "ImageWidth",
                        Value::from(u32::from_be_bytes([w0, w1, w2, w3])),
                    );
                    out.push(
                        p,
                        "ImageHeight",
                        Value::from(u32::from_be_bytes([h0, h1, h2, h3])),
                    );
                    out.push(p, "BitDepth", Value::from(depth));
                    out.push(p, "ColorType", Value::from(ct));
                    out.push(p, "Compression", Value::from(comp));
                    out.push(p, "Filter", Value::from(filter));
                    out.push(p, "Interlace", Value::from(interlace));
                }
            }
            b"eXIf" | b"exIf" => {
                let mut region = Region {
                    src: &mut *src,
                    start: at,
                    len,
                };
                // Some writers keep JPEG's "Exif\0\0" prefix.
                let prefix = {
                    let r: &mut dyn crate::source::Bytes = &mut region;
                    r.exact::<6>(0) == Some(*b"Exif\0\0")
                };
                if prefix {
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
            b"tEXt" | b"zTXt" | b"iTXt" => {
                // Uncompressed text is only needed up to the XMP cap (plus the keyword fields).
                let max = if &kind == b"zTXt" {
                    MAX_CHUNK_READ
                } else {
                    MAX_PLAIN_READ
                };
                let d = src.vec_at(at, usize::try_from(len.min(max)).unwrap_or(0));
                if (d.len() as u64) < len {
                    out.warn(format!(
                        "PNG: {} chunk of {len} bytes read up to {max}",
                        String::from_utf8_lossy(&kind)
                    ));
                }
                text_chunk(&kind, &d, out);
            }
            b"iCCP" => {
                let d = src.vec_at(at, usize::try_from(len.min(MAX_CHUNK_READ)).unwrap_or(0));
                let name_end = d.iter().position(|&c| c == 0).unwrap_or(d.len());
                out.push(
                    "PNG",
                    "ProfileName",
                    Value::from(text::utf8_or_latin1(d.get(..name_end).unwrap_or_default())),
                );
                let (profile, stop) =
                    inflate::zlib(d.get(name_end + 2..).unwrap_or_default(), MAX_ICC_BYTES);
                if stop.is_some() {
                    out.warn("PNG: iCCP profile could not be fully inflated");
                }
                icc::read(&mut Slice(&profile), out);
            }
            b"gAMA" => {
                if let Some(g) = src
                    .exact::<4>(at)
                    .map(u32::from_be_bytes)
                    .filter(|&g| g != 0)
                {
                    let v = (100_000.0 / f64::from(g) * 1e4).round() / 1e4;
                    out.push("PNG", "Gamma", num(v));
                }
            }
            b"sRGB" => {
                if let Some([r]) = src.exact::<1>(at) {
                    out.push("PNG", "SRGBRendering", Value::from(r));
                }
            }
            b"pHYs" => {
                if let Some(d) = src.exact::<9>(at) {
                    let g = "PNG-pHYs";
                    out.push(
                        g,
                        "PixelsPerUnitX",
                        Value::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]])),
                    );
                    out.push(
                        g,
                        "PixelsPerUnitY",
                        Value::from(u32::from_be_bytes([d[4], d[5], d[6], d[7]])),
                    );
                    out.push(g, "PixelUnits", Value::from(d[8]));
                }
            }
            b"tIME" => {
                if let Some(d) = src.exact::<7>(at) {
                    let y = u16::from_be_bytes([d[0], d[1]]);
                    out.push(
                        "PNG",
                        "ModifyDate",
                        Value::from(format!(
                            "{y:04}:{:02}:{:02} {:02}:{:02}:{:02}",
                            d[2], d[3], d[4], d[5], d[6]
                        )),
                    );
                }
            }
            b"acTL" => {
                if let Some(d) = src.exact::<8>(at) {
                    out.push(
                        "PNG",
                        "AnimationFrames",
                        Value::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]])),
                    );
                    out.push(
                        "PNG",
                        "AnimationPlays",
                        Value::from(u32::from_be_bytes([d[4], d[5], d[6], d[7]])),
                    );
                }
            }
            b"PLTE" => out.push("PNG", "Palette", binary(len)),
            b"bKGD" | b"tRNS" => {
                let d = src.vec_at(at, usize::try_from(len.min(8)).unwrap_or(0));
                let name = if &kind == b"bKGD" {
                    "BackgroundColor"
                } else {
                    "Transparency"
                };
                let words: Vec<String> = d
                    .chunks_exact(2)
                    .map(|w| u16::from_be_bytes([w[0], w[1]]).to_string())
                    .collect();
                let value = match color_type {
                    3 if &kind == b"tRNS" => binary(len),
                    3 => Value::from(d.first().copied().unwrap_or(0)),
                    _ => Value::from(words.join(" ")),
                };
                out.push("PNG", name, value);
            }
            b"IEND" => break,
            _ => {}
        }
        pos = at.saturating_add(len).saturating_add(4);
    }
}

fn text_chunk(kind: &[u8; 4], d: &[u8], out: &mut EmbeddedMetadata) {
    let key_end = d.iter().position(|&c| c == 0).unwrap_or(d.len());
    let keyword = text::utf8_or_latin1(d.get(..key_end).unwrap_or_default());
    let rest = d.get(key_end + 1..).unwrap_or_default();
    let (body, lang, compressed) = match kind {
        b"tEXt" => (rest, String::new(), false),
        b"zTXt" => (rest.get(1..).unwrap_or_default(), String::new(), true),
        _ => {
            let flag = rest.first().copied().unwrap_or(0);
            let r = rest.get(2..).unwrap_or_default();
            let lang_end = r.iter().position(|&c| c == 0).unwrap_or(r.len());
            let lang = String::from_utf8_lossy(r.get(..lang_end).unwrap_or_default()).into_owned();
            let r = r.get(lang_end + 1..).unwrap_or_default();
            let tr_end = r.iter().position(|&c| c == 0).unwrap_or(r.len());
            (r.get(tr_end + 1..).unwrap_or_default(), lang, flag == 1)
        }
    };
    let is_xmp = keyword == "XML:com.adobe.xmp";
    let cap = if is_xmp {
        xmp::MAX_XMP_BYTES
    } else if keyword.starts_with("Raw profile type") {
        xmp::MAX_XMP_BYTES * 2
    } else {
        MAX_TEXT_BYTES
    };
    let inflated;
    let mut partial = false;
    let body: &[u8] = if compressed {
        let (o, stop) = inflate::zlib(body, cap);
        match stop {
            Some(Stop::Capped) => {
                out.warn(format!(
                    "PNG: compressed text \"{keyword}\" inflated up to {cap} bytes; value cut"
                ));
                partial = true;
            }
            Some(Stop::Corrupt) => {
                out.warn(format!("PNG: compressed text \"{keyword}\" is corrupt"))
            }
            None => {}
        }
        inflated = o;
        &inflated
    } else if body.len() > cap {
        partial = true;
        body.get(..cap).unwrap_or_default()
    } else {
        body
    };
    if is_xmp {
        xmp::parse(body, partial, out);
        return;
    }
    if let Some(kind) = keyword.strip_prefix("Raw profile type ") {
        raw_profile(kind, body, out);
        return;
    }
    let mut value = if *kind == *b"iTXt" {
        String::from_utf8_lossy(body).into_owned()
    } else {
        text::utf8_or_latin1(body)
    };
    if partial {
        value.push('…');
    }
    let mut name = text_tag_name(&keyword);
    if !lang.is_empty() {
        name = format!("{name}-{lang}");
    }
    out.push("PNG", &name, Value::from(value));
}

/// exiftool's names for the registered PNG keywords; others are the keyword in CamelCase.
fn text_tag_name(keyword: &str) -> String {
    match keyword {
        "Creation Time" => return "CreationTime".into(),
        "create-date" => return "CreateDate".into(),
        "modify-date" => return "ModDate".into(),
        _ => {}
    }
    let mut name = String::new();
    let mut upper = true;
    for c in keyword.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            if upper {
                name.extend(c.to_uppercase());
            } else {
                name.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if name.is_empty() {
        "Unknown".into()
    } else {
        name
    }
}

/// ImageMagick's "Raw profile type exif/iptc/xmp": "\nname\n  length\nhex...".
fn raw_profile(kind: &str, body: &[u8], out: &mut EmbeddedMetadata) {
    let mut lines = body.splitn(4, |&c| c == b'\n');
    let _ = lines.next();
    let _ = lines.next();
    let len: usize = lines
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let hex = lines.next().unwrap_or_default();
    let mut bytes = Vec::with_capacity(len.min(body.len() / 2));
    let mut hi: Option<u8> = None;
    for &c in hex {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => continue,
        };
        match hi.take() {
            Some(h) => bytes.push(h << 4 | v),
            None => hi = Some(v),
        }
        if bytes.len() >= len {
            break;
        }
    }
    match kind {
        "exif" | "APP1" => {
            let tiff = bytes.strip_prefix(b"Exif\0\0").unwrap_or(&bytes);
            exif::read(&mut Slice(tiff), 0, out);
        }
        "xmp" => xmp::parse(&bytes, false, out),
        "iptc" => {
            if bytes.starts_with(b"8BIM") {
                photoshop::read(&mut Slice(&bytes), out);
            } else {
                iptc::parse(&bytes, out);
            }
        }
        "icc" | "icm" => icc::read(&mut Slice(&bytes), out),
        _ => {}
    }
}
