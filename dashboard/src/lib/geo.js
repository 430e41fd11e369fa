// Small spherical geometry for the maps, without a browser: bearings (degrees clockwise from
// north, 0 ≤ d < 360), the point at a distance along a bearing, compass names, and the sun and
// shadow lines drawn from a place.

const R_KM = 6371.0088; // mean Earth radius
/** @param {number} d */
const rad = (d) => (d * Math.PI) / 180;
/** @param {number} r */
const deg = (r) => (r * 180) / Math.PI;

/** An angle in degrees brought into [0, 360). @param {number} d */
export function normalizeDeg(d) {
  const n = d % 360;
  return n < 0 ? n + 360 : n === 0 ? 0 : n; // no -0
}

/**
 * The initial great-circle bearing from one point to another, degrees clockwise from north in
 * [0, 360); null when the points coincide (no direction).
 * @param {number} lat1 @param {number} lon1 @param {number} lat2 @param {number} lon2
 * @returns {number | null}
 */
export function bearing(lat1, lon1, lat2, lon2) {
  if (lat1 === lat2 && lon1 === lon2) return null;
  const φ1 = rad(lat1);
  const φ2 = rad(lat2);
  const Δλ = rad(lon2 - lon1);
  const y = Math.sin(Δλ) * Math.cos(φ2);
  const x = Math.cos(φ1) * Math.sin(φ2) - Math.sin(φ1) * Math.cos(φ2) * Math.cos(Δλ);
  return normalizeDeg(deg(Math.atan2(y, x)));
}

/**
 * The point `km` away from (lat, lon) along the great circle leaving it at `bearingDeg`.
 * @param {number} lat @param {number} lon @param {number} bearingDeg @param {number} km
 * @returns {{lat: number, lon: number}}
 */
export function destination(lat, lon, bearingDeg, km) {
  const δ = km / R_KM;
  const θ = rad(bearingDeg);
  const φ1 = rad(lat);
  const λ1 = rad(lon);
  const φ2 = Math.asin(Math.sin(φ1) * Math.cos(δ) + Math.cos(φ1) * Math.sin(δ) * Math.cos(θ));
  const λ2 = λ1 + Math.atan2(Math.sin(θ) * Math.sin(δ) * Math.cos(φ1), Math.cos(δ) - Math.sin(φ1) * Math.sin(φ2));
  return { lat: deg(φ2), lon: ((deg(λ2) + 540) % 360) - 180 };
}

const POINTS = ['N', 'NNE', 'NE', 'ENE', 'E', 'ESE', 'SE', 'SSE', 'S', 'SSW', 'SW', 'WSW', 'W', 'WNW', 'NW', 'NNW'];

/** The 16-point compass name of a bearing ("SSW"). @param {number} d */
export function compass(d) {
  return POINTS[Math.round(normalizeDeg(d) / 22.5) % 16];
}

/**
 * A heading typed or dragged, as the API takes it: a whole degree in [0, 360), or null when
 * empty (a parked vehicle has none). Anything else: NaN, for the form to refuse.
 * @param {string | number | null} v
 */
export function headingValue(v) {
  if (v === null || v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 360) return NaN;
  return normalizeDeg(Math.round(n));
}

/**
 * The lines a submission's sun gives, from its place: toward the sun (its azimuth) and along the
 * shadows (the opposite azimuth, or the server's shadow_azimuth_deg), `km` long, as GeoJSON
 * features with `kind` "sun" or "shadow". No lines when the sun is at or below the horizon.
 * @param {{lat: number, lon: number, azimuth_deg: number, elevation_deg: number,
 *          shadow_azimuth_deg?: number | null}} sun
 * @param {number} km
 */
export function sunLines(sun, km) {
  /** @type {{type: 'FeatureCollection', features: any[]}} */
  const out = { type: 'FeatureCollection', features: [] };
  if (!(sun.elevation_deg > 0)) return out;
  const shadow = typeof sun.shadow_azimuth_deg === 'number' ? sun.shadow_azimuth_deg : normalizeDeg(sun.azimuth_deg + 180);
  for (const [kind, az] of /** @type {[string, number][]} */ ([['sun', sun.azimuth_deg], ['shadow', shadow]])) {
    const end = destination(sun.lat, sun.lon, az, km);
    out.features.push({
      type: 'Feature',
      properties: { kind, azimuth_deg: az },
      geometry: { type: 'LineString', coordinates: [[sun.lon, sun.lat], [end.lon, end.lat]] },
    });
  }
  return out;
}

/**
 * The bounds [[west, south], [east, north]] of [lon, lat] positions (for fitting a map to them);
 * null when there are none.
 * @param {number[][]} positions
 * @returns {[[number, number], [number, number]] | null}
 */
export function bounds(positions) {
  if (positions.length === 0) return null;
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const [lon, lat] of positions) {
    w = Math.min(w, lon);
    e = Math.max(e, lon);
    s = Math.min(s, lat);
    n = Math.max(n, lat);
  }
  return [[w, s], [e, n]];
}

/**
 * Where, in screen pixels from the pin, the tip of an arrow of `px` pixels pointing along
 * `headingDeg` is drawn on a map turned by `mapBearingDeg` (screen y grows downward).
 * @param {number} headingDeg @param {number} mapBearingDeg @param {number} px
 * @returns {[number, number]}
 */
export function tipOffset(headingDeg, mapBearingDeg, px) {
  const a = rad(headingDeg - mapBearingDeg);
  const x = px * Math.sin(a);
  const y = -px * Math.cos(a);
  return [Math.abs(x) < 1e-9 ? 0 : x, Math.abs(y) < 1e-9 ? 0 : y];
}
