-- The reference server's account directory (zt-server): it stands in for the host's own
-- account login. zt-core never reads it. Tokens are stored only as SHA-256 hashes.
CREATE TABLE accounts (
    org         BYTEA    NOT NULL,
    agent       BYTEA    NOT NULL,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    token_hash  BYTEA    NOT NULL,
    PRIMARY KEY (org, agent)
);
CREATE UNIQUE INDEX accounts_by_token ON accounts (token_hash);
CREATE UNIQUE INDEX accounts_by_email ON accounts (org, email);
