// What the pipeline's job handlers share: reading a sandboxed child's failure, and logging the
// side writes that do not decide a job's outcome.
#include "pipeline/job_handlers.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace cw::pipeline {

std::optional<ChildFailure> child_failure(const SandboxResult& run, const SandboxLimits& limits) {
  auto reason = failure_reason(run, limits);
  if (!reason) return std::nullopt;
  // A file that made the decoder break the seccomp filter will do it again: no retry.
  ChildFailure f{
      *reason, (run.signal == 0 && !run.timed_out && run.exit_code == 2) || !run.violation.empty()};
  if (f.permanent) {
    auto doc = nlohmann::json::parse(run.out, nullptr, false);
    if (doc.is_object() && doc.contains("error")) f.reason = doc["error"].value("detail", f.reason);
  }
  return f;
}

void log_side_failure(const Status& s, std::string_view what, int64_t job) {
  if (s.ok()) return;
  log::warn("could not record " + std::string(what),
            {{"job", job}, {"error", s.error().to_string()}});
}

}  // namespace cw::pipeline
