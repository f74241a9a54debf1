use std::fmt;

/// The 24-hex-digit identifier ImageKit uses for files, versions, folders and jobs.
///
/// 6 bytes of creation time in milliseconds, 3 bytes of a per-process counter, 3 random bytes:
/// ids sort by age (B-tree inserts stay local, and ties in a timestamp keep creation order
/// within a process), and cannot be guessed from each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(String);

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl AssetId {
    pub fn generate() -> Self {
        let millis = crate::model::Timestamp::now().millis() as u64;
        let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut random = [0u8; 3];
        fill_random(&mut random);
        let mut bytes = [0u8; 12];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6..9].copy_from_slice(&count.to_be_bytes()[1..]);
        bytes[9..].copy_from_slice(&random);
        AssetId(hex::encode(bytes))
    }

    /// Accepts only the canonical form, so a malformed id is told apart from a missing one.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == 24
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| AssetId(text.to_owned()))
    }

    /// For ids read back from the store, which only ever holds ids this type produced.
    pub fn from_stored(text: String) -> Self {
        AssetId(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Random bytes from the operating system. Failing to get them means the process cannot make
/// safe identifiers or keys at all, so this aborts instead of degrading.
pub fn fill_random(buf: &mut [u8]) {
    if let Err(err) = getrandom::fill(buf) {
        panic!("the operating system's random source failed: {err}");
    }
}

/// `len` characters from `[A-Za-z0-9]`, for unique-name suffixes and generated keys.
pub fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill_random(&mut buf);
        for &b in &buf {
            // 248 = 4 * 62: rejecting the top of the range keeps every character equally likely.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_canonical_and_ordered_by_time() {
        let ids: Vec<AssetId> = (0..1000).map(|_| AssetId::generate()).collect();
        assert!(ids.iter().all(|id| AssetId::parse(id.as_str()).is_some()));
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids made in order sort in order"
        );
    }

    #[test]
    fn parse_rejects_non_canonical_ids() {
        assert!(AssetId::parse("598821f949c0a938d57563bd").is_some());
        assert!(AssetId::parse("598821F949C0A938D57563BD").is_none());
        assert!(AssetId::parse("598821f949c0a938d57563b").is_none());
        assert!(AssetId::parse("../etc/passwd00000000000").is_none());
    }

    #[test]
    fn alphanumeric_has_requested_length_and_alphabet() {
        let s = random_alphanumeric(9);
        assert_eq!(s.len(), 9);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
