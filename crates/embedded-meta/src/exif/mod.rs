//! TIFF/EXIF IFD trees: the APP1 "Exif" segment of a JPEG, a PNG eXIf chunk, a WebP or HEIF
//! Exif item, and TIFF files themselves (classic and BigTIFF).
//!
//! IFD0 and the IFDs chained after it are reported as "IFD0", "IFD1" (the thumbnail), "IFD2"...;
//! the ExifIFD, GPS and InteropIFD pointers are followed. Maker notes are not parsed: their
//! layouts are vendor-specific and exiftool reports them in groups Kura does not serve.
//! Every offset is checked against the data, every IFD is visited at most once (a pointer back
//! to an ancestor is a loop, reported and cut), and counts are capped before reading.

mod tags;

use serde_json::Value;

use crate::EmbeddedMetadata;
use crate::source::{Bytes, Sub};
use crate::value::{binary, num, num_text, round_sig};
use crate::{icc, iptc, photoshop, text, xmp};
use tags::Conv;

/// Real IFDs hold a few dozen entries; exiftool itself gives up on IFDs much larger than this.
const MAX_IFD_ENTRIES: u64 = 1024;
const MAX_TOTAL_ENTRIES: u32 = 8192;
/// IFD0 → IFD1 → ... (multi-page TIFFs); longer chains are cut.
const MAX_CHAIN: usize = 64;
const MAX_IFDS: usize = 128;
const MAX_SUB_IFDS: usize = 16;
/// Longest value read for printing; longer ones are truncated with a warning.
const MAX_VALUE_BYTES: u64 = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// IFD0, IFD1, ..., ExifIFD, InteropIFD, SubIFDs: all use exiftool's Exif::Main table.
    Main,
    Gps,
}

struct Walker<'d> {
    data: &'d mut dyn Bytes,
    little: bool,
    base: u64,
    big: bool,
    visited: Vec<u64>,
    entries_left: u32,
}

/// One IFD entry: its type, count and where its value is.
struct Entry {
    id: u16,
    kind: u16,
    count: u64,
    offset: u64,
    size: u64,
}

/// A decoded numeric item: rationals with a zero denominator read as exiftool's "inf"/"undef".
#[derive(Clone, Copy)]
enum Item {
    Int(i64),
    Real(f64),
    Word(&'static str),
}

impl Item {
    fn as_f64(self) -> Option<f64> {
        match self {
            Item::Int(i) => Some(i as f64),
            Item::Real(r) => Some(r),
            Item::Word(_) => None,
        }
    }

    fn text(self) -> String {
        match self {
            Item::Int(i) => i.to_string(),
            Item::Real(r) => num_text(r),
            Item::Word(w) => w.to_owned(),
        }
    }

    fn value(self) -> Value {
        match self {
            Item::Int(i) => Value::from(i),
            Item::Real(r) => num(r),
            Item::Word(w) => Value::from(w),
        }
    }
}

/// Reads the TIFF structure in `data` (starting with "II*\0", "MM\0*" or a BigTIFF header).
/// `base` is where `data` starts in the file: exiftool reports offsets (ThumbnailOffset,
/// StripOffsets) from the start of the file.
pub(crate) fn read(data: &mut dyn Bytes, base: u64, out: &mut EmbeddedMetadata) {
    let Some(head) = data.exact::<16>(0).or_else(|| {
        let mut h = [0u8; 16];
        let short = data.exact::<8>(0)?;
        h[..8].copy_from_slice(&short);
        Some(h)
    }) else {
        out.warn("EXIF: truncated TIFF header");
        return;
    };
    let little = match &head[..2] {
        b"II" => true,
        b"MM" => false,
        _ => {
            out.warn("EXIF: bad byte order mark");
            return;
        }
    };
    let mut w = Walker {
        data,
        little,
        base,
        big: false,
        visited: Vec::new(),
        entries_left: MAX_TOTAL_ENTRIES,
    };
    let first = match w.u16_of(&head[2..4]) {
        42 => u64::from(w.u32_of(&head[4..8])),
        43 if w.u16_of(&head[4..6]) == 8 => {
            w.big = true;
            w.u64_of(&head[8..16])
        }
        _ => {
            out.warn("EXIF: not a TIFF header");
            return;
        }
    };
    let mut next = first;
    let mut index = 0;
    while next != 0 {
        if index >= MAX_CHAIN {
            out.warn("EXIF: too many chained IFDs; the rest were skipped");
            break;
        }
        let group = format!("IFD{index}");
        next = w.ifd(next, &group, Kind::Main, out);
        index += 1;
    }
}

impl Walker<'_> {
    fn u16_of(&self, b: &[u8]) -> u16 {
        let a = [
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ];
        if self.little {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        }
    }

    fn u32_of(&self, b: &[u8]) -> u32 {
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    }

    fn u64_of(&self, b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        }
    }

    /// Reads the IFD at `off` into `group`; returns the offset of the next IFD in the chain
    /// (0 at the end or on any error).
    fn ifd(&mut self, off: u64, group: &str, kind: Kind, out: &mut EmbeddedMetadata) -> u64 {
        if self.visited.contains(&off) {
            out.warn(format!(
                "EXIF: {group} points back to an IFD already read (loop)"
            ));
            return 0;
        }
        if self.visited.len() >= MAX_IFDS {
            out.warn("EXIF: too many IFDs");
            return 0;
        }
        self.visited.push(off);
        let (count, entries_at, entry_len) = if self.big {
            match self.data.exact::<8>(off) {
                Some(c) => (self.u64_of(&c), off.saturating_add(8), 20u64),
                None => {
                    out.warn(format!("EXIF: {group} offset {off} is outside the data"));
                    return 0;
                }
            }
        } else {
            match self.data.exact::<2>(off) {
                Some(c) => (u64::from(self.u16_of(&c)), off.saturating_add(2), 12u64),
                None => {
                    out.warn(format!("EXIF: {group} offset {off} is outside the data"));
                    return 0;
                }
            }
        };
        let mut count = count;
        if count > MAX_IFD_ENTRIES {
            out.warn(format!(
                "EXIF: {group} claims {count} entries; read {MAX_IFD_ENTRIES}"
            ));
            count = MAX_IFD_ENTRIES;
        }
        let mut thumb: (Option<u64>, Option<u64>) = (None, None);
        let mut subs: Vec<(u64, String, Kind)> = Vec::new();
        for i in 0..count {
            if self.entries_left == 0 {
                out.warn("EXIF: too many entries in total; the rest were skipped");
                return 0;
            }
            self.entries_left -= 1;
            let at = entries_at.saturating_add(i.saturating_mul(entry_len));
            let Some(entry) = self.entry(at) else {
                out.warn(format!("EXIF: {group} is truncated"));
                return 0;
            };
            let Some(entry) = entry else {
                continue; // unknown type: exiftool skips such entries too
            };
            if entry
                .offset
                .checked_add(entry.size)
                .is_none_or(|end| end > self.data.size())
            {
                if kind == Kind::Main && tags::main_tag(entry.id).is_some() {
                    out.warn(format!(
                        "EXIF: {group} tag 0x{:04x} points outside the data",
                        entry.id
                    ));
                }
                continue;
            }
            let named = match kind {
                Kind::Main => tags::main_tag(entry.id),
                Kind::Gps => tags::gps_tag(entry.id),
            };
            let Some((name, conv)) = named else {
                continue;
            };
            match conv {
                Conv::Pointer => {
                    for target in self.pointers(&entry) {
                        let (sub_group, sub_kind) = match entry.id {
                            0x8769 => ("ExifIFD".to_owned(), Kind::Main),
                            0x8825 => ("GPS".to_owned(), Kind::Gps),
                            0xa005 => ("InteropIFD".to_owned(), Kind::Main),
                            _ => {
                                let n = subs.iter().filter(|s| s.1.starts_with("SubIFD")).count();
                                let g = if n == 0 {
                                    "SubIFD".to_owned()
                                } else {
                                    format!("SubIFD{n}")
                                };
                                (g, Kind::Main)
                            }
                        };
                        if subs.len() < MAX_SUB_IFDS {
                            subs.push((target, sub_group, sub_kind));
                        }
                    }
                }
                Conv::Embedded => self.embedded(&entry, out),
                _ => {
                    let name = match (entry.id, group) {
                        (0x0201, "IFD1") | (0x0202, "IFD1") => name,
                        (0x0201, _) => "OtherImageStart",
                        (0x0202, _) => "OtherImageLength",
                        _ => name,
                    };
                    if let Some(value) = self.value(&entry, conv, group, out) {
                        if group == "IFD1" && entry.id == 0x0201 {
                            thumb.0 = value.as_u64().map(|v| v.saturating_sub(self.base));
                        }
                        if group == "IFD1" && entry.id == 0x0202 {
                            thumb.1 = value.as_u64();
                        }
                        out.push(group, name, value);
                    }
                }
            }
        }
        if let (Some(start), Some(len)) = thumb
            && len > 0
            && start
                .checked_add(len)
                .is_some_and(|end| end <= self.data.size())
        {
            out.push(group, "ThumbnailImage", binary(len));
        }
        let next_at = entries_at.saturating_add(count.saturating_mul(entry_len));
        let next = if self.big {
            self.data.exact::<8>(next_at).map(|b| self.u64_of(&b))
        } else {
            self.data
                .exact::<4>(next_at)
                .map(|b| u64::from(self.u32_of(&b)))
        };
        for (target, sub_group, sub_kind) in subs {
            self.ifd(target, &sub_group, sub_kind, out);
        }
        // The chain continues only from the top-level IFDs.
        if group.starts_with("IFD") {
            next.unwrap_or(0)
        } else {
            0
        }
    }

    /// The entry at `at`: None when the data ends, Some(None) for an unknown value type.
    fn entry(&mut self, at: u64) -> Option<Option<Entry>> {
        let (id, kind, count, inline_at, inline_len, raw_off) = if self.big {
            let b = self.data.exact::<20>(at)?;
            let count = self.u64_of(&b[4..12]);
            (
                self.u16_of(&b[0..2]),
                self.u16_of(&b[2..4]),
                count,
                at.saturating_add(12),
                8u64,
                self.u64_of(&b[12..20]),
            )
        } else {
            let b = self.data.exact::<12>(at)?;
            (
                self.u16_of(&b[0..2]),
                self.u16_of(&b[2..4]),
                u64::from(self.u32_of(&b[4..8])),
                at.saturating_add(8),
                4u64,
                u64::from(self.u32_of(&b[8..12])),
            )
        };
        let Some(unit) = type_size(kind) else {
            return Some(None);
        };
        let size = count.saturating_mul(unit);
        let offset = if size <= inline_len {
            inline_at
        } else {
            raw_off
        };
        Some(Some(Entry {
            id,
            kind,
            count,
            offset,
            size,
        }))
    }

    fn pointers(&mut self, e: &Entry) -> Vec<u64> {
        let n = e.count.min(MAX_SUB_IFDS as u64);
        let unit = type_size(e.kind).unwrap_or(4);
        let mut found = Vec::new();
        for i in 0..n {
            let at = e.offset.saturating_add(i.saturating_mul(unit));
            let v = match unit {
                8 => self.data.exact::<8>(at).map(|b| self.u64_of(&b)),
                4 => self.data.exact::<4>(at).map(|b| u64::from(self.u32_of(&b))),
                _ => None,
            };
            if let Some(v) = v.filter(|&v| v != 0) {
                found.push(v);
            }
        }
        found
    }

    /// XMP, IPTC, Photoshop and ICC blocks inside a TIFF's IFD0.
    fn embedded(&mut self, e: &Entry, out: &mut EmbeddedMetadata) {
        let mut block = Sub {
            inner: &mut *self.data,
            start: e.offset,
            len: e.size,
        };
        match e.id {
            0x02bc => xmp::read_bytes(&mut block, out),
            0x83bb => iptc::read_bytes(&mut block, out),
            0x8649 => photoshop::read(&mut block, out),
            0x8773 => icc::read(&mut block, out),
            _ => {}
        }
    }

    fn value(
        &mut self,
        e: &Entry,
        conv: Conv,
        group: &str,
        out: &mut EmbeddedMetadata,
    ) -> Option<Value> {
        if conv == Conv::Binary {
            return Some(binary(e.size));
        }
        let want = e.size.min(MAX_VALUE_BYTES);
        if want < e.size {
            out.warn(format!(
                "EXIF: {group} tag 0x{:04x} value of {} bytes truncated",
                e.id, e.size
            ));
        }
        let raw = self
            .data
            .vec_at(e.offset, usize::try_from(want).unwrap_or(0));
        let bytes_like = matches!(e.kind, 1 | 2 | 6 | 7);
        match conv {
            Conv::Bytes if bytes_like => {
                let items: Vec<String> = raw.iter().map(|b| b.to_string()).collect();
                return Some(joined(items));
            }
            Conv::Version if bytes_like => {
                let end = raw.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                return Some(Value::from(text::utf8_or_latin1(raw.get(..end)?)));
            }
            Conv::ExifText => return Some(Value::from(exif_text(&raw, self.little))),
            Conv::Ucs2 if bytes_like => {
                return Some(Value::from(text::utf16(&raw, true).trim_end().to_owned()));
            }
            Conv::CfaPattern if bytes_like => return Some(Value::from(cfa_pattern(&raw))),
            _ => {}
        }
        if e.kind == 2 || (bytes_like && e.kind == 7) {
            let s = text::c_string(&raw);
            return Some(match conv {
                Conv::GpsDate => Value::from(s.replace('-', ":")),
                _ => Value::from(s),
            });
        }
        let mut items = self.items(e.kind, &raw);
        if matches!(e.id, 0x0111 | 0x0144 | 0x0201) {
            let base = i64::try_from(self.base).unwrap_or(0);
            for item in &mut items {
                if let Item::Int(v) = item {
                    *v = v.saturating_add(base);
                }
            }
        }
        let first = items.first().copied();
        Some(match conv {
            Conv::ApexShutter => {
                let v = first?.as_f64()?;
                num(if v.abs() < 100.0 {
                    round_sig(2f64.powf(-v), 15)
                } else {
                    0.0
                })
            }
            Conv::ApexAperture => num(round_sig(2f64.powf(first?.as_f64()? / 2.0), 15)),
            Conv::GpsCoord => {
                let f: Vec<f64> = items.iter().filter_map(|i| i.as_f64()).collect();
                let d = f.first().copied().unwrap_or(0.0);
                let m = f.get(1).copied().unwrap_or(0.0);
                let s = f.get(2).copied().unwrap_or(0.0);
                num(round_sig(d + (m + s / 60.0) / 60.0, 15))
            }
            Conv::GpsTime => Value::from(gps_time(&items)),
            Conv::Offsets => {
                let text = joined_text(&items);
                if text.len() > 32 {
                    binary(text.len() as u64)
                } else {
                    joined_value(&items)
                }
            }
            _ => joined_value(&items),
        })
    }

    fn items(&self, kind: u16, raw: &[u8]) -> Vec<Item> {
        let unit = usize::try_from(type_size(kind).unwrap_or(1)).unwrap_or(1);
        raw.chunks_exact(unit)
            .map(|c| match kind {
                1 | 7 => Item::Int(i64::from(c.first().copied().unwrap_or(0))),
                6 => Item::Int(i64::from(c.first().copied().unwrap_or(0) as i8)),
                3 => Item::Int(i64::from(self.u16_of(c))),
                8 => Item::Int(i64::from(self.u16_of(c) as i16)),
                4 | 13 => Item::Int(i64::from(self.u32_of(c))),
                9 => Item::Int(i64::from(self.u32_of(c) as i32)),
                16 | 18 => Item::Int(i64::try_from(self.u64_of(c)).unwrap_or(i64::MAX)),
                17 => Item::Int(self.u64_of(c) as i64),
                5 => rational(
                    f64::from(self.u32_of(c)),
                    f64::from(self.u32_of(c.get(4..).unwrap_or_default())),
                ),
                10 => rational(
                    f64::from(self.u32_of(c) as i32),
                    f64::from(self.u32_of(c.get(4..).unwrap_or_default()) as i32),
                ),
                11 => Item::Real(round_sig(f64::from(f32::from_bits(self.u32_of(c))), 15)),
                12 => Item::Real(round_sig(f64::from_bits(self.u64_of(c)), 15)),
                _ => Item::Int(0),
            })
            .collect()
    }
}

fn type_size(kind: u16) -> Option<u64> {
    Some(match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => return None,
    })
}

fn rational(n: f64, d: f64) -> Item {
    if d == 0.0 {
        return Item::Word(if n == 0.0 {
            "undef"
        } else if n < 0.0 {
            "-inf"
        } else {
            "inf"
        });
    }
    Item::Real(round_sig(n / d, 10))
}

fn joined(items: Vec<String>) -> Value {
    Value::from(items.join(" "))
}

fn joined_text(items: &[Item]) -> String {
    let parts: Vec<String> = items.iter().map(|i| i.text()).collect();
    parts.join(" ")
}

fn joined_value(items: &[Item]) -> Value {
    match items {
        [] => Value::from(""),
        [one] => one.value(),
        _ => Value::from(joined_text(items)),
    }
}

/// exiftool's ConvertTimeStamp: "hh:mm:ss" with fractional seconds kept, trailing zeros cut.
fn gps_time(items: &[Item]) -> String {
    let f: Vec<f64> = items.iter().filter_map(|i| i.as_f64()).collect();
    let total = (f.first().copied().unwrap_or(0.0) * 60.0 + f.get(1).copied().unwrap_or(0.0))
        * 60.0
        + f.get(2).copied().unwrap_or(0.0);
    if !total.is_finite() || !(0.0..1.0e12).contains(&total) {
        return String::new();
    }
    let h = (total / 3600.0).floor();
    let rest = total - h * 3600.0;
    let m = (rest / 60.0).floor();
    let s = rest - m * 60.0;
    let mut ss = format!("{s:012.9}");
    while ss.ends_with('0') && ss.contains('.') {
        ss.pop();
    }
    if ss.ends_with('.') {
        ss.pop();
    }
    format!("{:02}:{:02}:{ss}", h as u64, m as u64)
}

/// exiftool's ConvertExifText: an 8-byte character code, then the text.
fn exif_text(raw: &[u8], little: bool) -> String {
    let (code, body) = if raw.len() >= 8 {
        raw.split_at(8)
    } else {
        (raw, &[][..])
    };
    let text = if code.starts_with(b"UNICODE") {
        // Byte order is usually the TIFF's; a BOM-less UTF-16 with mostly-zero high bytes in
        // the other order is common enough that exiftool guesses too.
        let le = match body {
            [a, 0, ..] if *a != 0 => true,
            [0, b, ..] if *b != 0 => false,
            _ => little,
        };
        text::utf16(body, le)
    } else if code.iter().all(|&b| b == 0 || b == b' ') || code.starts_with(b"ASCII") {
        text::c_string(body)
    } else {
        text::c_string(raw)
    };
    text.trim_end_matches([' ', '\0']).to_owned()
}

/// exiftool's DecodeCFAPattern with -n: "h v c0 c1 ...".
fn cfa_pattern(raw: &[u8]) -> String {
    let [a, b, c, d, rest @ ..] = raw else {
        return String::new();
    };
    // The repeat sizes are 16-bit in either byte order; the plausible reading wins.
    let (h, v) = {
        let le = (u16::from_le_bytes([*a, *b]), u16::from_le_bytes([*c, *d]));
        let be = (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]));
        if usize::from(le.0) * usize::from(le.1) == rest.len() {
            le
        } else {
            be
        }
    };
    let mut parts = vec![h.to_string(), v.to_string()];
    parts.extend(rest.iter().map(|x| x.to_string()));
    parts.join(" ")
}

#[cfg(test)]
mod tests;
