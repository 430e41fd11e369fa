// The map: the server's offline base map (style, vector tiles and glyphs from /api/v1/map and
// /api/v1/tiles, every request carrying the token); observations from the observation tiles with
// the list's filters in the tile URL, coloured by movement and sized by vehicles (grouped cells
// below zoom 9); convoy tracks with direction arrows; imagery footprints; a time slider over
// from/to; click → the observation or the convoy (a cell zooms in); the view in the URL; export of the view.
import 'maplibre-gl/dist/maplibre-gl.css';
import maplibregl from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { onEvent } from '../events';
import { api, getToken, Me, request } from '../api';
import { ErrorBox, Link, navigate, saveBlob } from '../ui';
import { addDays, convoyTileUrl, daysBetween, formatDay, observationTileUrl, parseDay, sliderState, TILE_FILTERS, withDay, withView } from '../lib/timeline.js';
import { bearing, bounds, compass, sunLines, tipOffset } from '../lib/geo.js';
import { bboxParam, collectPages, EXPORT_CAP, EXPORT_FORMATS, EXPORT_PAGE, exportFileName, toCSV, toGeoJSON, toKML } from '../lib/export.js';
import { aggregateQueries, NO_SHADE, shadeClasses, shadeExpression, vehiclesByOblast } from '../lib/oblasts.js';
import { obsQuery, ObservationFilters } from './observations';

export const STYLE_URL = '/api/v1/map/style.json';

type ExportFormat = keyof typeof EXPORT_FORMATS;

const MOVEMENT_COLOURS: Record<string, string> = {
  toward: '#d62828',
  away: '#2a9d8f',
  parallel: '#f4a261',
  stationary: '#6c757d',
  unknown: '#9d4edd',
};

// A blank style: what the map shows when the server has no base map.
const BLANK_STYLE: maplibregl.StyleSpecification = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#e9ecef' } }],
};

function absolute(url: string) {
  return new URL(url, location.origin).href;
}

// The server's style, with its relative URLs made absolute (MapLibre needs them so).
async function loadStyle(): Promise<{ style: maplibregl.StyleSpecification | string; problem: string | null }> {
  try {
    const res = await request(STYLE_URL);
    const style = (await res.json()) as any;
    if (typeof style.glyphs === 'string') style.glyphs = absolute(style.glyphs).replace(/%7B/g, '{').replace(/%7D/g, '}');
    if (typeof style.sprite === 'string') style.sprite = absolute(style.sprite);
    for (const src of Object.values<any>(style.sources ?? {})) {
      if (typeof src.url === 'string') src.url = absolute(src.url);
      if (Array.isArray(src.tiles)) src.tiles = src.tiles.map((t: string) => absolute(t).replace(/%7B/g, '{').replace(/%7D/g, '}'));
      if (typeof src.data === 'string') src.data = absolute(src.data);
    }
    return { style, problem: null };
  } catch (e) {
    const status = (e as any)?.status;
    return {
      style: BLANK_STYLE,
      problem:
        status === 404
          ? 'This server has no base map yet (GET /api/v1/map/style.json answered 404): update the server to a version that serves vector tiles. Observations are shown on a blank background meanwhile.'
          : `The base map could not be loaded (${(e as Error).message}) Observations are shown on a blank background; reload the page to try again.`,
    };
  }
}

// Movement colours of the observations and of the convoy tracks (direction).
const MOVEMENT_PAINT = ['match', ['get', 'movement'], ...Object.entries(MOVEMENT_COLOURS).flat(), MOVEMENT_COLOURS.unknown];
const DIRECTION_PAINT = ['match', ['get', 'direction'], 'toward', MOVEMENT_COLOURS.toward, 'away', MOVEMENT_COLOURS.away, MOVEMENT_COLOURS.parallel];

// The layers this screen draws from the data tiles, in the order they are drawn; the first three
// answer clicks (most specific first).
const CLICKABLE = ['observation-points', 'observation-cells', 'convoy-lines', 'imagery-fill'];

// The imagery footprints, from the `imagery` vector tiles (the map and the imagery screen).
function imagerySource(origin: string): maplibregl.VectorSourceSpecification {
  return { type: 'vector', tiles: [`${origin}/api/v1/tiles/imagery/{z}/{x}/{y}.mvt`], maxzoom: 14 };
}
const IMAGERY_LAYERS: maplibregl.LayerSpecification[] = [
  { id: 'imagery-fill', type: 'fill', source: 'imagery', 'source-layer': 'imagery', paint: { 'fill-color': '#6a4c93', 'fill-opacity': 0.12 } },
  { id: 'imagery-outline', type: 'line', source: 'imagery', 'source-layer': 'imagery', paint: { 'line-color': '#6a4c93', 'line-width': 1.5 } },
];

// The server's own observation layers (unfiltered) give way to the screen's filtered ones.
function withDataLayers(style: maplibregl.StyleSpecification, query: URLSearchParams, hasGlyphs: boolean) {
  const origin = location.origin;
  const s = { ...style, sources: { ...style.sources }, layers: style.layers.filter((l: any) => l.source !== 'observation-tiles') };
  delete (s.sources as any)['observation-tiles'];
  s.sources.imagery = imagerySource(origin);
  s.sources.convoys = { type: 'vector', tiles: [convoyTileUrl(origin, query, Date.now())], maxzoom: 14 };
  s.sources.observations = { type: 'vector', tiles: [observationTileUrl(origin, query)], maxzoom: 16 };
  const layers: any[] = [
    ...IMAGERY_LAYERS,
    {
      id: 'convoy-lines',
      type: 'line',
      source: 'convoys',
      'source-layer': 'convoys',
      layout: { 'line-join': 'round', 'line-cap': 'round' },
      paint: { 'line-color': DIRECTION_PAINT, 'line-width': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'vehicles'], 1]], 1, 2, 10, 6] },
    },
    {
      id: 'convoy-arrows',
      type: 'symbol',
      source: 'convoys',
      'source-layer': 'convoys',
      layout: {
        'symbol-placement': 'line',
        'symbol-spacing': 60,
        'icon-image': 'cw-arrow',
        'icon-size': 0.8,
        'icon-allow-overlap': true,
        'icon-rotation-alignment': 'map',
      },
      paint: { 'icon-color': DIRECTION_PAINT },
    },
    {
      id: 'observation-cells',
      type: 'circle',
      source: 'observations',
      'source-layer': 'observations',
      filter: ['has', 'count'],
      paint: {
        'circle-color': '#1f5f8b',
        'circle-opacity': 0.75,
        'circle-stroke-color': '#fff',
        'circle-stroke-width': 1,
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'vehicles'], ['get', 'count']]], 1, 7, 10, 16, 100, 28],
      },
    },
    {
      id: 'observation-points',
      type: 'circle',
      source: 'observations',
      'source-layer': 'observations',
      filter: ['!', ['has', 'count']],
      paint: {
        'circle-color': MOVEMENT_PAINT,
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'vehicles'], 1]], 1, 5, 10, 18],
        'circle-stroke-color': ['match', ['get', 'status'], 'verified', '#1b4332', '#ffffff'],
        'circle-stroke-width': ['match', ['get', 'status'], 'verified', 2, 1],
        'circle-opacity': 0.85,
      },
    },
  ];
  if (hasGlyphs) {
    layers.push({
      id: 'observation-cell-counts',
      type: 'symbol',
      source: 'observations',
      'source-layer': 'observations',
      filter: ['has', 'count'],
      layout: { 'text-field': ['to-string', ['get', 'count']], 'text-font': ['Noto Sans Bold'], 'text-size': 10, 'text-allow-overlap': true },
      paint: { 'text-color': '#ffffff' },
    });
  }
  s.layers = [...s.layers, ...layers];
  return s;
}

// The convoy arrow, drawn here (no sprite needed): white, pointing along the line, tinted by
// the layer (sdf).
function arrowImage() {
  const size = 24;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.beginPath();
  ctx.moveTo(4, 5);
  ctx.lineTo(20, 12);
  ctx.lineTo(4, 19);
  ctx.lineTo(8, 12);
  ctx.closePath();
  ctx.fill();
  return ctx.getImageData(0, 0, size, size);
}

interface InView {
  total: number;
  cells: number;
  points: { id: number; vehicles: number; movement: string; status: string }[];
}

// What is drawn now: the observations in view (cells count theirs), for the text and the list
// beside the map (the keyboard's way to the marks).
function renderedObservations(map: maplibregl.Map): InView {
  const seen = new Set<string>();
  const out: InView = { total: 0, cells: 0, points: [] };
  for (const f of map.queryRenderedFeatures({ layers: ['observation-points', 'observation-cells'] })) {
    const p = f.properties ?? {};
    if (p.count !== undefined) {
      const key = `c${JSON.stringify((f.geometry as any).coordinates)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.cells += 1;
      out.total += Number(p.count);
    } else {
      const id = Number(f.id ?? p.id);
      if (seen.has(`o${id}`)) continue;
      seen.add(`o${id}`);
      out.total += 1;
      out.points.push({ id, vehicles: Number(p.vehicles ?? 1), movement: String(p.movement ?? 'unknown'), status: String(p.status ?? '') });
    }
  }
  out.points.sort((a, b) => a.id - b.id);
  return out;
}

const NON_TIME = TILE_FILTERS.filter((k) => k !== 'from' && k !== 'to');

// The time slider: one day per step over the days from the first observation matching the other
// filters to today; per day or cumulative; play steps a day at a time. It writes from/to in the
// query string like the filters do.
function TimeSlider({ query, base }: { query: URLSearchParams; base: string }) {
  const nonTime = NON_TIME.map((k) => `${k}=${query.get(k) ?? ''}`).join('&');
  const [first, setFirst] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const today = parseDay(formatDay(Date.now()))!;
  useEffect(() => {
    const q = new URLSearchParams();
    for (const k of NON_TIME) if (query.get(k)) q.set(k, query.get(k)!);
    q.set('limit', '1');
    api<{ items: { observed_at: string }[] }>(`/api/v1/observations?${q}`).then(
      (page) => setFirst(page.items.length ? parseDay(page.items[0].observed_at) : addDays(today, -30)),
      () => setFirst(addDays(today, -30)),
    );
  }, [nonTime]);
  const { day, mode } = sliderState(query);
  const lo = Math.min(first ?? addDays(today, -30), day ?? today);
  const hi = Math.max(today, day ?? today);
  const value = day ?? hi;
  const move = (d: number, m: 'day' | 'cumulative') => {
    const q = withDay(new URLSearchParams(location.search), Math.min(hi, Math.max(lo, d)), m);
    navigate(`${base}?${q}`, true);
  };
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      const cur = sliderState(new URLSearchParams(location.search));
      const next = cur.day === null ? lo : cur.day + 1;
      if (next > hi) {
        setPlaying(false);
        return;
      }
      move(next, cur.mode);
    }, 800);
    return () => clearInterval(timer);
  }, [playing, lo, hi]);
  const shown = day === null ? 'all time' : mode === 'day' ? formatDay(day) : `up to ${formatDay(day)}`;
  return (
    <fieldset class="timeline" data-testid="timeline">
      <legend>Time</legend>
      <label class="timeline-day">
        Day
        <input
          type="range"
          min={0}
          max={daysBetween(lo, hi)}
          step={1}
          value={daysBetween(lo, value)}
          aria-valuetext={day === null ? `All time (to ${formatDay(hi)})` : mode === 'day' ? `${formatDay(day)}, that day only` : `Up to and including ${formatDay(day)}`}
          disabled={first === null}
          onInput={(e) => move(addDays(lo, Number((e.target as HTMLInputElement).value)), mode)}
        />
      </label>
      <output aria-live="polite" data-testid="timeline-shown">
        Showing {shown}
      </output>
      <span role="radiogroup" aria-label="Time mode" class="timeline-mode">
        <label class="check">
          <input type="radio" name="time-mode" checked={mode === 'day'} onChange={() => move(value, 'day')} />
          Per day
        </label>
        <label class="check">
          <input type="radio" name="time-mode" checked={mode === 'cumulative'} onChange={() => move(value, 'cumulative')} />
          Cumulative
        </label>
      </span>
      <button type="button" aria-pressed={playing} disabled={first === null} onClick={() => setPlaying(!playing)}>
        {playing ? 'Pause' : 'Play'}
      </button>
      <button
        type="button"
        disabled={day === null}
        onClick={() => {
          setPlaying(false);
          const q = new URLSearchParams(location.search);
          q.delete('from');
          q.delete('to');
          navigate(`${base}?${q}`, true);
        }}
      >
        All time
      </button>
    </fieldset>
  );
}

// The shading's legend: the classes (vehicles per oblast over the window and filters), what is
// counted, the oblasts as a table for those who cannot tell the colours apart; progress and
// errors where the shading is.
function ShadeLegend(props: {
  busy: boolean;
  error: unknown;
  onRetry: () => void;
  shading: { byOblast: Record<string, number>; classes: ReturnType<typeof shadeClasses> } | null;
  hasOblasts: boolean;
  query: URLSearchParams;
}) {
  const { busy, error, shading, query } = props;
  const from = query.get('from');
  const to = query.get('to');
  const span = from || to ? `${from ? `from ${from}` : 'up to'} ${to ? `${from ? 'to ' : ''}${to} (exclusive)` : 'to now'}` : 'all time';
  const status = query.get('status') ?? 'all but rejected';
  const rows = Object.entries(shading?.byOblast ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return (
    <div class="shade-legend" data-testid="shade-legend">
      {!props.hasOblasts && (
        <p class="warning" role="status">
          This base map has no oblasts to shade (no `base` source with an `oblasts` layer); update the server's map.
        </p>
      )}
      {busy && (
        <p aria-busy="true" role="status">
          Counting vehicles per oblast…
        </p>
      )}
      <ErrorBox error={error} onRetry={props.onRetry} />
      {shading && !busy && (
        <>
          <p>
            Vehicles per oblast, {span} UTC, {status} observations{rows.length === 0 ? ': none, so nothing is shaded.' : ':'}
          </p>
          {shading.classes.length > 0 && (
            <ul class="legend shade-classes" aria-label="Shading legend">
              {shading.classes.map((c) => (
                <li key={c.index}>
                  <span class={`swatch shade-${c.index}`} aria-hidden="true" /> {c.from === c.to ? c.from : `${c.from}–${c.to}`} vehicles
                </li>
              ))}
            </ul>
          )}
          {rows.length > 0 && (
            <details>
              <summary>Oblasts by vehicles</summary>
              <table class="list" aria-label="Oblasts by vehicles">
                <thead>
                  <tr>
                    <th scope="col">Oblast</th>
                    <th scope="col">Vehicles</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map(([iso, n]) => (
                    <tr key={iso}>
                      <td>{iso}</td>
                      <td>{n}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          )}
        </>
      )}
    </div>
  );
}

export function MapView({ query }: { me: Me; query: URLSearchParams }) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<maplibregl.Map | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [tileProblem, setTileProblem] = useState<string | null>(null);
  const [dataError, setDataError] = useState<string | null>(null);
  const [inView, setInView] = useState<InView | null>(null);
  const [selected, setSelected] = useState<{ kind: 'imagery'; props: any } | null>(null);
  const [picked, setPicked] = useState<{ lat: number; lon: number } | null>(null);
  const [ready, setReady] = useState(false);
  const obsUrl = observationTileUrl(location.origin, query);
  const convoyWindow = convoyKey(query);

  useEffect(() => {
    let map: maplibregl.Map | null = null;
    let cancelled = false;
    void loadStyle().then(({ style, problem }) => {
      if (cancelled || !container.current) return;
      setProblem(problem);
      const q = new URLSearchParams(location.search);
      const base = typeof style === 'string' ? BLANK_STYLE : style;
      try {
        map = new maplibregl.Map({
          container: container.current,
          style: withDataLayers(base, q, !!base.glyphs),
          center: [Number(q.get('lon') ?? 37.5), Number(q.get('lat') ?? 50.6)],
          zoom: Number(q.get('z') ?? 5),
          attributionControl: false,
          transformRequest: (url) => {
            if (url.startsWith(location.origin)) return { url, headers: { Authorization: `Bearer ${getToken() ?? ''}` } };
            return { url };
          },
        });
      } catch (e) {
        setProblem(`The map cannot start in this browser (${(e as Error).message}). It needs WebGL; enable hardware acceleration or use another browser.`);
        return;
      }
      mapRef.current = map;
      (window as any).cwMap = map;
      map.addControl(new maplibregl.NavigationControl(), 'top-right');
      map.addControl(new maplibregl.ScaleControl({}), 'bottom-left');
      map.on('styleimagemissing', (e) => {
        if (e.id === 'cw-arrow' && !map!.hasImage('cw-arrow')) map!.addImage('cw-arrow', arrowImage(), { sdf: true });
      });
      map.on('error', (e) => {
        const msg = (e as any)?.error?.message ?? 'a map resource failed to load';
        setTileProblem(`Part of the map failed to load (${msg}). Pan or reload to retry.`);
      });
      map.on('click', (e) => {
        const hit = map!.queryRenderedFeatures(e.point, { layers: CLICKABLE });
        const f = CLICKABLE.map((l) => hit.find((h) => h.layer.id === l)).find((h) => h);
        if (!f) {
          setSelected(null);
          setPicked({ lat: Number(e.lngLat.lat.toFixed(6)), lon: Number(e.lngLat.lng.toFixed(6)) });
          return;
        }
        const p = f.properties ?? {};
        if (f.layer.id === 'observation-points') {
          navigate(`/observations/${Number(f.id ?? p.id)}`);
        } else if (f.layer.id === 'convoy-lines') {
          navigate(`/convoys/${Number(f.id ?? p.id)}`);
        } else if (f.layer.id === 'observation-cells') {
          map!.easeTo({ center: e.lngLat, zoom: Math.min(map!.getZoom() + 3, 16) });
        } else {
          setPicked(null);
          setSelected({ kind: 'imagery', props: p });
        }
      });
      for (const l of CLICKABLE) {
        map.on('mouseenter', l, () => (map!.getCanvas().style.cursor = 'pointer'));
        map.on('mouseleave', l, () => (map!.getCanvas().style.cursor = ''));
      }
      map.on('moveend', () => {
        if (location.pathname !== '/map') return;
        const c = map!.getCenter();
        const q = withView(new URLSearchParams(location.search), { lat: c.lat, lon: c.lng, zoom: map!.getZoom() });
        if (`?${q}` !== location.search) navigate(`/map?${q}`, true);
      });
      map.on('idle', () => {
        setInView(renderedObservations(map!));
        document.body.setAttribute('data-map-idle', String(Date.now()));
      });
      map.on('load', () => setReady(true));
    });
    return () => {
      cancelled = true;
      map?.remove();
      mapRef.current = null;
      (window as any).cwMap = undefined;
    };
  }, []);

  // The filters and the time slider change the tiles' URLs (and so what is drawn).
  // Only a changed URL is set: setting the same one loads nothing, and no `idle` would follow.
  const applied = useRef<{ obs: string; convoys: string } | null>(null);
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map) return;
    if (applied.current === null) {
      applied.current = { obs: obsUrl, convoys: convoyWindow }; // what the map was made with
      return;
    }
    if (applied.current.obs === obsUrl && applied.current.convoys === convoyWindow) return;
    document.body.removeAttribute('data-map-idle');
    if (applied.current.obs !== obsUrl) (map.getSource('observations') as maplibregl.VectorTileSource | undefined)?.setTiles([obsUrl]);
    if (applied.current.convoys !== convoyWindow) {
      (map.getSource('convoys') as maplibregl.VectorTileSource | undefined)?.setTiles([convoyTileUrl(location.origin, query, Date.now())]);
    }
    applied.current = { obs: obsUrl, convoys: convoyWindow };
  }, [ready, obsUrl, convoyWindow]);

  // Back and forward (and shared links) move the view.
  const lat = query.get('lat'), lon = query.get('lon'), z = query.get('z');
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map || lat === null || lon === null) return;
    const c = map.getCenter();
    const want = { lat: Number(lat), lon: Number(lon), zoom: Number(z ?? map.getZoom()) };
    if (![want.lat, want.lon, want.zoom].every(Number.isFinite)) return;
    if (Math.abs(c.lat - want.lat) > 1e-3 || Math.abs(c.lng - want.lon) > 1e-3 || Math.abs(map.getZoom() - want.zoom) > 0.01) {
      map.jumpTo({ center: [want.lon, want.lat], zoom: want.zoom });
    }
  }, [ready, lat, lon, z]);

  // New or changed observations: the observation and convoy tiles are fetched again.
  useEffect(
    () =>
      onEvent((e) => {
        const map = mapRef.current;
        if (!ready || !map || !e.type.startsWith('observation.')) return;
        (map.getSource('observations') as maplibregl.VectorTileSource | undefined)?.setTiles([observationTileUrl(location.origin, new URLSearchParams(location.search))]);
        (map.getSource('convoys') as maplibregl.VectorTileSource | undefined)?.setTiles([convoyTileUrl(location.origin, new URLSearchParams(location.search), Date.now())]);
      }),
    [ready],
  );

  // Oblasts shaded by vehicles: the aggregates per oblast over the map's filters (from/to and the
  // others), as a fill on the base map's oblasts under the data layers; on request (shade=1 in
  // the query, so links and reloads keep it).
  const shade = query.get('shade') === '1';
  const aggKey = aggregateQueries(query).join('|');
  const [shading, setShading] = useState<{ byOblast: Record<string, number>; classes: ReturnType<typeof shadeClasses> } | null>(null);
  const [shadeBusy, setShadeBusy] = useState(false);
  const [shadeError, setShadeError] = useState<unknown>(null);
  const [shadeTry, setShadeTry] = useState(0);
  useEffect(() => {
    if (!shade) return;
    let live = true;
    setShadeBusy(true);
    setShadeError(null);
    Promise.all(aggKey.split('|').map((q) => api<{ rows: { oblast?: string | null; vehicles: number }[] }>(`/api/v1/aggregates/observations${q}`))).then(
      (answers) => {
        if (!live) return;
        const byOblast = vehiclesByOblast(answers.map((a) => a.rows));
        setShading({ byOblast, classes: shadeClasses(Math.max(0, ...Object.values(byOblast))) });
        setShadeBusy(false);
      },
      (e) => {
        if (!live) return;
        setShadeError(e);
        setShadeBusy(false);
      },
    );
    return () => {
      live = false;
    };
  }, [shade, aggKey, shadeTry]);
  const hasOblasts = ready && !!mapRef.current?.getSource('base');
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map || !map.getSource('base')) return;
    if (!map.getLayer('oblast-shade')) {
      if (!shade) return;
      const before = ['oblasts-outline', 'imagery-fill'].find((l) => map.getLayer(l));
      map.addLayer(
        { id: 'oblast-shade', type: 'fill', source: 'base', 'source-layer': 'oblasts', paint: { 'fill-color': NO_SHADE, 'fill-opacity': 0.6 } },
        before,
      );
    }
    map.setLayoutProperty('oblast-shade', 'visibility', shade ? 'visible' : 'none');
    if (shading) map.setPaintProperty('oblast-shade', 'fill-color', shadeExpression(shading.byOblast, shading.classes) as any);
  }, [ready, shade, shading]);

  // Export the view: the observations in the map's bounds with the filters, page by page (500 at
  // a time, up to EXPORT_CAP), converted here (lib/export.js) and downloaded; progress shown, and
  // it can be cancelled.
  const [exporting, setExporting] = useState<{ format: ExportFormat; fetched: number } | null>(null);
  const [exportDone, setExportDone] = useState<string | null>(null);
  const exportAbort = useRef<AbortController | null>(null);
  useEffect(() => () => exportAbort.current?.abort(), []);
  async function exportView(format: ExportFormat) {
    const map = mapRef.current;
    if (!map || exporting) return;
    const b = map.getBounds();
    const bbox = bboxParam(b.getWest(), b.getSouth(), b.getEast(), b.getNorth());
    const ctl = new AbortController();
    exportAbort.current = ctl;
    setDataError(null);
    setExportDone(null);
    setExporting({ format, fetched: 0 });
    try {
      const { items, capped } = await collectPages(
        (cursor) => api<{ items: any[]; next_cursor: string | null }>(`/api/v1/observations${obsQuery(query, { bbox, limit: EXPORT_PAGE, cursor })}`, { signal: ctl.signal }),
        { cap: EXPORT_CAP, signal: ctl.signal, onProgress: (n) => setExporting({ format, fetched: n }) },
      );
      const text = format === 'geojson' ? toGeoJSON(items) : format === 'kml' ? toKML(items) : toCSV(items);
      const name = exportFileName(format, Date.now());
      saveBlob(new Blob([text], { type: EXPORT_FORMATS[format].type }), name);
      setExportDone(
        capped
          ? `Only the first ${EXPORT_CAP.toLocaleString('en')} observations in view were exported to ${name} (the most one export takes). Zoom in or narrow the filters, and export each part.`
          : `Exported ${items.length.toLocaleString('en')} observation${items.length === 1 ? '' : 's'} in view to ${name}.`,
      );
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') setExportDone('The export was cancelled; nothing was downloaded.');
      else setDataError(`The export failed: ${(e as Error).message}`);
    } finally {
      setExporting(null);
      exportAbort.current = null;
    }
  }

  const listQuery = new URLSearchParams(query);
  for (const k of ['lat', 'lon', 'z']) listQuery.delete(k);
  return (
    <section class="map-page">
      <h1>Map</h1>
      <ObservationFilters query={query} base="/map" />
      <TimeSlider query={query} base="/map" />
      <div class="map-tools">
        <span aria-live="polite" data-testid="map-count">
          {inView === null ? 'Loading observations…' : `${inView.total} observations in view`}
        </span>
        {(['geojson', 'kml', 'csv'] as const).map((f) => (
          <button key={f} type="button" onClick={() => exportView(f)} disabled={!ready || exporting !== null}>
            Export {EXPORT_FORMATS[f].label}
          </button>
        ))}
        <span class="legend">
          <span>Movement:</span>
          {Object.entries(MOVEMENT_COLOURS).map(([k, c]) => (
            <span key={k} class={`swatch move-${k}`} data-colour={c}>
              {k}
            </span>
          ))}
        </span>
        <label class="check">
          <input
            type="checkbox"
            checked={shade}
            onChange={(e) => {
              const q = new URLSearchParams(location.search);
              if ((e.target as HTMLInputElement).checked) q.set('shade', '1');
              else q.delete('shade');
              navigate(`/map?${q}`, true);
            }}
          />
          Shade oblasts by vehicles
        </label>
      </div>
      {shade && (
        <ShadeLegend
          busy={shadeBusy}
          error={shadeError}
          onRetry={() => setShadeTry((n) => n + 1)}
          shading={shading}
          hasOblasts={hasOblasts || !ready}
          query={query}
        />
      )}
      {problem && (
        <p class="warning" role="status" data-testid="map-problem">
          {problem}
        </p>
      )}
      {tileProblem && !problem && (
        <p class="warning" role="status">
          {tileProblem}
        </p>
      )}
      {exporting && (
        <p class="export-progress" role="status" data-testid="export-progress">
          <progress max={EXPORT_CAP} value={exporting.fetched} aria-label="Export progress" /> Fetched {exporting.fetched.toLocaleString('en')} observations
          for the {EXPORT_FORMATS[exporting.format].label} export…{' '}
          <button type="button" onClick={() => exportAbort.current?.abort()}>
            Cancel the export
          </button>
        </p>
      )}
      {exportDone && (
        <p role="status" class={exportDone.startsWith('Only') ? 'warning' : 'hint'} data-testid="export-done">
          {exportDone}
        </p>
      )}
      {dataError && (
        <p class="error" role="alert">
          {dataError}
        </p>
      )}
      <div class="map-wrap">
        <div ref={container} class="map" role="region" aria-label="Map of observations" data-testid="map" />
        {selected && (
          <aside class="map-panel" aria-label="Selected imagery">
            <p>
              Imagery #{selected.props.id}
              {selected.props.source ? `, ${selected.props.source}` : ''}
            </p>
            <p>
              {selected.props.captured_at ? `captured ${new Date(Number(selected.props.captured_at) * 1000).toISOString().slice(0, 10)}` : ''}
              {selected.props.ground_resolution_m ? `, ${selected.props.ground_resolution_m} m per pixel` : ''}
            </p>
            <button type="button" onClick={() => setSelected(null)}>
              Close
            </button>
          </aside>
        )}
        {picked && !selected && (
          <aside class="map-panel" aria-label="Picked point">
            <p>
              {picked.lat}, {picked.lon}
            </p>
            <Link class="button" href={`/observations/new?lat=${picked.lat}&lon=${picked.lon}`}>
              New observation here
            </Link>{' '}
            <button type="button" onClick={() => setPicked(null)}>
              Close
            </button>
          </aside>
        )}
      </div>
      <section class="in-view" aria-labelledby="in-view-title">
        <h2 id="in-view-title">Observations in view</h2>
        {inView && inView.cells > 0 && <p>Zoom in (to level 9 or more) to list single observations; grouped cells are shown below that.</p>}
        <ul>
          {(inView?.points ?? []).slice(0, 200).map((o) => (
            <li key={o.id} data-testid="in-view" data-id={o.id}>
              <Link href={`/observations/${o.id}`}>Observation #{o.id}</Link>: {o.vehicles} vehicles, {o.movement}
              {o.status ? `, ${o.status}` : ''}
            </li>
          ))}
        </ul>
        <p>
          <Link href={`/observations${obsQuery(listQuery)}`}>These filters as a list</Link>
        </p>
      </section>
    </section>
  );
}

// The parts of the query the convoy tiles depend on (their window moves with the clock only when
// `to` is unset, and then the URL is rebuilt when the filters change).
function convoyKey(query: URLSearchParams) {
  return ['from', 'to', 'status'].map((k) => `${k}=${query.get(k) ?? ''}`).join('&');
}

// A small map to place a point: click or drag the pin. Used by the observation editor and the
// geolocation form; the hints (GPS, claimed point, places) are drawn as grey dots. With
// `onHeading` (the observation editor) an arrow leaves the pin along `heading`: dragging its tip
// with the mouse sets the heading (the bearing from the pin to the tip, lib/geo.js); the form's
// number input is the keyboard's way to the same value.
const TIP_PX = 72;

function tipElement() {
  const el = document.createElement('div');
  el.className = 'heading-tip';
  el.setAttribute('role', 'img');
  el.title = 'Drag to set the heading';
  el.innerHTML =
    '<svg viewBox="0 0 28 28" width="28" height="28" aria-hidden="true"><path d="M14 2 L25 24 L14 18 L3 24 Z" fill="#1d3557" stroke="#fff" stroke-width="2" stroke-linejoin="round"/></svg>';
  return el;
}

export function PinMap(props: {
  lat: number | null;
  lon: number | null;
  hints?: { lat: number; lon: number; label: string }[];
  label: string;
  onChange: (lat: number, lon: number) => void;
  heading?: number | null;
  onHeading?: (deg: number) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<maplibregl.Map | null>(null);
  const markerRef = useRef<maplibregl.Marker | null>(null);
  const tipRef = useRef<maplibregl.Marker | null>(null);
  const placeTip = useRef<() => void>(() => {});
  const dragging = useRef(false);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const onHeading = useRef(props.onHeading);
  onHeading.current = props.onHeading;
  const heading = useRef<number | null>(null);
  heading.current = typeof props.heading === 'number' && Number.isFinite(props.heading) ? props.heading : null;
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let map: maplibregl.Map | null = null;
    let cancelled = false;
    void loadStyle().then(({ style, problem }) => {
      if (cancelled || !container.current) return;
      setProblem(problem);
      try {
        map = new maplibregl.Map({
          container: container.current,
          style,
          center: [props.lon ?? 37.5, props.lat ?? 50.6],
          zoom: props.lat !== null ? 9 : 5,
          attributionControl: false,
          locale: { 'Map.Title': `${props.label} (canvas)` }, // distinct landmarks when a page has two maps
          transformRequest: (url) =>
            url.startsWith(location.origin) ? { url, headers: { Authorization: `Bearer ${getToken() ?? ''}` } } : { url },
        });
      } catch (e) {
        setProblem(`The map cannot start in this browser (${(e as Error).message}); type the coordinates instead.`);
        return;
      }
      mapRef.current = map;
      const m = map;
      m.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
      const marker = new maplibregl.Marker({ draggable: true, color: '#d62828' });
      marker.on('dragend', () => {
        const p = marker.getLngLat();
        onChange.current(Number(p.lat.toFixed(6)), Number(p.lng.toFixed(6)));
      });
      markerRef.current = marker;
      if (props.lat !== null && props.lon !== null) marker.setLngLat([props.lon, props.lat]).addTo(m);

      // The heading arrow: a shaft from the pin and a draggable tip, TIP_PX pixels long at any zoom.
      let tip: maplibregl.Marker | null = null;
      if (onHeading.current) {
        const el = tipElement();
        tip = new maplibregl.Marker({ element: el, draggable: true, rotationAlignment: 'map', anchor: 'center' });
        tipRef.current = tip;
        const shaft = (to: maplibregl.LngLat | null) => {
          const src = m.getSource('heading') as maplibregl.GeoJSONSource | undefined;
          const from = marker.getLngLat();
          src?.setData({
            type: 'FeatureCollection',
            features: to && from ? [{ type: 'Feature', properties: { set: heading.current !== null }, geometry: { type: 'LineString', coordinates: [[from.lng, from.lat], [to.lng, to.lat]] } }] : [],
          });
        };
        placeTip.current = () => {
          if (dragging.current) return;
          if (!marker.getLngLat() || !(marker as any)._map) {
            tip!.remove();
            shaft(null);
            return;
          }
          const h = heading.current;
          const p = m.project(marker.getLngLat());
          const [dx, dy] = tipOffset(h ?? 0, m.getBearing(), TIP_PX);
          const at = m.unproject([p.x + dx, p.y + dy]);
          tip!.setLngLat(at).setRotation(h ?? 0).addTo(m);
          el.classList.toggle('unset', h === null);
          el.setAttribute(
            'aria-label',
            h === null ? 'Direction arrow: no heading set (drag its tip to set one)' : `Direction arrow: ${Math.round(h)}° (${compass(h)}); drag its tip to change it`,
          );
          shaft(at);
        };
        tip.on('dragstart', () => (dragging.current = true));
        tip.on('drag', () => {
          const from = marker.getLngLat();
          const to = tip!.getLngLat();
          const b = bearing(from.lat, from.lng, to.lat, to.lng);
          if (b === null) return;
          const deg = Math.round(b) % 360;
          tip!.setRotation(deg);
          shaft(to);
          onHeading.current?.(deg);
        });
        tip.on('dragend', () => {
          dragging.current = false;
          placeTip.current();
        });
        marker.on('drag', () => placeTip.current());
        m.on('move', () => placeTip.current());
      }
      m.on('click', (e) => {
        // A click on the arrow's tip is not a click on the map.
        if (tip && tip.getElement().contains(e.originalEvent.target as Node)) return;
        marker.setLngLat(e.lngLat).addTo(m);
        onChange.current(Number(e.lngLat.lat.toFixed(6)), Number(e.lngLat.lng.toFixed(6)));
        placeTip.current();
      });
      m.on('load', () => {
        m.addSource('hints', {
          type: 'geojson',
          data: {
            type: 'FeatureCollection',
            features: (props.hints ?? []).map((h) => ({ type: 'Feature', properties: { label: h.label }, geometry: { type: 'Point', coordinates: [h.lon, h.lat] } })),
          },
        });
        m.addLayer({ id: 'hints', type: 'circle', source: 'hints', paint: { 'circle-color': '#495057', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
        if (tip) {
          m.addSource('heading', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
          m.addLayer({
            id: 'heading-shaft',
            type: 'line',
            source: 'heading',
            layout: { 'line-cap': 'round' },
            paint: { 'line-color': '#1d3557', 'line-width': 3, 'line-opacity': ['case', ['get', 'set'], 1, 0.4] },
          });
        }
        placeTip.current();
      });
      (window as any).cwPinMap = m;
    });
    return () => {
      cancelled = true;
      map?.remove();
      mapRef.current = null;
      (window as any).cwPinMap = undefined;
    };
  }, []);

  // Typed coordinates move the pin (and the arrow with it).
  useEffect(() => {
    const map = mapRef.current;
    const marker = markerRef.current;
    if (!map || !marker || props.lat === null || props.lon === null) return;
    if (!Number.isFinite(props.lat) || !Number.isFinite(props.lon) || Math.abs(props.lat) > 90 || Math.abs(props.lon) > 180) return;
    marker.setLngLat([props.lon, props.lat]).addTo(map);
    placeTip.current();
  }, [props.lat, props.lon]);

  // A typed heading turns the arrow.
  useEffect(() => placeTip.current(), [props.heading]);

  return (
    <div class="pin-map">
      <div ref={container} class="map small" role="region" aria-label={props.label} />
      <p class="hint">
        Click the map or drag the pin to place it; or type the coordinates.
        {props.onHeading ? ' Drag the tip of the arrow to set the heading, or type it in degrees.' : ''}
        {problem ? ` ${problem}` : ''}
      </p>
    </div>
  );
}

// A map over the server's base map for one of the screens' small maps: the token on every
// request to this server, the convoy arrow drawn on demand, a navigation control. Throws when
// the browser cannot draw it (no WebGL).
function smallMap(container: HTMLElement, style: maplibregl.StyleSpecification | string, options: Partial<maplibregl.MapOptions> = {}) {
  const map = new maplibregl.Map({
    container,
    style,
    center: [37.5, 50.6],
    zoom: 5,
    attributionControl: false,
    transformRequest: (url) => (url.startsWith(location.origin) ? { url, headers: { Authorization: `Bearer ${getToken() ?? ''}` } } : { url }),
    ...options,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.on('styleimagemissing', (e) => {
    if (e.id === 'cw-arrow' && !map.hasImage('cw-arrow')) map.addImage('cw-arrow', arrowImage(), { sdf: true });
  });
  return map;
}

// A small map over the server's style (smallMap) in `container`: `setup` adds its sources and
// layers once it has loaded, then `ready` turns true. When the browser cannot draw it, `problem`
// says so and what to read instead (`fallback`). The map is `window[name]` for the browser story.
function useSmallMap(
  container: { current: HTMLDivElement | null },
  opts: { label: string; name: string; fallback: string; mapOptions?: Partial<maplibregl.MapOptions>; setup: (m: maplibregl.Map) => void },
) {
  const mapRef = useRef<maplibregl.Map | null>(null);
  const [ready, setReady] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let map: maplibregl.Map | null = null;
    let cancelled = false;
    void loadStyle().then(({ style, problem }) => {
      if (cancelled || !container.current) return;
      setProblem(problem);
      try {
        map = smallMap(container.current, style, { ...opts.mapOptions, locale: { 'Map.Title': `${opts.label} (canvas)` } });
      } catch (e) {
        setProblem(`The map cannot start in this browser (${(e as Error).message}); ${opts.fallback}`);
        return;
      }
      mapRef.current = map;
      map.on('load', () => {
        opts.setup(map!);
        setReady(true);
      });
      (window as any)[opts.name] = map;
    });
    return () => {
      cancelled = true;
      map?.remove();
      mapRef.current = null;
      (window as any)[opts.name] = undefined;
    };
  }, []);
  return { mapRef, ready, problem };
}

// The frame of a small map: the map's region and, under it, what went wrong.
function SmallMapFrame(props: { class: string; container: { current: HTMLDivElement | null }; label: string; testid: string; problem: string | null }) {
  return (
    <div class={props.class}>
      <div ref={props.container as any} class="map small" role="region" aria-label={props.label} data-testid={props.testid} />
      {props.problem && (
        <p class="warning" role="status">
          {props.problem}
        </p>
      )}
    </div>
  );
}

export interface TrackFeature {
  type: 'Feature';
  id: number;
  geometry: { type: 'LineString' | 'Point'; coordinates: any };
  properties: {
    id: number;
    direction: string;
    sightings: { observation_id: number; observed_at: string; lat: number; lon: number; vehicles: number }[];
    [k: string]: any;
  };
}

// A convoy's track: its line coloured by direction with arrows along it (the way it went), and
// its sightings as dots; fitted to the track. A new track (after a split or merge) is redrawn.
export function TrackMap({ track, label }: { track: TrackFeature; label: string }) {
  const container = useRef<HTMLDivElement>(null);
  const { mapRef, ready, problem } = useSmallMap(container, {
    label,
    name: 'cwTrackMap',
    fallback: 'the sightings are listed below.',
    setup: (m) => {
      m.addSource('track', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      m.addSource('sightings', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      m.addLayer({
        id: 'track-line',
        type: 'line',
        source: 'track',
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': DIRECTION_PAINT as any, 'line-width': 4 },
      });
      m.addLayer({
        id: 'track-arrows',
        type: 'symbol',
        source: 'track',
        layout: {
          'symbol-placement': 'line',
          'symbol-spacing': 50,
          'icon-image': 'cw-arrow',
          'icon-size': 1,
          'icon-allow-overlap': true,
          'icon-rotation-alignment': 'map',
        },
        paint: { 'icon-color': DIRECTION_PAINT as any, 'icon-halo-color': '#fff', 'icon-halo-width': 1 },
      });
      m.addLayer({
        id: 'track-sightings',
        type: 'circle',
        source: 'sightings',
        paint: { 'circle-color': '#1d3557', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
      });
    },
  });

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map) return;
    (map.getSource('track') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features: [track as any] });
    (map.getSource('sightings') as maplibregl.GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: track.properties.sightings.map((s) => ({
        type: 'Feature',
        properties: { observation_id: s.observation_id },
        geometry: { type: 'Point', coordinates: [s.lon, s.lat] },
      })),
    });
    const b = bounds(track.properties.sightings.map((s) => [s.lon, s.lat]));
    if (b) map.fitBounds(b, { padding: 48, maxZoom: 12, duration: 0 });
  }, [ready, track]);

  return <SmallMapFrame class="track-map" container={container} label={label} testid="track-map" problem={problem} />;
}

export const SUN_COLOUR = '#e09f00';
export const SHADOW_COLOUR = '#343a40';

// The sun at a place: a line from it toward the sun (its azimuth) and one along the shadows
// (the opposite way), each with an arrow pointing away from the place; only the place when the
// sun is below the horizon.
export function SunMap(props: { lat: number; lon: number; azimuth_deg: number; elevation_deg: number; shadow_azimuth_deg?: number | null; label: string }) {
  const container = useRef<HTMLDivElement>(null);
  const KM = 0.6;
  const { mapRef, ready, problem } = useSmallMap(container, {
    label: props.label,
    name: 'cwSunMap',
    fallback: 'the directions are given in words above.',
    mapOptions: { center: [props.lon, props.lat], zoom: 14 },
    setup: (m) => {
      m.addSource('sun', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      m.addSource('sun-place', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      const colour = ['match', ['get', 'kind'], 'sun', SUN_COLOUR, SHADOW_COLOUR] as any;
      m.addLayer({ id: 'sun-lines', type: 'line', source: 'sun', layout: { 'line-cap': 'round' }, paint: { 'line-color': colour, 'line-width': 4 } });
      m.addLayer({
        id: 'sun-arrows',
        type: 'symbol',
        source: 'sun',
        layout: { 'symbol-placement': 'line-center', 'icon-image': 'cw-arrow', 'icon-size': 1.2, 'icon-allow-overlap': true, 'icon-rotation-alignment': 'map' },
        paint: { 'icon-color': colour, 'icon-halo-color': '#fff', 'icon-halo-width': 1 },
      });
      m.addLayer({
        id: 'sun-place',
        type: 'circle',
        source: 'sun-place',
        paint: { 'circle-color': '#d62828', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 },
      });
    },
  });

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map) return;
    const lines = sunLines(props, KM);
    (map.getSource('sun') as maplibregl.GeoJSONSource).setData(lines as any);
    (map.getSource('sun-place') as maplibregl.GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [props.lon, props.lat] } }],
    });
    const b = bounds([[props.lon, props.lat], ...lines.features.flatMap((f: any) => f.geometry.coordinates)]);
    if (b && lines.features.length) map.fitBounds(b, { padding: 40, maxZoom: 16, duration: 0 });
    else map.jumpTo({ center: [props.lon, props.lat], zoom: 14 });
  }, [ready, props.lat, props.lon, props.azimuth_deg, props.elevation_deg, props.shadow_azimuth_deg]);

  return <SmallMapFrame class="sun-map" container={container} label={props.label} testid="sun-map" problem={problem} />;
}

export const BEFORE_COLOUR = '#1d70b8';
export const AFTER_COLOUR = '#d4351c';

// The imagery's map (the imagery screen's, and the submission page's for a frame match): every
// footprint from the imagery tiles, the chosen before (blue) and after (red) outlined, a frame
// match's footprint dashed, the submission's place as a dot; fitted to the listed footprints
// once, then to a match's footprint when one arrives. `onView` hears the view's bounds (the
// list's "only in the map's view" and a comparison's area). The map is `window[name]`.
export function ImageryMap(props: {
  label: string;
  name?: string;
  listed: { id: number; footprint: any }[];
  before: { id: number; footprint: any } | null;
  after: { id: number; footprint: any } | null;
  match?: any;
  place?: { lat: number; lon: number } | null;
  onView?: (bounds: [number, number, number, number]) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const onView = useRef(props.onView);
  onView.current = props.onView;
  const { mapRef, ready, problem } = useSmallMap(container, {
    label: props.label,
    name: props.name ?? 'cwImageryMap',
    fallback: 'the imagery is listed below.',
    setup: (m) => {
      m.addSource('imagery', imagerySource(location.origin));
      for (const l of IMAGERY_LAYERS) m.addLayer(l);
      m.addSource('chosen', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      m.addLayer({
        id: 'chosen-outline',
        type: 'line',
        source: 'chosen',
        filter: ['!=', ['geometry-type'], 'Point'],
        paint: { 'line-color': ['match', ['get', 'role'], 'before', BEFORE_COLOUR, 'after', AFTER_COLOUR, '#1b1f24'], 'line-width': 3, 'line-dasharray': ['match', ['get', 'role'], 'match', ['literal', [2, 1]], ['literal', [1, 0]]] as any },
      });
      m.addLayer({
        id: 'chosen-place',
        type: 'circle',
        source: 'chosen',
        filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-color': '#d62828', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 },
      });
      const report = () => {
        const b = m.getBounds();
        onView.current?.([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
      };
      m.on('moveend', report);
      report();
    },
  });

  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map) return;
    const features: any[] = [];
    if (props.before?.footprint) features.push({ type: 'Feature', properties: { role: 'before' }, geometry: props.before.footprint });
    if (props.after?.footprint) features.push({ type: 'Feature', properties: { role: 'after' }, geometry: props.after.footprint });
    if (props.match?.footprint) features.push({ type: 'Feature', properties: { role: 'match' }, geometry: props.match.footprint });
    if (props.place) features.push({ type: 'Feature', properties: { role: 'place' }, geometry: { type: 'Point', coordinates: [props.place.lon, props.place.lat] } });
    (map.getSource('chosen') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
  }, [ready, props.before, props.after, props.match, props.place?.lat, props.place?.lon]);

  useEffect(() => {
    const map = mapRef.current;
    const b = props.match?.footprint ? bounds(props.match.footprint.coordinates?.[0] ?? []) : null;
    if (ready && map && b) map.fitBounds(b, { padding: 40, maxZoom: 16, duration: 0 });
  }, [ready, props.match]);

  const fitted = useRef(false);
  useEffect(() => {
    const map = mapRef.current;
    if (!ready || !map || fitted.current || (props.listed.length === 0 && !props.place)) return;
    const b = bounds([...props.listed.flatMap((i) => i.footprint?.coordinates?.[0] ?? []), ...(props.place ? [[props.place.lon, props.place.lat]] : [])]);
    if (b) {
      map.fitBounds(b, { padding: 40, maxZoom: 15, duration: 0 });
      fitted.current = props.listed.length > 0; // the place alone: fitted again when imagery is listed
    }
  }, [ready, props.listed, props.place?.lat, props.place?.lon]);

  return <SmallMapFrame class="imagery-map" container={container} label={props.label} testid="imagery-map" problem={problem} />;
}
