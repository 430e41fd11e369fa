// The ConvoyWatch dashboard: sign in with an access token, then the inbox, submissions,
// observations, the verification queue, the map, the convoys and the imagery, each at its own URL.
import './style.css';
import { render } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, getToken, Me, setToken, setUnauthorizedHandler } from './api';
import { onConnection, startEvents, stopEvents } from './events';
import { parseRoute } from './lib/route.js';
import { blurAll, ErrorBox, Link, navigate, setBlurAll } from './ui';
import { Inbox } from './views/inbox';
import { SubmissionPage } from './views/submission';
import { ObservationList, ObservationEditor } from './views/observations';
import { VerifyQueue } from './views/verify';
import { Admin, Aggregates, Reports } from './views/more';
import { ConvoyList, ConvoyPage } from './views/convoys';

const MapView = lazy(() => import('./views/map').then((m) => ({ default: m.MapView })));
const ImageryScreen = lazy(() => import('./views/imagery').then((m) => ({ default: m.ImageryScreen })));

function Login({ onSignedIn, reason }: { onSignedIn: (me: Me) => void; reason: string | null }) {
  const [token, setValue] = useState('');
  const [error, setError] = useState<unknown>(reason ? new Error(reason) : null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError(new Error('Paste the access token you were given (it starts with "cw_"), then sign in.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await api<Me>('/api/v1/me', { headers: { Authorization: `Bearer ${t}` } });
      setToken(t);
      onSignedIn(me);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? new Error('This token is not valid (or was revoked). Check it, or ask an admin for a new one.')
          : err,
      );
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="login">
      <h1>ConvoyWatch</h1>
      <form onSubmit={submit}>
        <label for="token">Access token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <p class="hint">Kept for this browser session only. `scripts/run` prints an admin token.</p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function ConnectionBanner() {
  const [s, setS] = useState<{ state: string; detail: string }>({ state: 'closed', detail: '' });
  useEffect(() => onConnection((state, detail) => setS({ state, detail })), []);
  if (s.state !== 'lost' && !(s.state === 'closed' && s.detail)) return null;
  return (
    <div class="banner" role="status">
      {s.detail || 'Live updates are disconnected; reconnecting…'}
    </div>
  );
}

const NAV: [string, string, string[]][] = [
  ['/inbox', 'Inbox', ['inbox', 'submission']],
  ['/observations', 'Observations', ['observations', 'observation', 'observation-new']],
  ['/verify', 'Verify', ['verify']],
  ['/map', 'Map', ['map']],
  ['/convoys', 'Convoys', ['convoys', 'convoy']],
  ['/imagery', 'Imagery', ['imagery']],
  ['/aggregates', 'Aggregates', ['aggregates']],
  ['/reports', 'Reports', ['reports']],
  ['/admin', 'Admin', ['admin']],
];

function useRoute() {
  const [loc, setLoc] = useState(() => location.pathname + location.search);
  useEffect(() => {
    const update = () => setLoc(location.pathname + location.search);
    window.addEventListener('popstate', update);
    window.addEventListener('cw:navigate', update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener('cw:navigate', update);
    };
  }, []);
  return useMemo(() => parseRoute(location.pathname, location.search), [loc]);
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(!!getToken());
  const [reason, setReason] = useState<string | null>(null);
  const [bootError, setBootError] = useState<unknown>(null);
  const route = useRoute();

  function signOut(why: string | null = null) {
    setToken(null);
    stopEvents();
    setMe(null);
    setReason(why);
  }

  useEffect(() => {
    setUnauthorizedHandler(() => signOut('Your session ended (the token is no longer valid). Sign in again.'));
    if (!getToken()) return;
    api<Me>('/api/v1/me').then(
      (m) => {
        setMe(m);
        setChecking(false);
      },
      (e) => {
        setChecking(false);
        if (!(e instanceof ApiError && e.status === 401)) setBootError(e);
      },
    );
  }, []);

  useEffect(() => {
    if (me) startEvents();
  }, [me]);

  useEffect(() => {
    const name = NAV.find(([, , names]) => names.includes(route.name))?.[1] ?? 'ConvoyWatch';
    document.title = `${name} · ConvoyWatch`;
  }, [route.name]);

  if (checking) return <p class="boot" aria-busy="true">Checking your session…</p>;
  if (!me) {
    return (
      <>
        {bootError ? <ErrorBox error={bootError} onRetry={() => location.reload()} /> : null}
        <Login
          reason={reason}
          onSignedIn={(m) => {
            setMe(m);
            setReason(null);
            if (location.pathname === '/' || location.pathname === '/login') navigate('/inbox', true);
          }}
        />
      </>
    );
  }

  let view;
  switch (route.name) {
    case 'inbox':
      view = <Inbox me={me} query={route.query} />;
      break;
    case 'submission':
      view = <SubmissionPage me={me} id={Number(route.params.id)} />;
      break;
    case 'observations':
      view = <ObservationList me={me} query={route.query} />;
      break;
    case 'observation-new':
      view = <ObservationEditor me={me} id={null} query={route.query} />;
      break;
    case 'observation':
      view = <ObservationEditor me={me} id={Number(route.params.id)} query={route.query} />;
      break;
    case 'verify':
      view = <VerifyQueue me={me} />;
      break;
    case 'map':
      view = (
        <Suspense fallback={<p aria-busy="true">Loading the map…</p>}>
          <MapView me={me} query={route.query} />
        </Suspense>
      );
      break;
    case 'convoys':
      view = <ConvoyList me={me} query={route.query} />;
      break;
    case 'convoy':
      view = <ConvoyPage me={me} id={Number(route.params.id)} />;
      break;
    case 'imagery':
      view = (
        <Suspense fallback={<p aria-busy="true">Loading the imagery screen…</p>}>
          <ImageryScreen me={me} query={route.query} />
        </Suspense>
      );
      break;
    case 'aggregates':
      view = <Aggregates me={me} query={route.query} />;
      break;
    case 'reports':
      view = <Reports me={me} />;
      break;
    case 'admin':
      view = <Admin me={me} query={route.query} />;
      break;
    default:
      view = (
        <section>
          <h1>Not found</h1>
          <p>
            There is no screen at this address. Go to the <Link href="/inbox">Inbox</Link>.
          </p>
        </section>
      );
  }

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">ConvoyWatch</span>
        <nav aria-label="Main">
          {NAV.map(([href, label, names]) => (
            <Link key={href} href={href} aria-current={names.includes(route.name) ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {me.name} · {me.role}
          {me.org ? ` · ${me.org.name}` : ''}
        </span>
        <label class="check blur-setting">
          <input
            type="checkbox"
            defaultChecked={blurAll()}
            onChange={(e) => {
              setBlurAll((e.target as HTMLInputElement).checked);
              location.reload();
            }}
          />
          Blur all images
        </label>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <ConnectionBanner />
      <main id="main" tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the boot message
render(<App />, root);
