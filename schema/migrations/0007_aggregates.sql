-- Aggregates, convoy tracks and reports.
--
-- Rollups: per UTC hour, country, oblast, movement and status (and, in the second table, per
-- equipment type) the number of observations, vehicles and the sum of distances to the border.
-- Statement-level triggers with transition tables keep them exact in the same transaction as
-- every insert, update and delete of observations (a verdict is an update of `status`), so a
-- bulk import costs one rollup statement, not one per row. Day and week buckets in a time zone
-- are sums of hours, exact for zones whose offset from UTC is whole hours (the server refuses
-- others). Rows that fall to zero stay and are filtered out by the queries.

CREATE TABLE observation_rollup (
  bucket       timestamptz NOT NULL,  -- the UTC hour
  country      text NOT NULL,         -- '' when outside the geodata
  oblast       text NOT NULL,         -- '' when outside the geodata
  movement     text NOT NULL,
  status       text NOT NULL,
  observations bigint NOT NULL,
  vehicles     bigint NOT NULL,
  km_sum       double precision NOT NULL,  -- sum of km_to_border over the rows that have one
  km_n         bigint NOT NULL,            -- how many rows have one
  PRIMARY KEY (bucket, country, oblast, movement, status)
);

-- Per equipment type: an observation adds one to `observations` of each type it lists and the
-- vehicles of that type to `vehicles`.
CREATE TABLE observation_rollup_equipment (
  bucket         timestamptz NOT NULL,
  country        text NOT NULL,
  oblast         text NOT NULL,
  movement       text NOT NULL,
  status         text NOT NULL,
  equipment_type text NOT NULL,
  observations   bigint NOT NULL,
  vehicles       bigint NOT NULL,
  km_sum         double precision NOT NULL,
  km_n           bigint NOT NULL,
  PRIMARY KEY (bucket, country, oblast, movement, status, equipment_type)
);

-- The two statements that add a set of signed observation rows to the rollups; `source` is a
-- query of (sign, observations.*). Upserts go in key order so that concurrent writers lock
-- rollup rows in the same order. The trigger runs them with EXECUTE because transition tables
-- are visible only inside the trigger function itself (not in functions it calls).
CREATE FUNCTION observation_rollup_sql(source text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format($q$
    WITH d AS (%s)
    INSERT INTO observation_rollup AS r
    SELECT date_trunc('hour', observed_at, 'UTC'), coalesce(country, ''), coalesce(oblast, ''),
           movement, status, sum(sign), sum(sign * vehicles),
           coalesce(sum(sign * km_to_border), 0),
           count(km_to_border) FILTER (WHERE sign > 0)
             - count(km_to_border) FILTER (WHERE sign < 0)
      FROM d
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(sign) <> 0 OR sum(sign * vehicles) <> 0
           OR coalesce(sum(sign * km_to_border), 0) <> 0
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (bucket, country, oblast, movement, status) DO UPDATE
       SET observations = r.observations + EXCLUDED.observations,
           vehicles = r.vehicles + EXCLUDED.vehicles,
           km_sum = r.km_sum + EXCLUDED.km_sum,
           km_n = r.km_n + EXCLUDED.km_n$q$, source)
  UNION ALL
  -- One row per observation, sign and type (a type listed twice counts once, vehicles summed).
  SELECT format($q$
    WITH d AS (%s),
    t AS (
      SELECT d.sign, d.id, d.observed_at, d.country, d.oblast, d.movement, d.status,
             d.km_to_border, e->>'type' AS equipment_type,
             sum((e->>'count')::bigint) AS vehicles
        FROM d, jsonb_array_elements(d.equipment) AS e
       GROUP BY d.sign, d.id, d.observed_at, d.country, d.oblast, d.movement, d.status,
                d.km_to_border, e->>'type')
    INSERT INTO observation_rollup_equipment AS r
    SELECT date_trunc('hour', observed_at, 'UTC'), coalesce(country, ''), coalesce(oblast, ''),
           movement, status, equipment_type, sum(sign), sum(sign * vehicles),
           coalesce(sum(sign * km_to_border), 0),
           count(km_to_border) FILTER (WHERE sign > 0)
             - count(km_to_border) FILTER (WHERE sign < 0)
      FROM t
     GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(sign) <> 0 OR sum(sign * vehicles) <> 0
           OR coalesce(sum(sign * km_to_border), 0) <> 0
     ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (bucket, country, oblast, movement, status, equipment_type) DO UPDATE
       SET observations = r.observations + EXCLUDED.observations,
           vehicles = r.vehicles + EXCLUDED.vehicles,
           km_sum = r.km_sum + EXCLUDED.km_sum,
           km_n = r.km_n + EXCLUDED.km_n$q$, source)
$$;

-- One function for the three statement-level triggers below (each declares the transition
-- tables its operation has).
CREATE FUNCTION observation_rollup_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  source text;
  q text;
BEGIN
  source := CASE TG_OP
    WHEN 'INSERT' THEN 'SELECT 1 AS sign, n.* FROM new_rows AS n'
    WHEN 'UPDATE' THEN 'SELECT 1 AS sign, n.* FROM new_rows AS n '
                       'UNION ALL SELECT -1 AS sign, o.* FROM old_rows AS o'
    ELSE 'SELECT -1 AS sign, o.* FROM old_rows AS o' END;
  FOR q IN SELECT observation_rollup_sql(source) LOOP
    EXECUTE q;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER observations_rollup_insert AFTER INSERT ON observations
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION observation_rollup_on_change();
CREATE TRIGGER observations_rollup_update AFTER UPDATE ON observations
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION observation_rollup_on_change();
CREATE TRIGGER observations_rollup_delete AFTER DELETE ON observations
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION observation_rollup_on_change();

-- Observations already stored when this migration runs.
DO $$
DECLARE
  q text;
BEGIN
  FOR q IN SELECT observation_rollup_sql('SELECT 1 AS sign, o.* FROM observations AS o') LOOP
    EXECUTE q;
  END LOOP;
END
$$;

-- Convoy tracks are linked from the observations whenever they are asked for (see
-- reports/tracks.hpp), so they always follow the current data; a track is named by its first
-- sighting. Analysts' hand edits are constraints between two observations that every linking
-- respects: `split` (never in one track) and `merge` (always in one track).
CREATE TABLE convoy_edits (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('split', 'merge')),
  a_observation bigint NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
  b_observation bigint NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
  note          text NOT NULL DEFAULT '',
  created_by    bigint NOT NULL REFERENCES users (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (a_observation < b_observation)
);
CREATE INDEX convoy_edits_a_idx ON convoy_edits (a_observation);
CREATE INDEX convoy_edits_b_idx ON convoy_edits (b_observation);

-- Built reports: one per kind and period (the unique key is what makes a period's report get
-- built once when several servers run the scheduler).
CREATE TABLE reports (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('daily', 'weekly')),
  period_key   text NOT NULL,  -- 2022-02-16, 2022-W07
  tz           text NOT NULL,
  period_start timestamptz NOT NULL,
  period_end   timestamptz NOT NULL,
  body         jsonb NOT NULL,  -- the report's JSON document
  html         text NOT NULL,
  csv          text NOT NULL,
  built_by     text NOT NULL,  -- 'scheduler', 'cli' or the user's name
  built_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, period_key),
  CHECK (period_start < period_end)
);
CREATE INDEX reports_period_idx ON reports (period_start DESC, id DESC);
