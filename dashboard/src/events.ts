// Live events from GET /api/v1/events. EventSource cannot send the Authorization header the
// API needs, so the stream is read with fetch() and parsed here (lib/sse.js). A lost connection
// reconnects after the server's `retry` (doubling up to 30 s) and resumes with Last-Event-ID.
import { SseParser } from './lib/sse.js';
import { getToken } from './api';

export interface LiveEvent {
  type: string;
  id: number;
  object_id?: string;
  at?: string;
  object?: any;
}

export type ConnectionState = 'connecting' | 'open' | 'lost' | 'closed';

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(s: ConnectionState, detail: string) => void>();
let controller: AbortController | null = null;
let lastId: string | null = null;
let retryMs = 2000;
let state: ConnectionState = 'closed';
let detail = '';

export function onEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onConnection(fn: (s: ConnectionState, detail: string) => void): () => void {
  stateListeners.add(fn);
  fn(state, detail);
  return () => stateListeners.delete(fn);
}

function setState(s: ConnectionState, d = '') {
  state = s;
  detail = d;
  for (const fn of stateListeners) fn(s, d);
}

export function stopEvents() {
  controller?.abort();
  controller = null;
  lastId = null; // the next sign-in may be someone else
  setState('closed');
}

export function startEvents() {
  if (controller) return;
  const ctl = new AbortController();
  controller = ctl;
  void run(ctl);
}

async function run(ctl: AbortController) {
  let failures = 0;
  while (!ctl.signal.aborted) {
    setState(failures === 0 ? 'connecting' : 'lost', detail);
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
      if (lastId) headers['Last-Event-ID'] = lastId;
      const res = await fetch('/api/v1/events', { headers, signal: ctl.signal, cache: 'no-store' });
      if (res.status === 401) {
        setState('closed', 'The access token is no longer valid; sign in again.');
        return;
      }
      if (!res.ok || !res.body) throw new Error(`the server answered ${res.status}`);
      failures = 0;
      setState('open');
      const parser = new SseParser(
        (e) => {
          if (e.id) lastId = e.id;
          let payload: LiveEvent;
          try {
            payload = JSON.parse(e.data);
          } catch {
            return;
          }
          if (!payload.type) payload.type = e.event;
          for (const fn of listeners) fn(payload);
          if (payload.type === 'revoked') ctl.abort();
        },
        (ms) => (retryMs = ms),
      );
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      throw new Error('the stream ended');
    } catch (err) {
      if (ctl.signal.aborted) break;
      failures += 1;
      const wait = Math.min(30000, retryMs * 2 ** Math.min(failures - 1, 4));
      setState('lost', `Live updates lost (${(err as Error)?.message ?? err}); reconnecting in ${Math.round(wait / 1000)} s.`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  if (controller === ctl) {
    controller = null;
    setState('closed');
  }
}
