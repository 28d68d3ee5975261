-- A request's `ref` belongs to the regulator token that created it (SPEC §3.8, issue 14):
-- two regulators with the same case numbering each have their own request. The uniqueness
-- moves from (ref) to (owner, ref). Existing rows already satisfy it (ref was unique).
--
-- 001_initial.sql declared `ref text NOT NULL UNIQUE`, a constraint PostgreSQL named
-- requests_ref_key; it is found by what it covers rather than by that name, so that a
-- database whose constraint was named otherwise migrates too.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT con.conname
        FROM pg_constraint con
        WHERE con.conrelid = 'requests'::regclass
          AND con.contype = 'u'
          AND con.conkey = ARRAY[(SELECT a.attnum FROM pg_attribute a
                                  WHERE a.attrelid = 'requests'::regclass AND a.attname = 'ref')]::int2[]
    LOOP
        EXECUTE format('ALTER TABLE requests DROP CONSTRAINT %I', c.conname);
    END LOOP;
END
$$;

ALTER TABLE requests ADD CONSTRAINT requests_owner_ref_key UNIQUE (owner, ref);
