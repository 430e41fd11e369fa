// Observations: the list with the API's filters, and the editor (create and edit) whose derived
// values (country, oblast, km to the border, movement) come back from the server.
import { lazy, Suspense } from 'preact/compat';
import { useState } from 'preact/hooks';
import { api, ApiError, EQUIPMENT, Me, MOVEMENTS, OBS_STATUSES, postJson, PRECISIONS } from '../api';
import { compass, headingValue } from '../lib/geo.js';
import { toQuery } from '../lib/route.js';
import { ErrorBox, FieldError, Link, navigate, Time, useLoad } from '../ui';

const PinMap = lazy(() => import('./map').then((m) => ({ default: m.PinMap })));

export interface Observation {
  id: number;
  submission_id: number | null;
  observed_at: string;
  time_precision: string;
  location: { lat: number; lon: number };
  location_precision: string;
  heading_deg: number | null;
  equipment: { type: string; count: number }[];
  markings: string[];
  notes: string | null;
  vehicles: number;
  status: string;
  created_by: string;
  created_at: string;
  verifications?: any[];
  derived?: {
    country: string | null;
    oblast: string | null;
    oblast_name: string | null;
    nearest_place: { name: string; km: number } | null;
    km_to_border: number | null;
    movement: string;
  };
}

export const OBS_FILTERS = ['from', 'to', 'oblast', 'country', 'equipment_type', 'status', 'movement', 'submission_id'];

export function obsQuery(query: URLSearchParams, extra: Record<string, string | number | null> = {}) {
  const v: Record<string, string | number | null> = {};
  for (const k of OBS_FILTERS) v[k] = query.get(k);
  if (v.from && /^\d{4}-\d\d-\d\d$/.test(String(v.from))) v.from = `${v.from}T00:00:00Z`;
  if (v.to && /^\d{4}-\d\d-\d\d$/.test(String(v.to))) v.to = `${v.to}T00:00:00Z`;
  return toQuery({ ...v, ...extra });
}

export function ObservationFilters({ query, base }: { query: URLSearchParams; base: string }) {
  const set = (k: string, value: string) => {
    const q = Object.fromEntries(query.entries());
    q[k] = value;
    delete q.cursor;
    navigate(`${base}${toQuery(q)}`, true);
  };
  const sel = (k: string, label: string, options: string[]) => (
    <label>
      {label}
      <select value={query.get(k) ?? ''} onChange={(e) => set(k, (e.target as HTMLSelectElement).value)}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  );
  return (
    <form class="filters" aria-label="Filter observations" onSubmit={(e) => e.preventDefault()}>
      <label>
        From
        <input type="date" value={query.get('from') ?? ''} onChange={(e) => set('from', (e.target as HTMLInputElement).value)} />
      </label>
      <label>
        To
        <input type="date" value={query.get('to') ?? ''} onChange={(e) => set('to', (e.target as HTMLInputElement).value)} />
      </label>
      {sel('status', 'Status', [...OBS_STATUSES, 'any'])}
      {sel('movement', 'Movement', MOVEMENTS)}
      {sel('equipment_type', 'Equipment', EQUIPMENT)}
      <label>
        Oblast
        <input type="text" placeholder="RU-BEL" size={8} value={query.get('oblast') ?? ''} onChange={(e) => set('oblast', (e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Country
        <input type="text" placeholder="RUS" size={4} value={query.get('country') ?? ''} onChange={(e) => set('country', (e.target as HTMLInputElement).value)} />
      </label>
    </form>
  );
}

export function equipmentText(eq: { type: string; count: number }[]) {
  return eq.map((e) => `${e.count} ${e.type}`).join(', ');
}

export function ObservationList({ query }: { me: Me; query: URLSearchParams }) {
  const qs = query.toString();
  const [extra, setExtra] = useState<Observation[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const { data, error, loading, reload } = useLoad(async () => {
    const page = await api<{ items: Observation[]; next_cursor: string | null }>(`/api/v1/observations${obsQuery(query)}`);
    setExtra([]);
    setNext(page.next_cursor);
    return page.items;
  }, [qs]);
  const [moreError, setMoreError] = useState<unknown>(null);
  async function more() {
    try {
      const page = await api<{ items: Observation[]; next_cursor: string | null }>(`/api/v1/observations${obsQuery(query, { cursor: next })}`);
      setExtra((l) => [...l, ...page.items]);
      setNext(page.next_cursor);
    } catch (e) {
      setMoreError(e);
    }
  }
  const items = [...(data ?? []), ...extra];
  return (
    <section>
      <h1>Observations</h1>
      <p>
        <Link class="button" href="/observations/new">
          New observation
        </Link>{' '}
        <Link href={`/map${obsQuery(query)}`}>Show these on the map</Link>
      </p>
      <ObservationFilters query={query} base="/observations" />
      <ErrorBox error={error ?? moreError} onRetry={reload} />
      {loading && <p aria-busy="true">Loading observations…</p>}
      {!loading && items.length === 0 && !error && <p>No observations match. Record one from a submission, or change the filters.</p>}
      <table class="list" aria-label="Observations">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Observed</th>
            <th scope="col">Equipment</th>
            <th scope="col">Where</th>
            <th scope="col">Movement</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {items.map((o) => (
            <tr key={o.id} data-testid="observation-row" data-id={o.id}>
              <td>
                <Link href={`/observations/${o.id}`}>#{o.id}</Link>
              </td>
              <td>
                <Time iso={o.observed_at} />
              </td>
              <td>{equipmentText(o.equipment)}</td>
              <td>
                {o.derived?.oblast_name ?? o.derived?.country ?? `${o.location.lat.toFixed(3)}, ${o.location.lon.toFixed(3)}`}
                {typeof o.derived?.km_to_border === 'number' ? ` · ${o.derived.km_to_border.toFixed(1)} km to the border` : ''}
              </td>
              <td>
                <span class={`badge move-${o.derived?.movement ?? 'unknown'}`}>{o.derived?.movement ?? 'unknown'}</span>
              </td>
              <td>
                <span class={`badge obs-${o.status}`}>{o.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button type="button" onClick={more}>
          Load more observations
        </button>
      )}
    </section>
  );
}

// The heading typed, in words: its compass point, or what is wrong with it.
function headingText(v: string) {
  const h = headingValue(v);
  if (h === null) return '';
  if (Number.isNaN(h)) return ' This is not a heading: type a number from 0 to 360.';
  return ` Now ${h}° (${compass(h)}).`;
}

function toLocalInput(iso: string) {
  return iso.slice(0, 16);
}

export function ObservationEditor({ me, id, query }: { me: Me; id: number | null; query: URLSearchParams }) {
  const submission = query.get('submission');
  const [form, setForm] = useState({
    observed_at: new Date().toISOString().slice(0, 16),
    time_precision: 'exact',
    lat: query.get('lat') ?? '',
    lon: query.get('lon') ?? '',
    location_precision: 'vicinity',
    heading_deg: '',
    markings: '',
    notes: '',
  });
  const [equipment, setEquipment] = useState<Record<string, number>>({});
  const [saved, setSaved] = useState<Observation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const existing = useLoad(async () => {
    if (id === null) return null;
    const o = await api<Observation>(`/api/v1/observations/${id}`);
    setForm({
      observed_at: toLocalInput(o.observed_at),
      time_precision: o.time_precision ?? 'exact',
      lat: String(o.location.lat),
      lon: String(o.location.lon),
      location_precision: o.location_precision,
      heading_deg: o.heading_deg === null ? '' : String(o.heading_deg),
      markings: (o.markings ?? []).join(', '),
      notes: o.notes ?? '',
    });
    setEquipment(Object.fromEntries(o.equipment.map((e) => [e.type, e.count])));
    setSaved(o);
    return o;
  }, [id]);

  const field = (k: keyof typeof form) => ({
    id: `obs-${k}`,
    value: form[k],
    'aria-invalid': error instanceof ApiError && error.field?.startsWith(k) ? true : undefined,
    onInput: (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value }),
  });

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = {
      observed_at: `${form.observed_at.length === 16 ? `${form.observed_at}:00` : form.observed_at}Z`,
      time_precision: form.time_precision,
      location: { lat: Number(form.lat), lon: Number(form.lon) },
      location_precision: form.location_precision,
      heading_deg: form.heading_deg === '' ? null : Number(form.heading_deg),
      equipment: Object.entries(equipment)
        .filter(([, n]) => n > 0)
        .map(([type, count]) => ({ type, count })),
      markings: form.markings
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
      notes: form.notes || null,
    };
    if (id === null && submission) body.submission_id = Number(submission);
    try {
      const o = id === null ? await postJson<Observation>('/api/v1/observations', body) : await postJson<Observation>(`/api/v1/observations/${id}`, body, 'PATCH');
      setSaved(o);
      if (id === null) navigate(`/observations/${o.id}`, true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (existing.loading && id !== null) return <p aria-busy="true">Loading observation {id}…</p>;
  if (existing.error) return <ErrorBox error={existing.error} onRetry={existing.reload} />;
  const locked = saved && saved.status !== 'unverified';
  const d = saved?.derived;
  const fieldErr = (f: string) => <FieldError error={error} field={f} />;
  return (
    <section>
      <h1>{id === null ? 'New observation' : `Observation #${id}`}</h1>
      {submission && id === null && (
        <p>
          From <Link href={`/submissions/${submission}`}>submission #{submission}</Link>.
        </p>
      )}
      {saved && (
        <dl class="derived" aria-label="Derived by the server" data-testid="derived">
          <dt>Status</dt>
          <dd>
            <span class={`badge obs-${saved.status}`}>{saved.status}</span> (by {saved.created_by})
          </dd>
          <dt>Country</dt>
          <dd>{d?.country ?? '—'}</dd>
          <dt>Oblast</dt>
          <dd>{d?.oblast_name ?? d?.oblast ?? '—'}</dd>
          <dt>Nearest place</dt>
          <dd>{d?.nearest_place ? `${d.nearest_place.name} (${d.nearest_place.km.toFixed(1)} km)` : '—'}</dd>
          <dt>To the border</dt>
          <dd>{typeof d?.km_to_border === 'number' ? `${d.km_to_border.toFixed(1)} km` : '—'}</dd>
          <dt>Movement</dt>
          <dd data-testid="movement">{d?.movement ?? '—'}</dd>
          {saved.submission_id && (
            <>
              <dt>Footage</dt>
              <dd>
                <Link href={`/submissions/${saved.submission_id}`}>submission #{saved.submission_id}</Link>
              </dd>
            </>
          )}
        </dl>
      )}
      {locked ? (
        <p>This observation is {saved!.status}; it can no longer be changed.</p>
      ) : (
        <form class="grid-form" onSubmit={save} aria-label={id === null ? 'New observation' : `Edit observation ${id}`}>
          <label for="obs-observed_at">Observed at (UTC)</label>
          <input type="datetime-local" required {...field('observed_at')} />
          {fieldErr('observed_at')}
          <label for="obs-time_precision">Time precision</label>
          <select {...field('time_precision')}>
            {['exact', 'hour', 'day'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          <label for="obs-lat">Latitude</label>
          <input type="number" step="any" min={-90} max={90} required {...field('lat')} />
          {fieldErr('location.lat')}
          <label for="obs-lon">Longitude</label>
          <input type="number" step="any" min={-180} max={180} required {...field('lon')} />
          {fieldErr('location.lon')}
          {fieldErr('location')}
          <div class="pin-cell">
            <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
              <PinMap
                label="Map: click to place the observation"
                lat={form.lat === '' ? null : Number(form.lat)}
                lon={form.lon === '' ? null : Number(form.lon)}
                onChange={(lat, lon) => setForm((f) => ({ ...f, lat: String(lat), lon: String(lon) }))}
                heading={headingValue(form.heading_deg)}
                onHeading={(deg) => setForm((f) => ({ ...f, heading_deg: String(deg) }))}
              />
            </Suspense>
          </div>
          <label for="obs-location_precision">Location precision</label>
          <select {...field('location_precision')}>
            {PRECISIONS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          <label for="obs-heading_deg">Heading (degrees)</label>
          <input type="number" step="any" min={0} max={360} aria-describedby="obs-heading-hint" {...field('heading_deg')} />
          <p class="hint span" id="obs-heading-hint">
            Clockwise from north, 0 to 360 (90 is east); empty when parked. Or drag the tip of the arrow on the map.
            {headingText(form.heading_deg)}
          </p>
          {fieldErr('heading_deg')}
          <fieldset class="equipment">
            <legend>Equipment</legend>
            {EQUIPMENT.map((t) => (
              <span key={t} class="eq">
                <button type="button" aria-label={`Add one ${t}`} onClick={() => setEquipment({ ...equipment, [t]: (equipment[t] ?? 0) + 1 })}>
                  {t}
                </button>
                {(equipment[t] ?? 0) > 0 && (
                  <input
                    type="number"
                    min={0}
                    max={10000}
                    aria-label={`Number of ${t}`}
                    value={equipment[t]}
                    onInput={(e) => setEquipment({ ...equipment, [t]: Number((e.target as HTMLInputElement).value) })}
                  />
                )}
              </span>
            ))}
          </fieldset>
          {fieldErr('equipment')}
          <label for="obs-markings">Markings (comma-separated)</label>
          <input type="text" {...field('markings')} />
          <label for="obs-notes">Notes</label>
          <textarea {...(field('notes') as any)} rows={3} />
          {fieldErr('notes')}
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : id === null ? 'Create observation' : 'Save changes'}
          </button>
          {!(error instanceof ApiError && error.field) && <ErrorBox error={error} />}
          {error instanceof ApiError && error.field && (
            <p class="error" role="alert">
              Fix the field “{error.field}” (marked above): {error.message}
            </p>
          )}
        </form>
      )}
      {saved?.verifications && saved.verifications.length > 0 && (
        <section aria-labelledby="ver-h">
          <h2 id="ver-h">Verification history</h2>
          <ul>
            {saved.verifications.map((v: any, i: number) => (
              <li key={i}>
                {v.verdict} by {v.by ?? v.analyst ?? v.user} <Time iso={v.at ?? v.created_at} /> {v.note ? `— ${v.note}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
      {me.role !== 'contributor' && saved && saved.created_by !== me.name && saved.status === 'unverified' && (
        <p>
          <Link href="/verify">Verify it in the queue</Link>
        </p>
      )}
    </section>
  );
}
