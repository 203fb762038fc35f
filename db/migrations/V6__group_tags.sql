-- Tags of groups that are not apps (cf's internal API: PUT /networking/v1/internal/tags, e.g. the
-- router's INGRESS_ROUTER of type "router"), which a third-party agent asks for and which must
-- stay whatever the policies name.

-- The tag of a group of this type: the one it has, or a new one. A group id that exists with
-- another type is refused (SLK03), as cf's server refuses it.
CREATE FUNCTION group_tag(p_id text, p_type text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    existing text;
    t integer;
BEGIN
    SELECT type INTO existing FROM app_group WHERE id = p_id FOR KEY SHARE;
    IF FOUND AND existing <> p_type THEN
        RAISE EXCEPTION '% has a tag of type %, not %', p_id, existing, p_type USING ERRCODE = 'SLK03';
    END IF;
    t := app_tag(p_id);
    IF t IS NULL THEN
        RAISE EXCEPTION 'all 65535 tags are in use' USING ERRCODE = 'SLK02';
    END IF;
    UPDATE app_group SET type = p_type WHERE id = p_id AND type <> p_type;
    RETURN t;
END $$;

-- As in V5, but only apps' tags go back when no policy names them.
CREATE OR REPLACE FUNCTION release_unused_tags(p_apps jsonb) RETURNS SETOF text LANGUAGE sql AS $$
    WITH g AS (DELETE FROM app_group a WHERE a.id IN (SELECT jsonb_array_elements_text(p_apps))
                   AND a.type = 'app'
                   AND NOT EXISTS (SELECT 1 FROM policy WHERE source_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM policy WHERE destination_id = a.id)
                   AND NOT EXISTS (SELECT 1 FROM egress_policy WHERE source_id = a.id) RETURNING a.id, a.tag),
         f AS (INSERT INTO free_tag (tag) SELECT tag FROM g)
    SELECT id FROM g
$$;
