// Report renderers: text helpers, the JSON document, the CSV, the map and bar SVGs (parsed as
// XML with libxml2) and the HTML page (parsed with libxml2's HTML parser), on the hand-made
// report of tests/support/report_sample.hpp and on the real outlines of data/geodata.
#include <gtest/gtest.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "common/base64.hpp"
#include "common/csv.hpp"
#include "common/utf8.hpp"
#include "common/xml.hpp"
#include "reports/report.hpp"
#include "reports/text.hpp"
#include "tests/support/process.hpp"
#include "tests/support/report_sample.hpp"

namespace cw::reports {
namespace {

namespace fs = std::filesystem;

// --- small XML helpers over libxml2 ---

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

// Strict XML: no recovery, no network, no entity expansion from outside. Null when not
// well-formed.
Doc parse_xml(const std::string& text) {
  return Doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "report.svg", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

Doc parse_html(const std::string& text) {
  return Doc(htmlReadMemory(text.data(), static_cast<int>(text.size()), "report.html", "UTF-8",
                            HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING));
}

// The string values of an XPath over `doc` (the prefix s: is the SVG namespace).
std::vector<std::string> xpath(xmlDoc* doc, const std::string& expr) {
  std::vector<std::string> out;
  xmlXPathContext* ctx = xmlXPathNewContext(doc);
  xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
  xmlXPathObject* res = xmlXPathEvalExpression(BAD_CAST expr.c_str(), ctx);
  if (res != nullptr && res->nodesetval != nullptr) {
    for (int i = 0; i < res->nodesetval->nodeNr; ++i) {
      xmlChar* s = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
      out.emplace_back(s ? reinterpret_cast<const char*>(s) : "");
      xmlFree(s);
    }
  }
  xmlXPathFreeObject(res);
  xmlXPathFreeContext(ctx);
  return out;
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string geodata_dir() { return std::string(CW_SOURCE_DIR) + "/data/geodata"; }

// --- text helpers ---

TEST(ReportTextTest, XmlEscape) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"plain", "plain"},
      {"<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"},
      {"a & b \"c\"", "a &amp; b &quot;c&quot;"},
      {"&amp;", "&amp;amp;"},
      {"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
      {std::string("nul\0bell\x07 esc\x1b del\x7f", 20), "nulbell esc del"},
      {"Білгород ✓", "Білгород ✓"},
      {"bad \xC3\x28 \xFF end", "bad \xEF\xBF\xBD( \xEF\xBF\xBD end"},
      {"non-char \xEF\xBF\xBE\xEF\xBF\xBF.", "non-char ."},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(xml_escape(in), out) << in;
}

TEST(ReportTextTest, Base64Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("\0\xff\xfe\x80", 4), "AP/+gA=="},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(base64_encode(in), out) << out;
  // No line breaks in long input (a data: URI must be one token).
  std::string big(100000, '\x5a');
  std::string enc = base64_encode(big);
  EXPECT_EQ(enc.size(), (big.size() + 2) / 3 * 4);
  EXPECT_EQ(enc.find('\n'), std::string::npos);
}

TEST(ReportTextTest, NumberFormats) {
  EXPECT_EQ(format_fixed(12.345, 1), "12.3");
  EXPECT_EQ(format_fixed(-0.04, 1), "0.0");
  EXPECT_EQ(format_fixed(std::nan(""), 1), "n/a");
  EXPECT_EQ(format_signed(12), "+12");
  EXPECT_EQ(format_signed(-3), "-3");
  EXPECT_EQ(format_signed(0), "0");
  EXPECT_EQ(format_percent(25.0, "new"), "+25.0%");
  EXPECT_EQ(format_percent(-100.0, "new"), "-100.0%");
  EXPECT_EQ(format_percent(0.0, "new"), "0.0%");
  EXPECT_EQ(format_percent(std::nullopt, "new"), "new");
  EXPECT_EQ(format_utc_minute(test::sample_time("2022-02-16T06:05:59.9Z")), "2022-02-16 06:05 UTC");
}

TEST(ReportChangeTest, DeltaAndPercent) {
  struct Case {
    int64_t now, previous, delta;
    std::optional<double> percent;
  };
  const std::vector<Case> cases = {
      {120, 100, 20, 20.0},    {50, 100, -50, -50.0},   {0, 40, -40, -100.0},
      {5, 0, 5, std::nullopt}, {0, 0, 0, std::nullopt}, {7, 7, 0, 0.0},
  };
  for (const Case& c : cases) {
    Change ch = change_between(c.now, c.previous);
    EXPECT_EQ(ch.delta, c.delta) << c.now << " vs " << c.previous;
    ASSERT_EQ(ch.percent.has_value(), c.percent.has_value()) << c.now << " vs " << c.previous;
    if (c.percent) {
      EXPECT_NEAR(*ch.percent, *c.percent, 1e-9);
    }
  }
}

// --- JSON ---

TEST(ReportJsonTest, NumbersMatchTheInput) {
  ReportData r = test::sample_report();
  nlohmann::json j = to_json(r);
  std::string dumped = j.dump();  // throws on invalid UTF-8: the sample has some
  EXPECT_EQ(j["id"], 42);
  EXPECT_EQ(j["period"]["start"], "2022-02-15T22:00:00Z");
  EXPECT_EQ(j["period"]["end"], "2022-02-16T22:00:00Z");
  EXPECT_EQ(j["period"]["tz"], "Europe/Kyiv");
  // Totals computed independently from the sample's observations.
  int64_t vehicles = 0, toward = 0;
  for (const auto& o : r.observations) {
    vehicles += o.vehicles;
    if (o.movement == "toward") toward += o.vehicles;
  }
  EXPECT_EQ(j["totals"]["vehicles"], vehicles);
  EXPECT_EQ(j["totals"]["toward"], toward);
  EXPECT_EQ(j["totals"]["observations"], r.observations.size());
  EXPECT_NEAR(j["totals"]["mean_km_to_border"].get<double>(),
              (38.5 + 21.0 + 14.25 + 33.0 + 57.75 + 40.0 + 20.0) / 7, 1e-3);
  EXPECT_EQ(j["change"]["vehicles"]["delta"], vehicles - 80);
  EXPECT_NEAR(j["change"]["vehicles"]["percent"].get<double>(), 100.0 * (vehicles - 80) / 80, 0.05);
  EXPECT_TRUE(j["change"]["away"]["percent"].is_null());  // nothing moved away the day before

  ASSERT_EQ(j["oblasts"].size(), 3u);
  EXPECT_EQ(j["oblasts"][0]["code"], "RU-BEL");
  EXPECT_EQ(j["oblasts"][0]["totals"]["vehicles"], 12 + 30 + 4);
  EXPECT_EQ(j["oblasts"][1]["change"]["vehicles"]["delta"], 55 + 1 + 8);
  EXPECT_TRUE(j["oblasts"][1]["change"]["vehicles"]["percent"].is_null());
  EXPECT_EQ(j["oblasts"][2]["change"]["vehicles"]["percent"], -100.0);
  EXPECT_TRUE(j["oblasts"][2]["totals"]["mean_km_to_border"].is_null());

  ASSERT_EQ(j["days"].size(), r.days.size());
  EXPECT_EQ(j["days"][6]["total"], 42 + 4 + 55 + 1 + 8);
  ASSERT_EQ(j["observations"].size(), r.observations.size());
  EXPECT_EQ(j["observations"][1]["vehicles"], 30);
  EXPECT_EQ(j["observations"][1]["lat"], 50.43);
  EXPECT_EQ(j["observations"][1]["observed_at"], "2022-02-16T07:40:00Z");
  ASSERT_EQ(j["tracks"].size(), 2u);
  EXPECT_EQ(j["tracks"][0]["coordinates"].size(), 3u);
  EXPECT_EQ(j["tracks"][0]["coordinates"][0][0], 36.45);
  EXPECT_EQ(j["tracks"][0]["net_km_toward_border"], 17.5);
  EXPECT_EQ(j["tracks"][1]["end"], "2022-02-16T10:00:00Z");

  ASSERT_EQ(j["newest"].size(), 3u);
  EXPECT_EQ(j["newest"][0]["thumbnail_url"],
            "/api/v1/media/" + std::string(64, 'a') + "/frames/3/thumb.jpg");
  EXPECT_EQ(j["newest"][1]["thumbnail_url"],
            "/api/v1/media/" + std::string(64, 'b') + "/frames/0/thumb.jpg");
  EXPECT_TRUE(j["newest"][2]["thumbnail_url"].is_null());
  EXPECT_EQ(j["newest"][1]["source_note"], "bad UTF-8 \xEF\xBF\xBD( here");
  ASSERT_EQ(j["disputes"].size(), 1u);
  EXPECT_EQ(j["disputes"][0]["observation_id"], 99);
  EXPECT_EQ(j["links"]["csv"], "/api/v1/reports/42.csv");

  // No outlines and no picture bytes in the document.
  EXPECT_FALSE(j.contains("outlines"));
  EXPECT_EQ(dumped.find(base64_encode(r.newest[0].thumbnail_jpeg).substr(0, 40)),
            std::string::npos);
  EXPECT_LT(dumped.size(), 8000u);
}

TEST(ReportJsonTest, ThumbnailUrlNeedsAHexShaAndAFrame) {
  NewestObservation o;
  EXPECT_EQ(thumbnail_url(o), "");
  o.media_sha256 = std::string(64, 'c');
  EXPECT_EQ(thumbnail_url(o), "");
  o.frame = 12;
  EXPECT_EQ(thumbnail_url(o), "/api/v1/media/" + std::string(64, 'c') + "/frames/12/thumb.jpg");
  o.media_sha256 = "../../etc/passwd";
  EXPECT_EQ(thumbnail_url(o), "");
}

// --- CSV ---

TEST(ReportCsvTest, TableQuotingAndNumbers) {
  ReportData r = test::sample_report();
  std::string csv = render_csv(r);
  // RFC 4180: every record ends in CRLF, no bare LF.
  ASSERT_GE(csv.size(), 2u);
  EXPECT_EQ(csv.substr(csv.size() - 2), "\r\n");
  EXPECT_EQ(count_of(csv, "\n"), count_of(csv, "\r\n"));
  std::vector<std::vector<std::string>> rows;
  for (size_t pos = 0; pos < csv.size();) {
    size_t end = csv.find("\r\n", pos);
    rows.push_back(csv_split(std::string_view(csv).substr(pos, end - pos)));
    pos = end + 2;
  }
  ASSERT_EQ(rows.size(), 1 + r.oblasts.size());
  const std::vector<std::string> header = {"code",
                                           "name",
                                           "country",
                                           "observations",
                                           "vehicles",
                                           "toward",
                                           "away",
                                           "parallel",
                                           "stationary",
                                           "unknown",
                                           "mean_km_to_border",
                                           "previous_vehicles",
                                           "change_vehicles",
                                           "change_percent"};
  EXPECT_EQ(rows[0], header);
  for (const auto& row : rows) ASSERT_EQ(row.size(), header.size());
  EXPECT_EQ(rows[1], (std::vector<std::string>{"RU-BEL", "Belgorod", "RUS", "3", "46", "42", "4",
                                               "0", "0", "0", "24.6", "50", "-4", "-8.0"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"RU-KRS", "Kursk", "RUS", "4", "64", "0", "0", "55",
                                               "1", "8", "37.7", "0", "64", ""}));
  // Commas and quotes survive a round trip; a formula is neutralised with an apostrophe.
  EXPECT_EQ(rows[3][1], "Name, with \"quotes\" <i>and markup</i>");
  EXPECT_EQ(rows[3][2], "'=HYPERLINK(\"http://x\")");
  EXPECT_NE(csv.find("\"Name, with \"\"quotes\"\" <i>and markup</i>\""), std::string::npos);
  EXPECT_EQ(rows[3][13], "-100.0");
}

// --- map SVG ---

TEST(ReportMapTest, WellFormedWithOneCirclePerObservation) {
  ReportData r = test::sample_report();
  std::string svg = render_map_svg(r);
  Doc doc = parse_xml(svg);
  ASSERT_TRUE(doc) << "not well-formed XML:\n" << svg;
  auto ids = xpath(doc.get(), "//s:circle[@class='obs']/@data-id");
  ASSERT_EQ(ids.size(), r.observations.size());
  std::set<std::string> want, got(ids.begin(), ids.end());
  for (const auto& o : r.observations) want.insert(std::to_string(o.id));
  EXPECT_EQ(got, want);
  EXPECT_EQ(count_of(svg, "class=\"obs\""), r.observations.size());
  EXPECT_EQ(xpath(doc.get(), "//s:polyline[@class='track']").size(), r.tracks.size());
  // Every circle lies inside the map area, and a bigger count has a bigger circle.
  auto height = std::stod(xpath(doc.get(), "//s:rect[@class='sea']/@height").at(0));
  std::map<std::string, double> radius;
  for (const auto& o : r.observations) {
    std::string at = "//s:circle[@data-id='" + std::to_string(o.id) + "']/@";
    double cx = std::stod(xpath(doc.get(), at + "cx").at(0));
    double cy = std::stod(xpath(doc.get(), at + "cy").at(0));
    EXPECT_GT(cx, 0);
    EXPECT_LT(cx, 800);
    EXPECT_GT(cy, 0);
    EXPECT_LT(cy, height);
    radius[std::to_string(o.id)] = std::stod(xpath(doc.get(), at + "r").at(0));
  }
  // Area proportional to vehicles: r(55)/r(12) = sqrt(55/12).
  EXPECT_NEAR(radius["104"] / radius["101"], std::sqrt(55.0 / 12.0), 0.02);
  // North is up, east is right: 104 (51.20N 35.30E) is north-west of 103 (50.30N 37.20E).
  auto coord = [&](const char* id, const char* a) {
    return std::stod(
        xpath(doc.get(), std::string("//s:circle[@data-id='") + id + "']/@" + a).at(0));
  };
  EXPECT_LT(coord("104", "cx"), coord("103", "cx"));
  EXPECT_LT(coord("104", "cy"), coord("103", "cy"));
  // The odd movement is escaped in the tooltip and drawn in the "unknown" colour.
  auto titles = xpath(doc.get(), "//s:circle[@data-id='107']/s:title");
  ASSERT_EQ(titles.size(), 1u);
  EXPECT_NE(titles[0].find("<b>odd</b>"), std::string::npos);
  EXPECT_EQ(xpath(doc.get(), "//s:circle[@data-id='107']/@fill").at(0),
            std::string(movement_colour("unknown")));
  // Legend with every movement, escaped attribution.
  auto legend = xpath(doc.get(), "//s:g[@class='legend']/s:text");
  for (std::string_view m : kMovements) {
    EXPECT_NE(std::find(legend.begin(), legend.end(), std::string(m)), legend.end()) << m;
  }
  EXPECT_NE(std::find(legend.begin(), legend.end(), r.map_attribution), legend.end());
}

TEST(ReportMapTest, RealGeodataOutlinesRenderSmall) {
  ReportData r = test::sample_report();
  r.outlines = test::geodata_outlines(geodata_dir());
  ASSERT_GE(r.outlines.size(), 100u) << "data/geodata missing or unreadable";
  auto t0 = std::chrono::steady_clock::now();
  std::string svg = render_map_svg(r);
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  Doc doc = parse_xml(svg);
  ASSERT_TRUE(doc) << "not well-formed XML";
  EXPECT_EQ(xpath(doc.get(), "//s:circle[@class='obs']").size(), r.observations.size());
  // Around Belgorod: Russia and Ukraine, their oblasts, and the border are on the map.
  auto countries = xpath(doc.get(), "//s:g[@class='countries']/s:path/@data-name");
  EXPECT_NE(std::find(countries.begin(), countries.end(), "Russia"), countries.end());
  EXPECT_NE(std::find(countries.begin(), countries.end(), "Ukraine"), countries.end());
  EXPECT_EQ(std::find(countries.begin(), countries.end(), "Norway"), countries.end());
  auto oblasts = xpath(doc.get(), "//s:g[@class='oblasts']/s:path/@data-name");
  for (const char* name : {"Belgorod", "Kursk", "Kharkiv", "Sumy"}) {
    EXPECT_NE(std::find(oblasts.begin(), oblasts.end(), name), oblasts.end()) << name;
  }
  EXPECT_EQ(std::find(oblasts.begin(), oblasts.end(), "Lviv"), oblasts.end());
  EXPECT_GE(xpath(doc.get(), "//s:g[@class='border']//s:path").size(), 2u);
  auto labels = xpath(doc.get(), "//s:g[@class='labels']/s:text");
  EXPECT_NE(std::find(labels.begin(), labels.end(), "Belgorod"), labels.end());
  // Clipped and thinned: the 4.5 MB of outlines become a small picture.
  EXPECT_LT(svg.size(), 150u * 1024) << svg.size();
  std::cout << "map SVG with geodata: " << svg.size() << " bytes, " << ms << " ms\n";
}

TEST(ReportMapTest, WithoutObservationsTheBorderSetsTheExtent) {
  ReportData r = test::sample_report();
  r.observations.clear();
  r.tracks.clear();
  r.outlines = test::geodata_outlines(geodata_dir());
  ASSERT_FALSE(r.outlines.empty());
  std::string svg = render_map_svg(r);
  Doc doc = parse_xml(svg);
  ASSERT_TRUE(doc);
  EXPECT_EQ(xpath(doc.get(), "//s:circle[@class='obs']").size(), 0u);
  auto oblasts = xpath(doc.get(), "//s:g[@class='oblasts']/s:path/@data-name");
  // The whole Ukrainian land border: from Volyn in the west to Donetsk in the east.
  for (const char* name : {"Volyn", "Chernihiv", "Luhansk", "Donetsk"}) {
    EXPECT_NE(std::find(oblasts.begin(), oblasts.end(), name), oblasts.end()) << name;
  }
  EXPECT_LT(svg.size(), 300u * 1024) << svg.size();
  test::write_file((fs::path(::testing::TempDir()) / "cw_report_border_map.svg").string(), svg);
}

TEST(ReportMapTest, MalformedOrEmptyInputStillDraws) {
  ReportData r;
  r.outlines = {
      {"country", "<bad>", nlohmann::json{{"type", "Polygon"}, {"coordinates", "nope"}}},
      {"oblast", "x",
       nlohmann::json{{"type", "MultiPolygon"}, {"coordinates", {{{{1, 2}, {"a", 3}, {4}}}}}}},
      {"border", "y", nlohmann::json{{"type", "Point"}, {"coordinates", {30, 50}}}},
      {"border", "z", nlohmann::json(nullptr)},
  };
  r.observations = {{1, std::nan(""), 36.0, 3, "toward", {}}, {2, 50.0, 36.0, -5, "away", {}}};
  r.tracks = {{1, {{36, 50}}, 1, 0, 0, {}, {}}};
  for (const std::string& svg : {render_map_svg(r), render_bars_svg(r)}) {
    Doc doc = parse_xml(svg);
    ASSERT_TRUE(doc) << svg;
  }
  Doc doc = parse_xml(render_map_svg(r));
  EXPECT_EQ(xpath(doc.get(), "//s:circle[@class='obs']").size(), 2u);
  EXPECT_EQ(xpath(doc.get(), "//s:polyline[@class='track']").size(), 0u);  // one point: no line
  EXPECT_NO_THROW(to_json(r).dump());
  EXPECT_NO_THROW(render_html(r));
}

TEST(ReportOutlinesTest, ReadsGeodataAndRejectsOtherText) {
  auto border =
      outlines_from_geojson(test::read_text_file(geodata_dir() + "/border.geojson"), "border");
  ASSERT_TRUE(border.ok());
  ASSERT_EQ(border->size(), 2u);
  EXPECT_EQ((*border)[0].kind, "border");
  EXPECT_EQ((*border)[0].name, "Russia");
  EXPECT_EQ((*border)[0].geometry["type"], "LineString");
  for (const char* bad :
       {"", "[]", "{\"type\":\"Feature\"}", "{\"type\":\"FeatureCollection\"}", "{not json"}) {
    auto r = outlines_from_geojson(bad, "country");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Code::kUnprocessable);
  }
}

// --- bar chart SVG ---

TEST(ReportBarsTest, StackedBarsMatchTheDays) {
  ReportData r = test::sample_report();
  std::string svg = render_bars_svg(r);
  Doc doc = parse_xml(svg);
  ASSERT_TRUE(doc) << svg;
  size_t segments = 0;
  for (const DayBar& d : r.days) {
    for (int64_t v : {d.toward, d.away, d.parallel, d.stationary, d.unknown}) segments += v > 0;
  }
  EXPECT_EQ(xpath(doc.get(), "//s:rect[@class='bar']").size(), segments);
  // Heights follow the y axis: the pixels between the 0 and the top gridline over the top value.
  auto lines = xpath(doc.get(), "//s:g[@class='y-axis']/s:line/@y1");
  auto ticks = xpath(doc.get(), "//s:g[@class='y-axis']/s:text");
  ASSERT_GE(lines.size(), 2u);
  ASSERT_EQ(ticks.size(), lines.size() + 1);  // + the axis title
  EXPECT_EQ(ticks[0], "0");
  const double top = std::stod(ticks[lines.size() - 1]);
  EXPECT_GE(top, 110);  // the largest day
  const double px_per_vehicle = (std::stod(lines.front()) - std::stod(lines.back())) / top;
  for (const DayBar& d : r.days) {
    double h = 0;
    auto heights = xpath(doc.get(), "//s:rect[@class='bar'][@data-day='" + d.day + "']/@height");
    for (const auto& v : heights) h += std::stod(v);
    // Each segment is written to 0.1 px.
    EXPECT_NEAR(h, px_per_vehicle * static_cast<double>(d.total()),
                0.05 * static_cast<double>(heights.size()) + 1e-9)
        << d.day;
  }
  auto totals = xpath(doc.get(), "//s:text[@class='total']");
  ASSERT_EQ(totals.size(), 6u);  // one day has none
  EXPECT_EQ(totals.back(), std::to_string(r.days.back().total()));
  auto days = xpath(doc.get(), "//s:text[@class='day']");
  ASSERT_EQ(days.size(), r.days.size());
  EXPECT_EQ(days[0], "02-10");
}

TEST(ReportBarsTest, NoDays) {
  ReportData r;
  std::string svg = render_bars_svg(r);
  Doc doc = parse_xml(svg);
  ASSERT_TRUE(doc);
  EXPECT_NE(svg.find("No observations in this period"), std::string::npos);
}

// --- HTML ---

TEST(ReportHtmlTest, SelfContainedEscapedAndComplete) {
  ReportData r = test::sample_report();
  r.outlines = test::geodata_outlines(geodata_dir());
  std::string html = render_html(r);
  std::string l = lower(html);

  // No script and nothing fetched from elsewhere.
  EXPECT_EQ(l.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; the place"),
            std::string::npos);
  for (const char* external :
       {"src=\"http", "src='http", "src=\"//", "@import", "href=\"javascript", "<iframe", "<object",
        "<embed", "<link rel=\"style"}) {
    EXPECT_EQ(l.find(external), std::string::npos) << external;
  }
  // url(…) only for the SVG's own fragments (clip path, markers).
  for (size_t pos = l.find("url("); pos != std::string::npos; pos = l.find("url(", pos + 1)) {
    EXPECT_EQ(l[pos + 4], '#') << l.substr(pos, 40);
  }
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  // The only link out is the http(s) source; javascript: is shown as text.
  EXPECT_EQ(count_of(l, "<a "), 1u);
  EXPECT_NE(html.find("href=\"https://t.me/example/123?a=1&amp;b=&quot;2&quot;\""),
            std::string::npos);
  EXPECT_NE(html.find("<p class=\"muted\">javascript:alert(1)</p>"), std::string::npos);

  // Thumbnails embedded as data: URIs, byte for byte.
  EXPECT_NE(
      html.find("src=\"data:image/jpeg;base64," + base64_encode(r.newest[0].thumbnail_jpeg) + "\""),
      std::string::npos);
  EXPECT_EQ(count_of(html, "data:image/jpeg;base64,"), 2u);
  EXPECT_EQ(count_of(html, "no keyframe"), 1u);

  // Print rules.
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("break-inside: avoid"), std::string::npos);

  Doc doc = parse_html(html);
  ASSERT_TRUE(doc);
  EXPECT_EQ(xpath(doc.get(), "//circle[@class='obs']").size(), r.observations.size());
  EXPECT_EQ(xpath(doc.get(), "//section").size(), 7u);
  // Numbers: the totals table.
  auto cell = [&](const std::string& key, int col) {
    auto v = xpath(doc.get(), "//table[@class='totals']//tr[@data-key='" + key + "']/td[" +
                                  std::to_string(col) + "]");
    return v.empty() ? std::string("<missing>") : v[0];
  };
  EXPECT_EQ(cell("vehicles", 1), std::to_string(r.totals.vehicles));
  EXPECT_EQ(cell("vehicles", 2), "80");
  EXPECT_EQ(cell("vehicles", 3), "+30 (+37.5%)");  // 110 vs 80
  EXPECT_EQ(cell("observations", 3), "+3 (+75.0%)");
  EXPECT_EQ(cell("away", 3), "+4 (new)");
  EXPECT_EQ(cell("unknown", 1), "8");
  EXPECT_EQ(cell("mean_km_to_border", 1), "32.1 km");
  EXPECT_EQ(cell("mean_km_to_border", 3), "-9.4 km");
  // The per-oblast table.
  auto oblast = [&](const std::string& code) {
    return xpath(doc.get(), "//table[@class='oblasts']//tr[@data-oblast='" + code + "']/td");
  };
  EXPECT_EQ(oblast("RU-BEL"), (std::vector<std::string>{"Belgorod RU-BEL", "RUS", "3", "46", "42",
                                                        "4", "24.6 km", "50", "-4 (-8.0%)"}));
  EXPECT_EQ(oblast("RU-KRS").back(), "+64 (new)");
  auto odd = oblast("RU-X");
  ASSERT_EQ(odd.size(), 9u);
  EXPECT_EQ(odd[0], "Name, with \"quotes\" <i>and markup</i> RU-X");  // text, not markup
  EXPECT_EQ(odd[6], "–");
  EXPECT_EQ(odd[8], "-30 (-100.0%)");
  EXPECT_EQ(xpath(doc.get(), "//table[@class='oblasts']//i").size(), 0u);
  // Tracks, newest, disputes.
  auto track = xpath(doc.get(), "//table[@class='tracks']//tr[@data-track='7']/td");
  EXPECT_EQ(track, (std::vector<std::string>{"#7", "2022-02-16 05:10 UTC", "2022-02-16 07:40 UTC",
                                             "3", "30", "+17.5 km", "38 km/h"}));
  EXPECT_EQ(xpath(doc.get(), "//div[@class='card']").size(), 3u);
  auto dispute = xpath(doc.get(), "//table[@class='disputes']//tr[@data-observation='99']/td");
  ASSERT_EQ(dispute.size(), 5u);
  EXPECT_EQ(dispute[3], "analyst <b>");
  EXPECT_EQ(xpath(doc.get(), "//table[@class='disputes']//b").size(), 0u);
  EXPECT_NE(html.find("Period: 2022-02-15 22:00 UTC – 2022-02-16 22:00 UTC (days in Europe/Kyiv)"),
            std::string::npos);
  EXPECT_NE(html.find("Generated 2022-02-17 04:00 UTC"), std::string::npos);
  // The map SVG inside the page is the map SVG.
  EXPECT_NE(html.find(render_map_svg(r)), std::string::npos);
  EXPECT_LT(html.size(), 250u * 1024) << html.size();

  // For the browser check (tests/e2e/report_browser.mjs) and for looking at it.
  fs::path out = fs::path(::testing::TempDir()) / "cw_report_sample.html";
  test::write_file(out.string(), html);
  std::cout << "sample report: " << out.string() << " (" << html.size() << " bytes)\n";
}

// A report over 100 k observations (the size bench/ builds a daily report from) renders with one
// mark per observation and stays under 12 MB. Its time is printed, not asserted (the machines
// are noisy; bench/observations.sh measures the whole report against its goal).
TEST(ReportHtmlTest, HundredThousandObservations) {
  ReportData r = test::sample_report();
  r.outlines = test::geodata_outlines(geodata_dir());
  r.observations.clear();
  for (int64_t i = 0; i < 100'000; ++i) {
    r.observations.push_back({i + 1, 49.5 + static_cast<double>(i % 317) / 317 * 3,
                              34.5 + static_cast<double>(i % 997) / 997 * 5, 1 + i % 40,
                              std::string(kMovements[static_cast<size_t>(i % 5)]),
                              test::sample_time("2022-02-16T05:10:00Z")});
  }
  auto t0 = std::chrono::steady_clock::now();
  std::string html = render_html(r);
  auto ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(count_of(html, "<circle class=\"obs\""), r.observations.size());
  EXPECT_LT(html.size(), 12u * 1024 * 1024);
  std::cout << "100 k observations: " << html.size() << " bytes of HTML in " << ms << " ms\n";
}

TEST(ReportHtmlTest, EmptyReport) {
  ReportData r;
  r.kind = "weekly";
  r.period_key = "2022-W07";
  std::string html = render_html(r);
  EXPECT_NE(html.find("No convoy tracks in this period."), std::string::npos);
  EXPECT_NE(html.find("No open disputes."), std::string::npos);
  EXPECT_NE(html.find("No verified observations in this period."), std::string::npos);
  Doc doc = parse_html(html);
  ASSERT_TRUE(doc);
  EXPECT_EQ(xpath(doc.get(), "//table[@class='totals']//tr[@data-key='vehicles']/td[3]").at(0),
            "0");
}

}  // namespace
}  // namespace cw::reports
