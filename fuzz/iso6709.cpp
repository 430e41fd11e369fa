// Fuzz target: the ISO 6709 point parser (geo/iso6709.hpp), fed with what a video's metadata
// may hold.
//
// Input: the string. An accepted point lies on the globe with finite values, and formatting it
// and parsing that again gives the same point (to the 6 decimals the format keeps).
#include <cmath>
#include <string>

#include "fuzz/fuzz.hpp"
#include "geo/iso6709.hpp"

namespace cw::fuzz {

void iso6709(std::string_view data) {
  Result<geo::GeoPoint> p = geo::parse_iso6709(data);
  if (!p.ok()) {
    CW_FUZZ_CHECK(p.error().code() == Code::kUnprocessable);
    return;
  }
  CW_FUZZ_CHECK(std::isfinite(p->lat) && std::isfinite(p->lon));
  CW_FUZZ_CHECK(p->lat >= -90 && p->lat <= 90);
  CW_FUZZ_CHECK(p->lon >= -180 && p->lon <= 180);
  if (p->alt) CW_FUZZ_CHECK(std::isfinite(*p->alt));
  const std::string text = geo::format_iso6709(*p);
  Result<geo::GeoPoint> back = geo::parse_iso6709(text);
  CW_FUZZ_CHECK(back.ok());
  CW_FUZZ_CHECK(std::fabs(back->lat - p->lat) <= 1e-6);
  CW_FUZZ_CHECK(std::fabs(back->lon - p->lon) <= 1e-6);
  CW_FUZZ_CHECK(back->alt.has_value() == p->alt.has_value());
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::iso6709)
