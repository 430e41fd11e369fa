// Uploads a file to ConvoyWatch with the real tus client (tus-js-client under Node.js), through
// a small TCP proxy that kills the connection once the PATCH body has carried --cut-after bytes,
// the way a phone loses its network mid-upload. tus-js-client then does what it does in the
// field: retries, asks the server for the offset (HEAD) and resumes the PATCH from there.
//   node tus_upload.mjs ENDPOINT TOKEN FILE METADATA_JSON [--cut-after BYTES]
// Prints one JSON line: {"url", "done", "cuts", "patch_offsets": [Upload-Offset of each PATCH]}.
import fs from 'node:fs';
import net from 'node:net';
import * as tus from 'tus-js-client';

const [endpoint, token, file, metadata, ...rest] = process.argv.slice(2);
let cutAfter = 0;
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === '--cut-after') cutAfter = Number(rest[i + 1]);
  else throw new Error(`unknown argument ${rest[i]}`);
}

const target = new URL(endpoint);
let cuts = 0;
const patchOffsets = [];
const proxy = net.createServer((client) => {
  const server = net.connect(Number(target.port), target.hostname);
  let patchBytes = -1;  // bytes forwarded since a PATCH header on this connection (-1: none)
  client.on('data', (chunk) => {
    const text = chunk.toString('latin1');
    const m = /^PATCH [^\r]*\r\n(?:[^\r]*\r\n)*?upload-offset: *(\d+)/im.exec(text);
    if (m) {
      patchOffsets.push(Number(m[1]));
      patchBytes = 0;
    }
    if (patchBytes >= 0) patchBytes += chunk.length;
    if (cutAfter > 0 && cuts === 0 && patchBytes > cutAfter) {
      cuts += 1;
      // Half the chunk goes through, then the connection dies in both directions.
      server.write(chunk.subarray(0, chunk.length >> 1), () => {
        server.destroy();
        client.destroy();
      });
      return;
    }
    server.write(chunk);
  });
  server.on('data', (chunk) => client.write(chunk));
  client.on('error', () => server.destroy());
  server.on('error', () => client.destroy());
  client.on('close', () => server.destroy());
  server.on('close', () => client.destroy());
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxied = `http://127.0.0.1:${proxy.address().port}${target.pathname}`;

const data = fs.readFileSync(file);
let result;
try {
  result = await new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {
      endpoint: proxied,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: 'convoy-clip.mp4', metadata },
      uploadSize: data.length,
      retryDelays: [100, 250, 500, 1000, 2000],
      storeFingerprintForResuming: false,
      onSuccess() {
        resolve({ url: upload.url, done: true });
      },
      onError(err) {
        reject(err);
      },
    });
    upload.start();
  });
} finally {
  proxy.close();
}
process.stdout.write(`${JSON.stringify({ ...result, cuts, patch_offsets: patchOffsets })}\n`);
process.exit(0);
