#include "controllers/disruption/disruption_controller.h"

#include <cmath>
#include <map>

#include "api/object.h"
#include "api/selector.h"
#include "api/time.h"
#include "controllers/controller_utils.h"

namespace kubepp::controllers {
namespace {

// An int-or-string of `total`; percentages round up.
int64_t Scaled(const bj::value& v, int64_t total) {
  if (v.is_int64()) return v.get_int64();
  if (!v.is_string()) return 0;
  std::string s(v.get_string());
  int64_t n = std::strtoll(s.c_str(), nullptr, 10);
  if (!s.empty() && s.back() == '%') return (total * n + 99) / 100;
  return n;
}

}  // namespace

DisruptionController::DisruptionController(client::RestClient* client) : QueueController("disruption", 2), client_(client) {}

void DisruptionController::Init(InformerFactory* informers) {
  pdbs_ = informers->For("policy", "v1", "poddisruptionbudgets");
  pods_ = informers->For("", "v1", "pods");
  replicasets_ = informers->For("apps", "v1", "replicasets");
  deployments_ = informers->For("apps", "v1", "deployments");
  statefulsets_ = informers->For("apps", "v1", "statefulsets");
  rcs_ = informers->For("", "v1", "replicationcontrollers");
  pdbs_->AddEventHandler(EnqueueKeys());
  pods_->AddEventHandler(OnEvery([this](const client::ObjectPtr& p) {
    for (const auto& pdb : pdbs_->ByIndex("namespace", std::string(api::Namespace(*p)))) {
      auto sel = api::LabelSelector::FromObject(api::At(*pdb, {"spec", "selector"}));
      if (sel.ok() && sel->MatchesObject(*p)) queue().Add(client::KeyOf(*pdb));
    }
  }));
}

int64_t DisruptionController::ControllerScale(const std::string& ns, const std::string& kind, const std::string& name) const {
  client::Informer* inf = kind == "ReplicaSet" ? replicasets_ : kind == "StatefulSet" ? statefulsets_
                          : kind == "ReplicationController" ? rcs_ : nullptr;
  if (inf == nullptr) return -1;
  client::ObjectPtr o = inf->Get(ns + "/" + name);
  if (o == nullptr) return -1;
  // A replica set owned by a deployment counts at the deployment's scale.
  if (kind == "ReplicaSet") {
    if (auto ref = GetControllerRef(*o); ref && ref->kind == "Deployment") {
      if (client::ObjectPtr d = deployments_->Get(ns + "/" + ref->name)) {
        return api::IntAt(*d, {"spec", "replicas"}).value_or(1);
      }
    }
  }
  return api::IntAt(*o, {"spec", "replicas"}).value_or(1);
}

Status DisruptionController::Reconcile(const std::string& key) {
  client::ObjectPtr pp = pdbs_->Get(key);
  if (pp == nullptr) return Status::OK();
  const bj::object& pdb = *pp;
  std::string ns(api::Namespace(pdb)), name(api::Name(pdb));
  auto sel = api::LabelSelector::FromObject(api::At(pdb, {"spec", "selector"}));
  int64_t healthy = 0, pods = 0;
  std::map<std::pair<std::string, std::string>, bool> owners;
  bool unmanaged = false;
  if (sel.ok()) {
    for (const auto& p : pods_->ByIndex("namespace", ns)) {
      if (!sel->MatchesObject(*p) || api::At(*p, {"metadata", "deletionTimestamp"}) != nullptr) continue;
      std::string_view phase = api::StrAt(*p, {"status", "phase"});
      if (phase == "Succeeded" || phase == "Failed") continue;
      ++pods;
      if (IsPodReady(*p)) ++healthy;
      if (auto ref = GetControllerRef(*p)) owners[{ref->kind, ref->name}] = true;
      else unmanaged = true;
    }
  }
  int64_t expected = pods, desired = 0;
  const bj::value* min_available = api::At(pdb, {"spec", "minAvailable"});
  const bj::value* max_unavailable = api::At(pdb, {"spec", "maxUnavailable"});
  bool needs_scale = max_unavailable != nullptr || (min_available != nullptr && min_available->is_string() &&
                                                    std::string(min_available->get_string()).find('%') != std::string::npos);
  if (needs_scale && !unmanaged) {
    expected = 0;
    for (const auto& [o, _] : owners) {
      int64_t s = ControllerScale(ns, o.first, o.second);
      if (s < 0) {
        expected = pods;
        break;
      }
      expected += s;
    }
  }
  if (max_unavailable != nullptr) desired = std::max<int64_t>(0, expected - Scaled(*max_unavailable, expected));
  else if (min_available != nullptr) desired = Scaled(*min_available, expected);
  int64_t allowed = std::max<int64_t>(0, healthy - desired);
  if (needs_scale && unmanaged) allowed = 0;  // upstream: percentages need controllers
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  bool ok = allowed > 0;
  bj::object cond{{"type", "DisruptionAllowed"}, {"status", ok ? "True" : "False"},
                  {"reason", ok ? "SufficientPods" : "InsufficientPods"}, {"message", ""},
                  {"lastTransitionTime", now},
                  {"observedGeneration", api::IntAt(pdb, {"metadata", "generation"}).value_or(0)}};
  if (const auto* conds = api::ArrAt(pdb, {"status", "conditions"})) {
    for (const auto& c : *conds) {
      if (api::StrAt(c.get_object(), {"type"}) == "DisruptionAllowed" &&
          api::StrAt(c.get_object(), {"status"}) == cond["status"].as_string()) {
        cond["lastTransitionTime"] = api::StrAt(c.get_object(), {"lastTransitionTime"});
      }
    }
  }
  bj::object status{{"observedGeneration", api::IntAt(pdb, {"metadata", "generation"}).value_or(0)},
                    {"disruptionsAllowed", allowed},
                    {"currentHealthy", healthy},
                    {"desiredHealthy", desired},
                    {"expectedPods", expected},
                    {"conditions", bj::array{cond}}};
  bool changed = false;
  for (const char* k : {"observedGeneration", "disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"}) {
    if (api::IntAt(pdb, {"status", k}).value_or(-1) != status[k].as_int64()) changed = true;
  }
  if (api::ArrAt(pdb, {"status", "conditions"}) == nullptr) changed = true;
  if (!changed) return Status::OK();
  auto r = client_->Patch(client::ResourcePath("policy", "v1", "poddisruptionbudgets", ns, name, "status"),
                          "application/merge-patch+json", bj::object{{"status", std::move(status)}});
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

}  // namespace kubepp::controllers
