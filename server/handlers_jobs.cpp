// /api/v1/jobs/{id}: the state of a pipeline job (analysts and admins; contributors see the
// processing state of their submissions in the submission itself). A job is shown only to those
// who may see what it works on (its payload names it, with a URL or a file hash an organisation
// may keep private); to anyone else it does not exist.
#include <charconv>

#include "server/context.hpp"
#include "server/routes.hpp"
#include "store/imagery.hpp"
#include "store/jobs.hpp"
#include "store/submissions.hpp"

namespace cw::server {

nlohmann::json job_json(const store::Job& j) {
  auto opt_time = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json();
  };
  return {{"id", j.id},
          {"kind", j.kind},
          {"state", store::job_state_name(j.state)},
          {"progress", j.progress},
          {"attempts", j.attempts},
          {"last_error", j.last_error ? nlohmann::json(*j.last_error) : nlohmann::json()},
          {"run_after", format_rfc3339(j.run_after)},
          {"created_at", format_rfc3339(j.created_at)},
          {"updated_at", format_rfc3339(j.updated_at)},
          {"finished_at", opt_time(j.finished_at)}};
}

namespace {

// kNotFound unless `who` may see what `job` works on: the submission it names (analysis,
// download), the video of an imagery match, any imagery comparison (imagery is shared by the
// task force); anything else (report delivery, whose payload is a webhook URL) admins only.
Status visible_to(RequestContext& ctx, const store::Job& job) {
  const store::Principal& who = ctx.user();
  const Error missing(Code::kNotFound, "no such job");
  auto found = [&](auto result) -> Status {
    if (result.ok()) return Status();
    return result.error().code() == Code::kNotFound ? missing : result.error();
  };
  const nlohmann::json& p = job.payload;
  if (p.is_object() && p.contains("submission_id") && p["submission_id"].is_number_integer()) {
    return found(store::Submissions(ctx.services.db).get(who, p["submission_id"].get<int64_t>()));
  }
  if (p.is_object() && p.contains("sha256") && p["sha256"].is_string()) {
    return found(
        store::Submissions(ctx.services.db).media_for(who, p["sha256"].get<std::string>()));
  }
  if (p.is_object() && p.contains("task_id")) {
    auto task = store::Imagery(ctx.services.db).task_for_job(job.id);
    if (!task.ok()) return found(task);
    if (task->kind == store::ImageryTaskKind::kCompare) return Status();
    return found(store::Submissions(ctx.services.db).media_for(who, task->media_sha256));
  }
  return who.role == store::Role::kAdmin || who.role == store::Role::kCoordinator ? Status()
                                                                                  : missing;
}

Result<Reply> get_job(RequestContext& ctx) {
  const std::string& text = ctx.params.at("id");
  int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size() || id <= 0) {
    return Error(Code::kNotFound, "no such job");
  }
  auto job = store::Jobs(ctx.services.db).get(id);
  if (!job.ok()) return job.error();
  if (Status s = visible_to(ctx, *job); !s.ok()) return s.error();
  nlohmann::json out = job_json(*job);
  out["payload"] = job->payload;
  return Reply::json(http::status::ok, out);
}

}  // namespace

void add_job_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/jobs/{id}", get_job, {.roles = kAnalysts});
}

}  // namespace cw::server
