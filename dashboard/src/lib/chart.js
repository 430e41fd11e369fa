// The aggregates chart as a file: its SVG made ready to be drawn onto a canvas (its size set, a
// white background under it, as the page shows it) and the downloaded files' names.

/**
 * The chart's size in pixels, from the root element's width and height (or its viewBox).
 * @param {string} svg the serialised <svg>
 * @returns {{width: number, height: number} | null}
 */
export function svgSize(svg) {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0];
  if (!root) return null;
  const attr = (/** @type {string} */ name) => {
    const m = new RegExp(`\\s${name}="([^"]*)"`).exec(root);
    return m ? m[1] : null;
  };
  let width = Number.parseFloat(attr('width') ?? '');
  let height = Number.parseFloat(attr('height') ?? '');
  if (!(width > 0 && height > 0)) {
    const v = (attr('viewBox') ?? '').trim().split(/[\s,]+/).map(Number);
    if (v.length !== 4 || !(v[2] > 0 && v[3] > 0)) return null;
    [width, height] = [v[2], v[3]];
  }
  return { width: Math.round(width), height: Math.round(height) };
}

/**
 * The SVG to draw onto a canvas of `size`: its width and height set (an <img> of an SVG without
 * them has no size), the SVG namespace present, and a `background` rectangle under the chart
 * (a PNG is transparent where nothing is drawn).
 * @param {string} svg @param {{width: number, height: number}} size @param {string} [background]
 */
export function rasterSvg(svg, size, background = '#ffffff') {
  const m = /<svg\b[^>]*>/.exec(svg);
  if (!m) throw new Error('not an SVG');
  let root = m[0]
    .replace(/\s(width|height)="[^"]*"/g, '')
    .replace(/^<svg\b/, `<svg width="${size.width}" height="${size.height}"`);
  if (!/\sxmlns="/.test(root)) root = root.replace(/^<svg\b/, '<svg xmlns="http://www.w3.org/2000/svg"');
  const bg = `<rect x="0" y="0" width="100%" height="100%" fill="${background}"/>`;
  return svg.slice(0, m.index) + root + bg + svg.slice(m.index + m[0].length);
}

/**
 * The name of a downloaded chart: vehicles-since-YYYY-MM-DD.svg or .png.
 * @param {string} since @param {'svg' | 'png'} ext
 */
export function chartFileName(since, ext) {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(since) ? since : 'start';
  return `vehicles-since-${day}.${ext}`;
}
