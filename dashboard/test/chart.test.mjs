// Unit tests of lib/chart.js: the chart's size, the SVG made ready for a canvas, the file names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartFileName, rasterSvg, svgSize } from '../src/lib/chart.js';

const chart =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 270" width="720" height="270" role="img"><rect x="1" y="2" width="3" height="4"/></svg>';

test('chart: the size comes from width and height, else the viewBox', () => {
  assert.deepEqual(svgSize(chart), { width: 720, height: 270 });
  assert.deepEqual(svgSize('<svg viewBox="0 0 300.4 150"><g/></svg>'), { width: 300, height: 150 });
  assert.deepEqual(svgSize('<svg width="100%" viewBox="0,0,40,20"></svg>'), { width: 40, height: 20 });
  assert.equal(svgSize('<svg><g/></svg>'), null);
  assert.equal(svgSize('<div></div>'), null);
});

test('chart: the SVG for a canvas has its size, the namespace and a background under the chart', () => {
  const out = rasterSvg(chart, { width: 720, height: 270 });
  assert.equal((out.match(/\swidth="720"/g) ?? []).length, 1, out);
  assert.equal((out.match(/\sheight="270"/g) ?? []).length, 1, out);
  // The background is the first thing drawn, the chart's own rectangle after it, untouched.
  assert.ok(out.indexOf('fill="#ffffff"') < out.indexOf('<rect x="1" y="2" width="3" height="4"/>'), out);
  assert.ok(out.endsWith('<rect x="1" y="2" width="3" height="4"/></svg>'), out);
  assert.equal((out.match(/xmlns=/g) ?? []).length, 1);
  // An SVG without a namespace or a size gets both.
  const bare = rasterSvg('<svg viewBox="0 0 10 5"><g/></svg>', { width: 10, height: 5 }, '#000');
  assert.match(bare, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="10" height="5" viewBox="0 0 10 5"><rect [^>]*fill="#000"\/><g\/><\/svg>$/);
  assert.throws(() => rasterSvg('<p>no</p>', { width: 1, height: 1 }), /not an SVG/);
});

test('chart: the file names say since when, with the format', () => {
  assert.equal(chartFileName('2022-02-01', 'png'), 'vehicles-since-2022-02-01.png');
  assert.equal(chartFileName('2022-02-01', 'svg'), 'vehicles-since-2022-02-01.svg');
  assert.equal(chartFileName('../x', 'png'), 'vehicles-since-start.png');
});
