-- Live events (GET /api/v1/events, server/events.hpp): an outbox that statement-level triggers
-- fill in the same transaction as the change they report, so an event exists exactly when its
-- change committed, whichever process (a server, a worker, the command line) made it. An event
-- names the object; the server renders the object as each subscriber may see it when it sends
-- the event. Every statement that adds events notifies cw_changes ('events'), which wakes the
-- servers' event hubs; the ids let a client resume (Last-Event-ID) within the retention the
-- servers prune to ([server] event_retention_hours).

CREATE TABLE events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type       text NOT NULL,
  object_id  text NOT NULL,                  -- a row id, or a media's SHA-256
  detail     jsonb NOT NULL DEFAULT '{}',    -- what the object alone does not say (bulk ranges)
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_created_at_idx ON events (created_at);

CREATE TRIGGER events_changed AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();

-- Submissions: created, and any change of a row (status, metadata, attached media).
CREATE FUNCTION events_submissions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO events (type, object_id)
    SELECT 'submission.created', n.id::text FROM new_rows n ORDER BY n.id;
  ELSE
    INSERT INTO events (type, object_id)
    SELECT 'submission.updated', n.id::text
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE to_jsonb(n.*) IS DISTINCT FROM to_jsonb(o.*)
     ORDER BY n.id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER submissions_events_insert AFTER INSERT ON submissions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_submissions();
CREATE TRIGGER submissions_events_update AFTER UPDATE ON submissions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION events_submissions();

-- Jobs: a change of a job's state or progress is a change of the submissions it works for
-- (their processing state); a job that failed for good is an event of its own.
CREATE FUNCTION events_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, object_id)
  SELECT DISTINCT 'submission.updated', s.id::text
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN submissions s
      ON (n.kind = 'process_media' AND s.media_sha256 = n.payload->>'sha256')
      OR (n.kind = 'fetch_url' AND s.id::text = n.payload->>'submission_id')
   WHERE n.state IS DISTINCT FROM o.state OR n.progress IS DISTINCT FROM o.progress;
  INSERT INTO events (type, object_id)
  SELECT 'job.failed', n.id::text
    FROM new_rows n JOIN old_rows o ON o.id = n.id
   WHERE n.state = 'failed' AND o.state IS DISTINCT FROM 'failed'
   ORDER BY n.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_events_update AFTER UPDATE ON jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION events_jobs();

-- Media: an analysis written.
CREATE FUNCTION events_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, object_id)
  SELECT 'media.analysed', n.sha256
    FROM new_rows n JOIN old_rows o ON o.sha256 = n.sha256
   WHERE n.analysed_at IS NOT NULL AND n.analysed_at IS DISTINCT FROM o.analysed_at
   ORDER BY n.sha256;
  RETURN NULL;
END
$$;
CREATE TRIGGER media_events_update AFTER UPDATE ON media
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION events_media();

-- Near-duplicate links: a new suggestion (object: "<a_sha256>:<b_sha256>").
CREATE FUNCTION events_media_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, object_id)
  SELECT 'duplicate.suggested', n.a_sha256 || ':' || n.b_sha256
    FROM new_rows n
   WHERE n.status = 'suggested'
   ORDER BY 2;
  RETURN NULL;
END
$$;
CREATE TRIGGER media_links_events_insert AFTER INSERT ON media_links
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_media_links();

-- Observations: one event a row, except for a bulk import, which is one event with the id range
-- (a client fetches the rows it wants). A change of status is a verdict.
CREATE FUNCTION events_observations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*) INTO n FROM new_rows;
    IF n > 1000 THEN
      INSERT INTO events (type, object_id, detail)
      SELECT 'observation.created', min(id)::text,
             jsonb_build_object('bulk', true, 'count', count(*), 'first_id', min(id),
                                'last_id', max(id))
        FROM new_rows;
    ELSE
      INSERT INTO events (type, object_id)
      SELECT 'observation.created', r.id::text FROM new_rows r ORDER BY r.id;
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO events (type, object_id)
    SELECT CASE WHEN n.status IS DISTINCT FROM o.status THEN 'observation.verified'
                ELSE 'observation.updated' END,
           n.id::text
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE to_jsonb(n.*) IS DISTINCT FROM to_jsonb(o.*)
     ORDER BY n.id;
  ELSE
    INSERT INTO events (type, object_id)
    SELECT 'observation.deleted', o.id::text FROM old_rows o ORDER BY o.id;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER observations_events_insert AFTER INSERT ON observations
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_observations();
CREATE TRIGGER observations_events_update AFTER UPDATE ON observations
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION events_observations();
CREATE TRIGGER observations_events_delete AFTER DELETE ON observations
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION events_observations();

-- Convoy tracks are linked on demand; an analyst's split or merge changes the track that holds
-- the edit's first observation (object: that observation's id; the track is found when sent).
CREATE FUNCTION events_convoy_edits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, object_id, detail)
  SELECT 'convoy.updated', e.a_observation::text,
         jsonb_build_object('edit', e.kind, 'other_observation', e.b_observation)
    FROM new_rows e ORDER BY e.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER convoy_edits_events_insert AFTER INSERT ON convoy_edits
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_convoy_edits();

-- Reports: built, or built again (same id, new content).
CREATE FUNCTION events_reports() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (type, object_id)
  SELECT 'report.built', n.id::text FROM new_rows n ORDER BY n.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER reports_events_insert AFTER INSERT ON reports
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_reports();
CREATE TRIGGER reports_events_update AFTER UPDATE ON reports
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_reports();
