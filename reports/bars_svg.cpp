// The bar chart: vehicles per day, stacked by movement (toward at the bottom), a y axis with
// "nice" ticks, a day axis, and a legend.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/xml.hpp"
#include "reports/report.hpp"
#include "reports/text.hpp"

namespace cw::reports {
namespace {

constexpr double kWidth = 800;
constexpr double kHeight = 320;
constexpr double kLeft = 56;
constexpr double kRight = 16;
constexpr double kTop = 40;
constexpr double kBottom = 52;

// The step of about `target` ticks from 0 to max: 1, 2 or 5 times a power of ten, at least 1.
int64_t tick_step(int64_t max, int target) {
  double raw = static_cast<double>(max) / target;
  if (raw <= 1) return 1;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return static_cast<int64_t>(m * p);
  }
  return static_cast<int64_t>(10 * p);
}

}  // namespace

std::string render_bars_svg(const ReportData& r) {
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cw-bars\" viewBox=\"0 0 {0:.0f} {1:.0f}\" "
      "width=\"{0:.0f}\" height=\"{1:.0f}\" font-family=\"Helvetica, Arial, sans-serif\" "
      "font-size=\"11\" role=\"img\" aria-labelledby=\"cw-bars-title\">\n",
      kWidth, kHeight);
  s += "<title id=\"cw-bars-title\">Vehicles per day by movement, ";
  s += xml_escape(r.period_key);
  s += "</title>\n";

  // Legend along the top.
  double x = kLeft;
  s += "<g class=\"legend\" fill=\"#333333\">";
  for (std::string_view m : kMovements) {
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"12\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"22\">{}</text>",
        x, movement_colour(m), x + 16, m);
    x += 30 + 6.5 * static_cast<double>(m.size());
  }
  s += "</g>\n";

  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  const double base = kTop + plot_h;
  int64_t max_total = 0;
  for (const DayBar& d : r.days) max_total = std::max(max_total, d.total());
  const int64_t step = tick_step(std::max<int64_t>(max_total, 1), 5);
  const int64_t top =
      std::max<int64_t>(step, (std::max<int64_t>(max_total, 1) + step - 1) / step * step);
  auto y_of = [&](int64_t v) {
    return base - plot_h * static_cast<double>(v) / static_cast<double>(top);
  };

  // Grid and y axis.
  s += "<g class=\"y-axis\" fill=\"#555555\" text-anchor=\"end\">\n";
  for (int64_t v = 0; v <= top; v += step) {
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
        "stroke=\"{}\"/><text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        kLeft, y_of(v), kWidth - kRight, y_of(v), v == 0 ? "#555555" : "#e3e3e3", kLeft - 6,
        y_of(v) + 4, v);
  }
  s += fmt::format(
      "<text x=\"14\" y=\"{:.1f}\" text-anchor=\"middle\" transform=\"rotate(-90 14 "
      "{:.1f})\">vehicles</text>\n",
      kTop + plot_h / 2, kTop + plot_h / 2);
  s += "</g>\n";

  if (r.days.empty()) {
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#777777\" "
        "font-size=\"14\">No observations in this period</text>\n",
        kLeft + plot_w / 2, kTop + plot_h / 2);
    s += "</svg>\n";
    return s;
  }

  const double band = plot_w / static_cast<double>(r.days.size());
  const double bar_w = std::max(1.0, band * 0.7);
  // Label every n-th day so the labels (about 40 px each) do not overlap.
  const size_t label_every = std::max<size_t>(1, static_cast<size_t>(std::ceil(40.0 / band)));
  s += "<g class=\"bars\">\n";
  for (size_t i = 0; i < r.days.size(); ++i) {
    const DayBar& d = r.days[i];
    const double bx = kLeft + band * static_cast<double>(i) + (band - bar_w) / 2;
    const std::string day = xml_escape(d.day);
    int64_t below = 0;
    const int64_t values[] = {d.toward, d.away, d.parallel, d.stationary, d.unknown};
    for (size_t m = 0; m < kMovements.size(); ++m) {
      int64_t v = std::max<int64_t>(values[m], 0);
      if (v == 0) continue;
      double y0 = y_of(below), y1 = y_of(below + v);
      s += fmt::format(
          "<rect class=\"bar\" data-day=\"{}\" data-movement=\"{}\" x=\"{:.1f}\" "
          "y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
          "<title>{}: {} {} vehicles</title></rect>\n",
          day, kMovements[m], bx, y1, bar_w, y0 - y1, movement_colour(kMovements[m]), day, v,
          kMovements[m]);
      below += v;
    }
    if (band >= 22 && below > 0) {
      s += fmt::format(
          "<text class=\"total\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
          "fill=\"#333333\">{}</text>\n",
          bx + bar_w / 2, y_of(below) - 4, below);
    }
    if (i % label_every == 0) {
      // "2022-02-16" shows as "02-16"; other labels as given.
      std::string_view label = d.day;
      if (label.size() == 10 && label[4] == '-') label.remove_prefix(5);
      s += fmt::format(
          "<text class=\"day\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
          "fill=\"#555555\">{}</text>\n",
          bx + bar_w / 2, base + 16, xml_escape(label));
    }
  }
  s += "</g>\n";
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#555555\">day "
      "({})</text>\n",
      kLeft + plot_w / 2, kHeight - 10, xml_escape(r.tz.empty() ? "UTC" : r.tz));
  s += "</svg>\n";
  return s;
}

}  // namespace cw::reports
