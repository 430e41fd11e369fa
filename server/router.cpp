// Route table matching.
#include "server/router.hpp"

#include <algorithm>

namespace cw::server {

namespace {

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= pattern.size()) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) slash = pattern.size();
    out.emplace_back(pattern.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// A parameter segment is "{name}" or "{name}.suffix" (e.g. "{n}.jpg").
bool is_param(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.find('}') != std::string::npos;
}

bool matches(const Route& r, const std::vector<std::string>& segments,
             std::map<std::string, std::string>* params) {
  if (r.segments.size() != segments.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& pat = r.segments[i];
    if (is_param(pat)) {
      size_t close = pat.find('}');
      std::string_view suffix = std::string_view(pat).substr(close + 1);
      const std::string& seg = segments[i];
      if (seg.size() <= suffix.size() || !std::string_view(seg).ends_with(suffix)) return false;
      found[pat.substr(1, close - 1)] = seg.substr(0, seg.size() - suffix.size());
    } else if (pat != segments[i]) {
      return false;
    }
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

}  // namespace

void Router::add(http::verb method, std::string pattern, Handler handler, RouteOptions options) {
  Route r{method, pattern, std::move(handler), std::move(options), split_pattern(pattern)};
  routes_.push_back(std::move(r));
}

RouteMatch Router::match(http::verb method, const std::vector<std::string>& segments) const {
  RouteMatch m;
  // Literal segments win over parameters: "/users/me" before "/users/{id}".
  const Route* best = nullptr;
  int best_literals = -1;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (!matches(r, segments, &params)) continue;
    m.path_known = true;
    if (r.method != method) {
      if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) {
        m.allowed.push_back(r.method);
      }
      continue;
    }
    int literals = static_cast<int>(std::count_if(
        r.segments.begin(), r.segments.end(), [](const std::string& s) { return !is_param(s); }));
    if (literals > best_literals) {
      best = &r;
      best_literals = literals;
      m.params = std::move(params);
    }
  }
  m.route = best;
  if (best != nullptr) m.allowed.clear();
  return m;
}

void Router::set_fallback(Handler handler, RouteOptions options) {
  fallback_ = std::make_unique<Route>(
      Route{http::verb::get, "/{path}", std::move(handler), std::move(options), {"{path}"}});
}

std::vector<http::verb> Router::methods_for(const std::vector<std::string>& segments) const {
  std::vector<http::verb> out;
  for (const Route& r : routes_) {
    if (matches(r, segments, nullptr) && std::find(out.begin(), out.end(), r.method) == out.end()) {
      out.push_back(r.method);
    }
  }
  return out;
}

}  // namespace cw::server
