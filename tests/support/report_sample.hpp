// A hand-made report for the renderer tests (unit) and the browser check (e2e): observations
// near the Russian side of the border with Ukraine, tracks, keyframe thumbnails (real JPEGs made
// with OpenCV), and hostile text (markup, quotes, formulas, invalid UTF-8) in every user field.
// Header-only so the support library does not depend on cw_reports.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/time.hpp"
#include "reports/report.hpp"

namespace cw::test {

// A small JPEG: a gradient with a rectangle, so a broken embedding shows.
inline std::string sample_jpeg(int seed) {
  cv::Mat img(90, 160, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(x + seed * 40),
                                          static_cast<uchar>(y * 2), static_cast<uchar>(120));
    }
  }
  cv::rectangle(img, cv::Rect(40, 20, 60, 40), cv::Scalar(30, 30, 200), cv::FILLED);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf, {cv::IMWRITE_JPEG_QUALITY, 80});
  return std::string(buf.begin(), buf.end());
}

inline TimePoint sample_time(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

inline reports::Totals totals_of(const std::vector<reports::MapObservation>& obs,
                                 const std::vector<double>& km) {
  reports::Totals t;
  double km_sum = 0;
  for (size_t i = 0; i < obs.size(); ++i) {
    const auto& o = obs[i];
    ++t.observations;
    t.vehicles += o.vehicles;
    if (o.movement == "toward") t.toward += o.vehicles;
    if (o.movement == "away") t.away += o.vehicles;
    if (o.movement == "parallel") t.parallel += o.vehicles;
    if (o.movement == "stationary") t.stationary += o.vehicles;
    if (o.movement == "unknown") t.unknown += o.vehicles;
    km_sum += km[i];
  }
  if (!obs.empty()) t.mean_km_to_border = km_sum / static_cast<double>(obs.size());
  return t;
}

inline reports::ReportData sample_report() {
  using namespace reports;
  ReportData r;
  r.id = 42;
  r.kind = "daily";
  r.period_key = "2022-02-16";
  r.tz = "Europe/Kyiv";
  r.period_start = sample_time("2022-02-15T22:00:00Z");
  r.period_end = sample_time("2022-02-16T22:00:00Z");
  r.generated_at = sample_time("2022-02-17T04:00:00Z");
  r.map_attribution = "© OpenStreetMap contributors (ODbL) <geo-maps>";

  // Belgorod (RU-BEL) and Kursk (RU-KRS) oblasts, 10–60 km from the border.
  r.observations = {
      {101, 50.60, 36.59, 12, "toward", sample_time("2022-02-16T05:10:00Z")},
      {102, 50.43, 36.90, 30, "toward", sample_time("2022-02-16T07:40:00Z")},
      {103, 50.30, 37.20, 4, "away", sample_time("2022-02-16T09:05:00Z")},
      {104, 51.20, 35.30, 55, "parallel", sample_time("2022-02-16T11:30:00Z")},
      {105, 51.35, 35.60, 1, "stationary", sample_time("2022-02-16T13:00:00Z")},
      {106, 50.85, 35.95, 8, "unknown", sample_time("2022-02-16T15:45:00Z")},
      {107, 50.55, 36.10, 0, "<b>odd</b>", sample_time("2022-02-16T16:20:00Z")},
  };
  const std::vector<double> km = {38.5, 21.0, 14.25, 33.0, 57.75, 40.0, 20.0};
  r.totals = totals_of(r.observations, km);
  // The previous day: fewer vehicles, none moving away.
  r.previous.observations = 4;
  r.previous.vehicles = 80;
  r.previous.toward = 50;
  r.previous.parallel = 30;
  r.previous.mean_km_to_border = 41.5;

  OblastRow bel{"RU-BEL", "Belgorod", "RUS", {}, {}};
  bel.now = totals_of({r.observations[0], r.observations[1], r.observations[2]}, {38.5, 21, 14.25});
  bel.previous.vehicles = 50;
  bel.previous.toward = 50;
  bel.previous.observations = 3;
  OblastRow krs{"RU-KRS", "Kursk", "RUS", {}, {}};
  krs.now = totals_of({r.observations[3], r.observations[4], r.observations[5], r.observations[6]},
                      {33, 57.75, 40, 20});
  krs.previous.vehicles = 0;  // no observations the day before: no percentage
  OblastRow odd{
      "RU-X", "Name, with \"quotes\" <i>and markup</i>", "=HYPERLINK(\"http://x\")", {}, {}};
  odd.previous.vehicles = 30;
  odd.previous.parallel = 30;
  odd.previous.observations = 1;
  r.oblasts = {bel, krs, odd};

  r.days = {
      {"2022-02-10", 5, 3, 0, 0, 0},   {"2022-02-11", 12, 0, 4, 1, 0},
      {"2022-02-12", 0, 0, 0, 0, 0},   {"2022-02-13", 20, 10, 5, 0, 2},
      {"2022-02-14", 33, 7, 0, 3, 0},  {"2022-02-15", 50, 0, 30, 0, 0},
      {"2022-02-16", 42, 4, 55, 1, 8},
  };

  r.tracks = {
      {7,
       {{36.45, 50.72}, {36.59, 50.60}, {36.90, 50.43}},
       30,
       17.5,
       38.2,
       sample_time("2022-02-16T05:10:00Z"),
       sample_time("2022-02-16T07:40:00Z")},
      {8,
       {{37.20, 50.30}, {37.45, 50.45}},
       4,
       -9.0,
       22.0,
       sample_time("2022-02-16T09:05:00Z"),
       sample_time("2022-02-16T10:00:00Z")},
  };

  NewestObservation n1;
  n1.id = 106;
  n1.observed_at = sample_time("2022-02-16T15:45:00Z");
  n1.oblast = "Kursk";
  n1.place = "Sudzha";
  n1.movement = "unknown";
  n1.vehicles = 8;
  n1.equipment_summary = "6 truck, 2 tank";
  n1.source_note = "<script>alert('note')</script> posted by a local channel";
  n1.source_url = "https://t.me/example/123?a=1&b=\"2\"";
  n1.media_sha256 = std::string(64, 'a');
  n1.frame = 3;
  n1.thumbnail_jpeg = sample_jpeg(1);
  NewestObservation n2;
  n2.id = 102;
  n2.observed_at = sample_time("2022-02-16T07:40:00Z");
  n2.oblast = "Belgorod";
  n2.place = "Shebekino";
  n2.movement = "toward";
  n2.vehicles = 30;
  n2.equipment_summary = "20 tank, 10 ifv";
  n2.source_note = "bad UTF-8 \xC3\x28 here";
  n2.source_url = "javascript:alert(1)";
  n2.media_sha256 = std::string(64, 'b');
  n2.frame = 0;
  n2.thumbnail_jpeg = sample_jpeg(2);
  NewestObservation n3;  // no keyframe
  n3.id = 104;
  n3.observed_at = sample_time("2022-02-16T11:30:00Z");
  n3.oblast = "Kursk";
  n3.movement = "parallel";
  n3.vehicles = 55;
  r.newest = {n1, n2, n3};

  r.disputes = {
      {99, "disputed", "<script>alert(\"x\")</script> & the place is wrong", "analyst <b>",
       sample_time("2022-02-16T18:00:00Z")},
  };
  return r;
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Countries, oblasts and the border from data/geodata (empty when a file is missing).
inline std::vector<reports::Outline> geodata_outlines(const std::string& dir) {
  std::vector<reports::Outline> out;
  for (auto [file, kind] :
       {std::pair{"countries.geojson", "country"}, std::pair{"regions.geojson", "oblast"},
        std::pair{"border.geojson", "border"}}) {
    auto layer = reports::outlines_from_geojson(read_text_file(dir + "/" + file), kind);
    if (!layer.ok()) return {};
    for (auto& o : *layer) out.push_back(std::move(o));
  }
  return out;
}

}  // namespace cw::test
