-- Platform: organisations, users, API tokens and the hash-chained audit log.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE organisations (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE user_role AS ENUM ('contributor', 'analyst', 'admin');

CREATE TABLE users (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
  org_id      bigint NOT NULL REFERENCES organisations (id),
  role        user_role NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_org_idx ON users (org_id);

-- Only the SHA-256 of a token is kept: a leaked table does not leak credentials.
CREATE TABLE api_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id),
  token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
  label        text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Append-only audit log. hash = SHA-256(previous row's hash || audit_canonical(row)); the first
-- row chains from 32 zero bytes. `convoywatch audit verify` recomputes the chain.
CREATE TABLE audit_log (
  id       bigint PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor_id bigint REFERENCES users (id),
  actor    text NOT NULL,
  action   text NOT NULL,
  object   text NOT NULL,
  diff     jsonb NOT NULL DEFAULT '{}'::jsonb,
  hash     bytea CHECK (hash IS NULL OR length(hash) = 32)
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_object_idx ON audit_log (object, id);

-- The canonical text of a row: every column but the hash, in a fixed order and format, so that
-- changing any of them changes the chain.
CREATE FUNCTION audit_canonical(a audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws(E'\x1f',
                   a.id::text,
                   to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   coalesce(a.actor_id::text, ''),
                   a.actor,
                   a.action,
                   a.object,
                   a.diff::text)
$$;
