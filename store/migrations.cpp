// Migration runner.
#include "store/migrations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "store/internal/grants.hpp"
#include "store/internal/pool.hpp"

namespace cw::embedded {
extern const std::vector<EmbeddedFile> kMigrations;
}

namespace cw::store {

namespace {

constexpr const char* kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  file       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";
constexpr const char* kSelectApplied =
    "SELECT version, file, checksum FROM schema_migrations ORDER BY version";
constexpr const char* kInsertApplied =
    "INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)";
constexpr const char* kTableExists = "SELECT to_regclass('schema_migrations') IS NOT NULL";
// Any constant shared by all ConvoyWatch processes; 'CWMIGRAT' as a number.
constexpr int64_t kMigrationLock = 0x43574d4947524154;

struct Applied {
  int version;
  std::string file;
  std::string checksum;
};

Result<MigrationState> compare(const std::vector<Applied>& applied,
                               const std::vector<Migration>& migrations) {
  MigrationState state;
  std::map<int, const Applied*> by_version;
  for (const Applied& a : applied) by_version[a.version] = &a;
  for (const Migration& m : migrations) {
    auto it = by_version.find(m.version);
    if (it == by_version.end()) {
      state.pending.push_back(m.file);
      continue;
    }
    if (it->second->checksum != m.checksum || it->second->file != m.file) {
      return Error(Code::kConflict,
                   fmt::format("migration {} was changed after it was applied (applied as {}, "
                               "checksum {}; the file now has {}). Applied migrations must not be "
                               "edited: add a new migration instead.",
                               m.file, it->second->file, it->second->checksum.substr(0, 12),
                               m.checksum.substr(0, 12)),
                   m.file);
    }
    state.applied.push_back(m.file);
    by_version.erase(it);
  }
  if (!by_version.empty()) {
    return Error(Code::kConflict,
                 fmt::format("the database has migration {} which this program does not know; "
                             "is it older than the database?",
                             by_version.begin()->second->file),
                 by_version.begin()->second->file);
  }
  return state;
}

std::vector<Applied> read_applied(pqxx::transaction_base& tx) {
  std::vector<Applied> out;
  if (!tx.exec1(kTableExists)[0].as<bool>()) return out;
  for (const auto& row : tx.exec(kSelectApplied)) {
    out.push_back({row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>()});
  }
  return out;
}

}  // namespace

Result<std::vector<Migration>> parse_migrations(const std::vector<EmbeddedFile>& files) {
  std::vector<Migration> out;
  for (const EmbeddedFile& f : files) {
    const std::string& name = f.name;
    bool ok =
        name.size() > 9 && name.substr(name.size() - 4) == ".sql" && name[4] == '_' &&
        std::all_of(name.begin(), name.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
    if (!ok) {
      return Error(Code::kInvalidArgument, "migration file " + name + " is not named NNNN_name.sql",
                   name);
    }
    out.push_back({std::stoi(name.substr(0, 4)), name, std::string(f.contents),
                   Sha256::hex_digest(f.contents)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return Error(Code::kInvalidArgument,
                   "migrations " + out[i - 1].file + " and " + out[i].file + " share a number",
                   out[i].file);
    }
  }
  return out;
}

const std::vector<Migration>& builtin_migrations() {
  static const std::vector<Migration> migrations = [] {
    auto parsed = parse_migrations(embedded::kMigrations);
    if (!parsed.ok()) throw std::runtime_error(parsed.error().to_string());
    return parsed.value();
  }();
  return migrations;
}

Result<std::vector<Migration>> load_migrations_dir(const std::string& dir) {
  std::vector<std::string> texts;  // what the files' views point into
  std::vector<EmbeddedFile> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    texts.push_back(ss.str());
    files.push_back({entry.path().filename().string(), {}});
  }
  for (size_t i = 0; i < files.size(); ++i) files[i].contents = texts[i];
  if (ec)
    return Error(Code::kInvalidArgument,
                 "cannot read migrations folder " + dir + ": " + ec.message());
  return parse_migrations(files);
}

Result<MigrationState> migration_state(Database& db, const std::vector<Migration>& migrations) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<MigrationState> {
    pqxx::read_transaction tx(c);
    return compare(read_applied(tx), migrations);
  });
}

Result<std::vector<std::string>> migrate(Database& db, const std::vector<Migration>& migrations) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::vector<std::string>> {
    {
      pqxx::nontransaction tx(c);
      tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLock);
    }
    auto unlock = [&] {
      pqxx::nontransaction tx(c);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLock);
    };
    std::vector<std::string> done;
    try {
      {
        pqxx::work tx(c);
        tx.exec0(kCreateTable);
        tx.commit();
      }
      Result<MigrationState> state = [&] {
        pqxx::read_transaction tx(c);
        return compare(read_applied(tx), migrations);
      }();
      if (!state.ok()) {
        unlock();
        return state.error();
      }
      for (const Migration& m : migrations) {
        if (std::find(state->pending.begin(), state->pending.end(), m.file) == state->pending.end())
          continue;
        try {
          pqxx::work tx(c);
          tx.exec0(m.sql);
          tx.exec_params(kInsertApplied, m.version, m.file, m.checksum);
          tx.commit();
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (const pqxx::sql_error& e) {
          unlock();
          return Error(Code::kInternal, fmt::format("migration {} failed: {}", m.file, e.what()),
                       m.file);
        }
        log::info("migration applied", {{"file", m.file}});
        done.push_back(m.file);
      }
      // Every run, so that each table a migration made is covered (store/roles.hpp).
      pqxx::work tx(c);
      grant_roles(tx);
      tx.commit();
    } catch (...) {
      if (c.is_open()) unlock();
      throw;
    }
    unlock();
    return done;
  });
}

}  // namespace cw::store
