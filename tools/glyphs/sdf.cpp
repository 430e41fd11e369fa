// render_sdf: distances by visiting, for each outline segment, the pixels within reach of it;
// inside or outside by the winding number along each pixel row.
#include "tools/glyphs/sdf.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace cw::glyphs {
namespace {

struct Segment {
  Point a;
  Point b;
};

std::vector<Segment> segments_of(const std::vector<Contour>& contours) {
  std::vector<Segment> segments;
  for (const Contour& c : contours) {
    for (size_t i = 0; i < c.size(); ++i) {
      const Point& a = c[i];
      const Point& b = c[(i + 1) % c.size()];
      if (a.x != b.x || a.y != b.y) segments.push_back({a, b});
    }
  }
  return segments;
}

double squared_distance_to_segment(Point p, const Segment& s) {
  const double dx = s.b.x - s.a.x;
  const double dy = s.b.y - s.a.y;
  const double t =
      std::clamp(((p.x - s.a.x) * dx + (p.y - s.a.y) * dy) / (dx * dx + dy * dy), 0.0, 1.0);
  const double ex = p.x - (s.a.x + t * dx);
  const double ey = p.y - (s.a.y + t * dy);
  return ex * ex + ey * ey;
}

}  // namespace

SdfGlyph render_sdf(const std::vector<Contour>& contours, const SdfParams& params) {
  double min_x = std::numeric_limits<double>::infinity();
  double min_y = min_x;
  double max_x = -min_x;
  double max_y = -min_x;
  for (const Contour& c : contours) {
    for (const Point& p : c) {
      min_x = std::min(min_x, p.x);
      min_y = std::min(min_y, p.y);
      max_x = std::max(max_x, p.x);
      max_y = std::max(max_y, p.y);
    }
  }
  if (!(min_x <= max_x)) return {};  // no points at all
  const int left = static_cast<int>(std::lround(min_x));
  const int bottom = static_cast<int>(std::lround(min_y));
  const int right = static_cast<int>(std::lround(max_x));
  const int top = static_cast<int>(std::lround(max_y));
  if (right == left || top == bottom) return {};
  if (right - left > kMaxGlyphSize || top - bottom > kMaxGlyphSize) return {};

  SdfGlyph glyph;
  glyph.left = left;
  glyph.top = top;
  glyph.width = right - left;
  glyph.height = top - bottom;
  const int w = glyph.width + 2 * params.buffer;
  const int h = glyph.height + 2 * params.buffer;
  // Pixel (x, y), y counted up from the bottom row, has its centre at
  // (x0 + x + 0.5, y0 + y + 0.5) in outline coordinates.
  const double x0 = left - params.buffer;
  const double y0 = bottom - params.buffer;
  const std::vector<Segment> segments = segments_of(contours);

  // Squared distance to the nearest segment, for pixels within `radius` of one; beyond it every
  // distance gives the same value (0 outside; the inside saturates much sooner).
  const double reach = params.radius;
  std::vector<double> nearest(static_cast<size_t>(w) * h, reach * reach);
  for (const Segment& s : segments) {
    const int x_lo = std::max(0, static_cast<int>(std::floor(std::min(s.a.x, s.b.x) - reach - x0)));
    const int x_hi =
        std::min(w - 1, static_cast<int>(std::ceil(std::max(s.a.x, s.b.x) + reach - x0)));
    const int y_lo = std::max(0, static_cast<int>(std::floor(std::min(s.a.y, s.b.y) - reach - y0)));
    const int y_hi =
        std::min(h - 1, static_cast<int>(std::ceil(std::max(s.a.y, s.b.y) + reach - y0)));
    for (int y = y_lo; y <= y_hi; ++y) {
      for (int x = x_lo; x <= x_hi; ++x) {
        double& best = nearest[static_cast<size_t>(y) * w + x];
        best = std::min(best, squared_distance_to_segment({x0 + x + 0.5, y0 + y + 0.5}, s));
      }
    }
  }

  glyph.pixels.resize(static_cast<size_t>(w) * h);
  const double scale = 256.0 / params.radius;
  const double zero = params.cutoff * 256.0;
  std::vector<std::pair<double, int>> crossings;  // x where a segment crosses the row, direction
  for (int y = 0; y < h; ++y) {
    const double cy = y0 + y + 0.5;
    crossings.clear();
    for (const Segment& s : segments) {
      if ((s.a.y <= cy) == (s.b.y <= cy)) continue;
      const double x = s.a.x + (cy - s.a.y) * (s.b.x - s.a.x) / (s.b.y - s.a.y);
      crossings.emplace_back(x, s.b.y > s.a.y ? 1 : -1);
    }
    std::sort(crossings.begin(), crossings.end());
    size_t next = 0;
    int winding = 0;
    char* row = glyph.pixels.data() + static_cast<size_t>(h - 1 - y) * w;  // rows from the top
    for (int x = 0; x < w; ++x) {
      const double cx = x0 + x + 0.5;
      while (next < crossings.size() && crossings[next].first < cx)
        winding += crossings[next++].second;
      double d = std::sqrt(nearest[static_cast<size_t>(y) * w + x]);
      if (winding != 0) d = -d;
      const int n = static_cast<int>(std::clamp(d * scale + zero, 0.0, 255.0));
      row[x] = static_cast<char>(255 - n);
    }
  }
  return glyph;
}

}  // namespace cw::glyphs
