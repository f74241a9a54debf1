//! Any bytes through the metadata reader and both output shapes: no panic, and libFuzzer's
//! -timeout / -rss_limit_mb catch slow or hungry inputs. Seed it with the corpus images, which
//! gives the container walks something to start from:
//!
//!   cargo install cargo-fuzz
//!   mkdir -p fuzz/corpus/read && cp ../../../shared/corpus/*.{jpg,png,webp,heic,HEIC,avif,tif,tiff,mp4,mov,webm,mp3,wav,gif} fuzz/corpus/read/
//!   cd fuzz && cargo fuzz run read --sanitizer none -- -max_len=262144 -max_total_time=600 -rss_limit_mb=256
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let out = embedded_meta::read(&mut std::io::Cursor::new(data), len);
    let _ = (out.exif_sections(), out.flat());
});
