// Validation of submission metadata (the JSON body, the multipart `metadata` part, or the tus
// `metadata` value) into store::SubmissionInput: unknown fields, wrong types and out-of-range
// values are 422 errors naming the field, prefixed as the client sent it ("metadata.platform").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "store/submissions.hpp"

namespace cw::server {

// The values `platform` and `status` may take (also the list filters' vocabulary).
const std::vector<std::string>& submission_platforms();
const std::vector<std::string>& submission_statuses();

Result<store::SubmissionInput> parse_submission_metadata(const nlohmann::json& doc,
                                                         const std::string& prefix);
// The submission as the API shows it.
nlohmann::json submission_json(const store::Submission& s);

}  // namespace cw::server
