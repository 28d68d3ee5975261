-- RGPD minimisation: after the retention period (90 days by default), the nightly job
-- (`snpd retention`) blurs a request's location to a 0.1° grid and keeps only what the
-- indicators need from it: the territory it was counted in, frozen here, and the distance
-- to its slot (already in distance_km).
ALTER TABLE requests
    ADD COLUMN territory text,
    ADD COLUMN location_blurred_at timestamptz;
-- The job looks for requests not yet blurred, oldest first.
CREATE INDEX requests_unblurred ON requests (created_at) WHERE location_blurred_at IS NULL;
