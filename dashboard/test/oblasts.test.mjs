// Unit tests of lib/oblasts.js: the aggregate queries, vehicles per oblast, classes, the fill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateQueries, NO_SHADE, SHADE_COLOURS, shadeClasses, shadeExpression, vehiclesByOblast } from '../src/lib/oblasts.js';

test('oblasts: one aggregate query per status the map shows, with its filters', () => {
  const qs = aggregateQueries(new URLSearchParams('from=2022-02-01&to=2022-03-01&movement=toward&lat=50&z=7&shade=1'));
  assert.deepEqual(qs, ['unverified', 'verified', 'disputed'].map(
    (s) => `?bucket=week&group_by=oblast&from=2022-02-01T00%3A00%3A00Z&to=2022-03-01T00%3A00%3A00Z&movement=toward&status=${s}`,
  ));
  assert.deepEqual(aggregateQueries(new URLSearchParams('status=any')), ['?bucket=week&group_by=oblast&status=any']);
  assert.deepEqual(aggregateQueries(new URLSearchParams('status=verified&oblast=RU-BEL')), ['?bucket=week&group_by=oblast&oblast=RU-BEL&status=verified']);
});

test('oblasts: vehicles summed over buckets and answers; no oblast left out', () => {
  const a = [{ bucket_label: 'W07', oblast: 'RU-BEL', vehicles: 40 }, { bucket_label: 'W08', oblast: 'RU-BEL', vehicles: 5 }, { oblast: null, vehicles: 9 }];
  const b = [{ oblast: 'RU-KRS', vehicles: 7 }, { oblast: 'RU-BEL', vehicles: 1 }];
  assert.deepEqual(vehiclesByOblast([a, b]), { 'RU-BEL': 46, 'RU-KRS': 7 });
  assert.deepEqual(vehiclesByOblast([]), {});
});

test('oblasts: classes grow geometrically, cover 1..max without gaps', () => {
  assert.deepEqual(shadeClasses(0), []);
  const c = shadeClasses(135);
  assert.deepEqual(c.map((k) => [k.from, k.to]), [[1, 3], [4, 7], [8, 19], [20, 51], [52, 135]]);
  assert.deepEqual(c.map((k) => k.colour), SHADE_COLOURS);
  for (let i = 1; i < c.length; ++i) assert.equal(c[i].from, c[i - 1].to + 1);
  // Few vehicles: fewer classes, the darker colours.
  const few = shadeClasses(3);
  assert.deepEqual(few.map((k) => [k.from, k.to]), [[1, 1], [2, 2], [3, 3]]);
  assert.deepEqual(few.map((k) => k.colour), SHADE_COLOURS.slice(2));
  assert.deepEqual(shadeClasses(1).map((k) => [k.from, k.to, k.colour]), [[1, 1, SHADE_COLOURS[4]]]);
});

test('oblasts: the fill colour per iso_3166_2, transparent elsewhere', () => {
  const by = { 'RU-KRS': 7, 'RU-BEL': 135, 'UA-63': 0 };
  assert.deepEqual(shadeExpression(by, shadeClasses(135)), ['match', ['get', 'iso_3166_2'], 'RU-BEL', '#bd0026', 'RU-KRS', '#fecc5c', NO_SHADE]);
  assert.equal(shadeExpression({}, []), NO_SHADE);
  assert.equal(shadeExpression({ 'UA-63': 0 }, shadeClasses(0)), NO_SHADE);
});
