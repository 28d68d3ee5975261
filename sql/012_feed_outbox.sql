-- The SAS appointment feed (SPEC §8, issue 16): a transactional outbox.
--
-- Every booking snpd makes is reported to the SAS platform (INT_R03). The message that
-- reports a change is written by the group commit that writes the change, in the same
-- transaction (`snpd_commit`'s last argument, `outbox`): no booking is committed without
-- its message, and no message exists for a change that did not commit. The leader's
-- delivery worker (Sources/SNPServer/FeedWorker.swift) reads the table in order and marks
-- what the SAS accepted. Messages hold the full Appointment resource, which carries no
-- patient identity (an identifier of ours, the times, the professional, the regulator).

-- The regulator's identity at the SAS (FrAppointmentOperator): `IDNPS:<8+RPPS>` or
-- `INTRN:<SAS uuid>`, set by `snpd token add --operator`.
ALTER TABLE tokens ADD COLUMN operator_id text
    CHECK (operator_id IS NULL OR operator_id ~ '^(IDNPS:8[0-9]{11}|INTRN:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$');

CREATE TABLE feed_outbox (
    id              bigserial PRIMARY KEY,
    -- The value of the Appointment's identifier (its system is SNPD_APPOINTMENT_SYSTEM).
    appointment     text NOT NULL,
    -- The message's rank among its appointment's, from 1: they are sent in this order.
    seq             integer NOT NULL,
    method          text NOT NULL CHECK (method IN ('POST', 'PUT')),
    body            json NOT NULL,
    state           text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'delivered', 'parked')),
    attempts        integer NOT NULL DEFAULT 0,
    -- A POST was sent and no answer came back: the SAS may have created the appointment,
    -- so the next attempt is a conditional update (PUT by identifier), never a second POST.
    in_doubt        boolean NOT NULL DEFAULT false,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The last failure: an HTTP status and the SAS's OperationOutcome, or a network error.
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (appointment, seq)
);

-- What is left to send (small: delivered rows are the bulk, and they are pruned).
CREATE INDEX feed_outbox_pending ON feed_outbox (appointment, seq) WHERE state <> 'delivered';
-- Pruning of delivered messages after SNPD_SAS_RETENTION_DAYS.
CREATE INDEX feed_outbox_delivered ON feed_outbox (delivered_at) WHERE state = 'delivered';

-- `snpd_commit` gains the argument `outbox`, inserted last: in 013, which changes the
-- function once for this release's three migrations.
