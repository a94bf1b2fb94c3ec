-- The wrapped data keys of crypto-shredding, one per subject (see keys.go).
-- A deleted key leaves its row with wrapped NULL (a tombstone), so that a
-- forgotten subject is never given a new key.
CREATE TABLE {{schema}}.keys (
    subject      text PRIMARY KEY,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    forgotten_at timestamptz
);
