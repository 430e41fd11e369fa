// The events outbox's queries.
#include "store/events.hpp"

#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

constexpr const char* kColumns =
    "SELECT id, type, object_id, detail::text, (extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM events";

EventRow row_of(const pqxx::row& r) {
  EventRow e;
  e.id = r[0].as<int64_t>();
  e.type = r[1].as<std::string>();
  e.object_id = r[2].as<std::string>();
  e.detail = nlohmann::json::parse(r[3].as<std::string>(), nullptr, false);
  if (!e.detail.is_object()) e.detail = nlohmann::json::object();
  e.created_at = from_micros(r[4].as<int64_t>());
  return e;
}

}  // namespace

Result<std::vector<EventRow>> EventLog::after(int64_t after, int limit) {
  if (limit < 1 || limit > 10000) {
    return Error(Code::kInvalidArgument, "limit must be between 1 and 10000", "limit");
  }
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<EventRow>> {
    pqxx::nontransaction tx(c);
    std::vector<EventRow> out;
    for (const auto& r : tx.exec_params(
             std::string(kColumns) + " WHERE id > $1 ORDER BY id LIMIT $2", after, limit)) {
      out.push_back(row_of(r));
    }
    return out;
  });
}

Result<std::vector<EventRow>> EventLog::with_ids(const std::vector<int64_t>& ids) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<EventRow>> {
    pqxx::nontransaction tx(c);
    const std::string list = bigint_array(ids);
    std::vector<EventRow> out;
    for (const auto& r : tx.exec_params(
             std::string(kColumns) + " WHERE id = ANY($1::bigint[]) ORDER BY id", list)) {
      out.push_back(row_of(r));
    }
    return out;
  });
}

Result<std::pair<int64_t, int64_t>> EventLog::bounds() {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::pair<int64_t, int64_t>> {
    pqxx::nontransaction tx(c);
    auto r = tx.exec1("SELECT coalesce(max(id), 0), coalesce(min(id), 0) FROM events");
    return std::pair{r[0].as<int64_t>(), r[1].as<int64_t>()};
  });
}

Result<int64_t> EventLog::prune(std::chrono::seconds keep) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<int64_t> {
    pqxx::nontransaction tx(c);
    auto r =
        tx.exec_params("DELETE FROM events WHERE created_at < now() - make_interval(secs => $1)",
                       static_cast<double>(keep.count()));
    return static_cast<int64_t>(r.affected_rows());
  });
}

}  // namespace cw::store
