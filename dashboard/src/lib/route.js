// The dashboard's own URLs (each screen has one; back, forward and reload work).

/**
 * @typedef {{name: string, params: Record<string, string>, query: URLSearchParams}} Route
 */

const ROUTES = [
  ['inbox', /^\/(?:inbox)?\/?$/],
  ['submission', /^\/submissions\/(?<id>\d+)\/?$/],
  ['observations', /^\/observations\/?$/],
  ['observation-new', /^\/observations\/new\/?$/],
  ['observation', /^\/observations\/(?<id>\d+)\/?$/],
  ['verify', /^\/verify\/?$/],
  ['map', /^\/map\/?$/],
  ['convoys', /^\/convoys\/?$/],
  ['convoy', /^\/convoys\/(?<id>\d+)\/?$/],
  ['imagery', /^\/imagery\/?$/],
  ['aggregates', /^\/aggregates\/?$/],
  ['reports', /^\/reports\/?$/],
  ['admin', /^\/admin\/?$/],
];

/**
 * @param {string} pathname @param {string} [search]
 * @returns {Route}
 */
export function parseRoute(pathname, search = '') {
  const query = new URLSearchParams(search);
  for (const [name, re] of ROUTES) {
    const m = /** @type {RegExp} */ (re).exec(pathname);
    if (m) return { name: /** @type {string} */ (name), params: { ...(m.groups ?? {}) }, query };
  }
  return { name: 'not-found', params: {}, query };
}

/**
 * A query string from the non-empty values of an object.
 * @param {Record<string, string | number | boolean | null | undefined>} values
 */
export function toQuery(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
