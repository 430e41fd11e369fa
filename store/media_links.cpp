// Signatures and links. A pair is stored once with a_sha256 < b_sha256; for_media() turns it
// round so that "this" is always the media asked about.
#include "store/media_links.hpp"

#include <fmt/format.h>

#include <set>

#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

// The visibility test for a media: some submission of it the reader may see ($2 = org).
constexpr const char* kVisible = R"sql(
EXISTS (SELECT 1 FROM submissions s WHERE s.media_sha256 = {}
        AND (s.visibility = 'taskforce' OR s.org_id = $2)))sql";

std::string visible(const char* column) { return fmt::format(kVisible, column); }

Link link_from_row(const pqxx::row& r, const std::string& self) {
  // Columns: a, b, kind, clip, a_percent, b_percent, offset_ms, mirrored, status, verdict_by
  // name, verdict_note, updated_at µs.
  std::string a = r[0].as<std::string>();
  std::string b = r[1].as<std::string>();
  bool self_is_a = a == self;
  Link l;
  l.other = self_is_a ? b : a;
  l.kind = r[2].as<std::string>();
  std::optional<std::string> clip = opt_string(r[3]);
  if (clip) {
    bool clip_is_a = *clip == "a";
    l.this_is_clip = clip_is_a == self_is_a;
    l.other_is_clip = !l.this_is_clip;
  }
  double pa = r[4].as<double>(), pb = r[5].as<double>();
  l.percent = self_is_a ? pa : pb;
  l.other_percent = self_is_a ? pb : pa;
  if (!r[6].is_null()) {
    int64_t off = r[6].as<int64_t>();
    l.offset_ms = self_is_a ? off : -off;
  }
  l.mirrored = r[7].as<bool>();
  l.status = r[8].as<std::string>();
  l.verdict_by = opt_string(r[9]);
  l.verdict_note = opt_string(r[10]);
  l.updated_at = from_micros(r[11].as<int64_t>());
  return l;
}

constexpr const char* kLinkColumns = R"sql(
SELECT l.a_sha256, l.b_sha256, l.kind, l.clip, l.a_percent, l.b_percent, l.offset_ms,
       l.mirrored, l.status, u.name, l.verdict_note,
       (extract(epoch FROM l.updated_at) * 1000000)::bigint
FROM media_links l LEFT JOIN users u ON u.id = l.verdict_by)sql";

}  // namespace

Result<std::vector<SignatureRow>> MediaLinks::signatures_after(int64_t after_id, int limit) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<SignatureRow>> {
    pqxx::read_transaction tx(c);
    std::vector<SignatureRow> out;
    for (const auto& r :
         tx.exec_params("SELECT id, media_sha256, frames::text FROM media_signatures WHERE id > $1 "
                        "ORDER BY id LIMIT $2",
                        after_id, limit)) {
      out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(),
                     nlohmann::json::parse(r[2].as<std::string>())});
    }
    return out;
  });
}

Result<std::optional<SignatureRow>> MediaLinks::signature_by_id(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::optional<SignatureRow>> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(
        "SELECT id, media_sha256, frames::text FROM media_signatures WHERE id = $1", id);
    if (r.empty()) return std::optional<SignatureRow>();
    return std::optional<SignatureRow>(
        SignatureRow{r[0][0].as<int64_t>(), r[0][1].as<std::string>(),
                     nlohmann::json::parse(r[0][2].as<std::string>())});
  });
}

Status MediaLinks::suggest(const LinkFinding& f) {
  bool self_is_a = f.sha256 < f.other;
  const std::string& a = self_is_a ? f.sha256 : f.other;
  const std::string& b = self_is_a ? f.other : f.sha256;
  std::optional<std::string> clip;
  if (f.clip) clip = (*f.clip == a) ? "a" : "b";
  double pa = self_is_a ? f.percent : f.other_percent;
  double pb = self_is_a ? f.other_percent : f.percent;
  std::optional<std::string> offset;
  if (f.offset_ms) offset = std::to_string(self_is_a ? *f.offset_ms : -*f.offset_ms);
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    tx.exec_params0(R"sql(
INSERT INTO media_links (a_sha256, b_sha256, kind, clip, a_percent, b_percent, offset_ms, mirrored)
VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8)
ON CONFLICT (a_sha256, b_sha256) DO UPDATE SET
  kind = EXCLUDED.kind, clip = EXCLUDED.clip, a_percent = EXCLUDED.a_percent,
  b_percent = EXCLUDED.b_percent, offset_ms = EXCLUDED.offset_ms, mirrored = EXCLUDED.mirrored,
  updated_at = now())sql",
                    a, b, f.kind, clip ? clip->c_str() : nullptr, pa, pb,
                    offset ? offset->c_str() : nullptr, f.mirrored);
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<std::vector<Link>> MediaLinks::for_media(const Principal& who, const std::string& sha256) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Link>> {
    pqxx::read_transaction tx(c);
    std::string sql = std::string(kLinkColumns) + " WHERE (l.a_sha256 = $1 AND " +
                      visible("l.b_sha256") + ") OR (l.b_sha256 = $1 AND " + visible("l.a_sha256") +
                      ") ORDER BY l.status = 'rejected', greatest(l.a_percent, l.b_percent) DESC";
    std::vector<Link> out;
    for (const auto& r : tx.exec_params(sql, sha256, who.org_id)) {
      out.push_back(link_from_row(r, sha256));
    }
    return out;
  });
}

Result<Link> MediaLinks::verdict(const Principal& who, const std::string& sha256,
                                 const std::string& other, const std::string& status,
                                 const std::string& note) {
  const std::string& a = sha256 < other ? sha256 : other;
  const std::string& b = sha256 < other ? other : sha256;
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Link> {
    pqxx::result cur = tx.exec_params(
        std::string("SELECT status FROM media_links l WHERE a_sha256 = $1 AND b_sha256 = $3 AND ") +
            visible("$1") + " AND " + visible("$3") + " FOR UPDATE OF l",
        a, who.org_id, b);
    if (cur.empty()) return Error(Code::kNotFound, "no link between these media");
    tx.exec_params0(
        "UPDATE media_links SET status = $3, verdict_by = $4, verdict_note = $5, "
        "updated_at = now() WHERE a_sha256 = $1 AND b_sha256 = $2",
        a, b, status, who.user_id, note);
    audit_append(
        tx, Actor{who.user_id, who.user_name}, "media_link.verdict",
        fmt::format("media_link/{}/{}", a, b),
        nlohmann::json{{"from", cur[0][0].as<std::string>()}, {"to", status}, {"note", note}});
    pqxx::result row = tx.exec_params(
        std::string(kLinkColumns) + " WHERE l.a_sha256 = $1 AND l.b_sha256 = $2", a, b);
    return link_from_row(row[0], sha256);
  });
}

Result<Provenance> MediaLinks::provenance(const Principal& who, const std::string& sha256) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Provenance> {
    pqxx::read_transaction tx(c);
    // The cluster: this media and every media linked to it by a confirmed or suggested link.
    pqxx::result rows = tx.exec_params(R"sql(
WITH cluster AS (
  SELECT $1::text AS sha, 'this media' AS basis
  UNION ALL
  SELECT CASE WHEN l.a_sha256 = $1 THEN l.b_sha256 ELSE l.a_sha256 END,
         CASE WHEN l.status = 'confirmed' THEN 'confirmed link' ELSE 'suggested link' END
  FROM media_links l
  WHERE (l.a_sha256 = $1 OR l.b_sha256 = $1) AND l.status <> 'rejected')
SELECT s.id, s.media_sha256, s.platform, s.author, s.source_url,
       (extract(epoch FROM s.posted_at) * 1000000)::bigint,
       (extract(epoch FROM s.created_at) * 1000000)::bigint, c.basis
FROM cluster c JOIN submissions s ON s.media_sha256 = c.sha
WHERE s.visibility = 'taskforce' OR s.org_id = $2
ORDER BY COALESCE(s.posted_at, s.created_at), s.id)sql",
                                       sha256, who.org_id);
    Provenance p;
    std::set<std::string> media;
    for (const auto& r : rows) {
      ++p.submissions;
      media.insert(r[1].as<std::string>());
      if (r[7].as<std::string>() == "suggested link") p.includes_suggested = true;
      if (!p.first) {
        FirstPosting f;
        f.submission_id = r[0].as<int64_t>();
        f.media_sha256 = r[1].as<std::string>();
        f.platform = opt_string(r[2]);
        f.author = opt_string(r[3]);
        f.source_url = opt_string(r[4]);
        if (!r[5].is_null()) f.posted_at = from_micros(r[5].as<int64_t>());
        f.submitted_at = from_micros(r[6].as<int64_t>());
        f.basis = r[7].as<std::string>();
        p.first = f;
      }
    }
    p.media = static_cast<int>(media.size());
    return p;
  });
}

}  // namespace cw::store
