//! QuickTime / ISO-BMFF movies (MP4, MOV, M4A, 3GP): the `moov` box and what it holds — the
//! movie header, each track's header, media header, handler and first sample description,
//! Apple `keys`/`ilst` metadata, `udta` text atoms and XMP — named as exiftool's QuickTime,
//! Track<n>, UserData, Keys and ItemList groups. `moov` may sit after a multi-gigabyte `mdat`:
//! only box headers are read on the way, and sample tables other than `stsd` and `stts` are
//! skipped, so the cost is the size of `moov`'s headers, not of the file.

use std::io::{Read, Seek};

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::bmff::{BoxHeader, next_box};
use crate::media::{self, f15, mac_date};
use crate::source::{Region, Source};
use crate::value::num_text;
use crate::xmp;

const MAX_BOXES: u32 = 8192;
const MAX_DEPTH: u32 = 12;
const MAX_TRACKS: usize = 64;
/// Leaf boxes read into memory (headers, sample descriptions, keys, ilst): real ones are at
/// most a few KiB; `stts` of a long variable-frame-rate video is the largest, capped here.
const MAX_LEAF: u64 = 1024 * 1024;

#[derive(Default)]
struct Track {
    handler: Option<[u8; 4]>,
    codec: Option<[u8; 4]>,
    width: u64,
    height: u64,
    entry_size: Option<(u64, u64)>,
    rotation: Option<u32>,
    profile: Option<String>,
    media_timescale: u64,
    media_duration: Option<f64>,
    frame_rate: Option<f64>,
    sample_rate: Option<u64>,
    channels: Option<u64>,
    /// MPEG-4 objectTypeIndication from `esds` (0x40 AAC, 0x69/0x6B MP3).
    object_type: Option<u8>,
}

#[derive(Default)]
pub(crate) struct Movie {
    timescale: u64,
    duration: Option<f64>,
    tracks: Vec<Track>,
    media_data_size: u64,
    /// Keys of the current `meta` box (Apple mdta), 1-based in `ilst`.
    keys: Vec<String>,
    meta_handler: Option<[u8; 4]>,
    boxes: u32,
}

fn be(d: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = d.get(at..at.checked_add(n)?)?;
    Some(s.iter().fold(0u64, |acc, &c| (acc << 8) | u64::from(c)))
}

fn fourcc(d: &[u8], at: usize) -> Option<[u8; 4]> {
    d.get(at..at + 4).and_then(|s| s.try_into().ok())
}

fn fourcc_text(k: &[u8; 4]) -> String {
    crate::text::utf8_or_latin1(k)
}

fn fixed(v: u64, frac_bits: u32, bits: u32) -> f64 {
    let signed = if bits < 64 && v >> (bits - 1) & 1 == 1 {
        v as i64 - (1i64 << bits)
    } else {
        v as i64
    };
    signed as f64 / f64::from(1u32 << frac_bits.min(31))
}

/// Called for top-level boxes of an ISO-BMFF file other than HEIF's `meta`.
pub(crate) fn top_level<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &BoxHeader,
    pos: u64,
    movie: &mut Movie,
    out: &mut EmbeddedMetadata,
) {
    match &b.kind {
        b"ftyp" => {
            let len = b.end.saturating_sub(b.body).min(256);
            let d = src.vec_at(b.body, usize::try_from(len).unwrap_or(0));
            if let Some(major) = fourcc(&d, 0) {
                out.push("QuickTime", "MajorBrand", Value::from(fourcc_text(&major)));
            }
            if let (Some(hi), Some(a), Some(c)) = (be(&d, 4, 2), be(&d, 6, 1), be(&d, 7, 1)) {
                out.push(
                    "QuickTime",
                    "MinorVersion",
                    Value::from(format!("{hi}.{a}.{c}")),
                );
            }
            let brands: Vec<Value> = d
                .get(8..)
                .unwrap_or_default()
                .chunks_exact(4)
                .map(|c| Value::from(crate::text::utf8_or_latin1(c)))
                .collect();
            if !brands.is_empty() {
                out.push("QuickTime", "CompatibleBrands", Value::Array(brands));
            }
        }
        b"mdat" => {
            let size = b.end.saturating_sub(b.body);
            movie.media_data_size = movie.media_data_size.saturating_add(size);
            out.push("QuickTime", "MediaDataSize", Value::from(size));
            out.push("QuickTime", "MediaDataOffset", Value::from(b.body));
            let _ = pos;
        }
        b"moov" => walk(src, b.body, b.end, Ctx::Moov, 0, movie, out),
        b"uuid" => {
            const XMP_UUID: [u8; 16] = [
                0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3,
                0xAF, 0xAC,
            ];
            if src.exact::<16>(b.body) == Some(XMP_UUID) {
                let mut region = Region {
                    src: &mut *src,
                    start: b.body + 16,
                    len: b.end.saturating_sub(b.body + 16),
                };
                xmp::read_bytes(&mut region, out);
            }
        }
        _ => {}
    }
}

/// After the top-level walk: Composite tags and the summary.
pub(crate) fn finish(movie: &Movie, out: &mut EmbeddedMetadata) {
    if movie.tracks.is_empty() && movie.duration.is_none() {
        return;
    }
    let video = movie
        .tracks
        .iter()
        .find(|t| t.handler.as_ref() == Some(b"vide"));
    let audio = movie
        .tracks
        .iter()
        .find(|t| t.handler.as_ref() == Some(b"soun"));
    if let Some(r) = video.and_then(|v| v.rotation) {
        out.push("Composite", "Rotation", Value::from(r));
    }
    if let Some(d) = movie.duration.filter(|d| *d > 0.0)
        && movie.media_data_size > 0
    {
        let rate = (movie.media_data_size as f64 * 8.0 / d + 0.5).floor();
        out.push("Composite", "AvgBitrate", media::f15(rate));
    }
    let s = &mut out.media;
    s.duration = movie.duration.or_else(|| {
        movie
            .tracks
            .iter()
            .filter_map(|t| t.media_duration)
            .reduce(f64::max)
    });
    if let Some(v) = video {
        s.video_codec = v.codec.as_ref().map(|c| {
            media::bmff_codec(c).map_or_else(|| fourcc_text(c).trim().to_owned(), str::to_owned)
        });
        let (w, h) = if v.width > 0 && v.height > 0 {
            (v.width, v.height)
        } else {
            v.entry_size.unwrap_or((0, 0))
        };
        s.width = (w > 0).then_some(w);
        s.height = (h > 0).then_some(h);
        s.rotation = v.rotation;
        s.video_profile = v.profile.clone();
        s.frame_rate = v.frame_rate.map(|r| crate::value::round_sig(r, 10));
    }
    if let Some(a) = audio {
        s.audio_codec = a.codec.as_ref().map(|c| {
            let name = match (c, a.object_type) {
                (b"mp4a", Some(0x69 | 0x6B)) => Some("mp3"),
                (b"mp4a", Some(0xA5)) => Some("ac3"),
                (b"mp4a", Some(0xA6)) => Some("eac3"),
                (b"mp4a", Some(0xAD)) => Some("opus"),
                _ => media::bmff_codec(c),
            };
            name.map_or_else(|| fourcc_text(c).trim().to_owned(), str::to_owned)
        });
        s.audio_sample_rate = a.sample_rate;
        s.audio_channels = a.channels;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Moov,
    Trak,
    Mdia,
    Minf,
    Stbl,
    Udta,
    Meta,
    Tref,
    Tapt,
    Gmhd,
}

fn walk<R: Read + Seek>(
    src: &mut Source<'_, R>,
    start: u64,
    end: u64,
    ctx: Ctx,
    depth: u32,
    movie: &mut Movie,
    out: &mut EmbeddedMetadata,
) {
    if depth > MAX_DEPTH {
        out.warn("QuickTime: boxes nested too deeply");
        return;
    }
    let mut pos = start;
    while pos < end {
        let Some(b) = next_box(src, pos, end) else {
            if end.saturating_sub(pos) >= 8 {
                out.warn("QuickTime: malformed or truncated box");
            }
            return;
        };
        movie.boxes += 1;
        if movie.boxes > MAX_BOXES {
            out.warn("QuickTime: too many boxes");
            return;
        }
        if b.end > src.len() {
            out.warn("QuickTime: box runs past the end of the file");
        }
        child(src, &b, ctx, depth, movie, out);
        if b.end <= pos {
            return;
        }
        pos = b.end;
    }
}

fn leaf<R: Read + Seek>(src: &mut Source<'_, R>, b: &BoxHeader) -> Vec<u8> {
    let len = b.end.saturating_sub(b.body).min(MAX_LEAF);
    src.vec_at(b.body, usize::try_from(len).unwrap_or(0))
}

fn track_group(movie: &Movie) -> String {
    format!("Track{}", movie.tracks.len().max(1))
}

fn child<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &BoxHeader,
    ctx: Ctx,
    depth: u32,
    movie: &mut Movie,
    out: &mut EmbeddedMetadata,
) {
    let kind = &b.kind;
    let down = |src: &mut Source<'_, R>,
                movie: &mut Movie,
                out: &mut EmbeddedMetadata,
                start: u64,
                ctx: Ctx| walk(src, start, b.end, ctx, depth + 1, movie, out);
    match (ctx, kind) {
        (Ctx::Moov, b"mvhd") => mvhd(&leaf(src, b), movie, out),
        (Ctx::Moov, b"trak") => {
            if movie.tracks.len() >= MAX_TRACKS {
                out.warn("QuickTime: too many tracks");
                return;
            }
            movie.tracks.push(Track::default());
            down(src, movie, out, b.body, Ctx::Trak);
        }
        (Ctx::Moov, b"udta") => down(src, movie, out, b.body, Ctx::Udta),
        (Ctx::Moov | Ctx::Udta, b"meta") => {
            // ISO meta is a full box; QuickTime's (Apple mdta) is not.
            let start = if src.exact::<4>(b.body + 4) == Some(*b"hdlr") {
                b.body
            } else {
                b.body + 4
            };
            movie.keys.clear();
            movie.meta_handler = None;
            down(src, movie, out, start, Ctx::Meta);
        }
        (Ctx::Trak, b"tkhd") => tkhd(&leaf(src, b), movie, out),
        (Ctx::Trak, b"mdia") => down(src, movie, out, b.body, Ctx::Mdia),
        (Ctx::Trak, b"tref") => down(src, movie, out, b.body, Ctx::Tref),
        (Ctx::Trak, b"tapt") => down(src, movie, out, b.body, Ctx::Tapt),
        (Ctx::Tref, b"cdsc") => {
            let d = leaf(src, b);
            if let Some(id) = be(&d, 0, 4) {
                out.push(&track_group(movie), "ContentDescribes", Value::from(id));
            }
        }
        (Ctx::Tapt, b"clef" | b"prof" | b"enof") => {
            let d = leaf(src, b);
            let name = match kind {
                b"clef" => "CleanApertureDimensions",
                b"prof" => "ProductionApertureDimensions",
                _ => "EncodedPixelsDimensions",
            };
            if let (Some(w), Some(h)) = (be(&d, 4, 4), be(&d, 8, 4)) {
                let text = format!(
                    "{} {}",
                    num_text(fixed(w, 16, 32)),
                    num_text(fixed(h, 16, 32))
                );
                out.push(&track_group(movie), name, Value::from(text));
            }
        }
        (Ctx::Mdia, b"mdhd") => mdhd(&leaf(src, b), movie, out),
        (Ctx::Mdia | Ctx::Minf, b"hdlr") => hdlr(&leaf(src, b), ctx == Ctx::Mdia, movie, out),
        (Ctx::Mdia, b"minf") => down(src, movie, out, b.body, Ctx::Minf),
        (Ctx::Minf, b"vmhd") => {
            let d = leaf(src, b);
            let g = track_group(movie);
            if let Some(m) = be(&d, 4, 2) {
                out.push(&g, "GraphicsMode", Value::from(m));
            }
            if let (Some(r), Some(gr), Some(bl)) = (be(&d, 6, 2), be(&d, 8, 2), be(&d, 10, 2)) {
                out.push(&g, "OpColor", Value::from(format!("{r} {gr} {bl}")));
            }
        }
        (Ctx::Minf, b"smhd") => {
            let d = leaf(src, b);
            if let Some(v) = be(&d, 4, 2) {
                out.push(&track_group(movie), "Balance", f15(fixed(v, 8, 16)));
            }
        }
        (Ctx::Minf, b"gmhd") => down(src, movie, out, b.body, Ctx::Gmhd),
        (Ctx::Gmhd, b"gmin") => {
            let d = leaf(src, b);
            let g = track_group(movie);
            if let (Some(v), Some(f)) = (be(&d, 0, 1), d.get(1..4)) {
                out.push(&g, "GenMediaVersion", Value::from(v));
                let flags = format!("{} {} {}", f[0], f[1], f[2]);
                out.push(&g, "GenFlags", Value::from(flags));
            }
            if let Some(m) = be(&d, 4, 2) {
                out.push(&g, "GenGraphicsMode", Value::from(m));
            }
            if let (Some(r), Some(gr), Some(bl)) = (be(&d, 6, 2), be(&d, 8, 2), be(&d, 10, 2)) {
                out.push(&g, "GenOpColor", Value::from(format!("{r} {gr} {bl}")));
            }
            if let Some(v) = be(&d, 12, 2) {
                out.push(&g, "GenBalance", f15(fixed(v, 8, 16)));
            }
        }
        (Ctx::Minf, b"stbl") => down(src, movie, out, b.body, Ctx::Stbl),
        (Ctx::Stbl, b"stsd") => stsd(&leaf(src, b), movie, out),
        (Ctx::Stbl, b"stts") => stts(src, b, movie, out),
        (Ctx::Udta, b"XMP_") => {
            let mut region = Region {
                src: &mut *src,
                start: b.body,
                len: b.end.saturating_sub(b.body),
            };
            xmp::read_bytes(&mut region, out);
        }
        (Ctx::Udta, _) => udta_item(kind, &leaf(src, b), out),
        (Ctx::Meta, b"hdlr") => {
            let d = leaf(src, b);
            if let Some(t) = fourcc(&d, 8) {
                movie.meta_handler = Some(t);
                out.push("QuickTime", "HandlerType", Value::from(fourcc_text(&t)));
            }
        }
        (Ctx::Meta, b"keys") => keys(&leaf(src, b), movie),
        (Ctx::Meta, b"ilst") => ilst(&leaf(src, b), movie, out),
        _ => {}
    }
}

fn mvhd(d: &[u8], movie: &mut Movie, out: &mut EmbeddedMetadata) {
    let Some(version) = be(d, 0, 1) else { return };
    let (n, rest) = if version == 1 { (8, 28) } else { (4, 16) };
    let (Some(create), Some(modify), Some(scale), Some(dur)) = (
        be(d, 4, n),
        be(d, 4 + n, n),
        be(d, 4 + 2 * n, 4),
        be(d, 8 + 2 * n, n),
    ) else {
        out.warn("QuickTime: truncated movie header");
        return;
    };
    let g = "QuickTime";
    out.push(g, "MovieHeaderVersion", Value::from(version));
    out.push(g, "CreateDate", Value::from(mac_date(create)));
    out.push(g, "ModifyDate", Value::from(mac_date(modify)));
    out.push(g, "TimeScale", Value::from(scale));
    movie.timescale = scale;
    let secs = |v: u64| {
        if scale == 0 {
            v as f64
        } else {
            v as f64 / scale as f64
        }
    };
    if scale == 0 {
        out.warn("QuickTime: movie time scale is 0");
    } else {
        movie.duration = Some(secs(dur));
    }
    out.push(g, "Duration", f15(secs(dur)));
    let at = 4 + rest;
    if let Some(rate) = be(d, at, 4) {
        out.push(g, "PreferredRate", f15(fixed(rate, 16, 32)));
    }
    if let Some(vol) = be(d, at + 4, 2) {
        out.push(g, "PreferredVolume", f15(fixed(vol, 8, 16)));
    }
    if let Some(m) = matrix(d, at + 16) {
        out.push(g, "MatrixStructure", Value::from(m.0));
    }
    let names = [
        "PreviewTime",
        "PreviewDuration",
        "PosterTime",
        "SelectionTime",
        "SelectionDuration",
        "CurrentTime",
    ];
    for (i, name) in names.iter().enumerate() {
        if let Some(v) = be(d, at + 52 + 4 * i, 4) {
            out.push(g, name, f15(secs(v)));
        }
    }
    if let Some(next) = be(d, at + 76, 4) {
        out.push(g, "NextTrackID", Value::from(next));
    }
}

/// The 3x3 matrix as exiftool prints it, and the rotation it implies (clockwise degrees).
fn matrix(d: &[u8], at: usize) -> Option<(String, f64)> {
    let mut v = [0f64; 9];
    for (i, slot) in v.iter_mut().enumerate() {
        let raw = be(d, at + 4 * i, 4)?;
        *slot = if i % 3 == 2 {
            fixed(raw, 30, 32)
        } else {
            fixed(raw, 16, 32)
        };
    }
    let text = v
        .iter()
        .map(|x| num_text(crate::value::round_sig(*x, 15)))
        .collect::<Vec<_>>()
        .join(" ");
    let angle = v[1].atan2(v[0]).to_degrees();
    Some((text, angle))
}

fn tkhd(d: &[u8], movie: &mut Movie, out: &mut EmbeddedMetadata) {
    let Some(version) = be(d, 0, 1) else { return };
    let n = if version == 1 { 8 } else { 4 };
    let g = track_group(movie);
    out.push(&g, "TrackHeaderVersion", Value::from(version));
    let (Some(create), Some(modify), Some(id), Some(dur)) = (
        be(d, 4, n),
        be(d, 4 + n, n),
        be(d, 4 + 2 * n, 4),
        be(d, 12 + 2 * n, n),
    ) else {
        out.warn("QuickTime: truncated track header");
        return;
    };
    out.push(&g, "TrackCreateDate", Value::from(mac_date(create)));
    out.push(&g, "TrackModifyDate", Value::from(mac_date(modify)));
    out.push(&g, "TrackID", Value::from(id));
    let scale = movie.timescale;
    let secs = if scale == 0 {
        dur as f64
    } else {
        dur as f64 / scale as f64
    };
    out.push(&g, "TrackDuration", f15(secs));
    let at = 12 + 3 * n + 8;
    if let Some(layer) = be(d, at, 2) {
        out.push(&g, "TrackLayer", f15(fixed(layer, 0, 16)));
    }
    if let Some(vol) = be(d, at + 4, 2) {
        out.push(&g, "TrackVolume", f15(fixed(vol, 8, 16)));
    }
    let m = matrix(d, at + 8);
    if let Some((text, _)) = &m {
        out.push(&g, "MatrixStructure", Value::from(text.clone()));
    }
    let w = be(d, at + 44, 4).map_or(0.0, |v| fixed(v, 16, 32));
    let h = be(d, at + 48, 4).map_or(0.0, |v| fixed(v, 16, 32));
    if w != 0.0 && h != 0.0 {
        out.push(&g, "ImageWidth", f15(w));
        out.push(&g, "ImageHeight", f15(h));
    }
    if let Some(t) = movie.tracks.last_mut() {
        if w > 0.0 && h > 0.0 {
            t.width = w.round() as u64;
            t.height = h.round() as u64;
        }
        t.rotation = m.map(|(_, a)| {
            let deg = a.round().rem_euclid(360.0);
            (deg as u32) % 360
        });
    }
}

fn mdhd(d: &[u8], movie: &mut Movie, out: &mut EmbeddedMetadata) {
    let Some(version) = be(d, 0, 1) else { return };
    let n = if version == 1 { 8 } else { 4 };
    let g = track_group(movie);
    out.push(&g, "MediaHeaderVersion", Value::from(version));
    let (Some(create), Some(modify), Some(scale), Some(dur)) = (
        be(d, 4, n),
        be(d, 4 + n, n),
        be(d, 4 + 2 * n, 4),
        be(d, 8 + 2 * n, n),
    ) else {
        out.warn("QuickTime: truncated media header");
        return;
    };
    out.push(&g, "MediaCreateDate", Value::from(mac_date(create)));
    out.push(&g, "MediaModifyDate", Value::from(mac_date(modify)));
    out.push(&g, "MediaTimeScale", Value::from(scale));
    if scale == 0 {
        out.warn("QuickTime: media time scale is 0");
        out.push(&g, "MediaDuration", Value::from(dur));
    } else {
        let secs = dur as f64 / scale as f64;
        out.push(&g, "MediaDuration", f15(secs));
        if let Some(t) = movie.tracks.last_mut() {
            t.media_duration = Some(secs);
        }
    }
    if let Some(t) = movie.tracks.last_mut() {
        t.media_timescale = scale;
    }
    if let Some(lang) = be(d, 8 + 3 * n, 2).filter(|&l| l != 0) {
        let code = if lang < 0x400 {
            lang.to_string()
        } else {
            (0..3)
                .map(|i| char::from(((lang >> (10 - 5 * i)) & 31) as u8 + 0x60))
                .collect()
        };
        out.push(&g, "MediaLanguageCode", Value::from(code));
    }
}

fn hdlr(d: &[u8], in_mdia: bool, movie: &mut Movie, out: &mut EmbeddedMetadata) {
    let g = track_group(movie);
    let track_has = |name: &str, out: &EmbeddedMetadata| out.get(&g, name).is_some();
    // The media handler (mdia) describes the track; the data handler that QuickTime files put
    // in minf only fills what is missing, as exiftool mostly reports.
    let put = |name: &str, v: Value, out: &mut EmbeddedMetadata| {
        if in_mdia || !track_has(name, out) {
            out.push(&g, name, v);
        }
    };
    if let Some(class) = fourcc(d, 4).filter(|c| c != &[0; 4]) {
        put("HandlerClass", Value::from(fourcc_text(&class)), out);
    }
    if let Some(t) = fourcc(d, 8) {
        put("HandlerType", Value::from(fourcc_text(&t)), out);
        if in_mdia && let Some(track) = movie.tracks.last_mut() {
            track.handler = Some(t);
        }
    }
    if let Some(v) = fourcc(d, 12).filter(|c| c != &[0; 4]) {
        put("HandlerVendorID", Value::from(fourcc_text(&v)), out);
    }
    let name = d.get(24..).unwrap_or_default();
    // QuickTime writes a Pascal string, MP4 a C string.
    let name = match name.split_first() {
        Some((&n, rest))
            if usize::from(n) <= rest.len() && (n < 0x20 || usize::from(n) == rest.len()) =>
        {
            rest.get(..usize::from(n)).unwrap_or_default()
        }
        _ => name,
    };
    let name = crate::text::c_string(name);
    let name = name.trim();
    if !name.is_empty() {
        put("HandlerDescription", Value::from(name), out);
    }
}

fn stsd(d: &[u8], movie: &mut Movie, out: &mut EmbeddedMetadata) {
    // version/flags, entry count, then the first entry only.
    let Some(size) = be(d, 8, 4).and_then(|s| usize::try_from(s).ok()) else {
        return;
    };
    let Some(format) = fourcc(d, 12) else { return };
    let e = d
        .get(8..8usize.saturating_add(size).min(d.len()))
        .unwrap_or_default();
    let g = track_group(movie);
    let handler = movie.tracks.last().and_then(|t| t.handler);
    if let Some(t) = movie.tracks.last_mut() {
        t.codec = Some(format);
    }
    match handler.as_ref() {
        Some(b"vide") => {
            out.push(&g, "CompressorID", Value::from(fourcc_text(&format)));
            if let Some(v) = fourcc(e, 20).filter(|v| v != &[0; 4]) {
                out.push(&g, "VendorID", Value::from(fourcc_text(&v)));
            }
            let (w, h) = (be(e, 32, 2), be(e, 34, 2));
            if let (Some(w), Some(h)) = (w, h) {
                out.push(&g, "SourceImageWidth", Value::from(w));
                out.push(&g, "SourceImageHeight", Value::from(h));
                if let Some(t) = movie.tracks.last_mut() {
                    t.entry_size = Some((w, h));
                }
            }
            if let (Some(x), Some(y)) = (be(e, 36, 4), be(e, 40, 4)) {
                out.push(&g, "XResolution", f15(fixed(x, 16, 32)));
                out.push(&g, "YResolution", f15(fixed(y, 16, 32)));
            }
            if let Some(&n) = e.get(50) {
                let name = e.get(51..51 + usize::from(n.min(31))).unwrap_or_default();
                let name = crate::text::c_string(name);
                if !name.trim().is_empty() {
                    out.push(&g, "CompressorName", Value::from(name.trim()));
                }
            }
            if let Some(depth) = be(e, 82, 2) {
                out.push(&g, "BitDepth", Value::from(depth));
            }
            // Child boxes: the decoder configuration names the profile.
            let mut pos = 86usize;
            while let Some(len) = be(e, pos, 4).and_then(|l| usize::try_from(l).ok()) {
                if len < 8 {
                    break;
                }
                let body = e
                    .get(pos + 8..pos.saturating_add(len).min(e.len()))
                    .unwrap_or_default();
                let profile = match e.get(pos + 4..pos + 8) {
                    Some(b"avcC") => body.get(1).and_then(|&p| media::avc_profile(p)),
                    Some(b"hvcC") => body.get(1).and_then(|&p| media::hevc_profile(p & 31)),
                    _ => None,
                };
                if let (Some(p), Some(t)) = (profile, movie.tracks.last_mut()) {
                    t.profile = Some(p.to_owned());
                }
                pos = pos.saturating_add(len);
            }
        }
        Some(b"soun") => {
            out.push(&g, "AudioFormat", Value::from(fourcc_text(&format)));
            if let Some(v) = fourcc(e, 20).filter(|v| v != &[0; 4]) {
                out.push(&g, "AudioVendorID", Value::from(fourcc_text(&v)));
            }
            let version = be(e, 16, 2).unwrap_or(0);
            let (channels, bits, rate, children) = if version == 2 {
                (
                    be(e, 48, 4),
                    be(e, 56, 4),
                    be(e, 40, 8).map(f64::from_bits),
                    72usize,
                )
            } else {
                (
                    be(e, 24, 2),
                    be(e, 26, 2),
                    be(e, 32, 4).map(|r| (r >> 16) as f64),
                    if version == 1 { 52 } else { 36 },
                )
            };
            if let Some(c) = channels {
                out.push(&g, "AudioChannels", Value::from(c));
            }
            if let Some(b) = bits {
                out.push(&g, "AudioBitsPerSample", Value::from(b));
            }
            if let Some(r) = rate.filter(|r| r.is_finite()) {
                out.push(&g, "AudioSampleRate", f15(r));
            }
            if let Some(t) = movie.tracks.last_mut() {
                t.channels = channels;
                t.sample_rate = rate
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .map(|r| r as u64);
            }
            audio_children(e.get(children..).unwrap_or_default(), 0, movie, &g, out);
        }
        Some(b"meta") => out.push(&g, "MetaFormat", Value::from(fourcc_text(&format))),
        _ => {}
    }
}

fn audio_children(d: &[u8], depth: u32, movie: &mut Movie, g: &str, out: &mut EmbeddedMetadata) {
    let mut pos = 0usize;
    while depth < 3
        && let Some(len) = be(d, pos, 4).and_then(|l| usize::try_from(l).ok())
    {
        if len < 8 {
            break;
        }
        let body = d
            .get(pos + 8..pos.saturating_add(len).min(d.len()))
            .unwrap_or_default();
        match d.get(pos + 4..pos + 8) {
            Some(b"chan") => {
                if let Some(tag) = be(body, 4, 4).filter(|&t| t != 0) {
                    out.push(g, "LayoutFlags", Value::from(tag >> 16));
                    out.push(g, "AudioChannels", Value::from(tag & 0xFFFF));
                    if let Some(t) = movie.tracks.last_mut() {
                        t.channels = Some(tag & 0xFFFF);
                    }
                }
            }
            Some(b"wave") => audio_children(body, depth + 1, movie, g, out),
            Some(b"frma") => {
                if let Some(f) = fourcc(body, 0) {
                    out.push(g, "PurchaseFileFormat", Value::from(fourcc_text(&f)));
                }
            }
            Some(b"esds") => {
                // ES_Descriptor (tag 3) > DecoderConfigDescriptor (tag 4): objectTypeIndication.
                if let Some(i) = body.iter().skip(4).position(|&c| c == 4)
                    && let Some(ot) = esds_object_type(body.get(4 + i..).unwrap_or_default())
                    && let Some(t) = movie.tracks.last_mut()
                {
                    t.object_type = Some(ot);
                }
            }
            _ => {}
        }
        pos = pos.saturating_add(len);
    }
}

/// The objectTypeIndication after a DecoderConfigDescriptor tag (4) and its length bytes.
fn esds_object_type(d: &[u8]) -> Option<u8> {
    if d.first() != Some(&4) {
        return None;
    }
    let mut i = 1;
    while d.get(i).is_some_and(|&b| b & 0x80 != 0) && i < 4 {
        i += 1;
    }
    d.get(i + 1).copied()
}

fn stts<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &BoxHeader,
    movie: &mut Movie,
    out: &mut EmbeddedMetadata,
) {
    let Some(t) = movie.tracks.last() else { return };
    if t.handler.as_ref() != Some(b"vide") || t.media_timescale == 0 {
        return;
    }
    let scale = t.media_timescale;
    let d = leaf(src, b);
    let count = be(&d, 4, 4).unwrap_or(0);
    let (mut num, mut dur) = (0f64, 0f64);
    for i in 0..count.min(MAX_LEAF / 8) as usize {
        let (Some(n), Some(delta)) = (be(&d, 8 + 8 * i, 4), be(&d, 12 + 8 * i, 4)) else {
            break;
        };
        num += n as f64;
        dur += n as f64 * delta as f64;
    }
    if num > 0.0 && dur > 0.0 {
        let rate = num * scale as f64 / dur;
        out.push(&track_group(movie), "VideoFrameRate", f15(rate));
        if let Some(t) = movie.tracks.last_mut() {
            t.frame_rate = Some(rate);
        }
    }
}

/// QuickTime user data: "©xxx" text atoms (16-bit length, 16-bit language, text).
fn udta_item(kind: &[u8; 4], d: &[u8], out: &mut EmbeddedMetadata) {
    let name = match kind {
        b"\xa9xyz" => "GPSCoordinates",
        b"\xa9nam" => "Title",
        b"\xa9ART" => "Artist",
        b"\xa9alb" => "Album",
        b"\xa9day" => "ContentCreateDate",
        b"\xa9cmt" => "Comment",
        b"\xa9des" => "Description",
        b"\xa9too" => "Encoder",
        b"\xa9swr" => "SoftwareVersion",
        b"\xa9mak" => "Make",
        b"\xa9mod" => "Model",
        b"\xa9inf" => "Information",
        b"\xa9fmt" => "Format",
        b"\xa9cpy" => "Copyright",
        b"\xa9aut" => "Author",
        b"\xa9wrt" => "Composer",
        b"\xa9dir" => "Director",
        b"\xa9prd" => "Producer",
        b"\xa9req" => "Requirements",
        b"\xa9src" => "SourceCredits",
        b"\xa9gen" => "Genre",
        b"\xa9key" => "Keywords",
        b"\xa9TIM" => "StartTimecode",
        b"\xa9TSC" => "StartTimeScale",
        b"\xa9TSZ" => "StartTimeSampleSize",
        b"SDLN" => "PlayMode",
        _ => return,
    };
    let text = if kind[0] == 0xA9 {
        let Some(len) = be(d, 0, 2).and_then(|l| usize::try_from(l).ok()) else {
            return;
        };
        // Some writers put a plain string here instead (no length/language prefix).
        match d.get(4..4 + len) {
            Some(t) if len + 4 <= d.len() => crate::text::c_string(t),
            _ => crate::text::c_string(d),
        }
    } else {
        crate::text::c_string(d)
    };
    let value = if name == "GPSCoordinates" {
        iso6709(&text).unwrap_or(text)
    } else {
        text
    };
    out.push("UserData", name, Value::from(value));
}

/// "+51.4169-000.0806/" → "51.4169 -0.0806" (exiftool's ConvertISO6709, decimal form).
fn iso6709(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut i = 0;
    while parts.len() < 3 && matches!(b.get(i), Some(b'+' | b'-')) {
        let start = i;
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            i += 1;
        }
        let v: f64 = s.get(start..i)?.parse().ok()?;
        parts.push(num_text(v));
    }
    (parts.len() >= 2).then(|| parts.join(" "))
}

fn keys(d: &[u8], movie: &mut Movie) {
    let count = be(d, 4, 4).unwrap_or(0);
    let mut pos = 8usize;
    movie.keys.clear();
    for _ in 0..count.min(4096) {
        let Some(size) = be(d, pos, 4).and_then(|s| usize::try_from(s).ok()) else {
            return;
        };
        if size < 8 {
            return;
        }
        let key = d
            .get(pos + 8..pos.saturating_add(size).min(d.len()))
            .unwrap_or_default();
        movie.keys.push(crate::text::utf8_or_latin1(key));
        pos = pos.saturating_add(size);
    }
}

fn key_name(key: &str) -> String {
    let known = match key {
        "com.apple.quicktime.location.ISO6709" => "GPSCoordinates",
        "com.apple.quicktime.creationdate" => "CreationDate",
        "com.apple.quicktime.content.identifier" => "ContentIdentifier",
        "com.android.version" => "AndroidVersion",
        "com.android.capture.fps" => "AndroidCaptureFPS",
        "com.android.manufacturer" => "AndroidMake",
        "com.android.model" => "AndroidModel",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let short = key
        .strip_prefix("com.apple.quicktime.")
        .or_else(|| key.strip_prefix("com.apple."))
        .or_else(|| key.strip_prefix("com.android."))
        .unwrap_or(key);
    short
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn item_list_name(kind: &[u8]) -> Option<&'static str> {
    Some(match kind {
        b"\xa9nam" => "Title",
        b"\xa9ART" => "Artist",
        b"aART" => "AlbumArtist",
        b"\xa9alb" => "Album",
        b"\xa9day" => "ContentCreateDate",
        b"\xa9gen" => "Genre",
        b"gnre" => "Genre",
        b"\xa9cmt" => "Comment",
        b"\xa9too" => "Encoder",
        b"\xa9wrt" => "Composer",
        b"\xa9grp" => "Grouping",
        b"\xa9lyr" => "Lyrics",
        b"desc" => "Description",
        b"ldes" => "LongDescription",
        b"cprt" => "Copyright",
        b"trkn" => "TrackNumber",
        b"disk" => "DiskNumber",
        b"covr" => "CoverArt",
        b"tmpo" => "BeatsPerMinute",
        b"\xa9xyz" => "GPSCoordinates",
        _ => return None,
    })
}

fn ilst(d: &[u8], movie: &Movie, out: &mut EmbeddedMetadata) {
    let mdta = movie.meta_handler.as_ref() == Some(b"mdta");
    let mut pos = 0usize;
    let mut n = 0;
    while let Some(size) = be(d, pos, 4).and_then(|s| usize::try_from(s).ok()) {
        n += 1;
        if size < 8 || n > 4096 {
            break;
        }
        let item = d
            .get(pos..pos.saturating_add(size).min(d.len()))
            .unwrap_or_default();
        let kind = item.get(4..8).unwrap_or_default();
        let (group, name) = if mdta {
            let index = be(kind, 0, 4).unwrap_or(0) as usize;
            match index.checked_sub(1).and_then(|i| movie.keys.get(i)) {
                Some(key) => ("Keys", key_name(key)),
                None => {
                    pos = pos.saturating_add(size);
                    continue;
                }
            }
        } else {
            match item_list_name(kind) {
                Some(n) => ("ItemList", n.to_owned()),
                None => {
                    pos = pos.saturating_add(size);
                    continue;
                }
            }
        };
        if let Some(v) = data_value(item.get(8..).unwrap_or_default(), &name) {
            out.push(group, &name, v);
        }
        pos = pos.saturating_add(size);
    }
}

/// The first `data` box of an ilst item, typed by its well-known type.
fn data_value(d: &[u8], name: &str) -> Option<Value> {
    let size = usize::try_from(be(d, 0, 4)?).ok()?;
    if d.get(4..8) != Some(b"data") || size < 16 {
        return None;
    }
    let kind = be(d, 8, 4)? & 0x00FF_FFFF;
    let v = d.get(16..size.min(d.len()))?;
    let int = |v: &[u8], signed: bool| {
        let u = be(v, 0, v.len().min(8))?;
        Some(
            if signed && !v.is_empty() && v.len() < 8 && v[0] & 0x80 != 0 {
                Value::from(u as i64 - (1i64 << (8 * v.len())))
            } else {
                Value::from(u)
            },
        )
    };
    Some(match kind {
        1 => {
            let text = crate::text::utf8_or_latin1(v);
            match name {
                "GPSCoordinates" => Value::from(iso6709(&text).unwrap_or(text)),
                "CreationDate" => Value::from(iso_date(&text)),
                _ => Value::from(text),
            }
        }
        2 => Value::from(crate::text::utf16(v, false)),
        21 => int(v, true)?,
        22 => int(v, false)?,
        23 => f15(f64::from(f32::from_bits(u32::try_from(be(v, 0, 4)?).ok()?))),
        24 => f15(f64::from_bits(be(v, 0, 8)?)),
        0 if matches!(name, "TrackNumber" | "DiskNumber") => {
            Value::from(format!("{} {}", be(v, 2, 2)?, be(v, 4, 2)?))
        }
        13 | 14 | 27 => crate::value::binary(v.len() as u64),
        _ => return None,
    })
}

/// "2019-07-24T11:25:40+0300" → "2019:07:24 11:25:40+03:00".
fn iso_date(s: &str) -> String {
    let b = s.as_bytes();
    if !s.get(..19).is_some_and(|p| p.is_ascii())
        || b.get(4) != Some(&b'-')
        || b.get(10) != Some(&b'T')
    {
        return s.to_owned();
    }
    let mut out = String::with_capacity(25);
    out.push_str(&s[..4]);
    out.push(':');
    out.push_str(&s[5..7]);
    out.push(':');
    out.push_str(&s[8..10]);
    out.push(' ');
    out.push_str(&s[11..19]);
    let zone = &s[19..];
    let digits: String = zone.chars().filter(char::is_ascii_digit).collect();
    match zone.chars().next() {
        Some(c @ ('+' | '-')) if digits.len() == 4 => {
            out.push(c);
            out.push_str(&digits[..2]);
            out.push(':');
            out.push_str(&digits[2..]);
        }
        _ => out.push_str(zone),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn run(data: &[u8]) -> EmbeddedMetadata {
        crate::read(&mut std::io::Cursor::new(data), data.len() as u64)
    }

    fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
        bx(kind, &[&[version, 0, 0, 0][..], body].concat())
    }

    fn movie(mdhd_scale: u32) -> Vec<u8> {
        let mut mvhd = vec![0u8; 96];
        mvhd[8..12].copy_from_slice(&600u32.to_be_bytes());
        mvhd[12..16].copy_from_slice(&1200u32.to_be_bytes());
        let mut tkhd = vec![0u8; 80];
        tkhd[72..76].copy_from_slice(&(640u32 << 16).to_be_bytes());
        tkhd[76..80].copy_from_slice(&(480u32 << 16).to_be_bytes());
        let mut mdhd = vec![0u8; 20];
        mdhd[8..12].copy_from_slice(&mdhd_scale.to_be_bytes());
        mdhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        let mut hdlr = vec![0u8; 20];
        hdlr[4..8].copy_from_slice(b"vide");
        let mut entry = vec![0u8; 78];
        entry[24..26].copy_from_slice(&640u16.to_be_bytes());
        entry[26..28].copy_from_slice(&480u16.to_be_bytes());
        let avcc = bx(b"avcC", &[1, 100, 0, 40]);
        let sample = bx(b"avc1", &[entry, avcc].concat());
        let stsd = full(b"stsd", 0, &[&1u32.to_be_bytes()[..], &sample].concat());
        let stbl = bx(b"stbl", &stsd);
        let minf = bx(b"minf", &stbl);
        let mdia = bx(
            b"mdia",
            &[full(b"mdhd", 0, &mdhd), full(b"hdlr", 0, &hdlr), minf].concat(),
        );
        let trak = bx(b"trak", &[full(b"tkhd", 0, &tkhd), mdia].concat());
        bx(b"moov", &[full(b"mvhd", 0, &mvhd), trak].concat())
    }

    #[test]
    fn minimal_movie_summary() {
        let f = [bx(b"ftyp", b"isom\0\0\0\0isom"), movie(1000)].concat();
        let out = run(&f);
        let s = out.media_summary().expect("summary");
        assert_eq!(s.duration, Some(2.0));
        assert_eq!(s.video_codec.as_deref(), Some("h264"));
        assert_eq!(s.video_profile.as_deref(), Some("High"));
        assert_eq!((s.width, s.height), (Some(640), Some(480)));
        assert_eq!(s.rotation, Some(0));
    }

    #[test]
    fn zero_time_scale_and_truncation() {
        let f = [bx(b"ftyp", b"isom\0\0\0\0"), movie(0)].concat();
        let out = run(&f);
        assert!(out.warnings.iter().any(|w| w.contains("time scale is 0")));
        assert!(out.media_summary().is_some());
        for cut in (0..f.len()).step_by(3) {
            let out = run(&f[..cut]);
            let _ = (out.media_summary(), out.flat());
        }
    }

    #[test]
    fn size_zero_and_one_boxes() {
        // Size 0: the box runs to the end of the file (a moov written last).
        let mut moov = movie(1000);
        moov[..4].copy_from_slice(&[0, 0, 0, 0]);
        let f = [bx(b"ftyp", b"isom\0\0\0\0"), moov.clone()].concat();
        assert_eq!(run(&f).media_summary().and_then(|s| s.duration), Some(2.0));
        // Size 1: a 64-bit size follows; here a huge one, and one smaller than its header.
        let mut big = vec![0, 0, 0, 1];
        big.extend(b"mdat");
        big.extend(u64::MAX.to_be_bytes());
        let out = run(&[bx(b"ftyp", b"isom\0\0\0\0"), big, moov.clone()].concat());
        assert!(out.media_summary().is_none());
        let mut tiny = vec![0, 0, 0, 1];
        tiny.extend(b"moov");
        tiny.extend(3u64.to_be_bytes());
        let out = run(&[bx(b"ftyp", b"isom\0\0\0\0"), tiny].concat());
        assert!(!out.warnings.is_empty());
        // A child box claiming more than its parent, and one of size 4.
        let mut bad = movie(1000);
        bad[8..12].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
        let _ = run(&[bx(b"ftyp", b"isom\0\0\0\0"), bad].concat());
        let mut four = movie(1000);
        four[8..12].copy_from_slice(&4u32.to_be_bytes());
        let out = run(&[bx(b"ftyp", b"isom\0\0\0\0"), four].concat());
        assert!(!out.warnings.is_empty());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            iso6709("+51.4169-000.0806/").as_deref(),
            Some("51.4169 -0.0806")
        );
        assert_eq!(
            iso6709("+32.0929+034.8620+028.516/").as_deref(),
            Some("32.0929 34.862 28.516")
        );
        assert_eq!(
            iso_date("2019-07-24T11:25:40+0300"),
            "2019:07:24 11:25:40+03:00"
        );
        assert_eq!(iso_date("2019-07-24T11:25"), "2019-07-24T11:25");
        assert_eq!(key_name("com.apple.quicktime.make"), "Make");
        assert_eq!(
            key_name("com.apple.quicktime.live-photo.auto"),
            "LivePhotoAuto"
        );
        assert_eq!(fixed(0xFFFF_0000, 16, 32), -1.0);
    }
}
