// After `vite build`: a gzip and a brotli copy next to every text asset in dist/, which
// `convoywatch serve` sends to browsers that accept them (server/handlers_dashboard.cpp).
// Prints the JavaScript's sizes, raw and gzip, per file and in total.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = new URL('./dist/', import.meta.url).pathname;
const text = /\.(js|mjs|css|html|svg|json|map|txt)$/;
let jsRaw = 0;
let jsGzip = 0;
let ownGzip = 0; // everything but MapLibre: the budget is 350 KB gzip
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
      continue;
    }
    if (!text.test(name)) continue;
    const body = readFileSync(path);
    const gz = gzipSync(body, { level: 9 });
    writeFileSync(`${path}.gz`, gz);
    writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    if (name.endsWith('.js')) {
      jsRaw += body.length;
      jsGzip += gz.length;
      if (!name.startsWith('maplibre-')) ownGzip += gz.length;
      console.log(`${name}: ${(body.length / 1024).toFixed(1)} KiB, gzip ${(gz.length / 1024).toFixed(1)} KiB`);
    }
  }
}
walk(dist);
console.log(`JavaScript in total: ${(jsRaw / 1024).toFixed(1)} KiB, gzip ${(jsGzip / 1024).toFixed(1)} KiB`);
console.log(`JavaScript excluding MapLibre: gzip ${(ownGzip / 1024).toFixed(1)} KiB (budget 350 KB)`);
