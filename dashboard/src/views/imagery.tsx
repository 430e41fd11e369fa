// Reference imagery: the list (GET /api/v1/imagery with captured from/to and the map's view as
// bbox) with the footprints on a map; a before and an after image compared (POST
// /api/v1/imagery/compare, then the comparison asked until it is done, with its progress); the
// result as a before/after swipe over the two images (the server's XYZ tiles of each, in one
// Web-Mercator frame), the change overlay (after registered onto before, changes in red) warped
// onto before's footprint, and the counted blobs marked and listed. A frame-to-imagery match
// (started on a submission's page) can be opened by its number. Everything chosen is in the
// query string (links and reloads keep it).
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, authedBlobUrl, isAnalyst, Me, postJson } from '../api';
import { bounds } from '../lib/geo.js';
import {
  bboxPolygon,
  bboxText,
  footprintCorners,
  grow,
  homography,
  imageryLabel,
  imageryListQuery,
  swipeSplit,
  swipeText,
  tileFrame,
  warpTriangles,
} from '../lib/imagery.js';
import { toQuery } from '../lib/route.js';
import { ErrorBox, FieldError, navigate, Time, useLoad } from '../ui';
import { Imagery, ImageryTask, Match, TaskProgress, useTask } from './tasks';

const ImageryMap = lazy(() => import('./map').then((m) => ({ default: m.ImageryMap })));

interface Blob {
  area_px: number;
  area_m2?: number;
  centroid?: { lat: number; lon: number };
  centroid_px?: number[];
}

// An image behind the token, decoded for a canvas (through the same blob: cache as AuthImg).
async function loadImage(path: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = await authedBlobUrl(path);
  await img.decode();
  return img;
}

// One image's tiles over the frame, drawn into a canvas of the frame's size.
async function mosaic(imagery: Imagery, frame: ReturnType<typeof tileFrame>) {
  const canvas = document.createElement('canvas');
  canvas.width = frame.width;
  canvas.height = frame.height;
  const ctx = canvas.getContext('2d')!;
  const template = imagery.tiles_url || `/api/v1/imagery/${imagery.id}/tiles/{z}/{x}/{y}.png`;
  await Promise.all(
    frame.tiles.map(async (t) => {
      const img = await loadImage(template.replace('{z}', String(t.z)).replace('{x}', String(t.x)).replace('{y}', String(t.y)));
      ctx.drawImage(img, t.dx, t.dy);
    }),
  );
  return canvas;
}

// The overlay (in before's pixel grid) warped onto before's footprint in the frame.
async function warpedOverlay(url: string, before: Imagery, frame: ReturnType<typeof tileFrame>) {
  const corners = footprintCorners(before.footprint);
  if (!corners) throw new Error(`Image #${before.id}'s footprint has no four corners, so the overlay cannot be placed.`);
  const img = await loadImage(url);
  const h = homography(
    [[0, 0], [img.naturalWidth, 0], [img.naturalWidth, img.naturalHeight], [0, img.naturalHeight]],
    corners.map(([lon, lat]) => frame.toPixel(lon, lat)),
  );
  if (!h) throw new Error(`Image #${before.id}'s footprint is degenerate, so the overlay cannot be placed.`);
  const canvas = document.createElement('canvas');
  canvas.width = frame.width;
  canvas.height = frame.height;
  const ctx = canvas.getContext('2d')!;
  for (const t of warpTriangles(img.naturalWidth, img.naturalHeight, h, 8)) {
    const d = grow(t.dst, 0.6);
    ctx.save();
    ctx.beginPath();
    ctx.moveTo(d[0][0], d[0][1]);
    ctx.lineTo(d[1][0], d[1][1]);
    ctx.lineTo(d[2][0], d[2][1]);
    ctx.closePath();
    ctx.clip();
    ctx.setTransform(...(t.transform as [number, number, number, number, number, number]));
    ctx.drawImage(img, 0, 0);
    ctx.restore();
  }
  return canvas;
}

// The before/after swipe: before left of the line, after (or, with the overlay on, after
// registered onto before with the changes in red) right of it; the blobs circled and numbered.
function Swipe({ before, after, task }: { before: Imagery; after: Imagery; task: ImageryTask }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [layers, setLayers] = useState<{ before: HTMLCanvasElement; after: HTMLCanvasElement } | null>(null);
  const [overlay, setOverlay] = useState<HTMLCanvasElement | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [overlayError, setOverlayError] = useState<unknown>(null);
  const [percent, setPercent] = useState(50);
  const [showOverlay, setShowOverlay] = useState(false);
  const [marks, setMarks] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const b = bounds(before.footprint.coordinates[0]);
  const frame = b ? tileFrame(b, 1024) : null;
  const blobs: Blob[] = task.result?.blobs ?? [];

  useEffect(() => {
    if (!frame) return;
    let live = true;
    setError(null);
    setLayers(null);
    Promise.all([mosaic(before, frame), mosaic(after, frame)]).then(
      ([bc, ac]) => live && setLayers({ before: bc, after: ac }),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [before.id, after.id, attempt]);

  useEffect(() => {
    if (!showOverlay || overlay || !frame || !task.overlay_url) return;
    let live = true;
    setOverlayError(null);
    warpedOverlay(task.overlay_url, before, frame).then(
      (c) => live && setOverlay(c),
      (e) => live && setOverlayError(e),
    );
    return () => {
      live = false;
    };
  }, [showOverlay, task.overlay_url, attempt]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !layers || !frame) return;
    const ctx = c.getContext('2d')!;
    const { width: w, height: h } = frame;
    const split = swipeSplit(percent, w);
    ctx.fillStyle = '#e9ecef';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(layers.before, 0, 0);
    const right = showOverlay && overlay ? overlay : layers.after;
    if (split < w) ctx.drawImage(right, split, 0, w - split, h, split, 0, w - split, h);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(Math.max(0, split - 1), 0, 2, h);
    if (marks) {
      ctx.lineWidth = 2;
      ctx.font = 'bold 12px system-ui, sans-serif';
      blobs.forEach((blob, i) => {
        if (!blob.centroid) return;
        const [x, y] = frame.toPixel(blob.centroid.lon, blob.centroid.lat);
        ctx.strokeStyle = '#ffb703';
        ctx.beginPath();
        ctx.arc(x, y, 8, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.fillStyle = '#ffb703';
        ctx.fillText(String(i + 1), x + 10, y - 6);
      });
    }
    c.dataset.drawn = `${split}:${showOverlay && overlay ? 'overlay' : 'after'}:${marks ? blobs.length : 0}`;
  }, [layers, overlay, percent, showOverlay, marks]);

  if (!frame) return <p class="warning">Image #{before.id} has no footprint to draw the images in.</p>;
  const rightName = showOverlay ? `the change overlay (image #${after.id} registered onto #${before.id}, changes in red)` : `after (image #${after.id})`;
  return (
    <div class="swipe" data-testid="swipe">
      <ErrorBox error={error ? new Error(`The images' tiles could not be loaded: ${(error as Error).message}`) : null} onRetry={() => setAttempt((n) => n + 1)} />
      {!layers && !error && <p aria-busy="true">Loading the two images…</p>}
      <div class="swipe-frame">
        <canvas
          ref={canvas}
          width={frame.width}
          height={frame.height}
          role="img"
          data-testid="swipe-canvas"
          aria-label={`Before (image #${before.id}, ${before.captured_at.slice(0, 10)}) left of the line, ${rightName} right of it${marks && blobs.length ? `; the ${blobs.length} counted blobs circled and numbered as in the table below` : ''}`}
        />
      </div>
      <div class="swipe-tools">
        <label class="swipe-range">
          Swipe between before and after
          <input
            type="range"
            min={0}
            max={100}
            step={1}
            value={percent}
            aria-valuetext={swipeText(percent)}
            disabled={!layers}
            onInput={(e) => setPercent(Number((e.target as HTMLInputElement).value))}
          />
        </label>
        <label class="check">
          <input type="checkbox" checked={showOverlay} disabled={!task.overlay_url} onChange={(e) => setShowOverlay((e.target as HTMLInputElement).checked)} />
          Show the change overlay (after registered onto before, changes in red)
        </label>
        <label class="check">
          <input type="checkbox" checked={marks} onChange={(e) => setMarks((e.target as HTMLInputElement).checked)} />
          Circle the counted blobs
        </label>
      </div>
      {showOverlay && !overlay && !overlayError && <p aria-busy="true">Loading the change overlay…</p>}
      <ErrorBox error={overlayError ? new Error(`The change overlay could not be shown: ${(overlayError as Error).message}`) : null} onRetry={() => setAttempt((n) => n + 1)} />
      <p class="hint">
        Before is on the left of the white line, {showOverlay ? 'the change overlay' : 'after'} on the right; drag the slider or use the arrow keys (Home and End
        show one image only). Both are drawn where their georeference puts them; the overlay is the server's registration of after onto before.
      </p>
    </div>
  );
}

function ComparisonResult({ task }: { task: ImageryTask }) {
  const before = useLoad(() => api<Imagery>(`/api/v1/imagery/${task.before}`), [task.before]);
  const after = useLoad(() => api<Imagery>(`/api/v1/imagery/${task.after}`), [task.after]);
  const r = task.result ?? {};
  const blobs: Blob[] = r.blobs ?? [];
  const f = (v: unknown, digits: number) => (typeof v === 'number' ? v.toFixed(digits) : '—');
  return (
    <>
      <dl class="derived" aria-label="Comparison result" data-testid="comparison-result">
        <dt>Registration</dt>
        <dd>
          {r.inliers ?? '—'} inliers, residual {f(r.residual_px, 2)} px, ECC {f(r.ecc, 3)}
        </dd>
        <dt>Changed blobs</dt>
        <dd data-testid="blob-count">{r.blob_count ?? blobs.length}</dd>
        <dt>In the area</dt>
        <dd>{task.area ? (r.count_in_area ?? '—') : 'no area given: all of before counted'}</dd>
        <dt>Finished</dt>
        <dd>
          <Time iso={task.finished_at} />
        </dd>
      </dl>
      <ErrorBox error={before.error ?? after.error} onRetry={() => (before.error ? before.reload() : after.reload())} />
      {before.data && after.data && <Swipe before={before.data} after={after.data} task={task} />}
      {blobs.length === 0 ? (
        <p>No changed blobs were counted.</p>
      ) : (
        <table class="list" aria-label="Counted blobs" data-testid="blobs">
          <thead>
            <tr>
              <th scope="col">Blob</th>
              <th scope="col">Area</th>
              <th scope="col">Where</th>
              <th scope="col">Pixel in before</th>
            </tr>
          </thead>
          <tbody>
            {blobs.map((blob, i) => (
              <tr key={i} data-testid="blob-row">
                <td>{i + 1}</td>
                <td>
                  {typeof blob.area_m2 === 'number' ? `${blob.area_m2.toFixed(1)} m²` : '—'} ({blob.area_px} px)
                </td>
                <td>{blob.centroid ? `${blob.centroid.lat.toFixed(5)}, ${blob.centroid.lon.toFixed(5)}` : '—'}</td>
                <td>{blob.centroid_px ? blob.centroid_px.map((v) => Math.round(v)).join(', ') : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Comparison({ id }: { id: number }) {
  const { task, error, reload } = useTask(`/api/v1/imagery/comparisons/${id}`);
  return (
    <section aria-labelledby="cmp-h" data-testid="comparison">
      <h2 id="cmp-h">
        Comparison #{id}
        {task ? `: image #${task.before} before, #${task.after} after` : ''}
      </h2>
      <ErrorBox error={error} onRetry={reload} />
      {!error && <TaskProgress task={task} what="comparison" />}
      {task?.state === 'done' && <ComparisonResult task={task} />}
    </section>
  );
}

function CompareForm({ me, items, query, view }: { me: Me; items: Imagery[]; query: URLSearchParams; view: string | null }) {
  const [inView, setInView] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const before = query.get('before') ?? '';
  const after = query.get('after') ?? '';
  const set = (k: string, v: string) => {
    const q = Object.fromEntries(query.entries());
    q[k] = v;
    navigate(`/imagery${toQuery(q)}`, true);
  };
  const clientError = (field: string, message: string) => new ApiError(message, 0, { field, detail: message });
  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    if (!before) return setError(clientError('before', 'Choose the before image.'));
    if (!after) return setError(clientError('after', 'Choose the after image.'));
    if (before === after) return setError(clientError('after', 'Choose two different images: the same one cannot be compared with itself.'));
    const area = inView && view ? bboxPolygon(view) : null;
    if (inView && !area) return setError(clientError('area', "The map's view is not known yet; wait for the map, or untick the box."));
    setBusy(true);
    try {
      const t = await postJson<ImageryTask>('/api/v1/imagery/compare', { before: Number(before), after: Number(after), ...(area ? { area } : {}) });
      const q = Object.fromEntries(query.entries());
      q.comparison = String(t.id);
      delete q.match;
      navigate(`/imagery${toQuery(q)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const field = (name: string) => {
    const bad = error instanceof ApiError && error.field === name;
    return { 'aria-invalid': bad ? true : undefined, 'aria-describedby': bad ? `err-${name}` : undefined };
  };
  const options = (chosen: string) => (
    <>
      <option value="">choose…</option>
      {chosen && !items.some((i) => String(i.id) === chosen) && <option value={chosen}>#{chosen} (not in this list)</option>}
      {items.map((i) => (
        <option key={i.id} value={String(i.id)}>
          {imageryLabel(i)}
        </option>
      ))}
    </>
  );
  const analyst = isAnalyst(me);
  return (
    <form class="filters" aria-label="Compare two images" onSubmit={submit} noValidate>
      <label>
        Before
        <select value={before} onChange={(e) => set('before', (e.target as HTMLSelectElement).value)} {...field('before')}>
          {options(before)}
        </select>
      </label>
      <FieldError error={error} field="before" />
      <label>
        After
        <select value={after} onChange={(e) => set('after', (e.target as HTMLSelectElement).value)} {...field('after')}>
          {options(after)}
        </select>
      </label>
      <FieldError error={error} field="after" />
      <label class="check">
        <input type="checkbox" checked={inView} onChange={(e) => setInView((e.target as HTMLInputElement).checked)} {...field('area')} />
        Count changes only inside the map's view
      </label>
      <FieldError error={error} field="area" />
      {analyst ? (
        <button type="submit" disabled={busy}>
          {busy ? 'Starting…' : 'Compare'}
        </button>
      ) : (
        <p class="hint">Analysts and admins start comparisons; you can open theirs by link.</p>
      )}
      {!(error instanceof ApiError && ['before', 'after', 'area'].includes(error.field ?? '')) && <ErrorBox error={error} />}
    </form>
  );
}

export function ImageryScreen({ me, query }: { me: Me; query: URLSearchParams }) {
  const listQuery = imageryListQuery(query);
  const [more, setMore] = useState<{ items: Imagery[]; next: string | null; error: unknown }>({ items: [], next: null, error: null });
  const list = useLoad(() => api<{ items: Imagery[]; next_cursor: string | null }>(`/api/v1/imagery${listQuery}`), [listQuery]);
  useEffect(() => setMore({ items: [], next: null, error: null }), [listQuery]);
  const items = [...(list.data?.items ?? []), ...more.items];
  const next = more.items.length ? more.next : (list.data?.next_cursor ?? null);
  const [view, setView] = useState<string | null>(null);
  const [matchText, setMatchText] = useState(query.get('match') ?? '');
  const comparison = Number(query.get('comparison')) || null;
  const match = Number(query.get('match')) || null;
  const byId = (id: string | null) => items.find((i) => String(i.id) === id) ?? null;
  const set = (values: Record<string, string | null>, replace = true) => {
    const q: Record<string, string | null> = Object.fromEntries(query.entries());
    Object.assign(q, values);
    navigate(`/imagery${toQuery(q)}`, replace);
  };
  async function loadMore() {
    try {
      const page = await api<{ items: Imagery[]; next_cursor: string | null }>(`/api/v1/imagery${imageryListQuery(query, next)}`);
      setMore((m) => ({ items: [...m.items, ...page.items], next: page.next_cursor, error: null }));
    } catch (e) {
      setMore((m) => ({ ...m, error: e }));
    }
  }
  const [matchFootprint, setMatchFootprint] = useState<{ footprint: unknown } | null>(null);
  useEffect(() => setMatchFootprint(null), [match]);
  return (
    <section>
      <h1>Imagery</h1>
      <p class="hint">
        Reference imagery of the task force: choose a before and an after image of one area and compare them; the server registers after onto before and
        counts what changed.
      </p>
      <form class="filters" aria-label="Filter imagery" onSubmit={(e) => e.preventDefault()}>
        <label>
          Captured from
          <input type="date" value={query.get('from') ?? ''} onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          Captured before
          <input type="date" value={query.get('to') ?? ''} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
        </label>
        {query.get('bbox') ? (
          <button type="button" onClick={() => set({ bbox: null })}>
            List imagery of all areas
          </button>
        ) : (
          <button type="button" disabled={!view} onClick={() => set({ bbox: view })}>
            List only the imagery in the map's view
          </button>
        )}
      </form>
      {query.get('bbox') && <p class="hint">Only imagery whose footprint meets {query.get('bbox')} (west, south, east, north).</p>}
      <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
        <ImageryMap
          label="Map of the imagery footprints"
          listed={items}
          before={byId(query.get('before'))}
          after={byId(query.get('after'))}
          match={matchFootprint}
          onView={(b) => setView(bboxText(...b))}
        />
      </Suspense>
      <ul class="legend sun-legend" aria-label="Legend of the imagery map">
        <li>
          <span class="swatch imagery" aria-hidden="true" /> every footprint
        </li>
        <li>
          <span class="swatch before" aria-hidden="true" /> the before image
        </li>
        <li>
          <span class="swatch after" aria-hidden="true" /> the after image
        </li>
      </ul>
      <ErrorBox error={list.error ?? more.error} onRetry={list.reload} />
      {list.loading && <p aria-busy="true">Loading imagery…</p>}
      {!list.loading && !list.error && items.length === 0 && (
        <p>No imagery matches. Change the dates or list all areas; analysts upload imagery through the API (POST /api/v1/imagery).</p>
      )}
      {items.length > 0 && (
        <table class="list" aria-label="Reference imagery">
          <thead>
            <tr>
              <th scope="col">Image</th>
              <th scope="col">Source</th>
              <th scope="col">Captured</th>
              <th scope="col">Pixels</th>
              <th scope="col">Resolution</th>
              <th scope="col">Uploaded by</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id} data-testid="imagery-row" data-id={i.id}>
                <td>
                  #{i.id} {i.original_filename ?? ''} <span class="badge">{i.kind}</span>
                  {String(i.id) === query.get('before') && <span class="badge before">before</span>}
                  {String(i.id) === query.get('after') && <span class="badge after">after</span>}
                </td>
                <td>{i.source}</td>
                <td>
                  <Time iso={i.captured_at} />
                </td>
                <td>
                  {i.width}×{i.height}
                </td>
                <td>{typeof i.ground_resolution_m === 'number' ? `${i.ground_resolution_m.toFixed(2)} m per pixel` : '—'}</td>
                <td>
                  {i.created_by ?? '—'}
                  {i.org ? ` (${i.org})` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={loadMore}>
          Load more imagery
        </button>
      )}
      <h2>Compare</h2>
      <CompareForm me={me} items={items} query={query} view={view} />
      {comparison && <Comparison key={comparison} id={comparison} />}
      <h2>Frame matches</h2>
      <form
        class="filters"
        aria-label="Open a frame match"
        onSubmit={(e) => {
          e.preventDefault();
          set({ match: matchText.trim() }, false);
        }}
      >
        <label>
          Match number
          <input type="text" inputMode="numeric" size={8} value={matchText} onInput={(e) => setMatchText((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Open match</button>
      </form>
      <p class="hint">A match locates a video frame on an image: analysts start one on the submission's page (its frames, "Match a frame to imagery").</p>
      {match && <Match key={match} url={`/api/v1/imagery/matches/${match}`} onFootprint={setMatchFootprint} />}
    </section>
  );
}
