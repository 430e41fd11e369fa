-- Media analysis results: the common fields as columns, everything else as JSONB, and the
-- extracted frames. Re-analysing a media replaces its frames.
ALTER TABLE media
  ADD COLUMN duration_s    double precision,
  ADD COLUMN width         integer,
  ADD COLUMN height        integer,
  ADD COLUMN rotation_deg  integer,
  ADD COLUMN fps           double precision,
  ADD COLUMN video_codec   text,
  ADD COLUMN creation_time timestamptz,
  ADD COLUMN location      geography(PointZ, 4326),
  ADD COLUMN analysis      jsonb,
  ADD COLUMN analysed_at   timestamptz;

CREATE TABLE frames (
  media_sha256 text NOT NULL REFERENCES media (sha256) ON DELETE CASCADE,
  idx          integer NOT NULL CHECK (idx >= 0),
  pts_ms       bigint NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('keyframe', 'scene', 'sample')),
  width        integer NOT NULL,
  height       integer NOT NULL,
  sharpness    double precision NOT NULL,
  file         text NOT NULL,
  thumb        text NOT NULL,
  PRIMARY KEY (media_sha256, idx)
);
