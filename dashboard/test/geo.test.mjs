// Unit tests of lib/geo.js: bearings, destinations, compass names, headings, sun lines, bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearing, bounds, compass, destination, headingValue, normalizeDeg, sunLines, tipOffset } from '../src/lib/geo.js';

const near = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} is not within ${eps} of ${b}`);

test('geo: bearings clockwise from north, in [0, 360)', () => {
  near(bearing(50, 36, 51, 36), 0);
  near(bearing(50, 36, 49, 36), 180);
  near(bearing(0, 0, 0, 1), 90);
  near(bearing(0, 0, 0, -1), 270);
  // North-east at 50° N: a little less than 45° on the sphere for equal degree steps.
  const ne = bearing(50, 36, 50.01, 36.01);
  assert.ok(ne > 30 && ne < 35, String(ne));
  assert.equal(bearing(50, 36, 50, 36), null);
  // Across the antimeridian: east is still 90.
  near(bearing(0, 179.5, 0, -179.5), 90);
  near(normalizeDeg(-90), 270);
  assert.equal(Object.is(normalizeDeg(-360), -0), false);
  near(normalizeDeg(720.5), 0.5);
});

test('geo: destination along a bearing, and back', () => {
  const p = destination(50, 36, 90, 10);
  near(p.lat, 50, 0.01);
  assert.ok(p.lon > 36.13 && p.lon < 36.15, String(p.lon));
  const q = destination(50, 36, 0, 111.2);
  near(q.lat, 51, 0.01);
  near(q.lon, 36, 1e-9);
  // The bearing from a point to one 1 km away along 200° is 200°.
  const r = destination(50.3, 36.9, 200, 1);
  near(bearing(50.3, 36.9, r.lat, r.lon), 200, 1e-6);
  // Longitudes stay in [-180, 180].
  assert.ok(destination(0, 179.99, 90, 50).lon < -179);
});

test('geo: compass names', () => {
  assert.equal(compass(0), 'N');
  assert.equal(compass(359), 'N');
  assert.equal(compass(200), 'SSW');
  assert.equal(compass(90), 'E');
  assert.equal(compass(-45), 'NW');
});

test('geo: a heading typed or dragged', () => {
  assert.equal(headingValue(''), null);
  assert.equal(headingValue(null), null);
  assert.equal(headingValue('200'), 200);
  assert.equal(headingValue(359.6), 0);
  assert.equal(headingValue('360'), 0);
  assert.equal(headingValue('12.4'), 12);
  assert.ok(Number.isNaN(headingValue('-1')));
  assert.ok(Number.isNaN(headingValue('361')));
  assert.ok(Number.isNaN(headingValue('north')));
});

test('geo: sun and shadow lines from the place; none below the horizon', () => {
  const up = sunLines({ lat: 50, lon: 36, azimuth_deg: 135, elevation_deg: 20, shadow_azimuth_deg: null }, 1);
  assert.equal(up.features.length, 2);
  const [sun, shadow] = up.features;
  assert.equal(sun.properties.kind, 'sun');
  assert.equal(shadow.properties.kind, 'shadow');
  assert.equal(shadow.properties.azimuth_deg, 315);
  assert.deepEqual(sun.geometry.coordinates[0], [36, 50]);
  const [lon, lat] = sun.geometry.coordinates[1];
  near(bearing(50, 36, lat, lon), 135, 1e-6);
  const [slon, slat] = shadow.geometry.coordinates[1];
  near(bearing(50, 36, slat, slon), 315, 1e-6);
  // The server's shadow azimuth is used when given.
  assert.equal(sunLines({ lat: 50, lon: 36, azimuth_deg: 100, elevation_deg: 5, shadow_azimuth_deg: 280.5 }, 1).features[1].properties.azimuth_deg, 280.5);
  assert.equal(sunLines({ lat: 50, lon: 36, azimuth_deg: 300, elevation_deg: 0 }, 1).features.length, 0);
  assert.equal(sunLines({ lat: 50, lon: 36, azimuth_deg: 300, elevation_deg: -4 }, 1).features.length, 0);
});

test('geo: bounds of positions', () => {
  assert.equal(bounds([]), null);
  assert.deepEqual(bounds([[36, 50], [37.5, 49], [36.2, 51]]), [[36, 49], [37.5, 51]]);
});

test('geo: the tip of the heading arrow on screen (y down), on a turned map too', () => {
  assert.deepEqual(tipOffset(0, 0, 72), [0, -72]);
  assert.deepEqual(tipOffset(90, 0, 72), [72, 0]);
  assert.deepEqual(tipOffset(180, 0, 72), [0, 72]);
  assert.deepEqual(tipOffset(270, 0, 72), [-72, 0]);
  // The map turned 90° (east up): a heading east points up.
  assert.deepEqual(tipOffset(90, 90, 72), [0, -72]);
  const [x, y] = tipOffset(225, 0, 100);
  near(x, -70.7106781, 1e-6);
  near(y, 70.7106781, 1e-6);
});

test('geo: dragging the tip east of the pin gives heading 90; the round trip keeps a heading', () => {
  // The tip dragged to a point east / south-west of the pin: the bearing between them.
  near(bearing(50.3, 36.9, 50.3, 37.0), 90, 0.05);
  for (const h of [0, 45, 200, 359]) {
    const tip = destination(50.3, 36.9, h, 2);
    assert.equal(headingValue(bearing(50.3, 36.9, tip.lat, tip.lon)), h);
  }
});
