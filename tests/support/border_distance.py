#!/usr/bin/python3
"""Independent reference for the border distances the database derives.

Usage: border_distance.py BORDER_GEOJSON LAT,LON [LAT,LON ...]
Prints one line per point: the geodesic distance in km from the point to the nearest line of
the file, computed with pyproj and shapely (Debian's python3-pyproj, python3-shapely): the
lines are projected to an azimuthal-equidistant projection centred on the point (on the WGS 84
ellipsoid), where the distance from the centre is the true geodesic distance, after densifying
them so that straight segments in the projection follow the lines closely enough.
"""
import json
import sys

import pyproj
from shapely.geometry import LineString, MultiLineString, Point, shape
from shapely.ops import transform


def densify(geom, step_deg=0.01):
    """Inserts points so that no segment is longer than step_deg (shapely 1.8 has no
    segmentize)."""
    parts = geom.geoms if isinstance(geom, MultiLineString) else [geom]
    out = []
    for part in parts:
        coords = list(part.coords)
        dense = [coords[0]]
        for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
            n = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) / step_deg) + 1)
            dense.extend((x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1))
        out.append(LineString(dense))
    return MultiLineString(out)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = [shape(feat["geometry"]) for feat in json.load(f)["features"]]
    for arg in sys.argv[2:]:
        lat, lon = (float(x) for x in arg.split(","))
        aeqd = pyproj.Proj(proj="aeqd", lat_0=lat, lon_0=lon, ellps="WGS84", units="m")
        to_local = pyproj.Transformer.from_proj(pyproj.Proj("EPSG:4326"), aeqd, always_xy=True)
        best = min(transform(to_local.transform, densify(g)).distance(Point(0, 0))
                   for g in lines)
        print(f"{best / 1000:.4f}")


if __name__ == "__main__":
    main()
