// The HTML report in a real browser: the sample report (tests/support/report_sample.hpp) with the
// real outlines of data/geodata is opened in Debian's headless Chromium by report_browser.mjs,
// which takes a full-page screenshot. The page must load without console or page errors and
// without any request (its Content-Security-Policy forbids them), and the map must show one mark
// per observation; printed to PDF it takes a few A4 pages. Served reports (GET /reports/{id}.html)
// go through the same script.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "reports/report.hpp"
#include "tests/support/process.hpp"
#include "tests/support/report_sample.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;

TEST(ReportBrowserTest, SampleReportRendersInChromium) {
  const std::string e2e = std::string(CW_SOURCE_DIR) + "/tests/e2e";
  ASSERT_TRUE(fs::exists(e2e + "/node_modules/playwright-core"))
      << "run scripts/setup (npm ci in tests/e2e)";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium")) << "Debian package chromium (scripts/setup)";

  reports::ReportData r = sample_report();
  r.outlines = geodata_outlines(std::string(CW_SOURCE_DIR) + "/data/geodata");
  ASSERT_FALSE(r.outlines.empty());
  fs::path dir = fs::path(::testing::TempDir()) / "cw_report_browser";
  fs::create_directories(dir);
  write_file((dir / "report.html").string(), reports::render_html(r));

  auto run = run_command({"/usr/bin/env", "node", e2e + "/report_browser.mjs",
                          (dir / "report.html").string(), (dir / "report.png").string(), "--pdf",
                          (dir / "report.pdf").string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto out = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out;
  EXPECT_EQ(out["console_errors"], nlohmann::json::array()) << run.out;
  EXPECT_EQ(out["page_errors"], nlohmann::json::array()) << run.out;
  EXPECT_EQ(out["failed_requests"], nlohmann::json::array()) << run.out;
  EXPECT_EQ(out["obs_marks"], r.observations.size());
  // A full page: the viewport's width, and taller than one screen (map, chart, tables, cards).
  EXPECT_EQ(out["width"], 1000);
  EXPECT_GT(out["height"].get<int>(), 2000);
  EXPECT_GT(fs::file_size(dir / "report.png"), 50'000u);
  // Printed on A4 with the print styles: a few pages, not one squeezed page or dozens.
  EXPECT_GE(out["pdf_pages"].get<int>(), 2) << run.out;
  EXPECT_LE(out["pdf_pages"].get<int>(), 8) << run.out;
}

// The script itself sees what it must report: a page that fetches from outside and throws.
TEST(ReportBrowserTest, ScriptReportsErrorsAndMarks) {
  const std::string e2e = std::string(CW_SOURCE_DIR) + "/tests/e2e";
  fs::path dir = fs::path(::testing::TempDir()) / "cw_report_browser_bad";
  fs::create_directories(dir);
  write_file((dir / "bad.html").string(),
             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>bad</title></head><body>"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"60\" height=\"20\">"
             "<circle class=\"obs\" cx=\"10\" cy=\"10\" r=\"5\"/>"
             "<circle class=\"obs\" cx=\"30\" cy=\"10\" r=\"5\"/></svg>"
             "<img src=\"http://127.0.0.1:9/x.png\">"
             "<script>console.error('boom'); undefined_function();</script></body></html>");
  auto run = run_command({"/usr/bin/env", "node", e2e + "/report_browser.mjs",
                          (dir / "bad.html").string(), (dir / "bad.png").string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto out = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out;
  EXPECT_EQ(out["obs_marks"], 2);
  EXPECT_GE(out["console_errors"].size(), 1u) << run.out;
  EXPECT_EQ(out["page_errors"].size(), 1u) << run.out;
  EXPECT_EQ(out["failed_requests"].size(), 1u) << run.out;

  auto missing = run_command({"/usr/bin/env", "node", e2e + "/report_browser.mjs",
                              (dir / "nope.html").string(), (dir / "nope.png").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  auto usage = run_command({"/usr/bin/env", "node", e2e + "/report_browser.mjs"});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace cw::test
