#include "controllers/controller_utils.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "api/object.h"
#include "api/selector.h"
#include "api/time.h"

namespace kubepp::controllers {
namespace {

constexpr auto kExpectationsTtl = std::chrono::minutes(5);

std::optional<std::chrono::system_clock::time_point> ReadySince(const bj::object& pod) {
  if (const auto* conds = api::ArrAt(pod, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (!c.is_object() || api::StrAt(c.get_object(), {"type"}) != "Ready") continue;
      if (api::StrAt(c.get_object(), {"status"}) != "True") return std::nullopt;
      auto t = api::ParseTime(api::StrAt(c.get_object(), {"lastTransitionTime"}));
      return t ? *t : std::chrono::system_clock::time_point();
    }
  }
  return std::nullopt;
}

int64_t Restarts(const bj::object& pod) {
  int64_t n = 0;
  if (const auto* cs = api::ArrAt(pod, {"status", "containerStatuses"})) {
    for (const auto& c : *cs) {
      if (c.is_object()) n += api::IntAt(c.get_object(), {"restartCount"}).value_or(0);
    }
  }
  return n;
}

int PhaseRank(std::string_view phase) {
  if (phase == "Pending") return 0;
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 3;
}

}  // namespace

void Expectations::Expect(const std::string& key, int adds, int dels) {
  std::lock_guard<std::mutex> l(mu_);
  entries_[key] = {adds, dels, std::chrono::steady_clock::now()};
}

void Expectations::Lower(const std::string& key, int adds, int dels) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.adds -= adds;
  it->second.dels -= dels;
}

bool Expectations::Satisfied(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  if (it->second.adds <= 0 && it->second.dels <= 0) return true;
  return std::chrono::steady_clock::now() - it->second.at > kExpectationsTtl;
}

void Expectations::Delete(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(key);
}

std::optional<ControllerRef> GetControllerRef(const bj::object& obj) {
  if (const auto* owners = api::ArrAt(obj, {"metadata", "ownerReferences"})) {
    for (const auto& o : *owners) {
      if (!o.is_object() || !api::BoolAt(o.get_object(), {"controller"})) continue;
      const auto& r = o.get_object();
      return ControllerRef{std::string(api::StrAt(r, {"apiVersion"})), std::string(api::StrAt(r, {"kind"})),
                           std::string(api::StrAt(r, {"name"})), std::string(api::StrAt(r, {"uid"}))};
    }
  }
  return std::nullopt;
}

std::string OrphansKey(std::string_view ns) { return "orphan/" + std::string(ns); }

void AddControllerUidIndex(client::Informer* informer) {
  informer->AddIndex(kControllerUidIndex, [](const bj::object& o) {
    auto ref = GetControllerRef(o);
    return std::vector<std::string>{ref ? ref->uid : OrphansKey(api::Namespace(o))};
  });
}

bj::object NewControllerRef(const bj::object& owner, std::string_view api_version, std::string_view kind) {
  return bj::object{{"apiVersion", api_version}, {"kind", kind},          {"name", api::Name(owner)},
                    {"uid", api::Uid(owner)},    {"controller", true},    {"blockOwnerDeletion", true}};
}

bj::object PodFromTemplate(const bj::object& tmpl, const std::string& ns, const std::string& prefix,
                           const bj::object& owner_ref) {
  bj::object meta;
  meta["generateName"] = prefix + "-";
  meta["namespace"] = ns;
  if (const auto* l = api::ObjAt(tmpl, {"metadata", "labels"})) meta["labels"] = *l;
  if (const auto* a = api::ObjAt(tmpl, {"metadata", "annotations"})) meta["annotations"] = *a;
  if (const auto* f = api::ArrAt(tmpl, {"metadata", "finalizers"})) meta["finalizers"] = *f;
  meta["ownerReferences"] = bj::array{owner_ref};
  bj::object pod{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", std::move(meta)}};
  if (const auto* s = api::ObjAt(tmpl, {"spec"})) pod["spec"] = *s;
  return pod;
}

bool IsPodActive(const bj::object& pod) {
  std::string_view phase = api::StrAt(pod, {"status", "phase"});
  return phase != "Succeeded" && phase != "Failed" && api::At(pod, {"metadata", "deletionTimestamp"}) == nullptr;
}

bool IsPodReady(const bj::object& pod) { return ReadySince(pod).has_value(); }

bool IsPodAvailable(const bj::object& pod, int64_t min_ready_seconds, std::chrono::system_clock::time_point now) {
  auto since = ReadySince(pod);
  if (!since) return false;
  return min_ready_seconds == 0 || *since + std::chrono::seconds(min_ready_seconds) <= now;
}

int SlowStartBatch(int count, const std::function<bool(int)>& fn) {
  int done = 0, ok = 0;
  for (int batch = std::min(count, 1); done < count; batch = std::min(2 * batch, count - done)) {
    std::atomic<int> next{0}, good{0};
    int n = batch;
    int threads = std::min(n, 16);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          if (fn(done + i)) ++good;
        }
      });
    }
    for (auto& t : ts) t.join();
    ok += good.load();
    done += n;
    if (good.load() < n) break;
  }
  return ok;
}

void SortPodsForDeletion(std::vector<client::ObjectPtr>& pods) {
  auto now = std::chrono::system_clock::now();
  std::stable_sort(pods.begin(), pods.end(), [now](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    bool an = api::StrAt(*a, {"spec", "nodeName"}).empty(), bn = api::StrAt(*b, {"spec", "nodeName"}).empty();
    if (an != bn) return an;
    int pa = PhaseRank(api::StrAt(*a, {"status", "phase"})), pb = PhaseRank(api::StrAt(*b, {"status", "phase"}));
    if (pa != pb) return pa < pb;
    auto ra = ReadySince(*a), rb = ReadySince(*b);
    if (ra.has_value() != rb.has_value()) return !ra.has_value();
    if (ra && rb && *ra != *rb) return *ra > *rb;  // recently ready first
    int64_t xa = Restarts(*a), xb = Restarts(*b);
    if (xa != xb) return xa > xb;
    return api::StrAt(*a, {"metadata", "creationTimestamp"}) > api::StrAt(*b, {"metadata", "creationTimestamp"});
  });
  (void)now;
}

bool MapSelectorMatches(const bj::object* selector, const bj::object& obj) {
  if (selector == nullptr || selector->empty()) return false;
  const bj::object* labels = api::ObjAt(obj, {"metadata", "labels"});
  if (labels == nullptr) return false;
  for (const auto& [k, v] : *selector) {
    auto it = labels->find(k);
    if (it == labels->end() || it->value() != v) return false;
  }
  return true;
}

}  // namespace kubepp::controllers

namespace kubepp::controllers {
namespace {

bool RequirementMatches(const bj::object& req, const std::map<std::string, std::string, std::less<>>& values) {
  std::string_view key = api::StrAt(req, {"key"}), op = api::StrAt(req, {"operator"});
  auto it = values.find(key);
  std::vector<std::string_view> vals;
  if (const auto* vs = api::ArrAt(req, {"values"})) {
    for (const auto& v : *vs) {
      if (v.is_string()) vals.push_back(v.get_string());
    }
  }
  bool in = it != values.end() && std::find(vals.begin(), vals.end(), std::string_view(it->second)) != vals.end();
  if (op == "In") return in;
  if (op == "NotIn") return !in;
  if (op == "Exists") return it != values.end();
  if (op == "DoesNotExist") return it == values.end();
  if ((op == "Gt" || op == "Lt") && it != values.end() && vals.size() == 1) {
    long long a = std::strtoll(it->second.c_str(), nullptr, 10), b = std::strtoll(std::string(vals[0]).c_str(), nullptr, 10);
    return op == "Gt" ? a > b : a < b;
  }
  return false;
}

}  // namespace

bool NodeMatchesPodSelector(const bj::object& pod_spec, const bj::object& node) {
  auto labels = api::ObjectLabels(node);
  if (const auto* sel = api::ObjAt(pod_spec, {"nodeSelector"})) {
    for (const auto& [k, v] : *sel) {
      auto it = labels.find(k);
      if (it == labels.end() || !v.is_string() || it->second != v.get_string()) return false;
    }
  }
  const auto* terms = api::ArrAt(pod_spec, {"affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                            "nodeSelectorTerms"});
  if (terms == nullptr) return true;
  std::map<std::string, std::string, std::less<>> fields{{"metadata.name", std::string(api::Name(node))}};
  for (const auto& t : *terms) {
    if (!t.is_object()) continue;
    const auto* exprs = api::ArrAt(t.get_object(), {"matchExpressions"});
    const auto* flds = api::ArrAt(t.get_object(), {"matchFields"});
    if ((exprs == nullptr || exprs->empty()) && (flds == nullptr || flds->empty())) continue;
    bool ok = true;
    if (exprs != nullptr) {
      for (const auto& r : *exprs) ok = ok && r.is_object() && RequirementMatches(r.get_object(), labels);
    }
    if (flds != nullptr) {
      for (const auto& r : *flds) ok = ok && r.is_object() && RequirementMatches(r.get_object(), fields);
    }
    if (ok) return true;
  }
  return false;
}

bool TolerationMatches(const bj::object& tol, const bj::object& taint) {
  std::string_view effect = api::StrAt(tol, {"effect"});
  if (!effect.empty() && effect != api::StrAt(taint, {"effect"})) return false;
  std::string_view key = api::StrAt(tol, {"key"});
  if (api::StrAt(tol, {"operator"}, "Equal") == "Exists") return key.empty() || key == api::StrAt(taint, {"key"});
  return key == api::StrAt(taint, {"key"}) && api::StrAt(tol, {"value"}) == api::StrAt(taint, {"value"});
}

bool ToleratesTaints(const bj::object& pod_spec, const bj::object& node, std::initializer_list<std::string_view> effects) {
  const auto* taints = api::ArrAt(node, {"spec", "taints"});
  if (taints == nullptr) return true;
  const auto* tols = api::ArrAt(pod_spec, {"tolerations"});
  for (const auto& tv : *taints) {
    if (!tv.is_object()) continue;
    const auto& taint = tv.get_object();
    std::string_view effect = api::StrAt(taint, {"effect"});
    if (std::find(effects.begin(), effects.end(), effect) == effects.end()) continue;
    bool ok = false;
    if (tols != nullptr) {
      for (const auto& tol : *tols) ok = ok || (tol.is_object() && TolerationMatches(tol.get_object(), taint));
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace kubepp::controllers
