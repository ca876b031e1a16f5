-- Control plane schema, version 1. Every tenant-owned row carries tenant_id and
-- every query filters on it; composite foreign keys keep a row from pointing at
-- another tenant's object even if a query forgot to.

CREATE TABLE users (
  id            text PRIMARY KEY,
  email         text NOT NULL UNIQUE CHECK (email = lower(email)),
  name          text NOT NULL DEFAULT '',
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9]([a-z0-9-]{1,38}[a-z0-9])$'),
  name           text NOT NULL,
  -- Bumped by trigger on every change to what the data plane reads; the config ETag.
  config_version bigint NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Refresh tokens rotate on use; a reused (already rotated) token revokes its whole family.
CREATE TABLE refresh_tokens (
  id          text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id   text NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  rotated_at  timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Tokens for automation, scoped to one tenant with a role; only the hash is kept.
CREATE TABLE api_tokens (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name         text NOT NULL,
  role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  token_hash   bytea NOT NULL UNIQUE,
  created_by   text,
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id);

-- Tokens a tenant's data plane uses to read that tenant's config; only the hash is kept.
CREATE TABLE dataplane_tokens (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   bytea NOT NULL UNIQUE,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dataplane_tokens_tenant_idx ON dataplane_tokens (tenant_id);

CREATE TABLE workspaces (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id         text NOT NULL UNIQUE,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE sources (
  tenant_id            text NOT NULL,
  workspace_id         text NOT NULL,
  id                   text NOT NULL UNIQUE,
  name                 text NOT NULL,
  write_key            text NOT NULL UNIQUE,
  enabled              boolean NOT NULL DEFAULT true,
  dedup_window_seconds integer NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sources_workspace_idx ON sources (tenant_id, workspace_id);

CREATE TABLE transformations (
  tenant_id       text NOT NULL,
  workspace_id    text NOT NULL,
  id              text NOT NULL UNIQUE,
  name            text NOT NULL,
  language        text NOT NULL DEFAULT 'javascript' CHECK (language = 'javascript'),
  current_version integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE transformation_versions (
  tenant_id         text NOT NULL,
  transformation_id text NOT NULL,
  version           integer NOT NULL,
  code              text NOT NULL,
  created_by        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, transformation_id, version),
  FOREIGN KEY (tenant_id, transformation_id) REFERENCES transformations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE destinations (
  tenant_id         text NOT NULL,
  workspace_id      text NOT NULL,
  id                text NOT NULL UNIQUE,
  name              text NOT NULL,
  type              text NOT NULL,
  enabled           boolean NOT NULL DEFAULT true,
  config            jsonb NOT NULL DEFAULT '{}',
  event_filter      jsonb NOT NULL DEFAULT '{}',
  delivery          jsonb NOT NULL DEFAULT '{}',
  -- A transformation attached to the destination applies on every connection that has none of its own.
  transformation_id text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, transformation_id) REFERENCES transformations (tenant_id, id)
);
CREATE INDEX destinations_workspace_idx ON destinations (tenant_id, workspace_id);

CREATE TABLE connections (
  tenant_id         text NOT NULL,
  workspace_id      text NOT NULL,
  id                text NOT NULL UNIQUE,
  source_id         text NOT NULL,
  destination_id    text NOT NULL,
  enabled           boolean NOT NULL DEFAULT true,
  transformation_id text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, source_id, destination_id),
  FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, destination_id) REFERENCES destinations (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, transformation_id) REFERENCES transformations (tenant_id, id)
);
CREATE INDEX connections_workspace_idx ON connections (tenant_id, workspace_id);

-- Who changed what, when. Written in the same transaction as the change.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL,
  actor_type  text NOT NULL,
  actor_id    text NOT NULL,
  action      text NOT NULL,
  object_type text NOT NULL,
  object_id   text NOT NULL,
  changes     jsonb,
  request_id  text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);

-- The tenant's data plane deployment (a RudderInstance when a cluster is configured).
CREATE TABLE instances (
  tenant_id  text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL,
  status     text NOT NULL CHECK (status IN ('pending', 'creating', 'ready', 'failed')),
  message    text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Background jobs as the API sees them; the queue itself lives in Redis (BullMQ).
CREATE TABLE jobs (
  id           text PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('onboarding', 'replay')),
  tenant_id    text,
  requested_by text NOT NULL,
  state        text NOT NULL DEFAULT 'queued',
  progress     jsonb NOT NULL DEFAULT '{}',
  result       jsonb,
  error        text,
  attempts     integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id, created_at DESC);
CREATE INDEX jobs_requester_idx ON jobs (requested_by, created_at DESC);

-- Event replays: the data plane claims and runs them, reporting progress here.
CREATE TABLE replays (
  tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id             text NOT NULL UNIQUE,
  job_id         text NOT NULL,
  source_id      text NOT NULL,
  destination_id text NOT NULL,
  from_ts        timestamptz NOT NULL,
  to_ts          timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'requested'
                 CHECK (status IN ('requested', 'running', 'completed', 'failed', 'cancelled')),
  replayed       bigint NOT NULL DEFAULT 0,
  total          bigint,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Any change to what a data plane reads bumps its tenant's config version and
-- wakes the long-polls waiting on it (in this and every other replica).
CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text;
BEGIN
  IF TG_OP = 'DELETE' THEN t := OLD.tenant_id; ELSE t := NEW.tenant_id; END IF;
  UPDATE tenants SET config_version = config_version + 1 WHERE id = t;
  PERFORM pg_notify('rudder_config', t);
  RETURN NULL;
END $$;

CREATE TRIGGER workspaces_config AFTER INSERT OR UPDATE OR DELETE ON workspaces
  FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER sources_config AFTER INSERT OR UPDATE OR DELETE ON sources
  FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER destinations_config AFTER INSERT OR UPDATE OR DELETE ON destinations
  FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER connections_config AFTER INSERT OR UPDATE OR DELETE ON connections
  FOR EACH ROW EXECUTE FUNCTION bump_config_version();
CREATE TRIGGER transformations_config AFTER INSERT OR UPDATE OR DELETE ON transformations
  FOR EACH ROW EXECUTE FUNCTION bump_config_version();
