-- Deferred decisions (SPEC §3.8 `decide=`, issue 17).
--
-- A request asked with `decide=<duration>` is `pending` until the engine decides it, with
-- the other pending requests, by `decide_by` at the latest. Its row carries the duration
-- asked (`decide_s`, part of the content a retry with the same ref must repeat) and the
-- instant (`decide_by`, kept once decided). A pending request holds no place: no slot.
--
-- `snpd_commit` keeps 013's signature and body; the one change is that new requests carry
-- `decide_s` and `decide_by` (a changed request never changes them: the UPDATE is 013's).
ALTER TABLE requests ADD COLUMN decide_s integer CHECK (decide_s > 0);
ALTER TABLE requests ADD COLUMN decide_by timestamptz;
ALTER TABLE requests DROP CONSTRAINT requests_state_check;
ALTER TABLE requests ADD CONSTRAINT requests_state_check
    CHECK (state IN ('pending', 'queued', 'held', 'booked', 'honored', 'noshow', 'expired', 'cancelled'));
ALTER TABLE requests ADD CONSTRAINT requests_pending_decide_by CHECK (state <> 'pending' OR decide_by IS NOT NULL);

CREATE OR REPLACE FUNCTION snpd_commit(
    expected_epoch bigint, batch_run uuid, batch_seq bigint, pros json, new_slots json, slot_changes json,
    new_reqs json, req_changes json, audit json, outbox json DEFAULT NULL, plans json DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    current_epoch bigint;
    changed integer;
BEGIN
    IF expected_epoch IS NOT NULL THEN
        -- FOR SHARE: a daemon taking over waits for this commit, then bumps the epoch.
        SELECT epoch INTO current_epoch FROM leadership WHERE id = 1 FOR SHARE;
        IF current_epoch IS DISTINCT FROM expected_epoch THEN
            RAISE EXCEPTION 'another snpd leads this database now (epoch %, ours %)', current_epoch, expected_epoch
                USING ERRCODE = 'SN001';
        END IF;
    END IF;

    INSERT INTO snpd_commits (run, seq, landed) VALUES (batch_run, batch_seq, true) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'commit % of run % was given up by the daemon; nothing written', batch_seq, batch_run
            USING ERRCODE = 'SN002';
    END IF;
    -- Markers are needed only while a commit may be unsettled: keep the last thousand of
    -- this run, and tombstones (rare) for a day.
    IF batch_seq % 1024 = 0 THEN
        DELETE FROM snpd_commits
        WHERE (run = batch_run AND seq < batch_seq - 1024 AND landed)
            OR (run <> batch_run AND (landed OR at < now() - interval '1 day'));
    END IF;

    IF pros IS NOT NULL THEN
        -- Professionals are keyed by their RPPS number, chosen by people: `PRO PUT` creates
        -- or updates, so this stays an upsert.
        INSERT INTO professionals (rpps, profession, name, lat, lon, home_radius_km, weekly_cap, territory, address,
            city, postcode, phone, given, family, structure, active, updated_at)
        SELECT r.rpps, r.profession, r.name, r.lat, r.lon, r.home_radius_km, r.weekly_cap, r.territory, r.address,
            r.city, r.postcode, r.phone, r.given, r.family, r.structure, r.active, to_timestamp(r.updated_at)
        FROM json_to_recordset(pros) AS r(rpps text, profession text, name text, lat float8, lon float8,
            home_radius_km float8, weekly_cap int, territory text, address text, city text, postcode text, phone text,
            given text, family text, structure text, active bool, updated_at float8)
        ON CONFLICT (rpps) DO UPDATE SET profession = EXCLUDED.profession, name = EXCLUDED.name, lat = EXCLUDED.lat,
            lon = EXCLUDED.lon, home_radius_km = EXCLUDED.home_radius_km, weekly_cap = EXCLUDED.weekly_cap,
            territory = EXCLUDED.territory, address = EXCLUDED.address, city = EXCLUDED.city,
            postcode = EXCLUDED.postcode, phone = EXCLUDED.phone, given = EXCLUDED.given, family = EXCLUDED.family,
            structure = EXCLUDED.structure, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at;
    END IF;

    -- Withdrawals first, so that a slot withdrawn and one published over it in the same
    -- batch never meet in the overlap check.
    IF slot_changes IS NOT NULL THEN
        UPDATE slots s SET withdrawn_at = to_timestamp(r.withdrawn_at)
        FROM json_to_recordset(slot_changes) AS r(id bigint, withdrawn_at float8)
        WHERE s.id = r.id;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> json_array_length(slot_changes) THEN
            RAISE EXCEPTION '% changed slots, % found', json_array_length(slot_changes), changed USING ERRCODE = 'SN003';
        END IF;
    END IF;

    IF new_slots IS NOT NULL THEN
        INSERT INTO slots (id, pro, profession, starts_at, ends_at, mode, capacity, ref, created_at, withdrawn_at, kind)
        SELECT r.id, r.pro, r.profession, to_timestamp(r.starts_at), to_timestamp(r.ends_at), r.mode, r.capacity, r.ref,
            to_timestamp(r.created_at), to_timestamp(r.withdrawn_at), coalesce(r.kind, 'regular')
        FROM json_to_recordset(new_slots) AS r(id bigint, pro text, profession text, starts_at float8,
            ends_at float8, mode text, capacity int, ref text, created_at float8, withdrawn_at float8, kind text);
    END IF;

    IF req_changes IS NOT NULL THEN
        -- Changed requests before new ones: an update may free a place (a cancellation, a
        -- move) that a new request of the same commit takes; an insert never frees one, and
        -- the capacity check runs at the end of each statement (007). A request's location is
        -- never updated: once blurred by the retention job (005_retention.sql), it stays blurred.
        UPDATE requests q SET state = r.state, slot_id = r.slot_id, pro = r.pro,
            slot_start = to_timestamp(r.slot_start), slot_end = to_timestamp(r.slot_end), slot_mode = r.slot_mode,
            distance_km = r.distance_km, cost = r.cost, matched_at = to_timestamp(r.matched_at),
            hold_until = to_timestamp(r.hold_until), booked_at = to_timestamp(r.booked_at), declined = r.declined,
            reason = r.reason, closed_at = to_timestamp(r.closed_at), updated_at = to_timestamp(r.updated_at)
        FROM json_to_recordset(req_changes) AS r(id bigint, state text, slot_id bigint, pro text,
            slot_start float8, slot_end float8, slot_mode text, distance_km float8, cost float8, matched_at float8,
            hold_until float8, booked_at float8, declined bigint[], reason text, closed_at float8, updated_at float8)
        WHERE q.id = r.id;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> json_array_length(req_changes) THEN
            RAISE EXCEPTION '% changed requests, % found', json_array_length(req_changes), changed USING ERRCODE = 'SN003';
        END IF;
    END IF;

    IF new_reqs IS NOT NULL THEN
        INSERT INTO requests (id, ref, owner, profession, priority, modes, lat, lon, within_s, radius_km, hold_s,
            wanted_slot, created_at, deadline, state, slot_id, pro, slot_start, slot_end, slot_mode, distance_km, cost,
            matched_at, hold_until, booked_at, declined, reason, closed_at, updated_at, decide_s, decide_by)
        SELECT r.id, r.ref, r.owner, r.profession, r.priority, r.modes, r.lat, r.lon, r.within_s, r.radius_km, r.hold_s,
            r.wanted_slot, to_timestamp(r.created_at), to_timestamp(r.deadline), r.state, r.slot_id, r.pro,
            to_timestamp(r.slot_start), to_timestamp(r.slot_end), r.slot_mode, r.distance_km, r.cost,
            to_timestamp(r.matched_at), to_timestamp(r.hold_until), to_timestamp(r.booked_at), r.declined, r.reason,
            to_timestamp(r.closed_at), to_timestamp(r.updated_at), r.decide_s, to_timestamp(r.decide_by)
        FROM json_to_recordset(new_reqs) AS r(id bigint, ref text, owner text, profession text,
            priority smallint, modes text, lat float8, lon float8, within_s int, radius_km float8, hold_s int,
            wanted_slot bigint, created_at float8, deadline float8, state text, slot_id bigint, pro text,
            slot_start float8, slot_end float8, slot_mode text, distance_km float8, cost float8, matched_at float8,
            hold_until float8, booked_at float8, declined bigint[], reason text, closed_at float8, updated_at float8,
            decide_s int, decide_by float8);
    END IF;

    IF audit IS NOT NULL THEN
        INSERT INTO audit_log (at, token, command, objects)
        SELECT to_timestamp(r.at), r.token, r.command, r.objects
        FROM json_to_recordset(audit) AS r(at float8, token text, command text, objects text[]);
    END IF;

    IF outbox IS NOT NULL THEN
        -- The SAS feed's messages (SPEC §8), in the same transaction as the changes they
        -- report. `seq` numbers each appointment's messages in the order they were made.
        INSERT INTO feed_outbox (appointment, seq, method, body)
        SELECT m.appointment,
            COALESCE((SELECT max(o.seq) FROM feed_outbox o WHERE o.appointment = m.appointment), 0)
                + row_number() OVER (PARTITION BY m.appointment ORDER BY m.n),
            m.method, m.body
        FROM json_to_recordset(outbox) AS m(n int, appointment text, method text, body json)
        ORDER BY m.n;
    END IF;

    IF plans IS NOT NULL THEN
        -- New plans inserted (an id that exists is an error), changed ones updated (a missing
        -- one is an error), as for slots and requests. Last: a plan's cursor lands with the
        -- slots it published, in this same transaction.
        INSERT INTO plans (id, pro, days, from_min, to_min, length_s, mode, capacity, kind, until, created_at,
            deleted_at, cursor_pos, published, skipped, updated_at)
        SELECT r.id, r.pro, r.days, r.from_min, r.to_min, r.length_s, r.mode, r.capacity, r.kind, r.until::date,
            to_timestamp(r.created_at), to_timestamp(r.deleted_at), r.cursor_pos, r.published, r.skipped,
            to_timestamp(r.updated_at)
        FROM json_to_recordset(plans) AS r(id bigint, is_new bool, pro text, days text, from_min int, to_min int,
            length_s int, mode text, capacity int, kind text, until text, created_at float8, deleted_at float8,
            cursor_pos int, published int, skipped int, updated_at float8)
        WHERE r.is_new;

        UPDATE plans p SET deleted_at = to_timestamp(r.deleted_at), cursor_pos = r.cursor_pos,
            published = r.published, skipped = r.skipped, updated_at = to_timestamp(r.updated_at)
        FROM json_to_recordset(plans) AS r(id bigint, is_new bool, deleted_at float8, cursor_pos int, published int,
            skipped int, updated_at float8)
        WHERE p.id = r.id AND NOT r.is_new;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> (SELECT count(*) FROM json_to_recordset(plans) AS r(is_new bool) WHERE NOT r.is_new) THEN
            RAISE EXCEPTION '% changed plans, % found',
                (SELECT count(*) FROM json_to_recordset(plans) AS r(is_new bool) WHERE NOT r.is_new), changed
                USING ERRCODE = 'SN003';
        END IF;
    END IF;
END
$$;
