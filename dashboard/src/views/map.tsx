// The map: the server's offline base map (style, vector tiles and glyphs from /api/v1/map and
// /api/v1/tiles, every request carrying the token), observations coloured by movement and sized
// by vehicles, convoy tracks, the list's filters, click → the observation, export of the view.
import 'maplibre-gl/dist/maplibre-gl.css';
import maplibregl from 'maplibre-gl';
import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, Me, request } from '../api';
import { onEvent } from '../events';
import { Link } from '../ui';
import { obsQuery, ObservationFilters } from './observations';

export const STYLE_URL = '/api/v1/map/style.json';

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

function toFeatures(fc: any) {
  return {
    type: 'FeatureCollection',
    features: (fc.features ?? []).map((f: any) => ({
      type: 'Feature',
      id: f.id,
      geometry: f.geometry,
      properties: {
        id: f.id ?? f.properties?.id,
        vehicles: f.properties?.vehicles ?? 1,
        status: f.properties?.status,
        movement: f.properties?.derived?.movement ?? 'unknown',
        observed_at: f.properties?.observed_at,
      },
    })),
  };
}

export function MapView({ query }: { me: Me; query: URLSearchParams }) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<maplibregl.Map | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [tileProblem, setTileProblem] = useState<string | null>(null);
  const [dataError, setDataError] = useState<string | null>(null);
  const [count, setCount] = useState<number | null>(null);
  const [selected, setSelected] = useState<any>(null);
  const [picked, setPicked] = useState<{ lat: number; lon: number } | null>(null);
  const [ready, setReady] = useState(false);
  const qs = query.toString();

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
          center: [Number(query.get('lon') ?? 37.5), Number(query.get('lat') ?? 50.6)],
          zoom: Number(query.get('z') ?? 5),
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
      map.on('error', (e) => {
        const msg = (e as any)?.error?.message ?? 'a map resource failed to load';
        setTileProblem(`Part of the map failed to load (${msg}). Pan or reload to retry.`);
      });
      map.on('load', () => {
        map!.addSource('observations', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
        map!.addSource('convoys', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
        map!.addLayer({ id: 'convoys', type: 'line', source: 'convoys', paint: { 'line-color': '#1d3557', 'line-width': 2, 'line-dasharray': [2, 1] } });
        map!.addLayer({
          id: 'observations',
          type: 'circle',
          source: 'observations',
          paint: {
            'circle-color': ['match', ['get', 'movement'], ...Object.entries(MOVEMENT_COLOURS).flat(), '#9d4edd'] as any,
            'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'vehicles']], 1, 5, 10, 18],
            'circle-stroke-color': '#fff',
            'circle-stroke-width': 1,
            'circle-opacity': 0.85,
          },
        });
        map!.on('click', 'observations', (e) => {
          const f = e.features?.[0];
          if (f) setSelected(f.properties);
        });
        map!.on('click', (e) => {
          if (map!.queryRenderedFeatures(e.point, { layers: ['observations'] }).length === 0) {
            setSelected(null);
            setPicked({ lat: Number(e.lngLat.lat.toFixed(6)), lon: Number(e.lngLat.lng.toFixed(6)) });
          }
        });
        map!.on('mouseenter', 'observations', () => (map!.getCanvas().style.cursor = 'pointer'));
        map!.on('mouseleave', 'observations', () => (map!.getCanvas().style.cursor = ''));
        setReady(true);
      });
    });
    return () => {
      cancelled = true;
      map?.remove();
      mapRef.current = null;
      (window as any).cwMap = undefined;
    };
  }, []);

  async function loadData() {
    const map = mapRef.current;
    if (!map) return;
    setDataError(null);
    try {
      const res = await request(`/api/v1/observations${obsQuery(query, { format: 'geojson', limit: 10000 })}`);
      const fc = toFeatures(await res.json());
      (map.getSource('observations') as maplibregl.GeoJSONSource).setData(fc as any);
      setCount(fc.features.length);
      map.once('idle', () => document.body.setAttribute('data-map-idle', String(Date.now())));
    } catch (e) {
      setDataError(`Observations could not be loaded: ${(e as Error).message}`);
    }
    try {
      const convoys = await request('/api/v1/convoys').then((r) => r.json());
      const features = (convoys.items ?? convoys.tracks ?? [])
        .filter((t: any) => t.geometry || Array.isArray(t.points))
        .map((t: any) => ({
          type: 'Feature',
          properties: { id: t.id },
          geometry: t.geometry ?? { type: 'LineString', coordinates: t.points.map((p: any) => [p.lon, p.lat]) },
        }));
      (map.getSource('convoys') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features } as any);
    } catch {
      /* convoy tracks are optional on the map; the observations are what matters */
    }
  }

  useEffect(() => {
    if (ready) void loadData();
  }, [ready, qs]);

  useEffect(
    () =>
      onEvent((e) => {
        if (ready && e.type.startsWith('observation.')) void loadData();
      }),
    [ready, qs],
  );

  async function exportView(format: 'geojson' | 'kml' | 'csv') {
    const map = mapRef.current;
    if (!map) return;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(',');
    try {
      const res = await request(`/api/v1/observations${obsQuery(query, { format, bbox, limit: 1000000 })}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `observations.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      setDataError(`The export failed: ${(e as Error).message}`);
    }
  }

  return (
    <section class="map-page">
      <h1>Map</h1>
      <ObservationFilters query={query} base="/map" />
      <div class="map-tools">
        <span aria-live="polite">{count === null ? 'Loading observations…' : `${count} observations`}</span>
        <button type="button" onClick={() => exportView('geojson')} disabled={!ready}>
          Export view as GeoJSON
        </button>
        <button type="button" onClick={() => exportView('kml')} disabled={!ready}>
          Export view as KML
        </button>
        <button type="button" onClick={() => exportView('csv')} disabled={!ready}>
          Export view as CSV
        </button>
        <span class="legend" aria-label="Legend">
          {Object.entries(MOVEMENT_COLOURS).map(([k, c]) => (
            <span key={k} class={`swatch move-${k}`} data-colour={c}>
              {k}
            </span>
          ))}
        </span>
      </div>
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
      {dataError && (
        <p class="error" role="alert">
          {dataError}{' '}
          <button type="button" onClick={() => loadData()}>
            Try again
          </button>
        </p>
      )}
      <div class="map-wrap">
        <div ref={container} class="map" role="region" aria-label="Map of observations" data-testid="map" />
        {selected && (
          <aside class="map-panel" aria-label="Selected observation">
            <p>
              <Link href={`/observations/${selected.id}`}>Observation #{selected.id}</Link>
            </p>
            <p>
              {selected.vehicles} vehicles, {selected.movement}, {selected.status}
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
    </section>
  );
}

// A small map to place a point: click or drag the pin. Used by the observation editor and the
// geolocation form; the hints (GPS, claimed point, places) are drawn as grey dots.
export function PinMap(props: {
  lat: number | null;
  lon: number | null;
  hints?: { lat: number; lon: number; label: string }[];
  label: string;
  onChange: (lat: number, lon: number) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const mapRef = useRef<maplibregl.Map | null>(null);
  const markerRef = useRef<maplibregl.Marker | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
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
          transformRequest: (url) =>
            url.startsWith(location.origin) ? { url, headers: { Authorization: `Bearer ${getToken() ?? ''}` } } : { url },
        });
      } catch (e) {
        setProblem(`The map cannot start in this browser (${(e as Error).message}); type the coordinates instead.`);
        return;
      }
      mapRef.current = map;
      map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
      const marker = new maplibregl.Marker({ draggable: true, color: '#d62828' });
      marker.on('dragend', () => {
        const p = marker.getLngLat();
        onChange.current(Number(p.lat.toFixed(6)), Number(p.lng.toFixed(6)));
      });
      markerRef.current = marker;
      if (props.lat !== null && props.lon !== null) marker.setLngLat([props.lon, props.lat]).addTo(map);
      map.on('click', (e) => {
        marker.setLngLat(e.lngLat).addTo(map!);
        onChange.current(Number(e.lngLat.lat.toFixed(6)), Number(e.lngLat.lng.toFixed(6)));
      });
      map.on('load', () => {
        map!.addSource('hints', {
          type: 'geojson',
          data: {
            type: 'FeatureCollection',
            features: (props.hints ?? []).map((h) => ({ type: 'Feature', properties: { label: h.label }, geometry: { type: 'Point', coordinates: [h.lon, h.lat] } })),
          },
        });
        map!.addLayer({ id: 'hints', type: 'circle', source: 'hints', paint: { 'circle-color': '#495057', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
      });
    });
    return () => {
      cancelled = true;
      map?.remove();
      mapRef.current = null;
    };
  }, []);

  // Typed coordinates move the pin.
  useEffect(() => {
    const map = mapRef.current;
    const marker = markerRef.current;
    if (!map || !marker || props.lat === null || props.lon === null) return;
    if (!Number.isFinite(props.lat) || !Number.isFinite(props.lon) || Math.abs(props.lat) > 90 || Math.abs(props.lon) > 180) return;
    marker.setLngLat([props.lon, props.lat]).addTo(map);
  }, [props.lat, props.lon]);

  return (
    <div class="pin-map">
      <div ref={container} class="map small" role="region" aria-label={props.label} />
      <p class="hint">Click the map or drag the pin to place it; or type the coordinates.{problem ? ` ${problem}` : ''}</p>
    </div>
  );
}
