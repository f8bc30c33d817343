-- The reference server's account directory (zt-server): it stands in for the host's own
-- account login. zt-core never reads it. Tokens are stored only as SHA-256 hashes.
CREATE TABLE accounts (
    org         BLOB    NOT NULL,
    agent       BLOB    NOT NULL,
    email       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    token_hash  BLOB    NOT NULL,
    PRIMARY KEY (org, agent)
);
CREATE UNIQUE INDEX accounts_by_token ON accounts (token_hash);
CREATE UNIQUE INDEX accounts_by_email ON accounts (org, email);
