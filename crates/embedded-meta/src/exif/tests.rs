use super::*;
use crate::source::Slice;

/// A little-endian TIFF with the given IFD0 entries (tag, type, count, value) and extra data
/// appended after the IFD.
fn tiff(entries: &[(u16, u16, u32, u32)], next: u32, tail: &[u8]) -> Vec<u8> {
    let mut d = b"II*\0".to_vec();
    d.extend(8u32.to_le_bytes());
    d.extend((entries.len() as u16).to_le_bytes());
    for &(tag, kind, count, value) in entries {
        d.extend(tag.to_le_bytes());
        d.extend(kind.to_le_bytes());
        d.extend(count.to_le_bytes());
        d.extend(value.to_le_bytes());
    }
    d.extend(next.to_le_bytes());
    d.extend(tail);
    d
}

fn run(d: &[u8]) -> EmbeddedMetadata {
    let mut out = EmbeddedMetadata::default();
    read(&mut Slice(d), 0, &mut out);
    out
}

#[test]
fn reads_basic_values() {
    // Orientation 6 inline, XResolution 72/1 at offset 26 (8 + 2 + 12*2 + 4 = 38 → tail start).
    let d = tiff(
        &[(0x0112, 3, 1, 6), (0x011a, 5, 1, 38)],
        0,
        &[72, 0, 0, 0, 1, 0, 0, 0],
    );
    let out = run(&d);
    assert_eq!(out.get("IFD0", "Orientation"), Some(&Value::from(6)));
    assert_eq!(out.get("IFD0", "XResolution"), Some(&Value::from(72)));
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn ifd_loop_is_cut() {
    // IFD0's next pointer points to itself; its ExifIFD pointer points to IFD0 as well.
    let d = tiff(&[(0x8769, 4, 1, 8)], 8, &[]);
    let out = run(&d);
    assert!(
        out.warnings.iter().any(|w| w.contains("loop")),
        "{:?}",
        out.warnings
    );
}

#[test]
fn truncated_ifd_keeps_what_it_read() {
    let mut d = tiff(&[(0x0112, 3, 1, 3), (0x0100, 3, 1, 640)], 0, &[]);
    d[8] = 50; // claims 50 entries
    let out = run(&d);
    assert_eq!(out.get("IFD0", "Orientation"), Some(&Value::from(3)));
    assert!(out.warnings.iter().any(|w| w.contains("truncated")));
}

#[test]
fn oversized_counts_do_not_allocate() {
    // A 4-billion-entry ASCII value and an IFD claiming 65535 entries.
    let d = tiff(&[(0x010f, 2, u32::MAX, 38)], 0, b"Canon\0");
    let out = run(&d);
    assert!(out.get("IFD0", "Make").is_none());
    let mut big = tiff(&[], 0, &[]);
    big[8] = 0xFF;
    big[9] = 0xFF;
    let out = run(&big);
    assert!(!out.warnings.is_empty());
}

#[test]
fn rational_with_zero_denominator() {
    let d = tiff(&[(0xa404, 5, 1, 26)], 0, &[0; 8]);
    let _ = run(&d); // pointer into the entry table itself: any value, no panic
    let d = tiff(&[(0x829d, 5, 1, 26)], 0, &[]);
    let _ = run(&d);
}

#[test]
fn gps_conversions() {
    let items = [Item::Real(14.0), Item::Real(57.0), Item::Real(41.37)];
    assert_eq!(gps_time(&items), "14:57:41.37");
    assert_eq!(
        gps_time(&[Item::Int(7), Item::Int(59), Item::Int(48)]),
        "07:59:48"
    );
}

#[test]
fn bigtiff_header() {
    let mut d = b"II+\0\x08\0\0\0".to_vec();
    d.extend(16u64.to_le_bytes());
    d.extend(1u64.to_le_bytes());
    d.extend(0x0112u16.to_le_bytes());
    d.extend(3u16.to_le_bytes());
    d.extend(1u64.to_le_bytes());
    d.extend(8u64.to_le_bytes());
    d.extend(0u64.to_le_bytes());
    let out = run(&d);
    assert_eq!(out.get("IFD0", "Orientation"), Some(&Value::from(8)));
}
