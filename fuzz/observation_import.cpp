// Fuzz target: the bulk import readers (server/observation_io.hpp parse_import_csv and
// parse_import_ndjson) of POST /observations/import.
//
// Input: byte 0 picks CSV (even) or NDJSON (odd); the rest is the body. Problems never exceed
// the cap, every row the importer accepts is one the JSON reader accepts too (an import must not
// store what POST /observations would refuse), and its text is storable (UTF-8 without NUL).
#include <nlohmann/json.hpp>

#include "fuzz/fuzz.hpp"
#include "common/utf8.hpp"
#include "server/observation_io.hpp"

namespace cw::fuzz {

void observation_import(std::string_view data) {
  if (data.empty()) return;
  const bool csv = (static_cast<unsigned char>(data[0]) & 1) == 0;
  data.remove_prefix(1);
  constexpr size_t kMaxProblems = 5;
  server::ImportResult r = csv ? server::parse_import_csv(data, kMaxProblems)
                               : server::parse_import_ndjson(data, kMaxProblems);
  CW_FUZZ_CHECK(r.problems.size() <= kMaxProblems);
  for (const auto& p : r.problems) CW_FUZZ_CHECK(p.line >= 1);
  for (const auto& row : r.rows) {
    for (const auto& m : row.markings) CW_FUZZ_CHECK(is_storable_text(m));
    if (row.notes) CW_FUZZ_CHECK(is_storable_text(*row.notes));
    if (row.source_note) CW_FUZZ_CHECK(is_storable_text(*row.source_note));
    const nlohmann::json j = server::observation_input_json(row);
    auto back = server::parse_observation(j);
    CW_FUZZ_CHECK(back.ok());
    CW_FUZZ_CHECK(server::observation_input_json(*back) == j);
  }
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::observation_import)
