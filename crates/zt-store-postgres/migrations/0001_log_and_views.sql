-- zt schema version 1 (PostgreSQL). The log is the truth; every other table is a view of it,
-- written in the same transaction as the entry it comes from (crates/zt-store-sql).

CREATE TABLE orgs (
    org         BYTEA    NOT NULL PRIMARY KEY,
    created_at  BIGINT  NOT NULL
);

-- One row per log entry; (org, seq) is the optimistic-concurrency key.
CREATE TABLE log_entries (
    org    BYTEA    NOT NULL REFERENCES orgs (org),
    seq    BIGINT  NOT NULL,
    hash   BYTEA    NOT NULL,
    kind   BIGINT  NOT NULL,
    time   BIGINT  NOT NULL,
    bytes  BYTEA    NOT NULL,
    PRIMARY KEY (org, seq)
);

CREATE TABLE agent_status (
    org              BYTEA    NOT NULL,
    agent            BYTEA    NOT NULL,
    role             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    active_key       BYTEA,
    active_since     BIGINT,
    approved_by      BYTEA,
    pending_request  BYTEA,
    has_recovery     BIGINT  NOT NULL,
    PRIMARY KEY (org, agent)
);
CREATE INDEX agent_status_by_state ON agent_status (org, state, agent);
CREATE INDEX agent_status_by_role ON agent_status (org, role, agent);

CREATE TABLE pending_requests (
    org         BYTEA    NOT NULL,
    request     BYTEA    NOT NULL,
    agent       BYTEA    NOT NULL,
    key_id      BYTEA    NOT NULL,
    seq         BIGINT  NOT NULL,
    time        BIGINT  NOT NULL,
    mismatches  BIGINT  NOT NULL,
    locked      BIGINT  NOT NULL,
    PRIMARY KEY (org, request)
);
CREATE INDEX pending_requests_by_seq ON pending_requests (org, seq);

CREATE TABLE key_history (
    org     BYTEA    NOT NULL,
    seq     BIGINT  NOT NULL,
    line    BIGINT  NOT NULL,
    time    BIGINT  NOT NULL,
    key_id  BYTEA,
    owner   BYTEA,
    actor   BYTEA,   -- NULL: the host
    action  TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    PRIMARY KEY (org, seq, line)
);
CREATE INDEX key_history_by_owner ON key_history (org, owner, seq, line);

-- Replay cache of task authorizations (spec §9.4); rows expire.
CREATE TABLE replay_keys (
    org         BYTEA    NOT NULL,
    key         BYTEA    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (org, key)
);
CREATE INDEX replay_keys_by_expiry ON replay_keys (expires_at);

-- Notifications to send, written with the entry that causes them (spec §6.13).
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    org         BYTEA    NOT NULL,
    seq         BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    subject     BYTEA    NOT NULL,
    recipients  BYTEA    NOT NULL,  -- 16-byte agent ids, concatenated
    attempts    BIGINT  NOT NULL DEFAULT 0,
    due         BIGINT  NOT NULL,
    sent        BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (sent, due, id);
