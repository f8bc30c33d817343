-- Each agent's current recovery registration (spec §6.12, §8): which registration their
-- recovery file names, and the entry that made it. Derived from the log like every view.
CREATE TABLE recovery_registrations (
    org           BYTEA    NOT NULL,
    agent         BYTEA    NOT NULL,
    registration  BYTEA    NOT NULL,
    seq           BIGINT  NOT NULL,
    time          BIGINT  NOT NULL,
    PRIMARY KEY (org, agent)
);
