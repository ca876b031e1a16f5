-- Background jobs, version 2: what a crashed control plane needs to pick its
-- jobs up again, and the indexes the job, instance and replay APIs query by.

-- The BullMQ job's data, so a job whose row was committed but never reached
-- Redis (a crash between the two) can be enqueued again on start.
ALTER TABLE jobs ADD COLUMN data jsonb NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
  CHECK (state IN ('queued', 'active', 'retrying', 'completed', 'failed'));
CREATE INDEX jobs_unfinished_idx ON jobs (created_at) WHERE state IN ('queued', 'active', 'retrying');
CREATE INDEX jobs_onboarding_tenant_idx ON jobs (tenant_id, created_at DESC) WHERE kind = 'onboarding';

-- The tenant's first data-plane token, issued once by onboarding; a re-run finds it here.
ALTER TABLE instances ADD COLUMN dataplane_token_id text;

-- The workspace a replay's source and destination belong to.
ALTER TABLE replays ADD COLUMN workspace_id text;
CREATE INDEX replays_tenant_idx ON replays (tenant_id, created_at DESC);
CREATE INDEX replays_open_idx ON replays (tenant_id, created_at) WHERE status IN ('requested', 'running');
