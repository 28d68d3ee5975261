-- snpd schema, version 1. Applied by `snpd migrate` and at `snpd serve` start.
-- No patient identity anywhere: a request carries the regulator's case reference,
-- the needed profession, an approximate location and the urgency, nothing else.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE professionals (
    rpps            text PRIMARY KEY CHECK (rpps ~ '^[0-9]{11}$'),
    profession      text NOT NULL CHECK (profession IN ('gp', 'kine', 'nurse', 'midwife', 'dentist', 'pediatrician')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    home_radius_km  double precision CHECK (home_radius_km > 0),
    weekly_cap      integer CHECK (weekly_cap >= 0),
    territory       text,
    active          boolean NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE slots (
    id              bigint PRIMARY KEY,
    pro             text NOT NULL REFERENCES professionals (rpps),
    profession      text NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    mode            text NOT NULL CHECK (mode IN ('office', 'home', 'tele')),
    capacity        integer NOT NULL CHECK (capacity >= 1),
    ref             text,
    created_at      timestamptz NOT NULL,
    withdrawn_at    timestamptz,
    CHECK (ends_at > starts_at),
    UNIQUE (pro, ref),
    -- A professional's published slots never overlap.
    CONSTRAINT slots_no_overlap EXCLUDE USING gist (pro WITH =, tstzrange(starts_at, ends_at) WITH &&)
        WHERE (withdrawn_at IS NULL) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX slots_starts_at ON slots (starts_at);

CREATE TABLE requests (
    id              bigint PRIMARY KEY,
    ref             text NOT NULL UNIQUE,
    owner           text NOT NULL,
    profession      text NOT NULL,
    priority        smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),
    modes           text NOT NULL,
    lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    within_s        integer NOT NULL CHECK (within_s > 0),
    radius_km       double precision,
    hold_s          integer,
    wanted_slot     bigint,
    created_at      timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    state           text NOT NULL CHECK (state IN ('queued', 'held', 'booked', 'honored', 'noshow', 'expired', 'cancelled')),
    -- The slot it occupies (held, booked, honored, noshow), else the last one it had.
    slot_id         bigint REFERENCES slots (id),
    pro             text,
    slot_start      timestamptz,
    slot_end        timestamptz,
    slot_mode       text,
    distance_km     double precision,
    cost            double precision,
    matched_at      timestamptz,
    hold_until      timestamptz,
    booked_at       timestamptz,
    declined        bigint[] NOT NULL DEFAULT '{}',
    reason          text,
    closed_at       timestamptz,
    updated_at      timestamptz NOT NULL,
    CHECK (state NOT IN ('held', 'booked', 'honored', 'noshow') OR slot_id IS NOT NULL),
    CHECK (state <> 'held' OR hold_until IS NOT NULL)
);
CREATE INDEX requests_created_at ON requests (created_at);
CREATE INDEX requests_occupying ON requests (slot_id) WHERE state IN ('held', 'booked', 'honored', 'noshow');

-- A slot never holds more bookings and holds than its capacity: checked at commit for
-- every request that takes or changes a place.
CREATE FUNCTION snpd_check_slot_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
    cap integer;
BEGIN
    IF NEW.slot_id IS NULL OR NEW.state NOT IN ('held', 'booked', 'honored', 'noshow') THEN
        RETURN NULL;
    END IF;
    SELECT capacity INTO cap FROM slots WHERE id = NEW.slot_id;
    SELECT count(*) INTO taken FROM requests
        WHERE slot_id = NEW.slot_id AND state IN ('held', 'booked', 'honored', 'noshow');
    IF taken > cap THEN
        RAISE EXCEPTION 'slot % would hold % bookings for a capacity of %', NEW.slot_id, taken, cap
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER requests_slot_capacity
    AFTER INSERT OR UPDATE OF slot_id, state ON requests
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION snpd_check_slot_capacity();

-- Access tokens (§3.5). Only a SHA-256 hash of each secret is stored.
CREATE TABLE tokens (
    name            text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    role            text NOT NULL CHECK (role IN ('admin', 'coordinator', 'regulator', 'pro', 'reporter')),
    pro             text CHECK (pro ~ '^[0-9]{11}$'),
    secret_sha256   bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    CHECK ((role = 'pro') = (pro IS NOT NULL))
);
