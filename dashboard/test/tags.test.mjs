// Unit tests of lib/tags.js: a tag's rules, the bulk request, its answer in words, the selection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTagField, MAX_IDS, pageSelection, selectedText, selectPage, tagProblem, tagsDoneText, tagsRequest } from '../src/lib/tags.js';

test('tags: 1–64 bytes of UTF-8, no control characters, trimmed', () => {
  assert.equal(tagProblem('sensitive'), null);
  assert.equal(tagProblem('  checked '), null);
  assert.equal(tagProblem('колонна'), null);
  assert.equal(tagProblem('x'.repeat(64)), null);
  assert.equal(tagProblem('ж'.repeat(32)), null); // 64 bytes
  assert.match(tagProblem('ж'.repeat(33)), /at most 64 bytes/);
  assert.match(tagProblem('x'.repeat(65)), /at most 64 bytes/);
  assert.match(tagProblem(''), /Type a tag/);
  assert.match(tagProblem('   '), /Type a tag/);
  assert.match(tagProblem('a\tb'), /control characters/);
  assert.match(tagProblem('a\nb'), /control characters/);
  assert.match(tagProblem('a\u0085b'), /control characters/);
});

test('tags: the request adds or removes one tag on 1–500 ids', () => {
  assert.deepEqual(tagsRequest([3, 1, 3], ' sensitive ', 'add'), { body: { ids: [1, 3], add: ['sensitive'] } });
  assert.deepEqual(tagsRequest([2], 'checked', 'remove'), { body: { ids: [2], remove: ['checked'] } });
  assert.equal(tagsRequest([], 'x', 'add').field, 'ids');
  assert.equal(tagsRequest([0, -1], 'x', 'add').field, 'ids');
  const many = Array.from({ length: MAX_IDS + 1 }, (_, i) => i + 1);
  assert.equal(tagsRequest(many, 'x', 'add').field, 'ids');
  assert.ok('body' in tagsRequest(many.slice(0, MAX_IDS), 'x', 'add'));
  assert.equal(tagsRequest([1], '', 'add').field, 'tag');
});

test('tags: which problem fields are about the tag', () => {
  for (const f of ['add', 'remove', 'add[0]', 'remove[12]']) assert.equal(isTagField(f), true, f);
  for (const f of ['ids', 'ids[3]', undefined, 'tag', 'added[0]']) assert.equal(isTagField(f), false, String(f));
});

test('tags: the answer in words', () => {
  const answer = { submissions: [{ id: 1, tags: ['a'] }, { id: 4, tags: ['a'] }] };
  assert.equal(tagsDoneText('add', ' a ', answer), 'Tag “a” added to 2 submissions (#1, #4).');
  assert.equal(tagsDoneText('remove', 'a', { submissions: [{ id: 9 }] }), 'Tag “a” removed from 1 submission (#9).');
  assert.equal(tagsDoneText('add', 'a', {}), 'Tag “a” added to no submissions.');
});

test('tags: the selection', () => {
  assert.equal(selectedText(0), 'No submissions selected');
  assert.equal(selectedText(2), '2 selected');
  const s = selectPage(new Set([9]), [1, 2, 3], true);
  assert.deepEqual([...s].sort(), [1, 2, 3, 9]);
  assert.deepEqual([...selectPage(s, [1, 2, 3], false)], [9]);
  assert.equal(pageSelection(s, [1, 2, 3]), 'all');
  assert.equal(pageSelection(new Set([2]), [1, 2, 3]), 'some');
  assert.equal(pageSelection(new Set([9]), [1, 2, 3]), 'none');
});
