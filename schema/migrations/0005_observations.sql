-- Geodata (loaded by `convoywatch geodata load` from data/geodata/) and convoy observations
-- with the values derived from it on every write.

-- What was loaded, from which published source, under which licence.
CREATE TABLE geo_layers (
  layer       text PRIMARY KEY,
  source      text NOT NULL,
  version     text NOT NULL,
  license     text NOT NULL,
  attribution text NOT NULL,
  features    integer NOT NULL,
  sha256      text NOT NULL,
  loaded_at   timestamptz NOT NULL DEFAULT now()
);

-- Whole outlines (maps, reports) and the same cut into small pieces (ST_Subdivide), which is
-- what point-in-polygon and nearest-neighbour lookups use: a point tested against a piece of a
-- few hundred vertices, found through the GiST index, instead of all of Russia's outline.
CREATE TABLE geo_countries (
  iso_a3 text PRIMARY KEY,
  name   text NOT NULL,
  geom   geometry(MultiPolygon, 4326) NOT NULL
);
CREATE TABLE geo_country_parts (
  id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  iso_a3 text NOT NULL REFERENCES geo_countries (iso_a3) ON DELETE CASCADE,
  geom   geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX geo_country_parts_geom_idx ON geo_country_parts USING gist (geom);

CREATE TABLE geo_regions (
  iso_3166_2 text PRIMARY KEY,
  country    text NOT NULL,
  name_en    text NOT NULL,
  name_ru    text,
  name_uk    text,
  geom       geometry(MultiPolygon, 4326) NOT NULL
);
CREATE TABLE geo_region_parts (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  iso_3166_2 text NOT NULL REFERENCES geo_regions (iso_3166_2) ON DELETE CASCADE,
  country    text NOT NULL,
  geom       geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX geo_region_parts_geom_idx ON geo_region_parts USING gist (geom);

-- The Ukrainian land border, one row per neighbour, and in pieces for nearest-point lookups.
CREATE TABLE geo_border (
  neighbour text PRIMARY KEY,
  length_km double precision NOT NULL,
  geom      geometry(MultiLineString, 4326) NOT NULL
);
CREATE TABLE geo_border_parts (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  neighbour text NOT NULL REFERENCES geo_border (neighbour) ON DELETE CASCADE,
  geom      geometry(LineString, 4326) NOT NULL
);
CREATE INDEX geo_border_parts_geom_idx ON geo_border_parts USING gist (geom);

-- GeoNames populated places; `names` holds the lower-cased name, ASCII name and alternate names
-- (Latin and Cyrillic) for matching place names in descriptions.
CREATE TABLE geo_places (
  geonameid    bigint PRIMARY KEY,
  name         text NOT NULL,
  ascii_name   text NOT NULL,
  names        text[] NOT NULL DEFAULT '{}',
  country      text NOT NULL,
  admin1       text NOT NULL DEFAULT '',
  feature_code text NOT NULL DEFAULT '',
  population   bigint NOT NULL DEFAULT 0,
  geom         geometry(Point, 4326) NOT NULL
);
CREATE INDEX geo_places_geom_idx ON geo_places USING gist (geom);
CREATE INDEX geo_places_names_idx ON geo_places USING gin (names);

-- The values derived from a point and a heading: country (ISO alpha-3), oblast (ISO 3166-2,
-- preferring one of the matched country where the generalised oblast edges overlap), nearest
-- populated place and its geodesic distance, geodesic distance to the Ukrainian land border
-- (on the spheroid), the initial bearing to the nearest border point, and the movement relative
-- to the border: toward (heading within 60° of that bearing), away (within 60° of the
-- opposite), parallel, stationary (no heading) or unknown (no border data, or on the line).
-- Candidates come from the GiST indexes (the border pieces within a box that provably holds
-- the nearest one, the 4 planar-nearest places), then the spheroid distance picks among them.
-- A plain SQL function, so that the planner inlines it into bulk INSERT … SELECT.
CREATE FUNCTION observation_derived(p geometry, heading double precision)
RETURNS TABLE (country text, oblast text, place_name text, place_km double precision,
               km_to_border double precision, bearing_deg double precision, movement text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT c.country, r.oblast, pl.name, pl.km, b.km, b.bearing,
       CASE WHEN b.km IS NULL THEN 'unknown'
            WHEN heading IS NULL THEN 'stationary'
            WHEN b.bearing IS NULL THEN 'unknown'
            WHEN abs(mod((heading - b.bearing + 540)::numeric, 360) - 180) <= 60 THEN 'toward'
            WHEN abs(mod((heading - b.bearing + 540)::numeric, 360) - 180) >= 120 THEN 'away'
            ELSE 'parallel' END
FROM (SELECT (SELECT cp.iso_a3 FROM geo_country_parts cp WHERE ST_Intersects(cp.geom, p)
              ORDER BY cp.iso_a3 LIMIT 1) AS country) c
CROSS JOIN LATERAL (
  SELECT (SELECT rp.iso_3166_2 FROM geo_region_parts rp WHERE ST_Intersects(rp.geom, p)
          ORDER BY (rp.country IS NOT DISTINCT FROM c.country) DESC, rp.iso_3166_2
          LIMIT 1) AS oblast) r
LEFT JOIN LATERAL (
  SELECT n.name, ST_Distance(n.geom::geography, p::geography) / 1000 AS km
  FROM (SELECT gp.name, gp.geom FROM geo_places gp ORDER BY gp.geom <-> p LIMIT 4) n
  ORDER BY 2 LIMIT 1) pl ON true
LEFT JOIN LATERAL (
  -- The planar-nearest piece bounds the answer: no piece farther than its geodesic distance d0
  -- can be nearer, so every piece whose box reaches into a box of d0 around the point is a
  -- candidate (degrees of longitude shrink with cos(latitude); the box is made for the
  -- latitude nearest the pole it can reach).
  SELECT ST_Distance(bp.geom::geography, p::geography) AS d0
  FROM geo_border_parts bp ORDER BY bp.geom <-> p LIMIT 1) f ON true
LEFT JOIN LATERAL (
  SELECT z.m / 1000 AS km,
         CASE WHEN z.m > 0
              THEN degrees(ST_Azimuth(p::geography, ST_ClosestPoint(z.g, p)::geography)) END
           AS bearing
  FROM (SELECT bp.geom AS g, ST_Distance(bp.geom::geography, p::geography) AS m
        FROM geo_border_parts bp
        WHERE bp.geom && ST_Expand(
                p,
                f.d0 / (111000 * cos(radians(least(89.0, abs(ST_Y(p)) + f.d0 / 110000 + 0.01))))
                  + 0.01,
                f.d0 / 110000 + 0.01)
        ORDER BY 2 LIMIT 1) z) b ON true
$$;

CREATE TABLE observations (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  submission_id      bigint REFERENCES submissions (id),
  created_by         bigint NOT NULL REFERENCES users (id),
  org_id             bigint NOT NULL REFERENCES organisations (id),
  observed_at        timestamptz NOT NULL,
  time_precision     text NOT NULL CHECK (time_precision IN ('exact', 'hour', 'day')),
  location           geometry(Point, 4326) NOT NULL
                       CHECK (ST_X(location) BETWEEN -180 AND 180
                              AND ST_Y(location) BETWEEN -90 AND 90),
  location_precision text NOT NULL
                       CHECK (location_precision IN ('exact', 'vicinity', 'locality', 'region')),
  heading_deg        double precision CHECK (heading_deg IS NULL
                                             OR (heading_deg >= 0 AND heading_deg < 360)),
  equipment          jsonb NOT NULL CHECK (jsonb_typeof(equipment) = 'array'),
  equipment_types    text[] NOT NULL,
  vehicles           integer NOT NULL CHECK (vehicles >= 0),
  markings           text[] NOT NULL DEFAULT '{}',
  notes              text,
  source_note        text,
  frame_refs         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(frame_refs) = 'array'),
  status             text NOT NULL DEFAULT 'unverified'
                       CHECK (status IN ('unverified', 'verified', 'disputed', 'rejected')),
  country            text,
  oblast             text,
  nearest_place      text,
  nearest_place_km   double precision,
  km_to_border       double precision,
  bearing_to_border  double precision,
  movement           text NOT NULL
                       CHECK (movement IN ('toward', 'away', 'parallel', 'stationary', 'unknown')),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observations_location_idx ON observations USING gist (location);
CREATE INDEX observations_observed_at_idx ON observations (observed_at, id);
CREATE INDEX observations_oblast_idx ON observations (oblast, observed_at);
CREATE INDEX observations_submission_idx ON observations (submission_id) WHERE submission_id IS NOT NULL;
CREATE INDEX observations_types_idx ON observations USING gin (equipment_types);

-- Every verdict, kept: the observation's status is the latest one.
CREATE TABLE observation_verdicts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  observation_id bigint NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
  verdict        text NOT NULL CHECK (verdict IN ('verified', 'disputed', 'rejected')),
  note           text NOT NULL DEFAULT '',
  analyst_id     bigint NOT NULL REFERENCES users (id),
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observation_verdicts_obs_idx ON observation_verdicts (observation_id, id);

-- Analysts' geolocations of a submission; the newest is current, all are kept.
CREATE TABLE submission_geolocations (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  submission_id bigint NOT NULL REFERENCES submissions (id),
  location      geometry(Point, 4326) NOT NULL,
  precision     text NOT NULL CHECK (precision IN ('exact', 'vicinity', 'locality', 'region')),
  method        text NOT NULL CHECK (method IN ('metadata_gps', 'landmark_match',
                                                 'satellite_match', 'shadow', 'other')),
  evidence      text NOT NULL DEFAULT '',
  frame_refs    jsonb NOT NULL DEFAULT '[]',
  analyst_id    bigint NOT NULL REFERENCES users (id),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submission_geolocations_sub_idx ON submission_geolocations (submission_id, id);
