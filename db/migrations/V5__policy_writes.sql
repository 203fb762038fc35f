-- Policy writes in one round trip each, through one owner of the policy log (append_policy_event).
--
-- A create used to take five round trips in a transaction (xid, tag locks, quota count, tags,
-- inserts, commit) and raced on new apps' tags (a unique violation the loser retried, or not, for
-- egress). Each write is now one call of a function below, in its own implicit transaction:
--   * app_tag tags an app without a race (ON CONFLICT waits out a concurrent tagger and takes its
--     tag), and holds the tag against being freed until the caller's transaction ends;
--   * apps are tagged in sorted order, so two writers naming the same new apps never wait on each
--     other in a cycle; policies are written in the request's order (their ids are the order the
--     API lists them in);
--   * every event goes through append_policy_event; a policy that already exists writes none.
-- Refusals carry SQLSTATEs of their own, which the policy server maps to its HTTP answers:
--   SLK01  policy quota exceeded (403)      SLK02  no tag is free (507)

-- The events carry the revisions; the rows' own copies were never read.
ALTER TABLE policy DROP COLUMN revision;
ALTER TABLE egress_policy DROP COLUMN revision;

-- The app's tag, the lowest free one the first time the app is named; NULL when none is free.
-- The app_group row stays locked (FOR KEY SHARE) until the caller's transaction ends, so a
-- concurrent release cannot free the tag under it.
CREATE FUNCTION app_tag(p_app text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t integer;
BEGIN
    LOOP
        SELECT tag INTO t FROM app_group WHERE id = p_app FOR KEY SHARE;
        IF FOUND THEN
            RETURN t;
        END IF;
        DELETE FROM free_tag WHERE tag = (SELECT tag FROM free_tag ORDER BY tag LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING tag INTO t;
        IF t IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO app_group (id, tag) VALUES (p_app, t) ON CONFLICT (id) DO NOTHING;
        IF FOUND THEN
            RETURN t;
        END IF;
        -- Another writer tagged the app first and committed: give this tag back, take theirs.
        INSERT INTO free_tag (tag) VALUES (t);
    END LOOP;
END $$;

-- Tags every app of the rows, in sorted order; refuses when no tag is free. Returns app -> tag.
CREATE FUNCTION app_tags(p_apps text[]) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a text;
    t integer;
    tags jsonb := '{}';
BEGIN
    FOR a IN SELECT DISTINCT x FROM unnest(p_apps) x ORDER BY x LOOP
        t := app_tag(a);
        IF t IS NULL THEN
            RAISE EXCEPTION 'all 65535 tags are in use: no new app can be named in a policy' USING ERRCODE = 'SLK02';
        END IF;
        tags := tags || jsonb_build_object(a, t);
    END LOOP;
    RETURN tags;
END $$;

-- Those of the apps that no policy names.
CREATE FUNCTION unnamed(p_apps text[]) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT a), '{}') FROM unnest(p_apps) a
    WHERE NOT EXISTS (SELECT 1 FROM policy WHERE source_id = a)
      AND NOT EXISTS (SELECT 1 FROM policy WHERE destination_id = a)
      AND NOT EXISTS (SELECT 1 FROM egress_policy WHERE source_id = a)
$$;

-- Frees the tags of those apps that no policy names, in one statement; returns the apps freed. A
-- write naming one of them concurrently holds its app_group row (app_tag's FOR KEY SHARE): then
-- this waits for it and fails on the foreign key, and the caller frees the apps one by one.
CREATE FUNCTION release_unused_tags(p_apps jsonb) RETURNS SETOF text LANGUAGE sql AS $$
    WITH g AS (DELETE FROM app_group a WHERE a.id IN (SELECT jsonb_array_elements_text(p_apps))
                   AND NOT EXISTS (SELECT 1 FROM policy WHERE source_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM policy WHERE destination_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM egress_policy WHERE source_id = a.id) RETURNING a.id, a.tag),
         f AS (INSERT INTO free_tag (tag) SELECT tag FROM g)
    SELECT id FROM g
$$;

-- The detail of a policy event, one shape per kind, for its CREATED and its DELETED event alike:
-- what the controller reads and streams to cells (PolicyEventLog).
CREATE FUNCTION c2c_event_detail(p_destination text, p_protocol text, p_start integer, p_end integer,
        p_source_tag integer, p_destination_tag integer) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('destination_id', p_destination, 'protocol', p_protocol, 'start_port', p_start,
        'end_port', p_end, 'source_tag', p_source_tag, 'destination_tag', p_destination_tag)
$$;

CREATE FUNCTION egress_event_detail(p_protocol text, p_start_ip inet, p_end_ip inet, p_start_port integer,
        p_end_port integer, p_icmp_type integer, p_icmp_code integer, p_source_tag integer) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('protocol', p_protocol, 'start_ip', host(p_start_ip), 'end_ip', host(p_end_ip),
        'start_port', p_start_port, 'end_port', p_end_port, 'icmp_type', p_icmp_type, 'icmp_code', p_icmp_code,
        'source_tag', p_source_tag)
$$;

-- p_policies: [{"source_id", "destination_id", "protocol", "start_port", "end_port"}, ...].
-- p_quota: the most policies a source may have after the write; NULL for no limit (admins).
-- Returns how many policies were created (existing ones are left alone).
CREATE FUNCTION create_c2c_policies(p_policies jsonb, p_quota integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p record;
    tags jsonb;
    row_id bigint;
    created integer := 0;
BEGIN
    IF p_quota IS NOT NULL THEN
        FOR p IN SELECT source_id, count(*) AS adding FROM jsonb_to_recordset(p_policies) AS x(source_id text)
                 GROUP BY source_id LOOP
            IF (SELECT count(*) FROM policy WHERE source_id = p.source_id) + p.adding > p_quota THEN
                RAISE EXCEPTION 'policy quota exceeded' USING ERRCODE = 'SLK01';
            END IF;
        END LOOP;
    END IF;
    tags := app_tags(ARRAY(SELECT e->>'source_id' FROM jsonb_array_elements(p_policies) e
                           UNION SELECT e->>'destination_id' FROM jsonb_array_elements(p_policies) e));
    FOR p IN SELECT * FROM jsonb_to_recordset(p_policies)
                 AS x(source_id text, destination_id text, protocol text, start_port integer, end_port integer) LOOP
        INSERT INTO policy (source_id, destination_id, protocol, start_port, end_port)
            VALUES (p.source_id, p.destination_id, p.protocol, p.start_port, p.end_port)
            ON CONFLICT ON CONSTRAINT policy_unique DO NOTHING RETURNING policy.id INTO row_id;
        IF FOUND THEN
            PERFORM append_policy_event('CREATED', 'c2c', row_id, p.source_id, c2c_event_detail(p.destination_id,
                p.protocol, p.start_port, p.end_port, (tags->>p.source_id)::integer, (tags->>p.destination_id)::integer));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Deletes those of the policies that exist. Returns how many it deleted and the apps they named
-- that no policy names now (as this transaction sees it): the caller releases their tags after
-- this commits, checking again (release_unused_tags), since a write may name them meanwhile.
CREATE FUNCTION delete_c2c_policies(p_policies jsonb, OUT deleted integer, OUT unnamed_apps text[])
    LANGUAGE plpgsql AS $$
DECLARE
    p record;
    row_id bigint;
    apps text[] := '{}';
BEGIN
    FOR p IN SELECT * FROM jsonb_to_recordset(p_policies)
                 AS x(source_id text, destination_id text, protocol text, start_port integer, end_port integer) LOOP
        DELETE FROM policy WHERE source_id = p.source_id AND destination_id = p.destination_id
            AND protocol = p.protocol AND start_port = p.start_port AND end_port = p.end_port RETURNING policy.id INTO row_id;
        IF FOUND THEN
            PERFORM append_policy_event('DELETED', 'c2c', row_id, p.source_id, c2c_event_detail(p.destination_id,
                p.protocol, p.start_port, p.end_port, (SELECT tag FROM app_group WHERE app_group.id = p.source_id),
                (SELECT tag FROM app_group WHERE app_group.id = p.destination_id)));
            apps := apps || p.source_id || p.destination_id;
        END IF;
    END LOOP;
    deleted := coalesce(array_length(apps, 1), 0) / 2; -- two apps per policy
    unnamed_apps := unnamed(apps);
END $$;

-- p_policies: [{"source_id", "protocol", "start_ip", "end_ip", "start_port", "end_port",
-- "icmp_type", "icmp_code"}, ...] (ports and ICMP fields may be null). Returns how many were created.
CREATE FUNCTION create_egress_policies(p_policies jsonb) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    p record;
    tags jsonb;
    row_id bigint;
    created integer := 0;
BEGIN
    tags := app_tags(ARRAY(SELECT e->>'source_id' FROM jsonb_array_elements(p_policies) e));
    FOR p IN SELECT * FROM jsonb_to_recordset(p_policies) AS x(source_id text, protocol text, start_ip inet, end_ip inet,
                 start_port integer, end_port integer, icmp_type integer, icmp_code integer) LOOP
        INSERT INTO egress_policy (source_id, protocol, start_ip, end_ip, start_port, end_port, icmp_type, icmp_code)
            VALUES (p.source_id, p.protocol, p.start_ip, p.end_ip, p.start_port, p.end_port, p.icmp_type, p.icmp_code)
            ON CONFLICT ON CONSTRAINT egress_policy_unique DO NOTHING RETURNING egress_policy.id INTO row_id;
        IF FOUND THEN
            PERFORM append_policy_event('CREATED', 'egress', row_id, p.source_id, egress_event_detail(p.protocol,
                p.start_ip, p.end_ip, p.start_port, p.end_port, p.icmp_type, p.icmp_code, (tags->>p.source_id)::integer));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- Deletes those of the egress policies that exist. Returns how many, and their source apps that
-- no policy names now.
CREATE FUNCTION delete_egress_policies(p_policies jsonb, OUT deleted integer, OUT unnamed_apps text[])
    LANGUAGE plpgsql AS $$
DECLARE
    p record;
    row_id bigint;
    apps text[] := '{}';
BEGIN
    FOR p IN SELECT * FROM jsonb_to_recordset(p_policies) AS x(source_id text, protocol text, start_ip inet, end_ip inet,
                 start_port integer, end_port integer, icmp_type integer, icmp_code integer) LOOP
        DELETE FROM egress_policy WHERE source_id = p.source_id AND protocol = p.protocol
            AND start_ip = p.start_ip AND end_ip = p.end_ip
            AND start_port IS NOT DISTINCT FROM p.start_port AND end_port IS NOT DISTINCT FROM p.end_port
            AND icmp_type IS NOT DISTINCT FROM p.icmp_type AND icmp_code IS NOT DISTINCT FROM p.icmp_code
            RETURNING egress_policy.id INTO row_id;
        IF FOUND THEN
            PERFORM append_policy_event('DELETED', 'egress', row_id, p.source_id, egress_event_detail(p.protocol,
                p.start_ip, p.end_ip, p.start_port, p.end_port, p.icmp_type, p.icmp_code,
                (SELECT tag FROM app_group WHERE app_group.id = p.source_id)));
            apps := apps || p.source_id;
        END IF;
    END LOOP;
    deleted := coalesce(array_length(apps, 1), 0);
    unnamed_apps := unnamed(apps);
END $$;
