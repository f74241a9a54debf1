//! Byte strings from files to Rust strings.

/// UTF-8 when the bytes are valid UTF-8, else Latin-1 (every byte one char), which is what
/// old cameras and IPTC without a coded character set write.
pub(crate) fn utf8_or_latin1(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// An EXIF ASCII value: ends at the first NUL.
pub(crate) fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    utf8_or_latin1(b.get(..end).unwrap_or_default())
}

/// UTF-16 text, NULs included, a leading BOM dropped.
pub(crate) fn utf16_all(b: &[u8], little_endian: bool) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|p| match p {
            [a, b] if little_endian => u16::from_le_bytes([*a, *b]),
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        })
        .collect();
    let s = String::from_utf16_lossy(&units);
    s.strip_prefix('\u{feff}')
        .map_or_else(|| s.clone(), str::to_owned)
}

/// UCS-2 / UTF-16 text up to the first NUL unit.
pub(crate) fn utf16(b: &[u8], little_endian: bool) -> String {
    let units = b.chunks_exact(2).map(|p| match p {
        [a, b] if little_endian => u16::from_le_bytes([*a, *b]),
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    });
    let units: Vec<u16> = units.take_while(|&u| u != 0).collect();
    String::from_utf16_lossy(&units)
}
