-- Leases: one overlay subnet per cell, one cell per subnet, enforced here and nowhere else.

CREATE TABLE lease (
    underlay_ip  inet        PRIMARY KEY,
    subnet       cidr        NOT NULL,
    vtep_mac     macaddr     NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    renewed_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- true once the expiry event has been written; a renew clears it.
    expired      boolean     NOT NULL DEFAULT false,
    -- revision of the last event written for this lease
    revision     bigint      NOT NULL,
    CONSTRAINT lease_underlay_is_host CHECK (family(underlay_ip) = 4 AND masklen(underlay_ip) = 32),
    CONSTRAINT lease_subnet_is_ipv4   CHECK (family(subnet) = 4 AND masklen(subnet) BETWEEN 8 AND 30),
    -- no two leases may overlap, not only "not equal": survives a change of the subnet prefix
    CONSTRAINT lease_subnet_no_overlap EXCLUDE USING gist (subnet inet_ops WITH &&)
);

-- Reclaiming expired subnets takes the oldest first.
CREATE INDEX lease_expires_at ON lease (expires_at);

-- The pool: subnets of the configured network that no lease holds. Allocation takes the first
-- row of an index instead of reading every taken subnet, so its cost does not grow with leases.
-- Never-used subnets carry free_since = '-infinity' and go first; released ones follow, oldest first.
CREATE TABLE free_subnet (
    subnet      cidr        PRIMARY KEY,
    free_since  timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX free_subnet_pick ON free_subnet (free_since, subnet);

-- The pool definition the free list was built for; a replica with another configuration rebuilds it.
CREATE TABLE subnet_pool (
    id             smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    network        cidr     NOT NULL,
    subnet_prefix  smallint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The change history that watches stream from. Revisions come from one sequence; a writer takes
-- its revision last in its transaction, and readers wait out gaps left by transactions still in
-- flight (see LeaseChangeFeed).
CREATE SEQUENCE lease_revision;

CREATE TABLE lease_event (
    revision     bigint      PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('UPSERTED', 'DELETED', 'EXPIRED')),
    underlay_ip  inet        NOT NULL,
    subnet       cidr        NOT NULL,
    vtep_mac     macaddr     NOT NULL,
    expires_at   timestamptz NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lease_event_cell ON lease_event (underlay_ip, revision);
CREATE INDEX lease_event_occurred ON lease_event (occurred_at);

-- Events at or below this revision may have been compacted away: a watch resuming from an
-- older revision gets a fresh snapshot.
CREATE TABLE lease_event_horizon (
    id        smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    revision  bigint   NOT NULL
);
INSERT INTO lease_event_horizon (revision) VALUES (0);

-- Push, not polling: every statement that writes events wakes the change feeds on all replicas.
CREATE FUNCTION notify_lease_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('silk_lease_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER lease_event_notify AFTER INSERT ON lease_event
    FOR EACH STATEMENT EXECUTE FUNCTION notify_lease_event();
