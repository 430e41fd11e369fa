-- Ingestion: the media originals (content-addressed), submissions, the job queue the pipeline
-- claims from, the stored first replies of idempotent requests, and tus uploads in progress.

-- One row per distinct original, addressed by the SHA-256 of its bytes. Later migrations add
-- the analysis columns (probe, duration, …).
CREATE TABLE media (
  sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size       bigint NOT NULL CHECK (size >= 0),
  container  text NOT NULL DEFAULT '',
  mime       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- What an investigator sent. org_id is copied from the submitter when the row is made: it is
-- the organisation that may read `org` rows, and a list filter. The exact duplicate of a
-- submission is not stored: it is the earliest other submission of the same media that the
-- reader may see, found through submissions_media_idx, so org-private rows never leak.
CREATE TABLE submissions (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  submitted_by      bigint NOT NULL REFERENCES users (id),
  org_id            bigint NOT NULL REFERENCES organisations (id),
  visibility        text NOT NULL CONSTRAINT submissions_visibility_check
                      CHECK (visibility IN ('taskforce', 'org')),
  -- Later issues extend this set: drop and re-create the constraint by its name.
  status            text NOT NULL DEFAULT 'queued' CONSTRAINT submissions_status_check
                      CHECK (status IN ('queued', 'fetching', 'processing', 'done', 'failed')),
  source_url        text CHECK (source_url IS NULL OR length(source_url) BETWEEN 1 AND 4096),
  platform          text CONSTRAINT submissions_platform_check
                      CHECK (platform IS NULL OR platform IN ('telegram', 'tiktok', 'x', 'youtube',
                                                             'vk', 'facebook', 'instagram',
                                                             'other')),
  posted_at         timestamptz,
  author            text,
  description       text,
  claimed_location  geography(Point, 4326),
  claimed_radius_m  double precision
                      CHECK (claimed_radius_m IS NULL OR (claimed_radius_m >= 0
                                                          AND claimed_radius_m < 'Infinity')),
  claimed_place     text,
  tags              text[] NOT NULL DEFAULT '{}',
  media_sha256      text REFERENCES media (sha256),
  original_filename text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT submissions_media_or_url CHECK (media_sha256 IS NOT NULL OR source_url IS NOT NULL)
);
-- The list filters page by id, so each filter index ends in id.
CREATE INDEX submissions_media_idx ON submissions (media_sha256, id) WHERE media_sha256 IS NOT NULL;
CREATE INDEX submissions_status_idx ON submissions (status, id);
CREATE INDEX submissions_platform_idx ON submissions (platform, id);
CREATE INDEX submissions_submitted_by_idx ON submissions (submitted_by, id);
CREATE INDEX submissions_org_idx ON submissions (org_id, id);
CREATE INDEX submissions_created_at_idx ON submissions (created_at);

-- The work queue. Workers claim with SELECT … FOR UPDATE SKIP LOCKED and hold a lease
-- (lease_owner, lease_until); a job whose lease ran out is taken over by another worker.
CREATE TABLE jobs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  state       text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_state_check
                CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  run_after   timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_until timestamptz,
  last_error  text,
  progress    integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_claim_idx ON jobs (state, run_after) WHERE state = 'queued';

-- Workers LISTEN cw_jobs; the payload is the job kind. PostgreSQL delivers it at commit, so a
-- worker never wakes for a job it cannot see yet.
CREATE FUNCTION jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cw_jobs', NEW.kind);
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify();

-- The first answer to a request that carried an Idempotency-Key, replayed to retries.
CREATE TABLE idempotency_keys (
  user_id    bigint NOT NULL REFERENCES users (id),
  key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  status     integer NOT NULL,
  body       text NOT NULL,
  location   text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- tus uploads in progress. The bytes received so far are the temp file's size (the file system
-- is the truth for offsets); submission_id is set when the upload completed into a submission.
CREATE TABLE uploads (
  id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
  user_id       bigint NOT NULL REFERENCES users (id),
  length        bigint NOT NULL CHECK (length >= 0),
  metadata      text NOT NULL DEFAULT '',
  temp_name     text NOT NULL CHECK (length(temp_name) BETWEEN 1 AND 255),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  submission_id bigint REFERENCES submissions (id)
);
CREATE INDEX uploads_user_idx ON uploads (user_id);
CREATE INDEX uploads_expires_at_idx ON uploads (expires_at);
