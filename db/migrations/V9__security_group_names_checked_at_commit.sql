-- The policy server's security-group syncer (silk.policy-server.cloud-controller) makes our groups
-- equal to the Cloud Controller's in one transaction. Between two syncs the Cloud Controller may
-- have swapped two groups' names, or renamed along a chain (a -> b while b -> c); checked at every
-- statement, no order of the writes would pass. The name stays unique, but the syncer may have it
-- checked at commit (SET CONSTRAINTS security_group_name_key DEFERRED); every other writer still has
-- it checked at once (put_security_group's SLK04 is unchanged).
ALTER TABLE security_group DROP CONSTRAINT security_group_name_key;
ALTER TABLE security_group ADD CONSTRAINT security_group_name_key UNIQUE (name) DEFERRABLE INITIALLY IMMEDIATE;
