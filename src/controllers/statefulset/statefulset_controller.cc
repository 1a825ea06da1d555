#include "controllers/statefulset/statefulset_controller.h"

#include <map>

#include "api/object.h"
#include "controllers/deployment/deployment_controller.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kRevisionLabel = "controller-revision-hash";

std::optional<int64_t> OrdinalOf(std::string_view pod_name, std::string_view set_name) {
  if (pod_name.size() <= set_name.size() + 1 || pod_name.substr(0, set_name.size()) != set_name ||
      pod_name[set_name.size()] != '-') {
    return std::nullopt;
  }
  std::string_view rest = pod_name.substr(set_name.size() + 1);
  int64_t v = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool RunningAndReady(const bj::object& pod) {
  return api::StrAt(pod, {"status", "phase"}) == "Running" && IsPodReady(pod);
}

}  // namespace

StatefulSetController::StatefulSetController(client::RestClient* client)
    : QueueController("statefulset", 3), client_(client) {}

void StatefulSetController::Init(InformerFactory* informers) {
  EnableEvents(client_, "statefulset-controller");
  sets_ = informers->For("apps", "v1", "statefulsets");
  pods_ = informers->For("", "v1", "pods");
  claims_ = informers->For("", "v1", "persistentvolumeclaims");
  sets_->AddEventHandler(EnqueueKeys());
  pods_->AddEventHandler(EnqueueOwners("StatefulSet"));
}

Status StatefulSetController::CreatePod(const bj::object& sts, int64_t ordinal, const std::string& revision) {
  std::string ns(api::Namespace(sts)), name(api::Name(sts));
  std::string pod_name = name + "-" + std::to_string(ordinal);
  const bj::object* tmpl = api::ObjAt(sts, {"spec", "template"});
  bj::object pod = PodFromTemplate(tmpl ? *tmpl : bj::object(), ns, name, NewControllerRef(sts, "apps/v1", "StatefulSet"));
  bj::object& meta = api::Meta(pod);
  meta.erase("generateName");
  meta["name"] = pod_name;
  bj::object& labels = api::Obj(meta, "labels");
  labels[kRevisionLabel] = revision;
  labels["statefulset.kubernetes.io/pod-name"] = pod_name;
  labels["apps.kubernetes.io/pod-index"] = std::to_string(ordinal);
  bj::object& spec = api::Obj(pod, "spec");
  spec["hostname"] = pod_name;
  std::string_view svc = api::StrAt(sts, {"spec", "serviceName"});
  if (!svc.empty()) spec["subdomain"] = svc;
  // Claims from volumeClaimTemplates, created once and kept.
  if (const auto* vcts = api::ArrAt(sts, {"spec", "volumeClaimTemplates"})) {
    for (const auto& v : *vcts) {
      if (!v.is_object()) continue;
      std::string claim = std::string(api::Name(v.get_object())) + "-" + pod_name;
      if (claims_->Get(ns + "/" + claim) == nullptr) {
        bj::object pvc{{"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"},
                       {"metadata", bj::object{{"name", claim}, {"namespace", ns}}}};
        if (const auto* ml = api::ObjAt(sts, {"spec", "selector", "matchLabels"})) api::Meta(pvc)["labels"] = *ml;
        if (const auto* s = api::ObjAt(v.get_object(), {"spec"})) pvc["spec"] = *s;
        auto r = client_->Post(client::ResourcePath("", "v1", "persistentvolumeclaims", ns), pvc);
        if (!r.ok() && !r.status().IsAlreadyExists()) return r.status();
        if (r.ok()) {
          events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Normal", "SuccessfulCreate",
                          "create Claim " + claim + " Pod " + pod_name + " in StatefulSet " + name + " success");
        }
      }
      bj::array& vols = api::Arr(spec, "volumes");
      bool have = false;
      for (const auto& vol : vols) have = have || api::StrAt(vol.get_object(), {"name"}) == api::Name(v.get_object());
      if (!have) {
        vols.push_back(bj::object{{"name", api::Name(v.get_object())},
                                  {"persistentVolumeClaim", bj::object{{"claimName", claim}}}});
      }
    }
  }
  auto r = client_->Post(client::ResourcePath("", "v1", "pods", ns), pod);
  if (!r.ok() && !r.status().IsAlreadyExists()) {
    events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Warning", "FailedCreate",
                    "create Pod " + pod_name + " in StatefulSet " + name + " failed error: " + r.status().message());
    return r.status();
  }
  if (r.ok()) {
    events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Normal", "SuccessfulCreate",
                    "create Pod " + pod_name + " in StatefulSet " + name + " successful");
  }
  return Status::OK();
}

Status StatefulSetController::Reconcile(const std::string& key) {
  client::ObjectPtr sp = sets_->Get(key);
  if (sp == nullptr) return Status::OK();
  const bj::object& sts = *sp;
  if (api::At(sts, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();
  std::string ns(api::Namespace(sts)), name(api::Name(sts)), uid(api::Uid(sts));
  const bj::object* tmpl = api::ObjAt(sts, {"spec", "template"});
  if (tmpl == nullptr) return Status::OK();
  std::string update_rev = name + "-" + PodTemplateHash(*tmpl, api::IntAt(sts, {"status", "collisionCount"}).value_or(0));
  std::string current_rev(api::StrAt(sts, {"status", "currentRevision"}));
  if (current_rev.empty()) current_rev = update_rev;
  int64_t replicas = api::IntAt(sts, {"spec", "replicas"}).value_or(1);
  bool parallel = api::StrAt(sts, {"spec", "podManagementPolicy"}) == "Parallel";
  bool rolling = api::StrAt(sts, {"spec", "updateStrategy", "type"}, "RollingUpdate") == "RollingUpdate";
  int64_t partition = api::IntAt(sts, {"spec", "updateStrategy", "rollingUpdate", "partition"}).value_or(0);
  int64_t min_ready = api::IntAt(sts, {"spec", "minReadySeconds"}).value_or(0);
  auto now = std::chrono::system_clock::now();

  std::map<int64_t, client::ObjectPtr> pods;
  for (const auto& p : pods_->ByIndex("namespace", ns)) {
    auto ref = GetControllerRef(*p);
    if (!ref || ref->uid != uid) continue;
    if (auto o = OrdinalOf(api::Name(*p), name)) pods[*o] = p;
  }
  Status st;
  bool blocked = false;  // an earlier pod is not ready yet (OrderedReady)
  for (int64_t i = 0; i < replicas && !blocked; ++i) {
    auto it = pods.find(i);
    if (it == pods.end()) {
      st = CreatePod(sts, i, update_rev);
      if (!st.ok() || !parallel) blocked = true;
      continue;
    }
    const bj::object& p = *it->second;
    if (api::At(p, {"metadata", "deletionTimestamp"}) != nullptr) {
      if (!parallel) blocked = true;
      continue;
    }
    if (api::StrAt(p, {"status", "phase"}) == "Failed" || api::StrAt(p, {"status", "phase"}) == "Succeeded") {
      (void)client_->Delete(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(p))));
      events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Warning", "RecreatingTerminatedPod",
                      "StatefulSet " + ns + "/" + name + " is recreating terminated Pod " + std::string(api::Name(p)));
      if (!parallel) blocked = true;
      continue;
    }
    if (!parallel && !RunningAndReady(p)) blocked = true;
  }
  // Scale down: highest ordinal first; one at a time unless Parallel.
  bool all_ready = true;
  for (const auto& [i, p] : pods) {
    if (i < replicas && !RunningAndReady(*p)) all_ready = false;
  }
  for (auto it = pods.rbegin(); it != pods.rend() && st.ok(); ++it) {
    if (it->first < replicas) break;
    if (api::At(*it->second, {"metadata", "deletionTimestamp"}) != nullptr) {
      if (!parallel) break;
      continue;
    }
    if (!parallel && (blocked || !all_ready)) break;
    (void)client_->Delete(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(*it->second))));
    events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Normal", "SuccessfulDelete",
                    "delete Pod " + std::string(api::Name(*it->second)) + " in StatefulSet " + name + " successful");
    if (!parallel) break;
  }
  // Rolling update: the highest out-of-date pod at or above the partition, when all are ready.
  if (st.ok() && rolling && !blocked && all_ready && static_cast<int64_t>(pods.size()) >= replicas) {
    for (int64_t i = replicas - 1; i >= partition; --i) {
      auto it = pods.find(i);
      if (it == pods.end()) break;
      if (api::At(*it->second, {"metadata", "deletionTimestamp"}) != nullptr) break;
      if (api::StrAt(*it->second, {"metadata", "labels", kRevisionLabel}) != update_rev) {
        (void)client_->Delete(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(*it->second))));
        events().Record(client::ObjectReference(sts, "apps/v1", "StatefulSet"), "Normal", "SuccessfulDelete",
                        "delete Pod " + std::string(api::Name(*it->second)) + " in StatefulSet " + name + " successful");
        break;
      }
    }
  }
  // Status.
  int64_t count = 0, ready = 0, available = 0, current = 0, updated = 0;
  for (const auto& [i, p] : pods) {
    if (api::At(*p, {"metadata", "deletionTimestamp"}) != nullptr) continue;
    ++count;
    if (RunningAndReady(*p)) ++ready;
    if (RunningAndReady(*p) && IsPodAvailable(*p, min_ready, now)) ++available;
    std::string_view rev = api::StrAt(*p, {"metadata", "labels", kRevisionLabel});
    if (rev == update_rev) ++updated;
    if (rev == current_rev) ++current;
  }
  if (updated == replicas && ready == replicas && count == replicas) {
    current_rev = update_rev;
    current = updated;
  }
  bj::object status{{"observedGeneration", api::IntAt(sts, {"metadata", "generation"}).value_or(0)},
                    {"replicas", count},
                    {"readyReplicas", ready},
                    {"availableReplicas", available},
                    {"currentReplicas", current},
                    {"updatedReplicas", updated},
                    {"currentRevision", current_rev},
                    {"updateRevision", update_rev},
                    {"collisionCount", api::IntAt(sts, {"status", "collisionCount"}).value_or(0)}};
  const bj::object* cur = api::ObjAt(sts, {"status"});
  bool changed = cur == nullptr;
  if (cur != nullptr) {
    for (const auto& [k, v] : status) {
      const bj::value* c = cur->if_contains(k);
      if (c == nullptr || *c != v) changed = true;
    }
  }
  if (changed) {
    auto r = client_->Patch(client::ResourcePath("apps", "v1", "statefulsets", ns, name, "status"),
                            "application/merge-patch+json", bj::object{{"status", std::move(status)}});
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  if (min_ready > 0 && available < ready) queue().AddAfter(key, std::chrono::seconds(min_ready));
  return st;
}

}  // namespace kubepp::controllers
