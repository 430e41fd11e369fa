// tus uploads in progress. Not audited: an upload is transport state, not evidence; the
// submission it completes into is audited when it is created.
#include "store/uploads.hpp"

#include <limits>

#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// Times cross as microseconds since the epoch, exact both ways.
constexpr const char* kInsert = R"sql(
INSERT INTO uploads (id, user_id, length, metadata, temp_name, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5,
        CASE WHEN $6::bigint = 0 THEN now()
             ELSE 'epoch'::timestamptz + $6::bigint * interval '1 microsecond' END,
        'epoch'::timestamptz + $7::bigint * interval '1 microsecond'))sql";
constexpr const char* kSelect = R"sql(
SELECT id, user_id, length, metadata, temp_name,
       (extract(epoch FROM created_at) * 1000000)::bigint,
       (extract(epoch FROM expires_at) * 1000000)::bigint, submission_id
FROM uploads WHERE id = $1 AND user_id = $2)sql";
constexpr const char* kComplete = R"sql(
UPDATE uploads SET submission_id = $2
WHERE id = $1 AND (submission_id IS NULL OR submission_id = $2) RETURNING id)sql";
constexpr const char* kExists = "SELECT 1 FROM uploads WHERE id = $1";
constexpr const char* kDelete = "DELETE FROM uploads WHERE id = $1 AND user_id = $2 RETURNING id";
constexpr const char* kDeleteExpired = R"sql(
DELETE FROM uploads
WHERE expires_at < 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'
RETURNING temp_name)sql";

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

}  // namespace

Status Uploads::create(const Upload& upload) {
  if (upload.length > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Error(Code::kUnprocessable, "Upload-Length is too large", "Upload-Length");
  }
  if (has_nul(upload.id) || has_nul(upload.metadata) || has_nul(upload.temp_name)) {
    return Error(Code::kUnprocessable, "upload fields must not contain NUL characters",
                 "Upload-Metadata");
  }
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    try {
      tx.exec_params0(kInsert, upload.id, upload.user_id, static_cast<int64_t>(upload.length),
                      upload.metadata, upload.temp_name,
                      upload.created_at.time_since_epoch().count(),
                      upload.expires_at.time_since_epoch().count());
    } catch (const pqxx::data_exception&) {
      return Error(Code::kUnprocessable, "Upload-Metadata is not valid text", "Upload-Metadata");
    }
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<Upload> Uploads::get(int64_t user_id, const std::string& id) {
  if (has_nul(id)) return Error(Code::kNotFound, "no such upload");
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Upload> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(kSelect, id, user_id);
    if (r.empty()) return Error(Code::kNotFound, "no such upload");
    const pqxx::row& row = r[0];
    Upload u;
    u.id = row[0].as<std::string>();
    u.user_id = row[1].as<int64_t>();
    u.length = static_cast<uint64_t>(row[2].as<int64_t>());
    u.metadata = row[3].as<std::string>();
    u.temp_name = row[4].as<std::string>();
    u.created_at = from_micros(row[5].as<int64_t>());
    u.expires_at = from_micros(row[6].as<int64_t>());
    if (!row[7].is_null()) u.submission_id = row[7].as<int64_t>();
    return u;
  });
}

Status Uploads::complete(const std::string& id, int64_t submission_id) {
  if (has_nul(id)) return Error(Code::kNotFound, "no such upload");
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (!tx.exec_params(kComplete, id, submission_id).empty()) return true;
    if (tx.exec_params(kExists, id).empty()) return Error(Code::kNotFound, "no such upload");
    return Error(Code::kConflict, "the upload already completed into another submission");
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status Uploads::remove(int64_t user_id, const std::string& id) {
  if (has_nul(id)) return Error(Code::kNotFound, "no such upload");
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (tx.exec_params(kDelete, id, user_id).empty()) {
      return Error(Code::kNotFound, "no such upload");
    }
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<std::vector<std::string>> Uploads::remove_expired(TimePoint now) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
    std::vector<std::string> names;
    for (const auto& row : tx.exec_params(kDeleteExpired, now.time_since_epoch().count())) {
      names.push_back(row[0].as<std::string>());
    }
    return names;
  });
}

}  // namespace cw::store
