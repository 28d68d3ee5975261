-- A commit whose outcome the daemon did not see (issue 14, docs/RELIABILITY.md).
--
-- When a group commit times out or its connection drops after the statement was sent, the
-- daemon cannot tell whether it landed. It must find out before it answers (§3.3): `OK` if
-- it landed, `UNAVAILABLE` (a promise that it never will) if not. So every group commit
-- writes a marker row, (run, seq): the daemon's run and the commit's number, in its own
-- transaction and before anything else. To settle a commit, the daemon ends whatever
-- commit backend is still running, then inserts a tombstone for the same (run, seq):
--   - if the commit's own marker is there, the tombstone is not inserted: it landed;
--   - if the commit is still in progress with its marker written, the insert waits for it
--     to end, one way or the other;
--   - otherwise the tombstone goes in, and the commit, should it ever reach that point,
--     fails on it (SQLSTATE SN002) and writes nothing: it can no longer land.
--
-- New rows are inserted, never merged: a request or slot id that already exists is an
-- error (a unique violation), not an update of someone else's row; changed rows are
-- updated, and a changed row that is missing is an error too (SN003).
CREATE TABLE snpd_commits (
    run     uuid NOT NULL,
    seq     bigint NOT NULL,
    landed  boolean NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run, seq)
);

-- The function that writes the marker, `snpd_commit`, changes once for this release's
-- three migrations (011 the marker, 012 the SAS feed's outbox, 013 plans): in 013.
