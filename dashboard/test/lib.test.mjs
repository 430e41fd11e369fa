// Unit tests of the dashboard's logic that needs no browser: the event-stream parser, the
// routes, the formatting, the map's time slider and tile URLs, and the tokens from the audit log. Run with `npm test` (node's test runner).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from '../src/lib/sse.js';
import { parseRoute, toQuery } from '../src/lib/route.js';
import { bytes, duration, rate, utc } from '../src/lib/format.js';
import { addDays, convoyTileUrl, daysBetween, formatDay, observationTileUrl, parseDay, sliderState, withDay, withView } from '../src/lib/timeline.js';
import { tokensFromAudit } from '../src/lib/tokens.js';

test('SSE: events split across chunks, comments, ids, retry, CRLF', () => {
  const events = [];
  let retry = 0;
  const p = new SseParser((e) => events.push(e), (ms) => (retry = ms));
  const stream = ': convoywatch events\r\nretry: 2000\r\n\r\nid: 41\r\nevent: submission.updated\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\nid: 42\ndata: x\n\n';
  for (let i = 0; i < stream.length; i += 3) p.push(stream.slice(i, i + 3));
  assert.equal(retry, 2000);
  assert.deepEqual(events, [
    { id: '41', event: 'submission.updated', data: '{"a":\n1}' },
    { id: '42', event: 'message', data: 'x' },
  ]);
  assert.equal(p.lastId, '42');
});

test('SSE: an event without data is not dispatched; an unfinished one waits', () => {
  const events = [];
  const p = new SseParser((e) => events.push(e));
  p.push('event: ping\n\ndata: half');
  assert.deepEqual(events, []);
  p.push('\n\n');
  assert.equal(events.length, 1);
  assert.equal(events[0].data, 'half');
  assert.equal(events[0].event, 'message');
});

test('routes: every screen has a URL; unknown paths are not found', () => {
  assert.equal(parseRoute('/').name, 'inbox');
  assert.equal(parseRoute('/inbox').name, 'inbox');
  assert.deepEqual(parseRoute('/submissions/12').params, { id: '12' });
  assert.equal(parseRoute('/submissions/12').name, 'submission');
  assert.equal(parseRoute('/observations/new').name, 'observation-new');
  assert.equal(parseRoute('/observations/7').name, 'observation');
  assert.equal(parseRoute('/verify').name, 'verify');
  assert.equal(parseRoute('/aggregates').name, 'aggregates');
  assert.equal(parseRoute('/reports').name, 'reports');
  assert.equal(parseRoute('/admin').name, 'admin');
  assert.equal(parseRoute('/map', '?from=2022-02-01').query.get('from'), '2022-02-01');
  assert.equal(parseRoute('/submissions/abc').name, 'not-found');
  assert.equal(toQuery({ a: 'x y', b: '', c: null, d: 0, e: false }), '?a=x+y&d=0');
  assert.equal(toQuery({}), '');
});

test('format: UTC times, sizes, durations, transfer rate', () => {
  assert.equal(utc('2022-02-20T06:30:00Z'), '2022-02-20 06:30 UTC');
  assert.equal(utc(null), '—');
  assert.equal(bytes(5_500_000), '5.5 MB');
  assert.equal(bytes(999), '999 B');
  assert.equal(duration(75), '1 min 15 s');
  const r = rate([{ t: 0, bytes: 0 }, { t: 1000, bytes: 1000 }, { t: 2000, bytes: 2000 }], 10000);
  assert.equal(r.bytesPerSecond, 1000);
  assert.equal(r.secondsLeft, 8);
  assert.equal(rate([{ t: 0, bytes: 0 }], 10).secondsLeft, Infinity);
});

test('timeline: the slider reads from/to back, per day and cumulative', () => {
  const day = parseDay('2022-02-20');
  assert.equal(formatDay(day), '2022-02-20');
  assert.deepEqual(sliderState(new URLSearchParams('')), { day: null, mode: 'cumulative' });
  const perDay = withDay(new URLSearchParams('status=verified&z=9'), day, 'day');
  assert.equal(perDay.toString(), 'status=verified&z=9&to=2022-02-21&from=2022-02-20');
  assert.deepEqual(sliderState(perDay), { day, mode: 'day' });
  const cumulative = withDay(perDay, addDays(day, 3), 'cumulative');
  assert.equal(cumulative.get('from'), null);
  assert.equal(cumulative.get('to'), '2022-02-24');
  assert.deepEqual(sliderState(cumulative), { day: addDays(day, 3), mode: 'cumulative' });
  // A from that is not the day before to: cumulative from there.
  assert.equal(sliderState(new URLSearchParams('from=2022-01-01&to=2022-02-21')).mode, 'cumulative');
  assert.equal(daysBetween(day, addDays(day, 10)), 10);
  assert.equal(parseDay('20-02-2022'), null);
});

test('timeline: tile URLs carry the list filters; convoys a window of at most 92 days', () => {
  const q = new URLSearchParams('from=2022-02-20&to=2022-02-21&status=any&movement=toward&oblast=RU-BEL&lat=50&lon=36&z=9&cursor=x');
  assert.equal(
    observationTileUrl('http://h', q),
    'http://h/api/v1/tiles/observations/{z}/{x}/{y}.mvt?from=2022-02-20T00%3A00%3A00Z&to=2022-02-21T00%3A00%3A00Z&status=any&movement=toward&oblast=RU-BEL',
  );
  assert.equal(observationTileUrl('http://h', new URLSearchParams('z=3')), 'http://h/api/v1/tiles/observations/{z}/{x}/{y}.mvt');
  assert.equal(
    convoyTileUrl('http://h', q, 0),
    'http://h/api/v1/tiles/convoys/{z}/{x}/{y}.mvt?from=2022-02-20T00%3A00%3A00Z&to=2022-02-21T00%3A00%3A00Z&status=any',
  );
  const long = new URLSearchParams('to=2022-06-01');
  const now = Date.parse('2026-01-01T12:00:00Z');
  // No from: the week before to; a from more than 92 days back: the last 92 days.
  assert.match(convoyTileUrl('http://h', long, now), /from=2022-05-25T00%3A00%3A00Z&to=2022-06-01T00%3A00%3A00Z$/);
  assert.match(convoyTileUrl('http://h', new URLSearchParams('from=2020-01-01&to=2022-06-01'), now), /from=2022-03-01T00%3A00%3A00Z/);
  assert.match(convoyTileUrl('http://h', new URLSearchParams(''), now), /from=2025-12-25T12%3A00%3A00Z&to=2026-01-01T12%3A00%3A00Z$/);
  assert.equal(withView(new URLSearchParams('status=any'), { lat: 50.12345678, lon: 36.5, zoom: 9 }).toString(), 'status=any&lat=50.1235&lon=36.5000&z=9');
});

test('tokens: from the audit log, revoked ones marked, newest first', () => {
  const rows = tokensFromAudit([
    { action: 'user.create', object: 'user/3', at: 't0', diff: {} },
    { action: 'token.create', object: 'token/5', at: 't1', actor: 'root', diff: { user_id: 3, label: 'first token' } },
    { action: 'token.create', object: 'token/6', at: 't2', actor: 'ada', diff: '{"user_id":3,"label":"laptop"}' },
    { action: 'token.revoke', object: 'token/5', at: 't3', actor: 'ada', diff: { user_id: 3 } },
  ]);
  assert.deepEqual(rows, [
    { id: 6, user_id: 3, label: 'laptop', created_at: 't2', created_by: 'ada', revoked_at: null },
    { id: 5, user_id: 3, label: 'first token', created_at: 't1', created_by: 'root', revoked_at: 't3' },
  ]);
});
