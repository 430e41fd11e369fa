// Aggregates (vehicles toward vs away per day and oblast), reports (list, download, build now)
// and admin (the organisation's users, the audit log).
import { useRef, useState } from 'preact/hooks';
import { api, isAdmin, Me, postJson, request } from '../api';
import { toQuery } from '../lib/route.js';
import { tokensFromAudit } from '../lib/tokens.js';
import { chartFileName, rasterSvg, svgSize } from '../lib/chart.js';
import { ErrorBox, navigate, saveBlob, Time, useLoad } from '../ui';

async function download(path: string, name: string) {
  const res = await request(path);
  saveBlob(await res.blob(), name);
}

// The chart drawn onto a canvas of its own size (white under it) and encoded as PNG.
async function chartPng(svg: SVGSVGElement): Promise<Blob> {
  const text = new XMLSerializer().serializeToString(svg);
  const size = svgSize(text);
  if (!size) throw new Error('The chart has no size to draw.');
  const url = URL.createObjectURL(new Blob([rasterSvg(text, size)], { type: 'image/svg+xml' }));
  try {
    const img = new Image(size.width, size.height);
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = size.width;
    canvas.height = size.height;
    canvas.getContext('2d')!.drawImage(img, 0, 0, size.width, size.height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The browser could not encode the PNG.'))), 'image/png'),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

interface AggRow {
  bucket_label: string;
  oblast: string | null;
  vehicles: number;
  toward: number;
  away: number;
}

export function Aggregates({ query }: { me: Me; query: URLSearchParams }) {
  const since = query.get('since') ?? '2022-02-01';
  const status = query.get('status') ?? 'verified';
  const { data, error, loading, reload } = useLoad(
    () =>
      api<{ rows: AggRow[] }>(
        `/api/v1/aggregates/observations${toQuery({ bucket: 'day', group_by: 'oblast', from: `${since}T00:00:00Z`, status })}`,
      ),
    [since, status],
  );
  const svg = useRef<SVGSVGElement>(null);
  const [pngBusy, setPngBusy] = useState(false);
  const [pngError, setPngError] = useState<unknown>(null);
  const rows = data?.rows ?? [];
  const days = [...new Set(rows.map((r) => r.bucket_label))].sort();
  const perDay = days.map((d) => {
    const rs = rows.filter((r) => r.bucket_label === d);
    return { day: d, toward: rs.reduce((s, r) => s + r.toward, 0), away: rs.reduce((s, r) => s + r.away, 0) };
  });
  const max = Math.max(1, ...perDay.map((d) => Math.max(d.toward, d.away)));
  const W = 720;
  const H = 240;
  const bw = perDay.length ? Math.min(48, (W - 40) / perDay.length) : 0;
  return (
    <section>
      <h1>Aggregates</h1>
      <p>Vehicles per day moving toward and away from the border, per oblast ({status} observations).</p>
      <form class="filters" aria-label="Aggregate options" onSubmit={(e) => e.preventDefault()}>
        <label>
          Since
          <input type="date" value={since} onChange={(e) => navigate(`/aggregates${toQuery({ since: (e.target as HTMLInputElement).value, status })}`, true)} />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => navigate(`/aggregates${toQuery({ since, status: (e.target as HTMLSelectElement).value })}`, true)}>
            {['verified', 'unverified', 'disputed', 'any'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} onRetry={reload} />
      {loading && <p aria-busy="true">Counting…</p>}
      {!loading && rows.length === 0 && !error && <p>No observations since {since}. Choose an earlier date or another status.</p>}
      {perDay.length > 0 && (
        <figure>
          <svg ref={svg} xmlns="http://www.w3.org/2000/svg" viewBox={`0 0 ${W} ${H + 30}`} width={W} height={H + 30} role="img" aria-label="Vehicles toward (red) and away (green) per day">
            {perDay.map((d, i) => {
              const th = (d.toward / max) * H;
              const ah = (d.away / max) * H;
              const x = 30 + i * bw;
              return (
                <g key={d.day} data-testid="agg-day">
                  <rect x={x + 1} y={H - th} width={Math.max(1, bw / 2 - 2)} height={th} fill="#d62828">
                    <title>{`${d.day}: ${d.toward} toward`}</title>
                  </rect>
                  <rect x={x + bw / 2} y={H - ah} width={Math.max(1, bw / 2 - 2)} height={ah} fill="#2a9d8f">
                    <title>{`${d.day}: ${d.away} away`}</title>
                  </rect>
                  {(perDay.length <= 14 || i % Math.ceil(perDay.length / 14) === 0) && (
                    <text x={x} y={H + 16} font-size="10" fill="#333">
                      {d.day.slice(5)}
                    </text>
                  )}
                </g>
              );
            })}
            <text x={0} y={12} font-size="10" fill="#333">
              {max}
            </text>
          </svg>
          <figcaption>
            Red: toward the border; green: away.{' '}
            <button
              type="button"
              onClick={() => saveBlob(new Blob([new XMLSerializer().serializeToString(svg.current!)], { type: 'image/svg+xml' }), chartFileName(since, 'svg'))}
            >
              Download chart as SVG
            </button>{' '}
            <button
              type="button"
              disabled={pngBusy}
              onClick={async () => {
                setPngBusy(true);
                setPngError(null);
                try {
                  saveBlob(await chartPng(svg.current!), chartFileName(since, 'png'));
                } catch (e) {
                  setPngError(new Error(`The PNG could not be made (${(e as Error).message}); download the chart as SVG instead.`));
                } finally {
                  setPngBusy(false);
                }
              }}
            >
              {pngBusy ? 'Making the PNG…' : 'Download chart as PNG'}
            </button>
            <ErrorBox error={pngError} />
          </figcaption>
        </figure>
      )}
      {rows.length > 0 && (
        <table class="list" aria-label="Vehicles per day and oblast">
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Oblast</th>
              <th scope="col">Vehicles</th>
              <th scope="col">Toward</th>
              <th scope="col">Away</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>{r.bucket_label}</td>
                <td>{r.oblast ?? '—'}</td>
                <td>{r.vehicles}</td>
                <td>{r.toward}</td>
                <td>{r.away}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Reports({ me }: { me: Me }) {
  const { data, error, loading, reload } = useLoad(() => api<{ items: any[] }>('/api/v1/reports'), []);
  const [kind, setKind] = useState('daily');
  const [period, setPeriod] = useState('');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  async function build(e: Event) {
    e.preventDefault();
    setBusy(true);
    setActionError(null);
    try {
      await postJson('/api/v1/reports', { kind, period });
      reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section>
      <h1>Reports</h1>
      {me.role !== 'contributor' && (
        <form class="filters" onSubmit={build} aria-label="Build a report now">
          <label>
            Kind
            <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              <option>daily</option>
              <option>weekly</option>
            </select>
          </label>
          <label>
            Period
            <input type="text" required placeholder={kind === 'daily' ? '2022-02-16' : '2022-W07'} value={period} onInput={(e) => setPeriod((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Building…' : 'Build now'}
          </button>
        </form>
      )}
      <ErrorBox error={error ?? actionError} onRetry={reload} />
      {loading && <p aria-busy="true">Loading reports…</p>}
      {!loading && (data?.items ?? []).length === 0 && !error && <p>No reports yet. They are built on a schedule; analysts can build one now.</p>}
      <table class="list" aria-label="Reports">
        <thead>
          <tr>
            <th scope="col">Report</th>
            <th scope="col">Built</th>
            <th scope="col">Files</th>
          </tr>
        </thead>
        <tbody>
          {(data?.items ?? []).map((r) => (
            <tr key={r.id}>
              <td>
                #{r.id} {r.kind} {r.period?.label ?? r.period?.start ?? ''}
              </td>
              <td>
                <Time iso={r.built_at} /> {r.built_by ? `by ${r.built_by}` : ''}
              </td>
              <td>
                <button type="button" onClick={() => download(`/api/v1/reports/${r.id}.html`, `report-${r.id}.html`).catch(setActionError)}>
                  Download report {r.id} as HTML
                </button>{' '}
                <button type="button" onClick={() => download(`/api/v1/reports/${r.id}.csv`, `report-${r.id}.csv`).catch(setActionError)}>
                  Download report {r.id} as CSV
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// The tokens of the admin's users, from the audit log (the API lists no tokens; every token
// was created and revoked through an audited call). Follows the log's pages to its end.
async function loadTokens() {
  const entries: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 50; ++i) {
    const page: { items: any[]; next_cursor: string | null } = await api(`/api/v1/audit${toQuery({ object: 'token/*', limit: 500, cursor })}`);
    entries.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return tokensFromAudit(entries);
}

// A token just issued: shown once, with a copy button; it cannot be read again.
function NewTokenBox({ issued, onDone }: { issued: { id: number; user: string; token: string }; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(issued.token);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('The browser refused the clipboard; select the token and copy it by hand.');
    }
  }
  return (
    <div class="token-once" role="status" data-testid="new-token" data-id={issued.id}>
      <p>
        New token #{issued.id} for {issued.user}. It is shown only now: copy it and hand it over safely.
      </p>
      <p>
        <code data-testid="new-token-value">{issued.token}</code>
      </p>
      <button type="button" onClick={copy}>
        Copy token
      </button>{' '}
      <button type="button" onClick={onDone}>
        Done, hide it
      </button>
      {copied && <span> {copied}</span>}
    </div>
  );
}

function UserTokens({ me }: { me: Me }) {
  const users = useLoad(() => api<{ items: any[] }>('/api/v1/users?limit=500'), []);
  const tokens = useLoad(loadTokens, []);
  const [issued, setIssued] = useState<{ id: number; user: string; token: string } | null>(null);
  const [labels, setLabels] = useState<Record<number, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const names = new Map<number, string>((users.data?.items ?? []).map((u) => [u.id, u.name]));
  const reload = () => {
    users.reload();
    tokens.reload();
  };
  async function issue(user: { id: number; name: string }) {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const label = (labels[user.id] ?? '').trim();
      const t = await postJson<{ id: number; token: string }>(`/api/v1/users/${user.id}/tokens`, label ? { label } : {});
      setIssued({ id: t.id, user: user.name, token: t.token });
      setLabels((l) => ({ ...l, [user.id]: '' }));
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  async function revoke(t: { id: number; user_id: number }) {
    const own = t.id === me.token_id;
    if (!confirm(own ? `Revoke token #${t.id}? It is the token you are signed in with: you will be signed out.` : `Revoke token #${t.id} of ${names.get(t.user_id) ?? `user ${t.user_id}`}? Whoever holds it loses access at once.`)) return;
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      await api(`/api/v1/tokens/${t.id}`, { method: 'DELETE' });
      if (issued?.id === t.id) setIssued(null);
      setMessage(`Token #${t.id} revoked.`);
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  const active = (tokens.data ?? []).filter((t) => !t.revoked_at);
  const revoked = (tokens.data ?? []).filter((t) => t.revoked_at);
  return (
    <>
      <h2>Users</h2>
      <ErrorBox error={users.error} onRetry={users.reload} />
      <table class="list" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Organisation</th>
            <th scope="col">Active tokens</th>
            <th scope="col">Created</th>
            <th scope="col">New token</th>
          </tr>
        </thead>
        <tbody>
          {(users.data?.items ?? []).map((u) => (
            <tr key={u.id} data-testid="user-row" data-name={u.name}>
              <td>{u.name}</td>
              <td>{u.role}</td>
              <td>{u.org?.name}</td>
              <td>{u.active_tokens}</td>
              <td>
                <Time iso={u.created_at} />
              </td>
              <td>
                <input
                  type="text"
                  size={14}
                  maxLength={200}
                  placeholder="label (optional)"
                  aria-label={`Label of a new token for ${u.name}`}
                  value={labels[u.id] ?? ''}
                  onInput={(e) => setLabels((l) => ({ ...l, [u.id]: (e.target as HTMLInputElement).value }))}
                />{' '}
                <button type="button" disabled={busy} onClick={() => issue(u)}>
                  Issue token for {u.name}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {issued && <NewTokenBox issued={issued} onDone={() => setIssued(null)} />}
      <ErrorBox error={error} />
      {message && <p role="status">{message}</p>}
      <h2>Tokens</h2>
      <ErrorBox error={tokens.error} onRetry={tokens.reload} />
      <table class="list" aria-label="Active tokens">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">User</th>
            <th scope="col">Label</th>
            <th scope="col">Issued</th>
            <th scope="col">Issued by</th>
            <th scope="col">Revoke</th>
          </tr>
        </thead>
        <tbody>
          {active.map((t) => (
            <tr key={t.id} data-testid="token-row" data-id={t.id}>
              <td>
                #{t.id}
                {t.id === me.token_id ? ' (yours, this session)' : ''}
              </td>
              <td>{names.get(t.user_id) ?? `user ${t.user_id}`}</td>
              <td>{t.label || '—'}</td>
              <td>
                <Time iso={t.created_at} />
              </td>
              <td>{t.created_by}</td>
              <td>
                <button type="button" disabled={busy} onClick={() => revoke(t)}>
                  Revoke token #{t.id}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoked.length > 0 && (
        <p>
          {revoked.length} revoked token{revoked.length === 1 ? '' : 's'}: {revoked.map((t) => `#${t.id}`).join(', ')}.
        </p>
      )}
    </>
  );
}

export function Admin({ me, query }: { me: Me; query: URLSearchParams }) {
  const object = query.get('object') ?? '';
  const audit = useLoad(() => api<{ items: any[] }>(`/api/v1/audit${toQuery({ object, limit: 200 })}`), [object]);
  if (me.role === 'contributor') {
    return (
      <section>
        <h1>Admin</h1>
        <p>Users and the audit log are for analysts and admins. Ask an admin of your organisation.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Admin</h1>
      {isAdmin(me) && <UserTokens me={me} />}
      <h2>Audit log</h2>
      <form class="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Object (e.g. user/3, observation/*)
          <input type="text" value={object} onChange={(e) => navigate(`/admin${toQuery({ object: (e.target as HTMLInputElement).value })}`, true)} />
        </label>
      </form>
      <ErrorBox error={audit.error} onRetry={audit.reload} />
      <table class="list" aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">Object</th>
          </tr>
        </thead>
        <tbody>
          {(audit.data?.items ?? []).map((a, i) => (
            <tr key={a.id ?? i}>
              <td>
                <Time iso={a.at ?? a.created_at} />
              </td>
              <td>{a.actor ?? a.user ?? a.by ?? '—'}</td>
              <td>{a.action}</td>
              <td>{a.object}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
