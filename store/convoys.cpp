#include "store/convoys.hpp"

#include <fmt/format.h>

#include "store/internal/audit_append.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

// A PostgreSQL bigint[] literal ({1,2,3}).
std::string array_literal(const std::vector<int64_t>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(v[i]);
  }
  out += '}';
  return out;
}

}  // namespace

Status ConvoyEdits::add(const Principal& who, const std::string& kind, int64_t track_id,
                        const std::vector<std::pair<int64_t, int64_t>>& pairs,
                        const std::string& note) {
  if (kind != "split" && kind != "merge") {
    return Error(Code::kUnprocessable, "kind must be split or merge", "kind");
  }
  for (const auto& [a, b] : pairs) {
    if (a == b) return Error(Code::kUnprocessable, "an edit needs two observations", "pairs");
  }
  return in_transaction(db_, [&](pqxx::work& tx) -> Status {
    std::vector<int64_t> as, bs;
    for (const auto& [a, b] : pairs) {
      as.push_back(std::min(a, b));
      bs.push_back(std::max(a, b));
    }
    tx.exec_params0(R"sql(
INSERT INTO convoy_edits (kind, a_observation, b_observation, note, created_by)
SELECT $1, a, b, $4, $5 FROM unnest($2::bigint[], $3::bigint[]) AS p (a, b))sql",
                    kind, array_literal(as), array_literal(bs), note, who.user_id);
    audit_append(tx, Actor{who.user_id, who.user_name}, "convoy." + kind,
                 fmt::format("convoy:{}", track_id), {{"pairs", pairs.size()}, {"note", note}});
    return Status();
  });
}

Result<std::vector<ConvoyEdit>> ConvoyEdits::among(const std::vector<int64_t>& ids) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<ConvoyEdit>> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(R"sql(
SELECT id, kind, a_observation, b_observation FROM convoy_edits
 WHERE a_observation = ANY($1::bigint[]) OR b_observation = ANY($1::bigint[])
 ORDER BY id)sql",
                                    array_literal(ids));
    std::vector<ConvoyEdit> out;
    for (const auto& row : r) {
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>(),
                     row[3].as<int64_t>()});
    }
    return out;
  });
}

}  // namespace cw::store
