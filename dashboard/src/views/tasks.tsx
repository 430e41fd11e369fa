// The imagery's shared pieces, used by the imagery screen and the submission page (in the main
// bundle, so the submission page does not load the imagery screen): an image and a task (a
// comparison or a frame match) as the API returns them, a task asked again until it is done with
// its progress, and a frame match with its result and footprint.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { matchSummary, pollDelay, taskStatus } from '../lib/imagery.js';
import { ErrorBox } from '../ui';

export interface Imagery {
  id: number;
  sha256: string;
  kind: 'geotiff' | 'image';
  original_filename?: string;
  width: number;
  height: number;
  captured_at: string;
  source: string;
  ground_resolution_m?: number;
  footprint: { type: 'Polygon'; coordinates: number[][][] };
  created_by?: string;
  org?: string;
  tiles_url: string;
}

export interface ImageryTask {
  id: number;
  kind: 'compare' | 'match';
  url: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  progress: number;
  attempts?: number;
  last_error: string | null;
  result: any;
  before?: number;
  after?: number;
  area?: unknown;
  overlay_url?: string | null;
  imagery_id?: number;
  media_sha256?: string;
  frame?: number;
  created_by?: string;
  created_at?: string;
  finished_at?: string | null;
}

// A comparison or a match, asked again while it is queued or running (no live event tells).
export function useTask(url: string | null) {
  const [task, setTask] = useState<ImageryTask | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    setTask(null);
    setError(null);
    if (!url) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let asked = 0;
    const ask = () =>
      api<ImageryTask>(url).then(
        (t) => {
          if (!live) return;
          setTask(t);
          asked += 1;
          if (taskStatus(t).busy) timer = setTimeout(ask, pollDelay(asked));
        },
        (e) => live && setError(e),
      );
    void ask();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [url, n]);
  return { task, error, reload: () => setN((x) => x + 1) };
}

export function TaskProgress({ task, what }: { task: ImageryTask | null; what: 'comparison' | 'match' }) {
  const s = taskStatus(task);
  if (task?.state === 'failed') {
    return (
      <div class="error" role="alert" data-testid={`${what}-state`}>
        <span>{s.text}</span>
      </div>
    );
  }
  return (
    <p role="status" data-testid={`${what}-state`} aria-busy={s.busy}>
      {s.busy && <progress max={100} value={task?.progress ?? 0} aria-label={`${what === 'comparison' ? 'Comparison' : 'Match'} progress`} />} {s.text}
    </p>
  );
}

// A frame match (GET `url` until done): its state and progress, what was matched, and the result
// in words; `onFootprint` hears the matched footprint (null while there is none).
export function Match({ url, onFootprint }: { url: string; onFootprint: (m: { footprint: unknown } | null) => void }) {
  const { task, error, reload } = useTask(url);
  const r = task?.result;
  useEffect(() => onFootprint(task?.state === 'done' && r?.matched && r.footprint ? { footprint: r.footprint } : null), [task]);
  return (
    <div data-testid="match">
      <ErrorBox error={error} onRetry={reload} />
      {!error && <TaskProgress task={task} what="match" />}
      {task && (
        <p>
          Frame {task.frame} of media <code>{task.media_sha256?.slice(0, 12)}</code> on image #{task.imagery_id}
          {task.created_by ? `, asked by ${task.created_by}` : ''}.
        </p>
      )}
      {task?.state === 'done' && r && (
        <p data-testid="match-result" data-matched={r.matched ? 'true' : 'false'}>
          {matchSummary(r)}
        </p>
      )}
    </div>
  );
}
