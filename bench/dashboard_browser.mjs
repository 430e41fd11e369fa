// bench/dashboard_browser.mjs: the browser half of bench/dashboard.sh. Drives Debian's headless
// Chromium (CW_CHROMIUM, /usr/bin/chromium; WebGL on SwiftShader, as the browser story runs it)
// with the playwright-core of tests/e2e/node_modules against a running `convoywatch serve` that
// serves the dashboard, signed in: the token is put into the tab's sessionStorage, where the
// sign-in form puts it, before the page's scripts run. Times are read in the page, from the
// navigation's start (performance.timeOrigin), not by polling from here. Prints one JSON object.
//
//   node bench/dashboard_browser.mjs map CONFIG.json     CONFIG: {base, token, token_key, path}
//     A new browser profile (empty HTTP cache) opens PATH ("cold"); then a new page of the same
//     profile opens it again ("warm"). Each: idle_ms, the first MapLibre `idle` (the map sets
//     body[data-map-idle] on it); load_ms, the document's load event; the tile requests
//     (/api/v1/tiles/…) with their start and end from the navigation's start (Playwright's
//     timing: from the browser's network stack, worker requests included) and status; the
//     observation features drawn at the first idle; long tasks (PerformanceObserver) until then.
//   node bench/dashboard_browser.mjs inbox CONFIG.json   CONFIG: {base, token, token_key, pages}
//     A new profile opens /inbox: first_rows_ms, the first frame after the first submission rows
//     entered the document (requestAnimationFrame after the MutationObserver saw them), and the
//     list API call's own time. Then PAGES times "Load more submissions": the time from the click
//     to the frame that has the 50 new rows, each. Then the whole list scrolled from the top to
//     the bottom with the mouse wheel (300 px a step). Frames (requestAnimationFrame deltas) and
//     long tasks are recorded through the paging and, separately, through the scrolling; and,
//     for comparison, through one second of doing nothing before them.
// Exit 0 with the JSON; 1 with {error, step} in it when something failed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { chromium } = createRequire(`${root}tests/e2e/package.json`)('playwright-core');

const [mode, configFile] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configFile ?? '', 'utf8'));
const T = Number(config.timeout_ms ?? 600000);
const result = { mode, step: 'start', console_errors: [], page_errors: [], failed_requests: [] };

// Before any script of a page: the token where the sign-in form keeps it, the long-task
// observer, the first map `idle` and the first submission rows (each with the frame after it).
function initScript({ key, token }) {
  try {
    sessionStorage.setItem(key, token);
  } catch {
    /* about:blank */
  }
  const b = (window.__bench = { longtasks: [], firstIdle: null, rowsDom: null, rowsFrame: null, frames: null });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* no long-task timing */
  }
  const mo = new MutationObserver(() => {
    if (b.firstIdle === null && document.body?.hasAttribute('data-map-idle')) b.firstIdle = performance.now();
    if (b.rowsDom === null && document.querySelector('[data-testid=submission-row]')) {
      b.rowsDom = performance.now();
      requestAnimationFrame(() => (b.rowsFrame = performance.now()));
    }
    if (b.firstIdle !== null && b.rowsDom !== null) mo.disconnect();
  });
  mo.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-map-idle'] });
}

function watch(page) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) result.console_errors.push(msg.text());
  });
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  page.on('requestfailed', (req) => {
    // A page closed with requests in flight aborts them: not a failure of the server.
    if (!/ERR_ABORTED/.test(req.failure()?.errorText ?? '')) result.failed_requests.push(`${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) result.failed_requests.push(`${res.url()} ${res.status()}`);
  });
}

// The finished requests of a page whose path matches RE: {url, status, start (epoch ms), end (ms after start)}.
function recordRequests(page, re) {
  const list = [];
  page.on('requestfinished', async (req) => {
    if (!re.test(new URL(req.url()).pathname)) return;
    const t = req.timing();
    const res = await req.response().catch(() => null);
    list.push({ url: req.url(), status: res?.status() ?? 0, start: t.startTime, end: t.responseEnd });
  });
  return list;
}

const frameStats = (deltas) => ({
  frames: deltas.length,
  longest_ms: deltas.length ? Math.max(...deltas) : 0,
  over_50ms: deltas.filter((d) => d > 50).length,
  over_100ms: deltas.filter((d) => d > 100).length,
});
const taskStats = (tasks) => ({
  count: tasks.length,
  longest_ms: tasks.length ? Math.max(...tasks.map((t) => t[1])) : 0,
  total_ms: tasks.reduce((s, t) => s + t[1], 0),
});

async function mapVisit(context, label) {
  result.step = `map: ${label}`;
  const page = await context.newPage();
  watch(page);
  const tiles = recordRequests(page, /^\/api\/v1\/tiles\//);
  await page.goto(`${config.base}${config.path}`, { waitUntil: 'commit', timeout: T });
  await page.waitForFunction(() => window.__bench?.firstIdle !== null && window.cwMap, null, { timeout: T, polling: 100 });
  const m = await page.evaluate(() => {
    const map = window.cwMap;
    const layers = ['observation-points', 'observation-cells'].filter((l) => map.getLayer(l));
    const nav = performance.getEntriesByType('navigation')[0];
    const b = window.__bench;
    return {
      origin: performance.timeOrigin,
      idle_ms: b.firstIdle,
      idle_attr_ms: Number(document.body.getAttribute('data-map-idle')) - performance.timeOrigin,
      load_ms: nav?.loadEventEnd || null,
      zoom: map.getZoom(),
      features: map.queryRenderedFeatures({ layers }).length,
      longtasks: b.longtasks.filter((t) => t[0] <= b.firstIdle),
    };
  });
  // Requests still finishing (their events) are given a moment.
  await page.waitForTimeout(200);
  const out = {
    idle_ms: m.idle_ms,
    load_ms: m.load_ms,
    zoom: m.zoom,
    features: m.features,
    longtasks: taskStats(m.longtasks),
    tiles: tiles
      .map((t) => ({ url: t.url, status: t.status, start_ms: t.start - m.origin, end_ms: t.start - m.origin + t.end }))
      .filter((t) => t.start_ms <= m.idle_ms)
      .sort((a, b) => a.start_ms - b.start_ms),
  };
  out.first_tile_start_ms = out.tiles.length ? out.tiles[0].start_ms : null;
  out.last_tile_end_ms = out.tiles.reduce((x, t) => Math.max(x, t.end_ms), 0);
  await page.close();
  return out;
}

async function inbox(context) {
  result.step = 'inbox: first page';
  const page = await context.newPage();
  watch(page);
  const api = recordRequests(page, /^\/api\/v1\/submissions$/);
  await page.goto(`${config.base}/inbox`, { waitUntil: 'commit', timeout: T });
  await page.waitForFunction(() => window.__bench?.rowsFrame !== null, null, { timeout: T, polling: 50 });
  const first = await page.evaluate(() => ({
    origin: performance.timeOrigin,
    dom: window.__bench.rowsDom,
    frame: window.__bench.rowsFrame,
    rows: document.querySelectorAll('[data-testid=submission-row]').length,
  }));
  await page.waitForTimeout(100);
  const call = api[0];
  result.first_rows_ms = first.frame;
  result.first_rows_dom_ms = first.dom;
  result.first_page_rows = first.rows;
  result.first_api = call ? { start_ms: call.start - first.origin, ms: call.end, status: call.status } : null;

  // Frames from here on: requestAnimationFrame deltas, with the long tasks, per phase.
  await page.evaluate(() => {
    const b = window.__bench;
    b.frames = [];
    const tick = (t) => {
      b.frames.push(t);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const phase = async (fn) => {
    const start = await page.evaluate(() => ({ t: performance.now(), f: window.__bench.frames.length, l: window.__bench.longtasks.length }));
    const value = await fn();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const end = await page.evaluate(
      ({ f, l }) => ({ t: performance.now(), frames: window.__bench.frames.slice(Math.max(f - 1, 0)), tasks: window.__bench.longtasks.slice(l) }),
      start,
    );
    const deltas = end.frames.slice(1).map((t, i) => t - end.frames[i]);
    return { value, seconds: (end.t - start.t) / 1000, frames: frameStats(deltas), longtasks: taskStats(end.tasks) };
  };

  // What this browser on this machine does with nothing to do: the frames of one idle second.
  result.step = 'inbox: idle';
  const idle = await phase(() => page.waitForTimeout(1000));
  result.idle = { seconds: idle.seconds, frames: idle.frames, longtasks: idle.longtasks };

  result.step = 'inbox: load more';
  const paging = await phase(async () => {
    const times = [];
    for (let i = 0; i < config.pages; ++i) {
      const ms = await page.evaluate(
        () =>
          new Promise((resolve, reject) => {
            const button = [...document.querySelectorAll('button')].find((x) => x.textContent.trim() === 'Load more submissions');
            if (!button) return resolve(null);
            button.scrollIntoView({ block: 'center' });
            const want = document.querySelectorAll('[data-testid=submission-row]').length + 1;
            const t0 = performance.now();
            const mo = new MutationObserver(() => {
              if (document.querySelectorAll('[data-testid=submission-row]').length < want) return;
              mo.disconnect();
              requestAnimationFrame(() => resolve(performance.now() - t0));
            });
            mo.observe(document.querySelector('table[aria-label=Submissions] tbody'), { childList: true });
            setTimeout(() => reject(new Error('no new rows within 60 s')), 60000);
            button.click();
          }),
      );
      if (ms === null) break;
      times.push(ms);
    }
    return times;
  });
  result.page_ms = paging.value;
  result.paging = { seconds: paging.seconds, frames: paging.frames, longtasks: paging.longtasks };
  result.rows_listed = await page.locator('[data-testid=submission-row]').count();
  result.more_button_left = (await page.getByRole('button', { name: 'Load more submissions' }).count()) > 0;

  result.step = 'inbox: scroll';
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.mouse.move(640, 450);
  const scrolling = await phase(async () => {
    let steps = 0;
    for (; steps < 20000; ++steps) {
      await page.mouse.wheel(0, 300);
      if (steps % 10 === 9) {
        const done = await page.evaluate(() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2);
        if (done) break;
      }
    }
    return { steps: steps + 1, height: await page.evaluate(() => document.documentElement.scrollHeight), end_y: await page.evaluate(() => window.scrollY) };
  });
  result.scroll = { ...scrolling.value, seconds: scrolling.seconds, frames: scrolling.frames, longtasks: scrolling.longtasks };
  await page.close();
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--disable-dev-shm-usage', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  result.browser = `Chromium ${browser.version()}`;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(initScript, { key: config.token_key, token: config.token });
  if (mode === 'map') {
    result.cold = await mapVisit(context, 'cold (new profile)');
    result.warm = await mapVisit(context, 'warm (new page, same profile)');
  } else if (mode === 'inbox') {
    await inbox(context);
  } else {
    throw new Error(`unknown mode '${mode}' (map or inbox)`);
  }
  result.step = 'done';
  await browser.close();
  console.log(JSON.stringify(result));
} catch (err) {
  result.error = String(err?.message ?? err);
  console.log(JSON.stringify(result));
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
