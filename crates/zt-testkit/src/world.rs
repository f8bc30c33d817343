//! An organization run in-process: the host, its agents' keys, the log, the clock.
//!
//! Keys come from [`AgentKeys::from_stretched`] with random bytes, skipping Argon2id, so that
//! thousands of flows run in seconds. Everything else is the real zt-core.

use std::collections::BTreeMap;

use rand_chacha::rand_core::{CryptoRngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zt_core::{
    AccessSecret, AgentId, AgentKeys, Command, Context, Effect, EntryBuilder, Head, HostKey,
    KdfParams, KeyId, LogEntry, OrgId, OrgState, PromptPolicy, RecoveryKeys, Refusal,
    RegistrationId, RequestId, Role, Salt, Statement, TaskAuthorization, TaskBinding, UnixTime,
    VerifiedLog,
};

/// The clock of a new world: 2026-11-23T00:00:00Z.
pub const START: UnixTime = UnixTime(1_795_392_000);

/// The agent with a small index, as tests name agents.
pub fn agent(index: u8) -> AgentId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xa9;
    bytes[15] = index;
    AgentId::from_bytes(bytes)
}

/// What an approver does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The code matched: approve.
    Approve,
    /// Reject the request.
    Reject,
    /// The code did not match: report it.
    WrongCode,
}

/// Agent number `n`, for organizations larger than the small indices of [`agent`].
pub fn agent_n(n: u32) -> AgentId {
    let mut bytes = [0u8; 16];
    bytes[0] = 0xa9;
    bytes[12..].copy_from_slice(&n.to_be_bytes());
    AgentId::from_bytes(bytes)
}

/// The views a store keeps, maintained from [`zt_core::OrgState::changes`] after every
/// accepted command; tests compare them with a fresh fold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Views {
    /// Status of every agent the log names.
    pub statuses: BTreeMap<AgentId, zt_core::AgentStatus>,
    /// Pending requests.
    pub pending: BTreeMap<RequestId, zt_core::PendingRequest>,
    /// Current recovery registrations.
    pub recovery: BTreeMap<AgentId, zt_core::RecoveryRegistrationView>,
    /// Key history, oldest first.
    pub history: Vec<zt_core::HistoryEvent>,
}

impl Views {
    /// Applies one entry's changes.
    pub fn apply(&mut self, changes: zt_core::Changes) {
        for status in changes.statuses {
            self.statuses.insert(status.agent, status);
        }
        for request in changes.closed {
            self.pending.remove(&request);
        }
        for pending in changes.pending {
            self.pending.insert(pending.request, pending);
        }
        for (agent, registration) in changes.recovery {
            match registration {
                Some(registration) => self.recovery.insert(agent, registration),
                None => self.recovery.remove(&agent),
            };
        }
        self.history.extend(changes.history);
    }

    /// The views a fresh fold gives, but for the history (which has no fresh form).
    pub fn of(state: &OrgState) -> Views {
        Views {
            statuses: state
                .statuses()
                .map(|status| (status.agent, status))
                .collect(),
            pending: state
                .pending_views()
                .into_iter()
                .map(|pending| (pending.request, pending))
                .collect(),
            recovery: state.recovery_views().collect(),
            history: Vec::new(),
        }
    }
}

/// A key for `agent` of `org` from `rng`, without Argon2id: a server cannot tell it from a
/// derived one (the record names the default parameters), and tests stay fast.
pub fn fast_keys(
    org: OrgId,
    agent: AgentId,
    rng: &mut impl rand_chacha::rand_core::CryptoRngCore,
) -> AgentKeys {
    let mut stretched = [0u8; 32];
    rng.fill_bytes(&mut stretched);
    let salt = Salt::random(rng);
    AgentKeys::from_stretched(&stretched, KdfParams::DEFAULT, salt, org, agent)
}

/// An organization with its host, agents' secrets and full log.
pub struct World {
    /// The organization.
    pub org: OrgId,
    /// The host key.
    pub host: HostKey,
    /// The current state.
    pub state: OrgState,
    /// Every accepted entry, from sequence 0.
    pub log: Vec<LogEntry>,
    /// Index in `log` of the current epoch's start.
    pub epoch_start: usize,
    /// The clock.
    pub now: UnixTime,
    /// Every request made, in order, with the entry that made it.
    pub requests: Vec<(RequestId, LogEntry)>,
    /// Every recovery registration made, in order.
    pub registrations: Vec<(AgentId, RecoveryKeys)>,
    /// The effects of every accepted command, in order.
    pub effects: Vec<Effect>,
    /// The views, maintained from each entry's changes.
    pub views: Views,
    /// When set, every accepted entry's changes are kept here too (for bulk imports).
    pub recorded_changes: Option<Vec<zt_core::Changes>>,
    keys: BTreeMap<KeyId, AgentKeys>,
    latest_key: BTreeMap<AgentId, KeyId>,
    access: BTreeMap<AgentId, AccessSecret>,
    rng: ChaCha20Rng,
    head_override: Option<Head>,
    time_override: Option<UnixTime>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("org", &self.org)
            .field("entries", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// A new organization; everything random in it comes from `seed`.
    pub fn new(seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let org = OrgId::random(&mut rng);
        let host = HostKey::generate(&mut rng);
        let (state, genesis) = OrgState::create(org, &host, START);
        World {
            org,
            host,
            state,
            log: vec![genesis.into_entry()],
            epoch_start: 0,
            now: START,
            requests: Vec::new(),
            registrations: Vec::new(),
            effects: Vec::new(),
            views: Views::default(),
            recorded_changes: None,
            keys: BTreeMap::new(),
            latest_key: BTreeMap::new(),
            access: BTreeMap::new(),
            rng,
            head_override: None,
            time_override: None,
        }
    }

    /// The random source of this world.
    pub fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }

    /// Makes a fresh key for `agent` (without Argon2id) and keeps its secret.
    pub fn new_key(&mut self, agent: AgentId) -> KeyId {
        let keys = fast_keys(self.org, agent, &mut self.rng);
        let id = keys.key_id();
        self.keys.insert(id, keys);
        self.latest_key.insert(agent, id);
        id
    }

    /// The secret of a key this world made.
    pub fn keys(&self, key: KeyId) -> &AgentKeys {
        &self.keys[&key]
    }

    /// A task authorization for `binding`, signed with `key` in this organization's epoch at
    /// the world's clock, valid for 300 seconds; its nonce from `rng`.
    pub fn sign_task(
        &self,
        key: KeyId,
        binding: &TaskBinding,
        rng: &mut impl CryptoRngCore,
    ) -> TaskAuthorization {
        TaskAuthorization::sign(
            self.keys(key),
            self.org,
            self.state.epoch(),
            binding.clone(),
            self.now,
            300,
            rng,
        )
    }

    /// The key `agent` would sign with: their active key, else the last key made for them,
    /// else a fresh one (the last two are refused, as they should be).
    pub fn signing_key(&mut self, agent: AgentId) -> KeyId {
        if let Some((key, _)) = self.state.active_key(agent) {
            return key;
        }
        match self.latest_key.get(&agent) {
            Some(key) => *key,
            None => self.new_key(agent),
        }
    }

    /// The agent's access secret (made on first use).
    pub fn access(&mut self, agent: AgentId) -> &AccessSecret {
        let rng = &mut self.rng;
        self.access
            .entry(agent)
            .or_insert_with(|| AccessSecret::random(rng))
    }

    /// An entry builder at the current head and clock, unless a test set another head or
    /// time for the next entries (to forge them).
    pub fn builder(&self) -> EntryBuilder {
        EntryBuilder::new(
            self.head_override.unwrap_or_else(|| self.state.head()),
            self.time_override.unwrap_or(self.now),
        )
    }

    /// Makes the following `build_*` calls sign at `head` and `time` (None: the real ones).
    pub fn override_position(&mut self, head: Option<Head>, time: Option<UnixTime>) {
        self.head_override = head;
        self.time_override = time;
    }

    /// Decides a command; if accepted, appends and applies its entry.
    pub fn submit(&mut self, command: Command) -> Result<Vec<Effect>, Refusal> {
        let decision = self.state.decide(
            command,
            Context {
                now: self.now,
                host: &self.host,
            },
        )?;
        let entry = decision.entry.entry().clone();
        let changes = self.state.changes(&decision.entry);
        if let Some(recorded) = &mut self.recorded_changes {
            recorded.push(changes.clone());
        }
        self.views.apply(changes);
        self.state
            .apply(decision.entry)
            .map_err(|_| Refusal::Exhausted)?;
        if let Statement::EpochStart(_) = entry.statement() {
            self.epoch_start = self.log.len();
        }
        self.log.push(entry);
        self.effects.extend(decision.effects.iter().cloned());
        Ok(decision.effects)
    }

    /// Entries of the current epoch, from its start.
    pub fn epoch_log(&self) -> &[LogEntry] {
        &self.log[self.epoch_start..]
    }

    /// Verifies the current epoch's log from its root, as a device would.
    pub fn verify(&self) -> Option<VerifiedLog> {
        let root = self.state.trust_root()?;
        zt_core::verify_log(&root, self.epoch_log()).ok()
    }

    // ----- each flow: `build_*` signs a command, the plain name also submits it -----

    /// The host sets a role.
    pub fn set_role(&mut self, agent: AgentId, role: Role) -> Result<Vec<Effect>, Refusal> {
        self.submit(Command::SetRole {
            agent,
            role,
            force: false,
        })
    }

    /// Signs `agent`'s first key; returns the key and the command.
    pub fn build_first_key(&mut self, agent: AgentId) -> (KeyId, Command) {
        let key = self.new_key(agent);
        let access = AccessSecret::random(&mut self.rng);
        let entry = self
            .builder()
            .first_key(agent, &self.keys[&key], &access, &mut self.rng)
            .expect("sealing to a fresh key");
        self.access.insert(agent, access);
        (key, Command::CreateFirstKey(entry))
    }

    /// `agent` creates the epoch's first key.
    pub fn first_key(&mut self, agent: AgentId) -> Result<KeyId, Refusal> {
        let (key, command) = self.build_first_key(agent);
        self.submit(command).map(|_| key)
    }

    /// Signs a key request by `agent`; returns the request id and the command.
    pub fn build_request(&mut self, agent: AgentId) -> (RequestId, Command) {
        let key = self.new_key(agent);
        let request = RequestId::random(&mut self.rng);
        let access = AccessSecret::random(&mut self.rng);
        let entry = self
            .builder()
            .key_request(agent, request, &self.keys[&key], &access, &mut self.rng)
            .expect("sealing to a fresh key");
        self.requests.push((request, entry.clone()));
        (request, Command::RequestKey(entry))
    }

    /// Signs a request by `agent` for a key this world made before (hostile if it was
    /// registered already).
    pub fn build_request_with_key(&mut self, agent: AgentId, key: KeyId) -> Command {
        let request = RequestId::random(&mut self.rng);
        let access = AccessSecret::random(&mut self.rng);
        let entry = self
            .builder()
            .key_request(agent, request, &self.keys[&key], &access, &mut self.rng)
            .expect("sealing to a known key");
        self.requests.push((request, entry.clone()));
        Command::RequestKey(entry)
    }

    /// `agent` requests a new key; returns the request's id.
    pub fn request(&mut self, agent: AgentId) -> Result<RequestId, Refusal> {
        let (request, command) = self.build_request(agent);
        self.submit(command).map(|_| request)
    }

    /// The entry of a request this world made.
    pub fn request_entry(&self, request: RequestId) -> Option<&LogEntry> {
        self.requests
            .iter()
            .find(|(id, _)| *id == request)
            .map(|(_, entry)| entry)
    }

    /// The key a request asks for.
    pub fn requested_key(&self, request: RequestId) -> Option<KeyId> {
        match self.request_entry(request)?.statement() {
            Statement::KeyRequest(body) => Some(body.key.key_id()),
            _ => None,
        }
    }

    /// Signs an approval of `request` by `approver` with `key`, active or not.
    pub fn build_judgement_with_key(
        &mut self,
        approver: AgentId,
        request: RequestId,
        key: KeyId,
    ) -> Command {
        let entry = self
            .request_entry(request)
            .cloned()
            .expect("a request this world made");
        let Statement::KeyRequest(body) = entry.statement() else {
            unreachable!("requests hold key-request entries")
        };
        Command::Approve(
            self.builder()
                .approval(body, entry.hash(), approver, &self.keys[&key]),
        )
    }

    /// Signs `approver`'s judgement of `request`.
    pub fn build_judgement(
        &mut self,
        approver: AgentId,
        request: RequestId,
        verdict: Verdict,
    ) -> Command {
        let entry = self
            .request_entry(request)
            .cloned()
            .expect("a request this world made");
        let Statement::KeyRequest(body) = entry.statement() else {
            unreachable!("requests hold key-request entries")
        };
        let key = self.signing_key(approver);
        let (builder, keys) = (self.builder(), &self.keys[&key]);
        match verdict {
            Verdict::Approve => {
                Command::Approve(builder.approval(body, entry.hash(), approver, keys))
            }
            Verdict::Reject => {
                Command::Reject(builder.rejection(body, entry.hash(), approver, keys))
            }
            Verdict::WrongCode => {
                Command::ReportWrongCode(builder.code_mismatch(body, entry.hash(), approver, keys))
            }
        }
    }

    /// Signs an approval of `request` as a server that swapped the requested key would show
    /// it: same request id and requester, another key. zt-core must refuse it.
    pub fn build_substituted_approval(&mut self, approver: AgentId, request: RequestId) -> Command {
        let entry = self
            .request_entry(request)
            .cloned()
            .expect("a request this world made");
        let Statement::KeyRequest(body) = entry.statement() else {
            unreachable!("requests hold key-request entries")
        };
        let swapped = self.new_key(body.agent);
        let mut substituted = *body;
        substituted.key = *self.keys[&swapped].record();
        let forged_request = self
            .builder()
            .key_request(
                body.agent,
                request,
                &self.keys[&swapped],
                &AccessSecret::from_bytes([0; 32]),
                &mut self.rng,
            )
            .expect("sealing to a fresh key");
        let key = self.signing_key(approver);
        Command::Approve(self.builder().approval(
            &substituted,
            forged_request.hash(),
            approver,
            &self.keys[&key],
        ))
    }

    /// `approver` approves `request`.
    pub fn approve(
        &mut self,
        approver: AgentId,
        request: RequestId,
    ) -> Result<Vec<Effect>, Refusal> {
        let command = self.build_judgement(approver, request, Verdict::Approve);
        self.submit(command)
    }

    /// `approver` reports that the code they were told for `request` is wrong.
    pub fn report_wrong_code(
        &mut self,
        approver: AgentId,
        request: RequestId,
    ) -> Result<Vec<Effect>, Refusal> {
        let command = self.build_judgement(approver, request, Verdict::WrongCode);
        self.submit(command)
    }

    /// `approver` rejects `request`.
    pub fn reject(
        &mut self,
        approver: AgentId,
        request: RequestId,
    ) -> Result<Vec<Effect>, Refusal> {
        let command = self.build_judgement(approver, request, Verdict::Reject);
        self.submit(command)
    }

    /// Signs a key change by `agent`; returns the new key and the command.
    pub fn build_change(&mut self, agent: AgentId) -> (KeyId, Command) {
        let old = self.signing_key(agent);
        let new = self.new_key(agent);
        self.access(agent);
        let entry = self
            .builder()
            .key_change(
                agent,
                &self.keys[&old],
                &self.keys[&new],
                &self.access[&agent],
                &mut self.rng,
            )
            .expect("sealing to a fresh key");
        (new, Command::ChangeKey(entry))
    }

    /// `agent` changes their key; returns the new key.
    pub fn change(&mut self, agent: AgentId) -> Result<KeyId, Refusal> {
        let (key, command) = self.build_change(agent);
        self.submit(command).map(|_| key)
    }

    /// Signs `revoker`'s revocation of `subject`'s active (or latest) key.
    pub fn build_revocation(
        &mut self,
        revoker: AgentId,
        subject: AgentId,
        forced: bool,
    ) -> Command {
        let subject_key = self.signing_key(subject);
        let revoker_key = self.signing_key(revoker);
        Command::Revoke(self.builder().revocation(
            subject,
            subject_key,
            revoker,
            &self.keys[&revoker_key],
            forced,
        ))
    }

    /// `revoker` revokes `subject`'s active (or latest) key.
    pub fn revoke(
        &mut self,
        revoker: AgentId,
        subject: AgentId,
        forced: bool,
    ) -> Result<Vec<Effect>, Refusal> {
        let command = self.build_revocation(revoker, subject, forced);
        self.submit(command)
    }

    /// Signs a new recovery registration by `agent`; returns its index in `registrations`.
    pub fn build_recovery_registration(&mut self, agent: AgentId) -> (usize, Command) {
        let key = self.signing_key(agent);
        let recovery = RecoveryKeys::generate(self.org, agent, &mut self.rng);
        self.access(agent);
        let entry = self
            .builder()
            .recovery_registration(
                agent,
                &self.keys[&key],
                &recovery,
                &self.access[&agent],
                &mut self.rng,
            )
            .expect("sealing to a fresh key");
        self.registrations.push((agent, recovery));
        (
            self.registrations.len() - 1,
            Command::RegisterRecovery(entry),
        )
    }

    /// `agent` registers a new recovery file; returns its index in `registrations`.
    pub fn register_recovery(&mut self, agent: AgentId) -> Result<usize, Refusal> {
        let (index, command) = self.build_recovery_registration(agent);
        self.submit(command).map(|_| index)
    }

    /// Signs `agent`'s reset with registration number `registration`; returns the new key.
    pub fn build_recovery_reset(
        &mut self,
        agent: AgentId,
        registration: usize,
    ) -> (KeyId, Command) {
        let old = self.signing_key(agent);
        let new = self.new_key(agent);
        self.access(agent);
        let (_, recovery) = &self.registrations[registration];
        let entry = self
            .builder()
            .recovery_reset(
                agent,
                old,
                recovery,
                &self.keys[&new],
                &self.access[&agent],
                &mut self.rng,
            )
            .expect("sealing to a fresh key");
        (new, Command::ResetWithRecovery(entry))
    }

    /// `agent` resets their key with registration number `registration`; returns the new key.
    pub fn recovery_reset(
        &mut self,
        agent: AgentId,
        registration: usize,
    ) -> Result<KeyId, Refusal> {
        let (key, command) = self.build_recovery_reset(agent, registration);
        self.submit(command).map(|_| key)
    }

    /// Signs `admin`'s prompt policy.
    pub fn build_policy(&mut self, admin: AgentId, policy: PromptPolicy) -> Command {
        let key = self.signing_key(admin);
        Command::SetPromptPolicy(
            self.builder()
                .prompt_policy(admin, &self.keys[&key], policy),
        )
    }

    /// `admin` sets the prompt policy.
    pub fn set_policy(
        &mut self,
        admin: AgentId,
        policy: PromptPolicy,
    ) -> Result<Vec<Effect>, Refusal> {
        let command = self.build_policy(admin, policy);
        self.submit(command)
    }

    /// Support resets the organization.
    pub fn reset_organization(&mut self) -> Result<Vec<Effect>, Refusal> {
        let effects = self.submit(Command::ResetOrganization)?;
        self.access.clear();
        Ok(effects)
    }

    /// The registration id of registration number `index`.
    pub fn registration_id(&self, index: usize) -> RegistrationId {
        self.registrations[index].1.registration()
    }
}
