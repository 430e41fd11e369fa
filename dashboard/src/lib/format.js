// Formatting shared by the screens: times in UTC and in the viewer's zone, sizes, speeds.

/** @param {string | null | undefined} iso */
export function utc(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** @param {string | null | undefined} iso @param {string} [timeZone] */
export function local(iso, timeZone) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    timeZoneName: 'short',
  });
}

/** @param {number} n */
export function bytes(n) {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** @param {number} seconds */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Speed and time left of a transfer from its samples [{t: ms, bytes}], over the last 5 s.
 * @param {{t: number, bytes: number}[]} samples @param {number} total
 */
export function rate(samples, total) {
  if (samples.length < 2) return { bytesPerSecond: 0, secondsLeft: Infinity };
  const last = samples[samples.length - 1];
  let first = samples[0];
  for (const s of samples) if (last.t - s.t <= 5000) { first = s; break; }
  const dt = (last.t - first.t) / 1000;
  if (dt <= 0) return { bytesPerSecond: 0, secondsLeft: Infinity };
  const bytesPerSecond = (last.bytes - first.bytes) / dt;
  const secondsLeft = bytesPerSecond > 0 ? (total - last.bytes) / bytesPerSecond : Infinity;
  return { bytesPerSecond, secondsLeft };
}
