-- append_batch looked up which of its streams exist with an EXISTS under
-- an OR, which PostgreSQL may run as a hashed subplan: the whole streams
-- table read and hashed on every call. The function's generic plan is made
-- on a connection's first call and kept while the connection lives, so a
-- plan made while the store was small scanned the table ever after, and
-- every append cost in proportion to the store's size (25 ms a call at
-- 3,000 streams: three quarters of append_batch's time in the HTTP rename
-- benchmark; see BENCHMARKS.md). The version check and bump, a join of
-- the table with the appends, had the same flaw: its plan, made on a
-- small table, read all of it (an index scan, materialized) on every
-- call; the refused path's read is a join of the same shape.
--
-- The lookup is now a scalar subquery, which PostgreSQL never hashes: one
-- probe of the primary key per stream named, whatever the statistics said
-- when the plan was made (NULL, for a stream that does not exist, filters
-- the row out as false did). The joins also bound the table to the streams
-- named (stream_id = ANY (p_streams), an index condition), so that any
-- plan reads only those rows. Nothing else changes.
CREATE OR REPLACE FUNCTION {{schema}}.append_batch(
    p_streams text[], p_expected bigint[], p_counts integer[], p_groups integer[],
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
    v_failed boolean[];
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
            OR (SELECT true FROM {{schema}}.streams x WHERE x.stream_id = u.id)
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
         WHERE s.stream_id = ANY (p_streams) AND s.stream_id = u.id
           AND NOT v_created[u.i] AND NOT s.deleted
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
             WHERE s.stream_id = ANY (p_streams) AND v_cur[u.i] < 0
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
        -- A group fails as a whole: its appends that passed are undone.
        -- Their rows are locked by this transaction already.
        v_failed := array_fill(false, ARRAY[(SELECT max(g) FROM unnest(p_groups) g)]);
        FOR i IN 1 .. n LOOP
            IF v_status[i] <> 0 THEN
                v_failed[p_groups[i]] := true;
            END IF;
        END LOOP;
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN v_status[i] <> 0 OR NOT v_failed[p_groups[i]];
            IF v_created[i] THEN
                DELETE FROM {{schema}}.streams s WHERE s.stream_id = p_streams[i];
            ELSE
                UPDATE {{schema}}.streams s SET version = s.version - p_counts[i] WHERE s.stream_id = p_streams[i];
            END IF;
            v_status[i] := 7;
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

