-- The replay horizon (spec §9.5): a verifier that keeps replay keys in memory raises it,
-- durably, past the issue time of every authorization it accepts; after a restart it
-- refuses every authorization issued at or before it. One row, or none before the first.
CREATE TABLE replay_horizon (
    id       BIGINT  NOT NULL PRIMARY KEY CHECK (id = 1),
    horizon  BIGINT  NOT NULL
);
