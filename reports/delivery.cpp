// The deliver_report job and the signed POST it makes (libcurl).
#include "reports/delivery.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include "common/log.hpp"
#include "reports/webhook.hpp"
#include "store/reports.hpp"

namespace cw::reports {

Result<long> post_json(const std::string& url, const std::string& body,
                       const std::vector<std::string>& headers, std::chrono::seconds timeout) {
  CURL* c = curl_easy_init();
  if (c == nullptr) return Error(Code::kInternal, "curl_easy_init failed");
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ConvoyWatch-Webhook/1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  // The answer's body is not needed.
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION,
      +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; });
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    return Error(Code::kUnavailable, fmt::format("POST {} failed: {}", url,
                                                 errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  if (status < 200 || status > 299) {
    return Error(Code::kUnavailable, fmt::format("POST {} answered HTTP {}", url, status));
  }
  return status;
}

store::JobHandler report_delivery_handler(store::Database& db, const ReportsConfig& reports,
                                          const PipelineConfig& pipeline,
                                          std::chrono::seconds timeout) {
  return [&db, secret = reports.webhook_secret, max_attempts = pipeline.max_attempts,
          backoff = std::chrono::seconds(pipeline.retry_backoff_s),
          timeout](const store::Job& job, const store::JobControl& control) -> Status {
    store::Jobs jobs(db);
    const int64_t report_id = job.payload.value("report_id", int64_t{0});
    const std::string url = job.payload.value("url", "");
    auto fail = [&](const std::string& reason) -> Status {
      log::warn("report delivery failed", {{"job", job.id}, {"url", url}, {"reason", reason}});
      auto outcome = jobs.fail(job.id, control.worker_id, reason, max_attempts, backoff);
      return outcome.ok() ? Status::Ok() : Status(outcome.error());
    };
    auto report = store::Reports(db).get(report_id);
    if (!report.ok()) {
      return fail("report " + std::to_string(report_id) + ": " + report.error().detail());
    }
    const std::string body = report->body.dump();
    const auto at =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const std::string signature =
        std::string(kSignatureHeader) + ": " + sign_webhook(secret, body, at);
    const std::string id_header = "ConvoyWatch-Report: " + std::to_string(report_id);
    auto posted = post_json(url, body, {signature, id_header}, timeout);
    if (control.lease_lost()) return Status::Ok();  // another worker delivers it
    if (!posted.ok()) return fail(posted.error().detail());
    log::info("report delivered", {{"job", job.id}, {"report", report_id}, {"url", url}});
    return jobs.complete(job.id, control.worker_id);
  };
}

}  // namespace cw::reports
