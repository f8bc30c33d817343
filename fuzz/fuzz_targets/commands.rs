//! Command sequences (spec §6): zt-core and the reference model agree on every step, and
//! DESIGN.md §6's properties hold after each (zt_testkit::run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_testkit::ops::Op;
use zt_testkit::run::check_sequence;

fuzz_target!(|input: (u64, Vec<Op>)| {
    let (seed, ops) = input;
    if let Err(problem) = check_sequence(seed, &ops[..ops.len().min(80)]) {
        panic!("{problem}");
    }
});
