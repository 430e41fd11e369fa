// Decodes a Mapbox Vector Tile with @mapbox/vector-tile and prints it as JSON:
// {"layers": {NAME: {"version", "extent", "features": [{"id", "type", "properties",
// "geometry"}]}}}, geometry as GeoJSON in WGS 84. Usage: node mvt_decode.mjs FILE Z X Y
// Exits 1 (with the reason) when the file is not a valid tile.
import { readFileSync } from 'node:fs';
import { VectorTile } from '@mapbox/vector-tile';
import Pbf from 'pbf';

const [file, z, x, y] = process.argv.slice(2);
try {
  const tile = new VectorTile(new Pbf(readFileSync(file)));
  const out = { layers: {} };
  for (const [name, layer] of Object.entries(tile.layers)) {
    const features = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      const gj = f.toGeoJSON(Number(x), Number(y), Number(z));
      features.push({
        id: f.id ?? null,
        type: ['Unknown', 'Point', 'LineString', 'Polygon'][f.type],
        properties: f.properties,
        geometry: gj.geometry,
      });
    }
    out.layers[name] = { version: layer.version, extent: layer.extent, features };
  }
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(`not a valid vector tile: ${e.message}`);
  process.exit(1);
}
