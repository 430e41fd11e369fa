// Convoys: the tracks the server links from the observations of a window (GET /api/v1/convoys,
// at most 92 days), and one track (GET /api/v1/convoys/{id}) on a map with arrows the way it
// went, its sightings, and for analysts the split and merge forms (the edits survive re-linking).
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, isAnalyst, Me, postJson } from '../api';
import { onEvent } from '../events';
import { convoyListQuery, convoyWindowProblem, equipmentSummary, netKmText, parseTrackId, splitChoices } from '../lib/convoys.js';
import { compass } from '../lib/geo.js';
import { toQuery } from '../lib/route.js';
import { ErrorBox, Link, navigate, Time, useLoad } from '../ui';
import type { TrackFeature } from './map';

const TrackMap = lazy(() => import('./map').then((m) => ({ default: m.TrackMap })));

interface Sighting {
  observation_id: number;
  observed_at: string;
  lat: number;
  lon: number;
  heading_deg: number | null;
  vehicles: number;
  km_to_border: number | null;
}

interface Track {
  id: number;
  start: string;
  end: string;
  vehicles: number;
  equipment: Record<string, number>;
  path_km: number;
  mean_speed_kmh: number;
  net_km_toward_border: number;
  direction: 'toward' | 'away' | 'parallel';
  hand_edited: boolean;
  sightings: Sighting[];
}

const STATUSES = ['unverified', 'verified', 'disputed', 'rejected', 'any'];

// An error of a form, at its field when it names one: the server's problem+json `field`, or a
// check made here before asking (an ApiError with status 0 and that field).
function fieldOf(error: unknown): string | undefined {
  return error instanceof ApiError ? error.field : undefined;
}

function AtField({ error, field, id }: { error: unknown; field: string; id: string }) {
  if (fieldOf(error) !== field) return null;
  return (
    <span class="field-error" role="alert" id={id}>
      {(error as Error).message}
    </span>
  );
}

function invalid(error: unknown, field: string, id: string) {
  const bad = fieldOf(error) === field;
  return { 'aria-invalid': bad ? true : undefined, 'aria-describedby': bad ? id : undefined };
}

function clientError(field: string, message: string) {
  return new ApiError(message, 0, { field, detail: message });
}

function DirectionBadge({ direction }: { direction: string }) {
  return <span class={`badge move-${direction}`}>{direction}</span>;
}

export function ConvoyList({ query }: { me: Me; query: URLSearchParams }) {
  const problem = convoyWindowProblem(query);
  const apiQuery = convoyListQuery(query);
  const { data, error, loading, reload } = useLoad(
    () => (problem ? Promise.resolve(null) : api<{ from: string; to: string; items: Track[] }>(`/api/v1/convoys${apiQuery}`)),
    [apiQuery, problem?.message],
  );
  // New or changed observations re-link the tracks: the list is asked again (at most every 5 s).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onEvent((e) => {
      if (!e.type.startsWith('observation.') || timer) return;
      timer = setTimeout(() => {
        timer = null;
        reload();
      }, 5000);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, []);
  const set = (k: string, value: string) => {
    const q = Object.fromEntries(query.entries());
    q[k] = value;
    navigate(`/convoys${toQuery(q)}`, true);
  };
  const shown = problem ? clientError(problem.field, problem.message) : error;
  const items = data?.items ?? [];
  return (
    <section>
      <h1>Convoys</h1>
      <p class="hint">
        Tracks the server links from the observations of a window (at most 92 days; without dates, the last 7 days). Times are UTC; From is
        included, To is not.
      </p>
      <form class="filters" aria-label="Filter convoys" onSubmit={(e) => e.preventDefault()}>
        <label>
          From
          <input type="date" value={query.get('from') ?? ''} onChange={(e) => set('from', (e.target as HTMLInputElement).value)} {...invalid(shown, 'from', 'convoys-from-err')} />
        </label>
        <label>
          To
          <input type="date" value={query.get('to') ?? ''} onChange={(e) => set('to', (e.target as HTMLInputElement).value)} {...invalid(shown, 'to', 'convoys-to-err')} />
        </label>
        <label>
          Status
          <select value={query.get('status') ?? ''} onChange={(e) => set('status', (e.target as HTMLSelectElement).value)} {...invalid(shown, 'status', 'convoys-status-err')}>
            <option value="">all but rejected</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <AtField error={shown} field="from" id="convoys-from-err" />
        <AtField error={shown} field="to" id="convoys-to-err" />
        <AtField error={shown} field="status" id="convoys-status-err" />
      </form>
      {!fieldOf(shown) || !['from', 'to', 'status'].includes(fieldOf(shown)!) ? <ErrorBox error={shown} onRetry={reload} /> : null}
      {loading && !problem && <p aria-busy="true">Linking the tracks…</p>}
      {data && (
        <p data-testid="convoy-window">
          {items.length} track{items.length === 1 ? '' : 's'} from <Time iso={data.from} /> to <Time iso={data.to} />.
          {items.length === 0 ? ' Choose another window, or record more observations: a track needs sightings close in time and place.' : ''}
        </p>
      )}
      {items.length > 0 && (
        <table class="list" aria-label="Convoys">
          <thead>
            <tr>
              <th scope="col">Track</th>
              <th scope="col">Direction</th>
              <th scope="col">Vehicles</th>
              <th scope="col">Net toward the border</th>
              <th scope="col">Start</th>
              <th scope="col">End</th>
              <th scope="col">Sightings</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.id} data-testid="convoy-row" data-id={t.id}>
                <td>
                  <Link href={`/convoys/${t.id}`}>Convoy #{t.id}</Link>
                  {t.hand_edited ? <span class="badge">edited</span> : null}
                </td>
                <td>
                  <DirectionBadge direction={t.direction} />
                </td>
                <td>{t.vehicles}</td>
                <td>{netKmText(t.net_km_toward_border)}</td>
                <td>
                  <Time iso={t.start} />
                </td>
                <td>
                  <Time iso={t.end} />
                </td>
                <td>{t.sightings.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

// The end of the split and merge forms: "Note on the …" with its error, the submit button, and
// any error that belongs to no field (`field` is the form's other field).
function NoteAndSubmit(props: {
  what: 'split' | 'merge';
  note: string;
  setNote: (v: string) => void;
  error: unknown;
  field: string;
  busy: boolean;
  idle: string;
  working: string;
}) {
  const { what, error } = props;
  return (
    <>
      <label>
        Note on the {what}
        <input type="text" maxLength={2000} value={props.note} onInput={(e) => props.setNote((e.target as HTMLInputElement).value)} {...invalid(error, 'note', `${what}-note-err`)} />
      </label>
      <AtField error={error} field="note" id={`${what}-note-err`} />
      <button type="submit" disabled={props.busy}>
        {props.busy ? props.working : props.idle}
      </button>
      {![props.field, 'note'].includes(fieldOf(error) ?? '') && <ErrorBox error={error} />}
    </>
  );
}

function SplitForm({ track, onDone }: { track: Track; onDone: (message: string, parts: number[]) => void }) {
  const choices = splitChoices(track.sightings);
  const [before, setBefore] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    if (!before) {
      setError(clientError('before', 'Choose the sighting the second part starts with.'));
      return;
    }
    setBusy(true);
    try {
      const res = await postJson<{ tracks: TrackFeature[] }>(`/api/v1/convoys/${track.id}/split`, { before: Number(before), note: note.trim() || undefined });
      const ids = res.tracks.map((t) => t.id);
      setBefore('');
      setNote('');
      onDone(`Track split into ${ids.map((i) => `#${i}`).join(' and ')}.`, ids);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  if (choices.length === 0) return <p class="hint">A track of one sighting cannot be split.</p>;
  return (
    <form class="filters" aria-label="Split this track" onSubmit={submit} noValidate>
      <label>
        Split before sighting
        <select value={before} onChange={(e) => setBefore((e.target as HTMLSelectElement).value)} {...invalid(error, 'before', 'split-before-err')}>
          <option value="">choose…</option>
          {choices.map((s) => (
            <option key={s.observation_id} value={String(s.observation_id)}>
              Observation #{s.observation_id}, {s.observed_at.slice(0, 16).replace('T', ' ')} UTC
            </option>
          ))}
        </select>
      </label>
      <AtField error={error} field="before" id="split-before-err" />
      <NoteAndSubmit what="split" note={note} setNote={setNote} error={error} field="before" busy={busy} idle="Split track" working="Splitting…" />
    </form>
  );
}

function MergeForm({ track, onDone }: { track: Track; onDone: (message: string, merged: number) => void }) {
  const [other, setOther] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const withId = parseTrackId(other);
    if (withId === null) {
      setError(clientError('with', 'Type the number of the other track (its first sighting\'s observation number, e.g. 1234).'));
      return;
    }
    if (withId === track.id) {
      setError(clientError('with', 'That is this track; type the number of another one.'));
      return;
    }
    setBusy(true);
    try {
      const merged = await postJson<TrackFeature>(`/api/v1/convoys/${track.id}/merge`, { with: withId, note: note.trim() || undefined });
      setOther('');
      setNote('');
      onDone(`Tracks #${track.id} and #${withId} merged into #${merged.id}.`, merged.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="filters" aria-label="Merge another track into this one" onSubmit={submit} noValidate>
      <label>
        Merge with track number
        <input type="text" inputMode="numeric" size={10} value={other} onInput={(e) => setOther((e.target as HTMLInputElement).value)} {...invalid(error, 'with', 'merge-with-err')} />
      </label>
      <AtField error={error} field="with" id="merge-with-err" />
      <NoteAndSubmit what="merge" note={note} setNote={setNote} error={error} field="with" busy={busy} idle="Merge tracks" working="Merging…" />
    </form>
  );
}

export function ConvoyPage({ me, id }: { me: Me; id: number }) {
  const { data: feature, error, loading, reload } = useLoad(() => api<TrackFeature>(`/api/v1/convoys/${id}`), [id]);
  const [message, setMessage] = useState<{ text: string; links: number[] } | null>(null);
  useEffect(() => setMessage((m) => (m && m.links.includes(id) ? m : null)), [id]);
  if (loading && !feature) return <p aria-busy="true">Loading convoy #{id}…</p>;
  if (error || !feature) {
    return (
      <section>
        <h1>Convoy #{id}</h1>
        <ErrorBox error={error ?? new Error('Not found.')} onRetry={reload} />
        <p>
          A track is named after its first sighting; after a split or merge it may have another number. Back to the <Link href="/convoys">convoys</Link>.
        </p>
      </section>
    );
  }
  const t = feature.properties as unknown as Track;
  const analyst = isAnalyst(me);
  return (
    <article>
      <h1>
        Convoy #{t.id} <DirectionBadge direction={t.direction} />
        {t.hand_edited ? <span class="badge">edited by analysts</span> : null}
      </h1>
      <p>
        <Link href="/convoys">All convoys</Link>
      </p>
      {message && (
        <p role="status" data-testid="convoy-message">
          {message.text}{' '}
          {message.links
            .filter((l) => l !== id)
            .map((l) => (
              <Link key={l} href={`/convoys/${l}`}>
                Open convoy #{l}
              </Link>
            ))}
        </p>
      )}
      <dl class="derived" aria-label="Track" data-testid="convoy-summary">
        <dt>Direction</dt>
        <dd>{t.direction}</dd>
        <dt>Net</dt>
        <dd>{netKmText(t.net_km_toward_border)}</dd>
        <dt>Vehicles</dt>
        <dd>{t.vehicles}</dd>
        <dt>Equipment</dt>
        <dd>{equipmentSummary(t.equipment) || '—'}</dd>
        <dt>Start</dt>
        <dd>
          <Time iso={t.start} />
        </dd>
        <dt>End</dt>
        <dd>
          <Time iso={t.end} />
        </dd>
        <dt>Path</dt>
        <dd>
          {typeof t.path_km === 'number' ? `${t.path_km.toFixed(1)} km` : '—'}
          {typeof t.mean_speed_kmh === 'number' ? `, ${t.mean_speed_kmh.toFixed(1)} km/h on average` : ''}
        </dd>
        <dt>Sightings</dt>
        <dd>{t.sightings.length}</dd>
      </dl>
      <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
        <TrackMap track={feature} label={`Map of convoy #${t.id}'s track`} />
      </Suspense>
      <p class="legend">
        <span class={`swatch move-${t.direction}`}>{t.direction}</span> The line is coloured by direction (red toward the border, green away,
        orange parallel); its arrows point the way the convoy went; dots are the sightings, listed below in time order.
      </p>
      <table class="list" aria-label="Sightings">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Observation</th>
            <th scope="col">Observed</th>
            <th scope="col">Where</th>
            <th scope="col">Vehicles</th>
            <th scope="col">Heading</th>
            <th scope="col">To the border</th>
          </tr>
        </thead>
        <tbody>
          {t.sightings.map((s, i) => (
            <tr key={s.observation_id} data-testid="sighting-row" data-id={s.observation_id}>
              <td>{i + 1}</td>
              <td>
                <Link href={`/observations/${s.observation_id}`}>Observation #{s.observation_id}</Link>
              </td>
              <td>
                <Time iso={s.observed_at} />
              </td>
              <td>
                {s.lat.toFixed(4)}, {s.lon.toFixed(4)}
              </td>
              <td>{s.vehicles}</td>
              <td>{typeof s.heading_deg === 'number' ? `${Math.round(s.heading_deg)}° (${compass(s.heading_deg)})` : '—'}</td>
              <td>{typeof s.km_to_border === 'number' ? `${s.km_to_border.toFixed(1)} km` : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {analyst ? (
        <section aria-labelledby="edit-h">
          <h2 id="edit-h">Correct the linking</h2>
          <p class="hint">Splits and merges are kept when the server links the tracks again, and written to the audit log.</p>
          <h3>Split</h3>
          <SplitForm
            track={t}
            onDone={(text, parts) => {
              setMessage({ text, links: parts });
              reload();
            }}
          />
          <h3>Merge</h3>
          <MergeForm
            track={t}
            onDone={(text, merged) => {
              setMessage({ text, links: [merged] });
              if (merged !== id) navigate(`/convoys/${merged}`);
              else reload();
            }}
          />
        </section>
      ) : (
        <p class="hint">Analysts can split this track or merge another into it.</p>
      )}
    </article>
  );
}
