// The inbox: submissions with filters (the tag one asks the API), their processing state live
// from events, tags added to or removed from the selected rows at once (POST
// /api/v1/submissions/tags), uploads with tus (resumable, with progress, speed, time left, pause
// and resume) and submission by URL.
import { useEffect, useRef, useState } from 'preact/hooks';
import * as tus from 'tus-js-client';
import { api, ApiError, authHeaders, Me, PLATFORMS, postJson, SUBMISSION_STATUSES } from '../api';
import { onEvent } from '../events';
import { bytes, duration, rate } from '../lib/format.js';
import { toQuery } from '../lib/route.js';
import { isTagField, pageSelection, selectedText, selectPage, tagsDoneText, tagsRequest } from '../lib/tags.js';
import { AuthImg, ErrorBox, FieldError, Link, navigate, Time } from '../ui';

export interface Submission {
  id: number;
  status: string;
  submitted_by: { id: number; name: string };
  org?: { id: number; name: string };
  visibility: string;
  source_url: string | null;
  platform: string | null;
  posted_at: string | null;
  author: string | null;
  description: string | null;
  claimed_location: any;
  tags: string[];
  media: { sha256: string; size: number; container: string; mime: string } | null;
  original_filename?: string;
  exact_duplicate_of: number | null;
  created_at: string;
  processing?: { kind?: string; state?: string; progress?: number; last_error?: string } | null;
}

function Progress({ s }: { s: Submission }) {
  const p = s.processing;
  if (s.status === 'done' || s.status === 'failed' || !p) return null;
  const pct = typeof p.progress === 'number' ? p.progress : undefined;
  return (
    <progress max={100} value={pct} aria-label={`Processing of submission ${s.id}`}>
      {pct ?? 0}%
    </progress>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

function Filters({ query }: { query: URLSearchParams }) {
  const set = (k: string, v: string) => {
    const q = Object.fromEntries(query.entries());
    q[k] = v;
    delete q.cursor;
    navigate(`/inbox${toQuery(q)}`, true);
  };
  return (
    <form class="filters" aria-label="Filter submissions" onSubmit={(e) => e.preventDefault()}>
      <label>
        Platform
        <select value={query.get('platform') ?? ''} onChange={(e) => set('platform', (e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={query.get('status') ?? ''} onChange={(e) => set('status', (e.target as HTMLSelectElement).value)}>
          <option value="">any</option>
          {SUBMISSION_STATUSES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label>
        Since
        <input type="date" value={query.get('since') ?? ''} onChange={(e) => set('since', (e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Tag
        <input
          type="text"
          maxLength={64}
          value={query.get('tag') ?? ''}
          aria-describedby="tag-filter-hint"
          onChange={(e) => set('tag', (e.target as HTMLInputElement).value.trim())}
        />
      </label>
      <span class="hint" id="tag-filter-hint">
        The tag as written (exact, case-sensitive).
      </span>
      <label class="check">
        <input type="checkbox" checked={query.get('mine') === '1'} onChange={(e) => set('mine', (e.target as HTMLInputElement).checked ? '1' : '')} />
        Mine only
      </label>
    </form>
  );
}

// --- uploads -----------------------------------------------------------------------------------

interface UploadState {
  key: string;
  name: string;
  size: number;
  sent: number;
  samples: { t: number; bytes: number }[];
  paused: boolean;
  done: boolean;
  error: string | null;
  submissionId: number | null;
  upload: tus.Upload;
}

function UploadRow({ u, onChange }: { u: UploadState; onChange: () => void }) {
  const pct = u.size > 0 ? Math.floor((u.sent / u.size) * 100) : 0;
  const { bytesPerSecond, secondsLeft } = rate(u.samples, u.size);
  return (
    <li class="upload" data-testid="upload">
      <span class="name">{u.name}</span>
      <progress max={u.size} value={u.sent} aria-label={`Upload of ${u.name}`}>
        {pct}%
      </progress>
      <span class="meta" aria-live="polite">
        {u.done
          ? 'uploaded'
          : `${pct}% of ${bytes(u.size)}${bytesPerSecond > 0 ? ` · ${bytes(bytesPerSecond)}/s · ${duration(secondsLeft)} left` : ''}${u.paused ? ' · paused' : ''}`}
      </span>
      {u.submissionId && <Link href={`/submissions/${u.submissionId}`}>Submission {u.submissionId}</Link>}
      {!u.done && (
        <button
          type="button"
          onClick={() => {
            if (u.paused) {
              u.paused = false;
              u.error = null;
              u.upload.start();
            } else {
              u.paused = true;
              void u.upload.abort();
            }
            onChange();
          }}
        >
          {u.paused ? `Resume ${u.name}` : `Pause ${u.name}`}
        </button>
      )}
      {u.error && (
        <span class="error" role="alert">
          {u.error}
        </span>
      )}
    </li>
  );
}

function Uploader({ onCreated }: { onCreated: (id: number) => void }) {
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [, force] = useState(0);
  const [over, setOver] = useState(false);
  const [visibility, setVisibility] = useState('taskforce');
  const [unfinished, setUnfinished] = useState<string[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const rerender = () => force((n) => n + 1);

  useEffect(() => {
    // Uploads a reload interrupted: tus keeps their URLs (by file fingerprint) in localStorage.
    const storage = (tus as any).defaultOptions?.urlStorage;
    storage
      ?.findAllUploads?.()
      .then((all: any[]) => setUnfinished(all.map((u) => u.metadata?.filename).filter(Boolean)))
      .catch(() => {});
  }, []);

  function add(files: FileList | File[]) {
    for (const file of Array.from(files)) {
      // At most 200 bytes (the server's limit for an idempotency key).
      const key = `${file.size}-${file.lastModified}-${file.name.slice(0, 40)}`;
      const state: UploadState = {
        key,
        name: file.name,
        size: file.size,
        sent: 0,
        samples: [{ t: performance.now(), bytes: 0 }],
        paused: false,
        done: false,
        error: null,
        submissionId: null,
        upload: null as unknown as tus.Upload,
      };
      const upload = new tus.Upload(file, {
        endpoint: '/api/v1/uploads',
        headers: authHeaders(),
        chunkSize: 8 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        removeFingerprintOnSuccess: true,
        metadata: {
          filename: file.name,
          metadata: JSON.stringify({ visibility }),
          idempotency_key: key,
        },
        onProgress(sent) {
          state.sent = sent;
          state.samples.push({ t: performance.now(), bytes: sent });
          if (state.samples.length > 50) state.samples.shift();
          rerender();
        },
        onAfterResponse(_req, res) {
          const loc = res.getHeader('X-Submission-Location');
          const m = loc && /\/submissions\/(\d+)/.exec(loc);
          if (m) state.submissionId = Number(m[1]);
        },
        onSuccess() {
          state.done = true;
          state.sent = state.size;
          rerender();
          if (state.submissionId) onCreated(state.submissionId);
        },
        onError(err) {
          const body = (err as any)?.originalResponse?.getBody?.() as string | undefined;
          let detail = err.message;
          try {
            if (body) detail = JSON.parse(body).detail ?? detail;
          } catch {
            /* not JSON */
          }
          state.error = `Upload stopped: ${detail}. Press Resume to continue from where it stopped.`;
          state.paused = true;
          rerender();
        },
      });
      state.upload = upload;
      upload.findPreviousUploads().then((previous) => {
        if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      });
      setUploads((list) => [state, ...list]);
    }
  }

  return (
    <section class="uploader" aria-labelledby="upload-h">
      <h2 id="upload-h">Upload videos</h2>
      <div
        class={`dropzone ${over ? 'over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer?.files) add(e.dataTransfer.files);
        }}
      >
        <p>Drop video files here, or</p>
        <input
          ref={fileInput}
          type="file"
          id="file-input"
          accept="video/*,.mkv,.ts,.3gp"
          multiple
          aria-label="Choose video files to upload"
          onChange={(e) => {
            const files = (e.target as HTMLInputElement).files;
            if (files) add(files);
            (e.target as HTMLInputElement).value = '';
          }}
        />
        <label>
          Visibility
          <select value={visibility} onChange={(e) => setVisibility((e.target as HTMLSelectElement).value)}>
            <option value="taskforce">the task force</option>
            <option value="org">my organisation only</option>
          </select>
        </label>
      </div>
      {unfinished.length > 0 && uploads.length === 0 && (
        <p class="hint">
          Unfinished uploads: {unfinished.join(', ')}. Choose the same file again to resume where it stopped.
        </p>
      )}
      <ul class="uploads">
        {uploads.map((u) => (
          <UploadRow key={u.key} u={u} onChange={rerender} />
        ))}
      </ul>
    </section>
  );
}

function SubmitUrl({ onCreated }: { onCreated: (id: number) => void }) {
  const [url, setUrl] = useState('');
  const [platform, setPlatform] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, unknown> = { source_url: url.trim() };
      if (platform) body.platform = platform;
      const s = await postJson<Submission>('/api/v1/submissions', body);
      setUrl('');
      onCreated(s.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="submit-url" onSubmit={submit} aria-labelledby="url-h">
      <h2 id="url-h">Submit a post URL</h2>
      <label>
        Post URL
        <input type="url" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} placeholder="https://t.me/channel/123" />
      </label>
      <FieldError error={error} field="source_url" />
      <label>
        Platform
        <select value={platform} onChange={(e) => setPlatform((e.target as HTMLSelectElement).value)}>
          <option value="">detect</option>
          {PLATFORMS.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Submitting…' : 'Submit URL'}
      </button>
      {!(error instanceof ApiError && error.field) && <ErrorBox error={error} />}
    </form>
  );
}

// --- tags on the selected rows ------------------------------------------------------------------

// The bulk bar: how many rows are selected, a tag, "Add tag" and "Remove tag" (all or nothing on
// the server); the answer or the error (at the tag when it is about the tag) shown here.
function BulkTags({ selected, onDone }: { selected: number[]; onDone: (changed: { id: number; tags: string[] }[]) => void }) {
  const [tag, setTag] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<'add' | 'remove' | null>(null);
  async function run(op: 'add' | 'remove') {
    setError(null);
    setMessage(null);
    const req = tagsRequest(selected, tag, op);
    if ('problem' in req) {
      setError(new ApiError(req.problem, 0, { field: req.field === 'tag' ? `${op}[0]` : req.field, detail: req.problem }));
      return;
    }
    setBusy(op);
    try {
      const answer = await postJson<{ submissions: { id: number; tags: string[] }[] }>('/api/v1/submissions/tags', req.body);
      setMessage(tagsDoneText(op, tag, answer));
      onDone(answer.submissions ?? []);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }
  const tagError = error instanceof ApiError && isTagField(error.field);
  return (
    <form
      class="filters bulk"
      aria-label="Tag the selected submissions"
      data-testid="bulk-bar"
      onSubmit={(e) => {
        e.preventDefault();
        void run('add');
      }}
    >
      <span class="bulk-count" aria-live="polite" data-testid="bulk-count">
        {selectedText(selected.length)}
      </span>
      <label>
        Tag
        <input
          type="text"
          maxLength={64}
          value={tag}
          onInput={(e) => setTag((e.target as HTMLInputElement).value)}
          aria-invalid={tagError ? true : undefined}
          aria-describedby={tagError ? 'bulk-tag-err' : undefined}
        />
      </label>
      <button type="submit" disabled={busy !== null || selected.length === 0}>
        {busy === 'add' ? 'Adding…' : 'Add tag'}
      </button>
      <button type="button" disabled={busy !== null || selected.length === 0} onClick={() => run('remove')}>
        {busy === 'remove' ? 'Removing…' : 'Remove tag'}
      </button>
      {tagError && (
        <span class="field-error" role="alert" id="bulk-tag-err">
          {(error as Error).message}
        </span>
      )}
      {!tagError && <ErrorBox error={error} />}
      {message && (
        <p role="status" data-testid="bulk-result">
          {message}
        </p>
      )}
    </form>
  );
}

// --- the list ----------------------------------------------------------------------------------

export function Inbox({ me, query }: { me: Me; query: URLSearchParams }) {
  const [items, setItems] = useState<Submission[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [n, setN] = useState(0);
  const qs = query.toString();

  function params(cursor?: string | null) {
    return toQuery({
      platform: query.get('platform'),
      status: query.get('status'),
      since: query.get('since') ? `${query.get('since')}T00:00:00Z` : null,
      submitted_by: query.get('mine') === '1' ? me.id : null,
      tag: query.get('tag'),
      limit: 50,
      cursor,
    });
  }
  const [selected, setSelected] = useState<Set<number>>(new Set());

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    api<{ items: Submission[]; next_cursor: string | null }>(`/api/v1/submissions${params()}`).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setNext(page.next_cursor);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [qs, n]);

  // Live: new submissions appear at the top, changed ones change in place.
  useEffect(
    () =>
      onEvent((e) => {
        // Resumed from an id older than the server keeps: what changed meanwhile is unknown.
        if (e.type === 'reset') setN((x) => x + 1);
        if (!e.type.startsWith('submission.') || !e.object) return;
        const s = e.object as Submission;
        setItems((list) => {
          const i = list.findIndex((x) => x.id === s.id);
          if (i >= 0) {
            const copy = list.slice();
            copy[i] = { ...list[i], ...s };
            return copy;
          }
          if (e.type !== 'submission.created' && e.type !== 'submission.updated') return list;
          if (query.get('mine') === '1' && s.submitted_by?.id !== me.id) return list;
          if (query.get('status') && query.get('status') !== s.status) return list;
          if (query.get('platform') && query.get('platform') !== s.platform) return list;
          if (query.get('tag') && !(s.tags ?? []).includes(query.get('tag')!)) return list;
          return [s, ...list];
        });
      }),
    [qs],
  );

  async function more() {
    try {
      const page = await api<{ items: Submission[]; next_cursor: string | null }>(`/api/v1/submissions${params(next)}`);
      setItems((list) => [...list, ...page.items]);
      setNext(page.next_cursor);
    } catch (e) {
      setError(e);
    }
  }

  const shown = items;
  // What is selected among the rows listed (a new filter or page leaves the rest out).
  const listed = shown.map((s) => s.id);
  const chosen = listed.filter((id) => selected.has(id));
  const all = pageSelection(selected, listed);
  return (
    <section>
      <h1>Inbox</h1>
      <div class="inbox-tools">
        <Uploader onCreated={() => {}} />
        <SubmitUrl onCreated={(id) => navigate(`/submissions/${id}`)} />
      </div>
      <Filters query={query} />
      <ErrorBox error={error} onRetry={() => setN((x) => x + 1)} />
      {loading && <p aria-busy="true">Loading submissions…</p>}
      {!loading && shown.length === 0 && !error && <p>No submissions match. Upload a video or change the filters.</p>}
      <BulkTags
        selected={chosen}
        onDone={(changed) => {
          const tags = new Map(changed.map((c) => [c.id, c.tags]));
          setItems((list) => list.map((s) => (tags.has(s.id) ? { ...s, tags: tags.get(s.id)! } : s)));
          setN((x) => x + 1); // and the list asked again: a tag filter may now leave rows out
        }}
      />
      <table class="list" aria-label="Submissions">
        <thead>
          <tr>
            <th scope="col">
              <label class="check">
                <input
                  type="checkbox"
                  aria-label="Select all on this page"
                  checked={all === 'all'}
                  indeterminate={all === 'some'}
                  disabled={listed.length === 0}
                  onChange={(e) => setSelected(selectPage(selected, listed, (e.target as HTMLInputElement).checked))}
                />
                All
              </label>
            </th>
            <th scope="col">Footage</th>
            <th scope="col">Submission</th>
            <th scope="col">Status</th>
            <th scope="col">Platform</th>
            <th scope="col">Submitted</th>
            <th scope="col">By</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => (
            <tr key={s.id} data-testid="submission-row" data-id={s.id} data-status={s.status}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select submission #${s.id}${s.original_filename ? ` (${s.original_filename})` : ''}`}
                  checked={selected.has(s.id)}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setSelected((old) => selectPage(old, [s.id], on));
                  }}
                />
              </td>
              <td class="thumb">
                {s.media && s.status === 'done' ? (
                  <AuthImg
                    src={`/api/v1/media/${s.media.sha256}/frames/0/thumb.jpg`}
                    alt={`First frame of submission ${s.id}`}
                    sensitive={s.tags.includes('sensitive')}
                  />
                ) : (
                  <span class="img-missing">—</span>
                )}
              </td>
              <td>
                <Link href={`/submissions/${s.id}`}>
                  #{s.id} {s.original_filename ?? s.source_url ?? ''}
                </Link>
                {s.tags.length > 0 && <span class="tags"> {s.tags.map((t) => `#${t}`).join(' ')}</span>}
                {s.visibility === 'org' && <span class="badge">org only</span>}
              </td>
              <td>
                <StatusBadge status={s.status} />
                <Progress s={s} />
              </td>
              <td>{s.platform ?? '—'}</td>
              <td>
                <Time iso={s.created_at} />
              </td>
              <td>{s.submitted_by?.name}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button type="button" onClick={more}>
          Load more submissions
        </button>
      )}
    </section>
  );
}
