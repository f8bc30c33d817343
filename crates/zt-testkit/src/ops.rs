//! Operations on an organization, honest and hostile, for property tests and fuzzing.
//!
//! Small integers pick agents, requests and registrations modulo what exists, so that any
//! bytes (fuzzing) or any generated values (proptest) make a meaningful sequence.

use arbitrary::Arbitrary;
use proptest::prelude::*;

/// How many agents an organization in a sequence has.
pub const AGENTS: u8 = 5;

/// An agent index meaning "the owner of the most recent recovery registration".
pub const RECOVERY_OWNER: u8 = u8::MAX;

/// A role the host may set.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChoice {
    /// `member`.
    Member,
    /// `admin`.
    Admin,
    /// `super-admin`.
    SuperAdmin,
    /// Removed from the organization.
    Removed,
}

/// How a hostile entry is made from an honest one.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    /// Flip one bit of a signature.
    FlipSignatureBit(u16),
    /// Flip one bit of the signed bytes (header or body).
    FlipSignedBit(u16),
    /// Name another organization.
    OtherOrganization,
    /// Name the next epoch.
    NextEpoch,
    /// Take a position that is already taken.
    StaleHead,
    /// Chain to the wrong previous entry.
    WrongPrev,
    /// Claim a time an hour from the server's clock.
    ClockSkew,
}

/// One step of a sequence.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The host sets an agent's role.
    SetRole {
        /// Agent index.
        agent: u8,
        /// The role.
        role: RoleChoice,
        /// Allow removing the last approver.
        force: bool,
    },
    /// The epoch's first key.
    FirstKey {
        /// Agent index.
        agent: u8,
    },
    /// A key request.
    Request {
        /// Agent index.
        agent: u8,
    },
    /// An approver judges a request: approval if the code matched, else a mismatch report.
    Judge {
        /// Approver index (may be the requester, or a member: hostile).
        approver: u8,
        /// Request pick.
        request: u8,
        /// Whether the code the approver was told matched.
        code_matched: bool,
    },
    /// An approver is told a wrong code several times in a row.
    WrongCodes {
        /// Approver index.
        approver: u8,
        /// Request pick.
        request: u8,
        /// How many times (1 to 6).
        count: u8,
    },
    /// An approver rejects a request.
    Reject {
        /// Approver index.
        approver: u8,
        /// Request pick.
        request: u8,
    },
    /// An agent changes their key.
    Change {
        /// Agent index.
        agent: u8,
    },
    /// A revocation.
    Revoke {
        /// Who revokes.
        revoker: u8,
        /// Whose key.
        subject: u8,
        /// Allow removing the last approver.
        force: bool,
    },
    /// A recovery registration.
    RegisterRecovery {
        /// Agent index.
        agent: u8,
    },
    /// A reset with a recovery file (current, replaced, spent or someone else's).
    RecoveryReset {
        /// Agent index.
        agent: u8,
        /// Registration pick among all ever made.
        registration: u8,
    },
    /// An approver sets the prompt policy.
    SetPolicy {
        /// Admin index.
        admin: u8,
        /// Policy bits (each-task is added).
        bits: u8,
    },
    /// Support resets the organization.
    ResetOrganization,
    /// An honest step, made hostile.
    Forge {
        /// The step.
        op: Box<Op>,
        /// How it is corrupted.
        how: Forgery,
    },
    /// An agent requests a new key and an approver approves or rejects it at once (two
    /// steps).
    Rekey {
        /// Agent index.
        agent: u8,
        /// Approver index.
        approver: u8,
        /// Reject instead of approving.
        reject: bool,
    },
    /// An agent requests a key that was already registered in this epoch.
    ReuseKey {
        /// Agent index.
        agent: u8,
        /// Key pick among the epoch's keys.
        key: u8,
    },
    /// An approver approves a request with the same id whose key a server swapped.
    ApproveSubstituted {
        /// Approver index.
        approver: u8,
        /// Request pick.
        request: u8,
    },
    /// Resubmit an accepted entry.
    Replay {
        /// Entry pick.
        entry: u16,
    },
    /// Time passes.
    Tick {
        /// Seconds.
        seconds: u16,
    },
}

fn agent_index() -> impl Strategy<Value = u8> {
    0..AGENTS
}

/// Any agent, or often the owner of the latest recovery registration.
fn subject_index() -> impl Strategy<Value = u8> {
    prop_oneof![2 => 0..AGENTS, 1 => Just(RECOVERY_OWNER)]
}

/// Mostly agents 0 and 1 (the admins of [`populated_prologue`]), sometimes anyone.
fn approver_index() -> impl Strategy<Value = u8> {
    prop_oneof![3 => 0..2u8, 1 => 0..AGENTS]
}

fn role_choice() -> impl Strategy<Value = RoleChoice> {
    prop_oneof![
        1 => Just(RoleChoice::Member),
        3 => Just(RoleChoice::Admin),
        1 => Just(RoleChoice::SuperAdmin),
        1 => Just(RoleChoice::Removed),
    ]
}

fn forgery() -> impl Strategy<Value = Forgery> {
    prop_oneof![
        any::<u16>().prop_map(Forgery::FlipSignatureBit),
        any::<u16>().prop_map(Forgery::FlipSignedBit),
        Just(Forgery::OtherOrganization),
        Just(Forgery::NextEpoch),
        Just(Forgery::StaleHead),
        Just(Forgery::WrongPrev),
        Just(Forgery::ClockSkew),
    ]
}

/// An honest step.
pub fn honest_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (agent_index(), role_choice(), any::<bool>())
            .prop_map(|(agent, role, force)| Op::SetRole { agent, role, force }),
        3 => agent_index().prop_map(|agent| Op::FirstKey { agent }),
        5 => agent_index().prop_map(|agent| Op::Request { agent }),
        8 => (approver_index(), any::<u8>(), prop::bool::weighted(0.6))
            .prop_map(|(approver, request, code_matched)| Op::Judge { approver, request, code_matched }),
        3 => (approver_index(), any::<u8>()).prop_map(|(approver, request)| Op::Reject { approver, request }),
        2 => (approver_index(), any::<u8>(), 1..=6u8)
            .prop_map(|(approver, request, count)| Op::WrongCodes { approver, request, count }),
        2 => agent_index().prop_map(|agent| Op::Change { agent }),
        4 => (subject_index(), approver_index(), prop::bool::weighted(0.35))
            .prop_map(|(agent, approver, reject)| Op::Rekey { agent, approver, reject }),
        2 => (approver_index(), subject_index(), any::<bool>())
            .prop_map(|(revoker, subject, force)| Op::Revoke { revoker, subject, force }),
        3 => agent_index().prop_map(|agent| Op::RegisterRecovery { agent }),
        4 => (subject_index(), any::<u8>())
            .prop_map(|(agent, registration)| Op::RecoveryReset { agent, registration }),
        2 => (approver_index(), any::<u8>()).prop_map(|(admin, bits)| Op::SetPolicy { admin, bits }),
        1 => Just(Op::ResetOrganization),
        1 => any::<u16>().prop_map(|seconds| Op::Tick { seconds }),
    ]
}

/// Any step, hostile ones included.
pub fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => honest_op(),
        1 => (honest_op(), forgery()).prop_map(|(op, how)| Op::Forge { op: Box::new(op), how }),
        1 => any::<u16>().prop_map(|entry| Op::Replay { entry }),
        1 => (agent_index(), any::<u8>()).prop_map(|(approver, request)| Op::ApproveSubstituted { approver, request }),
        1 => (agent_index(), any::<u8>()).prop_map(|(agent, key)| Op::ReuseKey { agent, key }),
    ]
}

/// An honest start: agents 0 and 1 admins, agents 0 to 3 with active keys (0 is the
/// first key; the others approved by an admin).
pub fn populated_prologue() -> Vec<Op> {
    let approve = |approver| Op::Judge {
        approver,
        request: 2,
        code_matched: true,
    };
    vec![
        Op::SetRole {
            agent: 0,
            role: RoleChoice::Admin,
            force: false,
        },
        Op::SetRole {
            agent: 1,
            role: RoleChoice::SuperAdmin,
            force: false,
        },
        Op::FirstKey { agent: 0 },
        Op::Request { agent: 1 },
        approve(0),
        Op::Request { agent: 2 },
        approve(1),
        Op::Request { agent: 3 },
        approve(0),
    ]
}

/// A sequence of up to `max_len` steps; half start from [`populated_prologue`].
pub fn sequence(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    (any::<bool>(), prop::collection::vec(any_op(), 1..max_len)).prop_map(|(populated, ops)| {
        if populated {
            populated_prologue().into_iter().chain(ops).collect()
        } else {
            ops
        }
    })
}
