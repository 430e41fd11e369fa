// Persisting analysis results.
#include "store/analysis.hpp"

#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

constexpr const char* kUpdateMedia = R"sql(
UPDATE media SET
  duration_s = $2::double precision, width = $3::integer, height = $4::integer,
  rotation_deg = $5::integer, fps = $6::double precision, video_codec = NULLIF($7, ''),
  creation_time = NULLIF($8, '')::timestamptz,
  location = CASE WHEN $9::boolean
                  THEN ST_SetSRID(ST_MakePoint($10::float8, $11::float8, $12::float8), 4326)::geography
             END,
  analysis = $13::jsonb, analysed_at = now()
WHERE sha256 = $1)sql";
constexpr const char* kDeleteFrames = "DELETE FROM frames WHERE media_sha256 = $1";
constexpr const char* kInsertFrame = R"sql(
INSERT INTO frames (media_sha256, idx, pts_ms, kind, width, height, sharpness, file, thumb)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))sql";
constexpr const char* kSetStatus = "UPDATE submissions SET status = $2 WHERE media_sha256 = $1";
constexpr const char* kGet = R"sql(
SELECT analysis::text, (SELECT count(*) FROM frames WHERE media_sha256 = $1)::int
FROM media WHERE sha256 = $1 AND analysis IS NOT NULL)sql";

double num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status Analyses::save(const std::string& sha256, const nlohmann::json& result) {
  const nlohmann::json& media =
      result.contains("media") ? result["media"] : nlohmann::json::object();
  const nlohmann::json& frames = result.contains("frames") && result["frames"].contains("frames")
                                     ? result["frames"]["frames"]
                                     : nlohmann::json::array();
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    const nlohmann::json& loc = media.contains("location") ? media["location"] : nlohmann::json();
    bool has_loc = loc.is_object() && loc.contains("lat") && loc.contains("lon");
    pqxx::result updated = tx.exec_params(
        kUpdateMedia, sha256, num(media, "duration_s"), static_cast<int>(num(media, "width")),
        static_cast<int>(num(media, "height")), static_cast<int>(num(media, "rotation_deg")),
        num(media, "fps"), text(media, "video_codec"), text(media, "creation_time"), has_loc,
        has_loc ? num(loc, "lon") : 0.0, has_loc ? num(loc, "lat") : 0.0,
        has_loc ? num(loc, "alt") : 0.0,
        result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (updated.affected_rows() == 0) return Error(Code::kNotFound, "no media " + sha256);
    tx.exec_params0(kDeleteFrames, sha256);
    for (const auto& f : frames) {
      tx.exec_params0(kInsertFrame, sha256, static_cast<int>(num(f, "index")),
                      static_cast<int64_t>(num(f, "pts_ms")), text(f, "kind"),
                      static_cast<int>(num(f, "width")), static_cast<int>(num(f, "height")),
                      num(f, "sharpness"), text(f, "file"), text(f, "thumb"));
    }
    // The video signature for near-duplicate matching (store/media_links.hpp); a new id tells
    // the processes that keep an index that it changed.
    const nlohmann::json& frames_doc =
        result.contains("frames") ? result["frames"] : nlohmann::json::object();
    if (frames_doc.contains("signature") && frames_doc["signature"].is_array()) {
      tx.exec_params0(R"sql(
INSERT INTO media_signatures (media_sha256, id, frames)
VALUES ($1, nextval('media_signatures_id_seq'), $2::jsonb)
ON CONFLICT (media_sha256) DO UPDATE
SET id = EXCLUDED.id, frames = EXCLUDED.frames, written_at = now())sql",
                      sha256, frames_doc["signature"].dump());
    }
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status Analyses::set_status(const std::string& sha256, const std::string& status) {
  auto r = with_connection(db_, [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work tx(c);
    tx.exec_params0(kSetStatus, sha256, status);
    tx.commit();
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<std::pair<nlohmann::json, int>> Analyses::get(const std::string& sha256) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::pair<nlohmann::json, int>> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(kGet, sha256);
    if (r.empty()) return Error(Code::kNotFound, "not analysed yet");
    return std::make_pair(nlohmann::json::parse(r[0][0].as<std::string>()), r[0][1].as<int>());
  });
}

}  // namespace cw::store
