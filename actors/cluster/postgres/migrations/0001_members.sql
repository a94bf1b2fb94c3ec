-- One row per cluster member, as Orleans' SQL membership table: a node
-- inserts its row when it joins and renews heartbeat_at while it runs.
-- Liveness is judged by the database's clock alone: a member is live while
-- its status is 'alive' and heartbeat_at + ttl is in the future, so nodes
-- whose clocks differ agree, and a node configured with another TTL is
-- judged by its own. A row that expired stays expired: a heartbeat renews
-- only a live row. member_id is the actor system's id, new at every start,
-- so a restarted node is a new member; started_at orders the members that
-- advertised one address, and a newer one marks the older ones 'dead'.
CREATE TABLE {{schema}}.members (
    cluster_name text        NOT NULL,
    member_id    text        NOT NULL,
    host         text        NOT NULL,
    port         integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    kinds        text[]      NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    ttl          interval    NOT NULL CHECK (ttl > interval '0'),
    status       text        NOT NULL CHECK (status IN ('alive', 'left', 'dead')),
    PRIMARY KEY (cluster_name, member_id)
);

CREATE INDEX members_address ON {{schema}}.members (cluster_name, host, port);
