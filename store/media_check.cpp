#include "store/media_check.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// Keyset pages of the media rows in hash order, or one random sample.
constexpr const char* kPage =
    "SELECT sha256, size FROM media WHERE sha256 > $1 ORDER BY sha256 LIMIT 1000";
constexpr const char* kSample = "SELECT sha256, size FROM media ORDER BY random() LIMIT $1";

struct Row {
  std::string sha256;
  uint64_t size = 0;
};

Result<std::vector<Row>> read_rows(Database& db, const char* sql, const std::string& arg) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::vector<Row>> {
    pqxx::read_transaction tx(c);
    std::vector<Row> out;
    for (const auto& r : tx.exec_params(sql, arg)) {
      out.push_back({r[0].as<std::string>(), static_cast<uint64_t>(r[1].as<int64_t>())});
    }
    return out;
  });
}

// One original against its row; nullopt when intact.
std::optional<std::string> check_one(const MediaStore& store, const Row& row, uint64_t* bytes) {
  auto path = store.path_of(row.sha256);
  if (!path.ok()) return "not a content address";
  struct stat st {};
  if (::stat(path->c_str(), &st) != 0) return fmt::format("missing ({})", *path);
  const auto on_disk = static_cast<uint64_t>(st.st_size);
  auto hash = store.verify(row.sha256);
  if (!hash.ok()) return fmt::format("unreadable: {}", hash.error().detail());
  *bytes += on_disk;
  if (*hash != row.sha256) return fmt::format("changed: the file now hashes to {}", *hash);
  if (on_disk != row.size) {
    return fmt::format("size: the media row records {} bytes, the file has {}", row.size, on_disk);
  }
  return std::nullopt;
}

}  // namespace

Result<MediaCheck> check_media(Database& db, const MediaStore& store,
                               std::optional<uint64_t> sample,
                               const std::function<void(uint64_t)>& on_checked) {
  MediaCheck out;
  auto check_rows = [&](const std::vector<Row>& rows) {
    for (const Row& row : rows) {
      if (auto problem = check_one(store, row, &out.bytes)) {
        out.problems.push_back({row.sha256, *problem});
      }
      ++out.checked;
      if (on_checked) on_checked(out.checked);
    }
  };
  if (sample) {
    auto rows = read_rows(db, kSample, std::to_string(*sample));
    if (!rows.ok()) return rows.error();
    check_rows(*rows);
    return out;
  }
  std::string after;
  for (;;) {
    auto rows = read_rows(db, kPage, after);
    if (!rows.ok()) return rows.error();
    if (rows->empty()) break;
    check_rows(*rows);
    after = rows->back().sha256;
  }
  return out;
}

}  // namespace cw::store
