-- Pipelined group commits (issue 18, target 4; docs/RELIABILITY.md).
--
-- The daemon may send a group commit while the one before it is still in flight, each on
-- its own connection (`SNPD_COMMIT_PIPELINE`). The later one built on the earlier one in
-- memory, so it must land only if the earlier one landed, and after it. With a pipeline
-- (`pipelined`), the daemon gives `snpd_commit_after` the number of the commit still in
-- flight before this one, if there is one; `snpd_commit_after`:
--   1. inserts its own gate row: a later commit waits on it while this one runs;
--   2. waits for the earlier commit to end, by inserting the earlier one's gate (a unique
--      index makes an insert wait for a transaction that inserted the same key), then
--      reads the earlier one's marker row (011):
--        - landed: it goes on. Its own work starts only now, so it sees every row the
--          earlier one wrote (a request created there and changed here is found; the
--          capacity check counts the earlier one's bookings);
--        - a tombstone (the daemon settled the earlier one as not landed): nothing is
--          written (SQLSTATE SN004);
--        - no marker: the earlier one rolled back, or has not reached the server yet (the
--          two go on different connections). The two cannot be told apart by a look at
--          the tables, so the wait is tried again every 2 ms, for about a second, before
--          giving up with SN004. Each try is a subtransaction, so nothing of it is left;
--   3. does what `snpd_commit` does (014, unchanged), then deletes its gate (its
--      transaction ends, so no later commit can see the gate).
-- So a commit never lands unless every earlier one of the pipeline landed before it: what
-- the daemon settles for one commit (011's tombstone) is final for all that follow it.
-- The gates are unlogged: they matter only while a transaction runs. With one commit at a
-- time (`pipelined` false, the default), `snpd_commit_after` is `snpd_commit`.
CREATE UNLOGGED TABLE snpd_commit_gates (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (run, seq)
);

CREATE FUNCTION snpd_await_commit(batch_run uuid, earlier bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tries integer := 0;
    earlier_landed boolean;
BEGIN
    LOOP
        BEGIN
            -- Waits while the earlier commit's transaction runs; then undone at once.
            INSERT INTO snpd_commit_gates (run, seq) VALUES (batch_run, earlier);
            RAISE EXCEPTION 'undo' USING ERRCODE = 'SN005';
        EXCEPTION WHEN SQLSTATE 'SN005' OR unique_violation THEN
            NULL;
        END;
        SELECT c.landed INTO earlier_landed FROM snpd_commits c WHERE c.run = batch_run AND c.seq = earlier;
        IF FOUND THEN
            IF earlier_landed THEN
                RETURN;
            END IF;
            EXIT;
        END IF;
        tries := tries + 1;
        EXIT WHEN tries >= 500;
        PERFORM pg_sleep(0.002);
    END LOOP;
    RAISE EXCEPTION 'commit % of run % did not land; nothing written', earlier, batch_run USING ERRCODE = 'SN004';
END
$$;

CREATE FUNCTION snpd_commit_after(
    pipelined boolean, earlier bigint, expected_epoch bigint, batch_run uuid, batch_seq bigint, pros json, new_slots json,
    slot_changes json, new_reqs json, req_changes json, audit json, outbox json DEFAULT NULL, plans json DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF pipelined THEN
        INSERT INTO snpd_commit_gates (run, seq) VALUES (batch_run, batch_seq);
    END IF;
    IF earlier IS NOT NULL THEN
        PERFORM snpd_await_commit(batch_run, earlier);
    END IF;
    PERFORM snpd_commit(expected_epoch, batch_run, batch_seq, pros, new_slots, slot_changes, new_reqs, req_changes,
        audit, outbox, plans);
    IF pipelined THEN
        DELETE FROM snpd_commit_gates WHERE run = batch_run AND seq = batch_seq;
    END IF;
END
$$;
