//! Matroska / WebM: the EBML header (DocType), the Segment's Info (time scale, duration, date,
//! muxing and writing applications) and Tracks (codec, size, sampling), as exiftool's Matroska
//! and Track<n> groups. Level-1 elements are walked by their sizes and Clusters are never read:
//! the walk stops at the first Cluster once Info and Tracks are known (or jumps to them through
//! the SeekHead when they come later), so a long recording costs a few KiB.

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::media::{self, f15};
use crate::source::Source;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
/// Info and Tracks are read whole; real ones are well under this (CodecPrivate included).
const MAX_MASTER: u64 = 1024 * 1024;
const MAX_LEVEL1: u32 = 1024;
const MAX_TRACKS: usize = 64;
const MAX_DEPTH: u32 = 8;

/// An element header: ID (marker bits kept), data size (None when "unknown"), header length.
fn header(d: &[u8]) -> Option<(u32, Option<u64>, usize)> {
    let first = *d.first()?;
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return None;
    }
    let id = d
        .get(..id_len)?
        .iter()
        .fold(0u32, |a, &c| (a << 8) | u32::from(c));
    let s0 = *d.get(id_len)?;
    let size_len = s0.leading_zeros() as usize + 1;
    if size_len > 8 {
        return None;
    }
    let raw = d.get(id_len..id_len + size_len)?;
    let mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
    let mut size = u64::from(s0 & mask);
    let mut all_ones = s0 & mask == mask;
    for &c in raw.get(1..).unwrap_or_default() {
        size = (size << 8) | u64::from(c);
        all_ones &= c == 0xFF;
    }
    Some((id, (!all_ones).then_some(size), id_len + size_len))
}

/// The children of an element held in memory: (id, body). An unknown size runs to the end.
fn children(d: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let rest = d.get(pos..)?;
        let (id, size, hl) = header(rest)?;
        let len = size.map_or(rest.len() - hl.min(rest.len()), |s| {
            usize::try_from(s).unwrap_or(usize::MAX)
        });
        let end = hl.saturating_add(len).min(rest.len());
        let body = rest.get(hl..end)?;
        pos = pos.saturating_add(end);
        Some((id, body))
    })
    .take(65_536)
}

fn uint(d: &[u8]) -> Option<u64> {
    if d.len() > 8 {
        return None;
    }
    Some(d.iter().fold(0u64, |a, &c| (a << 8) | u64::from(c)))
}

fn int(d: &[u8]) -> Option<i64> {
    let u = uint(d)?;
    let bits = 8 * d.len() as u32;
    Some(if bits == 0 || bits == 64 {
        u as i64
    } else if u >> (bits - 1) & 1 == 1 {
        u as i64 - (1i64 << bits)
    } else {
        u as i64
    })
}

fn float(d: &[u8]) -> Option<f64> {
    match d.len() {
        4 => Some(f64::from(f32::from_bits(u32::try_from(uint(d)?).ok()?))),
        8 => Some(f64::from_bits(uint(d)?)),
        _ => None,
    }
}

fn string(d: &[u8]) -> String {
    crate::text::c_string(d)
}

pub(crate) fn read<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let len = src.len();
    let Some((EBML, Some(size), hl)) = header(&src.vec_at(0, 12)) else {
        return;
    };
    let head = src.vec_at(hl as u64, usize::try_from(size.min(4096)).unwrap_or(0));
    for (id, body) in children(&head) {
        match id {
            0x4282 => out.push("Matroska", "DocType", Value::from(string(body))),
            0x4287 => put_uint(out, "Matroska", "DocTypeVersion", body),
            0x4285 => put_uint(out, "Matroska", "DocTypeReadVersion", body),
            _ => {}
        }
    }
    let mut pos = (hl as u64).saturating_add(size);
    // Top level: the Segment (others, such as Void, are skipped).
    let mut n = 0;
    let segment = loop {
        n += 1;
        let h = src.vec_at(pos, 12);
        let Some((id, size, hl)) = header(&h) else {
            out.warn("Matroska: no Segment");
            return;
        };
        let body = pos.saturating_add(hl as u64);
        if id == SEGMENT {
            let end = size.map_or(len, |s| body.saturating_add(s));
            if end > len {
                out.warn("Matroska: Segment runs past the end of the file");
            }
            break (body, end.min(len));
        }
        match size {
            Some(s) if n < 16 => pos = body.saturating_add(s),
            _ => return,
        }
    };
    let mut state = State::default();
    segment_walk(src, segment, &mut state, out);
    finish(&state, out);
}

#[derive(Default)]
struct TrackInfo {
    kind: Option<u64>,
    codec: Option<String>,
    width: Option<u64>,
    height: Option<u64>,
    sample_rate: Option<f64>,
    channels: Option<u64>,
    frame_rate: Option<f64>,
}

#[derive(Default)]
struct State {
    scale: Option<u64>,
    duration: Option<f64>,
    have_info: bool,
    have_tracks: bool,
    tracks: Vec<TrackInfo>,
}

fn segment_walk<R: Read + Seek>(
    src: &mut Source<'_, R>,
    (start, end): (u64, u64),
    state: &mut State,
    out: &mut EmbeddedMetadata,
) {
    let mut pos = start;
    let mut seek: Vec<(u32, u64)> = Vec::new();
    let mut visited: Vec<u64> = Vec::new();
    let mut n = 0u32;
    loop {
        n += 1;
        if n > MAX_LEVEL1 {
            out.warn("Matroska: too many top-level elements");
            return;
        }
        let at_end = pos.saturating_add(2) > end;
        let parsed = if at_end {
            None
        } else {
            header(&src.vec_at(pos, 12))
        };
        let Some((id, size, hl)) = parsed else {
            if !at_end {
                out.warn("Matroska: malformed element header");
            }
            // Info or Tracks announced by the SeekHead but not yet seen.
            if let Some(next) = pending(&seek, &visited, state, start) {
                pos = next;
                visited.push(next);
                continue;
            }
            return;
        };
        let body = pos.saturating_add(hl as u64);
        let body_end = size.map_or(end, |s| body.saturating_add(s).min(end));
        if size.is_some_and(|s| body.saturating_add(s) > end) {
            out.warn("Matroska: element runs past the end of the segment");
        }
        match id {
            INFO | TRACKS | SEEK_HEAD => {
                let len = body_end.saturating_sub(body);
                if len > MAX_MASTER {
                    out.warn("Matroska: element too large; skipped");
                } else {
                    let d = src.vec_at(body, usize::try_from(len).unwrap_or(0));
                    match id {
                        INFO => info(&d, state, out),
                        TRACKS => tracks(&d, state, out),
                        _ => seek_head(&d, &mut seek),
                    }
                }
            }
            CLUSTER => {
                if state.have_info && state.have_tracks {
                    return;
                }
                if let Some(next) = pending(&seek, &visited, state, start) {
                    pos = next;
                    visited.push(next);
                    continue;
                }
            }
            _ => {}
        }
        if state.have_info && state.have_tracks {
            return;
        }
        match size {
            Some(_) if body_end > pos => pos = body_end,
            // An element of unknown size (a live-recorded Cluster) cannot be skipped.
            _ => {
                if let Some(next) = pending(&seek, &visited, state, start) {
                    pos = next;
                    visited.push(next);
                    continue;
                }
                return;
            }
        }
    }
}

/// The position of Info or Tracks from the SeekHead when still missing and not yet visited.
fn pending(seek: &[(u32, u64)], visited: &[u64], state: &State, start: u64) -> Option<u64> {
    seek.iter()
        .filter(|(id, _)| {
            (*id == INFO && !state.have_info) || (*id == TRACKS && !state.have_tracks)
        })
        .map(|(_, p)| start.saturating_add(*p))
        .find(|p| !visited.contains(p) && visited.len() < 8)
}

fn seek_head(d: &[u8], seek: &mut Vec<(u32, u64)>) {
    for (id, body) in children(d) {
        if id != 0x4DBB || seek.len() >= 64 {
            continue;
        }
        let (mut target, mut position) = (None, None);
        for (cid, v) in children(body) {
            match cid {
                0x53AB => target = uint(v).and_then(|t| u32::try_from(t).ok()),
                0x53AC => position = uint(v),
                _ => {}
            }
        }
        if let (Some(t), Some(p)) = (target, position) {
            seek.push((t, p));
        }
    }
}

fn put_uint(out: &mut EmbeddedMetadata, group: &str, name: &str, body: &[u8]) {
    if let Some(v) = uint(body) {
        out.push(group, name, Value::from(v));
    }
}

fn info(d: &[u8], state: &mut State, out: &mut EmbeddedMetadata) {
    state.have_info = true;
    let g = "Matroska";
    let mut duration = None;
    for (id, body) in children(d) {
        match id {
            0x2AD7B1 => state.scale = uint(body),
            0x4489 => duration = float(body),
            0x4461 => {
                if let Some(ns) = int(body) {
                    // Nanoseconds since 2001-01-01T00:00:00Z.
                    let secs = (ns / 1_000_000_000).saturating_add(978_307_200);
                    out.push(
                        g,
                        "DateTimeOriginal",
                        Value::from(format!("{}Z", media::unix_date(secs))),
                    );
                }
            }
            0x4D80 => out.push(g, "MuxingApp", Value::from(string(body))),
            0x5741 => out.push(g, "WritingApp", Value::from(string(body))),
            0x7BA9 => out.push(g, "Title", Value::from(string(body))),
            _ => {}
        }
    }
    let scale = state.scale.unwrap_or(1_000_000);
    out.push(g, "TimecodeScale", f15(scale as f64 / 1e9));
    if let Some(d) = duration.filter(|d| d.is_finite()) {
        let secs = d * scale as f64 / 1e9;
        out.push(g, "Duration", f15(secs));
        state.duration = Some(secs);
    }
}

fn tracks(d: &[u8], state: &mut State, out: &mut EmbeddedMetadata) {
    state.have_tracks = true;
    for (id, entry) in children(d) {
        if id != 0xAE {
            continue;
        }
        if state.tracks.len() >= MAX_TRACKS {
            out.warn("Matroska: too many tracks");
            return;
        }
        let g = format!("Track{}", state.tracks.len() + 1);
        let mut t = TrackInfo::default();
        let mut name_values: Vec<(&str, Value)> = Vec::new();
        for (cid, body) in children(entry) {
            match cid {
                0xD7 => put_uint(out, &g, "TrackNumber", body),
                0x83 => {
                    t.kind = uint(body);
                    put_uint(out, &g, "TrackType", body);
                }
                0x73C5 => {
                    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
                    out.push(&g, "TrackUID", Value::from(hex));
                }
                0x23E383 => {
                    if let Some(ns) = uint(body).filter(|&n| n > 0) {
                        t.frame_rate = Some(1e9 / ns as f64);
                    }
                }
                0x536E => out.push(&g, "TrackName", Value::from(string(body))),
                0x22B59C => {
                    let lang = string(body);
                    if lang != "eng" {
                        out.push(&g, "TrackLanguage", Value::from(lang));
                    }
                }
                0x86 => t.codec = Some(string(body)),
                0x258688 => name_values.push(("CodecName", Value::from(string(body)))),
                0xE0 => video(body, &g, &mut t, out, 0),
                0xE1 => audio(body, &g, &mut t, out),
                _ => {}
            }
        }
        if let Some(rate) = t.frame_rate.filter(|_| t.kind == Some(1)) {
            out.push(&g, "VideoFrameRate", f15(rate));
        }
        if let Some(codec) = &t.codec {
            let name = match t.kind {
                Some(1) => "VideoCodecID",
                Some(2) => "AudioCodecID",
                _ => "CodecID",
            };
            out.push(&g, name, Value::from(codec.clone()));
        }
        for (name, v) in name_values {
            out.push(&g, name, v);
        }
        state.tracks.push(t);
    }
}

fn video(d: &[u8], g: &str, t: &mut TrackInfo, out: &mut EmbeddedMetadata, depth: u32) {
    if depth > MAX_DEPTH {
        return;
    }
    for (id, body) in children(d) {
        match id {
            0xB0 => {
                t.width = uint(body);
                put_uint(out, g, "ImageWidth", body);
            }
            0xBA => {
                t.height = uint(body);
                put_uint(out, g, "ImageHeight", body);
            }
            0x54B0 => put_uint(out, g, "DisplayWidth", body),
            0x54BA => put_uint(out, g, "DisplayHeight", body),
            0x9A => put_uint(out, g, "VideoScanType", body),
            _ => {}
        }
    }
}

fn audio(d: &[u8], g: &str, t: &mut TrackInfo, out: &mut EmbeddedMetadata) {
    for (id, body) in children(d) {
        match id {
            0xB5 => {
                if let Some(r) = float(body).filter(|r| r.is_finite()) {
                    t.sample_rate = Some(r);
                    out.push(g, "AudioSampleRate", f15(r));
                }
            }
            0x78B5 => {
                if let Some(r) = float(body).filter(|r| r.is_finite()) {
                    out.push(g, "OutputAudioSampleRate", f15(r));
                }
            }
            0x9F => {
                t.channels = uint(body);
                put_uint(out, g, "AudioChannels", body);
            }
            0x6264 => put_uint(out, g, "AudioBitsPerSample", body),
            _ => {}
        }
    }
}

fn finish(state: &State, out: &mut EmbeddedMetadata) {
    let s = &mut out.media;
    s.duration = state.duration;
    if let Some(v) = state.tracks.iter().find(|t| t.kind == Some(1)) {
        s.video_codec = v.codec.as_deref().map(media::matroska_codec);
        s.width = v.width;
        s.height = v.height;
        s.frame_rate = v.frame_rate.map(|r| crate::value::round_sig(r, 10));
    }
    if let Some(a) = state.tracks.iter().find(|t| t.kind == Some(2)) {
        s.audio_codec = a.codec.as_deref().map(media::matroska_codec);
        s.audio_sample_rate = a.sample_rate.filter(|r| *r >= 0.0).map(|r| r as u64);
        s.audio_channels = a.channels;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> EmbeddedMetadata {
        crate::read(&mut std::io::Cursor::new(data), data.len() as u64)
    }

    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.push(0x80 | u8::try_from(body.len()).unwrap_or(0x7F).min(0x7E));
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn vint_sizes() {
        assert_eq!(
            header(&[0x1A, 0x45, 0xDF, 0xA3, 0x81]),
            Some((EBML, Some(1), 5))
        );
        assert_eq!(header(&[0xAE, 0xFF]), Some((0xAE, None, 2)));
        assert_eq!(
            header(&[0xAE, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Some((0xAE, None, 9))
        );
        assert_eq!(header(&[0x00, 0x81]), None);
        assert_eq!(header(&[0xAE, 0x00]), None);
        assert_eq!(header(&[0xAE]), None);
    }

    #[test]
    fn unknown_sizes_and_live_clusters() {
        let mut f = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        // Segment of unknown size, Info, Tracks of unknown size (runs to the end), nested
        // TrackEntry, then a Cluster of unknown size that must not be walked.
        f.extend([
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        f.extend(el(
            &[0x15, 0x49, 0xA9, 0x66],
            &el(&[0x44, 0x89], &2000.0f32.to_be_bytes()),
        ));
        let entry = [
            el(&[0x83], &[1]),
            el(&[0x86], b"V_VP9"),
            el(
                &[0xE0],
                &[el(&[0xB0], &[0x02, 0x80]), el(&[0xBA], &[0x01, 0xE0])].concat(),
            ),
        ]
        .concat();
        f.extend([0x16, 0x54, 0xAE, 0x6B, 0xFF]);
        f.extend(el(&[0xAE], &entry));
        f.extend([0x1F, 0x43, 0xB6, 0x75, 0xFF]);
        f.extend(std::iter::repeat_n(0xA3, 100));
        let out = run(&f);
        let s = out.media_summary().expect("summary");
        assert_eq!(s.duration, Some(2.0));
        assert_eq!(s.video_codec.as_deref(), Some("vp9"));
        assert_eq!((s.width, s.height), (Some(640), Some(480)));
    }

    #[test]
    fn hostile_headers_do_not_panic() {
        let ebml = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        for tail in [
            &[0x18, 0x53, 0x80, 0x67][..],
            &[
                0x18, 0x53, 0x80, 0x67, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x15,
            ][..],
            &[
                0x18, 0x53, 0x80, 0x67, 0x88, 0x15, 0x49, 0xA9, 0x66, 0x01, 0x00, 0x00, 0x00,
            ][..],
            &[0x00, 0x00, 0x00, 0x00][..],
        ] {
            let f = [ebml.as_slice(), tail].concat();
            let out = run(&f);
            let _ = out.media_summary();
        }
        // An EBML header claiming a huge size.
        let _ = run(&[
            0x1A, 0x45, 0xDF, 0xA3, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
        ]);
    }
}
