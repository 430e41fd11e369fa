#include "pipeline/duplicates.hpp"

#include "common/log.hpp"
#include "store/media_links.hpp"

namespace cw::pipeline {

VideoSignature signature_from_json(const nlohmann::json& frames) {
  VideoSignature out;
  if (!frames.is_array()) return out;
  for (const auto& f : frames) {
    if (!f.is_object() || !f.contains("pdq") || !f["pdq"].is_string()) continue;
    auto hash = PdqHash::from_hex(f["pdq"].get<std::string>());
    if (!hash.ok()) continue;
    SignatureFrame s;
    s.pts_ms = f.value("pts_ms", int64_t{0});
    s.hash = *hash;
    s.quality = f.value("quality", 0);
    s.extra = f.contains("extra") && f["extra"].is_boolean() && f["extra"].get<bool>();
    out.push_back(s);
  }
  return out;
}

Status DuplicateFinder::refresh() {
  std::lock_guard lock(mu_);
  store::MediaLinks links(db_);
  for (;;) {
    auto rows = links.signatures_after(last_id_);
    if (!rows.ok()) return rows.error();
    if (rows->empty()) return Status::Ok();
    for (const auto& row : *rows) {
      if (auto old = id_of_.find(row.sha256); old != id_of_.end()) {
        index_.remove_media(old->second);
        sha_of_.erase(old->second);
      }
      id_of_[row.sha256] = row.id;
      sha_of_[row.id] = row.sha256;
      index_signature(index_, row.id, signature_from_json(row.frames), options_.min_quality);
      last_id_ = row.id;
    }
  }
}

Result<int> DuplicateFinder::link(const std::string& sha256) {
  if (Status s = refresh(); !s.ok()) return s.error();
  int64_t self_id = 0;
  {
    std::lock_guard lock(mu_);
    auto it = id_of_.find(sha256);
    if (it == id_of_.end()) return 0;  // no signature (signatures off, or not a video)
    self_id = it->second;
  }
  store::MediaLinks links(db_);
  auto self = links.signature_by_id(self_id);
  if (!self.ok()) return self.error();
  if (!*self) return 0;
  VideoSignature query = signature_from_json((*self)->frames);
  MatchSearchOptions search;
  search.match = options_;
  auto found = find_matching_media(
      index_, query, self_id,
      [&](int64_t id) -> Result<VideoSignature> {
        auto row = links.signature_by_id(id);
        if (!row.ok()) return row.error();
        if (!*row) return Error(Code::kNotFound, "signature replaced");
        return signature_from_json((*row)->frames);
      },
      search);
  if (!found.ok()) return found.error();
  int written = 0;
  for (const MediaMatch& m : *found) {
    std::string other;
    {
      std::lock_guard lock(mu_);
      auto it = sha_of_.find(m.media_id);
      if (it == sha_of_.end()) continue;
      other = it->second;
    }
    if (other == sha256) continue;
    store::LinkFinding f;
    f.sha256 = sha256;
    f.other = other;
    f.kind = std::string(match_kind_label(m.match.kind));
    if (m.match.kind == MatchKind::kQueryIsClip) f.clip = sha256;
    if (m.match.kind == MatchKind::kComparedIsClip) f.clip = other;
    f.percent = m.match.query_percent;
    f.other_percent = m.match.compared_percent;
    f.offset_ms = m.match.offset_ms;
    f.mirrored = m.match.mirrored;
    if (Status s = links.suggest(f); !s.ok()) return s.error();
    ++written;
    log::info("near-duplicate found", {{"sha256", sha256},
                                       {"other", other},
                                       {"kind", f.kind},
                                       {"percent", f.percent},
                                       {"other_percent", f.other_percent}});
  }
  return written;
}

}  // namespace cw::pipeline
