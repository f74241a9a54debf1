//! Content sniffing for uploads.
//!
//! The type of an upload is decided from its bytes, never from its name: the name is chosen by the
//! uploader, and a `.jpg` that is really an SVG with a script (or HTML) is the classic stored-XSS
//! route. Only headers are read. Payloads are skipped by seeking and every read whose size comes
//! from the file is capped, so a few-kilobyte pixel flood or a file that lies about its chunk
//! sizes costs no more than an honest one. Malformed input never yields an error: the caller gets
//! the best guess the bytes allow, and only failures of the underlying reader are reported.

use std::io::{self, Read, Seek, SeekFrom};

/// What [`probe`] learned about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// IANA media type, e.g. "image/jpeg", "application/pdf", "application/octet-stream".
    pub mime: &'static str,
    /// Short format name like ImageKit's `format` search field ("jpg", "png", "pdf", ...), or ""
    /// when unknown.
    pub format: &'static str,
    /// Some(..) only for images: width/height in pixels as stored (no EXIF rotation applied).
    pub dimensions: Option<(u32, u32)>,
    /// True when the image carries an alpha channel or transparency. Always false for non-images.
    pub has_alpha: bool,
}

/// Formats that Kura can deliver as images; everything else (PSD included) is a plain file.
const IMAGE_FORMATS: &[&str] = &[
    "jpg", "png", "gif", "webp", "avif", "heic", "heif", "tiff", "bmp", "svg", "ico",
];

impl Probe {
    /// ImageKit's fileType: true for the image formats (what becomes fileType "image").
    pub fn is_image(&self) -> bool {
        IMAGE_FORMATS.contains(&self.format)
    }

    fn image(
        mime: &'static str,
        format: &'static str,
        dimensions: Option<(u32, u32)>,
        has_alpha: bool,
    ) -> Self {
        Probe {
            mime,
            format,
            dimensions,
            has_alpha,
        }
    }

    fn other(mime: &'static str, format: &'static str) -> Self {
        Probe {
            mime,
            format,
            dimensions: None,
            has_alpha: false,
        }
    }

    fn unknown() -> Self {
        Self::other("application/octet-stream", "")
    }
}

/// Identifies `reader`'s content from its bytes. `len` is the total byte length.
///
/// Reads only what it needs, seeking over large segments and boxes. Unknown or corrupt data gives
/// the best sniff it can (a truncated JPEG whose SOF cannot be reached is still image/jpeg with
/// dimensions None); only real I/O errors return Err.
pub fn probe<R: Read + Seek>(reader: &mut R, len: u64) -> io::Result<Probe> {
    if len == 0 {
        return Ok(Probe::unknown());
    }
    let mut src = Src::new(reader, len);
    let magic = src.vec_at(0, MAGIC_LEN)?;
    if let Some(found) = sniff_binary(&mut src, &magic)? {
        return Ok(found);
    }
    let head = if magic.len() < MAGIC_LEN {
        magic
    } else {
        src.vec_at(0, MARKUP_SCAN)?
    };
    Ok(sniff_text(&head, len))
}

// Every bound below exists so that the cost of a probe is independent of what the file claims.
// They are far above what real files need (a JPEG rarely has more than a few dozen segments
// before its SOF, a HEIF a few dozen properties), so hitting one means hostile or broken input.

/// Real files need a few hundred KiB and a few hundred reads at most (a JPEG with an ICC profile
/// split over many segments, a GIF scanned for transparency).
const READ_BUDGET_BYTES: u64 = 4 * 1024 * 1024;
const READ_BUDGET_CALLS: u32 = 2048;
/// Enough for every magic number checked here, including tar's at offset 257.
const MAGIC_LEN: usize = 512;
/// Read-ahead window used for the many small reads of marker and block walks.
const WINDOW: usize = 8 * 1024;
/// How far the SVG/HTML/XML prolog and root tag are looked for.
const MARKUP_SCAN: usize = 64 * 1024;
/// How much must look like text for text/plain.
const TEXT_SCAN: usize = 8 * 1024;
/// How far ZIP local file headers are looked at to spot OOXML and ODF.
const ZIP_SCAN: usize = 64 * 1024;
const EBML_SCAN: usize = 4 * 1024;
/// ICC profiles span at most 255 segments and extended XMP a few hundred.
const JPEG_MAX_SEGMENTS: u32 = 1024;
const JPEG_MAX_LOOSE_BYTES: u64 = 64 * 1024;
const PNG_MAX_CHUNKS: u32 = 1024;
const GIF_MAX_BLOCKS: u32 = 4096;
const GIF_MAX_SCAN: u64 = 256 * 1024;
const BMFF_MAX_BOXES: u32 = 1024;
const BMFF_MAX_PROPS: usize = 4096;
/// Cap on `ipma` tables, which are read whole; iPhone files with 48 tiles need ~1 KiB.
const BMFF_MAX_TABLE: u64 = 256 * 1024;
const BMFF_MAX_ITEMS: usize = 1024;
const TIFF_MAX_ENTRIES: u64 = 1024;
const ICO_MAX_ENTRIES: usize = 1024;
const ID3_MAX_TAGS: u32 = 4;

const ALPHA_URNS: &[&[u8]] = &[
    b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    b"urn:mpeg:hevc:2015:auxid:1",
];

/// Positional reads over the caller's reader, bounded by `len`.
///
/// The caller's `len` is trusted as an upper bound only: a reader that ends early just looks
/// truncated, because "shorter than announced" is a property of the content, not an I/O failure.
struct Src<'a, R> {
    reader: &'a mut R,
    len: u64,
    /// Where the reader is known to be, so that short hops use `seek_relative`: a `BufReader`
    /// keeps its buffer for those, while an absolute seek always throws it away.
    cursor: Option<u64>,
    window: Vec<u8>,
    window_start: u64,
    /// Whatever the per-format walks do, a probe never asks for more than this; with a caller's
    /// `BufReader`, each call may cost a buffer refill, hence the call budget too.
    budget_bytes: u64,
    budget_calls: u32,
}

impl<'a, R: Read + Seek> Src<'a, R> {
    fn new(reader: &'a mut R, len: u64) -> Self {
        Src {
            reader,
            len,
            cursor: None,
            window: Vec::new(),
            window_start: 0,
            budget_bytes: READ_BUDGET_BYTES,
            budget_calls: READ_BUDGET_CALLS,
        }
    }

    /// Up to `max` bytes from `off`; shorter only at the end of the data.
    fn vec_at(&mut self, off: u64, max: usize) -> io::Result<Vec<u8>> {
        let available = usize::try_from(self.len.saturating_sub(off)).unwrap_or(usize::MAX);
        let mut buf = vec![0; max.min(available)];
        let n = self.read_at(off, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Exactly `N` bytes from `off`, or None when the data ends first.
    fn exact<const N: usize>(&mut self, off: u64) -> io::Result<Option<[u8; N]>> {
        if N > WINDOW {
            let v = self.vec_at(off, N)?;
            return Ok(v.as_slice().try_into().ok());
        }
        if self.cached(off, N).is_none() {
            self.fill(off)?;
        }
        Ok(self.cached(off, N).and_then(|s| s.try_into().ok()))
    }

    fn byte_at(&mut self, off: u64) -> io::Result<Option<u8>> {
        Ok(self.exact::<1>(off)?.map(|[b]| b))
    }

    fn cached(&self, off: u64, n: usize) -> Option<&[u8]> {
        let start = usize::try_from(off.checked_sub(self.window_start)?).ok()?;
        slice(&self.window, start, n)
    }

    fn fill(&mut self, off: u64) -> io::Result<()> {
        let mut window = std::mem::take(&mut self.window);
        window.resize(WINDOW, 0);
        let n = self.read_at(off, &mut window);
        self.window = window;
        let n = n?;
        self.window.truncate(n);
        self.window_start = off;
        Ok(())
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let available = usize::try_from(self.len.saturating_sub(off)).unwrap_or(usize::MAX);
        let budget = usize::try_from(self.budget_bytes).unwrap_or(usize::MAX);
        let want = buf.len().min(available).min(budget);
        // An exhausted budget reads as the end of the data, so every parser stops the way it
        // does on a truncated file.
        if want == 0 || self.budget_calls == 0 {
            return Ok(0);
        }
        self.budget_calls -= 1;
        self.budget_bytes -= want as u64;
        let result = self.read_at_unchecked(off, buf.get_mut(..want).unwrap_or_default());
        // After an error the reader's position is unknown.
        self.cursor = result.as_ref().ok().map(|&n| off.saturating_add(n as u64));
        result
    }

    fn read_at_unchecked(&mut self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
        let hop = self
            .cursor
            .and_then(|cur| i64::try_from(i128::from(off) - i128::from(cur)).ok());
        match hop {
            Some(0) => {}
            Some(delta) => self.reader.seek_relative(delta)?,
            None => {
                self.reader.seek(SeekFrom::Start(off))?;
            }
        }
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            match self.reader.read(rest) {
                Ok(0) => break,
                Ok(n) => done = done.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done.min(buf.len()))
    }
}

fn sniff_binary<R: Read + Seek>(src: &mut Src<'_, R>, m: &[u8]) -> io::Result<Option<Probe>> {
    if m.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Some(jpeg(src)?));
    }
    if m.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Some(png(src)?));
    }
    if m.starts_with(b"GIF87a") || m.starts_with(b"GIF89a") {
        return Ok(Some(gif(src)?));
    }
    if m.starts_with(b"RIFF") {
        return match m.get(8..12) {
            Some(b"WEBP") => Ok(Some(webp(src)?)),
            Some(b"WAVE") => Ok(Some(Probe::other("audio/wav", "wav"))),
            Some(b"AVI ") => Ok(Some(Probe::other("video/x-msvideo", "avi"))),
            _ => Ok(None),
        };
    }
    if m.get(4..8) == Some(b"ftyp") {
        return bmff(src, m);
    }
    if let Some(found) = tiff(src, m)? {
        return Ok(Some(found));
    }
    if let Some(found) = bmp(m) {
        return Ok(Some(found));
    }
    if let Some(found) = ico(src, m)? {
        return Ok(Some(found));
    }
    if m.starts_with(b"%PDF-") {
        return Ok(Some(Probe::other("application/pdf", "pdf")));
    }
    if m.starts_with(b"PK\x03\x04") {
        return Ok(Some(zip(src)?));
    }
    if m.starts_with(b"PK\x05\x06") || m.starts_with(b"PK\x07\x08") {
        // Empty or spanned archives have no local header worth looking at.
        return Ok(Some(Probe::other("application/zip", "zip")));
    }
    if m.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Some(ebml(src)?));
    }
    // Several signatures below are plain ASCII, so each also checks a header field that text
    // cannot contain; otherwise a note starting "ID3 tags..." would become audio.
    if m.starts_with(b"OggS") && m.get(4) == Some(&0) {
        return Ok(Some(ogg(m)));
    }
    // STREAMINFO (type 0) must be the first metadata block.
    if m.starts_with(b"fLaC") && m.get(4).is_some_and(|b| b & 0x7F == 0) {
        return Ok(Some(Probe::other("audio/flac", "flac")));
    }
    if is_id3(m) {
        return Ok(Some(after_id3(src)?));
    }
    if m.starts_with(b"8BPS") && matches!(be16(m, 4), Some(1 | 2)) {
        return Ok(Some(Probe::other("image/vnd.adobe.photoshop", "psd")));
    }
    if let Some(found) = simple_magic(m) {
        return Ok(Some(found));
    }
    if let Some(found) = mpeg_audio(src, m)? {
        return Ok(Some(found));
    }
    if is_bare_quicktime(m, src.len) {
        return Ok(Some(Probe::other("video/quicktime", "mov")));
    }
    Ok(None)
}

/// Archives and fonts: a signature plus, for the ASCII ones, a field text would not contain.
fn simple_magic(m: &[u8]) -> Option<Probe> {
    const TABLE: &[(&[u8], &str, &str)] = &[
        (b"\x1F\x8B\x08", "application/gzip", "gz"),
        (b"7z\xBC\xAF\x27\x1C", "application/x-7z-compressed", "7z"),
        (b"Rar!\x1A\x07\x00", "application/vnd.rar", "rar"),
        (b"Rar!\x1A\x07\x01\x00", "application/vnd.rar", "rar"),
        (b"\xFD7zXZ\x00", "application/x-xz", "xz"),
        (b"\x28\xB5\x2F\xFD", "application/zstd", "zst"),
    ];
    if let Some((_, mime, format)) = TABLE.iter().find(|(sig, _, _)| m.starts_with(sig)) {
        return Some(Probe::other(mime, format));
    }
    // The block magic (pi) or the empty-stream end marker (sqrt(pi)) follows the level digit.
    if m.starts_with(b"BZh")
        && m.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        && matches!(m.get(4..10), Some(b"1AY&SY" | b"\x17\x72\x45\x38\x50\x90"))
    {
        return Some(Probe::other("application/x-bzip2", "bz2"));
    }
    if m.get(257..262) == Some(b"ustar") {
        return Some(Probe::other("application/x-tar", "tar"));
    }
    // WOFF and WOFF2 headers have a reserved 16-bit zero at offset 14.
    if m.get(14..16) == Some(&[0, 0]) {
        match m.get(..4) {
            Some(b"wOFF") => return Some(Probe::other("font/woff", "woff")),
            Some(b"wOF2") => return Some(Probe::other("font/woff2", "woff2")),
            _ => {}
        }
    }
    if m.starts_with(b"ttcf") && matches!(be32(m, 4), Some(0x0001_0000 | 0x0002_0000)) {
        return Some(Probe::other("font/collection", "ttc"));
    }
    // An sfnt table directory: a plausible table count and a printable first table tag.
    let sfnt = be16(m, 4).is_some_and(|n| (1..=512).contains(&n))
        && slice(m, 12, 4).is_some_and(|t| t.iter().all(|c| (0x20..0x7F).contains(c)));
    if sfnt && m.starts_with(b"OTTO") {
        return Some(Probe::other("font/otf", "otf"));
    }
    if sfnt && (m.starts_with(&[0, 1, 0, 0]) || m.starts_with(b"true")) {
        return Some(Probe::other("font/ttf", "ttf"));
    }
    None
}

/// An ID3v2 header: known major version and a synchsafe size (high bit of each byte clear).
fn is_id3(m: &[u8]) -> bool {
    m.starts_with(b"ID3")
        && matches!(m.get(3), Some(2..=4))
        && m.get(6..10)
            .is_some_and(|size| size.iter().all(|b| b & 0x80 == 0))
}

// ---------------------------------------------------------------------------------------------
// JPEG

fn jpeg<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let dims = jpeg_dims(src)?;
    Ok(Probe::image("image/jpeg", "jpg", dims, false))
}

fn jpeg_dims<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Option<(u32, u32)>> {
    let mut pos = 2u64;
    // Bytes that are not part of a length-prefixed segment: stray bytes, fill bytes and
    // standalone markers. Bounding them keeps a file of nothing but 0xFF (or FF 00 pairs) from
    // being scanned to the end.
    let mut loose = 0u64;
    let mut segments = 0u32;
    loop {
        if loose > JPEG_MAX_LOOSE_BYTES {
            return Ok(None);
        }
        let Some(b) = src.byte_at(pos)? else {
            return Ok(None);
        };
        pos += 1;
        if b != 0xFF {
            // libjpeg tolerates stray bytes between segments ("extraneous bytes before marker"),
            // and broken encoders do emit them, so resynchronise on the next 0xFF.
            loose += 1;
            continue;
        }
        let Some(marker) = src.byte_at(pos)? else {
            return Ok(None);
        };
        pos += 1;
        match marker {
            // Fill byte: the marker code is still to come.
            0xFF => {
                pos -= 1;
                loose += 1;
                continue;
            }
            // A stuffed zero, a restart marker, TEM or a repeated SOI carry no length.
            0x00 | 0x01 | 0xD0..=0xD8 => {
                loose += 2;
                continue;
            }
            // Scan data or the end before any frame header: the size is not knowable.
            0xD9 | 0xDA => return Ok(None),
            _ => {}
        }
        segments += 1;
        if segments > JPEG_MAX_SEGMENTS {
            return Ok(None);
        }
        let Some(len) = src.exact::<2>(pos)? else {
            return Ok(None);
        };
        let len = u16::from_be_bytes(len);
        if len < 2 {
            return Ok(None);
        }
        if is_sof(marker) {
            let Some([_precision, h1, h0, w1, w0]) = src.exact::<5>(pos + 2)? else {
                return Ok(None);
            };
            let height = u16::from_be_bytes([h1, h0]);
            let width = u16::from_be_bytes([w1, w0]);
            // Height 0 means "defined later by a DNL marker", which would need the scan decoded.
            return Ok(nonzero(u32::from(width), u32::from(height)));
        }
        pos += u64::from(len);
    }
}

fn is_sof(marker: u8) -> bool {
    // C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but are not frame headers.
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

// ---------------------------------------------------------------------------------------------
// PNG

fn png<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let mut off = 8u64;
    let mut dims = None;
    let mut alpha = false;
    let mut seen_header = false;
    for _ in 0..PNG_MAX_CHUNKS {
        let Some(head) = src.exact::<8>(off)? else {
            break;
        };
        let [l0, l1, l2, l3, t0, t1, t2, t3] = head;
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        match &[t0, t1, t2, t3] {
            b"IHDR" if !seen_header => {
                seen_header = true;
                if let Some(ihdr) = src.exact::<13>(off.saturating_add(8))? {
                    let width = be32(&ihdr, 0).unwrap_or(0);
                    let height = be32(&ihdr, 4).unwrap_or(0);
                    dims = nonzero(width, height);
                    // Colour types 4 and 6 are grey+alpha and RGBA.
                    alpha = matches!(ihdr.get(9), Some(4 | 6));
                }
            }
            // Transparency only counts when it applies to the image data, i.e. precedes it.
            b"tRNS" => alpha = true,
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        if seen_header && alpha {
            break;
        }
        // Chunk payloads, zTXt bombs included, are skipped unread.
        off = off.saturating_add(u64::from(len)).saturating_add(12);
    }
    Ok(Probe::image("image/png", "png", dims, alpha))
}

// ---------------------------------------------------------------------------------------------
// GIF

fn gif<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let Some(header) = src.exact::<13>(0)? else {
        return Ok(Probe::image("image/gif", "gif", None, false));
    };
    let width = le16(&header, 6).unwrap_or(0);
    let height = le16(&header, 8).unwrap_or(0);
    let dims = nonzero(u32::from(width), u32::from(height));
    let mut pos = 13u64;
    if let Some(&flags) = header.get(10) {
        pos += gif_color_table(flags);
    }
    // libvips (and so ImageKit) reports alpha when any frame declares a transparent index, not
    // just the first, so the walk continues over frames; it is bounded because frame floods of
    // tens of thousands of 1x1 frames exist.
    let mut alpha = false;
    for _ in 0..GIF_MAX_BLOCKS {
        if pos > GIF_MAX_SCAN {
            break;
        }
        match src.byte_at(pos)? {
            Some(0x21) => {
                let Some([label, size]) = src.exact::<2>(pos + 1)? else {
                    break;
                };
                if label == 0xF9 && size >= 4 {
                    let flags = src.byte_at(pos + 3)?.unwrap_or(0);
                    if flags & 1 != 0 {
                        alpha = true;
                        break;
                    }
                }
                match gif_skip_sub_blocks(src, pos + 2)? {
                    Some(next) => pos = next,
                    None => break,
                }
            }
            Some(0x2C) => {
                let Some(descriptor) = src.exact::<9>(pos + 1)? else {
                    break;
                };
                pos += 10;
                if let Some(&flags) = descriptor.get(8) {
                    pos += gif_color_table(flags);
                }
                // Skip the LZW minimum code size byte; the frame data follows as sub-blocks.
                match gif_skip_sub_blocks(src, pos + 1)? {
                    Some(next) => pos = next,
                    None => break,
                }
            }
            _ => break,
        }
    }
    Ok(Probe::image("image/gif", "gif", dims, alpha))
}

fn gif_color_table(flags: u8) -> u64 {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 7) + 1)
    }
}

fn gif_skip_sub_blocks<R: Read + Seek>(
    src: &mut Src<'_, R>,
    mut pos: u64,
) -> io::Result<Option<u64>> {
    while pos <= GIF_MAX_SCAN {
        let Some(n) = src.byte_at(pos)? else {
            return Ok(None);
        };
        pos += 1 + u64::from(n);
        if n == 0 {
            return Ok(Some(pos));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// WebP

fn webp<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let chunk = src.vec_at(12, 30)?;
    let (dims, alpha) = match chunk.get(0..4) {
        Some(b"VP8X") => {
            let flags = chunk.get(8).copied().unwrap_or(0);
            let width = le24(&chunk, 12).map(|w| w + 1);
            let height = le24(&chunk, 15).map(|h| h + 1);
            let dims = width.zip(height);
            (dims, flags & 0x10 != 0)
        }
        Some(b"VP8L") if chunk.get(8) == Some(&0x2F) => match le32(&chunk, 9) {
            Some(bits) => {
                let width = (bits & 0x3FFF) + 1;
                let height = ((bits >> 14) & 0x3FFF) + 1;
                (Some((width, height)), (bits >> 28) & 1 != 0)
            }
            None => (None, false),
        },
        Some(b"VP8 ") if slice(&chunk, 11, 3) == Some(&[0x9D, 0x01, 0x2A]) => {
            let width = le16(&chunk, 14).map(|w| u32::from(w & 0x3FFF));
            let height = le16(&chunk, 16).map(|h| u32::from(h & 0x3FFF));
            let dims = width.zip(height).and_then(|(w, h)| nonzero(w, h));
            (dims, false)
        }
        _ => (None, false),
    };
    Ok(Probe::image("image/webp", "webp", dims, alpha))
}

// ---------------------------------------------------------------------------------------------
// ISO base media file format: AVIF, HEIC/HEIF, MP4, MOV

fn bmff<R: Read + Seek>(src: &mut Src<'_, R>, m: &[u8]) -> io::Result<Option<Probe>> {
    let size = be32(m, 0).unwrap_or(0);
    let body_len = usize::try_from(size)
        .unwrap_or(0)
        .saturating_sub(8)
        .min(256);
    let body = m.get(8..).unwrap_or_default();
    let body = body.get(..body_len).unwrap_or(body);
    let Some(major) = arr::<4>(body, 0) else {
        return Ok(None);
    };
    let compat: Vec<[u8; 4]> = body
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(4)
        .filter_map(|c| c.try_into().ok())
        .collect();
    let found = match classify_brands(major, &compat) {
        Brand::Image(mime, format) => {
            let (dims, alpha) = heif_image(src)?;
            Probe::image(mime, format, dims, alpha)
        }
        Brand::Other(mime, format) => Probe::other(mime, format),
        Brand::Unknown => Probe::unknown(),
    };
    Ok(Some(found))
}

enum Brand {
    Image(&'static str, &'static str),
    Other(&'static str, &'static str),
    Unknown,
}

const AVIF: Brand = Brand::Image("image/avif", "avif");
const HEIC: Brand = Brand::Image("image/heic", "heic");
const HEIF: Brand = Brand::Image("image/heif", "heif");
const MP4: Brand = Brand::Other("video/mp4", "mp4");

fn is_avif_brand(b: &[u8; 4]) -> bool {
    matches!(b, b"avif" | b"avis")
}

fn is_heic_brand(b: &[u8; 4]) -> bool {
    matches!(b, b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx")
}

fn is_mp4_brand(b: &[u8; 4]) -> bool {
    b.starts_with(b"iso")
        || matches!(
            b,
            b"mp41"
                | b"mp42"
                | b"mp71"
                | b"avc1"
                | b"dash"
                | b"msnv"
                | b"MSNV"
                | b"f4v "
                | b"f4p "
                | b"mmp4"
                | b"XAVC"
                | b"NDAS"
                | b"M4V "
                | b"M4VH"
                | b"M4VP"
        )
}

fn classify_brands(major: [u8; 4], compat: &[[u8; 4]]) -> Brand {
    if is_avif_brand(&major) {
        return AVIF;
    }
    if is_heic_brand(&major) {
        return HEIC;
    }
    match &major {
        // Generic HEIF brands: the codec-specific compatible brand says what is inside, in the
        // writer's order of preference; without one it is plain HEIF.
        b"mif1" | b"msf1" | b"miaf" => {
            for b in compat {
                if is_avif_brand(b) {
                    return AVIF;
                }
                if is_heic_brand(b) {
                    return HEIC;
                }
            }
            return HEIF;
        }
        b"qt  " => return Brand::Other("video/quicktime", "mov"),
        b"M4A " | b"M4B " | b"M4P " => return Brand::Other("audio/mp4", "m4a"),
        b"M4V " | b"M4VH" | b"M4VP" => return Brand::Other("video/mp4", "m4v"),
        _ => {}
    }
    if major.starts_with(b"3gp") {
        return Brand::Other("video/3gpp", "3gp");
    }
    if major.starts_with(b"3g2") {
        return Brand::Other("video/3gpp2", "3g2");
    }
    if compat.contains(b"qt  ") {
        return Brand::Other("video/quicktime", "mov");
    }
    if is_mp4_brand(&major) || compat.iter().any(is_mp4_brand) {
        return MP4;
    }
    // CR3, JPEG 2000 family and other ISO-BMFF formats that Kura has no name for.
    Brand::Unknown
}

#[derive(Clone, Copy)]
struct BoxInfo {
    kind: [u8; 4],
    body: u64,
    end: u64,
}

impl BoxInfo {
    fn body_len(&self) -> u64 {
        self.end.saturating_sub(self.body)
    }
}

fn next_box<R: Read + Seek>(
    src: &mut Src<'_, R>,
    off: u64,
    parent_end: u64,
) -> io::Result<Option<BoxInfo>> {
    if off >= parent_end {
        return Ok(None);
    }
    let Some([s0, s1, s2, s3, t0, t1, t2, t3]) = src.exact::<8>(off)? else {
        return Ok(None);
    };
    let (header, size) = match u32::from_be_bytes([s0, s1, s2, s3]) {
        0 => (8, parent_end - off),
        1 => match src.exact::<8>(off.saturating_add(8))? {
            Some(large) => (16, u64::from_be_bytes(large)),
            None => return Ok(None),
        },
        n => (8, u64::from(n)),
    };
    if size < header {
        return Ok(None);
    }
    // A box running past its parent is truncated, not fatal: keep what lies inside.
    let end = off.saturating_add(size).min(parent_end);
    let body = off.saturating_add(header);
    if body > end {
        return Ok(None);
    }
    Ok(Some(BoxInfo {
        kind: [t0, t1, t2, t3],
        body,
        end,
    }))
}

/// Calls `f` for each box in `[start, end)` until it returns false.
fn each_box<R: Read + Seek>(
    src: &mut Src<'_, R>,
    start: u64,
    end: u64,
    mut f: impl FnMut(&mut Src<'_, R>, BoxInfo) -> io::Result<bool>,
) -> io::Result<()> {
    let mut off = start;
    for _ in 0..BMFF_MAX_BOXES {
        let Some(b) = next_box(src, off, end)? else {
            break;
        };
        if !f(src, b)? {
            break;
        }
        off = b.end;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prop {
    Ispe(u32, u32),
    Irot(u8),
    AlphaAux,
    Other,
}

#[derive(Default)]
struct HeifMeta {
    primary: Option<u32>,
    props: Vec<Prop>,
    ipma: Vec<Vec<u8>>,
}

fn heif_image<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<(Option<(u32, u32)>, bool)> {
    let mut meta = None;
    let mut moov = None;
    let len = src.len;
    each_box(src, 0, len, |_, b| {
        match &b.kind {
            b"meta" => meta = meta.or(Some(b)),
            b"moov" => moov = moov.or(Some(b)),
            _ => {}
        }
        Ok(meta.is_none() || moov.is_none())
    })?;
    let mut info = HeifMeta::default();
    if let Some(meta) = meta {
        // `meta` is a FullBox: version and flags precede the children.
        read_heif_meta(src, meta.body.saturating_add(4), meta.end, &mut info)?;
    }
    let prop = |index: u16| -> Option<Prop> {
        let i = usize::from(index.checked_sub(1)?);
        info.props.get(i).copied()
    };

    let mut primary_props = Vec::new();
    // Any image item carrying an alpha auxC counts. Checking that its auxl reference points at
    // the primary item would be stricter, but real encoders get that link wrong (libavif's
    // animated sample points it at item 0) while the alpha plane is still there.
    let mut alpha = false;
    for table in &info.ipma {
        ipma_entries(table, |item, index| {
            if Some(item) == info.primary && primary_props.len() < BMFF_MAX_ITEMS {
                primary_props.push(index);
            }
            alpha |= prop(index) == Some(Prop::AlphaAux);
        });
    }

    let mut size = None;
    let mut rotation = 0;
    for &index in &primary_props {
        match prop(index) {
            Some(Prop::Ispe(w, h)) if size.is_none() => size = Some((w, h)),
            Some(Prop::Irot(r)) => rotation = r,
            _ => {}
        }
    }
    if size.is_none() {
        // Without a usable pitm/ipma the main image is, in practice, the biggest one declared
        // (thumbnails and gain maps are smaller).
        size = info
            .props
            .iter()
            .filter_map(|p| match p {
                Prop::Ispe(w, h) => Some((*w, *h)),
                _ => None,
            })
            .max_by_key(|&(w, h)| u64::from(w) * u64::from(h));
    }
    if size.is_none()
        && let Some(moov) = moov
    {
        // An image sequence without a still item (e.g. some `avis` files) only has tracks.
        size = first_track_size(src, moov)?;
    }
    let dims = size.and_then(|(w, h)| nonzero(w, h)).map(|(w, h)| {
        // irot counts anticlockwise quarter turns; odd ones swap the axes of the displayed image.
        if rotation & 1 == 1 { (h, w) } else { (w, h) }
    });

    Ok((dims, alpha))
}

fn read_heif_meta<R: Read + Seek>(
    src: &mut Src<'_, R>,
    start: u64,
    end: u64,
    info: &mut HeifMeta,
) -> io::Result<()> {
    each_box(src, start, end, |src, b| {
        match &b.kind {
            b"pitm" => {
                let body = src.vec_at(b.body, 8)?;
                info.primary = match body.first() {
                    Some(0) => be16(&body, 4).map(u32::from),
                    Some(_) => be32(&body, 4),
                    None => None,
                };
            }
            b"iprp" => {
                each_box(src, b.body, b.end, |src, c| {
                    match &c.kind {
                        b"ipco" => read_ipco(src, c, &mut info.props)?,
                        b"ipma" if c.body_len() <= BMFF_MAX_TABLE => {
                            let table =
                                src.vec_at(c.body, usize::try_from(c.body_len()).unwrap_or(0))?;
                            if info.ipma.len() < 16 {
                                info.ipma.push(table);
                            }
                        }
                        _ => {}
                    }
                    Ok(true)
                })?;
            }
            _ => {}
        }
        Ok(true)
    })
}

fn read_ipco<R: Read + Seek>(
    src: &mut Src<'_, R>,
    ipco: BoxInfo,
    props: &mut Vec<Prop>,
) -> io::Result<()> {
    // ipma refers to properties by position, so every child counts, even ones that are ignored;
    // colour profiles and codec configs are skipped without being read.
    each_box(src, ipco.body, ipco.end, |src, p| {
        if props.len() >= BMFF_MAX_PROPS {
            return Ok(false);
        }
        let prop = match &p.kind {
            b"ispe" => match src.exact::<12>(p.body)? {
                Some(d) => Prop::Ispe(be32(&d, 4).unwrap_or(0), be32(&d, 8).unwrap_or(0)),
                None => Prop::Other,
            },
            b"irot" => match src.byte_at(p.body)? {
                Some(angle) => Prop::Irot(angle & 3),
                None => Prop::Other,
            },
            b"auxC" => {
                let body =
                    src.vec_at(p.body, usize::try_from(p.body_len().min(128)).unwrap_or(0))?;
                let urn = body.get(4..).unwrap_or_default();
                let urn = urn.split(|&c| c == 0).next().unwrap_or_default();
                if ALPHA_URNS.contains(&urn) {
                    Prop::AlphaAux
                } else {
                    Prop::Other
                }
            }
            _ => Prop::Other,
        };
        props.push(prop);
        Ok(true)
    })
}

/// Calls `f(item, property_index)` for every association in an `ipma` body.
fn ipma_entries(d: &[u8], mut f: impl FnMut(u32, u16)) {
    let Some(&version) = d.first() else {
        return;
    };
    let wide = d.get(3).is_some_and(|flags| flags & 1 != 0);
    let Some(count) = be32(d, 4) else {
        return;
    };
    let mut p = 8usize;
    // Each entry takes at least three bytes, so the data length bounds the loop whatever the
    // declared count says.
    for _ in 0..count {
        let item = if version < 1 {
            let Some(id) = be16(d, p) else { return };
            p += 2;
            u32::from(id)
        } else {
            let Some(id) = be32(d, p) else { return };
            p += 4;
            id
        };
        let Some(&n) = d.get(p) else {
            return;
        };
        p += 1;
        for _ in 0..n {
            let index = if wide {
                let Some(v) = be16(d, p) else { return };
                p += 2;
                v & 0x7FFF
            } else {
                let Some(&v) = d.get(p) else { return };
                p += 1;
                u16::from(v & 0x7F)
            };
            f(item, index);
        }
    }
}

fn first_track_size<R: Read + Seek>(
    src: &mut Src<'_, R>,
    moov: BoxInfo,
) -> io::Result<Option<(u32, u32)>> {
    let mut found = None;
    each_box(src, moov.body, moov.end, |src, trak| {
        if &trak.kind != b"trak" {
            return Ok(true);
        }
        each_box(src, trak.body, trak.end, |src, b| {
            if &b.kind != b"tkhd" {
                return Ok(true);
            }
            let body = src.vec_at(b.body, 96)?;
            // Width and height follow the matrix; version 1 widens the times to 64 bits.
            let at = if body.first() == Some(&1) { 88 } else { 76 };
            let width = be32(&body, at).unwrap_or(0) >> 16;
            let height = be32(&body, at + 4).unwrap_or(0) >> 16;
            found = nonzero(width, height);
            Ok(false)
        })?;
        Ok(found.is_none())
    })?;
    Ok(found)
}

/// QuickTime files from before `ftyp` existed start straight with one of these atoms. The atom
/// size must fit the file, so that text which happens to have "moov" at offset 4 is not video.
fn is_bare_quicktime(m: &[u8], len: u64) -> bool {
    let size_ok = be32(m, 0).is_some_and(|s| s == 1 || (8..=len).contains(&u64::from(s)));
    size_ok && matches!(m.get(4..8), Some(b"moov" | b"mdat" | b"wide" | b"pnot"))
}

// ---------------------------------------------------------------------------------------------
// TIFF

#[derive(Clone, Copy)]
struct Endian {
    little: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a = arr::<2>(b, at)?;
        Some(if self.little {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a = arr::<4>(b, at)?;
        Some(if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let a = arr::<8>(b, at)?;
        Some(if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        })
    }

    /// One value of a SHORT/LONG/LONG8/BYTE field at element `i`.
    fn value(self, kind: u16, b: &[u8], i: usize) -> Option<u64> {
        match kind {
            1 => b.get(i).map(|&v| u64::from(v)),
            3 => self.u16(b, i.checked_mul(2)?).map(u64::from),
            4 => self.u32(b, i.checked_mul(4)?).map(u64::from),
            16 => self.u64(b, i.checked_mul(8)?),
            _ => None,
        }
    }
}

fn tiff_value_size(kind: u16) -> Option<u64> {
    match kind {
        1 => Some(1),
        3 => Some(2),
        4 => Some(4),
        16 => Some(8),
        _ => None,
    }
}

fn tiff<R: Read + Seek>(src: &mut Src<'_, R>, m: &[u8]) -> io::Result<Option<Probe>> {
    let e = match m.get(0..4) {
        Some(b"II*\0" | b"II+\0") => Endian { little: true },
        Some(b"MM\0*" | b"MM\0+") => Endian { little: false },
        _ => return Ok(None),
    };
    let big = e.u16(m, 2) == Some(43);
    let ifd = if big {
        // BigTIFF declares its offset size (always 8) before the first IFD offset.
        if e.u16(m, 4) != Some(8) {
            return Ok(None);
        }
        e.u64(m, 8)
    } else {
        e.u32(m, 4).map(u64::from)
    };
    let (dims, alpha) = match ifd {
        Some(off) if off >= 8 => tiff_ifd(src, e, big, off)?,
        _ => (None, false),
    };
    Ok(Some(Probe::image("image/tiff", "tiff", dims, alpha)))
}

fn tiff_ifd<R: Read + Seek>(
    src: &mut Src<'_, R>,
    e: Endian,
    big: bool,
    off: u64,
) -> io::Result<(Option<(u32, u32)>, bool)> {
    let (count, first) = if big {
        (
            src.exact::<8>(off)?.and_then(|c| e.u64(&c, 0)),
            off.saturating_add(8),
        )
    } else {
        (
            src.exact::<2>(off)?
                .and_then(|c| e.u16(&c, 0))
                .map(u64::from),
            off.saturating_add(2),
        )
    };
    let Some(count) = count else {
        return Ok((None, false));
    };
    let entry_len: usize = if big { 20 } else { 12 };
    let entries = usize::try_from(count.min(TIFF_MAX_ENTRIES)).unwrap_or(0);
    let data = src.vec_at(first, entries * entry_len)?;
    // The value field follows the 2-byte tag, 2-byte type and the 4- or 8-byte count.
    let value_at = if big { 12 } else { 8 };

    let mut width = None;
    let mut height = None;
    let mut alpha = false;
    for entry in data.chunks_exact(entry_len) {
        let (Some(tag), Some(kind)) = (e.u16(entry, 0), e.u16(entry, 2)) else {
            continue;
        };
        let n = if big {
            e.u64(entry, 4)
        } else {
            e.u32(entry, 4).map(u64::from)
        }
        .unwrap_or(0);
        let value = entry.get(value_at..).unwrap_or_default();
        match tag {
            256 => width = e.value(kind, value, 0).and_then(|v| u32::try_from(v).ok()),
            257 => height = e.value(kind, value, 0).and_then(|v| u32::try_from(v).ok()),
            338 => alpha = tiff_extra_samples(src, e, big, kind, n, value)?,
            _ => {}
        }
    }
    let dims = width.zip(height).and_then(|(w, h)| nonzero(w, h));
    Ok((dims, alpha))
}

/// ExtraSamples 1 (associated alpha) or 2 (unassociated alpha) means a real alpha channel; 0 is
/// unspecified data such as a spot channel.
fn tiff_extra_samples<R: Read + Seek>(
    src: &mut Src<'_, R>,
    e: Endian,
    big: bool,
    kind: u16,
    count: u64,
    value: &[u8],
) -> io::Result<bool> {
    let Some(size) = tiff_value_size(kind) else {
        return Ok(false);
    };
    let n = count.min(16);
    let inline = count.saturating_mul(size) <= u64::try_from(value.len()).unwrap_or(0);
    let data = if inline {
        value.to_vec()
    } else {
        let off = if big {
            e.u64(value, 0)
        } else {
            e.u32(value, 0).map(u64::from)
        };
        match off {
            Some(off) => src.vec_at(off, usize::try_from(n * size).unwrap_or(0))?,
            None => return Ok(false),
        }
    };
    let n = usize::try_from(n).unwrap_or(0);
    Ok((0..n).any(|i| matches!(e.value(kind, &data, i), Some(1 | 2))))
}

// ---------------------------------------------------------------------------------------------
// BMP and ICO

fn bmp(m: &[u8]) -> Option<Probe> {
    if !m.starts_with(b"BM") {
        return None;
    }
    // "BM" alone is too weak (plenty of text starts with it); the DIB header size must be one
    // that some Windows or OS/2 version defined.
    let header = le32(m, 14)?;
    let (dims, bits, alpha_mask_ok) = match header {
        12 => {
            let w = le16(m, 18)?;
            let h = le16(m, 20)?;
            (nonzero(u32::from(w), u32::from(h)), le16(m, 24)?, false)
        }
        16 | 40 | 52 | 56 | 64 | 108 | 124 => {
            let w = i32::from_le_bytes(arr::<4>(m, 18)?);
            // Negative height only means top-down row order.
            let h = i32::from_le_bytes(arr::<4>(m, 22)?).unsigned_abs();
            let dims = u32::try_from(w).ok().and_then(|w| nonzero(w, h));
            let compression = le32(m, 30).unwrap_or(0);
            // The alpha mask sits at the same file offset (66) in V3+ headers and after a plain
            // BITMAPINFOHEADER with BI_ALPHABITFIELDS.
            let has_mask = matches!(header, 56 | 108 | 124) || (header == 40 && compression == 6);
            (dims, le16(m, 28).unwrap_or(0), has_mask)
        }
        _ => return None,
    };
    let alpha = bits == 32 && alpha_mask_ok && le32(m, 66).is_some_and(|mask| mask != 0);
    Some(Probe::image("image/bmp", "bmp", dims, alpha))
}

fn ico<R: Read + Seek>(src: &mut Src<'_, R>, m: &[u8]) -> io::Result<Option<Probe>> {
    if !m.starts_with(&[0, 0, 1, 0]) {
        return Ok(None);
    }
    let count = usize::from(le16(m, 4).unwrap_or(0));
    // Four bytes of mostly zeros are a weak signature, so the first directory entry must look
    // like one: reserved byte 0 and 0 or 1 colour planes.
    let first_ok = m.get(9) == Some(&0) && matches!(le16(m, 10), Some(0 | 1));
    if count == 0 || !first_ok {
        return Ok(None);
    }
    let entries = src.vec_at(6, count.min(ICO_MAX_ENTRIES) * 16)?;
    let largest = entries
        .chunks_exact(16)
        .map(|e| {
            // A stored 0 means 256, the largest size the one-byte fields cannot hold.
            let side = |b: Option<&u8>| match b {
                Some(0) | None => 256u32,
                Some(&v) => u32::from(v),
            };
            (side(e.first()), side(e.get(1)))
        })
        .max_by_key(|&(w, h)| u64::from(w) * u64::from(h));
    Ok(Some(Probe::image("image/x-icon", "ico", largest, true)))
}

// ---------------------------------------------------------------------------------------------
// Containers and audio

fn zip<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let head = src.vec_at(0, ZIP_SCAN)?;
    let mut from = 0usize;
    let mut first = true;
    while let Some(rel) = head.get(from..).and_then(|h| find(h, b"PK\x03\x04")) {
        let at = from + rel;
        from = at + 4;
        let name_len = usize::from(le16(&head, at + 26).unwrap_or(0));
        let extra_len = usize::from(le16(&head, at + 28).unwrap_or(0));
        let Some(name) = slice(&head, at + 30, name_len) else {
            continue;
        };
        // ODF and EPUB put an uncompressed "mimetype" entry first that names the format.
        if first && name == b"mimetype" && le16(&head, at + 8) == Some(0) {
            let size = usize::try_from(le32(&head, at + 18).unwrap_or(0)).unwrap_or(0);
            let content = slice(&head, at + 30 + name_len + extra_len, size.min(128));
            if let Some(found) = content.and_then(zip_mimetype) {
                return Ok(found);
            }
        }
        first = false;
        // Local headers, not the central directory at the end, so that only the start of the
        // file is read; OOXML writers put these parts early.
        let ooxml = if name.starts_with(b"word/") {
            Some((
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "docx",
            ))
        } else if name.starts_with(b"xl/") {
            Some((
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ))
        } else if name.starts_with(b"ppt/") {
            Some((
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "pptx",
            ))
        } else {
            None
        };
        if let Some((mime, format)) = ooxml {
            return Ok(Probe::other(mime, format));
        }
    }
    Ok(Probe::other("application/zip", "zip"))
}

fn zip_mimetype(content: &[u8]) -> Option<Probe> {
    let (mime, format) = match content {
        b"application/vnd.oasis.opendocument.text" => {
            ("application/vnd.oasis.opendocument.text", "odt")
        }
        b"application/vnd.oasis.opendocument.spreadsheet" => {
            ("application/vnd.oasis.opendocument.spreadsheet", "ods")
        }
        b"application/vnd.oasis.opendocument.presentation" => {
            ("application/vnd.oasis.opendocument.presentation", "odp")
        }
        b"application/epub+zip" => ("application/epub+zip", "epub"),
        _ => return None,
    };
    Some(Probe::other(mime, format))
}

fn ebml<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let head = src.vec_at(0, EBML_SCAN)?;
    let webm = ebml_doc_type(&head).is_some_and(|t| t == b"webm");
    Ok(if webm {
        Probe::other("video/webm", "webm")
    } else {
        Probe::other("video/x-matroska", "mkv")
    })
}

fn ebml_doc_type(b: &[u8]) -> Option<&[u8]> {
    let mut p = 4;
    let (size, n) = ebml_vint(b, p)?;
    p += n;
    let end = usize::try_from(size).map_or(b.len(), |s| p.saturating_add(s).min(b.len()));
    while p < end {
        let (id, n) = ebml_id(b, p)?;
        p += n;
        let (size, n) = ebml_vint(b, p)?;
        p += n;
        let size = usize::try_from(size).ok()?;
        if id == 0x4282 {
            let doc_type = slice(b, p, size)?;
            // DocType strings may be NUL-padded.
            return doc_type.split(|&c| c == 0).next();
        }
        p = p.checked_add(size)?;
    }
    None
}

/// An EBML variable-length size: the leading zeros of the first byte give the length.
fn ebml_vint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *b.get(at)?;
    let len = usize::try_from(first.leading_zeros()).ok()? + 1;
    if len > 8 {
        return None;
    }
    let mut value = u64::from(first) & (0xFF >> len);
    for &byte in slice(b, at + 1, len - 1)? {
        value = (value << 8) | u64::from(byte);
    }
    Some((value, len))
}

/// An EBML element ID, which keeps its length marker bits.
fn ebml_id(b: &[u8], at: usize) -> Option<(u32, usize)> {
    let first = *b.get(at)?;
    let len = usize::try_from(first.leading_zeros()).ok()? + 1;
    if len > 4 {
        return None;
    }
    let mut value = 0u32;
    for &byte in slice(b, at, len)? {
        value = (value << 8) | u32::from(byte);
    }
    Some((value, len))
}

fn ogg(m: &[u8]) -> Probe {
    // The first packet of the first page names the codec.
    let segments = usize::from(m.get(26).copied().unwrap_or(0));
    let packet = m.get(27 + segments..).unwrap_or_default();
    if packet.starts_with(b"\x80theora") {
        Probe::other("video/ogg", "ogv")
    } else {
        Probe::other("audio/ogg", "ogg")
    }
}

fn after_id3<R: Read + Seek>(src: &mut Src<'_, R>) -> io::Result<Probe> {
    let mut off = 0u64;
    for _ in 0..ID3_MAX_TAGS {
        let Some(header) = src.exact::<10>(off)? else {
            break;
        };
        if !is_id3(&header) {
            break;
        }
        // The tag size is "synchsafe": seven bits per byte.
        let size = header
            .get(6..10)
            .unwrap_or_default()
            .iter()
            .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7F));
        let footer = if header.get(5).is_some_and(|f| f & 0x10 != 0) {
            10
        } else {
            0
        };
        off = off.saturating_add(10 + size + footer);
    }
    // ID3 is also used in front of FLAC and AAC streams.
    Ok(match src.exact::<6>(off)? {
        Some(next) if next.starts_with(b"fLaC") => Probe::other("audio/flac", "flac"),
        Some(next) if adts_frame_len(&next).is_some() => Probe::other("audio/aac", "aac"),
        _ => Probe::other("audio/mpeg", "mp3"),
    })
}

fn mpeg_audio<R: Read + Seek>(src: &mut Src<'_, R>, m: &[u8]) -> io::Result<Option<Probe>> {
    // A lone frame header is eleven set bits plus a few fields, which random binary data can
    // match; a second header right where the first frame ends makes it convincing.
    if let Some(first) = arr::<4>(m, 0)
        && let Some(len) = mpeg_frame_len(first)
    {
        let confirmed = match src.exact::<4>(len)? {
            // Same version, layer and sample rate.
            Some(second) => {
                mpeg_frame_len(second).is_some()
                    && (second[1] & 0xFE) == (first[1] & 0xFE)
                    && (second[2] & 0x0C) == (first[2] & 0x0C)
            }
            None => len >= src.len,
        };
        if confirmed {
            return Ok(Some(Probe::other("audio/mpeg", "mp3")));
        }
    }
    if let Some(len) = adts_frame_len(m) {
        let confirmed = match src.exact::<6>(len)? {
            Some(second) => adts_frame_len(&second).is_some(),
            None => len >= src.len,
        };
        if confirmed {
            return Ok(Some(Probe::other("audio/aac", "aac")));
        }
    }
    Ok(None)
}

/// Length in bytes of the MPEG-1/2/2.5 Layer I/II/III frame with header `h`.
fn mpeg_frame_len(h: [u8; 4]) -> Option<u64> {
    const V1_L1: [u16; 14] = [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ];
    const V1_L2: [u16; 14] = [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ];
    const V1_L3: [u16; 14] = [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2_L1: [u16; 14] = [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ];
    const V2_L23: [u16; 14] = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const RATES: [[u32; 3]; 4] = [
        [11025, 12000, 8000],
        [0, 0, 0],
        [22050, 24000, 16000],
        [44100, 48000, 32000],
    ];

    let [b0, b1, b2, _] = h;
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = usize::from((b1 >> 3) & 3); // 0: 2.5, 1: reserved, 2: 2, 3: 1
    let layer = (b1 >> 1) & 3; // 1: III, 2: II, 3: I, 0: reserved
    let bitrate_index = usize::from(b2 >> 4);
    let rate_index = usize::from((b2 >> 2) & 3);
    // Free-format bitrate (0) has no computable frame length.
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 {
        return None;
    }
    let v1 = version == 3;
    let table = match (v1, layer) {
        (true, 3) => &V1_L1,
        (true, 2) => &V1_L2,
        (true, _) => &V1_L3,
        (false, 3) => &V2_L1,
        (false, _) => &V2_L23,
    };
    let bps = u64::from(*table.get(bitrate_index - 1)?) * 1000;
    let rate = u64::from(*RATES.get(version)?.get(rate_index)?);
    if rate == 0 {
        return None;
    }
    let pad = u64::from((b2 >> 1) & 1);
    Some(match layer {
        3 => (12 * bps / rate + pad) * 4,
        2 => 144 * bps / rate + pad,
        _ if v1 => 144 * bps / rate + pad,
        _ => 72 * bps / rate + pad,
    })
}

/// Length of the AAC ADTS frame starting at `h`.
fn adts_frame_len(h: &[u8]) -> Option<u64> {
    let b = arr::<6>(h, 0)?;
    if b[0] != 0xFF || b[1] & 0xF6 != 0xF0 || (b[2] >> 2) & 0xF > 12 {
        return None;
    }
    let len = (u64::from(b[3] & 3) << 11) | (u64::from(b[4]) << 3) | u64::from(b[5] >> 5);
    (len >= 7).then_some(len)
}

// ---------------------------------------------------------------------------------------------
// Text: SVG, HTML, XML, plain

fn sniff_text(head: &[u8], len: u64) -> Probe {
    let cut = u64::try_from(head.len()).unwrap_or(u64::MAX) < len;
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let sample = body.get(..TEXT_SCAN).unwrap_or(body);
    if sample.iter().any(|&b| is_binary_byte(b)) {
        return Probe::unknown();
    }
    if let Some(found) = sniff_markup(body) {
        return found;
    }
    let sample_cut = cut || sample.len() < body.len();
    let utf8 = match std::str::from_utf8(sample) {
        Ok(_) => true,
        // Only a multi-byte character split by the sample boundary may be incomplete.
        Err(e) => e.error_len().is_none() && sample_cut,
    };
    if utf8 && !sample.is_empty() {
        Probe::other("text/plain", "txt")
    } else {
        Probe::unknown()
    }
}

/// Bytes that do not occur in text (the WHATWG MIME sniffing "binary data byte" set).
fn is_binary_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

fn sniff_markup(body: &[u8]) -> Option<Probe> {
    let s = trim_start(body);
    if (starts_with_ci(s, b"<!doctype html") && ends_name(s.get(14)))
        || (starts_with_ci(s, b"<html") && ends_name(s.get(5)))
    {
        return Some(Probe::other("text/html", "html"));
    }
    let xml_decl = s.starts_with(b"<?xml") && (ends_name(s.get(5)) || s.get(5) == Some(&b'?'));
    let xml = || xml_decl.then(|| Probe::other("application/xml", "xml"));
    let Some(root) = find_root(s) else {
        return xml();
    };
    let tag = root.get(1..).unwrap_or_default();
    let name_len = tag
        .iter()
        .position(|&c| !is_name_char(c))
        .unwrap_or(tag.len());
    let (name, attrs) = tag.split_at_checked(name_len)?;
    let local = name.rsplit(|&c| c == b':').next().unwrap_or(name);
    if local == b"svg" {
        return Some(Probe::image(
            "image/svg+xml",
            "svg",
            svg_dimensions(attrs),
            true,
        ));
    }
    // Browsers render a document as HTML when it opens with any of these tags (the WHATWG sniffing
    // list), so such uploads must not pass for harmless text. After an XML declaration only
    // XHTML's <html> counts: <a> or <title> roots are common in ordinary XML.
    let html_root = if xml_decl {
        name.eq_ignore_ascii_case(b"html")
    } else {
        HTML_ROOTS.iter().any(|t| name.eq_ignore_ascii_case(t))
    };
    if html_root {
        return Some(Probe::other("text/html", "html"));
    }
    xml()
}

const HTML_ROOTS: &[&[u8]] = &[
    b"html", b"head", b"body", b"script", b"iframe", b"h1", b"div", b"font", b"table", b"a",
    b"style", b"title", b"b", b"br", b"p",
];

/// Skips the XML prolog (declaration, processing instructions, comments, DOCTYPE) and returns
/// the text from the root element's `<`.
fn find_root(s: &[u8]) -> Option<&[u8]> {
    let mut p = s;
    // Each step consumes at least one construct, so the bound only matters for huge prologs.
    for _ in 0..1024 {
        p = trim_start(p);
        if p.starts_with(b"<?") {
            p = after(p.get(2..)?, b"?>")?;
        } else if p.starts_with(b"<!--") {
            p = after(p.get(4..)?, b"-->")?;
        } else if starts_with_ci(p, b"<!doctype") {
            p = skip_doctype(p.get(9..)?)?;
        } else if p.first() == Some(&b'<') && p.get(1).is_some_and(|&c| is_name_char(c)) {
            return Some(p);
        } else {
            return None;
        }
    }
    None
}

/// Skips past the `>` closing a DOCTYPE, over quoted strings, comments and an internal subset
/// (where entity declarations put `>` inside brackets, as in XXE payloads).
fn skip_doctype(mut p: &[u8]) -> Option<&[u8]> {
    let mut depth = 0usize;
    loop {
        let (&c, rest) = p.split_first()?;
        match c {
            b'"' | b'\'' => {
                let end = rest.iter().position(|&x| x == c)?;
                p = rest.get(end + 1..)?;
                continue;
            }
            b'<' if rest.starts_with(b"!--") => {
                p = after(rest.get(3..)?, b"-->")?;
                continue;
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => return Some(rest),
            _ => {}
        }
        p = rest;
    }
}

/// The rendered size from the attributes of the root `<svg` tag. An unterminated tag still
/// counts as SVG: the type is what matters for safety, the size is best effort.
fn svg_dimensions(mut p: &[u8]) -> Option<(u32, u32)> {
    let mut width = None;
    let mut height = None;
    let mut view_box = None;
    loop {
        p = trim_start(p);
        let before = p.len();
        match p.first() {
            None | Some(b'>' | b'/') => break,
            _ => {}
        }
        let name_len = p
            .iter()
            .position(|&c| c.is_ascii_whitespace() || matches!(c, b'=' | b'>' | b'/'))
            .unwrap_or(p.len());
        let Some((name, rest)) = p.split_at_checked(name_len) else {
            break;
        };
        let rest = trim_start(rest);
        let (value, rest) = match rest.strip_prefix(b"=") {
            Some(r) => {
                let r = trim_start(r);
                match r.split_first() {
                    Some((&q @ (b'"' | b'\''), inner)) => {
                        let Some(end) = inner.iter().position(|&c| c == q) else {
                            break;
                        };
                        (
                            inner.get(..end).unwrap_or_default(),
                            inner.get(end + 1..).unwrap_or_default(),
                        )
                    }
                    _ => {
                        let end = r
                            .iter()
                            .position(|&c| c.is_ascii_whitespace() || c == b'>')
                            .unwrap_or(r.len());
                        r.split_at_checked(end).unwrap_or((r, &[]))
                    }
                }
            }
            None => (&[][..], rest),
        };
        match name {
            b"width" => width = Some(value),
            b"height" => height = Some(value),
            b"viewBox" => view_box = Some(value),
            _ => {}
        }
        p = rest;
        if p.len() >= before {
            // Nothing consumed (an unexpected character): give up instead of spinning.
            break;
        }
    }
    let width = width.and_then(svg_length);
    let height = height.and_then(svg_length);
    let view_box = view_box.and_then(parse_view_box);
    // Missing or relative (%, em) sizes fall back to the viewBox, keeping its aspect ratio when
    // one side is known, which is what browsers and librsvg render.
    let size = match (width, height, view_box) {
        (Some(w), Some(h), _) => Some((w, h)),
        (Some(w), None, Some((vw, vh))) => Some((w, w * vh / vw)),
        (None, Some(h), Some((vw, vh))) => Some((h * vw / vh, h)),
        (None, None, Some(vb)) => Some(vb),
        _ => None,
    };
    size.and_then(|(w, h)| Some((round_px(w)?, round_px(h)?)))
}

fn round_px(v: f64) -> Option<u32> {
    let r = v.round();
    (r.is_finite() && r >= 1.0 && r <= f64::from(u32::MAX)).then_some(r as u32)
}

/// An absolute SVG length in CSS pixels (96 per inch), or None for relative units.
fn svg_length(v: &[u8]) -> Option<f64> {
    let (n, rest) = parse_number(trim(v))?;
    let unit = trim(rest).to_ascii_lowercase();
    let scale = match unit.as_slice() {
        b"" | b"px" => 1.0,
        b"pt" => 96.0 / 72.0,
        b"pc" => 16.0,
        b"in" => 96.0,
        b"cm" => 96.0 / 2.54,
        b"mm" => 96.0 / 25.4,
        b"q" => 96.0 / 101.6,
        _ => return None,
    };
    let px = n * scale;
    (px.is_finite() && px > 0.0).then_some(px)
}

fn parse_view_box(v: &[u8]) -> Option<(f64, f64)> {
    let mut p = v;
    let mut nums = [0.0f64; 4];
    for n in &mut nums {
        p = trim_start_with(p, |c| c.is_ascii_whitespace() || c == b',');
        let (value, rest) = parse_number(p)?;
        *n = value;
        p = rest;
    }
    let [_, _, w, h] = nums;
    (w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0).then_some((w, h))
}

/// The longest prefix of `s` that is a decimal number, and the rest.
fn parse_number(s: &[u8]) -> Option<(f64, &[u8])> {
    let digits = |from: usize| {
        from + s
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let int_end = digits(i);
    let mut any = int_end > i;
    i = int_end;
    if s.get(i) == Some(&b'.') {
        let frac_end = digits(i + 1);
        if frac_end > i + 1 || any {
            any |= frac_end > i + 1;
            i = frac_end;
        }
    }
    if !any {
        return None;
    }
    // An exponent only counts with digits after it, so "1em" stays 1 followed by "em".
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(j);
        if exp_end > j {
            i = exp_end;
        }
    }
    let (num, rest) = s.split_at_checked(i)?;
    let value = std::str::from_utf8(num).ok()?.parse::<f64>().ok()?;
    Some((value, rest))
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b':' | b'_' | b'-' | b'.') || c >= 0x80
}

/// Whether a tag or keyword ends at `next` (so `<html` does not match `<htmlx`).
fn ends_name(next: Option<&u8>) -> bool {
    next.is_none_or(|&c| c.is_ascii_whitespace() || c == b'>' || c == b'/')
}

fn after<'a>(s: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let at = find(s, needle)?;
    s.get(at + needle.len()..)
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn trim_start(s: &[u8]) -> &[u8] {
    trim_start_with(s, |c| c.is_ascii_whitespace())
}

fn trim_start_with(s: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    let n = s.iter().take_while(|&&c| skip(c)).count();
    s.get(n..).unwrap_or_default()
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let n = s
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_whitespace())
        .count();
    s.get(..s.len() - n).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Byte helpers: every access is checked, since offsets come from the file.

fn slice(b: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(n)?)
}

fn arr<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    slice(b, at, N)?.try_into().ok()
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    arr(b, at).map(u16::from_be_bytes)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    arr(b, at).map(u32::from_be_bytes)
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    arr(b, at).map(u16::from_le_bytes)
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let [x, y, z] = arr::<3>(b, at)?;
    Some(u32::from_le_bytes([x, y, z, 0]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    arr(b, at).map(u32::from_le_bytes)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn nonzero(width: u32, height: u32) -> Option<(u32, u32)> {
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Cursor;
    use std::path::Path;

    fn run(bytes: &[u8]) -> Probe {
        probe(&mut Cursor::new(bytes), bytes.len() as u64).expect("in-memory reads cannot fail")
    }

    fn assert_image(p: &Probe, mime: &str, format: &str, dims: Option<(u32, u32)>, alpha: bool) {
        let got = (p.mime, p.format, p.dimensions, p.has_alpha);
        assert_eq!(got, (mime, format, dims, alpha));
        assert!(p.is_image(), "{p:?}");
    }

    fn assert_other(p: &Probe, mime: &str, format: &str) {
        assert_eq!((p.mime, p.format), (mime, format), "{p:?}");
        assert_eq!((p.dimensions, p.has_alpha), (None, false), "{p:?}");
        assert!(!p.is_image(), "{p:?}");
    }

    /// Deterministic noise so failures reproduce.
    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    // ---- fixture builders -------------------------------------------------------------------

    fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(
            &u16::try_from(payload.len() + 2)
                .expect("segment")
                .to_be_bytes(),
        );
        v.extend_from_slice(payload);
        v
    }

    fn sof(marker: u8, w: u16, h: u16) -> Vec<u8> {
        let mut p = vec![8];
        p.extend_from_slice(&h.to_be_bytes());
        p.extend_from_slice(&w.to_be_bytes());
        p.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        jpeg_segment(marker, &p)
    }

    fn jpeg(app_sizes: &[usize], w: u16, h: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend(jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        for (i, &n) in app_sizes.iter().enumerate() {
            v.extend(jpeg_segment(0xE1 + (i % 14) as u8, &noise(i as u64 + 7, n)));
        }
        v.extend(jpeg_segment(0xDB, &[0; 65]));
        v.extend(sof(0xC0, w, h));
        v.extend(jpeg_segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        v.extend(
            noise(99, 300)
                .iter()
                .map(|&b| if b == 0xFF { 0 } else { b }),
        );
        v.extend([0xFF, 0xD9]);
        v
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = u32::try_from(data.len())
            .expect("chunk")
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        v.extend([0; 4]); // CRC: not checked by a sniffer
        v
    }

    fn png(w: u32, h: u32, color: u8, extra: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, color, 0, 0, 0]);
        v.extend(png_chunk(b"IHDR", &ihdr));
        for (kind, data) in extra {
            v.extend(png_chunk(kind, data));
        }
        v.extend(png_chunk(b"IEND", &[]));
        v
    }

    fn gif(w: u16, h: u16, frames: &[bool]) -> Vec<u8> {
        let mut v = b"GIF89a".to_vec();
        v.extend(w.to_le_bytes());
        v.extend(h.to_le_bytes());
        v.extend([0x80, 0, 0]); // global table of 2 colours
        v.extend([0, 0, 0, 255, 255, 255]);
        v.extend(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
        for &transparent in frames {
            v.extend([0x21, 0xF9, 4, u8::from(transparent), 10, 0, 0, 0]);
            v.push(0x2C);
            v.extend([0, 0, 0, 0]);
            v.extend(w.to_le_bytes());
            v.extend(h.to_le_bytes());
            v.push(0);
            v.extend([2, 2, 0x4C, 0x01, 0]);
        }
        v.push(0x3B);
        v
    }

    fn riff(form: &[u8; 4], chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = form.to_vec();
        for (kind, data) in chunks {
            body.extend_from_slice(*kind);
            body.extend(u32::try_from(data.len()).expect("chunk").to_le_bytes());
            body.extend(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut v = b"RIFF".to_vec();
        v.extend(u32::try_from(body.len()).expect("riff").to_le_bytes());
        v.extend(body);
        v
    }

    fn bmp(header: u32, w: i32, h: i32, bits: u16, compression: u32, alpha_mask: u32) -> Vec<u8> {
        let mut dib = header.to_le_bytes().to_vec();
        dib.extend(w.to_le_bytes());
        dib.extend(h.to_le_bytes());
        dib.extend(1u16.to_le_bytes());
        dib.extend(bits.to_le_bytes());
        dib.extend(compression.to_le_bytes());
        dib.resize(40, 0);
        if header >= 56 {
            for mask in [0x00FF_0000u32, 0xFF00, 0xFF, alpha_mask] {
                dib.extend(mask.to_le_bytes());
            }
        }
        dib.resize(header as usize, 0);
        let mut v = b"BM".to_vec();
        v.extend(0u32.to_le_bytes()); // file size, unused
        v.extend(0u32.to_le_bytes());
        v.extend((14 + header).to_le_bytes());
        v.extend(dib);
        v.extend([0u8; 64]);
        v
    }

    /// A classic or Big TIFF whose first IFD holds `entries` of (tag, type, count, value).
    fn tiff(little: bool, big: bool, entries: &[(u16, u16, u64, u64)]) -> Vec<u8> {
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u64b = |v: u64| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut v = if little {
            b"II".to_vec()
        } else {
            b"MM".to_vec()
        };
        if big {
            v.extend(u16b(43));
            v.extend(u16b(8));
            v.extend(u16b(0));
            v.extend(u64b(16));
            v.extend(u64b(entries.len() as u64));
        } else {
            v.extend(u16b(42));
            v.extend(u32b(8));
            v.extend(u16b(entries.len() as u16));
        }
        for &(tag, kind, count, value) in entries {
            v.extend(u16b(tag));
            v.extend(u16b(kind));
            if big {
                v.extend(u64b(count));
            } else {
                v.extend(u32b(count as u32));
            }
            // Left-justified value field, as TIFF stores inline values.
            let mut field = match kind {
                3 => u16b(value as u16).to_vec(),
                4 => u32b(value as u32).to_vec(),
                _ => u64b(value).to_vec(),
            };
            field.resize(if big { 8 } else { 4 }, 0);
            v.extend(field);
        }
        v.extend([0u8; 8]); // next IFD offset
        v
    }

    /// Major brand, compatible brands, expected MIME type and format.
    type BrandCase = (
        &'static [u8; 4],
        &'static [&'static [u8; 4]],
        &'static str,
        &'static str,
    );

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = u32::try_from(body.len() + 8)
            .expect("box")
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
        let mut b = vec![version, 0, 0, 0];
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    fn ftyp(major: &[u8; 4], compat: &[&[u8; 4]]) -> Vec<u8> {
        let mut b = major.to_vec();
        b.extend([0, 0, 0, 0]);
        for c in compat {
            b.extend_from_slice(*c);
        }
        bx(b"ftyp", &b)
    }

    fn ispe(w: u32, h: u32) -> Vec<u8> {
        let mut b = w.to_be_bytes().to_vec();
        b.extend(h.to_be_bytes());
        full_box(b"ispe", 0, &b)
    }

    /// `props` are ipco children; `assoc` maps item IDs to 1-based property indices.
    fn heif(
        brands: (&[u8; 4], &[&[u8; 4]]),
        primary: Option<u16>,
        props: &[Vec<u8>],
        assoc: &[(u16, &[u8])],
    ) -> Vec<u8> {
        let mut ipma = (assoc.len() as u32).to_be_bytes().to_vec();
        for (item, indices) in assoc {
            ipma.extend(item.to_be_bytes());
            ipma.push(indices.len() as u8);
            ipma.extend_from_slice(indices);
        }
        let mut iprp = bx(b"ipco", &props.concat());
        iprp.extend(full_box(b"ipma", 0, &ipma));
        let mut meta = full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        if let Some(id) = primary {
            meta.extend(full_box(b"pitm", 0, &id.to_be_bytes()));
        }
        meta.extend(bx(b"iprp", &iprp));
        let mut v = ftyp(brands.0, brands.1);
        v.extend(full_box(b"meta", 0, &meta));
        v.extend(bx(b"mdat", &[0; 32]));
        v
    }

    fn alpha_aux() -> Vec<u8> {
        full_box(b"auxC", 0, b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\0")
    }

    fn zip_entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = b"PK\x03\x04".to_vec();
        v.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version .. CRC
        v.extend((data.len() as u32).to_le_bytes());
        v.extend((data.len() as u32).to_le_bytes());
        v.extend((name.len() as u16).to_le_bytes());
        v.extend(0u16.to_le_bytes());
        v.extend(name.as_bytes());
        v.extend(data);
        v
    }

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v: Vec<u8> = entries.iter().flat_map(|(n, d)| zip_entry(n, d)).collect();
        v.extend(b"PK\x05\x06");
        v.extend([0; 18]);
        v
    }

    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut header = vec![0x42, 0x86, 0x81, 0x01]; // EBMLVersion 1
        header.extend([0x42, 0x82, 0x80 | doc_type.len() as u8]);
        header.extend_from_slice(doc_type);
        let mut v = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | header.len() as u8];
        v.extend(header);
        v.extend([0x18, 0x53, 0x80, 0x67, 0x01, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    /// An MPEG-1 Layer III frame at 128 kbit/s, 44.1 kHz: 417 bytes.
    fn mp3_frame() -> Vec<u8> {
        let mut f = vec![0xFF, 0xFB, 0x90, 0x64];
        f.resize(417, 0x55);
        f
    }

    fn svg(attrs: &str) -> Probe {
        run(format!("<svg xmlns=\"http://www.w3.org/2000/svg\" {attrs}><rect/></svg>").as_bytes())
    }

    /// Every fixture the never-panics test mutates.
    fn fixtures() -> Vec<Vec<u8>> {
        let mut heic_like = heif(
            (b"mif1", &[b"heic"]),
            Some(1),
            &[ispe(64, 32), bx(b"irot", &[1]), alpha_aux()],
            &[(1, &[1, 2]), (2, &[1, 3])],
        );
        heic_like.extend(bx(b"moov", &bx(b"trak", &full_box(b"tkhd", 0, &[0; 80]))));
        vec![
            jpeg(&[1000, 20], 640, 480),
            png(10, 20, 3, &[(b"PLTE", &[0; 6]), (b"tRNS", &[0]), (b"IDAT", &[0; 8])]),
            gif(5, 6, &[false, true]),
            riff(b"WEBP", &[(b"VP8X", vec![0x10, 0, 0, 0, 9, 0, 0, 4, 0, 0])]),
            riff(b"WEBP", &[(b"VP8L", vec![0x2F, 0x3F, 0x40, 0x03, 0x10])]),
            heic_like,
            tiff(true, false, &[(256, 3, 1, 7), (257, 4, 1, 9), (338, 3, 1, 2)]),
            tiff(false, true, &[(256, 16, 1, 7), (257, 16, 1, 9), (338, 3, 1, 1)]),
            bmp(124, 4, -3, 32, 3, 0xFF00_0000),
            b"\0\0\x01\0\x02\0\x10\x10\0\0\x01\0\x20\0\0\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0".to_vec(),
            zip(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>")]),
            ebml(b"webm"),
            [b"ID3\x03\0\0\0\0\0\x02\0\0".to_vec(), mp3_frame(), mp3_frame()].concat(),
            b"<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"]>\">]><!-- c --><svg width=\"1e2\" viewBox=\"0 0 4 2\">"
                .to_vec(),
            "plain text \u{e9}\u{1F600}\n".repeat(10).into_bytes(),
        ]
    }

    // ---- synthetic fixtures -----------------------------------------------------------------

    #[test]
    fn empty_input_is_octet_stream() {
        assert_other(&run(&[]), "application/octet-stream", "");
    }

    #[test]
    fn random_garbage_is_octet_stream() {
        for seed in 1..50 {
            let p = run(&noise(seed, 4096));
            assert_other(&p, "application/octet-stream", "");
        }
    }

    #[test]
    fn jpeg_sof_after_60k_app_segment_is_reached_by_seeking() {
        let bytes = jpeg(&[60 * 1024], 1920, 1080);
        let mut reader = Counting::new(&bytes);
        let p = probe(&mut reader, bytes.len() as u64).expect("probe");
        assert_image(&p, "image/jpeg", "jpg", Some((1920, 1080)), false);
        assert!(
            reader.bytes_read < 40 * 1024,
            "read {} bytes",
            reader.bytes_read
        );
    }

    #[test]
    fn jpeg_with_many_full_size_icc_segments() {
        let p = run(&jpeg(&[65533; 5], 140, 140));
        assert_image(&p, "image/jpeg", "jpg", Some((140, 140)), false);
    }

    #[test]
    fn jpeg_variants() {
        // Progressive (SOF2) frame header.
        let mut progressive = vec![0xFF, 0xD8];
        progressive.extend(jpeg_segment(0xE0, b"JFIF\0"));
        progressive.extend(sof(0xC2, 800, 346));
        assert_image(
            &run(&progressive),
            "image/jpeg",
            "jpg",
            Some((800, 346)),
            false,
        );

        // Stray bytes and fill bytes between segments.
        let mut sloppy = vec![0xFF, 0xD8];
        sloppy.extend(jpeg_segment(0xE0, b"JFIF\0"));
        sloppy.extend([0x00, 0x12, 0x34, 0xFF, 0xFF]);
        sloppy.extend(sof(0xC1, 33, 44));
        assert_image(&run(&sloppy), "image/jpeg", "jpg", Some((33, 44)), false);

        // DHT (C4) must not be mistaken for a frame header.
        let mut dht_first = vec![0xFF, 0xD8];
        dht_first.extend(jpeg_segment(0xC4, &[0; 29]));
        dht_first.extend(sof(0xC0, 5, 6));
        assert_image(&run(&dht_first), "image/jpeg", "jpg", Some((5, 6)), false);
    }

    #[test]
    fn truncated_jpeg_is_still_jpeg() {
        let full = jpeg(&[60 * 1024], 100, 50);
        // Cut inside the big APP segment: its length points past the end.
        let p = run(&full[..30_000]);
        assert_image(&p, "image/jpeg", "jpg", None, false);
        // Just the SOI and the start of a marker.
        assert_image(&run(&[0xFF, 0xD8, 0xFF]), "image/jpeg", "jpg", None, false);
        // Scan data before any frame header.
        let mut no_sof = vec![0xFF, 0xD8];
        no_sof.extend(jpeg_segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        no_sof.extend(sof(0xC0, 1, 1));
        assert_image(&run(&no_sof), "image/jpeg", "jpg", None, false);
        // A segment length below 2 is corrupt.
        assert_image(
            &run(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0, 0]),
            "image/jpeg",
            "jpg",
            None,
            false,
        );
    }

    #[test]
    fn jpeg_floods_are_bounded() {
        let fillers: [&[u8]; 5] = [
            &[0xFF],
            &[0xFF, 0x00],
            &[0x12, 0x34],
            &[0xFF, 0xD0],
            &[0xFF, 0xE1, 0x00, 0x02],
        ];
        for filler in fillers {
            let mut bytes = vec![0xFF, 0xD8];
            bytes.extend(jpeg_segment(0xE0, b"JFIF\0"));
            bytes.extend(filler.iter().cycle().take(4 << 20));
            bytes.extend(sof(0xC0, 1, 1));
            let mut reader = Counting::new(&bytes);
            let p = probe(&mut reader, bytes.len() as u64).expect("probe");
            assert_image(&p, "image/jpeg", "jpg", None, false);
            assert!(
                reader.bytes_read < 256 * 1024,
                "{filler:?}: read {}",
                reader.bytes_read
            );
        }
    }

    #[test]
    fn png_alpha_sources() {
        let trns = png(
            4,
            3,
            2,
            &[(b"tRNS", &[0, 0, 0, 0, 0, 0]), (b"IDAT", &[0; 4])],
        );
        assert_image(&run(&trns), "image/png", "png", Some((4, 3)), true);
        let opaque = png(4, 3, 2, &[(b"IDAT", &[0; 4])]);
        assert_image(&run(&opaque), "image/png", "png", Some((4, 3)), false);
        for color in [4, 6] {
            let p = run(&png(1, 1, color, &[(b"IDAT", &[0; 4])]));
            assert_image(&p, "image/png", "png", Some((1, 1)), true);
        }
        // tRNS after IDAT is invalid and does not apply.
        let late = png(4, 3, 3, &[(b"IDAT", &[0; 4]), (b"tRNS", &[0])]);
        assert_image(&run(&late), "image/png", "png", Some((4, 3)), false);
        // APNG stays image/png.
        let apng = png(
            9,
            9,
            6,
            &[(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]), (b"IDAT", &[0; 4])],
        );
        assert_image(&run(&apng), "image/png", "png", Some((9, 9)), true);
    }

    #[test]
    fn png_with_lying_chunk_length_and_truncation() {
        let mut huge = png(7, 8, 2, &[]);
        // A chunk claiming 4 GiB before IDAT: skipped by offset arithmetic, never allocated.
        huge.truncate(33);
        huge.extend(0xFFFF_FFFFu32.to_be_bytes());
        huge.extend(b"zTXt");
        huge.extend([0; 16]);
        assert_image(&run(&huge), "image/png", "png", Some((7, 8)), false);
        assert_image(&run(b"\x89PNG\r\n\x1a\n"), "image/png", "png", None, false);
        let zero = png(0, 5, 6, &[]);
        assert_image(&run(&zero), "image/png", "png", None, true);
    }

    #[test]
    fn gif_transparency_in_any_frame() {
        assert_image(
            &run(&gif(10, 20, &[false, false])),
            "image/gif",
            "gif",
            Some((10, 20)),
            false,
        );
        assert_image(
            &run(&gif(10, 20, &[true])),
            "image/gif",
            "gif",
            Some((10, 20)),
            true,
        );
        assert_image(
            &run(&gif(10, 20, &[false, true])),
            "image/gif",
            "gif",
            Some((10, 20)),
            true,
        );
        assert_image(
            &run(b"GIF87a\x03\x00\x04\x00"),
            "image/gif",
            "gif",
            None,
            false,
        );
    }

    #[test]
    fn gif_scan_is_bounded() {
        // 100k opaque frames followed by a transparent one: the walk gives up first.
        let mut many = vec![false; 100_000];
        many.push(true);
        let bytes = gif(1, 1, &many);
        let mut reader = Counting::new(&bytes);
        let p = probe(&mut reader, bytes.len() as u64).expect("probe");
        assert_image(&p, "image/gif", "gif", Some((1, 1)), false);
        assert!(
            reader.bytes_read < 2 * GIF_MAX_SCAN,
            "read {} bytes",
            reader.bytes_read
        );
    }

    #[test]
    fn webp_variants() {
        let mut vp8 = vec![0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A];
        vp8.extend(1024u16.to_le_bytes());
        vp8.extend((752u16 | 0x4000).to_le_bytes()); // scale bits must be masked off
        vp8.extend([0; 10]);
        let p = run(&riff(b"WEBP", &[(b"VP8 ", vp8)]));
        assert_image(&p, "image/webp", "webp", Some((1024, 752)), false);

        // 386x395 with the alpha hint bit.
        let bits: u32 = 385 | (394 << 14) | (1 << 28);
        let mut vp8l = vec![0x2F];
        vp8l.extend(bits.to_le_bytes());
        let p = run(&riff(b"WEBP", &[(b"VP8L", vp8l)]));
        assert_image(&p, "image/webp", "webp", Some((386, 395)), true);

        let bits: u32 = 9 | (19 << 14);
        let mut vp8l = vec![0x2F];
        vp8l.extend(bits.to_le_bytes());
        let p = run(&riff(b"WEBP", &[(b"VP8L", vp8l)]));
        assert_image(&p, "image/webp", "webp", Some((10, 20)), false);

        // VP8X canvas 320x240 with only the animation flag, then one with the alpha flag.
        let vp8x = vec![0x02, 0, 0, 0, 63, 1, 0, 239, 0, 0];
        let p = run(&riff(b"WEBP", &[(b"VP8X", vp8x)]));
        assert_image(&p, "image/webp", "webp", Some((320, 240)), false);
        let vp8x = vec![0x10, 0, 0, 0, 255, 0, 0, 255, 0, 0];
        let p = run(&riff(b"WEBP", &[(b"VP8X", vp8x)]));
        assert_image(&p, "image/webp", "webp", Some((256, 256)), true);

        // Text inside a WebP does not make it SVG.
        let mut svgish = riff(b"WEBP", &[(b"VP8X", vec![0; 10])]);
        svgish.extend(b"<svg width=\"1\" height=\"1\"></svg>");
        assert_eq!(run(&svgish).mime, "image/webp");
    }

    #[test]
    fn bmp_variants() {
        let p = run(&bmp(40, 127, -64, 24, 0, 0));
        assert_image(&p, "image/bmp", "bmp", Some((127, 64)), false);
        let p = run(&bmp(124, 127, 64, 32, 3, 0xFF00_0000));
        assert_image(&p, "image/bmp", "bmp", Some((127, 64)), true);
        let p = run(&bmp(108, 2, 2, 32, 3, 0));
        assert_image(&p, "image/bmp", "bmp", Some((2, 2)), false);
        // Plain BITMAPINFOHEADER: 32 bits but no alpha mask.
        let p = run(&bmp(40, 2, 2, 32, 0, 0));
        assert_image(&p, "image/bmp", "bmp", Some((2, 2)), false);
        // i32::MIN height must not overflow.
        let p = run(&bmp(40, 1, i32::MIN, 24, 0, 0));
        assert_image(&p, "image/bmp", "bmp", Some((1, 1 << 31)), false);
        let mut core = b"BM\0\0\0\0\0\0\0\0\x1a\0\0\0".to_vec();
        core.extend(12u32.to_le_bytes());
        core.extend([3, 0, 4, 0, 1, 0, 24, 0]);
        assert_image(&run(&core), "image/bmp", "bmp", Some((3, 4)), false);
        // "BM" followed by text is text.
        assert_other(&run(b"BMW is a car maker\n"), "text/plain", "txt");
    }

    #[test]
    fn tiff_variants() {
        let entries = [(256, 3, 1, 174), (257, 4, 1, 38), (338, 3, 1, 2)];
        for little in [true, false] {
            let p = run(&tiff(little, false, &entries));
            assert_image(&p, "image/tiff", "tiff", Some((174, 38)), true);
        }
        let p = run(&tiff(true, true, &[(256, 16, 1, 128), (257, 3, 1, 128)]));
        assert_image(&p, "image/tiff", "tiff", Some((128, 128)), false);
        let p = run(&tiff(
            false,
            true,
            &[(256, 4, 1, 9), (257, 4, 1, 8), (338, 3, 1, 1)],
        ));
        assert_image(&p, "image/tiff", "tiff", Some((9, 8)), true);
        // ExtraSamples 0 is unspecified data, not alpha.
        let p = run(&tiff(
            true,
            false,
            &[(256, 3, 1, 5), (257, 3, 1, 5), (338, 3, 1, 0)],
        ));
        assert_image(&p, "image/tiff", "tiff", Some((5, 5)), false);
        // Three extra samples do not fit inline: the values live at an offset.
        let mut out_of_line = tiff(
            true,
            false,
            &[(256, 3, 1, 5), (257, 3, 1, 5), (338, 3, 3, 0)],
        );
        let at = out_of_line.len() as u32;
        out_of_line.extend([0, 0, 0, 0, 2, 0]);
        let field = 8 + 2 + 2 * 12 + 8;
        out_of_line[field..field + 4].copy_from_slice(&at.to_le_bytes());
        let p = run(&out_of_line);
        assert_image(&p, "image/tiff", "tiff", Some((5, 5)), true);
    }

    #[test]
    fn tiff_with_bogus_offsets() {
        let mut far = b"II*\0".to_vec();
        far.extend(0xFFFF_FFF0u32.to_le_bytes());
        assert_image(&run(&far), "image/tiff", "tiff", None, false);
        // An IFD claiming 65535 entries in a tiny file.
        let mut many = b"MM\0*\0\0\0\x08\xFF\xFF".to_vec();
        many.extend([0; 30]);
        assert_image(&run(&many), "image/tiff", "tiff", None, false);
        let mut big = b"II+\0\x08\0\0\0".to_vec();
        big.extend(u64::MAX.to_le_bytes());
        assert_image(&run(&big), "image/tiff", "tiff", None, false);
    }

    #[test]
    fn ico_reports_largest_entry() {
        let mut ico = vec![0, 0, 1, 0, 3, 0];
        for side in [16u8, 0, 48] {
            ico.extend([side, side, 0, 0, 1, 0, 32, 0]);
            ico.extend([0; 8]);
        }
        assert_image(&run(&ico), "image/x-icon", "ico", Some((256, 256)), true);
    }

    #[test]
    fn heif_primary_item_rotation_and_alpha() {
        // Item 1 (primary): 4000x3000 rotated a quarter turn; item 2: its alpha plane; item 3: a
        // larger unrelated image that must not win over the primary.
        let props = [
            ispe(4000, 3000),
            bx(b"irot", &[1]),
            alpha_aux(),
            ispe(9000, 9000),
        ];
        let assoc: [(u16, &[u8]); 3] = [(1, &[0x81, 0x82]), (2, &[1, 0x83]), (3, &[4])];
        let p = run(&heif(
            (b"avif", &[b"mif1", b"miaf"]),
            Some(1),
            &props,
            &assoc,
        ));
        assert_image(&p, "image/avif", "avif", Some((3000, 4000)), true);

        // irot 2 (180 degrees) keeps the axes.
        let props = [ispe(40, 30), bx(b"irot", &[2])];
        let p = run(&heif(
            (b"heic", &[b"mif1"]),
            Some(7),
            &props,
            &[(7, &[1, 2])],
        ));
        assert_image(&p, "image/heic", "heic", Some((40, 30)), false);
    }

    #[test]
    fn heif_brands() {
        let props = [ispe(640, 426)];
        let assoc: [(u16, &[u8]); 1] = [(1, &[1])];
        let cases: [BrandCase; 6] = [
            (b"mif1", &[b"heic"], "image/heic", "heic"),
            (b"heix", &[b"mif1"], "image/heic", "heic"),
            (b"mif1", &[b"miaf"], "image/heif", "heif"),
            (b"msf1", &[], "image/heif", "heif"),
            (b"mif1", &[b"avif"], "image/avif", "avif"),
            (b"avis", &[b"msf1"], "image/avif", "avif"),
        ];
        for (major, compat, mime, format) in cases {
            let p = run(&heif((major, compat), Some(1), &props, &assoc));
            assert_image(&p, mime, format, Some((640, 426)), false);
        }
    }

    #[test]
    fn heif_without_pitm_uses_largest_ispe() {
        let props = [ispe(320, 240), ispe(4032, 3024), ispe(512, 512)];
        let p = run(&heif((b"heic", &[]), None, &props, &[]));
        assert_image(&p, "image/heic", "heic", Some((4032, 3024)), false);
        let p = run(&heif(
            (b"heic", &[]),
            None,
            &[alpha_aux(), ispe(2, 2)],
            &[(2, &[1])],
        ));
        assert_image(&p, "image/heic", "heic", Some((2, 2)), true);
    }

    #[test]
    fn heif_sequence_without_items_uses_track_header() {
        let mut tkhd = vec![0u8; 80];
        tkhd[76..80].copy_from_slice(&(159u32 << 16).to_be_bytes());
        let mut tkhd_full = tkhd.clone();
        tkhd_full.extend((160u32 << 16).to_be_bytes());
        let mut bytes = ftyp(b"avis", &[b"msf1"]);
        bytes.extend(bx(b"moov", &bx(b"trak", &bx(b"tkhd", &tkhd_full))));
        let p = run(&bytes);
        assert_image(&p, "image/avif", "avif", Some((159, 160)), false);
    }

    #[test]
    fn bmff_with_hostile_box_sizes() {
        let mut bytes = ftyp(b"avif", &[]);
        // A 64-bit size near u64::MAX, then a zero-size box: both clamp to the data.
        bytes.extend(1u32.to_be_bytes());
        bytes.extend(b"meta");
        bytes.extend(u64::MAX.to_be_bytes());
        bytes.extend([0, 0, 0, 0]);
        bytes.extend(bx(b"iprp", &bx(b"ipco", &ispe(17000, 17000))));
        let p = run(&bytes);
        assert_image(&p, "image/avif", "avif", Some((17000, 17000)), false);

        let mut zero = ftyp(b"heic", &[]);
        zero.extend([0, 0, 0, 0]);
        zero.extend(b"meta");
        assert_image(&run(&zero), "image/heic", "heic", None, false);

        // ipma with a huge entry count but no entries.
        let ipma = full_box(b"ipma", 0, &u32::MAX.to_be_bytes());
        let mut iprp = bx(b"ipco", &ispe(5, 5));
        iprp.extend(ipma);
        let mut bytes = ftyp(b"avif", &[]);
        bytes.extend(full_box(b"meta", 0, &bx(b"iprp", &iprp)));
        assert_image(&run(&bytes), "image/avif", "avif", Some((5, 5)), false);
    }

    #[test]
    fn bmff_audio_and_video() {
        let cases: [BrandCase; 6] = [
            (b"isom", &[b"iso2", b"avc1", b"mp41"], "video/mp4", "mp4"),
            (b"mp42", &[b"isom"], "video/mp4", "mp4"),
            (b"M4V ", &[b"M4A ", b"mp42"], "video/mp4", "m4v"),
            (b"M4A ", &[b"mp42", b"isom"], "audio/mp4", "m4a"),
            (b"qt  ", &[b"qt  "], "video/quicktime", "mov"),
            (b"3gp5", &[b"isom"], "video/3gpp", "3gp"),
        ];
        for (major, compat, mime, format) in cases {
            let mut bytes = ftyp(major, compat);
            bytes.extend(bx(b"mdat", &[0; 16]));
            assert_other(&run(&bytes), mime, format);
        }
        let mut unknown = ftyp(b"crx ", &[b"crx "]);
        unknown.extend(bx(b"mdat", &[0; 16]));
        assert_other(&run(&unknown), "application/octet-stream", "");
        let mut bare = bx(b"wide", &[]);
        bare.extend(bx(b"mdat", &[0; 16]));
        assert_other(&run(&bare), "video/quicktime", "mov");
    }

    #[test]
    fn matroska_doc_type() {
        assert_other(&run(&ebml(b"webm")), "video/webm", "webm");
        assert_other(&run(&ebml(b"matroska")), "video/x-matroska", "mkv");
        assert_other(&run(&[0x1A, 0x45, 0xDF, 0xA3]), "video/x-matroska", "mkv");
    }

    #[test]
    fn audio_formats() {
        let mut id3 = b"ID3\x04\0\0\0\0\0\x05".to_vec();
        id3.extend([0; 5]);
        assert_other(
            &run(&[id3.clone(), mp3_frame()].concat()),
            "audio/mpeg",
            "mp3",
        );
        assert_other(
            &run(&[id3.clone(), b"fLaC\0\0\0\x22".to_vec()].concat()),
            "audio/flac",
            "flac",
        );
        assert_other(
            &run(&[mp3_frame(), mp3_frame(), mp3_frame()].concat()),
            "audio/mpeg",
            "mp3",
        );
        // One plausible frame header followed by junk is not enough.
        let mut lone = mp3_frame();
        lone.extend(noise(3, 600).iter().map(|&b| b & 0x7F));
        assert_ne!(run(&lone).mime, "audio/mpeg");
        let mut adts = vec![0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC];
        adts.resize(16, 0);
        let stream = [adts.clone(), adts.clone(), adts].concat();
        assert_other(&run(&stream), "audio/aac", "aac");

        let wav = riff(
            b"WAVE",
            &[(b"fmt ", vec![1, 0, 2, 0]), (b"data", vec![0; 8])],
        );
        assert_other(&run(&wav), "audio/wav", "wav");
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.extend([0; 20]);
        ogg.extend([1, 30]);
        ogg.extend(b"\x01vorbis");
        assert_other(&run(&ogg), "audio/ogg", "ogg");
        assert_other(&run(b"fLaC\0\0\0\x22"), "audio/flac", "flac");
    }

    #[test]
    fn documents_archives_and_fonts() {
        let cases: [(&[u8], &str, &str); 13] = [
            (b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n", "application/pdf", "pdf"),
            (
                b"8BPS\0\x01\0\0\0\0\0\0\0\x03",
                "image/vnd.adobe.photoshop",
                "psd",
            ),
            (b"\x1F\x8B\x08\0\0\0\0\0\0\x03", "application/gzip", "gz"),
            (
                b"7z\xBC\xAF\x27\x1C\0\x04",
                "application/x-7z-compressed",
                "7z",
            ),
            (b"Rar!\x1A\x07\x01\0\x33\x92", "application/vnd.rar", "rar"),
            (b"wOFF\0\x01\0\0\0\0\x10\0\0\x0C\0\0", "font/woff", "woff"),
            (
                b"ttcf\0\x02\0\0\0\0\0\x02\0\0\0\x14",
                "font/collection",
                "ttc",
            ),
            (b"wOF2OTTO\0\0\x10\0\0\x0C\0\0", "font/woff2", "woff2"),
            (b"OTTO\0\x0A\0\x80\0\x03\0\x20CFF \0\0", "font/otf", "otf"),
            (
                b"\0\x01\0\0\0\x0E\0\x80\0\x03\0\x60GDEF\0\0",
                "font/ttf",
                "ttf",
            ),
            (
                b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                "application/zip",
                "zip",
            ),
            (b"BZh91AY&SY", "application/x-bzip2", "bz2"),
            (b"\xFD7zXZ\0\0\x04", "application/x-xz", "xz"),
        ];
        for (bytes, mime, format) in cases {
            assert_other(&run(bytes), mime, format);
        }
        let p = run(b"\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_other(&p, "application/octet-stream", "");
    }

    #[test]
    fn zip_flavours_from_local_headers() {
        let ct: (&str, &[u8]) = ("[Content_Types].xml", b"<Types/>");
        let cases: [(&str, &str, &str); 4] = [
            (
                "word/document.xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "docx",
            ),
            (
                "xl/workbook.xml",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            (
                "ppt/presentation.xml",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "pptx",
            ),
            ("readme.txt", "application/zip", "zip"),
        ];
        for (name, mime, format) in cases {
            let bytes = zip(&[ct, ("_rels/.rels", b"<Relationships/>"), (name, b"x")]);
            assert_other(&run(&bytes), mime, format);
        }
        let odt = zip(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<x/>"),
        ]);
        assert_other(&run(&odt), "application/vnd.oasis.opendocument.text", "odt");
        let epub = zip(&[("mimetype", b"application/epub+zip")]);
        assert_other(&run(&epub), "application/epub+zip", "epub");
        // A word/ entry beyond the scanned head is not looked for.
        let big = zip(&[
            ("media/a.bin", &vec![7u8; ZIP_SCAN]),
            ("word/document.xml", b"x"),
        ]);
        assert_other(&run(&big), "application/zip", "zip");
    }

    #[test]
    fn svg_sizes() {
        let vb_only = svg("viewBox=\"0 0 736 552\"");
        assert_image(&vb_only, "image/svg+xml", "svg", Some((736, 552)), true);
        let px = svg("width=\"100.4px\" height='50.5'");
        assert_image(&px, "image/svg+xml", "svg", Some((100, 51)), true);
        let pct = svg("width=\"100%\" height=\"100%\" viewBox=\"0,0,20.5,10\"");
        assert_eq!(pct.dimensions, Some((21, 10)));
        let width_only = svg("width=\"300\" viewBox=\"0 0 200 100\"");
        assert_eq!(width_only.dimensions, Some((300, 150)));
        let height_only = svg("height=\"1in\" viewBox=\"-5 -5 10 20\"");
        assert_eq!(height_only.dimensions, Some((48, 96)));
        let units = svg("width=\"72pt\" height=\"2.54cm\"");
        assert_eq!(units.dimensions, Some((96, 96)));
        let em = svg("width=\"10em\" height=\"1e1\"");
        assert_eq!(em.dimensions, None);
        let none = svg("");
        assert_image(&none, "image/svg+xml", "svg", None, true);
        let bad = svg("width=\"-5\" height=\"0\" viewBox=\"0 0 0 10\"");
        assert_eq!(bad.dimensions, None);
        let unterminated = run(b"<svg width=\"10\" height=\"20");
        assert_image(&unterminated, "image/svg+xml", "svg", None, true);
    }

    #[test]
    fn svg_behind_a_prolog() {
        let doc = "\u{FEFF}  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <!-- made by hand -->\n\
            <?xml-stylesheet href=\"a.css\"?>\n\
            <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\" [\n\
              <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> <!-- ]> -->\n\
            ]>\n\
            <svg:svg xmlns:svg=\"http://www.w3.org/2000/svg\"\n   width=\"64\"\n   height=\"32\">";
        let p = run(doc.as_bytes());
        assert_image(&p, "image/svg+xml", "svg", Some((64, 32)), true);
    }

    #[test]
    fn markup_and_text() {
        let cases: [(&[u8], &str, &str); 21] = [
            (b"\xEF\xBB\xBF \n<!DOCTYPE html><p>hi", "text/html", "html"),
            (b"<HTML lang=en><body>", "text/html", "html"),
            (b"<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">", "text/html", "html"),
            (b"<?xml version=\"1.0\"?><rss version=\"2.0\"/>", "application/xml", "xml"),
            (b"<?xml version=\"1.0\"?><!-- never closed", "application/xml", "xml"),
            (b"<svgfoo/>", "text/plain", "txt"),
            (b"<htmlish>", "text/plain", "txt"),
            (b"<script>alert(1)</script>", "text/html", "html"),
            (b"<!-- hi -->\n<BODY onload=x()>", "text/html", "html"),
            (b"<?xml version=\"1.0\"?><a href=\"x\"/>", "application/xml", "xml"),
            (b"<note>no declaration</note>", "text/plain", "txt"),
            (b"ID3 tags are metadata\n", "text/plain", "txt"),
            (b"OTTO was here, and here\n", "text/plain", "txt"),
            (b"BZh9 is not a compressor\n", "text/plain", "txt"),
            (b"The moov atom comes first\n", "text/plain", "txt"),
            (b"OggS and fLaC are codecs\n", "text/plain", "txt"),
            (b"wOFF wOF2 ttcf true 8BPS\n", "text/plain", "txt"),
            (b"{\"a\": 1}\n", "text/plain", "txt"),
            (b"caf\xC3\xA9\r\n\tend\x0C", "text/plain", "txt"),
            (b"bin\0ary", "application/octet-stream", ""),
            (b"latin1 caf\xE9", "application/octet-stream", ""),
        ];
        for (bytes, mime, format) in cases {
            assert_other(&run(bytes), mime, format);
        }
    }

    #[test]
    fn text_cut_inside_a_multibyte_character() {
        // The 8 KiB text sample ends in the middle of a 4-byte character.
        let mut text = "a".repeat(TEXT_SCAN - 2).into_bytes();
        text.extend("\u{1F600} and more".as_bytes());
        assert_other(&run(&text), "text/plain", "txt");
        // The same truncation at the real end of the file is invalid UTF-8.
        let cut = &text[..TEXT_SCAN];
        assert_other(&run(cut), "application/octet-stream", "");
    }

    // ---- reader behaviour -------------------------------------------------------------------

    struct Counting<'a> {
        inner: Cursor<&'a [u8]>,
        bytes_read: u64,
    }

    impl<'a> Counting<'a> {
        fn new(data: &'a [u8]) -> Self {
            Counting {
                inner: Cursor::new(data),
                bytes_read: 0,
            }
        }
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.bytes_read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Counting<'_> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    /// Fails after `ok_reads` reads, or hands out one byte at a time with interruptions.
    struct Flaky<'a> {
        inner: Cursor<&'a [u8]>,
        ok_reads: usize,
        interrupt: bool,
    }

    impl Read for Flaky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.interrupt {
                self.interrupt = false;
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.ok_reads == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            self.ok_reads -= 1;
            self.interrupt = true;
            let one = buf.len().min(1);
            self.inner.read(&mut buf[..one])
        }
    }

    impl Seek for Flaky<'_> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    /// A huge file that exists only as a function of the offset, so nothing is allocated.
    struct Virtual<F> {
        pos: u64,
        len: u64,
        byte: F,
        bytes_read: u64,
    }

    impl<F: Fn(u64) -> u8> Read for Virtual<F> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf
                .len()
                .min(usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX));
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = (self.byte)(self.pos + i as u64);
            }
            self.pos += n as u64;
            self.bytes_read += n as u64;
            Ok(n)
        }
    }

    impl<F> Seek for Virtual<F> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.pos = match pos {
                SeekFrom::Start(p) => p,
                SeekFrom::Current(d) => self.pos.checked_add_signed(d).expect("sane seek"),
                SeekFrom::End(d) => self.len.checked_add_signed(d).expect("sane seek"),
            };
            Ok(self.pos)
        }
    }

    #[test]
    fn reads_are_budgeted_on_huge_hostile_files() {
        // 6.5 GB of maximal APP1 segments with no frame header anywhere.
        const SEGMENT: u64 = 65537;
        let jpeg = |o: u64| match o {
            0 => 0xFF,
            1 => 0xD8,
            _ => [0xFF, 0xE1, 0xFF, 0xFF]
                .get(((o - 2) % SEGMENT) as usize)
                .copied()
                .unwrap_or(0),
        };
        // 4 GB of PNG chunks each claiming 64 KiB of payload.
        let png = |o: u64| match o {
            0..8 => b"\x89PNG\r\n\x1a\n"[o as usize],
            _ => [0, 1, 0, 0, b't', b'E', b'X', b't']
                .get(((o - 8) % 65548) as usize)
                .copied()
                .unwrap_or(0),
        };
        type ByteAt = Box<dyn Fn(u64) -> u8>;
        let cases: [(&str, ByteAt, u64); 2] = [
            ("image/jpeg", Box::new(jpeg), 2 + SEGMENT * 100_000),
            ("image/png", Box::new(png), 8 + 65548 * 65536),
        ];
        for (mime, byte, len) in cases {
            let mut reader = Virtual {
                pos: 0,
                len,
                byte,
                bytes_read: 0,
            };
            let p = probe(&mut reader, len).expect("probe");
            assert_eq!((p.mime, p.dimensions), (mime, None));
            assert!(
                reader.bytes_read <= READ_BUDGET_BYTES,
                "{mime}: read {}",
                reader.bytes_read
            );
        }
    }

    #[test]
    fn io_errors_propagate_and_interruptions_are_retried() {
        let bytes = png(3, 4, 6, &[]);
        let mut failing = Flaky {
            inner: Cursor::new(&bytes),
            ok_reads: 3,
            interrupt: false,
        };
        let err = probe(&mut failing, bytes.len() as u64).expect_err("must fail");
        assert_eq!(err.to_string(), "disk on fire");

        let mut slow = Flaky {
            inner: Cursor::new(&bytes),
            ok_reads: usize::MAX,
            interrupt: true,
        };
        let p = probe(&mut slow, bytes.len() as u64).expect("interruptions are retried");
        assert_image(&p, "image/png", "png", Some((3, 4)), true);
    }

    #[test]
    fn declared_length_longer_than_data_is_not_an_error() {
        let bytes = jpeg(&[100], 8, 8);
        let p = probe(&mut Cursor::new(&bytes[..50]), 1 << 40).expect("short data is content");
        assert_image(&p, "image/jpeg", "jpg", None, false);
        // A shorter declared length hides the rest of the data.
        let p = probe(&mut Cursor::new(&bytes), 60).expect("probe");
        assert_eq!(p.dimensions, None);
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_fixtures() {
        for (i, fixture) in fixtures().iter().enumerate() {
            let full = run(fixture);
            assert_ne!(
                full.mime, "application/octet-stream",
                "fixture {i} must be recognised"
            );
            for cut in 0..=fixture.len() {
                let _ = run(&fixture[..cut]);
            }
            let mut mutated = fixture.clone();
            for (round, r) in noise(i as u64 + 1000, 3000).chunks_exact(3).enumerate() {
                let at = (usize::from(r[0]) << 8 | usize::from(r[1])) % mutated.len();
                mutated[at] = if round % 3 == 0 { 0xFF } else { r[2] };
                let _ = run(&mutated);
                if round % 50 == 0 {
                    mutated.clone_from(fixture);
                }
            }
        }
    }

    // ---- real-media corpus ------------------------------------------------------------------

    /// Files where the expected MIME type is deliberately not exiftool's.
    const MIME_EXCEPTIONS: &[(&str, &str, &str)] = &[
        (
            "apng_animated.png",
            "image/png",
            "APNG is served as PNG; exiftool says image/apng",
        ),
        (
            "audio.wav",
            "audio/wav",
            "exiftool uses the legacy alias audio/x-wav",
        ),
        (
            "avif_animated_alpha.avif",
            "image/avif",
            "avis (AVIF sequence) brand; exiftool 12.57 only knows it as video/mp4",
        ),
        (
            "tiff_bigtiff.tif",
            "image/tiff",
            "exiftool's image/x-tiff-big is not a registered type",
        ),
        (
            "psd_cmyk_16bit.psd",
            "image/vnd.adobe.photoshop",
            "the IANA-registered type; exiftool says application/vnd.adobe.photoshop",
        ),
        (
            "psd_layers.psd",
            "image/vnd.adobe.photoshop",
            "the IANA-registered type; exiftool says application/vnd.adobe.photoshop",
        ),
    ];

    /// Files where the expected dimensions are deliberately not exiftool's.
    type Dimensions = Option<(u32, u32)>;

    const DIMENSION_EXCEPTIONS: &[(&str, Dimensions, &str)] = &[
        (
            "avif_irot_90.avif",
            Some((722, 1024)),
            "irot 90 on the primary item: displayed size; exiftool reports the coded ispe",
        ),
        (
            "heic_mobile_iphone_13_pro_max.HEIC",
            Some((3024, 4032)),
            "irot 270 on the primary (grid) item: displayed size; exiftool reports the coded ispe",
        ),
        (
            "icon.ico",
            Some((48, 48)),
            "largest entry (16, 32, 48); exiftool reports the first",
        ),
    ];

    /// Alpha for formats whose exiftool output does not say (GIF, AVIF/HEIF, VP8L).
    const ALPHA: &[(&str, bool, &str)] = &[
        (
            "gif_transparent.gif",
            true,
            "transparent palette index on its frame",
        ),
        (
            "gif_animated.gif",
            true,
            "frames 2+ set a transparent index; libvips counts any frame",
        ),
        (
            "gif_animated_invalid_xmp.gif",
            true,
            "every frame sets a transparent index",
        ),
        (
            "gif_bomb_frame_65535.gif",
            true,
            "its only GCE sets the transparency flag",
        ),
        (
            "gif_frame_flood_uber.gif",
            false,
            "no transparent index in the scanned frames",
        ),
        ("avif_alpha.avif", true, "auxiliary alpha item"),
        (
            "avif_animated_alpha.avif",
            true,
            "auxiliary alpha item (its auxl link points at item 0)",
        ),
        ("avif_10bit_444.avif", false, "single colour item"),
        ("avif_bomb_17000x17000.avif", false, "single colour item"),
        ("avif_canon_eos70d_exif.avif", false, "single colour item"),
        ("avif_irot_90.avif", false, "single colour item"),
        ("avif_photo.avif", false, "single colour item"),
        (
            "heic_alpha_512.heic",
            true,
            "auxiliary alpha item (urn:mpeg:hevc:2015:auxid:1)",
        ),
        ("heic_IMG_5195.HEIC", false, "no alpha auxiliary"),
        ("heic_digikam_xmp_tags.heic", false, "no alpha auxiliary"),
        (
            "heic_iphone11pro_exif_at_eof.heic",
            false,
            "no alpha auxiliary",
        ),
        (
            "heic_mobile_iphone_13_pro_max.HEIC",
            false,
            "only an HDR gain-map auxiliary",
        ),
        ("heic_odd_size_451x461.heic", false, "no alpha auxiliary"),
        ("heic_samplefilehub.heif", false, "no alpha auxiliary"),
        ("webp_lossless_alpha.webp", true, "VP8L alpha hint bit"),
        ("webp_lossy.webp", false, "simple VP8 has no alpha"),
    ];

    /// The top-level `"Group:Tag": value` pairs of `exiftool -json -G1 -n` output.
    fn exiftool_fields(json: &str) -> HashMap<String, String> {
        json.lines()
            .filter_map(|line| line.strip_prefix("  \""))
            .filter_map(|line| line.split_once("\": "))
            .map(|(key, value)| {
                let value = value.trim_end_matches(',').trim_matches('"');
                (key.to_owned(), value.to_owned())
            })
            .collect()
    }

    fn exiftool_size(fields: &HashMap<String, String>) -> Option<(u32, u32)> {
        ["File", "PNG", "GIF", "RIFF", "SVG", "IFD0"]
            .iter()
            .find_map(|group| {
                let w = fields.get(&format!("{group}:ImageWidth"))?.parse().ok()?;
                let h = fields.get(&format!("{group}:ImageHeight"))?.parse().ok()?;
                Some((w, h))
            })
    }

    fn exiftool_alpha(fields: &HashMap<String, String>, format: &str) -> Option<bool> {
        let field = |k: &str| fields.get(k).map(String::as_str);
        match format {
            "jpg" => Some(false),
            "svg" | "ico" => Some(true),
            "png" => Some(
                matches!(field("PNG:ColorType"), Some("4" | "6"))
                    || field("PNG:Transparency").is_some(),
            ),
            "tiff" => Some(matches!(field("IFD0:ExtraSamples"), Some("1" | "2"))),
            "bmp" => Some(
                field("File:BitDepth") == Some("32")
                    && field("File:AlphaMask").is_some_and(|m| m != "0"),
            ),
            "webp" => field("RIFF:WebP_Flags")
                .and_then(|f| f.parse::<u32>().ok())
                .map(|f| f & 0x10 != 0),
            _ => None,
        }
    }

    fn expected_format(mime: &str) -> &'static str {
        match mime {
            "image/jpeg" => "jpg",
            "image/png" => "png",
            "image/gif" => "gif",
            "image/webp" => "webp",
            "image/avif" => "avif",
            "image/heic" => "heic",
            "image/tiff" => "tiff",
            "image/bmp" => "bmp",
            "image/svg+xml" => "svg",
            "image/x-icon" => "ico",
            "image/vnd.adobe.photoshop" => "psd",
            "application/pdf" => "pdf",
            "application/zip" => "zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
            "video/mp4" => "mp4",
            "video/quicktime" => "mov",
            "video/webm" => "webm",
            "audio/mpeg" => "mp3",
            "audio/wav" => "wav",
            _ => "?",
        }
    }

    #[test]
    fn corpus_matches_exiftool() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
        if !dir.is_dir() {
            println!("note: no corpus at {}, skipping", dir.display());
            return;
        }
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("corpus dir")
            .map(|e| e.expect("dir entry"))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "MANIFEST.tsv" && n != "README.md")
            .collect();
        names.sort();
        assert!(
            names.len() >= 100,
            "corpus looks incomplete: {} files",
            names.len()
        );
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");

        let mut failures = Vec::new();
        let mut used_mime = Vec::new();
        let mut used_dims = Vec::new();
        let mut used_alpha = Vec::new();
        for name in &names {
            let mut fail = |what: String| failures.push(format!("{name}: {what}"));
            if !manifest
                .lines()
                .any(|l| l.split('\t').next() == Some(name.as_str()))
            {
                fail("not listed in MANIFEST.tsv".into());
            }
            let json_path = dir.join("exiftool").join(format!("{name}.json"));
            let Ok(json) = std::fs::read_to_string(&json_path) else {
                fail(format!("missing {}", json_path.display()));
                continue;
            };
            let fields = exiftool_fields(&json);
            let file = std::fs::File::open(dir.join(name)).expect("open corpus file");
            let len = file.metadata().expect("metadata").len();
            // Wrapped as the upload path does.
            let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
            let p = match probe(&mut reader, len) {
                Ok(p) => p,
                Err(e) => {
                    fail(format!("probe failed: {e}"));
                    continue;
                }
            };

            let exif_mime = fields.get("File:MIMEType").cloned().unwrap_or_default();
            let want_mime = match MIME_EXCEPTIONS.iter().find(|(n, _, _)| n == name) {
                Some((n, mime, _)) => {
                    used_mime.push(*n);
                    if exif_mime == *mime {
                        fail("MIME exception is stale: exiftool agrees now".into());
                    }
                    (*mime).to_owned()
                }
                None => exif_mime,
            };
            if p.mime != want_mime {
                fail(format!("mime {} != expected {want_mime}", p.mime));
            }
            if p.format != expected_format(p.mime) {
                fail(format!("format {:?} for {}", p.format, p.mime));
            }

            if !p.is_image() {
                if p.dimensions.is_some() || p.has_alpha {
                    fail(format!("non-image with image fields: {p:?}"));
                }
                if p.mime.starts_with("image/") && p.format != "psd" {
                    fail(format!("{} should be an image", p.mime));
                }
                continue;
            }

            let want_dims = match DIMENSION_EXCEPTIONS.iter().find(|(n, _, _)| n == name) {
                Some((n, dims, _)) => {
                    used_dims.push(*n);
                    if exiftool_size(&fields) == *dims {
                        fail("dimension exception is stale: exiftool agrees now".into());
                    }
                    *dims
                }
                None => exiftool_size(&fields),
            };
            if p.dimensions != want_dims {
                fail(format!(
                    "dimensions {:?} != expected {want_dims:?}",
                    p.dimensions
                ));
            }

            let want_alpha = match ALPHA.iter().find(|(n, _, _)| n == name) {
                Some((n, alpha, _)) => {
                    used_alpha.push(*n);
                    Some(*alpha)
                }
                None => exiftool_alpha(&fields, p.format),
            };
            match want_alpha {
                Some(a) if a != p.has_alpha => {
                    fail(format!("has_alpha {} != expected {a}", p.has_alpha))
                }
                Some(_) => {}
                None => fail("no alpha expectation: add it to ALPHA".into()),
            }
        }

        // Keep the exception tables honest: every entry must name a corpus file.
        let tables: [(&str, Vec<&str>, Vec<&str>); 3] = [
            (
                "MIME exception",
                MIME_EXCEPTIONS.iter().map(|e| e.0).collect(),
                used_mime,
            ),
            (
                "dimension exception",
                DIMENSION_EXCEPTIONS.iter().map(|e| e.0).collect(),
                used_dims,
            ),
            (
                "alpha expectation",
                ALPHA.iter().map(|e| e.0).collect(),
                used_alpha,
            ),
        ];
        for (table, entries, used) in tables {
            for name in entries.into_iter().filter(|n| !used.contains(n)) {
                failures.push(format!(
                    "{name}: unused {table}: no such corpus file, or not probed as an image"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} corpus mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn corpus_hostile_files() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
        if !dir.is_dir() {
            println!("note: no corpus at {}, skipping", dir.display());
            return;
        }
        let check = |name: &str, mime: &str, dims: Option<(u32, u32)>| {
            let bytes = std::fs::read(dir.join(name)).expect("corpus file");
            let mut reader = std::io::BufReader::with_capacity(64 * 1024, Counting::new(&bytes));
            let p = probe(&mut reader, bytes.len() as u64).expect("probe");
            assert_eq!((p.mime, p.dimensions), (mime, dims), "{name}");
            // Only headers are read, whatever the file declares.
            let read = reader.get_ref().bytes_read;
            println!("{name}: {read} of {} bytes read", bytes.len());
            assert!(
                read <= GIF_MAX_SCAN + 128 * 1024,
                "{name}: read {read} bytes"
            );
        };
        check(
            "avif_bomb_17000x17000.avif",
            "image/avif",
            Some((17000, 17000)),
        );
        check("bomb_pixel_flood.png", "image/png", Some((50000, 50000)));
        check(
            "pixel_flood_lottapixel.jpg",
            "image/jpeg",
            Some((64250, 64250)),
        );
        check("gif_bomb_frame_65535.gif", "image/gif", Some((32, 32)));
        check("gif_frame_flood_uber.gif", "image/gif", Some((1, 1)));
        check("png_ztxt_bomb.png", "image/png", Some((1, 1)));
        check("webp_looks_like_svg.webp", "image/webp", Some((256, 256)));
        check("png_named_as.jpg", "image/png", Some((128, 128)));
        check("jpeg_truncated.jpg", "image/jpeg", Some((290, 442)));
        check("zip_slip.zip", "application/zip", None);
        check("svg_xxe.svg", "image/svg+xml", Some((100, 100)));
    }
}
