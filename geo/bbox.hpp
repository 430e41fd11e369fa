// Bounding boxes as the API's `bbox` query parameter writes them: `minLon,minLat,maxLon,maxLat`,
// the order of GeoJSON (RFC 7946 §5) and OGC API - Features.
//
// Boxes that cross the antimeridian (minLon > maxLon, which RFC 7946 allows) are rejected: the
// task force works far from 180°, and a clear error beats a box silently read the wrong way
// round. These functions are pure and thread-safe.
#pragma once

#include <string_view>

#include "common/error.hpp"
#include "geo/point.hpp"

namespace cw::geo {

struct BBox {
  double min_lon = 0.0;
  double min_lat = 0.0;
  double max_lon = 0.0;
  double max_lat = 0.0;

  friend bool operator==(const BBox&, const BBox&) = default;
};

// Parses four comma-separated decimal numbers (spaces around each allowed) and checks that
// longitudes are in [-180, 180], latitudes in [-90, 90], minLon <= maxLon and minLat <= maxLat.
// Errors are kUnprocessable with field "bbox". A box may be a line or a point (min == max).
Result<BBox> parse_bbox(std::string_view text);

// True when the point lies inside the box or on its edge.
bool bbox_contains(const BBox& box, const GeoPoint& point);

}  // namespace cw::geo
