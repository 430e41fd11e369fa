-- The job queue, completed (store/jobs.cpp): when a job finished, a wake-up for jobs that become
-- claimable again (released, retried by an operator), and indexes for lease takeover, the
-- operator's list by state and the lookup of a media's jobs by payload.

ALTER TABLE jobs ADD COLUMN finished_at timestamptz;
UPDATE jobs SET finished_at = updated_at WHERE state IN ('done', 'failed');

-- A job back in 'queued' and due now (release on shutdown, `jobs retry`) wakes the workers like a
-- new one. A retry with backoff (run_after in the future) does not: workers poll as well.
CREATE TRIGGER jobs_notify_requeued
  AFTER UPDATE OF state ON jobs
  FOR EACH ROW
  WHEN (NEW.state = 'queued' AND OLD.state <> 'queued' AND NEW.run_after <= now())
  EXECUTE FUNCTION jobs_notify();

-- Claim takes over running jobs whose lease ran out (the worker died).
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE state = 'running';
-- `jobs list --state failed` pages by id.
CREATE INDEX jobs_state_id_idx ON jobs (state, id);
-- Jobs of one media / submission: payload @> '{"sha256": "…"}'.
CREATE INDEX jobs_payload_idx ON jobs USING gin (payload jsonb_path_ops);
