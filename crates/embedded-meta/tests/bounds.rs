//! The cost of `read` is bounded whatever the file claims: synthetic huge inputs, generated on
//! the fly (nothing is held in memory), with a reader that counts what is asked of it.

use std::io::{self, Read, Seek, SeekFrom};

/// A virtual file of `len` bytes whose content is `byte(pos)`; counts bytes read.
struct Virtual<F: Fn(u64) -> u8> {
    len: u64,
    pos: u64,
    byte: F,
    read: u64,
}

impl<F: Fn(u64) -> u8> Read for Virtual<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        for (i, b) in buf.iter_mut().take(n).enumerate() {
            *b = (self.byte)(self.pos + i as u64);
        }
        self.pos += n as u64;
        self.read += n as u64;
        Ok(n)
    }
}

impl<F: Fn(u64) -> u8> Seek for Virtual<F> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

fn virtual_file(len: u64, byte: impl Fn(u64) -> u8) -> Virtual<impl Fn(u64) -> u8> {
    Virtual {
        len,
        pos: 0,
        byte,
        read: 0,
    }
}

#[test]
fn a_gigabyte_video_costs_kilobytes() {
    // ftyp, then a 1 GiB mdat, then a moov at the end: only box headers are read.
    let mdat = 1u64 << 30;
    let head: Vec<u8> = [
        &[0, 0, 0, 16][..],
        b"ftypisom",
        &[0, 0, 0, 0],
        &(mdat as u32).to_be_bytes(),
        b"mdat",
    ]
    .concat();
    let mut f = virtual_file(16 + mdat + 8, move |p| {
        head.get(p as usize).copied().unwrap_or(0)
    });
    let out = embedded_meta::read(&mut f, 16 + mdat + 8);
    assert!(out.tags.is_empty());
    assert!(f.read < 64 * 1024, "read {} bytes", f.read);
}

#[test]
fn a_huge_jpeg_costs_only_its_header() {
    // SOI, a small APP0, then SOS followed by 4 GiB of entropy-coded data.
    let head = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xDA, 0, 2];
    let len = 4u64 << 30;
    let mut f = virtual_file(len, move |p| head.get(p as usize).copied().unwrap_or(0x55));
    let _ = embedded_meta::read(&mut f, len);
    assert!(f.read < 64 * 1024, "read {} bytes", f.read);
}

#[test]
fn endless_segments_hit_the_budget() {
    // SOI then APP1 "Exif" segments of 64 KiB forever, each an IFD with 1000 entries pointing
    // at each other: reading stops at the segment cap and the read budget.
    let len = 1u64 << 40;
    let seg = 65_537u64;
    let mut f = virtual_file(len, move |p| {
        if p < 2 {
            return [0xFF, 0xD8][p as usize];
        }
        let o = (p - 2) % seg;
        match o {
            0 => 0xFF,
            1 => 0xE1,
            2 | 3 => 0xFF,
            4..=9 => b"Exif\0\0"[(o - 4) as usize],
            10..=13 => b"MM\0*"[(o - 10) as usize],
            14..=16 => 0,
            17 => 8,
            18 => 0x03,
            19 => 0xE8,
            _ => (o % 7) as u8,
        }
    });
    let start = std::time::Instant::now();
    let out = embedded_meta::read(&mut f, len);
    assert!(f.read <= 17 * 1024 * 1024, "read {} bytes", f.read);
    assert!(start.elapsed().as_secs() < 10);
    assert!(!out.warnings.is_empty());
}

#[test]
fn a_claimed_50_mb_xmp_is_read_up_to_the_cap() {
    // PNG with an iTXt XMP chunk claiming 50 MB of uncompressed text.
    let claimed = 50u64 << 20;
    let mut head = b"\x89PNG\r\n\x1a\n".to_vec();
    head.extend((claimed as u32).to_be_bytes());
    head.extend(b"iTXtXML:com.adobe.xmp\0\0\0\0\0");
    head.extend(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/' dc:format='a'>");
    let len = head.len() as u64 + claimed;
    let mut f = virtual_file(len, move |p| head.get(p as usize).copied().unwrap_or(b' '));
    let out = embedded_meta::read(&mut f, len);
    assert!(f.read <= 5 * 1024 * 1024, "read {} bytes", f.read);
    assert!(!out.warnings.is_empty());
}
