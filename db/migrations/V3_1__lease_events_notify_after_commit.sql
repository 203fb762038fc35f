-- Lease writers no longer NOTIFY inside their transactions. A NOTIFY takes a database-wide lock
-- that its transaction holds until its commit is flushed, so every lease write committed one
-- at a time, fsync after fsync. The controller now sends one NOTIFY after its writes commit,
-- coalescing many (see LeaseChangeSignal); change feeds also re-read once a second regardless.
DROP TRIGGER lease_event_notify ON lease_event;
DROP FUNCTION notify_lease_event();
