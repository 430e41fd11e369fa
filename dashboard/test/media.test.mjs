// Unit tests of lib/media.js: a signed link's expiry, its playable URL, playback errors in words.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_MARGIN_S, linkExpired, playbackProblem, signedSrc } from '../src/lib/media.js';

const sha = 'ab'.repeat(32);

test('media: a link expires at its time, less a margin', () => {
  const at = Date.parse('2026-12-08T03:10:00Z');
  const link = { url: '', expires_at: '2026-12-08T03:10:00Z' };
  assert.equal(linkExpired(link, at - 10 * 60 * 1000), false);
  assert.equal(linkExpired(link, at - (LINK_MARGIN_S + 1) * 1000), false);
  assert.equal(linkExpired(link, at - LINK_MARGIN_S * 1000), true);
  assert.equal(linkExpired(link, at + 1), true);
  assert.equal(linkExpired(link, at - 1000, 0), false);
  assert.equal(linkExpired({ expires_at: 'soon' }, at), true);
  assert.equal(linkExpired(null, at), true);
});

test('media: the playable URL is the signed original on the API origin', () => {
  const url = `/api/v1/media/${sha}/original/signed?token=3&expires=1796706600&signature=${'0f'.repeat(32)}`;
  assert.equal(signedSrc({ url }, 'http://127.0.0.1:8080'), `http://127.0.0.1:8080${url}`);
  assert.equal(signedSrc({ url: 'https://evil.example/x' }, 'http://127.0.0.1:8080'), null);
  assert.equal(signedSrc({ url: `/api/v1/media/${sha}/original` }, 'http://127.0.0.1:8080'), null);
  assert.equal(signedSrc({}, 'http://127.0.0.1:8080'), null);
  assert.equal(signedSrc(null, 'http://127.0.0.1:8080'), null);
});

test('media: playback errors say what to do', () => {
  for (const code of [1, 2, 3, 4, undefined]) assert.match(playbackProblem(code), /\.$/);
  assert.match(playbackProblem(2), /Reload the video/);
  assert.match(playbackProblem(3), /Download the original/);
  assert.match(playbackProblem(4), /Reload the video/);
});
