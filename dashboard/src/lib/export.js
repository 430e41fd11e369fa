// The map's export of the observations in view, without a browser: following the list's pages
// up to a cap, and writing them as GeoJSON, KML (XML escaped) or CSV (cells that a spreadsheet
// would run as a formula neutralised, as OWASP recommends for CSV injection).

/** The most observations one export fetches (20 pages of 500); the screen says when it is hit. */
export const EXPORT_CAP = 10000;
export const EXPORT_PAGE = 500;

export const EXPORT_FORMATS = {
  geojson: { ext: 'geojson', type: 'application/geo+json', label: 'GeoJSON' },
  kml: { ext: 'kml', type: 'application/vnd.google-earth.kml+xml', label: 'KML' },
  csv: { ext: 'csv', type: 'text/csv;charset=utf-8', label: 'CSV' },
};

/**
 * Follows the pages of a cursor-paged list until its end or `cap` items.
 * @template T
 * @param {(cursor: string | null) => Promise<{items: T[], next_cursor: string | null}>} fetchPage
 * @param {{cap?: number, onProgress?: (n: number) => void, signal?: AbortSignal}} [options]
 * @returns {Promise<{items: T[], capped: boolean}>} capped: more were left when the cap was hit
 */
export async function collectPages(fetchPage, options = {}) {
  const cap = options.cap ?? EXPORT_CAP;
  /** @type {T[]} */
  const items = [];
  /** @type {string | null} */
  let cursor = null;
  for (;;) {
    if (options.signal?.aborted) throw new DOMException('The export was cancelled.', 'AbortError');
    const page = await fetchPage(cursor);
    items.push(...page.items);
    options.onProgress?.(Math.min(items.length, cap));
    cursor = page.next_cursor;
    if (items.length >= cap) return { items: items.slice(0, cap), capped: items.length > cap || !!cursor };
    if (!cursor || page.items.length === 0) return { items, capped: false };
  }
}

/**
 * @typedef {{id: number, submission_id?: number | null, observed_at: string,
 *   location: {lat: number, lon: number}, location_precision?: string, heading_deg?: number | null,
 *   equipment?: {type: string, count: number}[], markings?: string[], notes?: string | null,
 *   vehicles?: number, status?: string, created_by?: string,
 *   derived?: {country?: string | null, oblast?: string | null, km_to_border?: number | null, movement?: string} | null}} Obs
 */

/** The columns of the CSV and the properties of the GeoJSON and KML, in order. */
export const EXPORT_COLUMNS = [
  'id', 'observed_at', 'lat', 'lon', 'location_precision', 'heading_deg', 'vehicles', 'equipment', 'status',
  'movement', 'country', 'oblast', 'km_to_border', 'markings', 'notes', 'submission_id', 'created_by',
];

/**
 * One observation as a flat row (equipment "3 truck; 1 tank", markings "a; b").
 * @param {Obs} o
 * @returns {Record<string, string | number | null>}
 */
export function exportRow(o) {
  const d = o.derived ?? {};
  return {
    id: o.id,
    observed_at: o.observed_at,
    lat: o.location.lat,
    lon: o.location.lon,
    location_precision: o.location_precision ?? null,
    heading_deg: typeof o.heading_deg === 'number' ? o.heading_deg : null,
    vehicles: typeof o.vehicles === 'number' ? o.vehicles : null,
    equipment: (o.equipment ?? []).map((e) => `${e.count} ${e.type}`).join('; '),
    status: o.status ?? null,
    movement: d.movement ?? null,
    country: d.country ?? null,
    oblast: d.oblast ?? null,
    km_to_border: typeof d.km_to_border === 'number' ? d.km_to_border : null,
    markings: (o.markings ?? []).join('; '),
    notes: o.notes ?? null,
    submission_id: o.submission_id ?? null,
    created_by: o.created_by ?? null,
  };
}

/** @param {Obs[]} observations */
export function toGeoJSON(observations) {
  return JSON.stringify({
    type: 'FeatureCollection',
    features: observations.map((o) => {
      const { lat, lon, ...properties } = exportRow(o);
      return { type: 'Feature', id: o.id, geometry: { type: 'Point', coordinates: [lon, lat] }, properties };
    }),
  });
}

/** Text for XML content and attribute values. @param {unknown} v */
export function xmlEscape(v) {
  return String(v ?? '')
    // Characters XML 1.0 does not allow at all are dropped.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** @param {Obs[]} observations */
export function toKML(observations) {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<kml xmlns="http://www.opengis.net/kml/2.2">',
    '<Document>',
    '<name>ConvoyWatch observations</name>',
  ];
  for (const o of observations) {
    const row = exportRow(o);
    const summary = [`${row.vehicles ?? '?'} vehicles`, row.equipment, row.movement, row.status].filter(Boolean).join(', ');
    out.push(
      '<Placemark>',
      `<name>Observation #${xmlEscape(o.id)}</name>`,
      `<description>${xmlEscape(summary)}</description>`,
      `<TimeStamp><when>${xmlEscape(o.observed_at)}</when></TimeStamp>`,
      '<ExtendedData>',
      ...EXPORT_COLUMNS.filter((k) => k !== 'lat' && k !== 'lon' && row[k] !== null && row[k] !== '').map(
        (k) => `<Data name="${xmlEscape(k)}"><value>${xmlEscape(row[k])}</value></Data>`,
      ),
      '</ExtendedData>',
      `<Point><coordinates>${Number(row.lon)},${Number(row.lat)}</coordinates></Point>`,
      '</Placemark>',
    );
  }
  out.push('</Document>', '</kml>', '');
  return out.join('\n');
}

/**
 * One CSV cell. Numbers are written as they are; text is quoted (quotes doubled), and text that
 * starts with = + - or an at sign, a tab or a carriage return gets a leading ' so a spreadsheet shows it
 * instead of running it as a formula (OWASP, CSV injection).
 * @param {string | number | null | undefined} v
 */
export function csvCell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** @param {Obs[]} observations */
export function toCSV(observations) {
  const lines = [EXPORT_COLUMNS.join(',')];
  for (const o of observations) {
    const row = exportRow(o);
    lines.push(EXPORT_COLUMNS.map((k) => csvCell(row[k])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The file's name: observations-YYYYMMDDTHHMMZ.ext (UTC).
 * @param {'geojson' | 'kml' | 'csv'} format @param {number} now epoch ms
 */
export function exportFileName(format, now) {
  const t = new Date(now).toISOString().slice(0, 16).replace(/[-:]/g, '');
  return `observations-${t}Z.${EXPORT_FORMATS[format].ext}`;
}

/**
 * The bbox parameter for a map's bounds, kept within the world (a map panned across the
 * antimeridian reports longitudes beyond ±180).
 * @param {number} west @param {number} south @param {number} east @param {number} north
 */
export function bboxParam(west, south, east, north) {
  const c = (/** @type {number} */ v, /** @type {number} */ lim) => Math.max(-lim, Math.min(lim, v)).toFixed(5);
  return [c(west, 180), c(south, 90), c(east, 180), c(north, 90)].join(',');
}
