// /api/v1/jobs/{id}: the state of a pipeline job (analysts and admins; contributors see the
// processing state of their submissions in the submission itself). A job is shown only to those
// who may see what it works on (its payload names it, with a URL or a file hash an organisation
// may keep private); to anyone else it does not exist.
#include <charconv>

#include "server/context.hpp"
#include "server/routes.hpp"
#include "store/jobs.hpp"

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

Result<Reply> get_job(RequestContext& ctx) {
  const std::string& text = ctx.params.at("id");
  int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size() || id <= 0) {
    return Error(Code::kNotFound, "no such job");
  }
  auto job = store::Jobs(ctx.services.db).get(ctx.user(), id);
  if (!job.ok()) return job.error();
  nlohmann::json out = job_json(*job);
  out["payload"] = job->payload;
  return Reply::json(http::status::ok, out);
}

}  // namespace

void add_job_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/jobs/{id}", get_job, {.roles = kAnalysts});
}

}  // namespace cw::server
