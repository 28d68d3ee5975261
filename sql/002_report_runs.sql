-- History of `snpd report` runs (§5): one row per period and scope, replaced when the
-- same period is computed again (idempotent), so the nightly timer can catch up safely.
CREATE TABLE report_runs (
    id              bigserial PRIMARY KEY,
    period_from     date NOT NULL,
    period_to       date NOT NULL,
    -- '' for every territory together.
    territory       text NOT NULL DEFAULT '',
    ran_at          timestamptz NOT NULL DEFAULT now(),
    version         text NOT NULL,
    figures         jsonb NOT NULL,
    CHECK (period_to >= period_from),
    UNIQUE (period_from, period_to, territory)
);
