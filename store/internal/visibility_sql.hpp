// Internal to store/: the visibility rule of org-private submissions as SQL, for the tables that
// refer to submissions or their media without a visibility of their own (jobs, the audit log).
// A submission is visible to organisation `org` when it is `taskforce` or is `org`'s; a media
// when at least one submission carrying it is visible. Every fragment is a boolean expression;
// `org` is a bigint expression (a parameter such as "$2::bigint"). Ids read from text (a job's
// payload, an audit row's object) are matched only when they are decimal digits, so no cast can
// fail on odd text.
#pragma once

#include <fmt/format.h>

#include <string>

namespace cw::store {

// The submission whose id is the text `id_text` is visible to `org`.
inline std::string submission_visible_sql(const std::string& id_text, const std::string& org) {
  return fmt::format(
      "EXISTS (SELECT 1 FROM submissions vs WHERE vs.id = (CASE WHEN ({0}) ~ '^[0-9]{{1,18}}$' "
      "THEN ({0})::bigint END) AND (vs.visibility = 'taskforce' OR vs.org_id = {1}))",
      id_text, org);
}

// The media whose SHA-256 (hex) is the text `sha_text` is visible to `org`.
inline std::string media_visible_sql(const std::string& sha_text, const std::string& org) {
  return fmt::format(
      "EXISTS (SELECT 1 FROM submissions vm WHERE vm.media_sha256 = ({0}) "
      "AND (vm.visibility = 'taskforce' OR vm.org_id = {1}))",
      sha_text, org);
}

// The imagery task whose id is the text `id_text` concerns no media hidden from `org` (a
// comparison of two imagery rows concerns none; a match concerns the frame's media).
inline std::string imagery_task_visible_sql(const std::string& id_text, const std::string& org) {
  return fmt::format(
      "NOT EXISTS (SELECT 1 FROM imagery_tasks vt WHERE vt.id = (CASE WHEN ({0}) ~ "
      "'^[0-9]{{1,18}}$' THEN ({0})::bigint END) AND vt.media_sha256 IS NOT NULL AND NOT {2})",
      id_text, org, media_visible_sql("vt.media_sha256", org));
}

// The job `j` (an alias of jobs) is visible to `org`: the submission it names
// (payload.submission_id: an analysis or a download) is, else its media (payload.sha256) is,
// else its imagery task (payload.task_id) concerns no hidden media; a job about none of these
// (a report delivery) is visible when `otherwise` (a boolean expression) holds.
inline std::string job_visible_sql(const std::string& org, const std::string& otherwise) {
  return fmt::format(
      "(CASE WHEN j.payload ? 'submission_id' THEN {} WHEN j.payload ? 'sha256' THEN {} "
      "WHEN j.payload ? 'task_id' THEN {} ELSE {} END)",
      submission_visible_sql("j.payload->>'submission_id'", org),
      media_visible_sql("j.payload->>'sha256'", org),
      imagery_task_visible_sql("j.payload->>'task_id'", org), otherwise);
}

}  // namespace cw::store
