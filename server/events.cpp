// The event hub (server/events.hpp): its thread, the streams it writes to, and how each event's
// object is rendered for a caller.
#include "server/events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.hpp"
#include "reports/convoys.hpp"
#include "server/routes.hpp"
#include "server/submission_meta.hpp"
#include "store/analysis.hpp"
#include "store/events.hpp"
#include "store/jobs.hpp"
#include "store/media_links.hpp"
#include "store/observations.hpp"
#include "store/reports.hpp"
#include "store/submissions.hpp"

namespace cw::server {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPage = 1000;
constexpr std::chrono::milliseconds kTick{100};
constexpr std::chrono::seconds kPollEvery{1};
constexpr std::chrono::seconds kLateRowsFor{60};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sse_frame(int64_t id, const std::string& type, const nlohmann::json& data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, type, dump(data));
}

std::optional<int64_t> to_id(const std::string& text) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

// Renders the objects of events as a caller may see them (nullopt: they may not). Errors other
// than "not found" are the database's: logged, and the event is skipped for that caller.
class Renderer {
 public:
  Renderer(store::Database& db, const Config& config) : db_(db), config_(config) {}

  std::optional<nlohmann::json> object(const store::EventRow& e, const store::Principal& who) {
    Result<nlohmann::json> r = render(e, who);
    if (r.ok()) return std::move(*r);
    if (r.error().code() != Code::kNotFound) {
      log::warn("cannot render an event",
                {{"event", e.id}, {"type", e.type}, {"error", r.error().to_string()}});
    }
    return std::nullopt;
  }

 private:
  bool media_visible(const store::Principal& who, const std::string& sha) {
    return store::Submissions(db_).media_for(who, sha).ok();
  }

  Result<nlohmann::json> render(const store::EventRow& e, const store::Principal& who) {
    const std::string& t = e.type;
    if (t.starts_with("submission.")) {
      auto id = to_id(e.object_id);
      if (!id) return Error(Code::kNotFound, "bad id");
      auto s = store::Submissions(db_).get(who, *id);
      if (!s.ok()) return s.error();
      return submission_json(*s);
    }
    if (t == "media.analysed") {
      const std::string& sha = e.object_id;
      if (!media_visible(who, sha)) return Error(Code::kNotFound, "invisible");
      auto a = store::Analyses(db_).get(sha);
      if (!a.ok()) return a.error();
      const nlohmann::json& m = a->first["media"];
      nlohmann::json out = {{"sha256", sha}, {"frame_count", a->second}};
      for (const char* k : {"duration_s", "width", "height", "rotation_deg", "video_codec",
                            "creation_time", "location"}) {
        if (m.contains(k)) out[k] = m[k];
      }
      out["contact_sheet_url"] = "/api/v1/media/" + sha + "/contact-sheet.jpg";
      return out;
    }
    if (t == "duplicate.suggested") {
      const size_t colon = e.object_id.find(':');
      if (colon == std::string::npos) return Error(Code::kNotFound, "bad id");
      const std::string a = e.object_id.substr(0, colon), b = e.object_id.substr(colon + 1);
      if (!media_visible(who, a) || !media_visible(who, b)) {
        return Error(Code::kNotFound, "invisible");
      }
      auto links = store::MediaLinks(db_).for_media(who, a);
      if (!links.ok()) return links.error();
      for (const auto& l : *links) {
        if (l.other != b) continue;
        nlohmann::json out = link_json(l);
        out["media_sha256"] = a;
        return out;
      }
      return Error(Code::kNotFound, "no such link");
    }
    if (t == "observation.deleted") return nlohmann::json{{"id", *to_id(e.object_id)}};
    if (t.starts_with("observation.")) {
      if (e.detail.value("bulk", false)) return e.detail;  // an import: the id range
      auto id = to_id(e.object_id);
      if (!id) return Error(Code::kNotFound, "bad id");
      auto o = store::Observations(db_).get(*id);
      if (!o.ok()) return o.error();
      nlohmann::json out = store::to_json(*o);
      // The submission it cites may be private to another organisation: the link goes, the
      // observation stays (it is shared with the whole task force).
      if (o->input.submission_id &&
          !store::Submissions(db_).get(who, *o->input.submission_id).ok()) {
        out["submission_id"] = nullptr;
      }
      return out;
    }
    if (t == "convoy.updated") {
      auto id = to_id(e.object_id);
      if (!id) return Error(Code::kNotFound, "bad id");
      auto o = store::Observations(db_).get(*id);
      if (!o.ok()) return o.error();
      reports::ConvoyQuery q;
      q.from = o->input.observed_at - std::chrono::hours(1);
      q.to = o->input.observed_at + std::chrono::hours(1);
      q.include_single = true;
      auto convoys = reports::find_convoys(db_, config_.tracks, q);
      if (!convoys.ok()) return convoys.error();
      for (const auto& c : *convoys) {
        for (const auto& s : c.sightings) {
          if (s.id == *id) return convoy_feature(c);
        }
      }
      return Error(Code::kNotFound, "no track holds the observation");
    }
    if (t == "report.built") {
      auto id = to_id(e.object_id);
      if (!id) return Error(Code::kNotFound, "bad id");
      auto r = store::Reports(db_).get(*id);
      if (!r.ok()) return r.error();
      return report_summary_json({r->id, r->kind, r->period_key, r->tz, r->built_by,
                                  r->period_start, r->period_end, r->built_at});
    }
    if (t == "job.failed") {
      auto id = to_id(e.object_id);
      if (!id) return Error(Code::kNotFound, "bad id");
      auto j = store::Jobs(db_).get(*id);
      if (!j.ok()) return j.error();
      // A job is as visible as what it works on.
      if (j->payload.contains("sha256") && !media_visible(who, j->payload.value("sha256", ""))) {
        return Error(Code::kNotFound, "invisible");
      }
      if (j->payload.contains("submission_id") &&
          !store::Submissions(db_).get(who, j->payload.value("submission_id", int64_t{0})).ok()) {
        return Error(Code::kNotFound, "invisible");
      }
      return job_json(*j);
    }
    return Error(Code::kNotFound, "unknown event type " + t);
  }

  store::Database& db_;
  const Config& config_;
};

}  // namespace

struct EventSubscriber {
  store::Principal who;
  std::shared_ptr<StreamSink> sink;
  int64_t replay_after = 0;  // catching up: stored events after this id come first
  bool catching_up = false;
  Clock::time_point last_write;
};

struct EventHub::Core {
  Core(store::Database& d, store::ChangeFeed& f, const Config& c) : db(d), feed(f), config(c) {}

  void run();
  // One round: new events, catch-ups, late rows, heartbeats, revocations.
  void round(Renderer& renderer);
  void deliver(Renderer& renderer, const std::vector<store::EventRow>& rows,
               std::vector<std::pair<uint64_t, EventSubscriber>>& to);
  void release_token(int64_t token_id);

  store::Database& db;
  store::ChangeFeed& feed;
  const Config& config;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                     // guarded by mu
  std::map<uint64_t, EventSubscriber> subs;  // guarded by mu
  std::map<int64_t, int> per_token;          // streams opened and not yet stopped; guarded by mu
  uint64_t next_key = 1;                     // guarded by mu
  std::atomic<int64_t> cursor{-1};           // events up to here are handled (-1: not yet read)

  // The hub thread's own state.
  std::optional<Clock::time_point> gap_since;
  std::map<int64_t, Clock::time_point> skipped;  // ids passed over while their transaction ran
  uint64_t events_version = 0;
  uint64_t access_version = 0;
  Clock::time_point polled_at{};
  std::thread thread;
};

namespace {

// The stream of one GET /api/v1/events.
class HubStream : public ResponseStream {
 public:
  HubStream(std::shared_ptr<EventHub::Core> core, store::Principal who, int64_t replay_after,
            bool catching_up)
      : core_(std::move(core)),
        who_(std::move(who)),
        replay_after_(replay_after),
        catching_up_(catching_up) {}
  ~HubStream() override { stop(); }

  void start(std::shared_ptr<StreamSink> sink) override {
    // The comment opens the stream at once (proxies and browsers see it is alive), and the retry
    // hint tells EventSource how soon to come back after a cut.
    sink->push(": convoywatch events\nretry: 2000\n\n");
    std::lock_guard lock(core_->mu);
    if (core_->stopping || released_) {
      sink->end();
      return;
    }
    key_ = core_->next_key++;
    core_->subs[key_] =
        EventSubscriber{who_, std::move(sink), replay_after_, catching_up_, Clock::now()};
    core_->cv.notify_all();
  }

  void stop() override {
    std::lock_guard lock(core_->mu);
    if (released_) return;
    released_ = true;
    if (key_ != 0) core_->subs.erase(key_);
    if (auto it = core_->per_token.find(who_.token_id); it != core_->per_token.end()) {
      if (--it->second <= 0) core_->per_token.erase(it);
    }
  }

 private:
  std::shared_ptr<EventHub::Core> core_;
  store::Principal who_;
  int64_t replay_after_;
  bool catching_up_;
  uint64_t key_ = 0;       // guarded by core_->mu
  bool released_ = false;  // guarded by core_->mu
};

}  // namespace

EventHub::EventHub(store::Database& db, store::ChangeFeed& feed, const Config& config)
    : core_(std::make_shared<Core>(db, feed, config)) {
  core_->thread = std::thread([core = core_.get()] { core->run(); });
}

EventHub::~EventHub() {
  std::vector<std::shared_ptr<StreamSink>> sinks;
  {
    std::lock_guard lock(core_->mu);
    core_->stopping = true;
    for (auto& [key, s] : core_->subs) sinks.push_back(s.sink);
    core_->subs.clear();
  }
  core_->cv.notify_all();
  for (auto& s : sinks) s->end();
  core_->thread.join();
}

Result<std::shared_ptr<ResponseStream>> EventHub::open(const store::Principal& who,
                                                       std::optional<int64_t> last_event_id) {
  {
    std::lock_guard lock(core_->mu);
    int& held = core_->per_token[who.token_id];
    if (held >= core_->config.server.max_event_streams_per_token) {
      if (held == 0) core_->per_token.erase(who.token_id);
      return Error(Code::kTooManyRequests,
                   fmt::format("this token holds {} event streams already, the most allowed "
                               "([server] max_event_streams_per_token); close one first",
                               held));
    }
    ++held;
  }
  // Without Last-Event-ID the stream starts with what comes next. The hub has not read the
  // outbox yet right after start: then from the newest stored event.
  int64_t after = last_event_id.value_or(core_->cursor.load());
  bool catching_up = last_event_id.has_value();
  if (after < 0) {
    auto b = store::EventLog(core_->db).bounds();
    if (!b.ok()) {
      core_->release_token(who.token_id);
      return b.error();
    }
    after = b->first;
  }
  return std::shared_ptr<ResponseStream>(
      std::make_shared<HubStream>(core_, who, after, catching_up));
}

size_t EventHub::streams() const {
  std::lock_guard lock(core_->mu);
  return core_->subs.size();
}

Result<int64_t> EventHub::prune() {
  return store::EventLog(core_->db).prune(
      std::chrono::hours(core_->config.server.event_retention_hours));
}

void EventHub::Core::release_token(int64_t token_id) {
  std::lock_guard lock(mu);
  if (auto it = per_token.find(token_id); it != per_token.end() && --it->second <= 0) {
    per_token.erase(it);
  }
}

void EventHub::Core::run() {
  Renderer renderer(db, config);
  std::unique_lock lock(mu);
  while (!stopping) {
    cv.wait_for(lock, kTick);
    if (stopping) break;
    lock.unlock();
    try {
      round(renderer);
    } catch (const std::exception& e) {
      log::error("event hub round failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

void EventHub::Core::round(Renderer& renderer) {
  const auto now = Clock::now();
  std::vector<std::pair<uint64_t, EventSubscriber>> live, joining;
  {
    std::lock_guard lock(mu);
    for (auto& [key, s] : subs) (s.catching_up ? joining : live).emplace_back(key, s);
  }
  store::EventLog log(db);

  // First read: start after the newest event stored.
  if (cursor.load() < 0) {
    auto b = log.bounds();
    if (!b.ok()) return;
    cursor.store(b->first);
  }

  // New events, when the feed says so or a second has passed (notifications can be lost).
  const uint64_t ev = feed.version(store::ChangeFeed::Topic::kEvents);
  std::vector<store::EventRow> ready;
  if (ev != events_version || ev == 0 || now - polled_at >= kPollEvery || gap_since ||
      !joining.empty()) {
    events_version = ev;
    polled_at = now;
    int64_t c = cursor.load();
    auto rows = log.after(c, kPage);
    if (rows.ok()) {
      for (auto& r : *rows) {
        if (r.id != c + 1) {
          // Ids c+1 .. r.id-1 are not committed (or were rolled back): wait for them a while.
          if (!gap_since) gap_since = now;
          if (now - *gap_since < EventHub::kGapWait) break;
          for (int64_t missing = c + 1; missing < r.id; ++missing) skipped[missing] = now;
        }
        gap_since.reset();
        c = r.id;
        ready.push_back(std::move(r));
      }
      cursor.store(c);
    }
  }
  // Rows that were passed over and have appeared since: sent late rather than never.
  if (!skipped.empty()) {
    std::vector<int64_t> ids;
    for (auto it = skipped.begin(); it != skipped.end();) {
      if (now - it->second > kLateRowsFor) {
        it = skipped.erase(it);
      } else {
        ids.push_back(it->first);
        ++it;
      }
    }
    if (!ids.empty()) {
      auto late = log.with_ids(ids);
      if (late.ok()) {
        for (auto& r : *late) {
          skipped.erase(r.id);
          ready.push_back(std::move(r));
        }
      }
    }
  }
  if (!ready.empty()) deliver(renderer, ready, live);

  // Streams that resume (Last-Event-ID): the stored events after their id, up to the cursor.
  for (auto& [key, s] : joining) {
    std::vector<std::pair<uint64_t, EventSubscriber>> one{{key, s}};
    auto b = log.bounds();
    if (b.ok() && b->second > 0 && s.replay_after + 1 < b->second) {
      const nlohmann::json reset = {
          {"type", "reset"},
          {"reason", fmt::format("events before {} are no longer kept (retention {} h); reload "
                                 "what you show",
                                 b->second, config.server.event_retention_hours)}};
      s.sink->push(fmt::format("event: reset\ndata: {}\n\n", dump(reset)));
    }
    int64_t after = s.replay_after;
    const int64_t upto = cursor.load();
    while (after < upto) {
      auto rows = log.after(after, kPage);
      if (!rows.ok() || rows->empty()) break;
      std::vector<store::EventRow> page;
      for (auto& r : *rows) {
        if (r.id > upto) break;
        after = r.id;
        page.push_back(std::move(r));
      }
      deliver(renderer, page, one);
      if (page.size() < static_cast<size_t>(kPage)) break;
    }
    std::lock_guard lock(mu);
    if (auto it = subs.find(key); it != subs.end()) {
      it->second.catching_up = false;
      it->second.last_write = Clock::now();
    }
  }

  // Heartbeats, and streams whose token was revoked.
  const auto heartbeat = std::chrono::seconds(config.server.event_heartbeat_s);
  const uint64_t av = feed.version(store::ChangeFeed::Topic::kAccess);
  std::vector<int64_t> tokens;
  {
    std::lock_guard lock(mu);
    for (auto& [key, s] : subs) {
      if (!s.catching_up && Clock::now() - s.last_write >= heartbeat) {
        s.sink->push(": heartbeat\n\n");
        s.last_write = Clock::now();
      }
      tokens.push_back(s.who.token_id);
    }
  }
  if ((av != access_version || av == 0) && !tokens.empty()) {
    access_version = av;
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    auto active = store::Users(db).active_tokens(tokens);
    if (active.ok()) {
      std::set<int64_t> keep(active->begin(), active->end());
      std::vector<std::shared_ptr<StreamSink>> ended;
      {
        std::lock_guard lock(mu);
        for (auto& [key, s] : subs) {
          if (!keep.count(s.who.token_id)) ended.push_back(s.sink);
        }
      }
      for (auto& sink : ended) {
        sink->push(
            "event: revoked\ndata: {\"type\":\"revoked\",\"reason\":\"the token was "
            "revoked; sign in again\"}\n\n");
        sink->end();
      }
    }
  }
}

void EventHub::Core::deliver(Renderer& renderer, const std::vector<store::EventRow>& rows,
                             std::vector<std::pair<uint64_t, EventSubscriber>>& to) {
  for (const auto& e : rows) {
    // An object looks the same to every member of an organisation with the same role.
    std::map<std::pair<int64_t, int>, std::optional<std::string>> frames;
    for (auto& [key, s] : to) {
      if (!s.sink->open()) continue;
      const auto who_key = std::pair{s.who.org_id, static_cast<int>(s.who.role)};
      auto it = frames.find(who_key);
      if (it == frames.end()) {
        std::optional<std::string> frame;
        if (auto object = renderer.object(e, s.who)) {
          frame = sse_frame(e.id, e.type,
                            {{"type", e.type},
                             {"id", e.id},
                             {"object_id", e.object_id},
                             {"at", format_rfc3339(e.created_at)},
                             {"object", std::move(*object)}});
        }
        it = frames.emplace(who_key, std::move(frame)).first;
      }
      if (!it->second) continue;
      s.sink->push(*it->second);
      std::lock_guard lock(mu);
      if (auto sub = subs.find(key); sub != subs.end()) sub->second.last_write = Clock::now();
    }
  }
}

}  // namespace cw::server
