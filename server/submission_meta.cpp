// Submission metadata validation and the submission's JSON form.
#include "server/submission_meta.hpp"

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include <algorithm>

#include "common/time.hpp"
#include "common/utf8.hpp"
#include "server/json_body.hpp"
#include "server/tus.hpp"

namespace cw::server {

namespace {

Result<std::string> check_url(const std::string& url, const std::string& field) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
      parsed->encoded_host().empty()) {
    return Error(Code::kUnprocessable, field + " must be an absolute http(s) URL", field);
  }
  return url;
}

Result<store::ClaimedLocation> parse_claimed(const nlohmann::json& v, const std::string& field) {
  store::ClaimedLocation loc;
  if (v.is_string()) {
    std::string place = v.get<std::string>();
    if (place.empty() || place.size() > 200 || place.find('\0') != std::string::npos) {
      return Error(Code::kUnprocessable, field + " must be a place name of 1 to 200 bytes", field);
    }
    loc.place = place;
    return loc;
  }
  if (!v.is_object()) {
    return Error(Code::kUnprocessable,
                 field + " must be {\"lat\", \"lon\", \"radius_m\"} or a place name", field);
  }
  FieldReader r(v, field + ".");
  auto lat = r.optional_number("lat", -90, 90);
  if (!lat.ok()) return lat.error();
  auto lon = r.optional_number("lon", -180, 180);
  if (!lon.ok()) return lon.error();
  auto radius = r.optional_number("radius_m", 0, 2e7);
  if (!radius.ok()) return radius.error();
  if (Status s = r.finish(); !s.ok()) return s.error();
  if (!lat->has_value() || !lon->has_value()) {
    return Error(Code::kUnprocessable, field + " needs both lat and lon",
                 field + (lat->has_value() ? ".lon" : ".lat"));
  }
  loc.lat = *lat;
  loc.lon = *lon;
  loc.radius_m = *radius;
  return loc;
}

}  // namespace

const std::vector<std::string>& submission_platforms() {
  static const std::vector<std::string> kPlatforms = {
      "telegram", "tiktok", "x", "youtube", "vk", "facebook", "instagram", "other"};
  return kPlatforms;
}

const std::vector<std::string>& submission_statuses() {
  static const std::vector<std::string> kStatuses = {"queued", "fetching", "processing", "done",
                                                     "failed"};
  return kStatuses;
}

Result<store::SubmissionInput> parse_submission_metadata(const nlohmann::json& doc,
                                                         const std::string& prefix) {
  if (!doc.is_object()) {
    std::string field = prefix.empty() ? "body" : prefix.substr(0, prefix.size() - 1);
    return Error(Code::kUnprocessable, field + " must be a JSON object", field);
  }
  store::SubmissionInput in;
  FieldReader r(doc, prefix);
  auto url = r.optional_string("source_url", 2048);
  if (!url.ok()) return url.error();
  if (url->has_value()) {
    auto checked = check_url(**url, r.field_name("source_url"));
    if (!checked.ok()) return checked.error();
    in.source_url = *checked;
  }
  auto platform = r.optional_enum("platform", submission_platforms());
  if (!platform.ok()) return platform.error();
  in.platform = *platform;
  auto posted = r.optional_string("posted_at", 64);
  if (!posted.ok()) return posted.error();
  if (posted->has_value()) {
    auto t = parse_rfc3339(**posted, r.field_name("posted_at"));
    if (!t.ok()) return t.error();
    in.posted_at = *t;
  }
  auto author = r.optional_string("author", 200);
  if (!author.ok()) return author.error();
  in.author = *author;
  auto description = r.optional_string("description", 20000);
  if (!description.ok()) return description.error();
  in.description = *description;
  if (const nlohmann::json* loc = r.optional_value("claimed_location")) {
    auto parsed = parse_claimed(*loc, r.field_name("claimed_location"));
    if (!parsed.ok()) return parsed.error();
    in.claimed_location = *parsed;
  }
  if (const nlohmann::json* tags = r.optional_value("tags")) {
    auto parsed = parse_tags(*tags, r.field_name("tags"));
    if (!parsed.ok()) return parsed.error();
    in.tags = std::move(*parsed);
  }
  auto visibility = r.optional_enum("visibility", {"taskforce", "org"});
  if (!visibility.ok()) return visibility.error();
  in.visibility = visibility->value_or("taskforce") == "org" ? store::Visibility::kOrg
                                                             : store::Visibility::kTaskforce;
  if (Status s = r.finish(); !s.ok()) return s.error();
  return in;
}

nlohmann::json submission_json(const store::Submission& s) {
  using nlohmann::json;
  auto opt = [](const auto& o) { return o ? json(*o) : json(); };
  json claimed;
  if (s.meta.claimed_location) {
    const auto& c = *s.meta.claimed_location;
    if (c.place) {
      claimed = *c.place;
    } else {
      claimed = {{"lat", opt(c.lat)}, {"lon", opt(c.lon)}, {"radius_m", opt(c.radius_m)}};
    }
  }
  json media;
  if (s.media) {
    media = {{"sha256", s.media->sha256},
             {"size", s.media->size},
             {"container", s.media->container},
             {"mime", s.media->mime},
             {"original_url", "/api/v1/media/" + s.media->sha256 + "/original"}};
  }
  return {{"id", s.id},
          {"status", s.status},
          {"submitted_by", {{"id", s.submitted_by}, {"name", s.submitted_by_name}}},
          {"org", {{"id", s.org_id}, {"name", s.org_name}}},
          {"visibility", store::visibility_name(s.meta.visibility)},
          {"source_url", opt(s.meta.source_url)},
          {"platform", opt(s.meta.platform)},
          {"posted_at", s.meta.posted_at ? json(format_rfc3339(*s.meta.posted_at)) : json()},
          {"author", opt(s.meta.author)},
          {"description", opt(s.meta.description)},
          {"claimed_location", claimed},
          {"tags", s.meta.tags},
          {"media", media},
          {"original_filename", s.original_filename},
          {"exact_duplicate_of", opt(s.exact_duplicate_of)},
          {"created_at", format_rfc3339(s.created_at)}};
}

Result<std::pair<store::SubmissionInput, std::string>> submission_from_upload_metadata(
    const std::string& header) {
  auto pairs = parse_upload_metadata(header);
  if (!pairs.ok()) return pairs.error();
  nlohmann::json doc = nlohmann::json::object();
  if (auto it = pairs->find("metadata"); it != pairs->end() && !it->second.empty()) {
    doc = nlohmann::json::parse(it->second, nullptr, false);
    if (doc.is_discarded()) {
      return Error(Code::kUnprocessable, "Upload-Metadata metadata is not valid JSON", "metadata");
    }
  }
  auto meta = parse_submission_metadata(doc, "metadata.");
  if (!meta.ok()) return meta.error();
  std::string filename;
  if (auto it = pairs->find("filename"); it != pairs->end()) filename = it->second;
  if (filename.size() > 1024) {
    return Error(Code::kUnprocessable, "filename is longer than 1024 bytes", "filename");
  }
  // Base64 carries any bytes; the name is stored as text and shown in JSON and downloads.
  if (!is_storable_text(filename) || std::any_of(filename.begin(), filename.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return Error(Code::kUnprocessable, "filename must be UTF-8 text without control characters",
                 "filename");
  }
  return std::make_pair(std::move(meta.value()), filename);
}

Result<std::vector<std::string>> parse_tags(const nlohmann::json& tags, const std::string& field) {
  constexpr size_t kMax = store::Submissions::kMaxTags;
  if (!tags.is_array() || tags.size() > kMax) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must be a list of at most {} strings", field, kMax), field);
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!tags[i].is_string() || !valid_tag(tags[i].get<std::string>())) {
      std::string f = fmt::format("{}[{}]", field, i);
      return Error(Code::kUnprocessable,
                   f + " must be a string of 1 to 64 bytes without control characters", f);
    }
    out.push_back(tags[i].get<std::string>());
  }
  return out;
}

bool valid_tag(const std::string& tag) {
  if (tag.empty() || tag.size() > 64 || !is_storable_text(tag)) return false;
  return std::none_of(tag.begin(), tag.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Result<store::SubmissionFilter> parse_submission_filter(const QueryParams& query) {
  auto page = parse_page(query);
  if (!page.ok()) return page.error();
  store::SubmissionFilter f;
  f.after_id = page->after;
  f.limit = page->limit;
  if (Status s = query_enum(query, "status", submission_statuses(), &f.status); !s.ok()) {
    return s.error();
  }
  if (Status s = query_enum(query, "platform", submission_platforms(), &f.platform); !s.ok()) {
    return s.error();
  }
  for (auto [name, out] : {std::pair{"submitted_by", &f.submitted_by}, std::pair{"org", &f.org}}) {
    if (auto v = query_value(query, name)) {
      auto id = positive_id(*v, name, Code::kUnprocessable);
      if (!id.ok()) return id.error();
      *out = *id;
    }
  }
  for (auto [name, out] : {std::pair{"since", &f.since}, std::pair{"until", &f.until}}) {
    if (auto v = query_value(query, name)) {
      auto t = parse_rfc3339(*v, name);
      if (!t.ok()) return t.error();
      *out = *t;
    }
  }
  if (auto tag = query_value(query, "tag")) {
    if (!valid_tag(*tag)) {
      return Error(Code::kUnprocessable, "tag must be 1 to 64 bytes without control characters",
                   "tag");
    }
    f.tag = *tag;
  }
  return f;
}

}  // namespace cw::server
