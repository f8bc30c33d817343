//! The log-entry decoder (spec §4): never panics; an accepted entry re-encodes to the same
//! bytes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_core::LogEntry;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = LogEntry::decode(data) {
        assert_eq!(entry.encoded(), data);
        let again = LogEntry::decode(entry.encoded()).expect("re-decodes");
        assert_eq!(again, entry);
        assert_eq!(again.hash(), entry.hash());
    }
});
