-- One row per projection: which generation of its tables serves reads,
-- the projection's declared version that generation was built with, and
-- the state of an online rebuild. The projector runtime maintains it;
-- operators (the cohort command) read it and request rebuilds through it.
CREATE TABLE {{schema}}.projections (
    name                 text        PRIMARY KEY,
    generation           bigint      NOT NULL DEFAULT 1,
    version              bigint      NOT NULL DEFAULT 0,
    -- Set to ask the serving process for an online rebuild; cleared when
    -- a rebuild takes the request.
    rebuild_requested_at timestamptz,
    -- The generation being built (NULL when none), how far it is in $all
    -- and the head it is catching up with.
    building_generation  bigint,
    build_position       bigint      NOT NULL DEFAULT 0,
    build_head           bigint      NOT NULL DEFAULT 0,
    build_started_at     timestamptz,
    -- Why the last rebuild stopped before its switch; NULL when it did not.
    build_error          text,
    updated_at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
