-- append_batch finds its streams by key, whatever the statistics say. An
-- append touches a few streams out of many; but while the streams table is
-- young or has just grown, its statistics make the planner prefer to scan
-- all of it and hash the batch: at 5,000 streams that scan took 0.5 ms of
-- the function's 0.7 ms per batch, and it grows with the table. Without
-- scans and hash or merge joins to choose from, each stream is one probe of
-- the primary key, as on a large table with fresh statistics.
ALTER FUNCTION {{schema}}.append_batch(text[], bigint[], integer[], integer[], integer[], uuid[],
    text[], jsonb[], jsonb[], uuid[], uuid[])
    SET enable_seqscan = off
    SET enable_hashjoin = off
    SET enable_mergejoin = off;
