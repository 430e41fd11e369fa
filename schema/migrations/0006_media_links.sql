-- Near-duplicate footage: each analysed media's video signature (one PDQ frame hash a second,
-- from the sandboxed analysis) and the links the matcher suggests between media. Links are
-- suggestions until an analyst confirms or rejects them; a verdict survives re-analysis.

-- A small integer per media for the in-memory index; the id grows whenever a media's
-- signature is written (again), so processes that keep an index load what is newer than the
-- largest id they have seen.
CREATE TABLE media_signatures (
  media_sha256 text PRIMARY KEY REFERENCES media (sha256) ON DELETE CASCADE,
  id           bigint NOT NULL UNIQUE,
  frames       jsonb NOT NULL CHECK (jsonb_typeof(frames) = 'array'),  -- [{pts_ms, pdq, quality}]
  written_at   timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE media_signatures_id_seq OWNED BY media_signatures.id;

-- One row per unordered pair (a_sha256 < b_sha256). query_percent is a's share of frames found
-- in b, compared_percent b's share found in a; offset_ms = median (pts in b - pts in a) of the
-- matched frames. kind clip_of says which side is the clip (clip = 'a' or 'b').
CREATE TABLE media_links (
  a_sha256         text NOT NULL REFERENCES media (sha256) ON DELETE CASCADE,
  b_sha256         text NOT NULL REFERENCES media (sha256) ON DELETE CASCADE,
  kind             text NOT NULL CHECK (kind IN ('same_footage', 'clip_of')),
  clip             text CHECK (clip IS NULL OR clip IN ('a', 'b')),
  a_percent        double precision NOT NULL CHECK (a_percent BETWEEN 0 AND 100),
  b_percent        double precision NOT NULL CHECK (b_percent BETWEEN 0 AND 100),
  offset_ms        bigint,
  mirrored         boolean NOT NULL DEFAULT false,
  status           text NOT NULL DEFAULT 'suggested'
                     CHECK (status IN ('suggested', 'confirmed', 'rejected')),
  verdict_by       bigint REFERENCES users (id),
  verdict_note     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (a_sha256, b_sha256),
  CHECK (a_sha256 < b_sha256)
);
CREATE INDEX media_links_b_idx ON media_links (b_sha256);
