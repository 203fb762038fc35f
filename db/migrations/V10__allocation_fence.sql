-- The allocation fence (the controller's lease/AllocationFence).
--
-- A database that is new under running cells (lost and recreated, restored from a backup, copied
-- elsewhere) may lack leases that cells hold: a new cell given one of those subnets would displace a
-- cell with containers. While the fence stands, renews re-adopt their subnets and new cells are
-- refused with a retriable status; it stands once per database identity, for a window the
-- controller is configured with, or until an operator ends it.
--
-- The identity records where it was created: the PostgreSQL cluster (system identifier) and the
-- database (its OID). A dump restored elsewhere, or into a recreated database, carries its old
-- identity row into a place that does not match it: the controller then gives it a new identity
-- and fences (a physical replica promoted by a failover keeps both, and is not fenced).

ALTER TABLE database_identity
    ADD COLUMN created_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN system_identifier bigint,
    ADD COLUMN database_oid      oid,
    ADD COLUMN fenced_for        uuid,
    ADD COLUMN fenced_until      timestamptz,
    ADD COLUMN fence_reason      text;

-- Where this database lives now. The system identifier needs a privilege a database owner may not
-- have (pg_control_system); without it only the database OID is compared.
CREATE FUNCTION database_origin(OUT system_identifier bigint, OUT database_oid oid) LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT d.oid INTO database_oid FROM pg_database d WHERE d.datname = current_database();
    BEGIN
        SELECT c.system_identifier INTO system_identifier FROM pg_control_system() c;
    EXCEPTION WHEN insufficient_privilege THEN
        system_identifier := NULL;
    END;
END $$;

UPDATE database_identity i SET system_identifier = o.system_identifier, database_oid = o.database_oid
FROM database_origin() o;
