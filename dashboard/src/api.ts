// The public REST API, with the access token kept for this browser session (sessionStorage).
// Every failure becomes an ApiError whose message says what happened and what to do next; a
// problem+json body's `field` names the input it is about.

const TOKEN_KEY = 'convoywatch.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: Problem | null,
  ) {
    super(message);
  }
  get field(): string | undefined {
    return this.problem?.field;
  }
}

// What to do next, by status.
function nextStep(status: number): string {
  if (status === 401) return 'Sign in again with a valid access token.';
  if (status === 403) return 'Your role may not do this; ask an analyst or admin of your organisation.';
  if (status === 404) return 'It does not exist or is not visible to you; check the link.';
  if (status === 409 || status === 412) return 'Someone changed it meanwhile; reload and try again.';
  if (status === 413) return 'The request is too large; send a smaller file.';
  if (status === 422 || status === 400) return 'Correct the marked field and try again.';
  if (status === 429) return 'Too many requests; wait a moment and try again.';
  if (status >= 500) return 'The server failed; try again, and tell its operator if it persists.';
  return 'Try again.';
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn;
}

export function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = getToken();
  if (t && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${t}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new ApiError(
      'The server cannot be reached. Check your connection (or that the server runs) and try again.',
      0,
      null,
    );
  }
  if (!res.ok) {
    let problem: Problem | null = null;
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('json')) problem = (await res.json().catch(() => null)) as Problem | null;
    const what = problem?.detail ?? problem?.title ?? `${res.status} ${res.statusText}`;
    if (res.status === 401) onUnauthorized();
    throw new ApiError(`${what}. ${nextStep(res.status)}`, res.status, problem);
  }
  return res;
}

export async function api<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await request(path, init);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export function postJson<T = any>(path: string, body: unknown, method = 'POST'): Promise<T> {
  return api<T>(path, {
    method,
    headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    body: JSON.stringify(body),
  });
}

// An image or file that needs the token: fetched and handed out as a blob: URL (img-src blob:).
const blobCache = new Map<string, Promise<string>>();
export function authedBlobUrl(path: string): Promise<string> {
  let p = blobCache.get(path);
  if (!p) {
    p = request(path).then(async (r) => URL.createObjectURL(await r.blob()));
    p.catch(() => blobCache.delete(path));
    blobCache.set(path, p);
  }
  return p;
}

export interface Me {
  id: number;
  name: string;
  role: 'contributor' | 'analyst' | 'admin' | 'coordinator';
  org?: { id: number; name: string };
  token_id?: number; // the token this session is signed in with
}

// Analysts, admins and coordinators verify, tag, compare imagery and edit convoys.
export function isAnalyst(me: Me): boolean {
  return me.role !== 'contributor';
}

// Admins manage their organisation's users and tokens; coordinators every organisation's.
export function isAdmin(me: Me): boolean {
  return me.role === 'admin' || me.role === 'coordinator';
}

export const PLATFORMS = ['telegram', 'tiktok', 'x', 'youtube', 'vk', 'facebook', 'instagram', 'other'];
export const SUBMISSION_STATUSES = ['queued', 'fetching', 'processing', 'done', 'failed'];
export const EQUIPMENT = [
  'tank', 'ifv', 'apc', 'sp_artillery', 'towed_artillery', 'mlrs', 'air_defense', 'truck',
  'fuel_truck', 'engineering', 'command', 'medical', 'helicopter', 'other',
];
export const PRECISIONS = ['exact', 'vicinity', 'locality', 'region'];
export const OBS_STATUSES = ['unverified', 'verified', 'disputed', 'rejected'];
export const MOVEMENTS = ['toward', 'away', 'parallel', 'stationary', 'unknown'];
