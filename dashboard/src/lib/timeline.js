// The map's time slider and its tile URLs, without a browser. The slider is one more control over
// the list's `from`/`to` filters (dates, YYYY-MM-DD, in the query string): per day it sets
// from = the day and to = the next day; cumulative it clears `from` and sets to = the next day.
// Its position and mode are read back from the query, so reload and shared links keep them.

const DAY = 86400000;

/** @param {string | null | undefined} s @returns {number | null} epoch ms of a YYYY-MM-DD at 00:00 UTC */
export function parseDay(s) {
  if (!s || !/^\d{4}-\d\d-\d\d/.test(s)) return null;
  const t = Date.parse(`${s.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(t) ? null : t;
}

/** @param {number} t epoch ms @returns {string} YYYY-MM-DD (UTC) */
export function formatDay(t) {
  return new Date(t).toISOString().slice(0, 10);
}

/** @param {number} t @param {number} n */
export function addDays(t, n) {
  return t + n * DAY;
}

/** Days between two day starts. @param {number} a @param {number} b */
export function daysBetween(a, b) {
  return Math.round((b - a) / DAY);
}

/**
 * Where the slider stands for a query: the day shown (the day before `to`), and the mode
 * ("day" when from is exactly the day before to, else "cumulative"); day null: no `to`, so all
 * time is shown.
 * @param {URLSearchParams} query
 * @returns {{day: number | null, mode: 'day' | 'cumulative'}}
 */
export function sliderState(query) {
  const to = parseDay(query.get('to'));
  const from = parseDay(query.get('from'));
  if (to === null) return { day: null, mode: from === null ? 'cumulative' : 'day' };
  const day = addDays(to, -1);
  return { day, mode: from !== null && from === day ? 'day' : 'cumulative' };
}

/**
 * The query after the slider moved to `day` in `mode` (other parameters kept).
 * @param {URLSearchParams} query @param {number} day @param {'day' | 'cumulative'} mode
 * @returns {URLSearchParams}
 */
export function withDay(query, day, mode) {
  const q = new URLSearchParams(query);
  q.set('to', formatDay(addDays(day, 1)));
  if (mode === 'day') q.set('from', formatDay(day));
  else q.delete('from');
  return q;
}

/** The parameters an observation tile accepts, in a stable order. */
export const TILE_FILTERS = ['from', 'to', 'status', 'equipment_type', 'movement', 'oblast', 'country', 'submission_id'];

/** A date filter as the API reads it: a bare day becomes its midnight UTC. @param {string} v */
function instant(v) {
  return /^\d{4}-\d\d-\d\d$/.test(v) ? `${v}T00:00:00Z` : v;
}

/**
 * The observation tiles' URL template with the list's filters as its query.
 * @param {string} origin @param {URLSearchParams} query
 */
export function observationTileUrl(origin, query) {
  const q = new URLSearchParams();
  for (const k of TILE_FILTERS) {
    const v = query.get(k);
    if (v) q.set(k, k === 'from' || k === 'to' ? instant(v) : v);
  }
  const s = q.toString();
  return `${origin}/api/v1/tiles/observations/{z}/{x}/{y}.mvt${s ? `?${s}` : ''}`;
}

/** The longest window the convoy tiles accept (server: from/to may span at most 92 days). */
export const CONVOY_MAX_DAYS = 92;

/**
 * The convoy tiles' URL template: the window from..to (to defaults to now, from to a week
 * before to), shortened to its last 92 days, and the status filter.
 * @param {string} origin @param {URLSearchParams} query @param {number} now epoch ms
 */
export function convoyTileUrl(origin, query, now) {
  const toDay = parseDay(query.get('to'));
  const to = toDay ?? now;
  const fromDay = parseDay(query.get('from'));
  const from = Math.max(fromDay ?? to - 7 * DAY, to - CONVOY_MAX_DAYS * DAY);
  const q = new URLSearchParams();
  q.set('from', new Date(Math.min(from, to - 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  q.set('to', new Date(to).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const status = query.get('status');
  if (status) q.set('status', status);
  return `${origin}/api/v1/tiles/convoys/{z}/{x}/{y}.mvt?${q}`;
}

/**
 * The map's view in the query string (replacing lat, lon, z), rounded so a small move does not
 * change the URL's other parts.
 * @param {URLSearchParams} query @param {{lat: number, lon: number, zoom: number}} view
 */
export function withView(query, view) {
  const q = new URLSearchParams(query);
  q.set('lat', view.lat.toFixed(4));
  q.set('lon', view.lon.toFixed(4));
  q.set('z', view.zoom.toFixed(2).replace(/\.?0+$/, ''));
  return q;
}
