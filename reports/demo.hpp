// The demo dataset that `scripts/run --demo` loads: a small, clearly labelled SYNTHETIC set of
// convoy observations along the real Russia–Ukraine border (Bryansk, Kursk, Belgorod and
// Voronezh oblasts) over 14–20 February 2022, made by a fixed pseudo-random generator so every
// load is the same. Nothing in it is a real sighting: every observation's source_note and notes
// say so, and the users that own it are `demo-contributor` and `demo-analyst` of the
// organisation `DEMO (synthetic data)`.
//
// The story it tells is the one the task force checks: columns keep moving toward the border
// after the announced withdrawal of 15 February. Most observations are verified by the demo
// analyst (two-person rule kept), a few disputed or left unverified; the daily reports of the
// seven days and the weekly report of 2022-W07 are built. Loading again does nothing when the
// demo organisation already has observations. Blocking (database).
#pragma once

#include "common/config.hpp"
#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::reports {

struct DemoSummary {
  bool loaded = false;  // false: it was there already
  int observations = 0;
  int verified = 0;
  int reports = 0;
};

Result<DemoSummary> load_demo(store::Database& db, const Config& config);

}  // namespace cw::reports
