// The fuzz targets as plain functions of their input bytes, so that the same entry points run
// under libFuzzer (fuzz/<target>.cpp, built with -DCW_FUZZ=ON) and in the unit tests that replay
// the saved crash inputs (tests/unit/fuzz_regressions_test.cpp, built with -DCW_FUZZ_NO_ENTRY).
//
// A target never judges the error values of the code under test: bad input must give an error,
// never a crash. Beyond what the sanitizers catch, each target checks properties of what the
// parser accepted (ranges, round trips, chunking independence); a broken property throws
// CheckFailure, which libFuzzer reports as a crash. Thread-safe: the targets keep no state.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace cw::fuzz {

// A property of accepted input that does not hold.
class CheckFailure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void check_failed(const char* condition, const char* file, int line);

#define CW_FUZZ_CHECK(cond) ((cond) ? void(0) : ::cw::fuzz::check_failed(#cond, __FILE__, __LINE__))

// Input layout of each target is described in its file.
void multipart(std::string_view data);
void tus(std::string_view data);
void iso6709(std::string_view data);
void observation_json(std::string_view data);
void observation_import(std::string_view data);
void submission_meta(std::string_view data);
void request_bodies(std::string_view data);
void query(std::string_view data);
void cron(std::string_view data);

}  // namespace cw::fuzz

// The libFuzzer entry point of a target file, left out when the targets are linked into tests.
#ifdef CW_FUZZ_NO_ENTRY
#define CW_FUZZ_ENTRY(fn)
#else
#include <cstddef>
#include <cstdint>
#define CW_FUZZ_ENTRY(fn)                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    fn(std::string_view(reinterpret_cast<const char*>(data), size));        \
    return 0;                                                               \
  }
#endif
