-- Network policy: apps (policy groups) with their VXLAN-GBP tags, app -> app policies, egress
-- policies, and the change history the controller streams to cells.

-- Tags are 16-bit (the VXLAN-GBP group). Free tags sit here; an app takes the lowest, and gives
-- it back when no policy names it any more.
CREATE TABLE free_tag (
    tag integer PRIMARY KEY CHECK (tag BETWEEN 1 AND 65535)
);
INSERT INTO free_tag (tag) SELECT generate_series(1, 65535);

CREATE TABLE app_group (
    id    text    PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    tag   integer NOT NULL UNIQUE CHECK (tag BETWEEN 1 AND 65535),
    type  text    NOT NULL DEFAULT 'app'
);

CREATE SEQUENCE policy_revision;

CREATE TABLE policy (
    id              bigserial PRIMARY KEY,
    source_id       text    NOT NULL REFERENCES app_group (id),
    destination_id  text    NOT NULL REFERENCES app_group (id),
    protocol        text    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    start_port      integer NOT NULL CHECK (start_port BETWEEN 1 AND 65535),
    end_port        integer NOT NULL CHECK (end_port BETWEEN 1 AND 65535 AND end_port >= start_port),
    revision        bigint  NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policy_unique UNIQUE (source_id, destination_id, protocol, start_port, end_port)
);
CREATE INDEX policy_destination ON policy (destination_id);

-- Egress: an app may reach addresses outside the overlay.
CREATE TABLE egress_policy (
    id          bigserial PRIMARY KEY,
    source_id   text    NOT NULL REFERENCES app_group (id),
    protocol    text    NOT NULL CHECK (protocol IN ('tcp', 'udp', 'icmp', 'all')),
    start_ip    inet    NOT NULL CHECK (family(start_ip) = 4),
    end_ip      inet    NOT NULL CHECK (family(end_ip) = 4 AND end_ip >= start_ip),
    start_port  integer CHECK (start_port BETWEEN 1 AND 65535),
    end_port    integer CHECK (end_port BETWEEN 1 AND 65535 AND end_port >= start_port),
    icmp_type   integer CHECK (icmp_type BETWEEN -1 AND 255),
    icmp_code   integer CHECK (icmp_code BETWEEN -1 AND 255),
    revision    bigint  NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT egress_ports_only_for_tcp_udp CHECK (protocol IN ('tcp', 'udp') OR (start_port IS NULL AND end_port IS NULL)),
    CONSTRAINT egress_policy_unique UNIQUE NULLS NOT DISTINCT
        (source_id, protocol, start_ip, end_ip, start_port, end_port, icmp_type, icmp_code)
);

-- What changed, in revision order, for the controller's policy stream (same pattern as leases).
CREATE TABLE policy_event (
    revision     bigint  PRIMARY KEY,
    kind         text    NOT NULL CHECK (kind IN ('CREATED', 'DELETED')),
    policy_type  text    NOT NULL CHECK (policy_type IN ('c2c', 'egress')),
    policy_id    bigint  NOT NULL,
    source_id    text    NOT NULL,
    detail       jsonb   NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policy_event_source ON policy_event (source_id);

CREATE FUNCTION notify_policy_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('silk_policy_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER policy_event_notify AFTER INSERT ON policy_event
    FOR EACH STATEMENT EXECUTE FUNCTION notify_policy_event();
