-- Single overlay IPs (Silk's single_overlay_ip leases): a host without containers, such as a router,
-- joins the overlay with one address, a /32 from subnet 0 of the network (10.255.0.1/32 ..
-- 10.255.0.255/32 for 10.255.0.0/16 in /24s), which is never leased to a cell.

ALTER TABLE lease DROP CONSTRAINT lease_subnet_is_ipv4;
ALTER TABLE lease ADD CONSTRAINT lease_subnet_is_ipv4
    CHECK (family(subnet) = 4 AND (masklen(subnet) BETWEEN 8 AND 30 OR masklen(subnet) = 32));

-- Subnet 0 is for single IPs. A free list rebuilt for a new network kept a subnet of the old one
-- that is subnet 0 of the new (10.255.0.0/24 of 10.254.0.0/15, then of 10.255.0.0/16), so a cell
-- could be given it; the rebuild now drops it (SubnetPoolSetup), and so does this, once. A cell
-- that holds it keeps it: single IPs are taken around it.
DELETE FROM free_subnet f USING subnet_pool p WHERE f.subnet = set_masklen(p.network, p.subnet_prefix);
