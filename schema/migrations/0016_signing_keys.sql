-- Keys with which every server of a deployment signs short-lived links (server/signed_link.hpp):
-- a link to an original that a <video> element can play without sending the access token. Kept
-- in the database so that every `serve` behind a load balancer signs and checks alike. The
-- application role may only read them (store/internal/grants.hpp).
--
-- The key is 32 bytes of SHA-256 over two version-4 UUIDs, which PostgreSQL draws from
-- pg_strong_random (OpenSSL here): 244 random bits, no pgcrypto needed. Replacing a key
-- (`UPDATE signing_keys SET key = … WHERE purpose = 'media_link'` as the owner) invalidates every
-- link signed with the old one.
CREATE TABLE signing_keys (
  purpose    text PRIMARY KEY CHECK (purpose IN ('media_link')),
  key        bytea NOT NULL CHECK (length(key) >= 32),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO signing_keys (purpose, key)
VALUES ('media_link', sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')));
