-- The inbox filters submissions by tag (GET /api/v1/submissions?tag=…, `tags @> ARRAY[$tag]`)
-- and tags them in bulk (POST /api/v1/submissions/tags): a GIN index answers the containment.
CREATE INDEX submissions_tags_idx ON submissions USING gin (tags);
