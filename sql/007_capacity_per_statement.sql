-- The capacity check once per statement instead of once per row (issue 5, docs/PERFORMANCE.md).
--
-- 001_initial.sql checked, for every request row that takes or changes a place, that its slot
-- holds no more bookings and holds than its capacity: a deferred row trigger, queued per
-- row and run at commit, two queries each. A group commit writes all its requests in one
-- statement (`snpd_commit`), so the check now runs once at the end of each statement that
-- writes requests, over the slots that statement gave a place to, in one query. The rule is
-- the same; what changes is when it is checked: at the end of the statement rather than
-- at commit, so a transaction of several statements must not pass through an overbooked
-- state (none of snpd's does: the daemon writes requests with `snpd_commit` only, and the
-- retention job changes locations, never places).
--
-- The per-slot count goes through the index of occupying requests whatever the planner's
-- statistics say (enable_seqscan off for this function): a database whose statistics were
-- taken while `requests` was empty must not scan the whole table at every commit.

DROP TRIGGER requests_slot_capacity ON requests;
DROP FUNCTION snpd_check_slot_capacity();

CREATE FUNCTION snpd_check_slot_capacities() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    touched bigint[];
    bad record;
BEGIN
    -- The slots given a place by this statement: rows inserted occupying a slot, or
    -- updated to occupy a slot they did not occupy before.
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT n.slot_id) INTO touched
        FROM changed n JOIN previous o ON o.id = n.id
        WHERE n.slot_id IS NOT NULL AND n.state IN ('held', 'booked', 'honored', 'noshow')
            AND (n.slot_id IS DISTINCT FROM o.slot_id OR o.state NOT IN ('held', 'booked', 'honored', 'noshow'));
    ELSE
        SELECT array_agg(DISTINCT n.slot_id) INTO touched
        FROM changed n
        WHERE n.slot_id IS NOT NULL AND n.state IN ('held', 'booked', 'honored', 'noshow');
    END IF;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT s.id, s.capacity, t.taken INTO bad
    FROM slots s CROSS JOIN LATERAL (
        SELECT count(*) AS taken FROM requests q
        WHERE q.slot_id = s.id AND q.state IN ('held', 'booked', 'honored', 'noshow')) t
    WHERE s.id = ANY (touched) AND t.taken > s.capacity
    ORDER BY s.id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'slot % would hold % bookings for a capacity of %', bad.id, bad.taken, bad.capacity
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- A trigger with transition tables fires on one kind of event: one for INSERT (and the
-- rows an INSERT … ON CONFLICT inserts), one for UPDATE (and the rows it updates).
CREATE TRIGGER requests_slot_capacity_inserted AFTER INSERT ON requests
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION snpd_check_slot_capacities();
CREATE TRIGGER requests_slot_capacity_updated AFTER UPDATE ON requests
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION snpd_check_slot_capacities();
