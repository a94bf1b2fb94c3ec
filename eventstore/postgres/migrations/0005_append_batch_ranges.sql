-- append_batch answers one row per append, not one per event: an append
-- of many events no longer sends them all back.
DROP FUNCTION {{schema}}.append_batch(text[], bigint[], integer[], integer[], integer[], uuid[],
    text[], jsonb[], jsonb[], uuid[], uuid[]);

-- append_batch appends a group commit's appends, each to a different stream,
-- each with its own expected-version check and outcome. p_streams,
-- p_expected and p_counts describe the appends; the events are flattened,
-- p_idx giving each event's append (1-based) and p_ord its ordinal in it.
-- It returns one row per append: status 0 with the stream's new version
-- and the positions of its first and last events, or the status of a
-- refused append (as lock_stream's, plus 6: another transaction created
-- the new stream first, retry it alone) with the stream's version.
CREATE FUNCTION {{schema}}.append_batch(
    p_streams text[], p_expected bigint[], p_counts integer[],
    p_idx integer[], p_ord integer[], p_ids uuid[], p_types text[], p_data jsonb[],
    p_metadata jsonb[], p_causation uuid[], p_correlation uuid[])
RETURNS TABLE (stream_id text, status smallint, version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := cardinality(p_streams);
    v_cur bigint[] := array_fill(-1::bigint, ARRAY[n]); -- version before, once accepted
    v_status smallint[] := array_fill(0::smallint, ARRAY[n]);
    v_rest integer := n;
    r record;
BEGIN
    -- The transaction id comes before any position (see horizon.go).
    PERFORM pg_current_xact_id();

    -- Existing streams at their expected version: check, lock and bump in
    -- one statement. (A concurrent writer makes it wait and re-check.)
    FOR r IN
        UPDATE {{schema}}.streams s
           SET version = s.version + u.cnt
          FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS u(id, expected, cnt, i)
         WHERE s.stream_id = u.id AND NOT s.deleted
           AND u.expected <> 0 AND (u.expected < 0 OR u.expected = s.version)
        RETURNING u.i, s.version - u.cnt AS cur
    LOOP
        v_cur[r.i] := r.cur;
        v_rest := v_rest - 1;
    END LOOP;

    IF v_rest > 0 THEN
        -- New streams, for appends that allow it.
        FOR r IN
            INSERT INTO {{schema}}.streams AS s (stream_id, version)
            SELECT u.id, u.cnt
              FROM unnest(p_streams, p_expected, p_counts) WITH ORDINALITY AS u(id, expected, cnt, i)
             WHERE v_cur[u.i] < 0 AND u.expected IN (0, -1)
             ORDER BY u.id
            ON CONFLICT ON CONSTRAINT streams_pkey DO NOTHING
            RETURNING s.stream_id
        LOOP
            v_cur[array_position(p_streams, r.stream_id)] := 0;
            v_rest := v_rest - 1;
        END LOOP;
    END IF;

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
        -- ...and missing ones: not found, expected at a version, or created
        -- by another transaction since the insert above looked.
        FOR i IN 1 .. n LOOP
            CONTINUE WHEN v_cur[i] >= 0;
            v_status[i] := CASE WHEN p_expected[i] = -2 THEN 2 WHEN p_expected[i] > 0 THEN 1 ELSE 6 END;
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
