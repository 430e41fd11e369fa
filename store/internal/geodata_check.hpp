// Internal to store/: whether the reference geodata that observations derive their place from is
// loaded, checked inside the writing transaction so that no observation is stored without its
// derived values (store/geodata.hpp loads the data).
#pragma once

#include <pqxx/pqxx>

#include "common/error.hpp"

namespace cw::store {

// Countries, oblasts and the border: what deriving an observation's place needs.
inline constexpr const char* kGeodataReady =
    "SELECT EXISTS (SELECT 1 FROM geo_country_parts) AND EXISTS (SELECT 1 FROM geo_region_parts) "
    "AND EXISTS (SELECT 1 FROM geo_border_parts)";

inline constexpr const char* kGeodataMissing =
    "the reference geodata (countries, oblasts, the border) is not loaded, so the place of an "
    "observation cannot be derived: run `convoywatch geodata load` (or `convoywatch migrate`)";

// kUnavailable (503) naming `convoywatch geodata load` when the geodata is not loaded.
inline Status require_geodata(pqxx::transaction_base& tx) {
  if (tx.exec1(kGeodataReady)[0].as<bool>()) return Status::Ok();
  return Error(Code::kUnavailable, kGeodataMissing);
}

}  // namespace cw::store
