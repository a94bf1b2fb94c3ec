-- Cohort event store schema. {{schema}} is replaced by the quoted schema name.

-- Global positions. Every appending transaction takes its transaction id
-- before it takes positions, which is what lets readers of $all compute a
-- horizon below which no position can still commit (see horizon.go).
CREATE SEQUENCE {{schema}}.event_position AS bigint;

CREATE TABLE {{schema}}.streams (
    stream_id  text        PRIMARY KEY,
    version    bigint      NOT NULL,
    deleted    boolean     NOT NULL DEFAULT false,
    metadata   jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {{schema}}.events (
    position       bigint      PRIMARY KEY,
    event_id       uuid        NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    type           text        NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb,
    causation_id   uuid,
    correlation_id uuid,
    created_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX events_event_id ON {{schema}}.events (event_id);
CREATE UNIQUE INDEX events_stream ON {{schema}}.events (stream_id, stream_version);

-- Links place existing events into other streams.
CREATE TABLE {{schema}}.links (
    stream_id      text   NOT NULL,
    stream_version bigint NOT NULL,
    position       bigint NOT NULL REFERENCES {{schema}}.events (position) ON DELETE CASCADE,
    PRIMARY KEY (stream_id, stream_version)
);
CREATE UNIQUE INDEX links_stream_position ON {{schema}}.links (stream_id, position);
CREATE INDEX links_position ON {{schema}}.links (position);

CREATE TABLE {{schema}}.snapshots (
    source_id      text        PRIMARY KEY,
    source_version bigint      NOT NULL,
    source_type    text        NOT NULL,
    schema_version integer     NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {{schema}}.subscriptions (
    name       text        PRIMARY KEY,
    stream_id  text        NOT NULL,
    last_seen  bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- lock_stream locks a stream's row for a write of n new versions and checks
-- the expected version (-1 any, -2 stream exists, 0 no stream, n exact).
-- status: 0 ok, 1 wrong expected version, 2 stream not found, 3 stream
-- deleted. On success the row is locked and its version already raised by
-- n; cur is the version before the write.
CREATE FUNCTION {{schema}}.lock_stream(p_stream text, p_expected bigint, p_n bigint,
    OUT status smallint, OUT cur bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted boolean;
BEGIN
    LOOP
        SELECT s.version, s.deleted INTO cur, v_deleted
          FROM {{schema}}.streams s WHERE s.stream_id = p_stream FOR UPDATE;
        IF FOUND THEN
            IF v_deleted THEN
                status := 3; RETURN;
            END IF;
            IF p_expected = 0 OR (p_expected > 0 AND p_expected <> cur) THEN
                status := 1; RETURN;
            END IF;
            UPDATE {{schema}}.streams SET version = cur + p_n WHERE stream_id = p_stream;
            status := 0; RETURN;
        END IF;
        cur := 0;
        IF p_expected = -2 THEN
            status := 2; RETURN;
        END IF;
        IF p_expected > 0 THEN
            status := 1; RETURN;
        END IF;
        INSERT INTO {{schema}}.streams (stream_id, version) VALUES (p_stream, p_n)
            ON CONFLICT (stream_id) DO NOTHING;
        IF FOUND THEN
            status := 0; RETURN;
        END IF;
        -- Another transaction created the stream meanwhile: check again.
    END LOOP;
END $$;

-- append_events appends one stream's events. The caller has already taken
-- its transaction id (pg_current_xact_id) in the same transaction.
CREATE FUNCTION {{schema}}.append_events(p_stream text, p_expected bigint,
    p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
    p_causation uuid[], p_correlation uuid[],
    OUT status smallint, OUT version bigint, OUT first_position bigint, OUT last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint := cardinality(p_ids);
    v_cur bigint;
BEGIN
    SELECT l.status, l.cur INTO status, v_cur FROM {{schema}}.lock_stream(p_stream, p_expected, v_n) l;
    version := v_cur;
    IF status <> 0 THEN
        RETURN;
    END IF;
    WITH ins AS (
        INSERT INTO {{schema}}.events (position, event_id, stream_id, stream_version, type, data,
                                       metadata, causation_id, correlation_id, created_at)
        SELECT nextval('{{schema}}.event_position'), u.id, p_stream, v_cur + u.ord, u.type, u.data,
               u.metadata, u.causation, u.correlation, now()
          FROM unnest(p_ids, p_types, p_data, p_metadata, p_causation, p_correlation)
               WITH ORDINALITY AS u(id, type, data, metadata, causation, correlation, ord)
        RETURNING position)
    SELECT min(ins.position), max(ins.position) INTO first_position, last_position FROM ins;
    version := v_cur + v_n;
END $$;

-- link_events links existing events (by id) into a stream.
-- status: as lock_stream, plus 4 event not found, 5 duplicate event (an
-- event already in the stream, appended or linked).
CREATE FUNCTION {{schema}}.link_events(p_stream text, p_expected bigint, p_ids uuid[],
    OUT status smallint, OUT version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_positions bigint[];
    v_cur bigint;
BEGIN
    version := 0;
    SELECT array_agg(e.position ORDER BY u.ord) INTO v_positions
      FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
      JOIN {{schema}}.events e ON e.event_id = u.id;
    IF coalesce(cardinality(v_positions), 0) <> cardinality(p_ids) THEN
        status := 4; RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM {{schema}}.events e WHERE e.position = ANY (v_positions) AND e.stream_id = p_stream)
       OR EXISTS (SELECT 1 FROM {{schema}}.links l WHERE l.stream_id = p_stream AND l.position = ANY (v_positions)) THEN
        status := 5; RETURN;
    END IF;
    SELECT l.status, l.cur INTO status, v_cur FROM {{schema}}.lock_stream(p_stream, p_expected, cardinality(p_ids)) l;
    version := v_cur;
    IF status <> 0 THEN
        RETURN;
    END IF;
    -- A concurrent link of the same event fails on links_stream_position.
    INSERT INTO {{schema}}.links (stream_id, stream_version, position)
    SELECT p_stream, v_cur + u.ord, u.position FROM unnest(v_positions) WITH ORDINALITY AS u(position, ord);
    version := v_cur + cardinality(p_ids);
END $$;

-- delete_stream deletes a stream softly or, with p_hard, with its events
-- and links. status: 0 ok, 1 wrong expected version, 2 stream not found,
-- 3 stream deleted (a soft-deleted stream cannot be deleted again).
CREATE FUNCTION {{schema}}.delete_stream(p_stream text, p_expected bigint, p_hard boolean,
    OUT status smallint, OUT version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted boolean;
BEGIN
    SELECT s.version, s.deleted INTO version, v_deleted
      FROM {{schema}}.streams s WHERE s.stream_id = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        status := 2; version := 0; RETURN;
    END IF;
    IF v_deleted THEN
        status := 3; RETURN;
    END IF;
    IF p_expected > 0 AND p_expected <> version THEN
        status := 1; RETURN;
    END IF;
    IF p_hard THEN
        DELETE FROM {{schema}}.links WHERE stream_id = p_stream;
        DELETE FROM {{schema}}.events WHERE stream_id = p_stream;
        DELETE FROM {{schema}}.streams WHERE stream_id = p_stream;
    ELSE
        UPDATE {{schema}}.streams SET deleted = true WHERE stream_id = p_stream;
    END IF;
    status := 0;
END $$;
