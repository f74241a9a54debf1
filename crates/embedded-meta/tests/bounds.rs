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
    // ftyp, then a 1 GiB mdat, then a moov at the end: only box headers and moov are read.
    let mdat = 1u64 << 30;
    let mut mvhd = vec![0u8; 8 + 100];
    mvhd[..4].copy_from_slice(&108u32.to_be_bytes());
    mvhd[4..8].copy_from_slice(b"mvhd");
    mvhd[20..24].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[24..28].copy_from_slice(&3_600_000u32.to_be_bytes());
    let moov: Vec<u8> = [&116u32.to_be_bytes()[..], b"moov", &mvhd].concat();
    let head: Vec<u8> = [
        &[0, 0, 0, 16][..],
        b"ftypisom",
        &[0, 0, 0, 0],
        &(mdat as u32).to_be_bytes(),
        b"mdat",
    ]
    .concat();
    let moov_at = 16 + mdat;
    let total = moov_at + moov.len() as u64;
    let mut f = virtual_file(total, move |p| {
        if p >= moov_at {
            moov[(p - moov_at) as usize]
        } else {
            head.get(p as usize).copied().unwrap_or(0)
        }
    });
    let out = embedded_meta::read(&mut f, total);
    let summary = out.media_summary().expect("summary");
    assert_eq!(summary.duration, Some(3600.0));
    assert_eq!(
        summary.bit_rate,
        Some((total as f64 * 8.0 / 3600.0).round() as u64)
    );
    assert!(f.read < 64 * 1024, "read {} bytes", f.read);
}

#[test]
fn a_gigabyte_webm_with_live_clusters_costs_kilobytes() {
    // EBML header, a Segment of unknown size, Info, Tracks, then unknown-size Clusters for 1 GiB.
    let mut head = vec![0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84];
    head.extend(b"webm");
    head.extend([
        0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    head.extend([0x1F, 0x43, 0xB6, 0x75, 0xFF]);
    let len = 1u64 << 30;
    let mut f = virtual_file(len, move |p| head.get(p as usize).copied().unwrap_or(0xA3));
    let _ = embedded_meta::read(&mut f, len);
    assert!(f.read < 64 * 1024, "read {} bytes", f.read);
}

#[test]
fn a_gigabyte_mp3_and_wav_cost_kilobytes() {
    // ID3 tag claiming 256 MB, then frame headers; a WAV with a 1 GiB data chunk.
    let mut mp3 = b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f".to_vec();
    mp3.extend(b"TIT2\x0f\xff\xff\xff\x00\x00\x00abc");
    let len = 1u64 << 30;
    let mut f = virtual_file(len, move |p| mp3.get(p as usize).copied().unwrap_or(0xFF));
    let _ = embedded_meta::read(&mut f, len);
    assert!(f.read < 256 * 1024, "read {} bytes", f.read);

    let mut wav = b"RIFF\xff\xff\xff\x7fWAVEfmt \x10\x00\x00\x00".to_vec();
    wav.extend([1, 0, 2, 0, 0x44, 0xAC, 0, 0, 0x10, 0xB1, 2, 0, 4, 0, 16, 0]);
    wav.extend(b"data\x00\x00\x00\x40");
    let mut f = virtual_file(len, move |p| wav.get(p as usize).copied().unwrap_or(0));
    let out = embedded_meta::read(&mut f, len);
    let s = out.media_summary().expect("summary");
    assert!(s.duration.is_some_and(|d| d > 6000.0));
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
