-- `snpd_commit` takes its rows as json instead of jsonb (issue 5, docs/PERFORMANCE.md).
--
-- The rows are read once, by json_to_recordset, right after they arrive: converting the text
-- into jsonb first (parsing it, then building the binary form) bought nothing and cost 5 to
-- 10 % of a 32-row commit (scripts/bench-commit). Same columns, same rules as 006.
DROP FUNCTION snpd_commit(bigint, jsonb, jsonb, jsonb, jsonb);

CREATE FUNCTION snpd_commit(expected_epoch bigint, pros json, slots json, reqs json, audit json)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    current_epoch bigint;
BEGIN
    IF expected_epoch IS NOT NULL THEN
        -- FOR SHARE: a daemon taking over waits for this commit, then bumps the epoch.
        SELECT epoch INTO current_epoch FROM leadership WHERE id = 1 FOR SHARE;
        IF current_epoch IS DISTINCT FROM expected_epoch THEN
            RAISE EXCEPTION 'another snpd leads this database now (epoch %, ours %)', current_epoch, expected_epoch
                USING ERRCODE = 'SN001';
        END IF;
    END IF;

    IF pros IS NOT NULL THEN
        INSERT INTO professionals (rpps, profession, name, lat, lon, home_radius_km, weekly_cap, territory, active, updated_at)
        SELECT r.rpps, r.profession, r.name, r.lat, r.lon, r.home_radius_km, r.weekly_cap, r.territory, r.active,
            to_timestamp(r.updated_at)
        FROM json_to_recordset(pros) AS r(rpps text, profession text, name text, lat float8, lon float8,
            home_radius_km float8, weekly_cap int, territory text, active bool, updated_at float8)
        ON CONFLICT (rpps) DO UPDATE SET profession = EXCLUDED.profession, name = EXCLUDED.name, lat = EXCLUDED.lat,
            lon = EXCLUDED.lon, home_radius_km = EXCLUDED.home_radius_km, weekly_cap = EXCLUDED.weekly_cap,
            territory = EXCLUDED.territory, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at;
    END IF;

    IF slots IS NOT NULL THEN
        INSERT INTO slots (id, pro, profession, starts_at, ends_at, mode, capacity, ref, created_at, withdrawn_at)
        SELECT r.id, r.pro, r.profession, to_timestamp(r.starts_at), to_timestamp(r.ends_at), r.mode, r.capacity, r.ref,
            to_timestamp(r.created_at), to_timestamp(r.withdrawn_at)
        FROM json_to_recordset(slots) AS r(id bigint, pro text, profession text, starts_at float8,
            ends_at float8, mode text, capacity int, ref text, created_at float8, withdrawn_at float8)
        ON CONFLICT (id) DO UPDATE SET withdrawn_at = EXCLUDED.withdrawn_at;
    END IF;

    IF reqs IS NOT NULL THEN
        -- A request's location is never updated: once blurred by the retention job
        -- (005_retention.sql), it stays blurred.
        INSERT INTO requests (id, ref, owner, profession, priority, modes, lat, lon, within_s, radius_km, hold_s,
            wanted_slot, created_at, deadline, state, slot_id, pro, slot_start, slot_end, slot_mode, distance_km, cost,
            matched_at, hold_until, booked_at, declined, reason, closed_at, updated_at)
        SELECT r.id, r.ref, r.owner, r.profession, r.priority, r.modes, r.lat, r.lon, r.within_s, r.radius_km, r.hold_s,
            r.wanted_slot, to_timestamp(r.created_at), to_timestamp(r.deadline), r.state, r.slot_id, r.pro,
            to_timestamp(r.slot_start), to_timestamp(r.slot_end), r.slot_mode, r.distance_km, r.cost,
            to_timestamp(r.matched_at), to_timestamp(r.hold_until), to_timestamp(r.booked_at), r.declined, r.reason,
            to_timestamp(r.closed_at), to_timestamp(r.updated_at)
        FROM json_to_recordset(reqs) AS r(id bigint, ref text, owner text, profession text,
            priority smallint, modes text, lat float8, lon float8, within_s int, radius_km float8, hold_s int,
            wanted_slot bigint, created_at float8, deadline float8, state text, slot_id bigint, pro text,
            slot_start float8, slot_end float8, slot_mode text, distance_km float8, cost float8, matched_at float8,
            hold_until float8, booked_at float8, declined bigint[], reason text, closed_at float8, updated_at float8)
        ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, slot_id = EXCLUDED.slot_id, pro = EXCLUDED.pro,
            slot_start = EXCLUDED.slot_start, slot_end = EXCLUDED.slot_end, slot_mode = EXCLUDED.slot_mode,
            distance_km = EXCLUDED.distance_km, cost = EXCLUDED.cost, matched_at = EXCLUDED.matched_at,
            hold_until = EXCLUDED.hold_until, booked_at = EXCLUDED.booked_at, declined = EXCLUDED.declined,
            reason = EXCLUDED.reason, closed_at = EXCLUDED.closed_at, updated_at = EXCLUDED.updated_at;
    END IF;

    IF audit IS NOT NULL THEN
        INSERT INTO audit_log (at, token, command, objects)
        SELECT to_timestamp(r.at), r.token, r.command, r.objects
        FROM json_to_recordset(audit) AS r(at float8, token text, command text, objects text[]);
    END IF;
END
$$;
