-- Schema version 8 -> 9: when a person was deregistered, so that `authctl user purge`
-- erases a deregistered person's data once the retention period has passed (PIPL
-- art. 47; docs/operations.md, "Deregistered persons"). `updated` cannot say it: other
-- writes touch it. Set once by the status change to deregistered, never changed.
--
-- A person deregistered before this version gets the time of the row's last change:
-- no write after the deregistration can be earlier, so the retention period counts
-- from at least that late, never earlier than the deregistration itself.
ALTER TABLE person ADD COLUMN deregistered INTEGER;

UPDATE person SET deregistered = updated WHERE status = 'deregistered';

CREATE INDEX IF NOT EXISTS person_deregistered ON person(deregistered)
  WHERE deregistered IS NOT NULL;
