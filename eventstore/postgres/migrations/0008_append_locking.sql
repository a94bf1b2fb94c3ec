-- append_batch locks its streams in one order, whatever their expected
-- versions. It used to lock existing streams at their expected version
-- first (the UPDATE), then reach the others through INSERT ... ON CONFLICT,
-- which waits for whoever holds an existing row: an append expecting no
-- stream to a stream that exists waited for that stream while the batch
-- already held streams later in the order, and deadlocked with a
-- transaction that held it and wanted one of those.
--
-- Now one statement takes every stream in stream id order before anything
-- else: it creates the new streams that appends may create and locks the
-- existing ones (ON CONFLICT DO UPDATE locks the rows it does not update).
-- Two transactions that take streams in this order never wait for each
-- other in a cycle, and a stream created meanwhile by another transaction
-- is waited for, then locked like any other: the append that found it is
-- checked against it instead of being retried alone (status 6 is gone).
CREATE OR REPLACE FUNCTION {{schema}}.append_batch(
    p_streams text[], p_expected bigint[], p_counts integer[],
    p_idx integer[], p_ord integer[], p_ids uuid[], p_types text[], p_data jsonb[],
    p_metadata jsonb[], p_causation uuid[], p_correlation uuid[])
RETURNS TABLE (stream_id text, status smallint, version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    n integer := cardinality(p_streams);
    v_cur bigint[] := array_fill(-1::bigint, ARRAY[n]); -- version before, once accepted
    v_status smallint[] := array_fill(0::smallint, ARRAY[n]);
    v_created boolean[] := array_fill(false, ARRAY[n]);
    v_rest integer := n;
    r record;
BEGIN
    -- The writers' lock, then the transaction id, then positions (see
    -- horizon.go).
    PERFORM pg_advisory_xact_lock_shared(1668245618, '{{schema}}.event_position'::regclass::oid::integer);
    PERFORM pg_current_xact_id();

    -- Every stream, in stream id order: created when the append may create
    -- it, locked when it exists. A stream that must exist and does not is
    -- left alone (its append is refused below); one that existed when the
    -- statement started but was deleted before it could be locked is
    -- created, then removed again below.
    FOR r IN
        INSERT INTO {{schema}}.streams AS s (stream_id, version)
        SELECT u.id, u.cnt
          FROM unnest(p_streams, p_expected, p_counts) AS u(id, expected, cnt)
         WHERE u.expected IN (0, -1)
            OR EXISTS (SELECT 1 FROM {{schema}}.streams x WHERE x.stream_id = u.id)
         ORDER BY u.id
        ON CONFLICT ON CONSTRAINT streams_pkey DO UPDATE SET version = s.version WHERE false
        RETURNING s.stream_id
    LOOP
        v_created[array_position(p_streams, r.stream_id)] := true;
    END LOOP;

    FOR i IN 1 .. n LOOP
        CONTINUE WHEN NOT v_created[i];
        IF p_expected[i] IN (0, -1) THEN
            v_cur[i] := 0;
            v_rest := v_rest - 1;
        ELSE
            DELETE FROM {{schema}}.streams s WHERE s.stream_id = p_streams[i];
        END IF;
    END LOOP;

    -- Existing streams at their expected version: check and bump. Their
    -- rows are locked already, so nothing waits here.
    FOR r IN
        UPDATE {{schema}}.streams s
           SET version = s.version + u.cnt
          FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS u(id, expected, cnt, i)
         WHERE s.stream_id = u.id AND NOT v_created[u.i] AND NOT s.deleted
           AND u.expected <> 0 AND (u.expected < 0 OR u.expected = s.version)
        RETURNING u.i, s.version - u.cnt AS cur
    LOOP
        v_cur[r.i] := r.cur;
        v_rest := v_rest - 1;
    END LOOP;

    IF v_rest > 0 THEN
        -- Refused: existing streams that failed the check...
        FOR r IN
            SELECT u.i, s.version, s.deleted
              FROM unnest(p_streams) WITH ORDINALITY AS u(id, i)
              JOIN {{schema}}.streams s ON s.stream_id = u.id
             WHERE v_cur[u.i] < 0
        LOOP
            v_cur[r.i] := r.version;
            v_status[r.i] := CASE WHEN r.deleted THEN 3 ELSE 1 END;
        END LOOP;
        -- ...and missing ones: not found, or expected at a version.
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN v_cur[i] >= 0;
            v_status[i] := CASE WHEN p_expected[i] = -2 THEN 2 ELSE 1 END;
            v_cur[i] := 0;
        END LOOP;
        RETURN QUERY
            SELECT u.id, v_status[u.i], v_cur[u.i], NULL::bigint, NULL::bigint
              FROM unnest(p_streams) WITH ORDINALITY AS u(id, i)
             WHERE v_status[u.i] <> 0;
    END IF;

    -- Positions are taken in event order: the scan of the arrays yields the
    -- events in order and nextval runs as rows are produced.
    RETURN QUERY
        WITH inserted AS (
            INSERT INTO {{schema}}.events AS ev (position, event_id, stream_id, stream_version, type, data,
                                                 metadata, causation_id, correlation_id, created_at)
            SELECT nextval('{{schema}}.event_position'), e.id, p_streams[e.i], v_cur[e.i] + e.ord,
                   e.type, e.data, e.metadata, e.causation, e.correlation, now()
              FROM unnest(p_idx, p_ord, p_ids, p_types, p_data, p_metadata, p_causation, p_correlation)
                   AS e(i, ord, id, type, data, metadata, causation, correlation)
             WHERE v_status[e.i] = 0
            RETURNING ev.stream_id, ev.stream_version, ev.position)
        SELECT ins.stream_id, 0::smallint, max(ins.stream_version), min(ins.position), max(ins.position)
          FROM inserted ins GROUP BY ins.stream_id;
END $$;

-- Every transaction that takes positions holds the writers' lock, a shared
-- transaction-level advisory lock on (1668245618, the oid of the position
-- sequence), from before its first position until it ends: the horizon
-- waits for the transactions that hold it, not for every transaction on
-- the cluster (see horizon.go). append_batch takes it above; append_events
-- takes it first of all.
CREATE OR REPLACE FUNCTION {{schema}}.append_events(p_stream text, p_expected bigint,
    p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
    p_causation uuid[], p_correlation uuid[],
    OUT status smallint, OUT version bigint, OUT first_position bigint, OUT last_position bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_n bigint := cardinality(p_ids);
    v_cur bigint;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1668245618, '{{schema}}.event_position'::regclass::oid::integer);
    PERFORM pg_current_xact_id();
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
