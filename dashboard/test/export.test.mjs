// Unit tests of lib/export.js: paging to a cap, GeoJSON, KML (escaped), CSV (neutralised).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bboxParam, collectPages, csvCell, EXPORT_COLUMNS, exportFileName, toCSV, toGeoJSON, toKML, xmlEscape } from '../src/lib/export.js';

const obs = (id, extra = {}) => ({
  id,
  submission_id: 3,
  observed_at: '2022-02-20T06:30:00Z',
  location: { lat: 50.5, lon: 36.25 },
  location_precision: 'vicinity',
  heading_deg: 200,
  equipment: [{ type: 'truck', count: 3 }, { type: 'tank', count: 1 }],
  markings: ['V'],
  notes: null,
  vehicles: 4,
  status: 'verified',
  created_by: 'ada',
  derived: { country: 'RUS', oblast: 'RU-BEL', km_to_border: 12.5, movement: 'toward' },
  ...extra,
});

// A list of `total` items served `limit` at a time, as the API pages it.
function pager(total, limit) {
  const asked = [];
  const fetchPage = async (cursor) => {
    asked.push(cursor);
    const from = Number(cursor ?? 0);
    const items = Array.from({ length: Math.max(0, Math.min(limit, total - from)) }, (_, i) => ({ id: from + i + 1 }));
    return { items, next_cursor: from + limit < total ? String(from + limit) : null };
  };
  return { fetchPage, asked };
}

test('export: pages followed to the end, progress reported', async () => {
  const { fetchPage, asked } = pager(1234, 500);
  const progress = [];
  const r = await collectPages(fetchPage, { cap: 10000, onProgress: (n) => progress.push(n) });
  assert.equal(r.items.length, 1234);
  assert.equal(r.capped, false);
  assert.deepEqual(asked, [null, '500', '1000']);
  assert.deepEqual(progress, [500, 1000, 1234]);
  assert.deepEqual((await collectPages(pager(0, 500).fetchPage)).items, []);
});

test('export: the cap stops the paging and says so', async () => {
  const { fetchPage, asked } = pager(2500, 500);
  const r = await collectPages(fetchPage, { cap: 1200 });
  assert.equal(r.items.length, 1200);
  assert.equal(r.capped, true);
  assert.equal(asked.length, 3);
  // Exactly the cap and no more pages: not capped.
  const exact = await collectPages(pager(1000, 500).fetchPage, { cap: 1000 });
  assert.equal(exact.items.length, 1000);
  assert.equal(exact.capped, false);
  // Exactly the cap but a next page: capped.
  assert.equal((await collectPages(pager(1001, 500).fetchPage, { cap: 1000 })).capped, true);
});

test('export: a cancelled export stops before the next page', async () => {
  const ctl = new AbortController();
  const { fetchPage, asked } = pager(5000, 500);
  await assert.rejects(
    collectPages(async (c) => {
      const p = await fetchPage(c);
      ctl.abort();
      return p;
    }, { signal: ctl.signal }),
    { name: 'AbortError' },
  );
  assert.equal(asked.length, 1);
});

test('export: GeoJSON points with the flat properties', () => {
  const g = JSON.parse(toGeoJSON([obs(7)]));
  assert.equal(g.type, 'FeatureCollection');
  assert.deepEqual(g.features[0].geometry, { type: 'Point', coordinates: [36.25, 50.5] });
  assert.equal(g.features[0].id, 7);
  assert.equal(g.features[0].properties.equipment, '3 truck; 1 tank');
  assert.equal(g.features[0].properties.oblast, 'RU-BEL');
  assert.equal(g.features[0].properties.lat, undefined);
});

test('export: KML escapes XML', () => {
  assert.equal(xmlEscape(`<a href="x">&'</a>\u0001`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  const k = toKML([obs(7, { notes: '</description><script>alert(1)</script> & "q"', markings: ['Z<>'] })]);
  assert.ok(k.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'));
  assert.ok(!k.includes('<script>'));
  assert.ok(k.includes('<Data name="notes"><value>&lt;/description&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;</value></Data>'));
  assert.ok(k.includes('<Data name="markings"><value>Z&lt;&gt;</value></Data>'));
  assert.ok(k.includes('<Point><coordinates>36.25,50.5</coordinates></Point>'));
  assert.ok(k.includes('<TimeStamp><when>2022-02-20T06:30:00Z</when></TimeStamp>'));
  // Every element opened is closed: the tags balance.
  const opened = (k.match(/<[A-Za-z][^>]*>/g) ?? []).length;
  const closed = (k.match(/<\/[A-Za-z]+>/g) ?? []).length;
  assert.equal(opened, closed);
});

test('export: CSV neutralises formulas (= + - @ tab CR), quotes text, keeps numbers', () => {
  assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  assert.equal(csvCell('+1'), `"'+1"`);
  assert.equal(csvCell('-2+3'), `"'-2+3"`);
  assert.equal(csvCell('@SUM(A1)'), `"'@SUM(A1)"`);
  assert.equal(csvCell('\tx'), `"'\tx"`);
  assert.equal(csvCell('\rx'), `"'\rx"`);
  assert.equal(csvCell('a,b\nc'), '"a,b\nc"');
  assert.equal(csvCell('plain'), '"plain"');
  assert.equal(csvCell(-36.5), '-36.5');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(NaN), '');
  const csv = toCSV([obs(7, { markings: ['=cmd|x'], notes: '-rm' })]);
  const [head, row, end] = csv.split('\r\n');
  assert.equal(head, EXPORT_COLUMNS.join(','));
  assert.equal(end, '');
  assert.ok(row.startsWith('7,"2022-02-20T06:30:00Z",50.5,36.25,"vicinity",200,4,"3 truck; 1 tank","verified","toward","RUS","RU-BEL",12.5,'));
  assert.ok(row.includes(`"'=cmd|x","'-rm",3,"ada"`));
});

test('export: file names in UTC; bbox kept within the world', () => {
  assert.equal(exportFileName('csv', Date.parse('2022-02-20T06:30:59Z')), 'observations-20220220T0630Z.csv');
  assert.equal(exportFileName('geojson', 0), 'observations-19700101T0000Z.geojson');
  assert.equal(bboxParam(-200, -95, 36.123456, 51), '-180.00000,-90.00000,36.12346,51.00000');
});
