//! The recovery-file parser (spec §8.3): never panics, and what it accepts is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_core::RecoveryFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = RecoveryFile::parse(data) {
        assert_eq!(file.to_text().as_bytes(), data, "an accepted file must be canonical");
    }
});
