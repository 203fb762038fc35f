-- Application security groups (Cloud Controller v3's shape) and their bindings to spaces, on the
-- policy log: a group and a binding are two more kinds of thing in policy_event, so the controller
-- streams them to cells on the policy watch it already runs (one feed, one revision order).
--
--   * a group's event carries its whole current state (a write replaces it: the latest CREATED
--     event of a group says all; compaction drops the superseded ones), with its rules both as cf
--     wrote them (for the API) and parsed into address and port ranges (for the cells);
--   * a binding (group, space, lifecycle) is a thing of its own, so a cell is sent the bindings of
--     the spaces it hosts only, and a binding's event names its space whether it is made or undone;
--   * every write is one call below, in its own implicit transaction, through append_policy_event.
-- Refusal: SLK04  a group of that name exists (422, as the Cloud Controller answers).

CREATE TABLE security_group (
    id               bigserial PRIMARY KEY,
    guid             uuid    NOT NULL UNIQUE,
    name             text    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 250),
    -- cf's rule objects, as written
    rules            jsonb   NOT NULL,
    -- the same rules parsed (SecurityGroupRules in the policy server), as cells receive them
    entries          jsonb   NOT NULL,
    running_default  boolean NOT NULL DEFAULT false,
    staging_default  boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE security_group_space (
    id                 bigserial PRIMARY KEY,
    security_group_id  bigint NOT NULL REFERENCES security_group (id),
    space_guid         text   NOT NULL CHECK (length(space_guid) BETWEEN 1 AND 255),
    lifecycle          text   NOT NULL CHECK (lifecycle IN ('running', 'staging')),
    CONSTRAINT security_group_space_unique UNIQUE (security_group_id, space_guid, lifecycle)
);
CREATE INDEX security_group_space_space ON security_group_space (space_guid);

ALTER TABLE policy_event DROP CONSTRAINT policy_event_policy_type_check;
ALTER TABLE policy_event ADD CONSTRAINT policy_event_policy_type_check
    CHECK (policy_type IN ('c2c', 'egress', 'security_group', 'security_group_binding'));

CREATE FUNCTION security_group_event_detail(g security_group) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('guid', g.guid, 'name', g.name, 'running_default', g.running_default,
        'staging_default', g.staging_default, 'entries', g.entries)
$$;

CREATE FUNCTION binding_event_detail(p_group uuid, p_space text, p_lifecycle text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('security_group_guid', p_group, 'space_guid', p_space, 'lifecycle', p_lifecycle)
$$;

-- Creates the group, or replaces the one with this guid. Appends an event only when something
-- changed (a syncer writing the same groups again writes nothing). Returns true when it did.
CREATE FUNCTION put_security_group(p_guid uuid, p_name text, p_rules jsonb, p_entries jsonb, p_running boolean,
        p_staging boolean) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    g security_group;
BEGIN
    SELECT * INTO g FROM security_group WHERE guid = p_guid FOR UPDATE;
    IF FOUND AND g.name = p_name AND g.rules = p_rules AND g.running_default = p_running AND g.staging_default = p_staging THEN
        RETURN false;
    END IF;
    BEGIN
        IF FOUND THEN
            UPDATE security_group SET name = p_name, rules = p_rules, entries = p_entries, running_default = p_running,
                staging_default = p_staging, updated_at = now() WHERE id = g.id RETURNING * INTO g;
        ELSE
            INSERT INTO security_group (guid, name, rules, entries, running_default, staging_default)
                VALUES (p_guid, p_name, p_rules, p_entries, p_running, p_staging) RETURNING * INTO g;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'Security group with name ''%'' already exists.', p_name USING ERRCODE = 'SLK04';
    END;
    PERFORM append_policy_event('CREATED', 'security_group', g.id, g.guid::text, security_group_event_detail(g));
    RETURN true;
END $$;

-- Binds the group to the spaces (a JSON array of space guids) for the lifecycle; existing bindings
-- stay. Returns how many were made; NULL when there is no such group.
CREATE FUNCTION bind_security_group(p_guid uuid, p_spaces jsonb, p_lifecycle text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    gid bigint;
    s text;
    bid bigint;
    made integer := 0;
BEGIN
    SELECT id INTO gid FROM security_group WHERE guid = p_guid FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOR s IN SELECT DISTINCT x FROM jsonb_array_elements_text(p_spaces) x ORDER BY x LOOP
        INSERT INTO security_group_space (security_group_id, space_guid, lifecycle) VALUES (gid, s, p_lifecycle)
            ON CONFLICT ON CONSTRAINT security_group_space_unique DO NOTHING RETURNING id INTO bid;
        IF FOUND THEN
            PERFORM append_policy_event('CREATED', 'security_group_binding', bid, s, binding_event_detail(p_guid, s, p_lifecycle));
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;

-- Undoes the bindings of the group to those spaces for the lifecycle. Returns how many went.
CREATE FUNCTION unbind_security_group(p_guid uuid, p_spaces jsonb, p_lifecycle text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    b record;
    gone integer := 0;
BEGIN
    FOR b IN DELETE FROM security_group_space sp USING security_group g
             WHERE g.guid = p_guid AND sp.security_group_id = g.id AND sp.lifecycle = p_lifecycle
               AND sp.space_guid IN (SELECT jsonb_array_elements_text(p_spaces))
             RETURNING sp.id, sp.space_guid LOOP
        PERFORM append_policy_event('DELETED', 'security_group_binding', b.id, b.space_guid,
            binding_event_detail(p_guid, b.space_guid, p_lifecycle));
        gone := gone + 1;
    END LOOP;
    RETURN gone;
END $$;

-- Deletes the group and its bindings. Returns false when there was no such group.
CREATE FUNCTION delete_security_group(p_guid uuid) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    g security_group;
    b record;
BEGIN
    SELECT * INTO g FROM security_group WHERE guid = p_guid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    FOR b IN DELETE FROM security_group_space WHERE security_group_id = g.id RETURNING id, space_guid, lifecycle LOOP
        PERFORM append_policy_event('DELETED', 'security_group_binding', b.id, b.space_guid,
            binding_event_detail(p_guid, b.space_guid, b.lifecycle));
    END LOOP;
    DELETE FROM security_group WHERE id = g.id;
    PERFORM append_policy_event('DELETED', 'security_group', g.id, g.guid::text, security_group_event_detail(g));
    RETURN true;
END $$;
