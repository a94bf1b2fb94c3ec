-- A member holds one database session for its whole life, and in it a
-- session advisory lock whose second key is lock_key (the first is the
-- constant 1668052339, 'clus' in ASCII; pg_locks shows them as classid and
-- objid, objsubid 2). A member whose lock is no longer held is not live,
-- whatever its heartbeat: its process died, or its session was lost, and
-- the others drop it at their next read instead of after its TTL. A frozen
-- process keeps its session, and its row expires as before. Rows written
-- before this migration have no lock_key and are judged by their TTL alone.
ALTER TABLE {{schema}}.members
    ADD COLUMN lock_key integer CHECK (lock_key > 0);
