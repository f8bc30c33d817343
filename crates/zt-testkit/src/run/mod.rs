//! Runs a sequence of operations against zt-core and the reference model side by side, and
//! checks the properties of DESIGN.md §6 after every step.
//!
//! `perform.rs` carries out one step on both; `checks.rs` holds the properties.

mod checks;
mod perform;

use std::collections::BTreeMap;

use zt_core::{Command, KeyId, KeyStatus, LogEntry};

use crate::model::Model;
use crate::ops::Op;
use crate::world::World;

/// What a sequence did, for reports and for checking that tests exercise something.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// (accepted, refused) per kind of step.
    pub by_kind: BTreeMap<&'static str, (usize, usize)>,
    /// Steps accepted by zt-core.
    pub accepted: usize,
    /// Steps refused by zt-core (and by the model).
    pub refused: usize,
    /// Hostile steps (all refused).
    pub hostile: usize,
    /// Log verifications compared with the state.
    pub log_checks: usize,
}

/// Runs `ops` on a fresh organization seeded with `seed`; `Err` describes the first
/// property that broke.
pub fn check_sequence(seed: u64, ops: &[Op]) -> Result<Stats, String> {
    let mut runner = Runner::new(seed);
    for (index, op) in ops.iter().enumerate() {
        runner
            .step(op)
            .map_err(|problem| format!("step {index} {op:?}: {problem}"))?;
        if index % 10 == 9 {
            runner.check_log()?;
        }
    }
    runner.check_log()?;
    Ok(runner.stats)
}

impl Stats {
    /// Adds another sequence's counts.
    pub fn add(&mut self, other: &Stats) {
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.hostile += other.hostile;
        self.log_checks += other.log_checks;
        for (kind, (accepted, refused)) in &other.by_kind {
            let counts = self.by_kind.entry(kind).or_default();
            counts.0 += accepted;
            counts.1 += refused;
        }
    }
}

/// The name of a step's kind.
pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::SetRole { .. } => "set-role",
        Op::FirstKey { .. } => "first-key",
        Op::Request { .. } => "request",
        Op::Judge {
            code_matched: true, ..
        } => "approve",
        Op::Judge {
            code_matched: false,
            ..
        } => "wrong-code",
        Op::WrongCodes { .. } => "wrong-codes",
        Op::Rekey { .. } => "rekey",
        Op::Reject { .. } => "reject",
        Op::Change { .. } => "change",
        Op::Revoke { .. } => "revoke",
        Op::RegisterRecovery { .. } => "register-recovery",
        Op::RecoveryReset { .. } => "recovery-reset",
        Op::SetPolicy { .. } => "set-policy",
        Op::ResetOrganization => "reset-organization",
        Op::Forge { .. } => "forged",
        Op::ReuseKey { .. } => "reuse-key",
        Op::ApproveSubstituted { .. } => "approve-substituted",
        Op::Replay { .. } => "replay",
        Op::Tick { .. } => "tick",
    }
}

/// zt-core and the model, in step.
#[derive(Debug)]
pub struct Runner {
    /// The real organization.
    pub world: World,
    /// The reference model.
    pub model: Model,
    /// Counts.
    pub stats: Stats,
    /// Every key status ever seen, to check that terminal states never change.
    history: BTreeMap<(u32, KeyId), KeyStatus>,
}

impl Runner {
    /// A fresh organization.
    pub fn new(seed: u64) -> Runner {
        Runner {
            world: World::new(seed),
            model: Model::default(),
            stats: Stats::default(),
            history: BTreeMap::new(),
        }
    }

    /// Runs one step and checks every property.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        if let Op::WrongCodes {
            approver,
            request,
            count,
        } = op
        {
            // The same pick resolves to the same request each time: judgements add none.
            let judge = Op::Judge {
                approver: *approver,
                request: *request,
                code_matched: false,
            };
            for _ in 0..(*count).max(1) {
                self.step(&judge)?;
            }
            return Ok(());
        }
        if let Op::Rekey {
            agent,
            approver,
            reject,
        } = op
        {
            // `request: 2` picks the most recent request: the one just made.
            self.step(&Op::Request { agent: *agent })?;
            let (approver, request) = (*approver, 2);
            return self.step(&if *reject {
                Op::Reject { approver, request }
            } else {
                Op::Judge {
                    approver,
                    request,
                    code_matched: true,
                }
            });
        }
        let before = self.world.state.clone();
        let log_len = self.world.log.len();
        let Some((expected, accepted)) = self.run(op)? else {
            return Ok(());
        };
        let counts = self.stats.by_kind.entry(op_name(op)).or_default();
        if accepted {
            counts.0 += 1;
            self.stats.accepted += 1;
        } else {
            counts.1 += 1;
            self.stats.refused += 1;
            if self.world.state != before || self.world.log.len() != log_len {
                return Err("a refused command changed the state".into());
            }
        }
        if expected != accepted {
            return Err(format!(
                "model expected accepted={expected}, zt-core said accepted={accepted}"
            ));
        }
        self.check_properties(&before)
    }
}

/// The entry an agent command carries.
pub fn entry_of(command: &Command) -> &LogEntry {
    command.entry().expect("an agent command")
}
