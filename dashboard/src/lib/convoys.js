// The convoy screens' logic, without a browser: the list's API query from the screen's URL, the
// window's limits (the server takes at most 92 days), the split and merge forms' values, and
// how a track's numbers read.

import { CONVOY_MAX_DAYS, parseDay } from './timeline.js';

/** The screen's own filters, in its query string (days as YYYY-MM-DD; status). */
export const CONVOY_FILTERS = ['from', 'to', 'status'];

/**
 * A problem with the window before asking the server (which would refuse it with 422 too), at
 * the field it is about; null when the window is fine.
 * @param {URLSearchParams} query
 * @returns {{field: string, message: string} | null}
 */
export function convoyWindowProblem(query) {
  const from = parseDay(query.get('from'));
  const to = parseDay(query.get('to'));
  if (query.get('from') && from === null) return { field: 'from', message: 'From is not a date (YYYY-MM-DD).' };
  if (query.get('to') && to === null) return { field: 'to', message: 'To is not a date (YYYY-MM-DD).' };
  if (from !== null && to !== null && from >= to) return { field: 'from', message: 'From must be before To; choose an earlier From.' };
  const end = to ?? Date.now();
  if (from !== null && end - from > CONVOY_MAX_DAYS * 86400000) {
    return { field: 'from', message: `The window may span at most ${CONVOY_MAX_DAYS} days; choose a later From or an earlier To.` };
  }
  return null;
}

/**
 * The query of GET /api/v1/convoys for the screen's query: from and to as RFC 3339 (a day is its
 * midnight UTC, as in the other screens' filters: from included, to not), and status. Empty
 * from/to: the server's default window (the 7 days up to now, or up to to).
 * @param {URLSearchParams} query
 */
export function convoyListQuery(query) {
  const q = new URLSearchParams();
  const from = parseDay(query.get('from'));
  const to = parseDay(query.get('to'));
  if (from !== null) q.set('from', new Date(from).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  if (to !== null) q.set('to', new Date(to).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const status = query.get('status');
  if (status) q.set('status', status);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * A track's id typed in a form: a positive whole number, else null.
 * @param {string} text
 */
export function parseTrackId(text) {
  const t = text.trim().replace(/^#/, '');
  if (!/^\d{1,18}$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

/**
 * The sightings a track may be split before: all but its first (the server refuses the first).
 * @template {{observation_id: number}} S
 * @param {S[]} sightings
 * @returns {S[]}
 */
export function splitChoices(sightings) {
  return sightings.slice(1);
}

/**
 * The net distance toward the border, as words: positive is toward it.
 * @param {number | null | undefined} km
 */
export function netKmText(km) {
  if (typeof km !== 'number' || !Number.isFinite(km)) return '—';
  const a = Math.abs(km).toFixed(1);
  if (km > 0) return `${a} km toward the border`;
  if (km < 0) return `${a} km away from the border`;
  return '0.0 km';
}

/**
 * A track's equipment ({"truck": 3, "tank": 1}) as text, most first.
 * @param {Record<string, number> | null | undefined} equipment
 */
export function equipmentSummary(equipment) {
  return Object.entries(equipment ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
}
