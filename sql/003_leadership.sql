-- Leadership (§4.4): only one daemon serves a database. The leader holds a PostgreSQL
-- advisory lock on a dedicated connection; each time leadership changes hands the
-- epoch below grows, and every commit checks it (a fencing token), so a daemon that
-- lost the lock without noticing can never write after another took over.
CREATE TABLE leadership (
    id      integer PRIMARY KEY CHECK (id = 1),
    epoch   bigint NOT NULL,
    holder  text NOT NULL,
    since   timestamptz NOT NULL
);
INSERT INTO leadership VALUES (1, 0, '', now());
