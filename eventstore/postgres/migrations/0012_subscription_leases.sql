-- Persistent subscriptions are held through leases that expire, with a
-- fencing token, instead of a session advisory lock per subscription: a
-- frozen process keeps its sessions (and so its locks) open, and held every
-- handler while it could not run. A holder is a store's lease connection,
-- alive while that session holds the advisory lock whose key is the holder
-- id. A lease may be taken when it is free, expired by the database's clock,
-- or held by a holder whose session ended (a dead process is replaced at
-- once). Every acquisition increments token; checkpoint writes and fenced
-- transactions (check_lease) name the token they hold, and are refused once
-- it has changed.
ALTER TABLE {{schema}}.subscriptions
    ADD COLUMN holder     bigint,
    ADD COLUMN token      bigint      NOT NULL DEFAULT 0,
    ADD COLUMN expires_at timestamptz;

-- holder_alive reports whether the session of a lease holder still exists:
-- it holds the session advisory lock keyed by the holder id, exclusively, so
-- a shared lock on that key cannot be taken (one taken is released at the end
-- of the caller's transaction).
CREATE FUNCTION {{schema}}.holder_alive(p_holder bigint) RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT NOT pg_try_advisory_xact_lock_shared(p_holder)
$$;

-- check_lease fences the calling transaction: it fails with SQLSTATE CH001
-- unless the subscription's lease still has the token, and otherwise keeps
-- the lease from passing to another holder until the transaction ends (a
-- taker locks the row FOR UPDATE SKIP LOCKED; renewals and checkpoints of
-- the holder do not wait). A client frozen inside the transaction loses its
-- session after p_idle, so that it holds the lease back no longer than that.
CREATE FUNCTION {{schema}}.check_lease(p_name text, p_token bigint, p_idle interval) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('idle_in_transaction_session_timeout',
        (extract(epoch FROM p_idle) * 1000)::bigint::text, true);
    PERFORM 1 FROM {{schema}}.subscriptions
      WHERE name = p_name AND token = p_token FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subscription %: lease % lost', p_name, p_token USING ERRCODE = 'CH001';
    END IF;
END
$$;
