// One submission: the video (played from a signed link), its metadata (with each field's
// source), frames (and, for analysts, a frame matched to reference imagery with its footprint on
// a map), duplicates and provenance, geolocation (hints and the analysts' placement),
// the sun, and "New observation" from it.
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, isAnalyst, Me, postJson, PRECISIONS } from '../api';
import { onEvent } from '../events';
import { bytes } from '../lib/format.js';
import { compass } from '../lib/geo.js';
import { bboxAround, imageryLabel, imageryListQuery, nearestInTime, submissionPlace } from '../lib/imagery.js';
import { linkExpired, playbackProblem, signedSrc } from '../lib/media.js';
import { AuthImg, blurAll, ErrorBox, FieldError, Link, Time, useLoad } from '../ui';
import { StatusBadge, Submission } from './inbox';
import { Imagery, ImageryTask, Match } from './tasks';

const PinMap = lazy(() => import('./map').then((m) => ({ default: m.PinMap })));
const SunMap = lazy(() => import('./map').then((m) => ({ default: m.SunMap })));
const ImageryMap = lazy(() => import('./map').then((m) => ({ default: m.ImageryMap })));

const METHODS = ['metadata_gps', 'landmark_match', 'satellite_match', 'shadow', 'other'];

function Row({ label, value, source }: { label: string; value: any; source: string }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>{value ?? '—'}</td>
      <td class="source">{source}</td>
    </tr>
  );
}

interface Frame {
  index: number;
  pts_ms: number;
  kind: string;
  url: string;
  thumb_url: string;
}

function Frames({ id, sha, sensitive, me, time, version }: { id: number; sha: string; sensitive: boolean; me: Me; time: string | null; version: number }) {
  const { data, error, loading, reload } = useLoad(() => api<{ items: Frame[] }>(`/api/v1/media/${sha}/frames`), [sha]);
  const [big, setBig] = useState<number | null>(null);
  const [matchFrame, setMatchFrame] = useState<number | null>(null);
  if (loading) return <p aria-busy="true">Loading frames…</p>;
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  const items = data?.items ?? [];
  if (items.length === 0) return <p>No frames were extracted.</p>;
  const chosen = items.find((f) => f.index === big);
  const analyst = isAnalyst(me);
  return (
    <div>
      <ol class="frames" aria-label="Frames">
        {items.map((f) => (
          <li key={f.index} data-testid="frame">
            <AuthImg src={f.thumb_url} alt={`Frame ${f.index} at ${(f.pts_ms / 1000).toFixed(2)} s`} sensitive={sensitive} onClick={() => setBig(f.index)} />
            <span>
              {(f.pts_ms / 1000).toFixed(2)} s · {f.kind}
            </span>
          </li>
        ))}
      </ol>
      {chosen && (
        <figure class="big-frame">
          <AuthImg src={chosen.url} alt={`Frame ${chosen.index}, full size`} />
          <figcaption>
            Frame {chosen.index} at {(chosen.pts_ms / 1000).toFixed(3)} s{' '}
            {analyst && (
              <button
                type="button"
                onClick={() => {
                  setMatchFrame(chosen.index);
                  requestAnimationFrame(() => document.getElementById('match-frame')?.focus());
                }}
              >
                Match this frame to imagery
              </button>
            )}{' '}
            <button type="button" onClick={() => setBig(null)}>
              Close frame
            </button>
          </figcaption>
        </figure>
      )}
      {analyst && (
        <FrameMatch id={id} sha={sha} frames={items} frame={matchFrame ?? items[0].index} onFrame={setMatchFrame} time={time} version={version} />
      )}
    </div>
  );
}

const NEAR_KM = 10;

// A frame located on reference imagery (analysts): a frame, an image among those whose footprint
// is near the submission's place (the geolocation, else the GPS, else the claimed point; all
// imagery when none is known), nearest in time first; the match's state until it is done, then
// its result and the matched footprint dashed on the map with the image and the place.
function FrameMatch(props: { id: number; sha: string; frames: Frame[]; frame: number; onFrame: (n: number) => void; time: string | null; version: number }) {
  const geo = useLoad(() => api<any>(`/api/v1/submissions/${props.id}/geolocation`), [props.id, props.version]);
  const place = submissionPlace(geo.data);
  const [everywhere, setEverywhere] = useState(false);
  const bbox = place && !everywhere ? bboxAround(place.lat, place.lon, NEAR_KM) : null;
  const list = useLoad(
    () => (geo.loading ? Promise.resolve(null) : api<{ items: Imagery[] }>(`/api/v1/imagery${imageryListQuery(new URLSearchParams(bbox ? { bbox } : {}))}`)),
    [bbox, geo.loading],
  );
  const items = nearestInTime(list.data?.items ?? [], props.time);
  const [imageryId, setImageryId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [matchUrl, setMatchUrl] = useState<string | null>(null);
  const [footprint, setFootprint] = useState<{ footprint: unknown } | null>(null);
  const chosen = items.find((i) => String(i.id) === imageryId) ?? null;
  useEffect(() => {
    if (!chosen && items.length > 0) setImageryId(String(items[0].id));
  }, [list.data]);

  async function start(e: Event) {
    e.preventDefault();
    setError(null);
    if (!imageryId) {
      setError(new ApiError('Choose a reference image to match the frame to.', 0, { field: 'imagery_id' }));
      return;
    }
    setBusy(true);
    try {
      const t = await postJson<ImageryTask>(`/api/v1/media/${props.sha}/frames/${props.frame}/match`, { imagery_id: Number(imageryId) });
      setFootprint(null);
      setMatchUrl(t.url || `/api/v1/imagery/matches/${t.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  const bad = error instanceof ApiError && error.field === 'imagery_id';
  const where = place ? `${place.lat.toFixed(5)}, ${place.lon.toFixed(5)} (${place.from})` : '';
  return (
    <section aria-labelledby="match-h" data-testid="frame-match">
      <h3 id="match-h">Match a frame to imagery</h3>
      <p class="hint">
        The server looks for the frame on a reference image and, when it finds it, returns where the frame shows the ground.{' '}
        {place
          ? everywhere
            ? 'All imagery is listed.'
            : `Listed: the imagery within ${NEAR_KM} km of ${where}, captured nearest to the footage's time first.`
          : 'This submission has no known place yet (no geolocation, GPS or claimed point), so all imagery is listed; geolocate it below to list only the imagery near it.'}
      </p>
      <ErrorBox error={geo.error ?? list.error} onRetry={geo.error ? geo.reload : list.reload} />
      {(geo.loading || list.loading) && <p aria-busy="true">Looking for imagery of this place…</p>}
      {list.data && items.length === 0 && (
        <div class="warning" role="status" data-testid="match-no-imagery">
          {bbox ? (
            <>
              No reference imagery covers this place (within {NEAR_KM} km of {where}). Upload reference imagery of it through the API (POST /api/v1/imagery), or{' '}
              <button type="button" onClick={() => setEverywhere(true)}>
                List imagery of all areas
              </button>
            </>
          ) : (
            'No reference imagery has been uploaded yet. Upload some through the API (POST /api/v1/imagery), then reload this page.'
          )}
        </div>
      )}
      {items.length > 0 && (
        <form class="filters" aria-label="Match a frame to imagery" onSubmit={start} noValidate>
          <label>
            Frame
            <select id="match-frame" value={String(props.frame)} onChange={(e) => props.onFrame(Number((e.target as HTMLSelectElement).value))}>
              {props.frames.map((f) => (
                <option key={f.index} value={String(f.index)}>
                  Frame {f.index} at {(f.pts_ms / 1000).toFixed(2)} s
                </option>
              ))}
            </select>
          </label>
          <label>
            Reference image
            <select
              value={imageryId}
              aria-invalid={bad ? true : undefined}
              aria-describedby={bad ? 'err-imagery_id' : undefined}
              onChange={(e) => setImageryId((e.target as HTMLSelectElement).value)}
            >
              {items.map((i) => (
                <option key={i.id} value={String(i.id)}>
                  {imageryLabel(i)}
                </option>
              ))}
            </select>
          </label>
          <FieldError error={error} field="imagery_id" />
          <button type="submit" disabled={busy}>
            {busy ? 'Starting the match…' : 'Match the frame to the image'}
          </button>
          {!bad && <ErrorBox error={error} />}
        </form>
      )}
      {matchUrl && <Match key={matchUrl} url={matchUrl} onFootprint={setFootprint} />}
      {list.data && (
        <>
          <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
            <ImageryMap
              name="cwMatchMap"
              label="Map: the reference imagery of this place and the frame's matched footprint"
              listed={items}
              before={chosen}
              after={null}
              match={footprint}
              place={place}
            />
          </Suspense>
          <ul class="legend sun-legend" aria-label="Legend of the match map">
            {place && (
              <li>
                <span class="swatch place" aria-hidden="true" /> the place ({place.from})
              </li>
            )}
            <li>
              <span class="swatch imagery" aria-hidden="true" /> every footprint
            </li>
            <li>
              <span class="swatch before" aria-hidden="true" /> the chosen image
            </li>
            <li>
              <span class="swatch match" aria-hidden="true" /> the frame's matched footprint
            </li>
          </ul>
        </>
      )}
    </section>
  );
}

interface MediaLink {
  url: string;
  expires_at: string;
}

// The original video in the browser's player. A <video> cannot send the token, so it plays a
// signed link (POST …/original/link, valid 10 minutes, with Range): asked when the page opens,
// again on play once it has expired and once after a playback error (then the error is shown,
// with what to do). Sensitive footage (or "Blur all images") stays hidden until asked for.
function Player({ id, sha, sensitive }: { id: number; sha: string; sensitive: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  const [link, setLink] = useState<MediaLink | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [playError, setPlayError] = useState<string | null>(null);
  const [revealed, setRevealed] = useState(!sensitive && !blurAll());
  const [busy, setBusy] = useState(false);
  const resume = useRef<{ at: number; play: boolean } | null>(null);
  const retried = useRef(false);

  async function fetchLink(): Promise<MediaLink> {
    const l = await api<MediaLink>(`/api/v1/media/${sha}/original/link`, { method: 'POST' });
    if (!signedSrc(l, location.origin)) throw new Error('The server answered without a playable link. Reload the page; if it persists, tell its operator.');
    return l;
  }
  // A fresh link in place of the old one; playback goes on where it was.
  async function renew(play: boolean) {
    const v = video.current;
    resume.current = { at: v?.currentTime ?? 0, play };
    setBusy(true);
    setError(null);
    try {
      const l = await fetchLink();
      setPlayError(null);
      setLink(l);
    } catch (e) {
      resume.current = null;
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => {
    let live = true;
    setLink(null);
    setError(null);
    setPlayError(null);
    retried.current = false;
    fetchLink().then(
      (l) => live && setLink(l),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [sha]);

  const src = link ? signedSrc(link, location.origin) : null;
  return (
    <div class="player" data-testid="player-box">
      {!revealed ? (
        <div class="sensitive-video">
          <p>This video is tagged sensitive (graphic content) or you blur all images; it is hidden until you ask for it.</p>
          <button type="button" onClick={() => setRevealed(true)}>
            Show sensitive video
          </button>
        </div>
      ) : src ? (
        <video
          ref={video}
          controls
          preload="metadata"
          src={src}
          data-testid="player"
          aria-label={`Video of submission #${id}`}
          onLoadedMetadata={() => {
            const v = video.current;
            const r = resume.current;
            resume.current = null;
            if (v && r) {
              if (r.at > 0) v.currentTime = r.at;
              if (r.play) void v.play().catch(() => {});
            }
          }}
          onCanPlay={() => {
            retried.current = false;
          }}
          onPlay={() => {
            if (!linkExpired(link, Date.now())) return;
            video.current?.pause();
            void renew(true);
          }}
          onError={() => {
            const code = video.current?.error?.code;
            if (!retried.current) {
              // Most often an expired link (the server refuses it): one new link, then the error.
              retried.current = true;
              void renew(false);
            } else {
              setPlayError(playbackProblem(code));
            }
          }}
        />
      ) : (
        !error && <p aria-busy="true">Getting a link to the video…</p>
      )}
      {busy && <p aria-busy="true">Renewing the video's link…</p>}
      <ErrorBox error={error ? new Error(`The video cannot be played: ${(error as Error).message}`) : null} onRetry={() => renew(false)} />
      {playError && (
        <div class="error" role="alert" data-testid="player-error">
          <span>{playError}</span>
          <button
            type="button"
            onClick={() => {
              retried.current = false;
              void renew(false);
            }}
          >
            Reload the video
          </button>
          {src && (
            <a href={src} download>
              Download the original
            </a>
          )}
        </div>
      )}
      {link && (
        <p class="hint">
          Played from a link that works until <Time iso={link.expires_at} />; pressing play after that asks for a new one.
        </p>
      )}
    </div>
  );
}

function Duplicates({ sha, me }: { sha: string; me: Me }) {
  const { data, error, loading, reload } = useLoad(() => api<any>(`/api/v1/media/${sha}/duplicates`), [sha]);
  const [actionError, setActionError] = useState<unknown>(null);
  if (loading) return <p aria-busy="true">Loading duplicates…</p>;
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  const prov = data?.provenance;
  async function verdict(other: string, v: 'confirmed' | 'rejected') {
    setActionError(null);
    try {
      await postJson(`/api/v1/media/${sha}/duplicates/${other}/verdict`, { verdict: v });
      reload();
    } catch (e) {
      setActionError(e);
    }
  }
  return (
    <div>
      {prov?.first && (
        <p>
          First posting: submission <Link href={`/submissions/${prov.first.submission_id}`}>#{prov.first.submission_id}</Link>
          {prov.first.platform ? ` on ${prov.first.platform}` : ''}
          {prov.first.author ? ` by ${prov.first.author}` : ''}, <Time iso={prov.first.posted_at ?? prov.first.submitted_at} /> ({prov.first.basis}). Reposts: {prov.reposts}.
        </p>
      )}
      <ErrorBox error={actionError} />
      {(data?.items ?? []).length === 0 ? (
        <p>No other footage matches this video.</p>
      ) : (
        <table class="list" aria-label="Duplicates">
          <thead>
            <tr>
              <th scope="col">Other media</th>
              <th scope="col">Kind</th>
              <th scope="col">Overlap</th>
              <th scope="col">Status</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((l: any) => (
              <tr key={l.sha256}>
                <td>
                  <code>{l.sha256.slice(0, 12)}</code>
                  {l.clip === 'this' ? ' (this is a clip of it)' : l.clip === 'other' ? ' (a clip of this)' : ''}
                </td>
                <td>{l.kind}</td>
                <td>
                  {Math.round(l.this_percent)}% / {Math.round(l.other_percent)}%
                </td>
                <td>{l.status}</td>
                <td>
                  {me.role !== 'contributor' && l.status === 'suggested' ? (
                    <>
                      <button type="button" onClick={() => verdict(l.sha256, 'confirmed')}>
                        Confirm duplicate {l.sha256.slice(0, 8)}
                      </button>
                      <button type="button" onClick={() => verdict(l.sha256, 'rejected')}>
                        Reject duplicate {l.sha256.slice(0, 8)}
                      </button>
                    </>
                  ) : (
                    l.verdict_by ?? '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Geolocation({ id, me, onSaved }: { id: number; me: Me; onSaved: () => void }) {
  const { data, error, loading, reload } = useLoad(() => api<any>(`/api/v1/submissions/${id}/geolocation`), [id]);
  const [form, setForm] = useState({ lat: '', lon: '', precision: 'vicinity', method: 'landmark_match', evidence: '' });
  const [saveError, setSaveError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (loading) return <p aria-busy="true">Loading geolocation…</p>;
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  const current = data?.current ?? null;
  const h = data?.hints ?? {};
  const hints: { kind: string; name?: string; lat?: number; lon?: number }[] = [];
  if (h.metadata_gps?.lat !== undefined) hints.push({ kind: 'GPS in the file', lat: h.metadata_gps.lat, lon: h.metadata_gps.lon });
  if (h.claimed?.lat !== undefined) hints.push({ kind: 'claimed point', lat: h.claimed.lat, lon: h.claimed.lon });
  if (h.claimed?.place) hints.push({ kind: 'claimed place', name: h.claimed.place });
  for (const p of h.places ?? []) hints.push({ kind: `place named in the text (“${p.matched}”)`, name: p.name, lat: p.lat, lon: p.lon });
  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setSaveError(null);
    try {
      await postJson(`/api/v1/submissions/${id}/geolocation`, {
        lat: Number(form.lat),
        lon: Number(form.lon),
        precision: form.precision,
        method: form.method,
        evidence: form.evidence || undefined,
      });
      reload();
      onSaved();
    } catch (err) {
      setSaveError(err);
    } finally {
      setBusy(false);
    }
  }
  const field = (k: keyof typeof form) => ({
    value: form[k],
    onInput: (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value }),
  });
  return (
    <div>
      {current ? (
        <p data-testid="geolocation">
          Geolocated at {Number(current.lat).toFixed(5)}, {Number(current.lon).toFixed(5)} ({current.precision}, {current.method})
          {current.by ? ` by ${current.by}` : ''}.
        </p>
      ) : (
        <p>Not geolocated yet.</p>
      )}
      {hints.length > 0 && (
        <ul aria-label="Location hints">
          {hints.map((h, i) => (
            <li key={i}>
              {h.kind}: {h.name ? `${h.name} ` : ''}
              {typeof h.lat === 'number' ? `${h.lat.toFixed(5)}, ${h.lon!.toFixed(5)}` : ''}{' '}
              <button type="button" onClick={() => setForm({ ...form, lat: String(h.lat), lon: String(h.lon) })} disabled={typeof h.lat !== 'number'}>
                Use hint {i + 1}
              </button>
            </li>
          ))}
        </ul>
      )}
      {me.role === 'contributor' ? (
        <p class="hint">Analysts place the geolocation; you can place a pin in a new observation.</p>
      ) : (
        <form class="filters" onSubmit={save} aria-label="Geolocate this submission">
          <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
            <PinMap
              label="Map: click to place the geolocation"
              lat={form.lat === '' ? null : Number(form.lat)}
              lon={form.lon === '' ? null : Number(form.lon)}
              hints={hints.filter((x) => typeof x.lat === 'number').map((x) => ({ lat: x.lat!, lon: x.lon!, label: x.kind }))}
              onChange={(lat, lon) => setForm((f) => ({ ...f, lat: String(lat), lon: String(lon) }))}
            />
          </Suspense>
          <label>
            Latitude
            <input type="number" step="any" required {...field('lat')} />
          </label>
          <FieldError error={saveError} field="lat" />
          <label>
            Longitude
            <input type="number" step="any" required {...field('lon')} />
          </label>
          <FieldError error={saveError} field="lon" />
          <label>
            Precision
            <select {...field('precision')}>
              {PRECISIONS.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
          <label>
            Method
            <select {...field('method')}>
              {METHODS.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          </label>
          <label>
            Evidence
            <input type="text" {...field('evidence')} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save geolocation'}
          </button>
          {!(saveError instanceof ApiError && saveError.field) && <ErrorBox error={saveError} />}
        </form>
      )}
    </div>
  );
}

interface SunData {
  lat: number;
  lon: number;
  time: string;
  azimuth_deg: number;
  elevation_deg: number;
  elevation_refracted_deg?: number;
  sunrise: string | null;
  solar_noon?: string;
  sunset: string | null;
  sun_up?: boolean;
  shadow_azimuth_deg: number | null;
  shadow_length_ratio: number | null;
  location_from?: string;
  time_from?: string;
}

const LOCATION_FROM: Record<string, string> = {
  geolocation: "the analysts' geolocation",
  claimed_location: 'the claimed point',
  metadata_gps: "the video's GPS",
};
const TIME_FROM: Record<string, string> = {
  query: 'the time chosen here',
  metadata_creation_time: "the video's creation time",
  posted_at: 'when it was posted',
};

// The sun where and when the footage was taken (GET /submissions/{id}/sun): azimuth, elevation
// and the shadows' direction in words, and on a map a line toward the sun and one along the
// shadows. Another time (UTC) can be tried, to compare with the shadows in the frames.
function Sun({ id, version }: { id: number; version: number }) {
  const [at, setAt] = useState('');
  const [typed, setTyped] = useState('');
  const { data, error, loading, reload } = useLoad(
    () => api<SunData>(`/api/v1/submissions/${id}/sun${at ? `?time=${encodeURIComponent(`${at.length === 16 ? `${at}:00` : at}Z`)}` : ''}`),
    [id, version, at],
  );
  const f = (v: number | null | undefined) => (typeof v === 'number' ? `${v.toFixed(1)}°` : '—');
  const timeForm = (
    <form
      class="filters"
      aria-label="Sun at another time"
      onSubmit={(e) => {
        e.preventDefault();
        setAt(typed);
      }}
    >
      <label>
        Sun at another time (UTC)
        <input
          type="datetime-local"
          value={typed}
          aria-invalid={error instanceof ApiError && error.field === 'time' ? true : undefined}
          aria-describedby={error instanceof ApiError && error.field === 'time' ? 'err-time' : undefined}
          onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Compute the sun</button>
      {at && (
        <button
          type="button"
          onClick={() => {
            setTyped('');
            setAt('');
          }}
        >
          Back to the footage's time
        </button>
      )}
      <FieldError error={error} field="time" />
    </form>
  );
  if (loading && !data) return <p aria-busy="true">Computing the sun…</p>;
  if (error instanceof ApiError && error.status === 422 && error.field !== 'time') {
    // No place (or no time) yet: what to do is in the server's detail.
    return <p class="hint">{error.message.replace(/ Correct the marked field and try again\.$/, '')}</p>;
  }
  if (error && !data) {
    return (
      <>
        {timeForm}
        {error instanceof ApiError && error.field === 'time' ? null : <ErrorBox error={error} onRetry={reload} />}
      </>
    );
  }
  if (!data) return null;
  const up = data.elevation_deg > 0;
  const shadow = typeof data.shadow_azimuth_deg === 'number' ? data.shadow_azimuth_deg : (data.azimuth_deg + 180) % 360;
  return (
    <div data-testid="sun">
      <p>
        At <Time iso={data.time} />
        {data.time_from ? ` (${TIME_FROM[data.time_from] ?? data.time_from})` : ''}, at {data.lat.toFixed(5)}, {data.lon.toFixed(5)}
        {data.location_from ? ` (${LOCATION_FROM[data.location_from] ?? data.location_from})` : ''}:
      </p>
      <dl class="derived" aria-label="The sun">
        <dt>Sun azimuth</dt>
        <dd data-testid="sun-azimuth">
          {f(data.azimuth_deg)} ({compass(data.azimuth_deg)}), clockwise from north
        </dd>
        <dt>Sun elevation</dt>
        <dd data-testid="sun-elevation">
          {f(data.elevation_deg)} {up ? 'above the horizon' : '(below the horizon)'}
        </dd>
        <dt>Shadows</dt>
        <dd data-testid="sun-shadow">
          {up ? (
            <>
              point {f(shadow)} ({compass(shadow)})
              {typeof data.shadow_length_ratio === 'number' ? `, ${data.shadow_length_ratio.toFixed(2)} times as long as the object is tall` : ''}
            </>
          ) : (
            'Sun below the horizon, no shadow.'
          )}
        </dd>
        <dt>Sunrise, sunset</dt>
        <dd>
          <Time iso={data.sunrise} />, <Time iso={data.sunset} />
        </dd>
      </dl>
      {timeForm}
      <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
        <SunMap
          lat={data.lat}
          lon={data.lon}
          azimuth_deg={data.azimuth_deg}
          elevation_deg={data.elevation_deg}
          shadow_azimuth_deg={data.shadow_azimuth_deg}
          label="Map: the place, toward the sun and along the shadows"
        />
      </Suspense>
      <ul class="legend sun-legend" aria-label="Legend of the sun map">
        <li>
          <span class="swatch place" aria-hidden="true" /> the place
        </li>
        {up ? (
          <>
            <li>
              <span class="swatch sun" aria-hidden="true" /> toward the sun ({f(data.azimuth_deg)})
            </li>
            <li>
              <span class="swatch shadow" aria-hidden="true" /> the shadows' direction ({f(shadow)})
            </li>
          </>
        ) : (
          <li>no lines: the sun is below the horizon</li>
        )}
      </ul>
    </div>
  );
}

export function SubmissionPage({ me, id }: { me: Me; id: number }) {
  const { data: s, setData, error, loading, reload } = useLoad(() => api<Submission>(`/api/v1/submissions/${id}`), [id]);
  const sha = s?.media?.sha256;
  const [geoVersion, setGeoVersion] = useState(0); // a new geolocation moves the sun
  const media = useLoad(() => (sha && s?.status === 'done' ? api<any>(`/api/v1/media/${sha}`) : Promise.resolve(null)), [sha, s?.status]);

  useEffect(
    () =>
      onEvent((e) => {
        if (e.type.startsWith('submission.') && e.object?.id === id) setData((old) => ({ ...(old as Submission), ...e.object }));
        if (e.type === 'media.analysed' && sha && e.object_id === sha) reload();
      }),
    [id, sha],
  );

  if (loading) return <p aria-busy="true">Loading submission {id}…</p>;
  if (error || !s) return <ErrorBox error={error ?? new Error('Not found.')} onRetry={reload} />;
  const m = media.data;
  const sensitive = s.tags.includes('sensitive');
  return (
    <article>
      <h1>
        Submission #{s.id} <StatusBadge status={s.status} />
      </h1>
      {s.processing && s.status !== 'done' && (
        <p>
          {s.processing.kind} {s.processing.state}
          {typeof s.processing.progress === 'number' && (
            <progress max={100} value={s.processing.progress} aria-label="Processing progress" />
          )}
          {s.processing.last_error && <span class="error"> {s.processing.last_error}</span>}
        </p>
      )}
      <p>
        <Link class="button" href={`/observations/new?submission=${s.id}`}>
          New observation
        </Link>
      </p>
      {sha && (
        <section aria-labelledby="video-h">
          <h2 id="video-h">Video</h2>
          <Player id={s.id} sha={sha} sensitive={sensitive} />
        </section>
      )}
      <section aria-labelledby="meta-h">
        <h2 id="meta-h">Metadata</h2>
        <table class="meta">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            <Row label="Source URL" value={s.source_url} source="submitter" />
            <Row label="Platform" value={s.platform} source="submitter" />
            <Row label="Author" value={s.author} source="submitter" />
            <Row label="Posted" value={s.posted_at && <Time iso={s.posted_at} />} source="submitter" />
            <Row label="Description" value={s.description && <span lang="">{s.description}</span>} source="submitter" />
            <Row label="Claimed location" value={typeof s.claimed_location === 'string' ? s.claimed_location : s.claimed_location ? `${s.claimed_location.lat}, ${s.claimed_location.lon}` : null} source="submitter" />
            <Row label="Submitted" value={<Time iso={s.created_at} />} source="server" />
            <Row label="By" value={`${s.submitted_by?.name}${s.org ? ` (${s.org.name})` : ''}`} source="server" />
            <Row label="Visibility" value={s.visibility} source="submitter" />
            <Row label="File" value={s.media ? `${s.original_filename ?? ''} ${bytes(s.media.size)} ${s.media.container}` : null} source="upload" />
            <Row label="SHA-256" value={s.media && <code>{s.media.sha256}</code>} source="server" />
            {s.exact_duplicate_of && <Row label="Same bytes as" value={<Link href={`/submissions/${s.exact_duplicate_of}`}>#{s.exact_duplicate_of}</Link>} source="server" />}
            {m && (
              <>
                <Row label="Device" value={[m.make, m.model].filter(Boolean).join(' ') || m.device || null} source="file metadata" />
                <Row label="Created" value={m.creation_time && <Time iso={m.creation_time} />} source="file metadata" />
                <Row label="GPS" value={m.location ? <span data-testid="gps">{`${m.location.lat}, ${m.location.lon}`}</span> : null} source="file metadata" />
                <Row label="Rotation" value={`${m.rotation_deg}°`} source="file metadata" />
                <Row label="Size" value={m.width ? `${m.width}×${m.height}, ${m.fps ?? '?'} fps, ${m.duration_s ?? '?'} s` : null} source="decoder" />
                <Row label="Encoder" value={m.video_codec ?? m.tags?.encoder ?? null} source="file metadata" />
              </>
            )}
          </tbody>
        </table>
        {media.error ? <ErrorBox error={media.error} onRetry={media.reload} /> : null}
      </section>
      {sha && s.status === 'done' && (
        <>
          <section aria-labelledby="frames-h">
            <h2 id="frames-h">Frames</h2>
            <Frames id={s.id} sha={sha} sensitive={sensitive} me={me} time={m?.creation_time ?? s.posted_at ?? null} version={geoVersion} />
          </section>
          <section aria-labelledby="dup-h">
            <h2 id="dup-h">Duplicates and provenance</h2>
            <Duplicates sha={sha} me={me} />
          </section>
        </>
      )}
      <section aria-labelledby="geo-h">
        <h2 id="geo-h">Geolocation</h2>
        <Geolocation id={s.id} me={me} onSaved={() => setGeoVersion((v) => v + 1)} />
      </section>
      <section aria-labelledby="sun-h">
        <h2 id="sun-h">Sun and shadow</h2>
        <Sun id={s.id} version={geoVersion} />
      </section>
    </article>
  );
}
