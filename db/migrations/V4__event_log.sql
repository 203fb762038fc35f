-- One mechanism for every event log (leases, policies, and the kinds to come).
--
-- 1. Appending an event has one owner: append_lease_event / append_policy_event. Each takes the
--    writer's transaction id before it draws the revision, the order the controller's
--    revision-ordered reader relies on to wait out gaps (RevisionOrderedReader). No writer calls
--    nextval on a revision sequence or inserts into an event table itself.
-- 2. No NOTIFY inside a write transaction (PostgreSQL holds its notify lock through the commit
--    flush and so serialises every commit): writers signal after commit, coalesced (ChangeSignal).
-- 3. Every log is compacted behind a horizon kept in event_horizon; a watch resuming from below
--    the horizon gets a snapshot.
-- 4. The database carries an identity, so a cell resuming from a revision of another database
--    (one lost and recreated) is given a snapshot instead of a silent gap.

CREATE TABLE database_identity (
    id    smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    uuid  uuid     NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO database_identity DEFAULT VALUES;

-- The VTEP MAC Silk derives from a subnet base: ee:ee + the four address bytes. The same rule is
-- io.silk.values.VtepMac in Java; a test holds the two together.
CREATE FUNCTION vtep_mac(subnet cidr) RETURNS macaddr LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CAST('eeee' || lpad(to_hex(subnet - CAST('0.0.0.0' AS inet)), 8, '0') AS macaddr)
$$;

CREATE FUNCTION append_lease_event(p_kind text, p_cell inet, p_subnet cidr, p_mac macaddr, p_expires_at timestamptz)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r bigint;
BEGIN
    PERFORM pg_current_xact_id(); -- the xid first, then the revision
    r := nextval('lease_revision');
    INSERT INTO lease_event (revision, kind, underlay_ip, subnet, vtep_mac, expires_at)
    VALUES (r, p_kind, p_cell, p_subnet, p_mac, p_expires_at);
    RETURN r;
END $$;

CREATE FUNCTION append_policy_event(p_kind text, p_type text, p_id bigint, p_source text, p_detail jsonb)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r bigint;
BEGIN
    PERFORM pg_current_xact_id(); -- the xid first, then the revision
    r := nextval('policy_revision');
    INSERT INTO policy_event (revision, kind, policy_type, policy_id, source_id, detail)
    VALUES (r, p_kind, p_type, p_id, p_source, p_detail);
    RETURN r;
END $$;

-- Policy writes signal after commit now, as lease writes do (V3_1).
DROP TRIGGER policy_event_notify ON policy_event;
DROP FUNCTION notify_policy_event();

-- One horizon table for every log.
CREATE TABLE event_horizon (
    log       text   PRIMARY KEY,
    revision  bigint NOT NULL
);
INSERT INTO event_horizon (log, revision) SELECT 'lease', revision FROM lease_event_horizon;
INSERT INTO event_horizon (log, revision) VALUES ('policy', 0);
DROP TABLE lease_event_horizon;

-- Compaction drops a policy's CREATED event once its DELETED event is old enough, so it finds the
-- pair by policy; start-up then reads one event per live policy, whatever the history.
CREATE INDEX policy_event_policy ON policy_event (policy_type, policy_id, revision);
CREATE INDEX policy_event_occurred ON policy_event (occurred_at);
