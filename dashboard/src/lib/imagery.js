// The imagery screen's logic, without a browser: its API query, the Web-Mercator frame the
// before/after swipe is drawn in (the zoom and the server's XYZ tiles that cover an image's
// footprint), a footprint's corners, the projective warp of the comparison's overlay (in before's
// pixel grid) onto that frame, the swipe's split, the area to count in, and a task's state in words.

/** @param {number} lon */
export function mercX(lon) {
  return (lon + 180) / 360;
}

/** @param {number} lat */
export function mercY(lat) {
  const φ = (Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI) / 180;
  return (1 - Math.log(Math.tan(φ) + 1 / Math.cos(φ)) / Math.PI) / 2;
}

/**
 * The API query of GET /api/v1/imagery from the screen's query: captured from/to as days
 * (from included, to excluded, UTC) and the bbox as it is.
 * @param {URLSearchParams} query @param {string | null} [cursor]
 */
export function imageryListQuery(query, cursor = null) {
  const q = new URLSearchParams();
  const from = query.get('from');
  const to = query.get('to');
  if (from) q.set('from', `${from}T00:00:00Z`);
  if (to) q.set('to', `${to}T00:00:00Z`);
  if (query.get('bbox')) q.set('bbox', /** @type {string} */ (query.get('bbox')));
  q.set('limit', '100');
  if (cursor) q.set('cursor', cursor);
  return `?${q}`;
}

/**
 * A bbox parameter (west,south,east,north, 5 decimals) of the map's bounds.
 * @param {number} w @param {number} s @param {number} e @param {number} n
 */
export function bboxText(w, s, e, n) {
  const f = (/** @type {number} */ v) => String(Number(v.toFixed(5)));
  return [Math.max(-180, w), Math.max(-90, s), Math.min(180, e), Math.min(90, n)].map(f).join(',');
}

/**
 * The GeoJSON Polygon of a bbox parameter: the area a comparison counts its blobs in.
 * @param {string} bbox
 * @returns {{type: 'Polygon', coordinates: number[][][]} | null}
 */
export function bboxPolygon(bbox) {
  const v = String(bbox ?? '').split(',').map(Number);
  if (v.length !== 4 || !v.every(Number.isFinite)) return null;
  const [w, s, e, n] = v;
  if (!(w < e && s < n)) return null;
  return { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] };
}

/**
 * The corners of an image's footprint, [lon, lat] at its pixel grid's top-left, top-right,
 * bottom-right and bottom-left. The server's footprint ring walks the image's edges from the
 * top-left corner clockwise with the same number of points on each edge (closed: the first point
 * repeated at the end).
 * @param {{type: string, coordinates: number[][][]} | null | undefined} footprint
 * @returns {number[][] | null}
 */
export function footprintCorners(footprint) {
  const ring = footprint?.type === 'Polygon' ? footprint.coordinates?.[0] : null;
  if (!Array.isArray(ring) || ring.length < 4) return null;
  const last = ring[ring.length - 1];
  const open = ring[0][0] === last[0] && ring[0][1] === last[1] ? ring.slice(0, -1) : ring;
  if (open.length % 4 !== 0) return null;
  const n = open.length / 4;
  return [open[0], open[n], open[2 * n], open[3 * n]].map((p) => [p[0], p[1]]);
}

/**
 * The Web-Mercator frame of a bbox at the largest zoom where it fits `maxSide` pixels: the
 * frame's size in pixels, where a point lands in it (`toPixel`), and the 256-pixel XYZ tiles
 * covering it with where each is drawn.
 * @param {number[][]} bounds [[west, south], [east, north]] (lib/geo.js bounds)
 * @param {number} maxSide
 */
export function tileFrame(bounds, maxSide = 720) {
  const [[w, s], [e, n]] = bounds;
  const x0 = mercX(w), x1 = mercX(e), y0 = mercY(n), y1 = mercY(s);
  const span = Math.max(x1 - x0, y1 - y0, 1e-12);
  const z = Math.max(0, Math.min(22, Math.floor(Math.log2(maxSide / (span * 256)))));
  const world = 256 * 2 ** z;
  const width = Math.max(1, Math.round((x1 - x0) * world));
  const height = Math.max(1, Math.round((y1 - y0) * world));
  const last = 2 ** z - 1;
  const tiles = [];
  for (let ty = Math.max(0, Math.floor(y0 * 2 ** z)); ty <= Math.min(last, Math.floor((y1 * world - 1e-9) / 256)); ++ty) {
    for (let tx = Math.max(0, Math.floor(x0 * 2 ** z)); tx <= Math.min(last, Math.floor((x1 * world - 1e-9) / 256)); ++tx) {
      tiles.push({ z, x: tx, y: ty, dx: Math.round(tx * 256 - x0 * world), dy: Math.round(ty * 256 - y0 * world) });
    }
  }
  /** @param {number} lon @param {number} lat */
  const toPixel = (lon, lat) => [(mercX(lon) - x0) * world, (mercY(lat) - y0) * world];
  return { z, width, height, tiles, toPixel };
}

/**
 * The homography mapping four points onto four others (row-major 3×3, h[8] = 1); null when the
 * points are degenerate.
 * @param {number[][]} src @param {number[][]} dst
 */
export function homography(src, dst) {
  /** @type {number[][]} */
  const a = [];
  for (let i = 0; i < 4; ++i) {
    const [x, y] = src[i];
    const [u, v] = dst[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gaussian elimination with partial pivoting on the 8×9 augmented matrix.
  for (let c = 0; c < 8; ++c) {
    let p = c;
    for (let r = c + 1; r < 8; ++r) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    if (Math.abs(a[p][c]) < 1e-12) return null;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < 8; ++r) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k < 9; ++k) a[r][k] -= f * a[c][k];
    }
  }
  return [...a.map((row, i) => row[8] / row[i]), 1];
}

/** @param {number[]} h @param {number} x @param {number} y */
export function applyHomography(h, x, y) {
  const d = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / d, (h[3] * x + h[4] * y + h[5]) / d];
}

/**
 * The affine transform (canvas setTransform's a, b, c, d, e, f) taking three points to three
 * others; null when the first three are on a line.
 * @param {number[][]} s @param {number[][]} d
 */
export function affine(s, d) {
  const [[x0, y0], [x1, y1], [x2, y2]] = s;
  const det = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (Math.abs(det) < 1e-12) return null;
  // Solve for (a, c, e) from u and (b, d, f) from v: u = a x + c y + e.
  const solve = (/** @type {number} */ u0, /** @type {number} */ u1, /** @type {number} */ u2) => {
    const p = ((u1 - u0) * (y2 - y0) - (u2 - u0) * (y1 - y0)) / det;
    const q = ((x1 - x0) * (u2 - u0) - (x2 - x0) * (u1 - u0)) / det;
    return [p, q, u0 - p * x0 - q * y0];
  };
  const [a, c, e] = solve(d[0][0], d[1][0], d[2][0]);
  const [b, dd, f] = solve(d[0][1], d[1][1], d[2][1]);
  return [a, b, c, dd, e, f];
}

/**
 * The triangles that draw an image of `width` × `height` pixels warped by the homography `h`:
 * an n × n grid of cells, two triangles each, every one with its source and destination corners
 * and the affine transform between them (a canvas draws each clipped to its destination).
 * @param {number} width @param {number} height @param {number[]} h @param {number} [n]
 */
export function warpTriangles(width, height, h, n = 8) {
  const out = [];
  for (let j = 0; j < n; ++j) {
    for (let i = 0; i < n; ++i) {
      const u0 = (i * width) / n, u1 = ((i + 1) * width) / n, v0 = (j * height) / n, v1 = ((j + 1) * height) / n;
      const quad = [[u0, v0], [u1, v0], [u1, v1], [u0, v1]];
      const to = quad.map(([x, y]) => applyHomography(h, x, y));
      for (const [a, b, c] of [[0, 1, 2], [0, 2, 3]]) {
        const src = [quad[a], quad[b], quad[c]];
        const dst = [to[a], to[b], to[c]];
        const m = affine(src, dst);
        if (m) out.push({ src, dst, transform: m });
      }
    }
  }
  return out;
}

/**
 * A triangle grown by `px` pixels away from its centroid (so that neighbours overlap and no
 * hairline seam shows between them).
 * @param {number[][]} t @param {number} px
 */
export function grow(t, px) {
  const cx = (t[0][0] + t[1][0] + t[2][0]) / 3;
  const cy = (t[0][1] + t[1][1] + t[2][1]) / 3;
  return t.map(([x, y]) => {
    const d = Math.hypot(x - cx, y - cy) || 1;
    return [x + ((x - cx) / d) * px, y + ((y - cy) / d) * px];
  });
}

/**
 * Where the swipe splits a frame `width` pixels wide at `percent` (0–100): before is drawn left
 * of it, after right of it.
 * @param {number} percent @param {number} width
 */
export function swipeSplit(percent, width) {
  const p = Number.isFinite(percent) ? Math.max(0, Math.min(100, percent)) : 50;
  return Math.round((p / 100) * width);
}

/**
 * The swipe's value in words, for screen readers.
 * @param {number} percent
 */
export function swipeText(percent) {
  const p = Math.round(Math.max(0, Math.min(100, percent)));
  if (p === 0) return 'After only';
  if (p === 100) return 'Before only';
  return `Before on the left ${p} %, after on the right ${100 - p} %`;
}

/**
 * A comparison's or a match's state in words, and whether to ask again.
 * @param {{kind?: string, state?: string, progress?: number, last_error?: string | null, attempts?: number} | null} task
 */
export function taskStatus(task) {
  if (!task) return { text: 'Starting…', busy: true };
  const p = typeof task.progress === 'number' ? task.progress : 0;
  switch (task.state) {
    case 'queued':
      return { text: 'Queued: waiting for a worker…', busy: true };
    case 'running':
      return { text: `Running: ${p} % done…`, busy: true };
    case 'done':
      return { text: 'Done.', busy: false };
    case 'failed':
      return {
        text: `Failed: ${task.last_error ?? 'no reason given'}. ${
          task.kind === 'match'
            ? 'Choose another image of the place (or another frame), then match again.'
            : 'Choose two images that show the same area with enough overlap (or another pair), then compare again.'
        }`,
        busy: false,
      };
    default:
      return { text: `State ${task.state ?? 'unknown'}.`, busy: false };
  }
}

/**
 * How long to wait before asking about a task again: 1 s at first, slower after a minute.
 * @param {number} asked how many times it was asked already
 */
export function pollDelay(asked) {
  return asked < 60 ? 1000 : asked < 120 ? 3000 : 10000;
}

/**
 * The label of an image in a list or a choice.
 * @param {{id: number, source?: string, captured_at?: string, original_filename?: string}} i
 */
export function imageryLabel(i) {
  const day = i.captured_at ? i.captured_at.slice(0, 16).replace('T', ' ') + ' UTC' : 'unknown time';
  return `#${i.id} ${i.source ?? ''}, ${day}${i.original_filename ? ` (${i.original_filename})` : ''}`.replace(/\s+,/, ',');
}

/**
 * A bbox parameter of the square `km` kilometres either side of a point: the imagery that may
 * show a place.
 * @param {number} lat @param {number} lon @param {number} km
 */
export function bboxAround(lat, lon, km) {
  const dLat = km / 111.32;
  const dLon = km / (111.32 * Math.max(0.01, Math.cos((lat * Math.PI) / 180)));
  return bboxText(lon - dLon, lat - dLat, lon + dLon, lat + dLat);
}

/**
 * Where a submission was taken, best known first: the analysts' geolocation, the video's GPS,
 * the submitter's claimed point (GET /submissions/{id}/geolocation); null when none is known.
 * @param {{current?: {lat: number, lon: number} | null, hints?: {metadata_gps?: {lat?: number, lon?: number}, claimed?: {lat?: number, lon?: number}}} | null} geo
 * @returns {{lat: number, lon: number, from: string} | null}
 */
export function submissionPlace(geo) {
  const h = geo?.hints ?? {};
  /** @type {[{lat?: number, lon?: number} | null | undefined, string][]} */
  const known = [
    [geo?.current, "the analysts' geolocation"],
    [h.metadata_gps, "the video's GPS"],
    [h.claimed, 'the claimed point'],
  ];
  for (const [p, from] of known) {
    if (p && Number.isFinite(p.lat) && Number.isFinite(p.lon)) return { lat: Number(p.lat), lon: Number(p.lon), from };
  }
  return null;
}

/**
 * The images ordered by how close their capture is to `iso` (the footage's time), nearest
 * first; as they are when the time is not known.
 * @template {{captured_at?: string}} T
 * @param {T[]} items @param {string | null | undefined} iso
 * @returns {T[]}
 */
export function nearestInTime(items, iso) {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t)) return [...items];
  const d = (/** @type {T} */ i) => {
    const c = Date.parse(i.captured_at ?? '');
    return Number.isFinite(c) ? Math.abs(c - t) : Infinity;
  };
  return [...items].sort((a, b) => d(a) - d(b));
}

/**
 * A finished match's result in words, with what to do when it found nothing.
 * @param {{matched?: boolean, centre?: {lat?: number, lon?: number}, confidence?: number, inliers?: number, reason?: string} | null | undefined} r
 */
export function matchSummary(r) {
  if (!r) return 'No result.';
  if (!r.matched) {
    return `Not matched: ${r.reason ?? 'no reliable match'}. Try an image that shows the place from above with more overlap, another frame, or place tie points (POST …/frames/{n}/match with tie_points).`;
  }
  const f = (/** @type {unknown} */ v, /** @type {number} */ n) => (typeof v === 'number' ? v.toFixed(n) : '—');
  return `Matched: the frame's centre is at ${f(r.centre?.lat, 5)}, ${f(r.centre?.lon, 5)} (confidence ${f(r.confidence, 2)}, ${r.inliers ?? '—'} inliers); its footprint is dashed on the map.`;
}
