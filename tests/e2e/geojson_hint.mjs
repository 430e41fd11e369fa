// Validates a GeoJSON file with @mapbox/geojsonhint (RFC 7946). Usage: node geojson_hint.mjs FILE
// Prints every problem as JSON and exits 1 when there is one; prints the feature count otherwise.
import { readFileSync } from 'node:fs';
import geojsonhint from '@mapbox/geojsonhint';

const text = readFileSync(process.argv[2], 'utf8');
const problems = geojsonhint.hint(text, { precisionWarning: false });
if (problems.length > 0) {
  console.log(JSON.stringify(problems));
  process.exit(1);
}
console.log(JSON.parse(text).features.length);
