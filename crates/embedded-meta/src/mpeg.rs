//! MP3 (MPEG audio): ID3v2 text frames (exiftool's ID3v2_2/3/4 groups), the ID3v1 trailer, the
//! first MPEG audio frame header (MPEG group, raw bit fields as `exiftool -n` prints them) and
//! the Xing/Info frame count. Duration follows exiftool: from the frame count when a Xing
//! header gives one, else from the file size and the first frame's bit rate.
//!
//! Frames are read one by one through the budgeted source (a 10 MB cover picture is skipped by
//! its size, never read); only a whole-tag unsynchronised ID3v2.3 tag is read into memory,
//! capped at [`MAX_UNSYNC_TAG`].

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::media::f15;
use crate::source::{Bytes, Region, Slice, Source};

const MAX_FRAMES: u32 = 1024;
/// Longest text frame kept (lyrics and comments included).
const MAX_TEXT: usize = 64 * 1024;
const MAX_UNSYNC_TAG: u64 = 1024 * 1024;
/// How far past the ID3 tag the first frame header is looked for.
const SYNC_SCAN: usize = 64 * 1024;

/// A layer III frame header (what an ID3-less MP3 starts with).
pub(crate) fn is_frame_header(d: &[u8]) -> bool {
    d.get(..4)
        .and_then(|h| h.try_into().ok())
        .map(u32::from_be_bytes)
        .is_some_and(|w| valid(w) && (w >> 17) & 3 == 1)
}

fn valid(w: u32) -> bool {
    w & 0xFFE0_0000 == 0xFFE0_0000
        && (w >> 19) & 3 != 1
        && (w >> 17) & 3 != 0
        && (w >> 12) & 15 != 0
        && (w >> 12) & 15 != 15
        && (w >> 10) & 3 != 3
        && w & 3 != 2
}

#[derive(Default)]
struct Stream {
    version: u32,
    layer: u32,
    bitrate: u64,
    sample_rate: u64,
    channels: u64,
    xing_frames: Option<u64>,
    xing_bytes: Option<u64>,
}

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let len = src.len();
    let mut id3_size = 0u64;
    let mut audio_start = 0u64;
    if let Some(h) = src.exact::<10>(0).filter(|h| h.starts_with(b"ID3")) {
        let size = syncsafe(&h[6..10]);
        let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
        let total = 10 + size + footer;
        if total > len {
            out.warn("ID3: tag runs past the end of the file");
        }
        id3v2(src, h[3], h[5], size.min(len.saturating_sub(10)), out);
        id3_size = total;
        audio_start = total;
    }
    if len >= 128 && src.exact::<3>(len - 128) == Some(*b"TAG") {
        id3v1(&src.vec_at(len - 128, 128), out);
        id3_size = id3_size.saturating_add(128);
    }
    let Some(stream) = first_frame(src, audio_start, out) else {
        if audio_start < len {
            out.warn("MPEG: no audio frame header found");
        }
        return;
    };
    // exiftool's Composite:Duration.
    let duration = match stream.xing_frames {
        Some(frames) if frames > 0 && stream.sample_rate > 0 => {
            let per_frame = if stream.version == 3 { 1152.0 } else { 576.0 };
            Some(frames as f64 * per_frame / stream.sample_rate as f64)
        }
        _ if stream.bitrate > 0 => {
            Some(8.0 * len.saturating_sub(id3_size) as f64 / stream.bitrate as f64)
        }
        _ => None,
    };
    if let Some(d) = duration {
        out.push("Composite", "Duration", f15(d));
    }
    let s = &mut out.media;
    s.duration = duration;
    s.audio_codec = Some(
        match stream.layer {
            3 => "mp3",
            2 => "mp2",
            _ => "mp1",
        }
        .into(),
    );
    s.bit_rate = match (stream.xing_bytes, duration) {
        (Some(bytes), Some(d)) if d > 0.0 => Some((bytes as f64 * 8.0 / d).round() as u64),
        _ => Some(stream.bitrate).filter(|&b| b > 0),
    };
    s.audio_sample_rate = Some(stream.sample_rate).filter(|&r| r > 0);
    s.audio_channels = Some(stream.channels);
}

fn syncsafe(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &c| (a << 7) | u64::from(c & 0x7F))
}

fn id3v2<R: Read + Seek>(
    src: &mut Source<'_, R>,
    major: u8,
    flags: u8,
    size: u64,
    out: &mut EmbeddedMetadata,
) {
    if !(2..=4).contains(&major) {
        out.warn(format!("ID3: unsupported version 2.{major}"));
        return;
    }
    let group = format!("ID3v2_{major}");
    let unsync_tag = flags & 0x80 != 0 && major < 4;
    if unsync_tag {
        if size > MAX_UNSYNC_TAG {
            out.warn("ID3: unsynchronised tag too large; skipped");
            return;
        }
        let raw = src.vec_at(10, usize::try_from(size).unwrap_or(0));
        let data = unsynchronise(&raw);
        frames(&mut Slice(&data), major, flags, &group, out);
    } else {
        let mut region = Region {
            src: &mut *src,
            start: 10,
            len: size,
        };
        frames(&mut region, major, flags, &group, out);
    }
}

fn unsynchronise(d: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(d.len());
    let mut prev = 0u8;
    for &c in d {
        if !(prev == 0xFF && c == 0) {
            v.push(c);
        }
        prev = c;
    }
    v
}

fn frames(b: &mut dyn Bytes, major: u8, flags: u8, group: &str, out: &mut EmbeddedMetadata) {
    let size = b.size();
    let mut pos = 0u64;
    if flags & 0x40 != 0 && major >= 3 {
        let Some(h) = b.exact::<4>(0) else { return };
        pos = if major == 4 {
            syncsafe(&h)
        } else {
            4 + u64::from(u32::from_be_bytes(h))
        };
    }
    let (id_len, head_len) = if major == 2 { (3usize, 6u64) } else { (4, 10) };
    let mut n = 0u32;
    while pos.saturating_add(head_len) <= size {
        n += 1;
        if n > MAX_FRAMES {
            out.warn("ID3: too many frames");
            return;
        }
        let Some(h) = b.exact::<10>(pos).or_else(|| {
            let mut v = b.vec_at(pos, 10);
            v.resize(10, 0);
            v.try_into().ok()
        }) else {
            return;
        };
        let id = &h[..id_len];
        if id.iter().all(|&c| c == 0) {
            return; // padding
        }
        if !id
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            out.warn("ID3: malformed frame header");
            return;
        }
        let frame_len = match major {
            2 => u64::from(u32::from_be_bytes([0, h[3], h[4], h[5]])),
            3 => u64::from(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
            _ => syncsafe(&h[4..8]),
        };
        let frame_flags = if major == 2 {
            0
        } else {
            u16::from_be_bytes([h[8], h[9]])
        };
        let body = pos + head_len;
        if body.saturating_add(frame_len) > size {
            out.warn("ID3: frame runs past the end of the tag");
        }
        // Compressed or encrypted frames are skipped.
        let skip = match major {
            3 => frame_flags & 0x00C0 != 0,
            4 => frame_flags & 0x000C != 0,
            _ => false,
        };
        if !skip && let Some(name) = frame_name(id) {
            let mut data = b.vec_at(body, usize::try_from(frame_len).unwrap_or(0).min(MAX_TEXT));
            if major == 4 && frame_flags & 0x0002 != 0 {
                data = unsynchronise(&data);
            }
            if major == 4 && frame_flags & 0x0001 != 0 {
                data = data.get(4..).unwrap_or_default().to_vec(); // data length indicator
            }
            if let Some(v) = frame_value(name, &data) {
                out.push(group, name, v);
            }
        }
        pos = body.saturating_add(frame_len);
    }
}

fn frame_name(id: &[u8]) -> Option<&'static str> {
    Some(match id {
        b"TIT2" | b"TT2" => "Title",
        b"TPE1" | b"TP1" => "Artist",
        b"TALB" | b"TAL" => "Album",
        b"TRCK" | b"TRK" => "Track",
        b"TCON" | b"TCO" => "Genre",
        b"TYER" | b"TYE" => "Year",
        b"TDRC" => "RecordingTime",
        b"TDRL" => "ReleaseTime",
        b"TDOR" => "OriginalReleaseTime",
        b"TIT1" | b"TT1" => "Grouping",
        b"TIT3" | b"TT3" => "Subtitle",
        b"TPE2" | b"TP2" => "Band",
        b"TPE3" | b"TP3" => "Conductor",
        b"TCOM" | b"TCM" => "Composer",
        b"TCOP" | b"TCR" => "Copyright",
        b"TENC" | b"TEN" => "EncodedBy",
        b"TSSE" | b"TSS" => "EncoderSettings",
        b"TPOS" | b"TPA" => "PartOfSet",
        b"TBPM" | b"TBP" => "BeatsPerMinute",
        b"TPUB" | b"TPB" => "Publisher",
        b"TLEN" | b"TLE" => "Length",
        b"TLAN" | b"TLA" => "Language",
        b"TKEY" | b"TKE" => "InitialKey",
        b"TEXT" | b"TXT" => "Lyricist",
        b"COMM" | b"COM" => "Comment",
        _ => return None,
    })
}

/// Text after the encoding byte: NUL-separated values (ID3v2.4 lists).
fn decode_text(enc: u8, d: &[u8]) -> Vec<String> {
    let mut values: Vec<String> = match enc {
        1 | 2 => {
            let mut parts = Vec::new();
            let mut start = 0usize;
            let mut little = enc == 1 && d.starts_with(&[0xFF, 0xFE]);
            let mut i = 0usize;
            while i + 1 < d.len() {
                if d[i] == 0 && d[i + 1] == 0 {
                    parts.push((start, i, little));
                    start = i + 2;
                    if enc == 1 {
                        little = d.get(start..start + 2) == Some(&[0xFF, 0xFE]);
                    }
                }
                i += 2;
            }
            parts.push((start, d.len(), little));
            parts
                .into_iter()
                .map(|(a, b, le)| crate::text::utf16_all(d.get(a..b).unwrap_or_default(), le))
                .collect()
        }
        _ => d
            .split(|&c| c == 0)
            .map(|p| {
                if enc == 3 {
                    String::from_utf8_lossy(p).into_owned()
                } else {
                    p.iter().map(|&c| char::from(c)).collect()
                }
            })
            .collect(),
    };
    while values.len() > 1 && values.last().is_some_and(String::is_empty) {
        values.pop();
    }
    values
}

fn frame_value(name: &str, d: &[u8]) -> Option<Value> {
    let (&enc, rest) = d.split_first()?;
    let rest = if name == "Comment" {
        // Language, then a description and the text.
        let after = rest.get(3..)?;
        let mut parts = decode_split_first(enc, after);
        return Some(Value::from(parts.pop().unwrap_or_default()));
    } else {
        rest
    };
    let mut values = decode_text(enc, rest);
    if name == "Length" {
        let ms: f64 = values.first()?.trim().parse().ok()?;
        return Some(f15(ms / 1000.0));
    }
    Some(if values.len() == 1 {
        Value::from(values.pop().unwrap_or_default())
    } else {
        Value::Array(values.into_iter().map(Value::from).collect())
    })
}

/// A COMM body after its language: [description, text].
fn decode_split_first(enc: u8, d: &[u8]) -> Vec<String> {
    let wide = matches!(enc, 1 | 2);
    let mut i = 0usize;
    let split = loop {
        match (d.get(i), d.get(i + 1)) {
            (Some(0), Some(0)) if wide => break Some((i, i + 2)),
            (Some(0), _) if !wide => break Some((i, i + 1)),
            (None, _) | (_, None) if wide => break None,
            (None, _) => break None,
            _ => i += if wide { 2 } else { 1 },
        }
    };
    match split {
        Some((a, b)) => {
            let desc = decode_text(enc, d.get(..a).unwrap_or_default()).join(" ");
            let text = decode_text(enc, d.get(b..).unwrap_or_default()).join(" ");
            vec![desc, text]
        }
        None => vec![decode_text(enc, d).join(" ")],
    }
}

fn id3v1(d: &[u8], out: &mut EmbeddedMetadata) {
    let text = |a: usize, b: usize| {
        let s = crate::text::c_string(d.get(a..b).unwrap_or_default());
        Value::from(s.trim_end().to_owned())
    };
    let g = "ID3v1";
    out.push(g, "Title", text(3, 33));
    out.push(g, "Artist", text(33, 63));
    out.push(g, "Album", text(63, 93));
    out.push(g, "Year", text(93, 97));
    if d.get(125) == Some(&0) && d.get(126).is_some_and(|&t| t != 0) {
        out.push(g, "Comment", text(97, 125));
        out.push(g, "Track", Value::from(d.get(126).copied().unwrap_or(0)));
    } else {
        out.push(g, "Comment", text(97, 127));
    }
    if let Some(&genre) = d.get(127) {
        out.push(g, "Genre", Value::from(genre));
    }
}

const BITRATES: [[u16; 14]; 5] = [
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

fn first_frame<R: Read + Seek>(
    src: &mut Source<'_, R>,
    start: u64,
    out: &mut EmbeddedMetadata,
) -> Option<Stream> {
    let buf = src.vec_at(start, SYNC_SCAN);
    let (at, w) = buf.windows(4).enumerate().find_map(|(i, h)| {
        let w = u32::from_be_bytes(h.try_into().ok()?);
        valid(w).then_some((i, w))
    })?;
    let version = (w >> 19) & 3;
    let layer_raw = (w >> 17) & 3;
    let layer = 4 - layer_raw; // 1, 2 or 3
    let table = match (version, layer) {
        (3, 1) => 0,
        (3, 2) => 1,
        (3, _) => 2,
        (_, 1) => 3,
        _ => 4,
    };
    let index = ((w >> 12) & 15) as usize;
    let kbps = BITRATES
        .get(table)
        .and_then(|t| t.get(index.checked_sub(1)?))
        .copied()
        .unwrap_or(0);
    let rates = match version {
        3 => [44_100, 48_000, 32_000],
        2 => [22_050, 24_000, 16_000],
        _ => [11_025, 12_000, 8_000],
    };
    let sample_rate = rates.get(((w >> 10) & 3) as usize).copied().unwrap_or(0);
    let mode = (w >> 6) & 3;
    let g = "MPEG";
    out.push(g, "MPEGAudioVersion", Value::from(version));
    out.push(g, "AudioLayer", Value::from(layer_raw));
    out.push(g, "AudioBitrate", Value::from(u64::from(kbps) * 1000));
    out.push(g, "SampleRate", Value::from((w >> 10) & 3));
    out.push(g, "ChannelMode", Value::from(mode));
    if layer_raw == 1 {
        out.push(g, "MSStereo", Value::from((w >> 5) & 1));
        out.push(g, "IntensityStereo", Value::from((w >> 4) & 1));
    } else {
        out.push(g, "ModeExtension", Value::from((w >> 4) & 3));
    }
    out.push(g, "CopyrightFlag", Value::from((w >> 3) & 1));
    out.push(g, "OriginalMedia", Value::from((w >> 2) & 1));
    out.push(g, "Emphasis", Value::from(w & 3));
    let mut stream = Stream {
        version,
        layer,
        bitrate: u64::from(kbps) * 1000,
        sample_rate,
        channels: if mode == 3 { 1 } else { 2 },
        ..Stream::default()
    };
    // Xing / Info header after the side information (exiftool's offsets).
    let side = match (version == 3, mode == 3) {
        (true, true) => 17,
        (true, false) => 32,
        (false, true) => 9,
        (false, false) => 17,
    };
    let x = at + 4 + side;
    let tag = buf.get(x..x + 4);
    if matches!(tag, Some(b"Xing" | b"Info")) {
        let is_vbr = tag == Some(b"Xing");
        let flags = be32(&buf, x + 4).unwrap_or(0);
        let mut p = x + 8;
        if flags & 1 != 0 {
            if let Some(frames) = be32(&buf, p) {
                stream.xing_frames = Some(u64::from(frames));
                if is_vbr {
                    out.push(g, "VBRFrames", Value::from(frames));
                }
            }
            p += 4;
        }
        if flags & 2 != 0 {
            if let Some(bytes) = be32(&buf, p)
                && is_vbr
            {
                stream.xing_bytes = Some(u64::from(bytes));
                out.push(g, "VBRBytes", Value::from(bytes));
            }
            p += 4;
        }
        if flags & 4 != 0 {
            p += 100;
        }
        if flags & 8 != 0
            && is_vbr
            && let Some(scale) = be32(&buf, p)
        {
            out.push(g, "VBRScale", Value::from(scale));
        }
    }
    Some(stream)
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)?.try_into().ok().map(u32::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> EmbeddedMetadata {
        crate::read(&mut std::io::Cursor::new(data), data.len() as u64)
    }

    fn frame_header() -> Vec<u8> {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, joint stereo.
        let mut f = vec![0xFF, 0xFB, 0x90, 0x44];
        f.resize(417, 0);
        f
    }

    #[test]
    fn id3_text_frames_and_cbr_duration() {
        let mut tag = Vec::new();
        for (id, text) in [
            (b"TIT2", &b"\x03T\xc3\xadtulo"[..]),
            (b"TPE1", b"\x00Someone"),
        ] {
            tag.extend_from_slice(id);
            tag.extend((text.len() as u32).to_be_bytes());
            tag.extend([0, 0]);
            tag.extend_from_slice(text);
        }
        tag.extend(b"TPE2\x00\x00\x00\x09\x00\x00\x01\xff\xfeB\x00a\x00\x00\x00");
        let mut f = b"ID3\x03\x00\x00".to_vec();
        f.extend([0, 0, 0, tag.len() as u8]);
        f.extend(&tag);
        for _ in 0..100 {
            f.extend(frame_header());
        }
        let out = run(&f);
        assert_eq!(out.get("ID3v2_3", "Title"), Some(&Value::from("Título")));
        assert_eq!(out.get("ID3v2_3", "Artist"), Some(&Value::from("Someone")));
        assert_eq!(out.get("ID3v2_3", "Band"), Some(&Value::from("Ba")));
        let s = out.media_summary().expect("summary");
        assert_eq!(s.audio_codec.as_deref(), Some("mp3"));
        assert_eq!(s.bit_rate, Some(128_000));
        assert_eq!(s.audio_sample_rate, Some(44_100));
        let d = s.duration.expect("duration");
        assert!((d - 100.0 * 417.0 * 8.0 / 128_000.0).abs() < 0.01, "{d}");
    }

    #[test]
    fn xing_frame_count_gives_duration() {
        let mut first = frame_header();
        first[4 + 32..4 + 32 + 4].copy_from_slice(b"Xing");
        first[40..44].copy_from_slice(&3u32.to_be_bytes());
        first[44..48].copy_from_slice(&1000u32.to_be_bytes());
        first[48..52].copy_from_slice(&417_000u32.to_be_bytes());
        let out = run(&[first, frame_header()].concat());
        let s = out.media_summary().expect("summary");
        let d = s.duration.expect("duration");
        assert!((d - 1000.0 * 1152.0 / 44_100.0).abs() < 1e-9);
    }

    #[test]
    fn huge_declared_id3_size_is_bounded() {
        // A tag claiming 256 MB in a 100-byte file; a frame claiming 4 GB.
        let mut f = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec();
        f.extend(b"TIT2\x7f\x7f\x7f\x7f\x00\x00\x03abc");
        f.resize(100, 0);
        let out = run(&f);
        assert!(!out.warnings.is_empty());
        let mut g = b"ID3\x03\x80\x00\x7f\x7f\x7f\x7f".to_vec();
        g.resize(64, 0xFF);
        let _ = run(&g);
        let mut h = b"ID3\x03\x00\x40\x00\x00\x00\x20\xff\xff\xff\xff".to_vec();
        h.resize(64, 0);
        let _ = run(&h);
    }
}
