// The pipeline's own job handlers, which pipeline::Worker registers (worker.hpp): each runs one
// claimed job to its end through store::Jobs, with the worker's shared state. A handler keeps to
// its JobControl: it stops when cancelled() turns true, hands the job back when the worker stops,
// and writes nothing when the lease was lost.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "pipeline/duplicates.hpp"
#include "pipeline/sandbox.hpp"
#include "pipeline/worker.hpp"
#include "store/database.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"

namespace cw::pipeline {

// What the handlers share: one of each per Worker.
struct PipelineJobs {
  store::Database& db;
  const WorkerOptions& options;
  store::MediaStore& media;
  DuplicateFinder& duplicates;
};

// process_media: {"sha256"} -> the analysis of the original (media_job.cpp).
Status process_media(const PipelineJobs& env, const store::Job& job,
                     const store::JobControl& control);
// fetch_url: {"submission_id", "url"} -> the downloaded original, attached (fetch_job.cpp).
Status fetch_url(const PipelineJobs& env, const store::Job& job, const store::JobControl& control);
// imagery_compare / imagery_match: the job's imagery task (imagery_job.cpp).
Status run_imagery_task(const PipelineJobs& env, const store::Job& job,
                        const store::JobControl& control);

// How a sandboxed step failed, if it did. Exit status 2 means the input itself cannot give a
// result (an unreadable file, a registration refused): permanent, with the child's own reason
// when it printed one; crashes, limits and other exits may pass on a retry.
struct ChildFailure {
  std::string reason;
  bool permanent = false;
};
std::optional<ChildFailure> child_failure(const SandboxResult& run, const SandboxLimits& limits);

// Logs a failed side write that does not decide the job's outcome (a status shown to users,
// progress), naming what it was; returns nothing, so that no failure is dropped unseen.
void log_side_failure(const Status& s, std::string_view what, int64_t job);

}  // namespace cw::pipeline
