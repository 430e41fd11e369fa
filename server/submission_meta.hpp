// Validation of submission metadata (the JSON body, the multipart `metadata` part, or the tus
// `metadata` value) into store::SubmissionInput: unknown fields, wrong types and out-of-range
// values are 422 errors naming the field, prefixed as the client sent it ("metadata.platform").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "server/pagination.hpp"
#include "store/submissions.hpp"

namespace cw::server {

// The values `platform` and `status` may take (also the list filters' vocabulary).
const std::vector<std::string>& submission_platforms();
const std::vector<std::string>& submission_statuses();

Result<store::SubmissionInput> parse_submission_metadata(const nlohmann::json& doc,
                                                         const std::string& prefix);
// The tus Upload-Metadata header of an upload: its `metadata` key (JSON, validated as above with
// the prefix "metadata.") and its `filename` key (at most 1024 bytes, "" when absent).
Result<std::pair<store::SubmissionInput, std::string>> submission_from_upload_metadata(
    const std::string& header);

// A tag: 1 to 64 bytes of UTF-8 without control characters.
bool valid_tag(const std::string& tag);
// A JSON list of at most store::Submissions::kMaxTags valid tags; 422 naming `field` or the
// element ("tags[2]").
Result<std::vector<std::string>> parse_tags(const nlohmann::json& tags, const std::string& field);

// The list filter from the query of GET /submissions: limit and cursor (as parse_page), status,
// platform, submitted_by, org, since, until, tag. 422 naming the first bad parameter.
Result<store::SubmissionFilter> parse_submission_filter(const QueryParams& query);

// The submission as the API shows it.
nlohmann::json submission_json(const store::Submission& s);

}  // namespace cw::server
