// Unit tests of the dashboard's logic that needs no browser: the event-stream parser, the
// routes, and the formatting. Run with `npm test` (node's test runner).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from '../src/lib/sse.js';
import { parseRoute, toQuery } from '../src/lib/route.js';
import { bytes, duration, rate, utc } from '../src/lib/format.js';

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
