// S3 keys from the environment or a credentials file (store/s3_client.hpp).
#include <fmt/format.h>

#include <fstream>

#include "store/internal/s3_sigv4.hpp"
#include "store/s3_client.hpp"

namespace cw::store {

using internal::trim;

Result<S3Credentials> load_s3_credentials(const std::map<std::string, std::string>& env,
                                          const std::string& file) {
  const char* field = "storage.s3_credentials_file";
  auto a = env.find("CONVOYWATCH_STORAGE_S3_ACCESS_KEY");
  auto s = env.find("CONVOYWATCH_STORAGE_S3_SECRET_KEY");
  const bool has_a = a != env.end() && !a->second.empty();
  const bool has_s = s != env.end() && !s->second.empty();
  if (has_a && has_s) return S3Credentials{a->second, s->second};
  if (has_a || has_s) {
    return Error(
        Code::kInvalidArgument,
        "set both CONVOYWATCH_STORAGE_S3_ACCESS_KEY and CONVOYWATCH_STORAGE_S3_SECRET_KEY, "
        "or neither",
        field);
  }
  if (file.empty()) {
    return Error(Code::kUnauthenticated,
                 "no S3 keys: set CONVOYWATCH_STORAGE_S3_ACCESS_KEY and "
                 "CONVOYWATCH_STORAGE_S3_SECRET_KEY, or storage.s3_credentials_file",
                 field);
  }
  std::ifstream in(file);
  if (!in) {
    return Error(Code::kInvalidArgument, "cannot read the S3 credentials file " + file, field);
  }
  S3Credentials c;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string name = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    std::string* target = nullptr;
    if (name == "access_key" || name == "aws_access_key_id") target = &c.access_key;
    if (name == "secret_key" || name == "aws_secret_access_key") target = &c.secret_key;
    if (target == nullptr) continue;
    if (!target->empty()) {
      return Error(
          Code::kInvalidArgument,
          fmt::format("{}:{}: a second {} (one set of keys per file)", file, line_no, name), field);
    }
    *target = value;
  }
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Error(Code::kInvalidArgument,
                 file +
                     " lacks access_key and secret_key (or aws_access_key_id and "
                     "aws_secret_access_key)",
                 field);
  }
  return c;
}

}  // namespace cw::store
