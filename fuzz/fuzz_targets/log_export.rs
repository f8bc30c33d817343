//! The log export parser (spec §5.5): never panics, and what it accepts is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = zt_core::decode_log_export(data) {
        assert_eq!(
            zt_core::encode_log_export(&entries).as_bytes(),
            data,
            "an accepted export must be canonical"
        );
    }
});
