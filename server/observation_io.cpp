#include "server/observation_io.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/csv.hpp"
#include "common/sha256.hpp"
#include "common/time.hpp"
#include "common/utf8.hpp"
#include "common/xml.hpp"
#include "server/json_body.hpp"
#include "server/pagination.hpp"

namespace cw::server {
namespace {

bool one_of(const std::string& v, const std::vector<std::string>& allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

Error bad(const std::string& field, const std::string& what) {
  return Error(Code::kUnprocessable, field + " " + what, field);
}

Status check_equipment(const std::vector<store::EquipmentCount>& e, const std::string& field) {
  if (e.empty() || e.size() > 30) return bad(field, "must list 1 to 30 {type, count} items");
  for (size_t i = 0; i < e.size(); ++i) {
    std::string f = fmt::format("{}[{}]", field, i);
    if (!one_of(e[i].type, store::equipment_types())) {
      return bad(f + ".type", "must be one of " + joined(store::equipment_types()));
    }
    if (e[i].count < 1 || e[i].count > 10000) return bad(f + ".count", "must be 1 to 10000");
  }
  return Status::Ok();
}

Status check_markings(const std::vector<std::string>& m, const std::string& field) {
  if (m.size() > 50) return bad(field, "must list at most 50 markings");
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i].empty() || m[i].size() > 100 || m[i].find('\0') != std::string::npos) {
      return bad(fmt::format("{}[{}]", field, i), "must be 1 to 100 bytes without NUL");
    }
  }
  return Status::Ok();
}

Status check_frames(const std::vector<store::FrameRef>& refs, const std::string& field) {
  if (refs.size() > 100) return bad(field, "must list at most 100 frames");
  for (size_t i = 0; i < refs.size(); ++i) {
    std::string f = fmt::format("{}[{}]", field, i);
    if (!is_sha256_hex(refs[i].sha256) ||
        std::any_of(refs[i].sha256.begin(), refs[i].sha256.end(),
                    [](char c) { return c >= 'A' && c <= 'F'; })) {
      return bad(f + ".sha256", "must be 64 lowercase hex digits");
    }
    if (refs[i].frame < 0 || refs[i].frame > 100000)
      return bad(f + ".frame", "must be 0 to 100000");
  }
  return Status::Ok();
}

double normal_heading(double h) { return h >= 360.0 ? 0.0 : h; }

Result<double> parse_double(const std::string& text, const std::string& field, double min,
                            double max) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) || v < min ||
      v > max) {
    return bad(field, fmt::format("must be a number from {} to {}", min, max));
  }
  return v;
}

Result<int64_t> parse_int(const std::string& text, const std::string& field, int64_t min,
                          int64_t max) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
    return bad(field, fmt::format("must be an integer from {} to {}", min, max));
  }
  return v;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t from = 0;
  for (;;) {
    size_t at = s.find(sep, from);
    std::string_view part = s.substr(from, at == std::string_view::npos ? s.npos : at - from);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    out.emplace_back(part);
    if (at == std::string_view::npos) break;
    from = at + 1;
  }
  return out;
}

std::string equipment_text(const std::vector<store::EquipmentCount>& e) {
  std::string out;
  for (const auto& x : e) {
    if (!out.empty()) out += ";";
    out += x.type + ":" + std::to_string(x.count);
  }
  return out;
}

std::string number(const std::optional<double>& v) {
  return v ? fmt::format("{}", *v) : std::string();
}

}  // namespace

Result<store::ObservationInput> parse_observation(const nlohmann::json& object,
                                                  const std::string& prefix) {
  if (!object.is_object()) return bad(prefix.empty() ? "body" : prefix, "must be a JSON object");
  FieldReader r(object, prefix);
  store::ObservationInput in;
  auto sub = r.optional_int("submission_id", 1, INT64_MAX);
  if (!sub.ok()) return sub.error();
  in.submission_id = *sub;
  if (const nlohmann::json* refs = r.optional_value("frame_refs")) {
    std::string field = r.field_name("frame_refs");
    if (!refs->is_array()) return bad(field, "must be a list of {sha256, frame}");
    for (size_t i = 0; i < refs->size(); ++i) {
      const auto& f = (*refs)[i];
      if (!f.is_object() || !f.contains("sha256") || !f["sha256"].is_string() ||
          !f.contains("frame") || !f["frame"].is_number_integer() || f.size() != 2) {
        return bad(fmt::format("{}[{}]", field, i), "must be {\"sha256\": hex, \"frame\": n}");
      }
      in.frame_refs.push_back({f["sha256"].get<std::string>(), f["frame"].get<int>()});
    }
    if (Status s = check_frames(in.frame_refs, field); !s.ok()) return s.error();
  }
  auto observed = r.required_string("observed_at", 1, 64);
  if (!observed.ok()) return observed.error();
  auto t = parse_rfc3339(*observed, r.field_name("observed_at"));
  if (!t.ok()) return t.error();
  in.observed_at = *t;
  auto tp = r.optional_enum("time_precision", store::time_precisions());
  if (!tp.ok()) return tp.error();
  in.time_precision = tp->value_or("exact");
  const nlohmann::json* loc = r.optional_value("location");
  if (loc == nullptr) return bad(r.field_name("location"), "is required");
  {
    FieldReader lr(*loc, r.field_name("location") + ".");
    if (!loc->is_object()) return bad(r.field_name("location"), "must be {\"lat\", \"lon\"}");
    auto lat = lr.optional_number("lat", -90, 90);
    if (!lat.ok()) return lat.error();
    auto lon = lr.optional_number("lon", -180, 180);
    if (!lon.ok()) return lon.error();
    if (!*lat) return bad(lr.field_name("lat"), "is required");
    if (!*lon) return bad(lr.field_name("lon"), "is required");
    if (Status s = lr.finish(); !s.ok()) return s.error();
    in.lat = **lat;
    in.lon = **lon;
  }
  auto lp = r.optional_enum("location_precision", store::location_precisions());
  if (!lp.ok()) return lp.error();
  if (!*lp) return bad(r.field_name("location_precision"), "is required");
  in.location_precision = **lp;
  auto heading = r.optional_number("heading_deg", 0, 360);
  if (!heading.ok()) return heading.error();
  if (*heading) in.heading_deg = normal_heading(**heading);
  const nlohmann::json* eq = r.optional_value("equipment");
  std::string eq_field = r.field_name("equipment");
  if (eq == nullptr) return bad(eq_field, "is required");
  if (!eq->is_array()) return bad(eq_field, "must be a list of {type, count}");
  for (size_t i = 0; i < eq->size(); ++i) {
    const auto& e = (*eq)[i];
    std::string f = fmt::format("{}[{}]", eq_field, i);
    if (!e.is_object() || !e.contains("type") || !e["type"].is_string() || !e.contains("count") ||
        !e["count"].is_number_integer() || e.size() != 2) {
      return bad(f, "must be {\"type\": name, \"count\": n}");
    }
    int64_t count = e["count"].get<int64_t>();
    in.equipment.push_back(
        {e["type"].get<std::string>(), static_cast<int>(std::clamp<int64_t>(count, -1, 1000000))});
  }
  if (Status s = check_equipment(in.equipment, eq_field); !s.ok()) return s.error();
  if (const nlohmann::json* m = r.optional_value("markings")) {
    std::string field = r.field_name("markings");
    if (!m->is_array()) return bad(field, "must be a list of strings");
    for (size_t i = 0; i < m->size(); ++i) {
      if (!(*m)[i].is_string()) return bad(fmt::format("{}[{}]", field, i), "must be a string");
      in.markings.push_back((*m)[i].get<std::string>());
    }
    if (Status s = check_markings(in.markings, field); !s.ok()) return s.error();
  }
  auto notes = r.optional_string("notes", 10000);
  if (!notes.ok()) return notes.error();
  in.notes = *notes;
  auto source_note = r.optional_string("source_note", 2000);
  if (!source_note.ok()) return source_note.error();
  in.source_note = *source_note;
  if (Status s = r.finish(); !s.ok()) return s.error();
  return in;
}

nlohmann::json observation_input_json(const store::ObservationInput& in) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& f : in.frame_refs) refs.push_back({{"sha256", f.sha256}, {"frame", f.frame}});
  nlohmann::json eq = nlohmann::json::array();
  for (const auto& e : in.equipment) eq.push_back({{"type", e.type}, {"count", e.count}});
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"submission_id", opt(in.submission_id)},
          {"frame_refs", refs},
          {"observed_at", format_rfc3339(in.observed_at)},
          {"time_precision", in.time_precision},
          {"location", {{"lat", in.lat}, {"lon", in.lon}}},
          {"location_precision", in.location_precision},
          {"heading_deg", opt(in.heading_deg)},
          {"equipment", eq},
          {"markings", in.markings},
          {"notes", opt(in.notes)},
          {"source_note", opt(in.source_note)}};
}

ImportResult parse_import_csv(std::string_view body, size_t max_problems) {
  ImportResult out;
  auto problem = [&](int line, std::string field, std::string reason) {
    if (out.problems.size() < max_problems) {
      out.problems.push_back({line, std::move(field), std::move(reason)});
    }
  };
  static const std::vector<std::string> kColumns = {
      "observed_at", "time_precision", "lat",   "lon",         "location_precision", "heading_deg",
      "equipment",   "markings",       "notes", "source_note", "submission_id",      "frame_refs"};
  std::vector<int> col(kColumns.size(), -1);
  int lineno = 0;
  size_t from = 0;
  bool header = true;
  while (from < body.size()) {
    size_t nl = body.find('\n', from);
    std::string_view line = body.substr(from, nl == body.npos ? body.npos : nl - from);
    from = nl == body.npos ? body.size() : nl + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (header) {
      header = false;
      if (lineno == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // BOM
      auto names = csv_split(line);
      for (size_t i = 0; i < names.size(); ++i) {
        auto it = std::find(kColumns.begin(), kColumns.end(), names[i]);
        if (it == kColumns.end()) {
          problem(lineno, names[i], "unknown column; columns are " + joined(kColumns));
          continue;
        }
        col[it - kColumns.begin()] = static_cast<int>(i);
      }
      for (const char* required :
           {"observed_at", "lat", "lon", "location_precision", "equipment"}) {
        if (col[std::find(kColumns.begin(), kColumns.end(), required) - kColumns.begin()] < 0) {
          problem(lineno, required, "required column missing");
        }
      }
      if (!out.problems.empty()) return out;
      continue;
    }
    if (line.empty()) continue;
    // Every field ends up in a text column: bytes that are not UTF-8, or a NUL, would only fail
    // there (as a 500), after the whole import was accepted.
    if (!is_storable_text(line)) {
      problem(lineno, "line", "is not UTF-8 text or holds a NUL byte");
      continue;
    }
    auto fields = csv_split(line);
    auto get = [&](const char* name) -> std::string {
      int c = col[std::find(kColumns.begin(), kColumns.end(), name) - kColumns.begin()];
      return c >= 0 && static_cast<size_t>(c) < fields.size() ? fields[c] : std::string();
    };
    store::ObservationInput in;
    auto fail = [&](const Error& e) { problem(lineno, e.field(), e.detail()); };
    auto t = parse_rfc3339(get("observed_at"), "observed_at");
    if (!t.ok()) {
      fail(t.error());
      continue;
    }
    in.observed_at = *t;
    std::string tp = get("time_precision");
    in.time_precision = tp.empty() ? "exact" : tp;
    if (!one_of(in.time_precision, store::time_precisions())) {
      problem(lineno, "time_precision", "must be one of " + joined(store::time_precisions()));
      continue;
    }
    auto lat = parse_double(get("lat"), "lat", -90, 90);
    auto lon = parse_double(get("lon"), "lon", -180, 180);
    if (!lat.ok()) {
      fail(lat.error());
      continue;
    }
    if (!lon.ok()) {
      fail(lon.error());
      continue;
    }
    in.lat = *lat;
    in.lon = *lon;
    in.location_precision = get("location_precision");
    if (!one_of(in.location_precision, store::location_precisions())) {
      problem(lineno, "location_precision",
              "must be one of " + joined(store::location_precisions()));
      continue;
    }
    if (std::string h = get("heading_deg"); !h.empty()) {
      auto heading = parse_double(h, "heading_deg", 0, 360);
      if (!heading.ok()) {
        fail(heading.error());
        continue;
      }
      in.heading_deg = normal_heading(*heading);
    }
    bool ok = true;
    for (const auto& item : split(get("equipment"), ';')) {
      size_t colon = item.find(':');
      if (colon == std::string::npos) {
        problem(lineno, "equipment", "items are type:count, separated by ;");
        ok = false;
        break;
      }
      auto count = parse_int(item.substr(colon + 1), "equipment", 1, 10000);
      if (!count.ok()) {
        fail(count.error());
        ok = false;
        break;
      }
      in.equipment.push_back({item.substr(0, colon), static_cast<int>(*count)});
    }
    if (!ok) continue;
    if (Status s = check_equipment(in.equipment, "equipment"); !s.ok()) {
      fail(s.error());
      continue;
    }
    in.markings = split(get("markings"), ';');
    if (Status s = check_markings(in.markings, "markings"); !s.ok()) {
      fail(s.error());
      continue;
    }
    if (std::string n = get("notes"); !n.empty()) in.notes = n;
    if (std::string n = get("source_note"); !n.empty()) in.source_note = n;
    if ((in.notes && in.notes->size() > 10000) ||
        (in.source_note && in.source_note->size() > 2000)) {
      problem(lineno, in.notes && in.notes->size() > 10000 ? "notes" : "source_note", "too long");
      continue;
    }
    if (std::string s = get("submission_id"); !s.empty()) {
      auto id = parse_int(s, "submission_id", 1, INT64_MAX);
      if (!id.ok()) {
        fail(id.error());
        continue;
      }
      in.submission_id = *id;
    }
    for (const auto& ref : split(get("frame_refs"), ';')) {
      size_t hash = ref.find('#');
      auto frame =
          parse_int(hash == std::string::npos ? "" : ref.substr(hash + 1), "frame_refs", 0, 100000);
      if (!frame.ok()) {
        problem(lineno, "frame_refs", "items are <sha256>#<frame>, separated by ;");
        ok = false;
        break;
      }
      in.frame_refs.push_back({ref.substr(0, hash), static_cast<int>(*frame)});
    }
    if (!ok) continue;
    if (Status s = check_frames(in.frame_refs, "frame_refs"); !s.ok()) {
      fail(s.error());
      continue;
    }
    out.rows.push_back(std::move(in));
  }
  if (header) problem(1, "body", "empty: expected a header line and rows");
  return out;
}

ImportResult parse_import_ndjson(std::string_view body, size_t max_problems) {
  ImportResult out;
  int lineno = 0;
  size_t from = 0;
  while (from < body.size()) {
    size_t nl = body.find('\n', from);
    std::string_view line = body.substr(from, nl == body.npos ? body.npos : nl - from);
    from = nl == body.npos ? body.size() : nl + 1;
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded()) {
      if (out.problems.size() < max_problems) {
        out.problems.push_back({lineno, "", "not valid JSON"});
      }
      continue;
    }
    auto in = parse_observation(doc);
    if (!in.ok()) {
      if (out.problems.size() < max_problems) {
        out.problems.push_back({lineno, in.error().field(), in.error().detail()});
      }
      continue;
    }
    out.rows.push_back(std::move(*in));
  }
  if (lineno == 0) out.problems.push_back({1, "body", "empty: expected one object per line"});
  return out;
}

std::string render_geojson(const std::vector<store::Observation>& rows,
                           const std::string& next_cursor) {
  std::string out = R"({"type":"FeatureCollection","features":[)";
  bool first = true;
  for (const auto& o : rows) {
    if (!first) out += ',';
    first = false;
    nlohmann::json props = store::to_json(o);
    props.erase("location");
    nlohmann::json feature = {
        {"type", "Feature"},
        {"id", o.id},
        {"geometry", {{"type", "Point"}, {"coordinates", {o.input.lon, o.input.lat}}}},
        {"properties", props}};
    out += feature.dump();
  }
  out += "]";
  if (!next_cursor.empty()) out += ",\"next_cursor\":" + nlohmann::json(next_cursor).dump();
  out += "}";
  return out;
}

std::string render_csv(const std::vector<store::Observation>& rows) {
  std::string out =
      "id,observed_at,time_precision,lat,lon,location_precision,heading_deg,equipment,vehicles,"
      "markings,status,country,oblast,nearest_place,nearest_place_km,km_to_border,"
      "bearing_to_border_deg,movement,submission_id,notes,source_note,created_by,created_at\r\n";
  for (const auto& o : rows) {
    std::string markings;
    for (const auto& m : o.input.markings) {
      if (!markings.empty()) markings += ";";
      markings += m;
    }
    const auto& d = o.derived;
    // Each cell encoded as the export's schema declares it: numbers (formatted here) as they are,
    // every text cell neutralised against formula injection (common/csv.hpp).
    const auto text = [](std::string_view v) { return csv_field(v); };
    const auto num = [](std::string_view v) { return csv_number(v); };
    const std::vector<std::string> cells = {
        num(std::to_string(o.id)),
        text(format_rfc3339(o.input.observed_at)),
        text(o.input.time_precision),
        num(fmt::format("{}", o.input.lat)),
        num(fmt::format("{}", o.input.lon)),
        text(o.input.location_precision),
        num(number(o.input.heading_deg)),
        text(equipment_text(o.input.equipment)),
        num(std::to_string(o.vehicles)),
        text(markings),
        text(o.status),
        text(d.country.value_or("")),
        text(d.oblast.value_or("")),
        text(d.nearest_place.value_or("")),
        num(d.nearest_place_km ? fmt::format("{:.3f}", *d.nearest_place_km) : ""),
        num(d.km_to_border ? fmt::format("{:.3f}", *d.km_to_border) : ""),
        num(d.bearing_to_border_deg ? fmt::format("{:.1f}", *d.bearing_to_border_deg) : ""),
        text(d.movement),
        num(o.input.submission_id ? std::to_string(*o.input.submission_id) : ""),
        text(o.input.notes.value_or("")),
        text(o.input.source_note.value_or("")),
        text(o.created_by_name),
        text(format_rfc3339(o.created_at))};
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) out += ',';
      out += cells[i];
    }
    out += "\r\n";
  }
  return out;
}

std::string render_kml(const std::vector<store::Observation>& rows) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n"
      "<name>ConvoyWatch observations</name>\n";
  for (const auto& o : rows) {
    const auto& d = o.derived;
    std::string name = fmt::format("#{}: {} vehicles, {}", o.id, o.vehicles, d.movement);
    std::string desc = fmt::format(
        "{} ({}), {}; {}{}", equipment_text(o.input.equipment), o.status, d.oblast.value_or("?"),
        d.km_to_border ? fmt::format("{:.1f} km to the border", *d.km_to_border) : "no border data",
        o.input.notes ? "; " + *o.input.notes : "");
    out += fmt::format(
        "<Placemark id=\"obs-{}\">\n<name>{}</name>\n<description>{}</description>\n"
        "<TimeStamp><when>{}</when></TimeStamp>\n<ExtendedData>\n",
        o.id, xml_escape(name), xml_escape(desc), format_rfc3339(o.input.observed_at));
    auto data = [&](const char* key, const std::string& value) {
      out += fmt::format("<Data name=\"{}\"><value>{}</value></Data>\n", key, xml_escape(value));
    };
    data("status", o.status);
    data("vehicles", std::to_string(o.vehicles));
    data("equipment", equipment_text(o.input.equipment));
    data("heading_deg", number(o.input.heading_deg));
    data("movement", d.movement);
    data("oblast", d.oblast.value_or(""));
    data("km_to_border", d.km_to_border ? fmt::format("{:.3f}", *d.km_to_border) : "");
    out += fmt::format(
        "</ExtendedData>\n<Point><coordinates>{},{}</coordinates></Point>\n</Placemark>\n",
        o.input.lon, o.input.lat);
  }
  out += "</Document>\n</kml>\n";
  return out;
}

Result<store::ObservationFilter> parse_observation_filter(const QueryParams& query,
                                                          int default_limit, int max_limit) {
  store::ObservationFilter f;
  if (auto c = query_value(query, "cursor")) {
    auto page = parse_page(query);
    if (!page.ok()) return page.error();
    f.after_id = page->after;
  }
  f.limit = default_limit;
  if (auto l = query_value(query, "limit")) {
    auto n = positive_id(*l, "limit", Code::kUnprocessable);
    if (!n.ok() || *n > max_limit) {
      return Error(Code::kUnprocessable, fmt::format("limit must be 1 to {}", max_limit), "limit");
    }
    f.limit = static_cast<int>(*n);
  }
  if (auto b = query_value(query, "bbox")) {
    std::array<double, 4> v{};
    size_t from = 0;
    int n = 0;
    for (; n < 4 && from <= b->size(); ++n) {
      size_t comma = b->find(',', from);
      std::string part = b->substr(from, comma == std::string::npos ? b->npos : comma - from);
      try {
        size_t used = 0;
        v[n] = std::stod(part, &used);
        if (used != part.size()) throw std::invalid_argument("trailing");
      } catch (...) {
        n = -1;
        break;
      }
      if (comma == std::string::npos) {
        ++n;
        from = b->size() + 1;
        break;
      }
      from = comma + 1;
    }
    // std::stod also reads "nan" and "inf", which pass every comparison below unless refused.
    bool finite = std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    if (n != 4 || from <= b->size() || !finite || v[0] < -180 || v[2] > 180 || v[1] < -90 ||
        v[3] > 90 || v[0] >= v[2] || v[1] >= v[3]) {
      return Error(Code::kUnprocessable,
                   "bbox must be west,south,east,north in degrees with west < east and "
                   "south < north",
                   "bbox");
    }
    f.bbox = v;
  }
  for (auto [name, out] : {std::pair{"from", &f.from}, std::pair{"to", &f.to}}) {
    if (auto v = query_value(query, name)) {
      auto t = parse_rfc3339(*v, name);
      if (!t.ok()) return t.error();
      *out = *t;
    }
  }
  if (auto v = query_value(query, "oblast")) f.oblast = *v;
  if (auto v = query_value(query, "country")) f.country = *v;
  if (Status s = query_enum(query, "equipment_type", store::equipment_types(), &f.equipment_type);
      !s.ok()) {
    return s.error();
  }
  std::vector<std::string> statuses = store::observation_statuses();
  statuses.push_back("any");
  if (Status s = query_enum(query, "status", statuses, &f.status); !s.ok()) return s.error();
  if (Status s = query_enum(query, "movement", store::movements(), &f.movement); !s.ok()) {
    return s.error();
  }
  if (auto v = query_value(query, "submission_id")) {
    auto id = positive_id(*v, "submission_id", Code::kUnprocessable);
    if (!id.ok()) return id.error();
    f.submission_id = *id;
  }
  return f;
}

}  // namespace cw::server
