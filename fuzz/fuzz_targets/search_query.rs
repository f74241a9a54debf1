//! Any text up to the fuzzer's -max_len through the searchQuery parser and binder: no panic,
//! and libFuzzer's -timeout / -rss_limit_mb catch slow or hungry inputs.
//!
//!   cargo install cargo-fuzz
//!   cd fuzz && cargo fuzz run search_query --sanitizer none -- -max_len=10240 -max_total_time=600
#![no_main]

use kura::model::Timestamp;
use kura::model::search::SearchFilter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = SearchFilter::parse(&text, Timestamp::from_millis(1_700_000_000_000), &Default::default());
});
