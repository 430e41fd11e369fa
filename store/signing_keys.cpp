#include "store/signing_keys.hpp"

#include "common/sha256.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

Result<std::string> signing_key(Database& db, const std::string& purpose) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::string> {
    pqxx::nontransaction tx(c);
    pqxx::result r =
        tx.exec_params("SELECT encode(key, 'hex') FROM signing_keys WHERE purpose = $1", purpose);
    if (r.empty()) {
      return Error(Code::kInternal, "no signing key '" + purpose + "': run `convoywatch migrate`");
    }
    std::string key;
    if (!from_hex(r[0][0].as<std::string>(), &key)) {
      return Error(Code::kInternal, "the signing key '" + purpose + "' is not readable");
    }
    return key;
  });
}

}  // namespace cw::store
