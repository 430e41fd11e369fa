// Opens a report page in Debian's headless Chromium (through playwright-core), takes a full-page
// screenshot and prints what a test checks, as one JSON line:
//   {"console_errors": [...], "page_errors": [...], "failed_requests": [...],
//    "obs_marks": N, "width": W, "height": H}
// obs_marks counts the map's observation circles (svg circle.obs); width/height are the PNG's
// pixels. console_errors include Content-Security-Policy violations, so a page that tries to
// load anything from outside shows up there.
//
// Usage: node report_browser.mjs PAGE OUT.png [--header 'Name: value']... [--pdf OUT.pdf]
//   PAGE is a file path or an http(s) URL. The browser is $CW_CHROMIUM or /usr/bin/chromium.
//   --pdf also prints the page to A4 with the page's print styles and adds "pdf_pages".
// Exit 0 when the page was loaded and shot (the test judges the JSON), 1 when the browser could
// not load it (JSON with "error"), 2 on bad usage.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

function usage(message) {
  console.error(`${message}\nusage: node report_browser.mjs PAGE OUT.png [--header 'Name: value']... [--pdf OUT.pdf]`);
  process.exit(2);
}

const positional = [];
const headers = {};
let pdf_path = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--header') {
    const h = args[++i] ?? usage('--header needs a value');
    const colon = h.indexOf(':');
    if (colon <= 0) usage(`bad header: ${h}`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  } else if (args[i] === '--pdf') {
    pdf_path = args[++i] ?? usage('--pdf needs a path');
  } else {
    positional.push(args[i]);
  }
}
if (positional.length !== 2) usage('need PAGE and OUT.png');
const [page_arg, png_path] = positional;
const url = /^https?:\/\//i.test(page_arg) ? page_arg : pathToFileURL(resolve(page_arg)).href;

// Width and height from the PNG's IHDR chunk.
function png_size(path) {
  const b = readFileSync(path);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

const result = { console_errors: [], page_errors: [], failed_requests: [], obs_marks: 0 };
let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  const context = await browser.newContext({
    viewport: { width: 1000, height: 800 },
    extraHTTPHeaders: headers,
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.console_errors.push(msg.text());
  });
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  page.on('requestfailed', (req) =>
    result.failed_requests.push(`${req.url()}: ${req.failure()?.errorText ?? 'failed'}`));
  const response = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  if (response && !response.ok()) {
    throw new Error(`HTTP ${response.status()} for ${url}`);
  }
  result.obs_marks = await page.locator('svg circle.obs').count();
  await page.screenshot({ path: png_path, fullPage: true });
  Object.assign(result, png_size(png_path));
  if (pdf_path) {
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: pdf_path, format: 'A4', preferCSSPageSize: true, printBackground: true });
    // Page objects ("/Type /Page", not "/Pages") in the uncompressed object table.
    const text = readFileSync(pdf_path).toString('latin1');
    result.pdf_pages = (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
  }
  console.log(JSON.stringify(result));
  await browser.close();
} catch (err) {
  if (browser) await browser.close().catch(() => {});
  result.error = String(err?.message ?? err);
  console.log(JSON.stringify(result));
  process.exit(1);
}
