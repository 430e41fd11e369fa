// Per-test databases cloned from a template.
#include "tests/support/test_db.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace cw::test {

std::string admin_url() {
  const char* url = std::getenv("CW_TEST_ADMIN_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "CW_TEST_ADMIN_URL is not set: run the tests through scripts/test, which "
                     "starts the test PostgreSQL cluster";
    throw std::runtime_error("no test database");
  }
  return url;
}

std::string with_database(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?', slash);
  std::string out = url.substr(0, slash) + "/" + db;
  if (query != std::string::npos) out += url.substr(query);
  return out;
}

std::string app_url(const std::string& url) {
  const char* password = std::getenv("CW_TEST_APP_PASSWORD");
  if (password == nullptr || *password == '\0') {
    ADD_FAILURE() << "CW_TEST_APP_PASSWORD is not set: run the tests through scripts/test, which "
                     "creates the application role in the test cluster";
    throw std::runtime_error("no application role");
  }
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = url.find('@', start);
  size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) {
    at = start - 1;  // no user in the URL: insert one
  }
  return url.substr(0, start) + "convoywatch_app:" + password + "@" + url.substr(at + 1);
}

TestDatabase::TestDatabase(const std::string& template_db) : admin_url_(admin_url()) {
  static std::atomic<int> counter{0};
  name_ = "cw_t_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  pqxx::connection c(admin_url_);
  pqxx::nontransaction tx(c);
  tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_));
  tx.exec0("CREATE DATABASE " + tx.quote_name(name_) + " TEMPLATE " + tx.quote_name(template_db));
  url_ = with_database(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    fprintf(stderr, "warning: could not drop %s: %s\n", name_.c_str(), e.what());
  }
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::work tx(c);
  tx.exec(sql);
  tx.commit();
}

std::string TestDatabase::query_value(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

}  // namespace cw::test
