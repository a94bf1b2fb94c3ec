-- protocol is the Config.Protocol a member joined with: a node whose
-- protocol differs from a live member's refuses to join. Joins serialize
-- on a transaction advisory lock (1668052339, 0), so that two nodes of
-- different protocols cannot both join an empty cluster. Rows written
-- before this migration have the empty protocol, the default.
ALTER TABLE {{schema}}.members
    ADD COLUMN protocol text NOT NULL DEFAULT '';
