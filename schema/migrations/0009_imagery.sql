-- Reference imagery (store/imagery.cpp): satellite or aerial images in the evidence store (the
-- file at sha256/ab/cd/<hash>, like videos), with what the sandboxed probe read from them and
-- their footprint in WGS 84; and the comparisons and frame matches run on them as jobs.

CREATE TABLE imagery (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- One row per file: the same bytes uploaded again answer 409 with this row.
  sha256              text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  kind                text NOT NULL CHECK (kind IN ('geotiff', 'image')),
  original_filename   text NOT NULL DEFAULT '',
  bytes               bigint NOT NULL CHECK (bytes > 0),
  width               integer NOT NULL CHECK (width > 0),
  height              integer NOT NULL CHECK (height > 0),
  bands               integer NOT NULL CHECK (bands > 0),
  driver              text NOT NULL,
  data_type           text NOT NULL,
  crs_wkt             text NOT NULL,
  -- GDAL's geotransform of a GeoTIFF; NULL for an image georeferenced by corners.
  geotransform        double precision[],
  captured_at         timestamptz NOT NULL,
  source              text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
  ground_resolution_m double precision NOT NULL
                        CHECK (ground_resolution_m > 0 AND ground_resolution_m < 'Infinity'),
  -- [[lat, lon] × 4]: top-left, top-right, bottom-right, bottom-left, for PNG/JPEG only.
  corners             jsonb CHECK (corners IS NULL OR jsonb_typeof(corners) = 'array'),
  footprint           geometry(Polygon, 4326) NOT NULL,
  created_by          bigint NOT NULL REFERENCES users (id),
  org_id              bigint NOT NULL REFERENCES organisations (id),
  created_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT imagery_georeference CHECK (
    (kind = 'geotiff' AND geotransform IS NOT NULL AND corners IS NULL)
    OR (kind = 'image' AND geotransform IS NULL AND corners IS NOT NULL))
);
CREATE INDEX imagery_footprint_idx ON imagery USING gist (footprint);
CREATE INDEX imagery_captured_at_idx ON imagery (captured_at, id);

-- A before/after comparison or a frame-to-imagery match. The job (jobs.id) carries the state,
-- progress and the failure reason; `result` is what the sandboxed run printed, once done.
-- Its overlay and mask PNGs live in <storage.root>/derived/imagery/task-<id>/.
CREATE TABLE imagery_tasks (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('compare', 'match')),
  job_id       bigint NOT NULL UNIQUE REFERENCES jobs (id),
  before_id    bigint REFERENCES imagery (id),
  after_id     bigint REFERENCES imagery (id),
  area         geometry(Polygon, 4326),
  imagery_id   bigint REFERENCES imagery (id),
  media_sha256 text REFERENCES media (sha256),
  frame_index  integer CHECK (frame_index IS NULL OR frame_index >= 0),
  result       jsonb,
  created_by   bigint NOT NULL REFERENCES users (id),
  org_id       bigint NOT NULL REFERENCES organisations (id),
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  CONSTRAINT imagery_tasks_inputs CHECK (
    (kind = 'compare' AND before_id IS NOT NULL AND after_id IS NOT NULL AND imagery_id IS NULL
     AND media_sha256 IS NULL AND frame_index IS NULL)
    OR (kind = 'match' AND imagery_id IS NOT NULL AND media_sha256 IS NOT NULL
        AND frame_index IS NOT NULL AND before_id IS NULL AND after_id IS NULL AND area IS NULL))
);
CREATE INDEX imagery_tasks_before_idx ON imagery_tasks (before_id) WHERE before_id IS NOT NULL;
CREATE INDEX imagery_tasks_after_idx ON imagery_tasks (after_id) WHERE after_id IS NOT NULL;
CREATE INDEX imagery_tasks_imagery_idx ON imagery_tasks (imagery_id) WHERE imagery_id IS NOT NULL;
