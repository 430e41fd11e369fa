// Internal to store/: appending an audit row inside a caller's transaction.
#pragma once

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>
#include <string>

#include "store/audit.hpp"

namespace cw::store {

// REQUIRES: called inside the transaction that makes the change; serialises appends with a
// transaction-scoped advisory lock so the chain stays linear.
void audit_append(pqxx::work& tx, const Actor& actor, const std::string& action,
                  const std::string& object, const nlohmann::json& diff);

}  // namespace cw::store
