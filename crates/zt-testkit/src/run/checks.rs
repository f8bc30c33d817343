//! The properties of DESIGN.md §6, checked after every step.

use std::collections::{BTreeMap, BTreeSet};

use zt_core::{
    verify_log_with, AgentId, KeyId, KeyStatus, LogEntry, LogReplay, OrgState, Statement,
    StatementKind, VerifyMode,
};

use super::Runner;

impl Runner {
    /// DESIGN.md §6, properties 1 to 3, and the model's view, after a step.
    pub(super) fn check_properties(&mut self, before: &OrgState) -> Result<(), String> {
        let state = &self.world.state;
        // §6.1: at most one active key per agent.
        let mut active_per_agent: BTreeMap<AgentId, usize> = BTreeMap::new();
        for (_, info) in state.keys() {
            if matches!(info.status, KeyStatus::Active(_)) {
                *active_per_agent.entry(info.agent).or_default() += 1;
            }
        }
        if let Some((agent, count)) = active_per_agent.iter().find(|(_, n)| **n > 1) {
            return Err(format!("agent {agent} has {count} active keys"));
        }
        // The model and the state agree on who holds which key.
        if state.active_keys() != self.model.active {
            return Err(format!(
                "active keys differ: state {:?}, model {:?}",
                state.active_keys(),
                self.model.active
            ));
        }
        // §6.1: exactly one first key per epoch.
        let first_keys = self
            .world
            .epoch_log()
            .iter()
            .filter(|entry| entry.kind() == StatementKind::FirstKey)
            .count();
        if first_keys != usize::from(self.model.has_first_key) {
            return Err(format!("{first_keys} first keys in this epoch"));
        }
        // §6.3: terminal states never change.
        let epoch = state.epoch().0;
        for (key, info) in state.keys() {
            if let Some(old) = self.history.get(&(epoch, key)) {
                if old.is_terminal() && *old != info.status {
                    return Err(format!(
                        "key {key} left terminal state {old:?} for {:?}",
                        info.status
                    ));
                }
            }
            self.history.insert((epoch, key), info.status);
        }
        // The views a store keeps, maintained entry by entry, equal a fresh fold.
        let fresh = crate::world::Views::of(state);
        let views = &self.world.views;
        if views.statuses != fresh.statuses
            || views.pending != fresh.pending
            || views.recovery != fresh.recovery
        {
            return Err("the views maintained from changes() differ from a fresh fold".into());
        }
        // §6.2 and §6.3: a key became active only by one of the four paths, each checked
        // against the state before the step.
        if let Some(entry) = self
            .world
            .log
            .last()
            .filter(|_| state.head().next_seq != before.head().next_seq)
        {
            check_activation(before, state, entry)?;
        }
        Ok(())
    }

    /// §6.4: replaying the current epoch's log from its root, offline, gives the state.
    pub fn check_log(&mut self) -> Result<(), String> {
        // A server's load of its whole log, across epochs, gives exactly its state.
        let reloaded = OrgState::replay(&self.world.log, VerifyMode::Batch)
            .map_err(|error| format!("the whole log fails to replay: {error}"))?;
        if reloaded != self.world.state {
            return Err("OrgState::replay of the whole log differs from the state".into());
        }
        // The same load in parts (as a server loads a long log) gives it too.
        let (first, rest) = self.world.log.split_first().ok_or("the log is empty")?;
        let mut parts = LogReplay::begin(first)
            .map_err(|error| format!("the log's first entry fails to replay: {error}"))?;
        for entries in rest.chunks(3) {
            parts = parts
                .extend(entries, VerifyMode::Batch)
                .map_err(|error| format!("the log fails to replay in parts: {error}"))?;
        }
        if parts.finish() != self.world.state {
            return Err("LogReplay of the log in parts differs from the state".into());
        }
        let Some(root) = self.world.state.trust_root() else {
            return Ok(());
        };
        for mode in [VerifyMode::Batch, VerifyMode::Strict] {
            let verified = verify_log_with(&root, self.world.epoch_log(), mode)
                .map_err(|error| format!("the server's own log fails verification: {error}"))?;
            let state = verified.state();
            let mine = &self.world.state;
            if verified.active_keys() != mine.active_keys()
                || state.keys().collect::<Vec<_>>() != mine.keys().collect::<Vec<_>>()
                || state.pending_requests().collect::<Vec<_>>()
                    != mine.pending_requests().collect::<Vec<_>>()
                || state.prompt_policy() != mine.prompt_policy()
                || state.head() != mine.head()
            {
                return Err(format!("log replay ({mode:?}) and state machine disagree"));
            }
        }
        self.stats.log_checks += 1;
        Ok(())
    }

    /// After a reset: the old epoch's log, from its root, verifies as closed with no keys.
    pub(super) fn check_closed_epoch(
        &mut self,
        root: Option<zt_core::TrustRoot>,
        start: usize,
    ) -> Result<(), String> {
        let Some(root) = root else { return Ok(()) };
        let end = self.world.epoch_start + 1;
        let verified = zt_core::verify_log(&root, &self.world.log[start..end])
            .map_err(|error| format!("closed epoch fails verification: {error}"))?;
        if verified.closed_at().is_none() || !verified.active_keys().is_empty() {
            return Err("a reset did not close the previous epoch".into());
        }
        self.stats.log_checks += 1;
        Ok(())
    }
}

/// §6.2, §6.3: a key becomes active only as the epoch's first key, by an approval from
/// another agent's active approver key, by a change signed by the agent's active key, or by
/// a reset signed by the agent's registered recovery key. Checked against the state before.
fn check_activation(before: &OrgState, after: &OrgState, entry: &LogEntry) -> Result<(), String> {
    let old: BTreeSet<KeyId> = before.active_keys().into_values().collect();
    let newly: Vec<KeyId> = after
        .active_keys()
        .into_values()
        .filter(|key| !old.contains(key))
        .collect();
    if newly.is_empty() {
        return Ok(());
    }
    if newly.len() > 1 {
        return Err("one entry activated two keys".into());
    }
    match entry.statement() {
        Statement::FirstKey(_) if before.root().is_none() => Ok(()),
        Statement::Approval(judgement) => {
            let approver_key = before.active_key(judgement.approver).map(|(key, _)| key);
            if judgement.approver == judgement.subject {
                Err("self-approval accepted".into())
            } else if !before.role(judgement.approver).can_approve() {
                Err(format!("approval by a {}", before.role(judgement.approver)))
            } else if approver_key != Some(judgement.approver_key) {
                Err("approval by a key that is not the approver's active key".into())
            } else {
                Ok(())
            }
        }
        Statement::KeyChange(change) => match before.active_key(change.agent) {
            Some((key, _)) if key == change.old_key => Ok(()),
            _ => Err("key change not signed by the active key".into()),
        },
        Statement::RecoveryReset(reset) => match before.recovery(reset.agent) {
            Some(info) if info.registration == reset.registration => Ok(()),
            _ => Err("recovery reset without the current registration".into()),
        },
        _ => Err(format!("a {} statement activated a key", entry.kind())),
    }
}
