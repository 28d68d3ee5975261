-- The practice's contact, for the FHIR interface (SPEC §3.6, §7.2; issue 15): the address,
-- phone and name split that the SAS platform shows, and the structure (a prefixed IDNST
-- identifier). Optional: a professional without them is left out of FHIR answers. The
-- checks are the daemon's own (`PracticeContact`), lengths counted in characters as
-- PostgreSQL's length() counts them (code points).
ALTER TABLE professionals
    ADD COLUMN address   text CHECK (length(address) BETWEEN 1 AND 200),
    ADD COLUMN city      text CHECK (length(city) BETWEEN 1 AND 100),
    ADD COLUMN postcode  text CHECK (postcode ~ '^[0-9]{5}$'),
    ADD COLUMN phone     text CHECK (phone ~ '^\+33[0-9]{9}$'),
    ADD COLUMN given     text CHECK (length(given) BETWEEN 1 AND 100),
    ADD COLUMN family    text CHECK (length(family) BETWEEN 1 AND 100),
    ADD COLUMN structure text CHECK (structure ~ '^(1[0-9AB]{9}|3[0-9]{14}|4[0-9]{12,20})$');
