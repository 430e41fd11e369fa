// The report map: projection, fitting, clipping and simplifying the outlines, and the marks.
//
// Projection: equirectangular with x scaled by cos(middle latitude) — over the few hundred km a
// report covers it keeps shapes and distances within a few per cent, needs no tiles, and a
// reader can take the scale bar at face value. The outlines are clipped to the map (polygons
// with Sutherland–Hodgman, lines with Liang–Barsky) and thinned to points at least a pixel apart,
// so the 4.5 MB of country and oblast geodata become a few tens of kB of SVG.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "common/xml.hpp"
#include "reports/report.hpp"
#include "reports/text.hpp"

namespace cw::reports {
namespace {

using nlohmann::json;

constexpr double kWidth = 800;
constexpr double kMinHeight = 360;
constexpr double kMaxHeight = 860;
constexpr double kMargin = 40;        // px around the data, room for the largest circles
constexpr double kMinSpanDeg = 0.3;   // ~33 km: the smallest extent a map shows
constexpr double kLegendHeight = 80;  // the strip under the map
constexpr double kMaxRadius = 36;     // px, the largest observation circle
constexpr double kClipPad = 4;        // px outside the map where outlines are cut
constexpr double kMinStep = 1.0;      // px between kept outline points
// Above this many observations the circles carry no tooltip: a 100 k-observation report stays
// a few MB instead of twice that.
constexpr size_t kMaxTooltips = 5000;

struct Pt {
  double x = 0;
  double y = 0;
};

struct View {
  double height = 0;  // of the map area; the width is kWidth
  double kx = 1;      // cos(middle latitude)
  double scale = 1;   // px per projected degree
  double cx = 0;      // projected centre
  double cy = 0;

  Pt project(double lon, double lat) const {
    return {kWidth / 2 + (lon * kx - cx) * scale, height / 2 - (lat - cy) * scale};
  }
  double km_per_px() const { return 111.32 / scale; }
};

struct Extent {
  double min_lon = 1e9, min_lat = 1e9, max_lon = -1e9, max_lat = -1e9;
  bool empty() const { return min_lon > max_lon; }
  void add(double lon, double lat) {
    if (!std::isfinite(lon) || !std::isfinite(lat) || std::abs(lat) > 90 || std::abs(lon) > 180) {
      return;
    }
    min_lon = std::min(min_lon, lon);
    max_lon = std::max(max_lon, lon);
    min_lat = std::min(min_lat, lat);
    max_lat = std::max(max_lat, lat);
  }
};

// Calls f(lon, lat) for each well-formed position of a GeoJSON coordinate array nested `depth`
// levels deep (0: a position).
template <typename F>
void each_position(const json& coords, int depth, F&& f) {
  if (!coords.is_array()) return;
  if (depth == 0) {
    if (coords.size() >= 2 && coords[0].is_number() && coords[1].is_number()) {
      f(coords[0].get<double>(), coords[1].get<double>());
    }
    return;
  }
  for (const json& c : coords) each_position(c, depth - 1, f);
}

// Nesting depth of positions for the geometry types we draw; -1 for others.
int position_depth(const json& geometry) {
  if (!geometry.is_object()) return -1;
  auto type = geometry.value("type", json());
  if (!type.is_string() || !geometry.contains("coordinates")) return -1;
  const std::string t = type.get<std::string>();
  if (t == "LineString") return 1;
  if (t == "Polygon" || t == "MultiLineString") return 2;
  if (t == "MultiPolygon") return 3;
  return -1;
}

bool is_polygonal(const json& geometry) {
  auto type = geometry.value("type", json());
  return type == "Polygon" || type == "MultiPolygon";
}

View fit(const ReportData& r) {
  Extent e;
  for (const MapObservation& o : r.observations) e.add(o.lon, o.lat);
  for (const TrackLine& t : r.tracks) {
    for (const LonLat& p : t.points) e.add(p.lon, p.lat);
  }
  if (e.empty()) {
    for (const Outline& o : r.outlines) {
      if (o.kind == "border") {
        each_position(o.geometry.value("coordinates", json()), position_depth(o.geometry),
                      [&](double lon, double lat) { e.add(lon, lat); });
      }
    }
  }
  if (e.empty()) {
    for (const Outline& o : r.outlines) {
      each_position(o.geometry.value("coordinates", json()), position_depth(o.geometry),
                    [&](double lon, double lat) { e.add(lon, lat); });
    }
  }
  if (e.empty()) {  // nothing at all: Ukraine's eastern border region
    e.add(30.0, 46.0);
    e.add(41.0, 53.0);
  }
  View v;
  double mid_lat = (e.min_lat + e.max_lat) / 2;
  v.kx = std::max(0.05, std::cos(mid_lat * std::numbers::pi / 180));
  double span_x = std::max((e.max_lon - e.min_lon) * v.kx, kMinSpanDeg);
  double span_y = std::max(e.max_lat - e.min_lat, kMinSpanDeg);
  v.cx = (e.min_lon + e.max_lon) / 2 * v.kx;
  v.cy = mid_lat;
  double inner_w = kWidth - 2 * kMargin;
  v.height =
      std::clamp(std::round(inner_w * span_y / span_x + 2 * kMargin), kMinHeight, kMaxHeight);
  v.scale = std::min(inner_w / span_x, (v.height - 2 * kMargin) / span_y);
  return v;
}

// --- clipping to the rectangle [lo.x, hi.x] x [lo.y, hi.y] ---

struct Rect {
  double x0, y0, x1, y1;
  bool inside(const Pt& p) const { return p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1; }
};

// Sutherland–Hodgman against one edge; `side` 0..3 = left, right, top, bottom.
std::vector<Pt> clip_edge(const std::vector<Pt>& in, const Rect& r, int side) {
  auto inside = [&](const Pt& p) {
    switch (side) {
      case 0:
        return p.x >= r.x0;
      case 1:
        return p.x <= r.x1;
      case 2:
        return p.y >= r.y0;
      default:
        return p.y <= r.y1;
    }
  };
  auto cross = [&](const Pt& a, const Pt& b) {
    double t;
    switch (side) {
      case 0:
        t = (r.x0 - a.x) / (b.x - a.x);
        break;
      case 1:
        t = (r.x1 - a.x) / (b.x - a.x);
        break;
      case 2:
        t = (r.y0 - a.y) / (b.y - a.y);
        break;
      default:
        t = (r.y1 - a.y) / (b.y - a.y);
        break;
    }
    return Pt{a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)};
  };
  std::vector<Pt> out;
  if (in.empty()) return out;
  out.reserve(in.size() + 4);
  Pt prev = in.back();
  bool prev_in = inside(prev);
  for (const Pt& p : in) {
    bool p_in = inside(p);
    if (p_in != prev_in) out.push_back(cross(prev, p));
    if (p_in) out.push_back(p);
    prev = p;
    prev_in = p_in;
  }
  return out;
}

std::vector<Pt> clip_ring(std::vector<Pt> ring, const Rect& r) {
  for (int side = 0; side < 4 && !ring.empty(); ++side) ring = clip_edge(ring, r, side);
  return ring;
}

// Liang–Barsky: the part of segment a-b inside r, or false.
bool clip_segment(Pt a, Pt b, const Rect& r, Pt* ca, Pt* cb) {
  double t0 = 0, t1 = 1;
  double dx = b.x - a.x, dy = b.y - a.y;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {a.x - r.x0, r.x1 - a.x, a.y - r.y0, r.y1 - a.y};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
    } else {
      double t = q[i] / p[i];
      if (p[i] < 0) {
        t0 = std::max(t0, t);
      } else {
        t1 = std::min(t1, t);
      }
    }
  }
  if (t0 > t1) return false;
  *ca = {a.x + t0 * dx, a.y + t0 * dy};
  *cb = {a.x + t1 * dx, a.y + t1 * dy};
  return true;
}

// Drops points closer than kMinStep to the last kept one (a line keeps its last point).
std::vector<Pt> thin(const std::vector<Pt>& in, bool keep_last) {
  std::vector<Pt> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const Pt& p = in[i];
    if (!out.empty() && std::hypot(p.x - out.back().x, p.y - out.back().y) < kMinStep) {
      if (keep_last && i + 1 == in.size() && out.size() > 1) out.back() = p;
      continue;
    }
    out.push_back(p);
  }
  return out;
}

void append_points(std::string& d, const std::vector<Pt>& pts, bool close) {
  d += fmt::format("M{:.1f} {:.1f}", pts[0].x, pts[0].y);
  for (size_t i = 1; i < pts.size(); ++i) d += fmt::format(" {:.1f} {:.1f}", pts[i].x, pts[i].y);
  if (close) d += 'Z';
}

double ring_area(const std::vector<Pt>& ring) {  // signed, px²
  double a = 0;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    a += ring[j].x * ring[i].y - ring[i].x * ring[j].y;
  }
  return a / 2;
}

Pt ring_centroid(const std::vector<Pt>& ring) {
  double a = 0, cx = 0, cy = 0;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    double f = ring[j].x * ring[i].y - ring[i].x * ring[j].y;
    a += f;
    cx += (ring[j].x + ring[i].x) * f;
    cy += (ring[j].y + ring[i].y) * f;
  }
  if (a == 0) return ring[0];
  return {cx / (3 * a), cy / (3 * a)};
}

struct Drawn {
  std::string d;          // SVG path data
  double label_area = 0;  // largest outer ring, px²
  Pt label_at;
};

Drawn draw_outline(const Outline& o, const View& v, const Rect& clip) {
  Drawn out;
  int depth = position_depth(o.geometry);
  if (depth < 0) return out;
  const json& coords = o.geometry["coordinates"];
  auto project = [&](const json& line) {
    std::vector<Pt> pts;
    each_position(line, 1, [&](double lon, double lat) { pts.push_back(v.project(lon, lat)); });
    return pts;
  };
  if (is_polygonal(o.geometry)) {
    auto draw_polygon = [&](const json& polygon) {
      if (!polygon.is_array()) return;
      bool outer = true;
      for (const json& ring_json : polygon) {
        std::vector<Pt> ring = thin(clip_ring(project(ring_json), clip), false);
        if (ring.size() >= 3) {
          append_points(out.d, ring, true);
          double area = std::abs(ring_area(ring));
          if (outer && area > out.label_area) {
            out.label_area = area;
            out.label_at = ring_centroid(ring);
          }
        }
        outer = false;
      }
    };
    if (depth == 2) {
      draw_polygon(coords);
    } else if (coords.is_array()) {
      for (const json& polygon : coords) draw_polygon(polygon);
    }
    return out;
  }
  auto draw_line = [&](const json& line) {
    std::vector<Pt> pts = project(line);
    std::vector<Pt> run;
    auto flush = [&] {
      std::vector<Pt> t = thin(run, true);
      if (t.size() >= 2) append_points(out.d, t, false);
      run.clear();
    };
    for (size_t i = 1; i < pts.size(); ++i) {
      Pt a, b;
      if (!clip_segment(pts[i - 1], pts[i], clip, &a, &b)) {
        flush();
        continue;
      }
      if (!run.empty() && (run.back().x != a.x || run.back().y != a.y)) flush();
      if (run.empty()) run.push_back(a);
      run.push_back(b);
    }
    flush();
  };
  if (depth == 1) {
    draw_line(coords);
  } else if (coords.is_array()) {
    for (const json& line : coords) draw_line(line);
  }
  return out;
}

// A "nice" number (1, 2 or 5 times a power of ten) not above x.
double nice_floor(double x) {
  double p = std::pow(10.0, std::floor(std::log10(x)));
  for (double m : {5.0, 2.0, 1.0}) {
    if (m * p <= x) return m * p;
  }
  return p;
}

}  // namespace

std::string render_map_svg(const ReportData& r) {
  const View v = fit(r);
  const double total_h = v.height + kLegendHeight;
  const Rect clip{-kClipPad, -kClipPad, kWidth + kClipPad, v.height + kClipPad};
  std::string s;
  s += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cw-map\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "width=\"{0:.0f}\" height=\"{1:.0f}\" font-family=\"Helvetica, Arial, sans-serif\" "
      "role=\"img\" aria-labelledby=\"cw-map-title\">\n",
      kWidth, total_h);
  s += "<title id=\"cw-map-title\">Observations and convoy tracks, ";
  s += xml_escape(r.period_key);
  s += "</title>\n<defs>\n";
  s += fmt::format(
      "<clipPath id=\"cw-map-clip\"><rect x=\"0\" y=\"0\" width=\"{:.0f}\" height=\"{:.0f}\"/>"
      "</clipPath>\n",
      kWidth, v.height);
  for (std::string_view m : {"toward", "away", "parallel"}) {
    s += fmt::format(
        "<marker id=\"cw-arrow-{}\" viewBox=\"0 0 10 10\" refX=\"8\" refY=\"5\" markerWidth=\"5\" "
        "markerHeight=\"5\" markerUnits=\"strokeWidth\" orient=\"auto\"><path d=\"M0 0L10 5L0 "
        "10z\" "
        "fill=\"{}\"/></marker>\n",
        m, movement_colour(m));
  }
  s += "</defs>\n";
  s += fmt::format(
      "<rect class=\"sea\" x=\"0\" y=\"0\" width=\"{:.0f}\" height=\"{:.0f}\" "
      "fill=\"#e8eef3\"/>\n",
      kWidth, v.height);
  s += "<g clip-path=\"url(#cw-map-clip)\">\n";

  // Outlines: countries filled, oblasts as thin lines over them, the border on top.
  struct Label {
    Pt at;
    std::string text;
    bool country;
    double area;
  };
  std::vector<Label> labels;
  for (const char* kind : {"country", "oblast", "border"}) {
    std::string group;
    for (const Outline& o : r.outlines) {
      if (o.kind != kind) continue;
      Drawn d = draw_outline(o, v, clip);
      if (d.d.empty()) continue;
      append(group, {"<path d=\"", d.d, "\""});
      if (!o.name.empty()) append(group, {" data-name=\"", xml_escape(o.name), "\""});
      group += "/>\n";
      bool country = o.kind == "country";
      double min_area = country ? 12000 : 3000;
      if (!o.name.empty() && d.label_area > min_area && d.label_at.x > 20 &&
          d.label_at.x < kWidth - 20 && d.label_at.y > 12 && d.label_at.y < v.height - 6) {
        labels.push_back({d.label_at, o.name, country, d.label_area});
      }
    }
    if (group.empty()) continue;
    if (std::string_view(kind) == "country") {
      append(s, {"<g class=\"countries\" fill=\"#fbfaf6\" fill-rule=\"evenodd\" "
                 "stroke=\"#8c8c8c\" stroke-width=\"0.8\" stroke-linejoin=\"round\">\n",
                 group, "</g>\n"});
    } else if (std::string_view(kind) == "oblast") {
      append(s, {"<g class=\"oblasts\" fill=\"none\" stroke=\"#b3b3b3\" stroke-width=\"0.6\" "
                 "stroke-dasharray=\"3 2\" stroke-linejoin=\"round\">\n",
                 group, "</g>\n"});
    } else {
      // The border: a wide pale halo under a dark line, so it reads above everything else.
      append(s, {"<g class=\"border\" fill=\"none\" stroke-linejoin=\"round\" "
                 "stroke-linecap=\"round\"><g stroke=\"#f2c94c\" stroke-width=\"6\" "
                 "stroke-opacity=\"0.75\">\n",
                 group, "</g><g stroke=\"#333333\" stroke-width=\"1.6\">\n", group, "</g></g>\n"});
    }
  }
  // Labels that do not overlap: oblasts (largest first) before countries, since a report's map
  // is mostly about oblasts; a label that would cover a placed one is left out.
  std::stable_sort(labels.begin(), labels.end(), [](const Label& a, const Label& b) {
    if (a.country != b.country) return !a.country;
    return a.area > b.area;
  });
  std::vector<Rect> placed;
  std::string text;
  for (const Label& l : labels) {
    const double size = l.country ? 14 : 10;
    const double chars = static_cast<double>(l.text.size());  // bytes: wide enough for UTF-8
    const double half_w = chars * (size * 0.3 + (l.country ? 1 : 0)) + 2;
    Rect box{l.at.x - half_w, l.at.y - size, l.at.x + half_w, l.at.y + 3};
    bool overlaps = std::any_of(placed.begin(), placed.end(), [&](const Rect& p) {
      return box.x0 < p.x1 && p.x0 < box.x1 && box.y0 < p.y1 && p.y0 < box.y1;
    });
    if (overlaps) continue;
    placed.push_back(box);
    text += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\"{}>", l.at.x, l.at.y, size,
                        l.country ? " letter-spacing=\"2\"" : "");
    append(text, {xml_escape(l.text), "</text>\n"});
  }
  if (!text.empty()) {
    append(s, {"<g class=\"labels\" text-anchor=\"middle\" fill=\"#777777\" stroke=\"#ffffff\" "
               "stroke-width=\"3\" paint-order=\"stroke\" stroke-linejoin=\"round\">\n",
               text, "</g>\n"});
  }

  // Observations, largest first so small circles stay on top.
  int64_t max_vehicles = 1;
  for (const MapObservation& o : r.observations) max_vehicles = std::max(max_vehicles, o.vehicles);
  const double k = std::min(3.0, kMaxRadius / std::sqrt(static_cast<double>(max_vehicles)));
  auto radius = [&](int64_t vehicles) {
    return std::max(2.0, k * std::sqrt(static_cast<double>(std::max<int64_t>(vehicles, 0))));
  };
  std::vector<const MapObservation*> order;
  for (const MapObservation& o : r.observations) order.push_back(&o);
  std::stable_sort(order.begin(), order.end(),
                   [](auto* a, auto* b) { return a->vehicles > b->vehicles; });
  s += "<g class=\"observations\" stroke=\"#ffffff\" stroke-width=\"1\" fill-opacity=\"0.8\">\n";
  const bool tooltips = r.observations.size() <= kMaxTooltips;
  for (const MapObservation* o : order) {
    // A position that is not a number is drawn off the map (it still counts as a mark).
    Pt q =
        std::isfinite(o->lon) && std::isfinite(o->lat) ? v.project(o->lon, o->lat) : Pt{-100, -100};
    s += fmt::format(
        "<circle class=\"obs\" data-id=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"{}\"",
        o->id, q.x, q.y, radius(o->vehicles), movement_colour(o->movement));
    if (!tooltips) {
      s += "/>\n";
      continue;
    }
    s += fmt::format("><title>Observation {}: {} vehicle{}, ", o->id, o->vehicles,
                     o->vehicles == 1 ? "" : "s");
    s += xml_escape(o->movement);
    append(s, {", ", format_utc_minute(o->observed_at), "</title></circle>\n"});
  }
  s += "</g>\n";
  // Tracks over the observations: a track starts and ends at sightings, and its arrowhead must
  // not hide under their circles.
  if (!r.tracks.empty()) {
    s += "<g class=\"tracks\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
    for (const TrackLine& t : r.tracks) {
      std::string pts;
      size_t n = 0;
      for (const LonLat& p : t.points) {
        if (!std::isfinite(p.lon) || !std::isfinite(p.lat)) continue;
        Pt q = v.project(p.lon, p.lat);
        pts += fmt::format("{}{:.1f},{:.1f}", n++ ? " " : "", q.x, q.y);
      }
      if (n < 2) continue;
      std::string_view m = t.net_km_toward_border > 0.5    ? "toward"
                           : t.net_km_toward_border < -0.5 ? "away"
                                                           : "parallel";
      s += fmt::format("<polyline points=\"{}\" stroke=\"#ffffff\" stroke-width=\"5\"/>\n", pts);
      s += fmt::format(
          "<polyline class=\"track\" data-id=\"{}\" points=\"{}\" stroke=\"{}\" "
          "stroke-width=\"2.5\" marker-mid=\"url(#cw-arrow-{})\" marker-end=\"url(#cw-arrow-{})\">"
          "<title>Track {}: {} vehicles, {} km toward the border, {} km/h</title></polyline>\n",
          t.id, pts, movement_colour(m), m, m, t.id, t.vehicles,
          format_fixed(t.net_km_toward_border, 1), format_fixed(t.mean_speed_kmh, 0));
    }
    s += "</g>\n";
  }

  s += "</g>\n";
  s += fmt::format(
      "<rect x=\"0.5\" y=\"0.5\" width=\"{:.0f}\" height=\"{:.0f}\" fill=\"none\" "
      "stroke=\"#8c8c8c\"/>\n",
      kWidth - 1, v.height - 1);

  // Legend strip: movements and the track arrow; sizes and scale bar; the attribution below.
  double y1 = v.height + 22, y2 = v.height + 50, y3 = v.height + 72;
  s += "<g class=\"legend\" font-size=\"12\" fill=\"#333333\">\n";
  double x = 10;
  for (std::string_view m : kMovements) {
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"{}\"/>", x + 6, y1 - 4,
                     movement_colour(m));
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x + 16, y1, m);
    x += 30 + 7.0 * static_cast<double>(m.size());
  }
  s += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
      "stroke-width=\"2.5\" marker-end=\"url(#cw-arrow-toward)\"/><text x=\"{4:.1f}\" "
      "y=\"{5:.1f}\">convoy track (colour: net movement)</text>\n",
      x + 4, y1 - 4, x + 34, movement_colour("toward"), x + 44, y1);
  x = 10;
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">vehicles:</text>", x, y2);
  x += 62;
  for (int64_t sample : {int64_t{1}, int64_t{10}, int64_t{50}, int64_t{200}}) {
    if (sample > std::max<int64_t>(max_vehicles, 1) && sample != 1) break;
    double rr = std::min(radius(sample), 12.0);
    s += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:.1f}\" fill=\"none\" "
        "stroke=\"#555555\"/><text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>",
        x + rr, y2 - 4, rr, x + 2 * rr + 4, y2, sample);
    x += 2 * rr + 14 + 8.0 * static_cast<double>(fmt::formatted_size("{}", sample));
  }
  double km = nice_floor(120 * v.km_per_px());
  double bar_px = km / v.km_per_px();
  x += 20;
  s += fmt::format(
      "\n<path d=\"M{0:.1f} {1:.1f}V{2:.1f}H{3:.1f}V{1:.1f}\" fill=\"none\" stroke=\"#333333\" "
      "stroke-width=\"1.5\"/><text x=\"{4:.1f}\" y=\"{2:.1f}\">{5} km</text>\n",
      x, y2 - 8, y2, x + bar_px, x + bar_px + 6, format_fixed(km, km < 1 ? 1 : 0));
  if (!r.map_attribution.empty()) {
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"10\" "
        "fill=\"#666666\">",
        kWidth - 8, y3);
    s += xml_escape(r.map_attribution);
    s += "</text>\n";
  }
  s += "</g>\n</svg>\n";
  return s;
}

}  // namespace cw::reports
