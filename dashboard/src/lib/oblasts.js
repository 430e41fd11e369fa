// The map's oblast shading, without a browser: the aggregate queries for the map's filters, the
// vehicles per oblast summed over their buckets, the classes of the legend, and the fill colour
// as a MapLibre expression over the base map's `oblasts` layer (property iso_3166_2).

/** Light to dark (ColorBrewer YlOrRd, 5 classes); the CSS classes shade-0 … shade-4 match. */
export const SHADE_COLOURS = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
export const NO_SHADE = 'rgba(0, 0, 0, 0)';

const PASSED_ON = ['equipment_type', 'movement', 'country', 'oblast', 'submission_id'];
/** What the map shows without a status filter: all but rejected (the aggregates count verified only by default). */
const DEFAULT_STATUSES = ['unverified', 'verified', 'disputed'];

/**
 * The queries of GET /api/v1/aggregates/observations that count, per oblast, the vehicles the
 * map's filters show: one per status (the map's default, all but rejected, takes three).
 * @param {URLSearchParams} query the map's query (days YYYY-MM-DD in from/to)
 * @returns {string[]}
 */
export function aggregateQueries(query) {
  const base = new URLSearchParams();
  base.set('bucket', 'week');
  base.set('group_by', 'oblast');
  for (const k of ['from', 'to']) {
    const v = query.get(k);
    if (v) base.set(k, /^\d{4}-\d\d-\d\d$/.test(v) ? `${v}T00:00:00Z` : v);
  }
  for (const k of PASSED_ON) {
    const v = query.get(k);
    if (v) base.set(k, v);
  }
  const status = query.get('status');
  return (status ? [status] : DEFAULT_STATUSES).map((s) => {
    const q = new URLSearchParams(base);
    q.set('status', s);
    return `?${q}`;
  });
}

/**
 * Vehicles per oblast (ISO 3166-2) summed over the rows of one or more answers; rows without an
 * oblast (outside every oblast) are left out.
 * @param {{oblast?: string | null, vehicles: number}[][]} answers
 * @returns {Record<string, number>}
 */
export function vehiclesByOblast(answers) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const rows of answers) {
    for (const r of rows) {
      if (!r.oblast) continue;
      out[r.oblast] = (out[r.oblast] ?? 0) + (Number(r.vehicles) || 0);
    }
  }
  return out;
}

/**
 * The legend's classes for a largest count: up to 5, growing geometrically (counts are skewed:
 * a few oblasts near the border hold most vehicles), each {from, to, colour}, from 1 up.
 * @param {number} max
 * @returns {{from: number, to: number, colour: string, index: number}[]}
 */
export function shadeClasses(max) {
  if (!(max >= 1)) return [];
  /** @type {number[]} */
  const uppers = [];
  for (let k = 1; k <= 5; ++k) {
    const u = k === 5 ? Math.round(max) : Math.round(max ** (k / 5));
    if (u >= 1 && (uppers.length === 0 || u > uppers[uppers.length - 1])) uppers.push(u);
  }
  const offset = SHADE_COLOURS.length - uppers.length; // few classes: the darker colours
  return uppers.map((to, i) => ({ from: i === 0 ? 1 : uppers[i - 1] + 1, to, colour: SHADE_COLOURS[offset + i], index: offset + i }));
}

/**
 * The fill colour of the oblasts layer: each oblast with vehicles in its class's colour, the
 * others transparent.
 * @param {Record<string, number>} byOblast
 * @param {{from: number, to: number, colour: string}[]} classes
 * @returns {string | any[]}
 */
export function shadeExpression(byOblast, classes) {
  const pairs = [];
  for (const [iso, n] of Object.entries(byOblast).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classes.find((k) => n >= k.from && n <= k.to) ?? (n > 0 ? classes[classes.length - 1] : undefined);
    if (c) pairs.push(iso, c.colour);
  }
  if (pairs.length === 0) return NO_SHADE;
  return ['match', ['get', 'iso_3166_2'], ...pairs, NO_SHADE];
}
