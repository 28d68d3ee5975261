-- Audit trail: who (token name) changed what (command, object ids) and when. Written in
-- the same transaction as the change itself. No patient data: ids only, never a case
-- reference, a location or a free-text reason.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    token       text NOT NULL,
    command     text NOT NULL,
    objects     text[] NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
