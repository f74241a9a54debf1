//! WebP (RIFF): the EXIF, "XMP " and ICCP chunks.

use std::io::{Read, Seek};

use serde_json::Value;

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

/// WAV (RIFF WAVE): the `fmt ` chunk, the duration from the `data` chunk's size, and LIST/INFO
/// text, as exiftool's RIFF group and Composite:Duration. The audio data is never read.
pub(crate) fn read_wave<R: Read + Seek>(src: &mut Source<'_, R>, out: &mut EmbeddedMetadata) {
    let Some(riff_len) = src.exact::<4>(4).map(u32::from_le_bytes) else {
        return;
    };
    let end = (u64::from(riff_len) + 8).min(src.len());
    let g = "RIFF";
    let mut pos = 12u64;
    let mut n = 0u32;
    let (mut format, mut channels, mut rate, mut bytes_per_sec, mut bits) =
        (None, None, None, None, None);
    let mut data_len = None;
    while pos.saturating_add(8) <= end {
        n += 1;
        if n > MAX_CHUNKS {
            out.warn("WAV: too many chunks");
            break;
        }
        let Some(h) = src.exact::<8>(pos) else { break };
        let len = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let at = pos + 8;
        if at.saturating_add(len) > src.len() && &h[..4] != b"data" {
            out.warn("WAV: chunk runs past the end of the file");
        }
        match &h[..4] {
            b"fmt " => {
                let d = src.vec_at(at, 40);
                let u16_at = |i: usize| d.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
                let u32_at = |i: usize| {
                    d.get(i..i + 4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                };
                format = u16_at(0);
                channels = u16_at(2);
                rate = u32_at(4);
                bytes_per_sec = u32_at(8);
                bits = u16_at(14);
                if format == Some(0xFFFE) {
                    // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag.
                    format = u16_at(24).or(format);
                }
                let fields = [
                    ("Encoding", u16_at(0).map(u32::from)),
                    ("NumChannels", channels.map(u32::from)),
                    ("SampleRate", rate),
                    ("AvgBytesPerSec", bytes_per_sec),
                    ("BitsPerSample", bits.map(u32::from)),
                ];
                for (name, v) in fields {
                    if let Some(v) = v {
                        out.push(g, name, Value::from(v));
                    }
                }
            }
            b"data" => {
                if at.saturating_add(len) > src.len() {
                    out.warn("WAV: data chunk runs past the end of the file");
                }
                data_len = Some(len.min(src.len().saturating_sub(at)));
            }
            b"LIST" if src.exact::<4>(at) == Some(*b"INFO") => {
                let d = src.vec_at(
                    at + 4,
                    usize::try_from(len.saturating_sub(4).min(64 * 1024)).unwrap_or(0),
                );
                info(&d, out);
            }
            _ => {}
        }
        pos = at.saturating_add(len).saturating_add(len & 1);
    }
    let Some(bps) = bytes_per_sec.filter(|&b| b > 0) else {
        return;
    };
    // exiftool divides the file's size (headers included); the summary uses the data chunk.
    let file_secs = src.len() as f64 / f64::from(bps);
    out.push("Composite", "Duration", crate::media::f15(file_secs));
    let duration = data_len.map(|l| l as f64 / f64::from(bps));
    let s = &mut out.media;
    s.duration = duration;
    s.bit_rate = Some(u64::from(bps) * 8);
    s.audio_sample_rate = rate.map(u64::from);
    s.audio_channels = channels.map(u64::from);
    s.audio_codec = Some(match (format, bits) {
        (Some(1), Some(8)) => "pcm_u8".into(),
        (Some(1), Some(b)) => format!("pcm_s{b}le"),
        (Some(3), Some(64)) => "pcm_f64le".into(),
        (Some(3), _) => "pcm_f32le".into(),
        (Some(6), _) => "pcm_alaw".into(),
        (Some(7), _) => "pcm_mulaw".into(),
        (Some(2), _) => "adpcm_ms".into(),
        (Some(0x11), _) => "adpcm_ima_wav".into(),
        (Some(0x55), _) => "mp3".into(),
        (Some(f), _) => format!("0x{f:04x}"),
        (None, _) => "unknown".into(),
    });
}

fn info(d: &[u8], out: &mut EmbeddedMetadata) {
    let mut pos = 0usize;
    let mut n = 0;
    while let Some(h) = d.get(pos..pos + 8) {
        n += 1;
        if n > 256 {
            break;
        }
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let body = d
            .get(pos + 8..(pos + 8).saturating_add(len).min(d.len()))
            .unwrap_or_default();
        let name = match &h[..4] {
            b"INAM" => "Title",
            b"IART" => "Artist",
            b"ICMT" => "Comment",
            b"ICRD" => "DateCreated",
            b"ISFT" => "Software",
            b"ICOP" => "Copyright",
            b"IGNR" => "Genre",
            b"IPRD" => "Product",
            b"IKEY" => "Keywords",
            b"IENG" => "Engineer",
            b"ISBJ" => "Subject",
            b"ITRK" | b"IPRT" => "TrackNumber",
            _ => "",
        };
        if !name.is_empty() {
            out.push("RIFF", name, Value::from(crate::text::c_string(body)));
        }
        pos = (pos + 8).saturating_add(len).saturating_add(len & 1);
    }
}
