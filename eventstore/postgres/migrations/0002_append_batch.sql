-- append_batch appends a group commit's appends, each to a different stream,
-- with a constant number of statements whatever their number: each append
-- keeps its own expected-version check and outcome.
--
-- p_streams, p_expected, p_counts describe the appends; the event arrays are
-- flattened, p_idx giving each event's append (1-based) and p_ord its
-- ordinal in that append. Rows come back in append order with status as
-- lock_stream's, plus 6 when another transaction created the stream
-- meanwhile: the caller retries that append on its own.
CREATE FUNCTION {{schema}}.append_batch(
    p_streams text[], p_expected bigint[], p_counts integer[],
    p_idx integer[], p_ord integer[], p_ids uuid[], p_types text[], p_data jsonb[],
    p_metadata jsonb[], p_causation uuid[], p_correlation uuid[])
RETURNS TABLE (status smallint, version bigint, first_position bigint, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n integer := cardinality(p_streams);
    v_cur bigint[] := array_fill(0::bigint, ARRAY[n]);
    v_found boolean[] := array_fill(false, ARRAY[n]);
    v_status smallint[] := array_fill(0::smallint, ARRAY[n]);
    r record;
BEGIN
    -- The transaction id comes before any position (see horizon.go).
    PERFORM pg_current_xact_id();

    -- Lock the existing streams, in id order as every writer does.
    FOR r IN
        SELECT u.i, s.version, s.deleted
          FROM unnest(p_streams) WITH ORDINALITY AS u(id, i)
          JOIN {{schema}}.streams s ON s.stream_id = u.id
         ORDER BY s.stream_id
           FOR UPDATE OF s
    LOOP
        v_found[r.i] := true;
        v_cur[r.i] := r.version;
        IF r.deleted THEN
            v_status[r.i] := 3;
        END IF;
    END LOOP;

    FOR i IN 1 .. n LOOP
        CONTINUE WHEN v_status[i] <> 0;
        IF v_found[i] THEN
            IF p_expected[i] = 0 OR (p_expected[i] > 0 AND p_expected[i] <> v_cur[i]) THEN
                v_status[i] := 1;
            END IF;
        ELSIF p_expected[i] = -2 THEN
            v_status[i] := 2;
        ELSIF p_expected[i] > 0 THEN
            v_status[i] := 1;
        END IF;
    END LOOP;

    -- Create the new streams; one that another transaction created first is
    -- retried on its own by the caller.
    FOR r IN
        WITH created AS (
            INSERT INTO {{schema}}.streams (stream_id, version)
            SELECT u.id, u.cnt
              FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(id, cnt, i)
             WHERE NOT v_found[u.i] AND v_status[u.i] = 0
             ORDER BY u.id
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING stream_id)
        SELECT u.i
          FROM unnest(p_streams) WITH ORDINALITY AS u(id, i)
         WHERE NOT v_found[u.i] AND v_status[u.i] = 0
           AND NOT EXISTS (SELECT 1 FROM created c WHERE c.stream_id = u.id)
    LOOP
        v_status[r.i] := 6;
    END LOOP;

    UPDATE {{schema}}.streams s
       SET version = s.version + u.cnt
      FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(id, cnt, i)
     WHERE s.stream_id = u.id AND v_found[u.i] AND v_status[u.i] = 0;

    -- Positions are taken in event order: the scan of the arrays yields the
    -- events in order and nextval runs as rows are produced.
    RETURN QUERY
    WITH inserted AS (
        INSERT INTO {{schema}}.events (position, event_id, stream_id, stream_version, type, data,
                                       metadata, causation_id, correlation_id, created_at)
        SELECT nextval('{{schema}}.event_position'), e.id, p_streams[e.i], v_cur[e.i] + e.ord,
               e.type, e.data, e.metadata, e.causation, e.correlation, now()
          FROM unnest(p_idx, p_ord, p_ids, p_types, p_data, p_metadata, p_causation, p_correlation)
               AS e(i, ord, id, type, data, metadata, causation, correlation)
         WHERE v_status[e.i] = 0
        RETURNING events.stream_id, events.position),
    ranges AS (
        SELECT ins.stream_id, min(ins.position) AS f, max(ins.position) AS l
          FROM inserted ins GROUP BY ins.stream_id)
    SELECT v_status[u.i],
           CASE WHEN v_status[u.i] = 0 THEN v_cur[u.i] + u.cnt ELSE v_cur[u.i] END,
           g.f, g.l
      FROM unnest(p_streams, p_counts) WITH ORDINALITY AS u(id, cnt, i)
      LEFT JOIN ranges g ON g.stream_id = u.id
     ORDER BY u.i;
END $$;
