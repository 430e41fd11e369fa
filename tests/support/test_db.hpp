// A fresh database per test, cloned from the `cw_template` database (PostGIS enabled) that
// scripts/test creates in its throwaway cluster. Without CONVOYWATCH_TEST_DATABASE_URL the
// test fails: integration tests never pass by not running.
#pragma once

#include <string>

namespace cw::test {

class TestDatabase {
 public:
  TestDatabase() : TestDatabase("cw_template") {}  // creates cw_t_<pid>_<n> from cw_template
  // From another template: "cw_geo_template" has the schema and data/geodata loaded.
  explicit TestDatabase(const std::string& template_db);
  ~TestDatabase();  // drops it
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL on this database outside the code under test (seeding, tampering).
  void exec(const std::string& sql) const;
  // First column of the first row as text ("" for NULL or no row).
  std::string query_value(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string url_;
  std::string name_;
};

// The URL of the test cluster's maintenance database; fails the test when unset.
std::string admin_url();
// `url` with its database name replaced.
std::string with_database(const std::string& url, const std::string& db);
// `url` with the application role convoywatch_app and its password (CW_TEST_APP_PASSWORD, which
// scripts/test sets) as the login: how serve and worker connect (store/roles.hpp). Fails the
// test when the password is unset.
std::string app_url(const std::string& url);

}  // namespace cw::test
