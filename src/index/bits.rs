//! A fixed-size bit set over row ordinals: what a filter evaluates to.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    pub fn empty(len: usize) -> Self {
        Bits {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub fn full(len: usize) -> Self {
        let mut bits = Bits {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        bits.clear_tail();
        bits
    }

    #[cfg(test)]
    pub fn from_ordinals(len: usize, ordinals: &[u32]) -> Self {
        let mut bits = Bits::empty(len);
        bits.set_all(ordinals);
        bits
    }

    fn clear_tail(&mut self) {
        let extra = self.words.len() * 64 - self.len;
        if extra > 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= u64::MAX >> extra;
        }
    }

    /// Grows to `len` bits, the new ones clear.
    pub fn grow(&mut self, len: usize) {
        if len > self.len {
            self.words.resize(len.div_ceil(64), 0);
            self.len = len;
        }
    }

    pub fn shrink(&mut self) {
        self.words.shrink_to_fit();
    }

    pub fn set(&mut self, i: u32) {
        let i = i as usize;
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    pub fn clear(&mut self, i: u32) {
        let i = i as usize;
        if i < self.len {
            self.words[i / 64] &= !(1 << (i % 64));
        }
    }

    pub fn set_all(&mut self, ordinals: &[u32]) {
        for &i in ordinals {
            self.set(i);
        }
    }

    pub fn get(&self, i: u32) -> bool {
        let i = i as usize;
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub fn and_with(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// ORs `other` in; bits past its end count as clear.
    pub fn or_with(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    pub fn invert(&mut self) {
        for w in &mut self.words {
            *w = !*w;
        }
        self.clear_tail();
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.ones_from(0)
    }

    /// The set bits at `start` and after, skipping the words before it.
    pub fn ones_from(&self, start: u32) -> impl Iterator<Item = u32> + '_ {
        let first = (start / 64) as usize;
        let skip = self.words.len().min(first);
        self.words[skip..]
            .iter()
            .enumerate()
            .map(move |(i, &word)| {
                let i = i + skip;
                // Bits before `start` in its own word are masked off.
                let word = if i == first {
                    word & (!0u64 << (start % 64))
                } else {
                    word
                };
                (i, word)
            })
            .flat_map(|(i, word)| {
                let mut w = word;
                std::iter::from_fn(move || {
                    if w == 0 {
                        return None;
                    }
                    let bit = w.trailing_zeros();
                    w &= w - 1;
                    Some((i * 64) as u32 + bit)
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let mut a = Bits::from_ordinals(130, &[0, 5, 64, 129]);
        let b = Bits::from_ordinals(130, &[5, 129]);
        assert_eq!(a.count(), 4);
        a.and_with(&b);
        assert_eq!(a.ones().collect::<Vec<_>>(), vec![5, 129]);
        let c = Bits::from_ordinals(200, &[3, 63, 64, 100, 199]);
        assert_eq!(c.ones_from(64).collect::<Vec<_>>(), vec![64, 100, 199]);
        assert_eq!(c.ones_from(65).collect::<Vec<_>>(), vec![100, 199]);
        assert_eq!(c.ones_from(4).collect::<Vec<_>>(), vec![63, 64, 100, 199]);
        assert_eq!(c.ones_from(500).count(), 0);
        a.invert();
        assert_eq!(a.count(), 128);
        assert!(!a.get(5) && a.get(6) && !a.get(130));
        let mut full = Bits::full(70);
        assert_eq!(full.count(), 70);
        full.grow(200);
        assert_eq!(full.count(), 70);
        full.set(199);
        assert!(full.get(199));
    }
}

/// The rows having some value: a sorted list while few, a bit set once they are more than one
/// row in 32 (where the bit set is the smaller, and combining it is a word-wise OR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posting {
    Sparse(Vec<u32>),
    Dense(Bits),
}

impl Default for Posting {
    fn default() -> Self {
        Posting::Sparse(Vec::new())
    }
}

impl Posting {
    /// Adds a row numbered above every row already in.
    pub fn push(&mut self, row: u32) {
        match self {
            Posting::Sparse(list) => {
                list.push(row);
                if list.len() >= 256 && list.len() * 32 > row as usize {
                    let mut bits = Bits::empty(row as usize + 1);
                    bits.set_all(list);
                    *self = Posting::Dense(bits);
                }
            }
            Posting::Dense(bits) => {
                bits.grow(row as usize + 1);
                bits.set(row);
            }
        }
    }

    /// ORs these rows into `bits`.
    pub fn add_to(&self, bits: &mut Bits) {
        match self {
            Posting::Sparse(list) => bits.set_all(list),
            Posting::Dense(dense) => bits.or_with(dense),
        }
    }

    pub fn rows(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            Posting::Sparse(list) => Box::new(list.iter().copied()),
            Posting::Dense(bits) => Box::new(bits.ones()),
        }
    }

    pub fn shrink(&mut self) {
        match self {
            Posting::Sparse(list) => list.shrink_to_fit(),
            Posting::Dense(bits) => bits.shrink(),
        }
    }
}
