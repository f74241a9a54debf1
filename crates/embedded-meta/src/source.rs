//! Positional, budgeted reads over the caller's file.
//!
//! Every container walk reads through [`Source`], so the cost of extracting metadata is bounded by
//! the budgets below whatever the file claims: a reader that is asked for more than the budget
//! sees the end of the data, and each parser stops the way it does on a truncated file.
//! I/O errors are treated the same way (the data "ends") and reported once as a warning.

use std::io::{self, Read, Seek, SeekFrom};

/// Real files need a few hundred KiB (an EXIF segment, an XMP packet with its extension, an ICC
/// profile); the cap leaves room for a TIFF whose IFDs are spread over a large file.
const READ_BUDGET_BYTES: u64 = 16 * 1024 * 1024;
/// Each call may cost a seek and a buffer refill on the caller's side.
const READ_BUDGET_CALLS: u32 = 16 * 1024;
/// Read-ahead window for the many small reads of segment, chunk, box and IFD walks.
const WINDOW: usize = 8 * 1024;

pub(crate) struct Source<'a, R> {
    reader: &'a mut R,
    len: u64,
    /// Where the reader stands, so that short forward hops use `seek_relative`.
    cursor: Option<u64>,
    window: Vec<u8>,
    window_start: u64,
    budget_bytes: u64,
    budget_calls: u32,
    /// Set once the budget ran out or the reader failed; the caller turns it into a warning.
    pub(crate) exhausted: Option<String>,
}

impl<'a, R: Read + Seek> Source<'a, R> {
    pub(crate) fn new(reader: &'a mut R, len: u64) -> Self {
        Source {
            reader,
            len,
            cursor: None,
            window: Vec::new(),
            window_start: 0,
            budget_bytes: READ_BUDGET_BYTES,
            budget_calls: READ_BUDGET_CALLS,
            exhausted: None,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Up to `max` bytes from `off`; shorter at the end of the data.
    pub(crate) fn vec_at(&mut self, off: u64, max: usize) -> Vec<u8> {
        let available = usize::try_from(self.len.saturating_sub(off)).unwrap_or(usize::MAX);
        let mut buf = vec![0; max.min(available)];
        let n = self.read_at(off, &mut buf);
        buf.truncate(n);
        buf
    }

    /// Exactly `N` bytes from `off`, or None when the data ends first.
    pub(crate) fn exact<const N: usize>(&mut self, off: u64) -> Option<[u8; N]> {
        if N > WINDOW {
            let v = self.vec_at(off, N);
            return v.as_slice().try_into().ok();
        }
        if self.cached(off, N).is_none() {
            self.fill(off);
        }
        self.cached(off, N).and_then(|s| s.try_into().ok())
    }

    fn cached(&self, off: u64, n: usize) -> Option<&[u8]> {
        let start = usize::try_from(off.checked_sub(self.window_start)?).ok()?;
        self.window.get(start..start.checked_add(n)?)
    }

    fn fill(&mut self, off: u64) {
        let mut window = std::mem::take(&mut self.window);
        window.resize(WINDOW, 0);
        let n = self.read_uncached(off, &mut window);
        window.truncate(n);
        self.window = window;
        self.window_start = off;
    }

    /// Fills `buf` from `off` as far as the data goes; returns the count read.
    pub(crate) fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize {
        if let Some(hit) = self.cached(off, buf.len()) {
            buf.copy_from_slice(hit);
            return buf.len();
        }
        if buf.len() <= WINDOW / 4 {
            self.fill(off);
            let n = self
                .window
                .len()
                .saturating_sub(usize::try_from(off.saturating_sub(self.window_start)).unwrap_or(0))
                .min(buf.len());
            if let (Some(src), Some(dst)) = (self.cached(off, n), buf.get_mut(..n)) {
                dst.copy_from_slice(src);
                return n;
            }
            return 0;
        }
        self.read_uncached(off, buf)
    }

    fn read_uncached(&mut self, off: u64, buf: &mut [u8]) -> usize {
        let available = usize::try_from(self.len.saturating_sub(off)).unwrap_or(usize::MAX);
        let budget = usize::try_from(self.budget_bytes).unwrap_or(usize::MAX);
        let want = buf.len().min(available);
        if want == 0 {
            return 0;
        }
        if budget < want || self.budget_calls == 0 {
            if self.exhausted.is_none() {
                self.exhausted = Some("read budget exhausted; later metadata skipped".into());
            }
            return 0;
        }
        self.budget_calls -= 1;
        self.budget_bytes -= want as u64;
        let Some(dst) = buf.get_mut(..want) else {
            return 0;
        };
        match self.read_raw(off, dst) {
            Ok(n) => {
                self.cursor = Some(off.saturating_add(n as u64));
                n
            }
            Err(e) => {
                self.cursor = None;
                if self.exhausted.is_none() {
                    self.exhausted = Some(format!("read error: {e}"));
                }
                0
            }
        }
    }

    fn read_raw(&mut self, off: u64, buf: &mut [u8]) -> io::Result<usize> {
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

/// A random-access run of bytes that a metadata reader parses: a region of the file (an APP1
/// segment, a TIFF file, a HEIF item) or bytes already in memory (an inflated PNG chunk).
/// Readers take `&mut dyn Bytes` so each is compiled once.
pub(crate) trait Bytes {
    fn size(&self) -> u64;
    /// Fills `buf` from `off` as far as the data goes; returns the count read.
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize;
}

impl dyn Bytes + '_ {
    pub(crate) fn exact<const N: usize>(&mut self, off: u64) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        (self.read_at(off, &mut buf) == N).then_some(buf)
    }

    /// Up to `max` bytes from `off`.
    pub(crate) fn vec_at(&mut self, off: u64, max: usize) -> Vec<u8> {
        let available = usize::try_from(self.size().saturating_sub(off)).unwrap_or(usize::MAX);
        let mut buf = vec![0; max.min(available)];
        let n = self.read_at(off, &mut buf);
        buf.truncate(n);
        buf
    }
}

pub(crate) struct Slice<'b>(pub(crate) &'b [u8]);

impl Bytes for Slice<'_> {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize {
        let Ok(start) = usize::try_from(off) else {
            return 0;
        };
        let Some(rest) = self.0.get(start..) else {
            return 0;
        };
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        n
    }
}

/// Where a read at `off` of a `len`-byte window starting at `start` lands in what holds the
/// window, and the part of `buf` it may fill (none past the window's end).
fn window(start: u64, len: u64, off: u64, buf: &mut [u8]) -> Option<(u64, &mut [u8])> {
    let room = usize::try_from(len.saturating_sub(off)).unwrap_or(usize::MAX);
    let n = buf.len().min(room);
    Some((start.checked_add(off)?, buf.get_mut(..n)?))
}

/// `len` bytes of the file from `start`.
pub(crate) struct Region<'s, 'a, R> {
    pub(crate) src: &'s mut Source<'a, R>,
    pub(crate) start: u64,
    pub(crate) len: u64,
}

impl<R: Read + Seek> Bytes for Region<'_, '_, R> {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize {
        let Some((abs, dst)) = window(self.start, self.len, off, buf) else {
            return 0;
        };
        self.src.read_at(abs, dst)
    }
}

/// `len` bytes of another [`Bytes`] from `start`: a block inside a TIFF (an ICC profile, an XMP
/// packet) handed to its reader without copying it.
pub(crate) struct Sub<'s> {
    pub(crate) inner: &'s mut dyn Bytes,
    pub(crate) start: u64,
    pub(crate) len: u64,
}

impl Bytes for Sub<'_> {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize {
        let Some((abs, dst)) = window(self.start, self.len, off, buf) else {
            return 0;
        };
        self.inner.read_at(abs, dst)
    }
}

/// Pieces of the file read as one run of bytes: an ICC profile split over APP2 segments,
/// Photoshop resources over APP13 segments, a HEIF item over several extents.
pub(crate) struct Extents<'s, 'a, R> {
    pub(crate) src: &'s mut Source<'a, R>,
    /// (file offset, length) in reading order.
    pub(crate) parts: Vec<(u64, u64)>,
}

impl<R: Read + Seek> Bytes for Extents<'_, '_, R> {
    fn size(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |acc, p| acc.saturating_add(p.1))
    }

    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> usize {
        let mut done = 0usize;
        let mut base = 0u64;
        for &(start, len) in &self.parts {
            let want_at = off.saturating_add(done as u64);
            let end = base.saturating_add(len);
            if want_at >= base && want_at < end && done < buf.len() {
                let within = want_at - base;
                let room = usize::try_from(len - within).unwrap_or(usize::MAX);
                let n = room.min(buf.len() - done);
                let Some(dst) = buf.get_mut(done..done + n) else {
                    break;
                };
                let got = self.src.read_at(start.saturating_add(within), dst);
                done += got;
                if got < n {
                    break;
                }
            }
            base = end;
        }
        done
    }
}
