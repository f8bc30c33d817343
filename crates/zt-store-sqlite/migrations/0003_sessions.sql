-- Prompt-frequency sessions (spec §9.2, §9.4): the session keys agents delegated to, and
-- whether they logged out. Tasks signed by an ended session are refused until it expires.
CREATE TABLE sessions (
    org          BLOB    NOT NULL,
    session_key  BLOB    NOT NULL,
    agent        BLOB    NOT NULL,
    expires_at   BIGINT  NOT NULL,
    ended        BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (org, session_key)
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
