// The module layering of DESIGN.md, checked on every include of the source tree rather than
// hoped for: a module may include only its own headers and those of the modules below it, the
// database driver stays behind store/'s public headers, and HTTP server types stay in server/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace cw {
namespace {

namespace fs = std::filesystem;

// Module -> the modules it may include (besides itself). From DESIGN.md's layout table; the
// server serves reports (GET /api/v1/reports/{id}.html builds nothing but reads what reports/
// renders, and POST /reports builds one), so it may use reports/.
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> table = {
      {"common", {}},
      {"geo", {"common"}},
      {"store", {"common", "geo"}},
      {"reports", {"common", "geo", "store"}},
      {"pipeline", {"common", "geo", "store"}},
      {"client", {"common"}},
      {"server", {"common", "geo", "store", "reports"}},
      {"app", {"common", "geo", "store", "reports", "pipeline", "client", "server"}},
  };
  return table;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every C++ file of the module folders, with the project includes it makes.
struct Include {
  std::string file;
  int line = 0;
  std::string target;  // "store/jobs.hpp" or <pqxx/pqxx>
  bool angled = false;
};

std::vector<Include> includes_of(const std::string& module) {
  std::vector<Include> out;
  const fs::path dir = fs::path(CW_SOURCE_DIR) / module;
  if (!fs::is_directory(dir)) return out;
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cpp" && ext != ".hpp") continue;
    std::istringstream lines(read(entry.path()));
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      std::smatch m;
      if (std::regex_search(line, m, kInclude)) {
        out.push_back({fs::relative(entry.path(), CW_SOURCE_DIR).string(), n, m[2], m[1] == "<"});
      }
    }
  }
  return out;
}

TEST(LayersTest, ModulesIncludeOnlyWhatDesignAllows) {
  int checked = 0;
  for (const auto& [module, may] : allowed()) {
    for (const Include& inc : includes_of(module)) {
      if (inc.angled) continue;
      const size_t slash = inc.target.find('/');
      if (slash == std::string::npos) continue;
      const std::string to = inc.target.substr(0, slash);
      if (!allowed().count(to)) continue;  // not a module (a generated file, a third party)
      ++checked;
      EXPECT_TRUE(to == module || may.count(to))
          << inc.file << ":" << inc.line << ": " << module << "/ includes " << inc.target
          << ", but DESIGN.md lets " << module << "/ use only its own headers and those of "
          << (may.empty() ? std::string("no other module") : [&] {
               std::string s;
               for (const auto& m : may) s += (s.empty() ? "" : ", ") + m + "/";
               return s;
             }());
    }
  }
  EXPECT_GT(checked, 100);  // the scan saw the tree
}

TEST(LayersTest, DriverAndHttpTypesStayInTheirModules) {
  // No public header of store/ names libpqxx (store/internal/ is where it lives).
  for (const Include& inc : includes_of("store")) {
    if (inc.file.find("/internal/") != std::string::npos) continue;
    if (inc.file.ends_with(".hpp")) {
      EXPECT_FALSE(inc.target.starts_with("pqxx") || inc.target.starts_with("libpq"))
          << inc.file << ":" << inc.line << " includes " << inc.target
          << " in a public header of store/";
    }
  }
  // HTTP server types (Beast) only in server/; the client has its own (libcurl).
  for (const char* module : {"common", "geo", "store", "reports", "pipeline", "client"}) {
    for (const Include& inc : includes_of(module)) {
      EXPECT_FALSE(inc.target.starts_with("boost/beast"))
          << inc.file << ":" << inc.line << " includes " << inc.target << " outside server/";
    }
  }
}

// The checker itself: a made-up violation is seen.
TEST(LayersTest, TheTableRefusesWhatItShould) {
  EXPECT_FALSE(allowed().at("pipeline").count("reports"));
  EXPECT_FALSE(allowed().at("store").count("server"));
  EXPECT_FALSE(allowed().at("common").count("store"));
  EXPECT_FALSE(allowed().at("client").count("store"));
}

}  // namespace
}  // namespace cw
