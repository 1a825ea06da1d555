#include "apiserver/registry/hooks_util.h"

#include <algorithm>
#include <vector>

namespace kubepp::apiserver::hooks {

std::string Age(std::string_view rfc3339, const TableContext& ctx) {
  if (rfc3339.empty()) return "<unknown>";
  auto t = api::ParseTime(rfc3339);
  if (!t) return "<unknown>";
  return api::HumanDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(ctx.now - *t));
}

std::string ObjectAge(const bj::object& obj, const TableContext& ctx) {
  return Age(StrAt(obj, {"metadata", "creationTimestamp"}), ctx);
}

std::string FormatLabels(const bj::object* labels) {
  if (labels == nullptr || labels->empty()) return "<none>";
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, v] : *labels) kv.emplace_back(std::string(k), v.is_string() ? std::string(v.get_string()) : "");
  std::sort(kv.begin(), kv.end());
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out += ",";
    out += k + "=" + v;
  }
  return out;
}

std::string FormatLabelSelector(const bj::value* selector) {
  if (selector == nullptr || selector->is_null()) return "<none>";
  auto sel = api::LabelSelector::FromObject(selector);
  if (!sel.ok()) return "<error>";
  std::string s = sel->String();
  return s.empty() ? "<none>" : s;
}

std::string StrOr(const bj::object& o, std::initializer_list<std::string_view> path, std::string_view def) {
  std::string_view v = StrAt(o, path);
  return std::string(v.empty() ? def : v);
}

}  // namespace kubepp::apiserver::hooks
