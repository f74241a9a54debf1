//! A small zlib/DEFLATE decoder (RFC 1950/1951) with an output cap, for PNG's zTXt, iTXt and
//! iCCP chunks. The cap is what makes a decompression bomb cost no more than its cap: decoding
//! stops as soon as the output would exceed it, and the caller reports the result as partial.

/// Why decoding stopped early.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The output reached the cap; what was decoded is returned.
    Capped,
    /// The stream is malformed or truncated.
    Corrupt,
}

/// Inflates a zlib stream into at most `cap` bytes. Returns the output and, if decoding did not
/// reach the end of the stream, why.
pub(crate) fn zlib(input: &[u8], cap: usize) -> (Vec<u8>, Option<Stop>) {
    let Some(body) = input.get(2..) else {
        return (Vec::new(), Some(Stop::Corrupt));
    };
    let (Some(&cmf), Some(&flg)) = (input.first(), input.get(1)) else {
        return (Vec::new(), Some(Stop::Corrupt));
    };
    if cmf & 0x0F != 8 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 || flg & 0x20 != 0 {
        return (Vec::new(), Some(Stop::Corrupt));
    }
    let mut d = Inflater {
        input: body,
        pos: 0,
        bits: 0,
        nbits: 0,
        out: Vec::new(),
        cap,
    };
    let stop = d.run().err();
    (d.out, stop)
}

struct Inflater<'a> {
    input: &'a [u8],
    pos: usize,
    bits: u64,
    nbits: u32,
    out: Vec<u8>,
    cap: usize,
}

/// A canonical Huffman code as counts per length and symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, Stop> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            *counts.get_mut(usize::from(l)).ok_or(Stop::Corrupt)? += 1;
        }
        counts[0] = 0;
        let mut offs = [0u16; 16];
        for i in 1..16 {
            offs[i] = offs[i - 1] + counts[i - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = offs.get_mut(usize::from(l)).ok_or(Stop::Corrupt)?;
                *symbols.get_mut(usize::from(*slot)).ok_or(Stop::Corrupt)? = sym as u16;
                *slot += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

impl Inflater<'_> {
    fn need(&mut self, n: u32) -> Result<(), Stop> {
        while self.nbits < n {
            let &b = self.input.get(self.pos).ok_or(Stop::Corrupt)?;
            self.pos += 1;
            self.bits |= u64::from(b) << self.nbits;
            self.nbits += 8;
        }
        Ok(())
    }

    fn take(&mut self, n: u32) -> Result<u32, Stop> {
        if n == 0 {
            return Ok(0);
        }
        self.need(n)?;
        let v = (self.bits & ((1u64 << n) - 1)) as u32;
        self.bits >>= n;
        self.nbits -= n;
        Ok(v)
    }

    fn decode(&mut self, h: &Huffman) -> Result<u16, Stop> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= self.take(1)? as i32;
            let count = i32::from(h.counts[len]);
            if code - count < first {
                let at = usize::try_from(index + (code - first)).map_err(|_| Stop::Corrupt)?;
                return h.symbols.get(at).copied().ok_or(Stop::Corrupt);
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err(Stop::Corrupt)
    }

    fn emit(&mut self, b: u8) -> Result<(), Stop> {
        if self.out.len() >= self.cap {
            return Err(Stop::Capped);
        }
        self.out.push(b);
        Ok(())
    }

    fn run(&mut self) -> Result<(), Stop> {
        loop {
            let last = self.take(1)?;
            match self.take(2)? {
                0 => self.stored()?,
                1 => {
                    let mut l = [0u8; 288];
                    l[..144].fill(8);
                    l[144..256].fill(9);
                    l[256..280].fill(7);
                    l[280..].fill(8);
                    let lit = Huffman::new(&l)?;
                    let dist = Huffman::new(&[5u8; 30])?;
                    self.codes(&lit, &dist)?;
                }
                2 => {
                    let (lit, dist) = self.dynamic()?;
                    self.codes(&lit, &dist)?;
                }
                _ => return Err(Stop::Corrupt),
            }
            if last == 1 {
                return Ok(());
            }
        }
    }

    fn stored(&mut self) -> Result<(), Stop> {
        self.bits = 0;
        self.nbits = 0;
        let h = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or(Stop::Corrupt)?;
        let len = u16::from_le_bytes([h[0], h[1]]);
        let nlen = u16::from_le_bytes([h[2], h[3]]);
        if len != !nlen {
            return Err(Stop::Corrupt);
        }
        self.pos += 4;
        for _ in 0..len {
            let &b = self.input.get(self.pos).ok_or(Stop::Corrupt)?;
            self.pos += 1;
            self.emit(b)?;
        }
        Ok(())
    }

    fn dynamic(&mut self) -> Result<(Huffman, Huffman), Stop> {
        const ORDER: [usize; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];
        let nlen = self.take(5)? as usize + 257;
        let ndist = self.take(5)? as usize + 1;
        let ncode = self.take(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return Err(Stop::Corrupt);
        }
        let mut cl = [0u8; 19];
        for &i in ORDER.iter().take(ncode) {
            cl[i] = self.take(3)? as u8;
        }
        let clh = Huffman::new(&cl)?;
        let mut lengths = vec![0u8; nlen + ndist];
        let mut i = 0;
        while i < nlen + ndist {
            let sym = self.decode(&clh)?;
            let (value, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => {
                    let prev = *lengths
                        .get(i.checked_sub(1).ok_or(Stop::Corrupt)?)
                        .ok_or(Stop::Corrupt)?;
                    (prev, 3 + self.take(2)? as usize)
                }
                17 => (0, 3 + self.take(3)? as usize),
                _ => (0, 11 + self.take(7)? as usize),
            };
            for _ in 0..repeat {
                *lengths.get_mut(i).ok_or(Stop::Corrupt)? = value;
                i += 1;
            }
        }
        let lit = Huffman::new(lengths.get(..nlen).ok_or(Stop::Corrupt)?)?;
        let dist = Huffman::new(lengths.get(nlen..).ok_or(Stop::Corrupt)?)?;
        Ok((lit, dist))
    }

    fn codes(&mut self, lit: &Huffman, dist: &Huffman) -> Result<(), Stop> {
        loop {
            let sym = self.decode(lit)?;
            match sym {
                0..=255 => self.emit(sym as u8)?,
                256 => return Ok(()),
                _ => {
                    let i = usize::from(sym - 257);
                    let len = usize::from(*LEN_BASE.get(i).ok_or(Stop::Corrupt)?)
                        + self.take(u32::from(LEN_EXTRA[i]))? as usize;
                    let ds = usize::from(self.decode(dist)?);
                    let d = usize::from(*DIST_BASE.get(ds).ok_or(Stop::Corrupt)?)
                        + self.take(u32::from(*DIST_EXTRA.get(ds).ok_or(Stop::Corrupt)?))? as usize;
                    let start = self.out.len().checked_sub(d).ok_or(Stop::Corrupt)?;
                    for k in 0..len {
                        let b = *self.out.get(start + k).ok_or(Stop::Corrupt)?;
                        self.emit(b)?;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_and_fixed_blocks() {
        // zlib of "hello hello hello" made by Python's zlib.compress (fixed Huffman).
        let z = [
            0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x3a, 0x2e,
            0x06, 0x7d,
        ];
        let (out, stop) = zlib(&z, 100);
        assert_eq!(stop, None);
        assert_eq!(out, b"hello hello hello");
        let (capped, stop) = zlib(&z, 5);
        assert_eq!(stop, Some(Stop::Capped));
        assert_eq!(capped, b"hello");
        let stored = [0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, b'h', b'i'];
        assert_eq!(zlib(&stored, 10).0, b"hi");
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for n in 0..64u8 {
            let g: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            let mut z = vec![0x78, 0x9c];
            z.extend(g);
            let _ = zlib(&z, 1000);
        }
    }
}
