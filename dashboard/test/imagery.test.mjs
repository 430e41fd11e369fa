// Unit tests of lib/imagery.js: the list query, the swipe's frame and tiles, footprint corners,
// the overlay's warp, the swipe's split and words, a task's state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  affine,
  applyHomography,
  bboxAround,
  bboxPolygon,
  bboxText,
  footprintCorners,
  grow,
  homography,
  imageryLabel,
  imageryListQuery,
  matchSummary,
  mercX,
  nearestInTime,
  mercY,
  pollDelay,
  swipeSplit,
  submissionPlace,
  swipeText,
  taskStatus,
  tileFrame,
  warpTriangles,
} from '../src/lib/imagery.js';
import { bounds } from '../src/lib/geo.js';
import { parseRoute } from '../src/lib/route.js';

const near = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('imagery: the screen has a URL', () => {
  assert.equal(parseRoute('/imagery').name, 'imagery');
  assert.equal(parseRoute('/imagery/').name, 'imagery');
  assert.equal(parseRoute('/imagery/3').name, 'not-found');
});

test('imagery: the list query from the screen query', () => {
  assert.equal(imageryListQuery(new URLSearchParams('')), '?limit=100');
  assert.equal(
    imageryListQuery(new URLSearchParams('from=2022-02-14&to=2022-02-21&bbox=36.5,50.5,36.7,50.7&before=1&comparison=3'), 'abc'),
    '?from=2022-02-14T00%3A00%3A00Z&to=2022-02-21T00%3A00%3A00Z&bbox=36.5%2C50.5%2C36.7%2C50.7&limit=100&cursor=abc',
  );
});

test('imagery: bbox text and the area polygon', () => {
  assert.equal(bboxText(36.123456789, 50.5, 36.7, 50.70000001), '36.12346,50.5,36.7,50.7');
  assert.equal(bboxText(-200, -95, 200, 95), '-180,-90,180,90');
  assert.deepEqual(bboxPolygon('36.5,50.5,36.7,50.7'), {
    type: 'Polygon',
    coordinates: [[[36.5, 50.5], [36.7, 50.5], [36.7, 50.7], [36.5, 50.7], [36.5, 50.5]]],
  });
  assert.equal(bboxPolygon('36.7,50.5,36.5,50.7'), null); // west east of east
  assert.equal(bboxPolygon('1,2,3'), null);
  assert.equal(bboxPolygon(''), null);
});

test('imagery: a footprint ring gives its four corners, TL TR BR BL', () => {
  // Two points per edge, closed, as the server writes it.
  const ring = [[0, 10], [5, 10], [10, 10], [10, 5], [10, 0], [5, 0], [0, 0], [0, 5], [0, 10]];
  assert.deepEqual(footprintCorners({ type: 'Polygon', coordinates: [ring] }), [[0, 10], [10, 10], [10, 0], [0, 0]]);
  // One point per edge, open.
  assert.deepEqual(footprintCorners({ type: 'Polygon', coordinates: [[[1, 2], [3, 2], [3, 1], [1, 1]]] }), [[1, 2], [3, 2], [3, 1], [1, 1]]);
  assert.equal(footprintCorners({ type: 'Polygon', coordinates: [[[0, 0], [1, 0], [0, 0]]] }), null);
  assert.equal(footprintCorners(null), null);
});

test('imagery: Web Mercator', () => {
  near(mercX(-180), 0);
  near(mercX(180), 1);
  near(mercX(0), 0.5);
  near(mercY(0), 0.5);
  assert.ok(mercY(50) < 0.5); // north is up (smaller y)
});

test('imagery: the frame fits the footprint at the largest zoom and lists its tiles', () => {
  // About 1.4 km × 1.1 km near Belgorod.
  const b = bounds([[36.58, 50.61], [36.6, 50.62]]);
  const f = tileFrame(b, 720);
  assert.ok(f.width <= 720 && f.height <= 720, `${f.width}×${f.height}`);
  assert.ok(f.width > 360 || f.height > 360, 'one zoom more would not fit');
  // The tiles cover the frame: the first starts at or before 0, the last ends at or after the size.
  assert.ok(f.tiles.length > 0);
  assert.ok(Math.min(...f.tiles.map((t) => t.dx)) <= 0);
  assert.ok(Math.min(...f.tiles.map((t) => t.dy)) <= 0);
  assert.ok(Math.max(...f.tiles.map((t) => t.dx + 256)) >= f.width);
  assert.ok(Math.max(...f.tiles.map((t) => t.dy + 256)) >= f.height);
  for (const t of f.tiles) assert.equal(t.z, f.z);
  // Corners land on the frame's corners.
  const [x0, y0] = f.toPixel(36.58, 50.62);
  const [x1, y1] = f.toPixel(36.6, 50.61);
  near(x0, 0);
  near(y0, 0);
  near(x1, f.width, 1);
  near(y1, f.height, 1);
  // A tiny area stops at zoom 22.
  assert.equal(tileFrame(bounds([[36.58, 50.61], [36.58000001, 50.61000001]]), 720).z, 22);
});

test('imagery: the homography maps the four corners, the triangles tile the warp', () => {
  const src = [[0, 0], [100, 0], [100, 50], [0, 50]];
  const dst = [[10, 20], [210, 30], [200, 130], [5, 120]];
  const h = homography(src, dst);
  assert.ok(h);
  for (let i = 0; i < 4; ++i) {
    const [u, v] = applyHomography(h, src[i][0], src[i][1]);
    near(u, dst[i][0], 1e-6);
    near(v, dst[i][1], 1e-6);
  }
  assert.equal(homography([[0, 0], [1, 0], [2, 0], [3, 0]], dst), null); // on a line
  const tris = warpTriangles(100, 50, h, 4);
  assert.equal(tris.length, 32);
  // Each triangle's transform takes its source corners to its destination corners.
  for (const t of tris) {
    const [a, b, c, d, e, f] = t.transform;
    t.src.forEach(([x, y], i) => {
      near(a * x + c * y + e, t.dst[i][0], 1e-6);
      near(b * x + d * y + f, t.dst[i][1], 1e-6);
    });
  }
  assert.equal(affine([[0, 0], [1, 1], [2, 2]], dst), null);
  // Grown triangles are a little larger, around the same centroid.
  const g = grow([[0, 0], [10, 0], [0, 10]], 1);
  assert.ok(g[0][0] < 0 && g[0][1] < 0 && g[1][0] > 10 && g[2][1] > 10);
});

test('imagery: the swipe splits the frame and says so', () => {
  assert.equal(swipeSplit(50, 640), 320);
  assert.equal(swipeSplit(0, 640), 0);
  assert.equal(swipeSplit(100, 640), 640);
  assert.equal(swipeSplit(150, 640), 640);
  assert.equal(swipeSplit(Number.NaN, 640), 320);
  assert.equal(swipeText(0), 'After only');
  assert.equal(swipeText(100), 'Before only');
  assert.equal(swipeText(30), 'Before on the left 30 %, after on the right 70 %');
});

test('imagery: a task in words, and when to ask again', () => {
  assert.deepEqual(taskStatus(null), { text: 'Starting…', busy: true });
  assert.equal(taskStatus({ state: 'queued', progress: 0 }).busy, true);
  assert.equal(taskStatus({ state: 'running', progress: 40 }).text, 'Running: 40 % done…');
  assert.deepEqual(taskStatus({ state: 'done', progress: 100 }), { text: 'Done.', busy: false });
  const failed = taskStatus({ state: 'failed', last_error: 'too few inliers: 9 of 31 (need 15)' });
  assert.equal(failed.busy, false);
  assert.match(failed.text, /^Failed: too few inliers: 9 of 31 \(need 15\)\. Choose two images/);
  assert.equal(pollDelay(0), 1000);
  assert.equal(pollDelay(90), 3000);
  assert.equal(pollDelay(500), 10000);
});

test('imagery: an image named in a list', () => {
  assert.equal(
    imageryLabel({ id: 3, source: 'Maxar', captured_at: '2022-02-14T08:30:00Z', original_filename: 'a.tif' }),
    '#3 Maxar, 2022-02-14 08:30 UTC (a.tif)',
  );
  assert.equal(imageryLabel({ id: 4 }), '#4, unknown time');
});

test('imagery: the imagery near a place is a bbox some km either side of it', () => {
  const [w, so, e, n] = bboxAround(50.595, 36.5872, 10).split(',').map(Number);
  near((n - so) * 111.32, 20, 0.01);
  near((e - w) * 111.32 * Math.cos((50.595 * Math.PI) / 180), 20, 0.01);
  near((w + e) / 2, 36.5872, 1e-5);
  near((so + n) / 2, 50.595, 1e-5);
  // The story's imagery (50.61–50.62, 36.58–36.60) is near its video's GPS.
  assert.ok(so < 50.61 && n > 50.62 && w < 36.58 && e > 36.6);
  // Kept within the world near the poles and the antimeridian.
  assert.equal(bboxAround(89.99, 179.99, 10).split(',').map(Number)[2], 180);
  assert.equal(bboxAround(-89.99, 0, 10).split(',').map(Number)[1], -90);
});

test("imagery: a submission's place is the geolocation, else the GPS, else the claimed point", () => {
  const gps = { lat: 50.595, lon: 36.5872 };
  const claimed = { lat: 50.1, lon: 36.2, place: 'Kharkiv' };
  assert.deepEqual(submissionPlace({ current: { lat: 50.6, lon: 36.6 }, hints: { metadata_gps: gps, claimed } }), {
    lat: 50.6,
    lon: 36.6,
    from: "the analysts' geolocation",
  });
  assert.deepEqual(submissionPlace({ current: null, hints: { metadata_gps: gps, claimed } }), { ...gps, from: "the video's GPS" });
  assert.deepEqual(submissionPlace({ hints: { claimed } }), { lat: 50.1, lon: 36.2, from: 'the claimed point' });
  assert.equal(submissionPlace({ hints: { claimed: { place: 'Kharkiv' } } }), null);
  assert.equal(submissionPlace(null), null);
});

test('imagery: the images nearest in time to the footage come first', () => {
  const items = [
    { id: 1, captured_at: '2022-01-01T00:00:00Z' },
    { id: 2, captured_at: '2022-02-19T00:00:00Z' },
    { id: 3 },
    { id: 4, captured_at: '2022-02-22T00:00:00Z' },
  ];
  assert.deepEqual(nearestInTime(items, '2022-02-20T06:05:00Z').map((i) => i.id), [2, 4, 1, 3]);
  assert.deepEqual(nearestInTime(items, null).map((i) => i.id), [1, 2, 3, 4]);
  assert.deepEqual(nearestInTime(items, 'not a time').map((i) => i.id), [1, 2, 3, 4]);
  assert.equal(items[0].id, 1); // the list itself is left as it was
});

test("imagery: a match's result in words, with what to do when nothing matched", () => {
  assert.equal(
    matchSummary({ matched: true, centre: { lat: 50.61553, lon: 36.58961 }, confidence: 0.591, inliers: 31 }),
    "Matched: the frame's centre is at 50.61553, 36.58961 (confidence 0.59, 31 inliers); its footprint is dashed on the map.",
  );
  const no = matchSummary({ matched: false, reason: 'no reliable match: too few inliers: 5 of 73 matches (need 20)' });
  assert.match(no, /^Not matched: no reliable match: too few inliers/);
  assert.match(no, /Try an image/);
  assert.equal(matchSummary(null), 'No result.');
  // A failed match says to match again, a failed comparison to compare again.
  assert.match(taskStatus({ kind: 'match', state: 'failed', last_error: 'frame unreadable' }).text, /^Failed: frame unreadable\. .*match again\.$/);
  assert.match(taskStatus({ kind: 'compare', state: 'failed', last_error: 'x' }).text, /compare again\.$/);
});
