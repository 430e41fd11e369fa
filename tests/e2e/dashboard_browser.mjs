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
//   8. the map: the observation's mark is at the pixel its coordinates project to (read from
//      the map's projection and its rendered features, not from a screenshot).
// Console errors, page errors and Content-Security-Policy violations are collected throughout;
// failed resource loads are listed with their URL so the test can tell expected ones apart.
//
// Usage: node dashboard_browser.mjs CONFIG.json   (exit 0: ran to the end; 1: a step failed)
// CONFIG: {base, contributor, contributor_name, analyst, analyst_name, upload_video, api_video,
//          private_submission_id, screenshots}
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8'));
const result = {
  step: '',
  console_errors: [],
  page_errors: [],
  csp_violations: [],
  failed_resources: [],
  screenshots: [],
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

  step('submission page: frames and GPS');
  await row.getByRole('link').first().click();
  await page.getByTestId('frame').first().waitFor({ timeout: T });
  result.frames = await page.getByTestId('frame').count();
  await page.getByTestId('gps').waitFor({ timeout: T });
  result.gps = await page.getByTestId('gps').innerText();
  result.description_shown = (await page.getByText('Колонна на трассе у Шебекино').count()) > 0;
  await shot('submission');

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

  step('the map shows the mark at its projected pixel');
  await page.getByRole('link', { name: 'Map' }).click();
  await page.waitForFunction(() => window.cwMap && window.cwMap.loaded() && window.cwMap.getSource('observations'), null, { timeout: 60000 });
  await page.getByText(/^\d+ observations$/).waitFor({ timeout: T });
  await page.waitForFunction(() => document.body.hasAttribute('data-map-idle'), null, { timeout: 60000 });
  result.map = await page.evaluate(({ lat, lon, id }) => {
    const map = window.cwMap;
    const p = map.project([lon, lat]);
    const canvas = map.getCanvas();
    const hits = map.queryRenderedFeatures([[p.x - 2, p.y - 2], [p.x + 2, p.y + 2]], { layers: ['observations'] });
    const far = map.queryRenderedFeatures([[p.x + 60, p.y + 60], [p.x + 64, p.y + 64]], { layers: ['observations'] });
    return {
      x: p.x,
      y: p.y,
      inside: p.x >= 0 && p.y >= 0 && p.x <= canvas.clientWidth && p.y <= canvas.clientHeight,
      hit_ids: hits.map((f) => Number(f.properties.id)),
      far_ids: far.map((f) => Number(f.properties.id)),
      has_mark: hits.some((f) => Number(f.properties.id) === id),
    };
  }, { lat: config.lat, lon: config.lon, id: result.observation_id });
  result.map_problem = (await page.getByTestId('map-problem').count()) > 0 ? await page.getByTestId('map-problem').innerText() : null;
  await shot('map');
  await collectCsp();
  step('done');
  console.log(JSON.stringify(result));
  await browser.close();
} catch (err) {
  result.error = String(err?.message ?? err);
  console.log(JSON.stringify(result));
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
