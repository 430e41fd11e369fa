// The verification queue for analysts, driven from the keyboard: j/k next/previous, v verify,
// d dispute, r reject (each with the note typed in the note field). An analyst's own
// observations are listed but cannot be judged by them (two-person rule).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Me, postJson } from '../api';
import { onEvent } from '../events';
import { ErrorBox, Link, Time, useLoad } from '../ui';
import { equipmentText, Observation } from './observations';

const VERDICTS: Record<string, 'verified' | 'disputed' | 'rejected'> = { v: 'verified', d: 'disputed', r: 'rejected' };

export function VerifyQueue({ me }: { me: Me }) {
  const { data, setData, error, loading, reload } = useLoad(
    () => api<{ items: Observation[] }>('/api/v1/observations?status=unverified&limit=200').then((p) => p.items),
    [],
  );
  const [index, setIndex] = useState(0);
  const [note, setNote] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState('');
  const listRef = useRef<HTMLOListElement>(null);
  const items = data ?? [];
  const current = items[index];
  const own = (o: Observation) => o.created_by === me.name;

  useEffect(
    () =>
      onEvent((e) => {
        if (e.type === 'observation.created' && e.object?.status === 'unverified') {
          setData((l) => (l && !l.some((o) => o.id === e.object.id) ? [...l, e.object] : l));
        }
      }),
    [],
  );

  async function judge(verdict: 'verified' | 'disputed' | 'rejected') {
    if (!current) return;
    if (me.role === 'contributor') {
      setActionError(new Error('Only analysts verify observations. Ask an analyst of the task force.'));
      return;
    }
    if (own(current)) {
      setActionError(new Error('You created this observation; another analyst must judge it (two-person rule). Press j for the next one.'));
      return;
    }
    setActionError(null);
    try {
      await postJson(`/api/v1/observations/${current.id}/verification`, { verdict, note: note || undefined });
      setMessage(`Observation #${current.id} ${verdict}.`);
      setNote('');
      setData((l) => (l ?? []).filter((o) => o.id !== current.id));
      setIndex((i) => Math.max(0, Math.min(i, items.length - 2)));
    } catch (e) {
      setActionError(e);
    }
  }

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      const target = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT')) return;
      if (e.key === 'j') setIndex((i) => Math.min(i + 1, Math.max(0, items.length - 1)));
      else if (e.key === 'k') setIndex((i) => Math.max(0, i - 1));
      else if (VERDICTS[e.key]) void judge(VERDICTS[e.key]);
      else return;
      e.preventDefault();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  useEffect(() => {
    listRef.current?.querySelector('[aria-current="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [index]);

  return (
    <section>
      <h1>Verify</h1>
      <p class="hint" id="verify-keys">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>v</kbd> verify, <kbd>d</kbd> dispute, <kbd>r</kbd> reject. Type a note first (then Esc or Tab out of the field).
      </p>
      <ErrorBox error={error} onRetry={reload} />
      {loading && <p aria-busy="true">Loading the queue…</p>}
      {!loading && items.length === 0 && !error && <p>Nothing to verify. New observations appear here as they are recorded.</p>}
      <div aria-live="polite" class="status-line">
        {message}
      </div>
      <ErrorBox error={actionError} />
      {current && (
        <div class="verify-actions">
          <label>
            Note
            <input
              type="text"
              value={note}
              onInput={(e) => setNote((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => e.key === 'Escape' && (e.target as HTMLInputElement).blur()}
            />
          </label>
          <button type="button" onClick={() => judge('verified')} disabled={own(current)}>
            Verify (v)
          </button>
          <button type="button" onClick={() => judge('disputed')} disabled={own(current)}>
            Dispute (d)
          </button>
          <button type="button" onClick={() => judge('rejected')} disabled={own(current)}>
            Reject (r)
          </button>
        </div>
      )}
      <ol class="queue" ref={listRef} aria-label="Observations to verify" aria-describedby="verify-keys">
        {items.map((o, i) => (
          <li key={o.id} aria-current={i === index ? 'true' : undefined} class={i === index ? 'current' : ''} data-testid="queue-item" data-id={o.id}>
            <Link href={`/observations/${o.id}`}>#{o.id}</Link> <Time iso={o.observed_at} /> · {equipmentText(o.equipment)} · {o.derived?.oblast_name ?? o.derived?.country ?? ''} ·{' '}
            {o.derived?.movement ?? ''} · by {o.created_by}
            {own(o) && <span class="badge"> yours: another analyst verifies it</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}
