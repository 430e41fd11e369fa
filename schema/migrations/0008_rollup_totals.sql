-- Faster rollups for the common questions, TRUNCATE, and lz4 for stored reports.
--
-- Most aggregate questions neither group nor filter by movement (they want the toward / away /
-- parallel / stationary split as columns) and count verified observations only. The tables of
-- 0007 have a row per movement and status, and their key starts with the hour, so a month of
-- verified numbers read every status's rows. Two more tables hold per hour, status, country,
-- oblast (and equipment type) the totals with the vehicles of each movement as columns, keyed
-- by status first; the tables of 0007 get status-first keys too and keep answering questions
-- about movement. The same statement trigger keeps all four exact.

ALTER TABLE observation_rollup DROP CONSTRAINT observation_rollup_pkey,
  ADD PRIMARY KEY (status, bucket, country, oblast, movement);
ALTER TABLE observation_rollup_equipment DROP CONSTRAINT observation_rollup_equipment_pkey,
  ADD PRIMARY KEY (status, bucket, country, oblast, movement, equipment_type);

CREATE TABLE observation_rollup_totals (
  status       text NOT NULL,
  bucket       timestamptz NOT NULL,  -- the UTC hour
  country      text NOT NULL,         -- '' when outside the geodata
  oblast       text NOT NULL,         -- '' when outside the geodata
  observations bigint NOT NULL,
  vehicles     bigint NOT NULL,
  toward       bigint NOT NULL,       -- vehicles by movement
  away         bigint NOT NULL,
  parallel     bigint NOT NULL,
  stationary   bigint NOT NULL,
  unknown      bigint NOT NULL,
  km_sum       double precision NOT NULL,
  km_n         bigint NOT NULL,
  PRIMARY KEY (status, bucket, country, oblast)
);

CREATE TABLE observation_rollup_equipment_totals (
  status         text NOT NULL,
  bucket         timestamptz NOT NULL,
  country        text NOT NULL,
  oblast         text NOT NULL,
  equipment_type text NOT NULL,
  observations   bigint NOT NULL,
  vehicles       bigint NOT NULL,
  toward         bigint NOT NULL,
  away           bigint NOT NULL,
  parallel       bigint NOT NULL,
  stationary     bigint NOT NULL,
  unknown        bigint NOT NULL,
  km_sum         double precision NOT NULL,
  km_n           bigint NOT NULL,
  PRIMARY KEY (status, bucket, country, oblast, equipment_type)
);

-- The statements of 0007 and two more for the totals; all four run on every change. Upserts go
-- in one key order (status, bucket, …) so that concurrent writers lock rows in the same order.
-- `source` is a query of (sign, observations.*).
CREATE OR REPLACE FUNCTION observation_rollup_sql(source text) RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  tbl text;
  totals boolean;
  typed boolean;
  keys text;     -- the key columns, in key order
  cols text;     -- key and value columns, in the order of the SELECT list
  sel text;      -- the SELECT list
  grp text;      -- GROUP BY / ORDER BY positions
  changed text;  -- HAVING: anything to add at all
  upd text;      -- ON CONFLICT … DO UPDATE SET
  nkeys int;
  m text;
BEGIN
  FOR tbl, totals, typed IN VALUES
      ('observation_rollup', false, false), ('observation_rollup_equipment', false, true),
      ('observation_rollup_totals', true, false),
      ('observation_rollup_equipment_totals', true, true) LOOP
    keys := 'status, bucket, country, oblast';
    sel := $s$status, date_trunc('hour', observed_at, 'UTC'), coalesce(country, ''), $s$
           || $s$coalesce(oblast, '')$s$;
    nkeys := 4;
    IF NOT totals THEN
      keys := keys || ', movement';
      sel := sel || ', movement';
      nkeys := nkeys + 1;
    END IF;
    IF typed THEN
      keys := keys || ', equipment_type';
      sel := sel || ', equipment_type';
      nkeys := nkeys + 1;
    END IF;
    cols := keys || ', observations, vehicles';
    sel := sel || ', sum(sign), sum(sign * vehicles)';
    changed := 'sum(sign) <> 0 OR sum(sign * vehicles) <> 0 '
               'OR coalesce(sum(sign * km_to_border), 0) <> 0 '
               'OR count(km_to_border) FILTER (WHERE sign > 0) '
               '<> count(km_to_border) FILTER (WHERE sign < 0)';
    upd := 'observations = r.observations + EXCLUDED.observations, '
           'vehicles = r.vehicles + EXCLUDED.vehicles, '
           'km_sum = r.km_sum + EXCLUDED.km_sum, km_n = r.km_n + EXCLUDED.km_n';
    IF totals THEN
      FOREACH m IN ARRAY ARRAY['toward', 'away', 'parallel', 'stationary', 'unknown'] LOOP
        cols := cols || ', ' || m;
        sel := sel
               || format(', coalesce(sum(sign * vehicles) FILTER (WHERE movement = %L), 0)', m);
        changed := changed
                   || format(' OR coalesce(sum(sign * vehicles) FILTER (WHERE movement = %L), 0) <> 0', m);
        upd := upd || format(', %1$I = r.%1$I + EXCLUDED.%1$I', m);
      END LOOP;
    END IF;
    cols := cols || ', km_sum, km_n';
    sel := sel || ', coalesce(sum(sign * km_to_border), 0), '
                  'count(km_to_border) FILTER (WHERE sign > 0) '
                  '- count(km_to_border) FILTER (WHERE sign < 0)';
    SELECT string_agg(i::text, ', ') INTO grp FROM generate_series(1, nkeys) AS i;
    RETURN NEXT format($q$
      WITH d AS (%s),
      t AS (SELECT d.sign, d.observed_at, d.country, d.oblast, d.movement, d.status,
                   d.km_to_border, %s
              FROM d%s)
      INSERT INTO %I AS r (%s)
      SELECT %s
        FROM t
       GROUP BY %s
      HAVING %s
       ORDER BY %s
      ON CONFLICT (%s) DO UPDATE SET %s$q$,
      source,
      CASE WHEN typed THEN 'e.equipment_type, e.vehicles' ELSE 'd.vehicles' END,
      -- One row per observation, sign and listed type (a type listed twice counts once).
      CASE WHEN typed THEN $s$, LATERAL (SELECT x->>'type' AS equipment_type, $s$
                           || $s$sum((x->>'count')::bigint) AS vehicles $s$
                           || $s$FROM jsonb_array_elements(d.equipment) AS x GROUP BY 1) AS e$s$
           ELSE '' END,
      tbl, cols, sel, grp, changed, grp, keys, upd);
  END LOOP;
END
$$;

-- The totals of what the rollups of 0007 hold already.
INSERT INTO observation_rollup_totals
SELECT status, bucket, country, oblast, sum(observations), sum(vehicles),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'toward'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'away'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'parallel'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'stationary'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'unknown'), 0),
       sum(km_sum), sum(km_n)
  FROM observation_rollup GROUP BY status, bucket, country, oblast;
INSERT INTO observation_rollup_equipment_totals
SELECT status, bucket, country, oblast, equipment_type, sum(observations), sum(vehicles),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'toward'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'away'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'parallel'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'stationary'), 0),
       coalesce(sum(vehicles) FILTER (WHERE movement = 'unknown'), 0),
       sum(km_sum), sum(km_n)
  FROM observation_rollup_equipment GROUP BY status, bucket, country, oblast, equipment_type;

-- TRUNCATE fires no row or statement DELETE triggers, so without this an emptied observations
-- table would leave its counts behind in the rollups. Whoever truncates observations truncates
-- the rollups with it (in the same transaction).
CREATE FUNCTION observation_rollup_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE observation_rollup, observation_rollup_equipment, observation_rollup_totals,
           observation_rollup_equipment_totals;
  RETURN NULL;
END
$$;

CREATE TRIGGER observations_rollup_truncate AFTER TRUNCATE ON observations
  FOR EACH STATEMENT EXECUTE FUNCTION observation_rollup_on_truncate();

-- Reports of busy days are megabytes of JSON and HTML; lz4 compresses them several times faster
-- than the default pglz (a 15 MB report body: 1.1 s to store with pglz, 0.5 s with lz4).
ALTER TABLE reports ALTER COLUMN body SET COMPRESSION lz4,
  ALTER COLUMN html SET COMPRESSION lz4;
