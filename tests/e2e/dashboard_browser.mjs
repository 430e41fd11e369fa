// The dashboard's story in Debian's headless Chromium (through playwright-core), against a real
// `convoywatch serve` that serves the built dashboard. Prints one JSON line of what a test
// checks, with `step` naming the step that failed (and `error`) when one did:
//   1. a contributor signs in (the "Access token" field, the "Sign in" button);
//   2. uploads a video through the file picker with tus: the progress bar reaches the file size;
//   3. a video sent through the API meanwhile appears in the inbox without a reload and its
//      analysis finishes there live;
//   4. the submission page shows its frames and its GPS;
//   5. "New observation" from it, with a heading and equipment: the server's derived values;
//   6. an analyst of the other organisation signs in: the first organisation's org-private
//      submission appears neither in the inbox nor at its URL; verifies the observation from the
//      queue with the keyboard (j/k, v);
//   7. the aggregates table and chart count its vehicles on its day;
//   8. the map: drawn from the server's vector tiles (observation, convoy and imagery tiles
//      requested with the filters in their URLs; grouped cells at low zoom); at a deep-linked
//      zoom the observation's mark is at the pixel its coordinates project to (read from the
//      map's projection and its rendered features, not from a screenshot); the time slider,
//      from the keyboard, changes the tiles' from/to and what is drawn, and survives a reload;
//      clicking the mark opens the observation;
//   9. an admin issues a token for the contributor (shown once, copied with the button), and
//      revokes it: the API accepts it, then refuses it.
// Every screen visited is checked with axe-core (@axe-core/playwright): its violations, by rule,
// impact and element, are reported per screen.
// Console errors, page errors and Content-Security-Policy violations are collected throughout;
// failed resource loads are listed with their URL so the test can tell expected ones apart.
//
// Usage: node dashboard_browser.mjs CONFIG.json   (exit 0: ran to the end; 1: a step failed)
// CONFIG: {base, contributor, contributor_name, analyst, analyst_name, upload_video, api_video,
//          private_submission_id, screenshots, admin, lat, lon}
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8'));
const result = {
  step: '',
  console_errors: [],
  page_errors: [],
  csp_violations: [],
  failed_resources: [],
  screenshots: [],
  axe: {},
};
const T = 30000;
let step = (name) => {
  result.step = name;
};

async function apiUpload(token, file, metadata) {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('file', new Blob([readFileSync(file)], { type: 'video/mp4' }), basename(file));
  const res = await fetch(`${config.base}/api/v1/submissions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`API upload: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

async function apiStatus(token, path) {
  const res = await fetch(`${config.base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return res.status;
}

async function apiGet(token, path) {
  const res = await fetch(`${config.base}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--disable-dev-shm-usage', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (text.startsWith('Failed to load resource')) {
      result.failed_resources.push(`${msg.location()?.url ?? ''} ${text}`);
    } else {
      result.console_errors.push(text);
    }
  });
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  const shot = async (name) => {
    const path = `${config.screenshots}/${name}.png`;
    await page.screenshot({ path });
    result.screenshots.push(path);
  };
  // axe-core on the screen as it is now: every violation, whatever its impact.
  const axe = async (name) => {
    const r = await new AxeBuilder({ page }).analyze();
    result.axe[name] = r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  };
  const tileRequests = [];
  page.on('request', (req) => {
    const m = /\/api\/v1\/tiles\/(observations|convoys|imagery)\/\d+\/\d+\/\d+\.mvt(\?.*)?$/.exec(req.url());
    if (m) tileRequests.push({ layer: m[1], query: decodeURIComponent(m[2] ?? '') });
  });
  const signIn = async (token) => {
    await page.goto(`${config.base}/inbox`, { waitUntil: 'load', timeout: T });
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Inbox' }).waitFor({ timeout: T });
  };
  const collectCsp = async () => {
    const v = await page.evaluate(() => window.__csp ?? []);
    result.csp_violations.push(...v);
  };

  step('sign in (contributor)');
  await page.goto(config.base, { waitUntil: 'load', timeout: T });
  await shot('sign-in');
  await axe('sign-in');
  await signIn(config.contributor);
  result.header = await page.getByTestId('who').innerText();
  result.url_after_sign_in = new URL(page.url()).pathname;

  step('upload through the file picker (tus)');
  await page.evaluate(() => {
    window.__marker = 'no reload';
  });
  await page.getByLabel('Choose video files to upload').setInputFiles(config.upload_video);
  const bar = page.getByRole('progressbar', { name: `Upload of ${basename(config.upload_video)}` });
  await bar.waitFor({ timeout: T });
  result.upload_progress = [];
  for (let i = 0; i < 600; ++i) {
    const v = Number(await bar.getAttribute('value'));
    if (result.upload_progress.at(-1) !== v) result.upload_progress.push(v);
    if ((await page.getByText('uploaded', { exact: true }).count()) > 0) break;
    await page.waitForTimeout(50);
  }
  result.upload_max = Number(await bar.getAttribute('max'));
  result.upload_done = (await page.getByText('uploaded', { exact: true }).count()) > 0;

  step('a submission sent through the API appears live');
  const id = await apiUpload(config.contributor, config.api_video, { platform: 'telegram', description: 'Колонна на трассе у Шебекино' });
  result.api_submission_id = id;
  const row = page.locator(`[data-testid=submission-row][data-id="${id}"]`);
  const t0 = Date.now();
  await row.waitFor({ timeout: 10000 });
  result.row_appeared_ms = Date.now() - t0;
  await page.locator(`[data-testid=submission-row][data-id="${id}"][data-status=done]`).waitFor({ timeout: 240000 });
  result.analysis_done_live = true;
  result.reloaded = (await page.evaluate(() => window.__marker)) !== 'no reload';
  await shot('inbox');
  await axe('inbox');

  step('submission page: frames and GPS');
  await row.getByRole('link').first().click();
  await page.getByTestId('frame').first().waitFor({ timeout: T });
  result.frames = await page.getByTestId('frame').count();
  await page.getByTestId('gps').waitFor({ timeout: T });
  result.gps = await page.getByTestId('gps').innerText();
  result.description_shown = (await page.getByText('Колонна на трассе у Шебекино').count()) > 0;
  // The sun for the footage's time and GPS, in words and on its map.
  await page.getByTestId('sun-azimuth').waitFor({ timeout: T });
  result.sun = {
    azimuth: await page.getByTestId('sun-azimuth').innerText(),
    shadow: await page.getByTestId('sun-shadow').innerText(),
  };
  await shot('submission');
  await axe('submission');

  step('new observation with a heading');
  await page.getByRole('link', { name: 'New observation' }).click();
  await page.getByLabel('Observed at (UTC)').fill('2022-02-20T06:30');
  await page.getByLabel('Latitude').fill(String(config.lat));
  await page.getByLabel('Longitude').fill(String(config.lon));
  await page.getByLabel(/^Heading/).fill('200');
  for (let i = 0; i < 3; ++i) await page.getByRole('button', { name: 'Add one truck' }).click();
  await page.getByRole('button', { name: 'Add one tank' }).click();
  await page.getByRole('button', { name: 'Create observation' }).click();
  await page.getByTestId('derived').waitFor({ timeout: T });
  await page.waitForURL(/\/observations\/\d+$/, { timeout: T });
  result.observation_id = Number(/\/observations\/(\d+)$/.exec(page.url())[1]);
  result.movement = await page.getByTestId('movement').innerText();
  await shot('observation');
  await axe('observation');
  await collectCsp();

  step('sign out; the other organisation\'s analyst signs in');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Access token').waitFor({ timeout: T });
  await signIn(config.analyst);
  await page.getByRole('table', { name: 'Submissions' }).waitFor({ timeout: T });
  await page.locator(`[data-testid=submission-row][data-id="${id}"]`).waitFor({ timeout: T });
  result.private_in_inbox = await page.locator(`[data-testid=submission-row][data-id="${config.private_submission_id}"]`).count();
  await page.goto(`${config.base}/submissions/${config.private_submission_id}`, { waitUntil: 'load' });
  await page.getByRole('alert').first().waitFor({ timeout: T });
  result.private_page = await page.getByRole('alert').first().innerText();

  step('verify from the queue with the keyboard');
  await page.getByRole('link', { name: 'Verify' }).click();
  const item = page.locator(`[data-testid=queue-item][data-id="${result.observation_id}"]`);
  await item.waitFor({ timeout: T });
  const ids = await page.getByTestId('queue-item').evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
  const index = ids.indexOf(result.observation_id);
  for (let i = 0; i < index; ++i) await page.keyboard.press('j');
  result.current_is_observation = (await item.getAttribute('aria-current')) === 'true';
  await page.getByLabel('Note').fill('matches the frames; place checked');
  await page.keyboard.press('Escape');
  await shot('verify');
  await axe('verify');
  await page.keyboard.press('v');
  await page.getByText(`Observation #${result.observation_id} verified.`).waitFor({ timeout: T });
  const verified = await apiGet(config.analyst, `/api/v1/observations/${result.observation_id}`);
  result.status_after_verify = verified.status;

  step('aggregates: the verified vehicles counted');
  await page.getByRole('link', { name: 'Aggregates' }).click();
  await page.getByLabel('Since').fill('2022-02-01');
  await page.getByTestId('agg-day').first().waitFor({ timeout: T });
  result.aggregate_rows = await page.getByRole('table', { name: 'Vehicles per day and oblast' }).locator('tbody tr').evaluateAll(
    (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
  await shot('aggregates');
  await axe('aggregates');

  step('the convoys screen lists the tracks of a window');
  await page.getByRole('link', { name: 'Convoys' }).click();
  const convoyForm = page.getByRole('form', { name: 'Filter convoys' });
  await convoyForm.waitFor({ timeout: T });
  await convoyForm.getByLabel('From').fill('2022-02-19');
  await convoyForm.getByLabel('To').fill('2022-02-22');
  await page.getByTestId('convoy-window').getByText(/2022-02-19/).waitFor({ timeout: T });
  result.convoys = {
    url: new URL(page.url()).pathname,
    window: await page.getByTestId('convoy-window').innerText(),
    alerts: await page.getByRole('alert').count(),
  };
  await shot('convoys');
  await axe('convoys');

  step('the map draws the observation tiles');
  await page.getByRole('link', { name: 'Map' }).click();
  // Settled: the observation source asks for the wanted URL, its tiles and every other source's
  // are loaded, and a frame has been drawn since (queryRenderedFeatures reads the last frame).
  // MapLibre's `idle` is not waited for: after setTiles on SwiftShader it does not always follow.
  const idle = async (want) => {
    await page.waitForFunction(
      (want) => {
        const map = window.cwMap;
        if (!map || !map.loaded()) return false;
        const src = map.getSource('observations');
        if (!src || !src.tiles || (want && !decodeURIComponent(src.tiles[0]).includes(want))) return false;
        return map.isSourceLoaded('observations') && map.areTilesLoaded();
      },
      want ?? '',
      { timeout: 60000 },
    );
    await page.evaluate(() => new Promise((resolve) => {
      const map = window.cwMap;
      map.once('render', () => requestAnimationFrame(() => resolve()));
      map.triggerRepaint();
    }));
  };
  await idle();
  await page.getByText(/^\d+ observations in view$/).waitFor({ timeout: T });
  result.map_low = await page.evaluate(() => {
    const map = window.cwMap;
    const cells = map.queryRenderedFeatures({ layers: ['observation-cells'] });
    return {
      zoom: map.getZoom(),
      cells: cells.length,
      cell_count: cells.reduce((n, f) => n + Number(f.properties.count), 0),
      layers: ['observation-points', 'observation-cells', 'convoy-lines', 'convoy-arrows', 'imagery-fill'].filter((l) => map.getLayer(l)),
      server_layers_left: map.getStyle().layers.filter((l) => l.source === 'observation-tiles').length,
    };
  });
  result.map_count_text = await page.getByTestId('map-count').innerText();
  result.tile_layers_requested = [...new Set(tileRequests.map((r) => r.layer))].sort();

  step('the map shows the mark at its projected pixel');
  const markAt = () =>
    page.evaluate(({ lat, lon, id }) => {
      const map = window.cwMap;
      const p = map.project([lon, lat]);
      const canvas = map.getCanvas();
      const hits = map.queryRenderedFeatures([[p.x - 2, p.y - 2], [p.x + 2, p.y + 2]], { layers: ['observation-points'] });
      const far = map.queryRenderedFeatures([[p.x + 60, p.y + 60], [p.x + 64, p.y + 64]], { layers: ['observation-points'] });
      return {
        x: p.x,
        y: p.y,
        zoom: map.getZoom(),
        inside: p.x >= 0 && p.y >= 0 && p.x <= canvas.clientWidth && p.y <= canvas.clientHeight,
        hit_ids: hits.map((f) => Number(f.id)),
        far_ids: far.map((f) => Number(f.id)),
        has_mark: hits.some((f) => Number(f.id) === id),
      };
    }, { lat: config.lat, lon: config.lon, id: result.observation_id });
  await page.goto(`${config.base}/map?lat=${config.lat}&lon=${config.lon}&z=11`, { waitUntil: 'load' });
  await idle();
  result.map = await markAt();
  result.in_view_listed = await page.locator(`[data-testid=in-view][data-id="${result.observation_id}"]`).count();
  result.map_problem = (await page.getByTestId('map-problem').count()) > 0 ? await page.getByTestId('map-problem').innerText() : null;
  await shot('map');
  await axe('map');

  step('the time slider, from the keyboard, sets the tiles\' from/to');
  const slider = page.getByRole('slider', { name: 'Day' });
  await page.waitForFunction(() => !document.querySelector('[data-testid=timeline] input[type=range]').disabled, null, { timeout: T });
  await page.getByRole('radio', { name: 'Per day' }).check();
  await idle('to=');
  result.slider_today = { valuetext: await slider.getAttribute('aria-valuetext'), mark: (await markAt()).has_mark };
  await slider.focus();
  await page.keyboard.press('Home');
  await idle('from=2022-02-20T00:00:00Z&to=2022-02-21T00:00:00Z');
  result.slider_day = {
    valuetext: await slider.getAttribute('aria-valuetext'),
    url: new URL(page.url()).search,
    mark: (await markAt()).has_mark,
  };
  await page.keyboard.press('ArrowRight');
  await idle('from=2022-02-21T00:00:00Z&to=2022-02-22T00:00:00Z');
  result.slider_next_day = { valuetext: await slider.getAttribute('aria-valuetext'), mark: (await markAt()).has_mark };
  await page.keyboard.press('ArrowLeft');
  await idle('from=2022-02-20T00:00:00Z&to=2022-02-21T00:00:00Z');
  result.tile_queries = {
    observations: [...new Set(tileRequests.filter((r) => r.layer === 'observations').map((r) => r.query))],
    convoys: [...new Set(tileRequests.filter((r) => r.layer === 'convoys').map((r) => r.query))],
  };
  await page.reload({ waitUntil: 'load' });
  await idle('from=2022-02-20T00:00:00Z&to=2022-02-21T00:00:00Z');
  result.after_reload = {
    valuetext: await page.getByRole('slider', { name: 'Day' }).getAttribute('aria-valuetext'),
    mark: (await markAt()).has_mark,
  };

  step('the oblasts shaded by vehicles, and the view exported as CSV');
  await page.getByLabel('Shade oblasts by vehicles').check();
  await page.getByTestId('shade-legend').getByText(/Vehicles per oblast/).waitFor({ timeout: T });
  result.shade = {
    url: page.url().includes('shade=1'),
    legend: await page.getByTestId('shade-legend').innerText(),
  };
  await axe('map-shaded');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: T }),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const csv = (await import('node:fs')).readFileSync(await download.path(), 'utf8');
  result.export_csv = { name: download.suggestedFilename(), lines: csv.split(/\r?\n/).filter((l) => l !== '') };

  step('clicking the mark opens the observation');
  const box = await page.locator('.maplibregl-canvas').boundingBox();
  const at = await markAt();
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForURL(/\/observations\/\d+$/, { timeout: T });
  result.clicked_to = new URL(page.url()).pathname;
  await collectCsp();

  step('an admin issues a token, copies it, and revokes it');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: config.base });
  page.on('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Access token').waitFor({ timeout: T });
  await signIn(config.admin);
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('table', { name: 'Users' }).locator('[data-testid=user-row][data-name=carla]').waitFor({ timeout: T });
  await page.getByRole('table', { name: 'Active tokens' }).locator('[data-testid=token-row]').first().waitFor({ timeout: T });
  await axe('admin');
  await page.getByLabel('Label of a new token for carla').fill('laptop');
  await page.getByRole('button', { name: 'Issue token for carla' }).click();
  const box2 = page.getByTestId('new-token');
  await box2.waitFor({ timeout: T });
  const tokenId = Number(await box2.getAttribute('data-id'));
  const token = await page.getByTestId('new-token-value').innerText();
  result.token = { id: tokenId, shape: /^cw_[0-9a-f]{64}$/.test(token) };
  await page.getByRole('button', { name: 'Copy token' }).click();
  await page.getByText('Copied to the clipboard.').waitFor({ timeout: T });
  result.token.clipboard_matches = (await page.evaluate(() => navigator.clipboard.readText())) === token;
  const me = await apiGet(token, '/api/v1/me');
  result.token.me = me.name;
  const tokenRow = page.locator(`[data-testid=token-row][data-id="${tokenId}"]`);
  await tokenRow.waitFor({ timeout: T });
  result.token.row = await tokenRow.innerText();
  await axe('admin-new-token');
  await shot('admin');
  await tokenRow.getByRole('button', { name: `Revoke token #${tokenId}` }).click();
  await page.getByText(`Token #${tokenId} revoked.`).waitFor({ timeout: T });
  await tokenRow.waitFor({ state: 'detached', timeout: T });
  result.token.shown_after_revoke = await page.getByTestId('new-token').count();
  result.token.status_after_revoke = await apiStatus(token, '/api/v1/me');
  await collectCsp();
  step('done');
  console.log(JSON.stringify(result));
  await browser.close();
} catch (err) {
  result.error = String(err?.message ?? err);
  try {
    result.last_state = await browser.contexts()[0].pages()[0].evaluate(() => ({
      url: location.href,
      idle_attr: document.body.getAttribute('data-map-idle'),
      loaded: window.cwMap?.loaded(),
      tiles: window.cwMap?.getSource('observations')?.tiles,
    }));
  } catch {}
  console.log(JSON.stringify(result));
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
