// The dashboard's story in Debian's headless Chromium (through playwright-core), against a real
// `convoywatch serve` that serves the built dashboard. Prints one JSON line of what a test
// checks, with `step` naming the step that failed (and `error`) when one did:
//   1. a contributor signs in (the "Access token" field, the "Sign in" button);
//   2. uploads a video through the file picker with tus: the progress bar reaches the file size;
//   3. a video sent through the API meanwhile appears in the inbox without a reload and its
//      analysis finishes there live;
//   4. the submission page shows its frames and its GPS, and plays the original in its <video>
//      from a signed link (no token in a <video>): the element reaches loadedmetadata from the
//      real server;
//   5. "New observation" from it, with a heading and equipment: the server's derived values;
//      then in the inbox, "Select all on this page" and "Add tag" is refused as a whole (one row
//      is a colleague's: 403, shown in the bar, nothing tagged); the two own rows tagged at once,
//      and the "Tag" filter (tag= in the URL and the API call) lists exactly them;
//   6. an analyst of the other organisation signs in: the first organisation's org-private
//      submission appears neither in the inbox nor at its URL; verifies the observation from the
//      queue with the keyboard (j/k, v);
//   7. the aggregates table and chart count its vehicles on its day; "Download chart as PNG" saves
//      a PNG (its signature) of the chart's size;
//   8. the map: drawn from the server's vector tiles (observation, convoy and imagery tiles
//      requested with the filters in their URLs; grouped cells at low zoom); at a deep-linked
//      zoom the observation's mark is at the pixel its coordinates project to (read from the
//      map's projection and its rendered features, not from a screenshot); the time slider,
//      from the keyboard, changes the tiles' from/to and what is drawn, and survives a reload;
//      clicking the mark opens the observation;
//   9. the imagery screen (two reference images uploaded through the API: aero1.jpg of
//      Debian's opencv-doc and a copy turned, relit and with dark vehicle-sized boxes, made with
//      ffmpeg): the list and the footprints' map; before and after chosen, "Compare": its state
//      until done, the counted blobs listed as the API counted them, the swipe slider moved from
//      the keyboard changes the pixels drawn, the change overlay toggled changes them again; a
//      reload keeps the comparison (its URL), back leaves it;
//   9b. the submission page of a video of aero3.jpg (the same town, another view) that the analyst
//      sent with a claimed point: the imagery near that point offered, a frame chosen from its
//      full-size view ("Match this frame to imagery"), the match's state until done, its result
//      as the API's, and the matched footprint in the map's source and drawn by its layer;
//  10. an admin issues a token for the contributor (shown once, copied with the button), and
//      revokes it: the API accepts it, then refuses it.
// Every screen visited is checked with axe-core (@axe-core/playwright): its violations, by rule,
// impact and element, are reported per screen.
// Console errors, page errors and Content-Security-Policy violations are collected throughout;
// failed resource loads are listed with their URL so the test can tell expected ones apart.
//
// Usage: node dashboard_browser.mjs CONFIG.json   (exit 0: ran to the end; 1: a step failed)
// CONFIG: {base, contributor, contributor_name, analyst, analyst_name, upload_video, api_video,
//          private_submission_id, screenshots, admin, lat, lon, [imagery_source]}
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
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

async function apiPost(token, path, body) {
  const res = await fetch(`${config.base}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

// A reference image uploaded through the API (analysts): JPEG or PNG with its corners.
async function apiImagery(token, file, metadata) {
  const form = new FormData();
  form.append('metadata', JSON.stringify(metadata));
  form.append('file', new Blob([readFileSync(file)], { type: file.endsWith('.png') ? 'image/png' : 'image/jpeg' }), basename(file));
  const res = await fetch(`${config.base}/api/v1/imagery`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  if (res.status !== 201) throw new Error(`API imagery upload: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

// The "after" image: the "before" turned by 3°, relit, with eight dark vehicle-sized boxes.
function makeAfter(source, out) {
  const boxes = [[120, 110], [200, 300], [330, 150], [420, 260], [520, 120], [150, 400], [470, 380], [300, 60]]
    .map(([x, y]) => `drawbox=x=${x}:y=${y}:w=10:h=5:color=black@1:t=fill`)
    .join(',');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', source, '-vf', `rotate=3*PI/180:fillcolor=gray,eq=brightness=0.05:contrast=0.92,${boxes}`, '-frames:v', '1', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60000,
  });
}

let browser;
let work;
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
  // The page (or only `part` of it, a locator) as docs/dashboard shows it.
  const shot = async (name, fullPage = false, part = null) => {
    const path = `${config.screenshots}/${name}.png`;
    await (part ? part.screenshot({ path }) : page.screenshot({ path, fullPage }));
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
  // The new screens' axe results judged here as well (the C++ test judges every screen's).
  const axeClean = (name) => {
    if (result.axe[name].length) throw new Error(`axe-core violations on ${name}: ${JSON.stringify(result.axe[name])}`);
  };
  // A comparison's or a match's state as the page shows it, each change, until done or failed.
  const taskStates = async (state, ms) => {
    await state.waitFor({ timeout: T });
    const states = [];
    for (const end = Date.now() + ms; Date.now() < end; ) {
      const text = ((await state.count()) ? await state.innerText() : '').trim();
      if (text && states.at(-1) !== text) states.push(text);
      if (/^(Done|Failed)/.test(text)) break;
      await page.waitForTimeout(100);
    }
    return states;
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
  // The last value, in case the upload ended between the last reading and the check.
  const last = Number(await bar.getAttribute('value'));
  if (result.upload_progress.at(-1) !== last) result.upload_progress.push(last);
  result.upload_max = Number(await bar.getAttribute('max'));
  result.upload_done = (await page.getByText('uploaded', { exact: true }).count()) > 0;
  const uploadLink = page.getByTestId('upload').getByRole('link', { name: /^Submission \d+$/ });
  await uploadLink.waitFor({ timeout: T });
  result.upload_submission_id = Number(/\d+/.exec(await uploadLink.innerText())[0]);

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
  step('submission page: the video plays from a signed link');
  const player = page.getByTestId('player');
  await player.waitFor({ timeout: T });
  await page.waitForFunction(() => document.querySelector('[data-testid=player]')?.readyState >= 1, null, { timeout: T });
  result.video = await player.evaluate((v) => ({
    src: new URL(v.currentSrc || v.src).pathname + new URL(v.currentSrc || v.src).search.replace(/signature=[0-9a-f]+/, 'signature=…'),
    ready_state: v.readyState,
    duration: v.duration,
    width: v.videoWidth,
  }));
  if (!result.video.src.startsWith('/api/v1/media/') || !result.video.src.includes('/original/signed?')) {
    throw new Error(`the player does not play a signed link: ${result.video.src}`);
  }
  if (!(result.video.duration > 2.5 && result.video.duration < 3.5)) throw new Error(`the video's duration is ${result.video.duration}, not 3 s`);
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

  step('bulk tagging in the inbox: refused as a whole, then two rows tagged');
  const tagCalls = [];
  const onRequest = (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/api/v1/submissions' && req.method() === 'GET') tagCalls.push(u.searchParams.get('tag'));
  };
  page.on('request', onRequest);
  await page.getByRole('link', { name: 'Inbox' }).click();
  const own = [result.upload_submission_id, id];
  for (const sid of [...own, config.private_submission_id]) await page.locator(`[data-testid=submission-row][data-id="${sid}"]`).waitFor({ timeout: T });
  const bulk = page.getByTestId('bulk-bar');
  const tag = `story-${Date.now() % 100000}`;
  await page.getByRole('checkbox', { name: 'Select all on this page' }).check();
  result.bulk = { all_count: await page.getByTestId('bulk-count').innerText() };
  await bulk.getByRole('textbox', { name: 'Tag', exact: true }).fill(tag);
  await bulk.getByRole('button', { name: 'Add tag' }).click();
  await bulk.getByRole('alert').waitFor({ timeout: T });
  result.bulk.refused = await bulk.getByRole('alert').innerText();
  result.bulk.tagged_after_refusal = (await Promise.all(own.map((sid) => apiGet(config.contributor, `/api/v1/submissions/${sid}`)))).filter((x) => x.tags.includes(tag)).length;
  await page.getByRole('checkbox', { name: 'Select all on this page' }).uncheck();
  for (const sid of own) {
    await page.locator(`[data-testid=submission-row][data-id="${sid}"]`).getByRole('checkbox', { name: new RegExp(`^Select submission #${sid}\\b`) }).check();
  }
  result.bulk.count = await page.getByTestId('bulk-count').innerText();
  await bulk.getByRole('button', { name: 'Add tag' }).click();
  await page.getByTestId('bulk-result').waitFor({ timeout: T });
  result.bulk.done = await page.getByTestId('bulk-result').innerText();
  result.bulk.alerts_after = await bulk.getByRole('alert').count();
  const filter = page.getByRole('form', { name: 'Filter submissions' }).getByRole('textbox', { name: 'Tag', exact: true });
  await filter.fill(tag);
  await filter.press('Tab');
  await page.waitForURL((u) => u.searchParams.get('tag') === tag, { timeout: T });
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=submission-row]').length === n && !document.querySelector('main [aria-busy=true]'),
    own.length,
    { timeout: T },
  );
  result.bulk.filter_url = new URL(page.url()).search;
  result.bulk.filtered_ids = (await page.getByTestId('submission-row').evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.id)))).sort((a, b) => a - b);
  result.bulk.own_ids = [...own].sort((a, b) => a - b);
  result.bulk.api_tag_queries = [...new Set(tagCalls.filter(Boolean))];
  result.bulk.row_tags = await page.locator(`[data-testid=submission-row][data-id="${id}"]`).innerText();
  page.off('request', onRequest);
  if (JSON.stringify(result.bulk.filtered_ids) !== JSON.stringify(result.bulk.own_ids)) {
    throw new Error(`the tag filter lists ${JSON.stringify(result.bulk.filtered_ids)}, not the two tagged ${JSON.stringify(result.bulk.own_ids)}`);
  }
  await page.evaluate(() => document.activeElement?.blur());
  await shot('inbox-tags');
  await axe('inbox-tags');
  await collectCsp();

  step('sign out; the other organisation\'s analyst signs in');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Access token').waitFor({ timeout: T });
  await signIn(config.analyst);
  // A video of aero3.jpg sent by the analyst now, so that it is analysed by the frame match step.
  work = mkdtempSync(join(tmpdir(), 'cw-story-imagery-'));
  const imageData = dirname(config.imagery_source ?? '/usr/share/doc/opencv-doc/examples/data/aero1.jpg');
  const clip = join(work, 'aero3.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', join(imageData, 'aero3.jpg'), '-t', '2', '-r', '5', '-c:v', 'libx264', '-crf', '12', '-pix_fmt', 'yuv420p', clip], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60000,
  });
  const claimed = { lat: 50.6155, lon: 36.5896 };
  const matchSubmission = await apiUpload(config.analyst, clip, {
    platform: 'other',
    description: 'aero3 from above the town',
    posted_at: '2022-02-20T09:00:00Z',
    claimed_location: claimed,
  });
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
  axeClean('aggregates');
  const chartSvg = page.getByRole('img', { name: /^Vehicles toward/ });
  const chartSize = await chartSvg.evaluate((svg) => ({ width: svg.width.baseVal.value, height: svg.height.baseVal.value }));
  const [pngDownload] = await Promise.all([
    page.waitForEvent('download', { timeout: T }),
    page.getByRole('button', { name: 'Download chart as PNG' }).click(),
  ]);
  const png = readFileSync(await pngDownload.path());
  result.chart_png = {
    name: pngDownload.suggestedFilename(),
    signature: png.subarray(0, 8).toString('hex'),
    header: png.subarray(12, 16).toString('latin1'),
    width: png.length >= 24 ? png.readUInt32BE(16) : null,
    height: png.length >= 24 ? png.readUInt32BE(20) : null,
    bytes: png.length,
    chart: chartSize,
    alerts: await page.getByRole('alert').count(),
    // What it shows: its pixels decoded by the browser, the bars' red (toward) counted.
    pixels: await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = c.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const d = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
      let red = 0, white = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] === 0xd6 && d[i + 1] === 0x28 && d[i + 2] === 0x28) red += 1;
        if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255 && d[i + 3] === 255) white += 1;
      }
      return { red, white, total: d.length / 4 };
    }, png.toString('base64')),
  };
  if (result.chart_png.signature !== '89504e470d0a1a0a' || result.chart_png.header !== 'IHDR') {
    throw new Error(`the chart's download is not a PNG: ${JSON.stringify(result.chart_png)}`);
  }
  if (result.chart_png.width !== chartSize.width || result.chart_png.height !== chartSize.height) {
    throw new Error(`the chart's PNG is not the chart's size: ${JSON.stringify(result.chart_png)}`);
  }
  if (!(result.chart_png.pixels.red > 0 && result.chart_png.pixels.white > result.chart_png.pixels.total / 2)) {
    throw new Error(`the chart's PNG does not show the chart (red bars on white): ${JSON.stringify(result.chart_png)}`);
  }

  step('the convoys screen lists the tracks of a window');
  // A column the next day, 17 km west of the story's observation (which the map steps read
  // alone on its day and at its place): three sightings 40 minutes apart heading south-west.
  for (const [i, [lat, lon]] of [[50.7, 36.45], [50.66, 36.4], [50.62, 36.35]].entries()) {
    await apiPost(config.analyst, '/api/v1/observations', {
      observed_at: `2022-02-21T0${6 + Math.floor((i * 40) / 60)}:${String((i * 40) % 60).padStart(2, '0')}:00Z`,
      location: { lat, lon },
      location_precision: 'vicinity',
      heading_deg: 225,
      equipment: [{ type: 'truck', count: 5 }, { type: 'ifv', count: 2 }],
    });
  }
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
    rows: await page.getByTestId('convoy-row').count(),
  };
  await page.evaluate(() => document.activeElement?.blur());
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

  step('the imagery screen: two images compared, the swipe and the overlay');
  const source = config.imagery_source ?? '/usr/share/doc/opencv-doc/examples/data/aero1.jpg';
  const afterFile = join(work, 'after.png');
  makeAfter(source, afterFile);
  const corners = [[50.62, 36.58], [50.62, 36.6], [50.61, 36.6], [50.61, 36.58]];
  const beforeId = await apiImagery(config.analyst, source, { captured_at: '2022-02-14T08:30:00Z', source: 'aerial photo', corners });
  const afterId = await apiImagery(config.analyst, afterFile, { captured_at: '2022-02-20T08:30:00Z', source: 'aerial photo', corners });
  result.imagery = { before: beforeId, after: afterId };
  await page.getByRole('link', { name: 'Imagery' }).click();
  await page.waitForURL(/\/imagery$/, { timeout: T });
  for (const iid of [beforeId, afterId]) await page.locator(`[data-testid=imagery-row][data-id="${iid}"]`).waitFor({ timeout: T });
  result.imagery.rows = await page.getByTestId('imagery-row').count();
  await page.waitForFunction(() => window.cwImageryMap?.loaded() && window.cwImageryMap.getSource('imagery'), null, { timeout: 60000 });
  await axe('imagery');
  const compareForm = page.getByRole('form', { name: 'Compare two images' });
  await compareForm.getByRole('combobox', { name: /^Before/ }).selectOption(String(beforeId));
  await compareForm.getByRole('combobox', { name: /^After/ }).selectOption(String(afterId));
  await page.waitForURL((u) => u.searchParams.get('before') === String(beforeId) && u.searchParams.get('after') === String(afterId), { timeout: T });
  await compareForm.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL((u) => u.searchParams.has('comparison'), { timeout: T });
  const comparisonId = Number(new URL(page.url()).searchParams.get('comparison'));
  result.imagery.comparison = comparisonId;
  result.imagery.states = await taskStates(page.getByTestId('comparison-state'), 240000);
  const task = await apiGet(config.analyst, `/api/v1/imagery/comparisons/${comparisonId}`);
  result.imagery.api_state = task.state;
  if (task.state !== 'done') throw new Error(`the comparison ended ${task.state}: ${task.last_error}`);
  result.imagery.api_blob_count = task.result.blob_count;
  result.imagery.blob_count_shown = await page.getByTestId('blob-count').innerText();
  result.imagery.blob_rows = await page.getByTestId('blob-row').count();
  const canvas = page.getByTestId('swipe-canvas');
  await page.waitForSelector('[data-testid=swipe-canvas][data-drawn]', { timeout: 60000 });
  // What the canvas shows: a checksum of its pixels (no screenshot comparison).
  const drawn = async (want) => {
    await page.waitForFunction((w) => document.querySelector('[data-testid=swipe-canvas]')?.dataset.drawn?.match(w), want, { timeout: T });
    return canvas.evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 4 * 13) sum = (sum * 31 + d[i] + 3 * d[i + 1] + 7 * d[i + 2]) % 1000000007;
      return { sum, drawn: c.dataset.drawn, width: c.width, height: c.height };
    });
  };
  const swipe = page.getByRole('slider', { name: 'Swipe between before and after' });
  result.imagery.swipe = { start: await swipe.getAttribute('aria-valuetext'), half: await drawn('^\\d+:after') };
  await swipe.focus();
  await page.keyboard.press('Home');
  result.imagery.swipe.after_only = { text: await swipe.getAttribute('aria-valuetext'), ...(await drawn('^0:after')) };
  await page.getByLabel(/^Show the change overlay/).check();
  result.imagery.swipe.overlay = { ...(await drawn('^0:overlay')) };
  await swipe.focus();
  await page.keyboard.press('End');
  result.imagery.swipe.before_only = { text: await swipe.getAttribute('aria-valuetext'), ...(await drawn(`^${result.imagery.swipe.half.width}:overlay`)) };
  const sums = [result.imagery.swipe.half.sum, result.imagery.swipe.after_only.sum, result.imagery.swipe.overlay.sum, result.imagery.swipe.before_only.sum];
  if (new Set(sums).size !== 4) throw new Error(`the swipe and the overlay do not change what is drawn: ${JSON.stringify(result.imagery.swipe)}`);
  await page.keyboard.press('PageDown');
  await page.keyboard.press('PageDown');
  await page.waitForFunction((w) => document.querySelector('[data-testid=swipe-canvas]')?.dataset.drawn?.split(':')[0] !== String(w), result.imagery.swipe.half.width);
  await axe('imagery-comparison');
  await page.evaluate(() => document.activeElement?.blur());
  await shot('imagery', true);
  await page.getByLabel(/^Show the change overlay/).uncheck();
  await drawn('^\\d+:after');
  await page.reload({ waitUntil: 'load' });
  await page.getByTestId('comparison-state').getByText('Done.').waitFor({ timeout: T });
  await page.waitForSelector('[data-testid=swipe-canvas][data-drawn]', { timeout: 60000 });
  result.imagery.after_reload = { url: new URL(page.url()).search, blob_rows: await page.getByTestId('blob-row').count() };
  await page.goBack();
  await page.waitForURL((u) => !u.searchParams.has('comparison'), { timeout: T });
  await page.getByTestId('comparison').waitFor({ state: 'detached', timeout: T });
  result.imagery.back = new URL(page.url()).search;
  await collectCsp();

  step('the submission page: a frame matched to imagery, its footprint on the map');
  const imageryQueries = [];
  const onImageryRequest = (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/api/v1/imagery' && req.method() === 'GET') imageryQueries.push(u.searchParams.get('bbox'));
  };
  page.on('request', onImageryRequest);
  await page.goto(`${config.base}/submissions/${matchSubmission}`, { waitUntil: 'load' });
  await page.getByTestId('frame').first().waitFor({ timeout: 240000 });
  const matchForm = page.getByRole('form', { name: 'Match a frame to imagery' });
  await matchForm.waitFor({ timeout: T });
  const imageChoice = matchForm.getByRole('combobox', { name: 'Reference image' });
  result.frame_match = {
    submission: matchSubmission,
    imagery_bbox: imageryQueries.filter(Boolean),
    offered: (await imageChoice.locator('option').evaluateAll((os) => os.map((o) => Number(o.value)))).sort((a, b) => a - b),
  };
  // The frame chosen from its full-size view.
  await page.getByRole('button', { name: /^Open Frame \d+ at/ }).first().click();
  await page.getByRole('button', { name: 'Match this frame to imagery' }).click();
  const frameChoice = matchForm.getByRole('combobox', { name: 'Frame', exact: true });
  await page.waitForFunction(() => document.activeElement?.id === 'match-frame', null, { timeout: T });
  result.frame_match.frame = await frameChoice.inputValue();
  await imageChoice.selectOption(String(beforeId));
  const [posted] = await Promise.all([
    page.waitForResponse((r) => /\/api\/v1\/media\/[0-9a-f]{64}\/frames\/\d+\/match$/.test(r.url()) && r.request().method() === 'POST', { timeout: T }),
    matchForm.getByRole('button', { name: 'Match the frame to the image' }).click(),
  ]);
  result.frame_match.post = { status: posted.status(), path: new URL(posted.url()).pathname.replace(/[0-9a-f]{64}/, '{sha256}') };
  const matchUrl = (await posted.json()).url;
  result.frame_match.states = await taskStates(page.getByTestId('match-state'), 600000);
  const matches = await page.getByTestId('match').getByText(/^Frame \d+ of media/).innerText();
  result.frame_match.described = matches;
  page.off('request', onImageryRequest);
  await page.getByTestId('match-result').waitFor({ timeout: T });
  result.frame_match.result = await page.getByTestId('match-result').innerText();
  result.frame_match.matched_attr = await page.getByTestId('match-result').getAttribute('data-matched');
  // The footprint as the map holds it (its source) and draws it (its layer).
  await page.waitForFunction(() => {
    const map = window.cwMatchMap;
    if (!map || !map.loaded() || !map.getSource('chosen')) return false;
    return map.querySourceFeatures('chosen').some((f) => f.properties.role === 'match');
  }, null, { timeout: 60000, polling: 250 });
  result.frame_match.map = await page.evaluate(async () => {
    const map = window.cwMatchMap;
    const data = await map.getSource('chosen').getData();
    await new Promise((resolve) => {
      map.once('render', () => requestAnimationFrame(() => resolve()));
      map.triggerRepaint();
    });
    const drawn = map.queryRenderedFeatures({ layers: ['chosen-outline'] }).map((f) => f.properties.role);
    return {
      roles: data.features.map((f) => f.properties.role),
      footprint: data.features.find((f) => f.properties.role === 'match')?.geometry ?? null,
      layer: map.getLayer('chosen-outline')?.type ?? null,
      drawn: [...new Set(drawn)].sort(),
    };
  });
  const apiMatch = await apiGet(config.analyst, matchUrl);
  result.frame_match.api = { state: apiMatch.state, matched: apiMatch.result?.matched ?? null, frame: apiMatch.frame, imagery_id: apiMatch.imagery_id, reason: apiMatch.result?.reason ?? apiMatch.last_error };
  result.frame_match.footprint_as_api = JSON.stringify(result.frame_match.map.footprint) === JSON.stringify(apiMatch.result?.footprint ?? null);
  const fm = result.frame_match;
  if (apiMatch.state !== 'done' || !apiMatch.result?.matched) throw new Error(`the frame did not match: ${JSON.stringify(fm.api)}`);
  if (fm.states.at(-1) !== 'Done.' || !fm.result.startsWith('Matched:') || fm.matched_attr !== 'true') throw new Error(`the page does not show the match's result: ${JSON.stringify(fm)}`);
  if (!fm.footprint_as_api || !fm.map.drawn.includes('match') || fm.map.layer !== 'line') throw new Error(`the matched footprint is not on the map: ${JSON.stringify(fm)}`);
  if (String(apiMatch.frame) !== fm.frame || apiMatch.imagery_id !== beforeId) throw new Error(`the match is not of the chosen frame and image: ${JSON.stringify(fm)}`);
  if (!fm.offered.includes(beforeId) || !fm.imagery_bbox.length) throw new Error(`the imagery near the claimed point was not offered: ${JSON.stringify(fm)}`);
  await axe('submission-match');
  axeClean('submission-match');
  await page.evaluate(() => document.activeElement?.blur());
  await shot('submission-match', false, page.getByTestId('frame-match'));
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
  // A copy of the report for whoever works on the story (the test reads standard output).
  if (process.env.CW_STORY_RESULT) writeFileSync(process.env.CW_STORY_RESULT, JSON.stringify(result, null, 2));
  await browser.close();
  if (work) rmSync(work, { recursive: true, force: true });
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
  if (work) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}
