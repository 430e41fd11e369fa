// The submission page's video player, without a browser: the original is played from a signed
// link (POST /api/v1/media/{sha256}/original/link), since a <video> cannot send the token. A link
// is asked again when it has expired (or is about to) before play, and after a playback error.

/** Seconds before `expires_at` from which a link counts as expired (a seek must still work). */
export const LINK_MARGIN_S = 30;

/**
 * Whether a signed link has expired (or will within the margin) at `now` (ms since the epoch).
 * A link without a readable expiry counts as expired.
 * @param {{expires_at?: string} | null | undefined} link @param {number} now @param {number} [marginS]
 */
export function linkExpired(link, now, marginS = LINK_MARGIN_S) {
  const t = Date.parse(link?.expires_at ?? '');
  if (!Number.isFinite(t)) return true;
  return now >= t - marginS * 1000;
}

/**
 * The playable URL of a link: the server's relative URL on the API's origin; null when the
 * answer has no URL of this server's signed originals.
 * @param {{url?: string} | null | undefined} link @param {string} origin
 */
export function signedSrc(link, origin) {
  const url = link?.url;
  if (typeof url !== 'string' || !/^\/api\/v1\/media\/[0-9a-f]{64}\/original\/signed\?/.test(url)) return null;
  return new URL(url, origin).href;
}

/**
 * What a media element's error means and what to do (MediaError codes 1–4).
 * @param {number | undefined} code
 */
export function playbackProblem(code) {
  switch (code) {
    case 1:
      return 'Playback was stopped. Press play to try again.';
    case 2:
      return 'The video could not be downloaded (network error). Check your connection and press "Reload the video".';
    case 3:
      return 'The browser could not decode this video. Download the original and play it with another player.';
    case 4:
      return 'This browser cannot play this format (or the link was refused). Press "Reload the video"; if it persists, download the original and play it with another player.';
    default:
      return 'The video could not be played. Press "Reload the video".';
  }
}
