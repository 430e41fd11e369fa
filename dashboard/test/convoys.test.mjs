// Unit tests of lib/convoys.js: the list's API query, the window's limits, the forms' values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convoyListQuery, convoyWindowProblem, equipmentSummary, netKmText, parseTrackId, splitChoices } from '../src/lib/convoys.js';
import { parseRoute } from '../src/lib/route.js';

test('convoys: the screens have URLs', () => {
  assert.equal(parseRoute('/convoys').name, 'convoys');
  assert.equal(parseRoute('/convoys/').name, 'convoys');
  assert.equal(parseRoute('/convoys/42').name, 'convoy');
  assert.deepEqual(parseRoute('/convoys/42').params, { id: '42' });
  assert.equal(parseRoute('/convoys/x').name, 'not-found');
});

test('convoys: the list query from the screen query', () => {
  assert.equal(convoyListQuery(new URLSearchParams('')), '');
  assert.equal(
    convoyListQuery(new URLSearchParams('from=2022-02-01&to=2022-02-21&status=any&lat=5')),
    '?from=2022-02-01T00%3A00%3A00Z&to=2022-02-21T00%3A00%3A00Z&status=any',
  );
  assert.equal(convoyListQuery(new URLSearchParams('to=2022-02-21')), '?to=2022-02-21T00%3A00%3A00Z');
});

test('convoys: the window is checked at its field before asking', () => {
  assert.equal(convoyWindowProblem(new URLSearchParams('')), null);
  assert.equal(convoyWindowProblem(new URLSearchParams('from=2022-02-01&to=2022-05-04')), null); // 92 days
  assert.equal(convoyWindowProblem(new URLSearchParams('from=2022-02-01&to=2022-05-05'))?.field, 'from'); // 93
  assert.equal(convoyWindowProblem(new URLSearchParams('from=2022-02-02&to=2022-02-01'))?.field, 'from');
  assert.equal(convoyWindowProblem(new URLSearchParams('from=2022-02-02&to=2022-02-02'))?.field, 'from');
  assert.equal(convoyWindowProblem(new URLSearchParams('to=soon'))?.field, 'to');
  assert.equal(convoyWindowProblem(new URLSearchParams('from=2000-01-01'))?.field, 'from'); // up to now: too long
  assert.match(convoyWindowProblem(new URLSearchParams('from=2000-01-01')).message, /at most 92 days/);
});

test('convoys: track ids typed in the merge form', () => {
  assert.equal(parseTrackId('1234'), 1234);
  assert.equal(parseTrackId(' #77 '), 77);
  assert.equal(parseTrackId('0'), null);
  assert.equal(parseTrackId('12a'), null);
  assert.equal(parseTrackId(''), null);
  assert.equal(parseTrackId('-3'), null);
  assert.equal(parseTrackId('1.5'), null);
  assert.equal(parseTrackId('99999999999999999'), null); // beyond safe integers
});

test('convoys: split choices, net distance, equipment', () => {
  const s = [{ observation_id: 5 }, { observation_id: 9 }, { observation_id: 12 }];
  assert.deepEqual(splitChoices(s), [{ observation_id: 9 }, { observation_id: 12 }]);
  assert.deepEqual(splitChoices([{ observation_id: 5 }]), []);
  assert.equal(netKmText(12.345), '12.3 km toward the border');
  assert.equal(netKmText(-4), '4.0 km away from the border');
  assert.equal(netKmText(0), '0.0 km');
  assert.equal(netKmText(null), '—');
  assert.equal(equipmentSummary({ tank: 1, truck: 3, apc: 1, medical: 0 }), '3 truck, 1 apc, 1 tank');
  assert.equal(equipmentSummary(undefined), '');
});
