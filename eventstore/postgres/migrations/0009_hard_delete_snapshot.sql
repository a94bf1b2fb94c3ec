-- A hard delete also removes the snapshot whose source is the stream (an
-- aggregate's snapshot, with the command ids it remembers). Left behind, it
-- described versions a re-created stream never had: loading from it, an
-- aggregate conflicted on every append.
CREATE OR REPLACE FUNCTION {{schema}}.delete_stream(p_stream text, p_expected bigint, p_hard boolean,
    OUT status smallint, OUT version bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
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
        DELETE FROM {{schema}}.snapshots WHERE source_id = p_stream;
        DELETE FROM {{schema}}.streams WHERE stream_id = p_stream;
    ELSE
        UPDATE {{schema}}.streams SET deleted = true WHERE stream_id = p_stream;
    END IF;
    status := 0;
END $$;
