//! DESIGN.md §6 as properties: random command sequences, hostile ones included, run
//! against zt-core and a reference model side by side (zt-testkit). 3,000 cases by default
//! (mutation runs showed some five-step bugs need that many); `PROPTEST_CASES` raises it.

#![allow(
    clippy::disallowed_methods,
    reason = "a test may read files and the environment; zt-core itself does not"
)]
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use zt_testkit::ops::sequence;
use zt_testkit::run::check_sequence;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(3000)
        .max(1000)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/lifecycle_properties.proptest-regressions",
        ))),
        ..Config::default()
    })]

    #[test]
    fn every_sequence_keeps_the_properties(seed in any::<u64>(), ops in sequence(60)) {
        if let Err(problem) = check_sequence(seed, &ops) {
            prop_assert!(false, "{}", problem);
        }
    }
}

/// The generator reaches every flow: across 200 sequences of the property test's shape,
/// every kind of step is both accepted and refused, and hostile steps are all refused.
#[test]
fn sequences_exercise_every_flow() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut total = zt_testkit::run::Stats::default();
    for seed in 0..200 {
        let ops = sequence(60).new_tree(&mut runner).unwrap().current();
        total.add(&check_sequence(seed, &ops).unwrap());
    }
    eprintln!("{total:#?}");
    for kind in [
        "set-role",
        "first-key",
        "request",
        "approve",
        "wrong-code",
        "reject",
        "change",
        "revoke",
        "register-recovery",
        "recovery-reset",
        "set-policy",
    ] {
        let (accepted, refused) = total.by_kind.get(kind).copied().unwrap_or_default();
        assert!(
            accepted >= 10 && refused >= 10,
            "{kind}: {accepted} accepted, {refused} refused"
        );
    }
    for kind in ["forged", "reuse-key", "approve-substituted", "replay"] {
        let (accepted, refused) = total.by_kind.get(kind).copied().unwrap_or_default();
        assert!(
            accepted == 0 && refused >= 100,
            "{kind}: {accepted} accepted, {refused} refused"
        );
    }
    assert!(
        total.log_checks >= 400,
        "only {} log checks",
        total.log_checks
    );
}
