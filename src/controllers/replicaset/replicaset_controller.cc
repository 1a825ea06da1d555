#include "controllers/replicaset/replicaset_controller.h"

#include <atomic>

#include "api/object.h"
#include "api/selector.h"
#include "api/time.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

constexpr int kBurstReplicas = 500;

const log::Logger& Log() {
  static const log::Logger l("replicaset-controller");
  return l;
}

}  // namespace

ReplicaSetController::ReplicaSetController(client::RestClient* client, bool replication_controller)
    : QueueController(replication_controller ? "replicationcontroller" : "replicaset", 5),
      client_(client),
      rc_(replication_controller) {
  if (rc_) {
    group_ = "";
    version_ = "v1";
    resource_ = "replicationcontrollers";
    kind_ = "ReplicationController";
    api_version_ = "v1";
  } else {
    group_ = "apps";
    version_ = "v1";
    resource_ = "replicasets";
    kind_ = "ReplicaSet";
    api_version_ = "apps/v1";
  }
}

void ReplicaSetController::Init(InformerFactory* informers) {
  EnableEvents(client_, rc_ ? "replication-controller" : "replicaset-controller");
  owners_ = informers->For(group_, version_, resource_);
  pods_ = informers->For("", "v1", "pods");
  AddControllerUidIndex(pods_);
  client::EventHandler owners = EnqueueKeys();
  owners.on_delete = [this](const client::ObjectPtr& o) {
    expectations_.Delete(client::KeyOf(*o));
    queue().Add(client::KeyOf(*o));
  };
  owners_->AddEventHandler(owners);
  pods_->AddEventHandler({[this](const client::ObjectPtr& p) { PodAdded(p); },
                          [this](const client::ObjectPtr& a, const client::ObjectPtr& b) { PodUpdated(a, b); },
                          [this](const client::ObjectPtr& p) { PodDeleted(p); }});
}


std::string ReplicaSetController::OwnerKeyIfOurs(const bj::object& pod) const {
  auto ref = GetControllerRef(pod);
  if (!ref || ref->kind != kind_) return "";
  std::string key = std::string(api::Namespace(pod)) + "/" + ref->name;
  client::ObjectPtr owner = owners_->Get(key);
  if (owner == nullptr || api::Uid(*owner) != ref->uid) return "";
  return key;
}

bool ReplicaSetController::Selects(const bj::object& owner, const bj::object& pod) const {
  return SelectorOf(owner)(pod);
}

std::function<bool(const bj::object&)> ReplicaSetController::SelectorOf(const bj::object& owner) const {
  if (rc_) {
    const bj::object* sel = api::ObjAt(owner, {"spec", "selector"});
    return [sel](const bj::object& pod) { return MapSelectorMatches(sel, pod); };
  }
  auto sel = api::LabelSelector::FromObject(api::At(owner, {"spec", "selector"}));
  if (!sel.ok() || sel->empty()) return [](const bj::object&) { return false; };
  return [sel = std::move(*sel)](const bj::object& pod) { return sel.MatchesObject(pod); };
}

void ReplicaSetController::EnqueueMatchingOwners(const bj::object& pod) {
  for (const auto& o : owners_->ByIndex("namespace", std::string(api::Namespace(pod)))) {
    if (Selects(*o, pod)) queue().Add(client::KeyOf(*o));
  }
}

void ReplicaSetController::PodAdded(const client::ObjectPtr& pod) {
  if (api::At(*pod, {"metadata", "deletionTimestamp"}) != nullptr) {
    PodDeleted(pod);
    return;
  }
  if (auto ref = GetControllerRef(*pod)) {
    std::string key = OwnerKeyIfOurs(*pod);
    if (key.empty()) return;
    expectations_.CreationObserved(key);
    queue().Add(key);
    return;
  }
  EnqueueMatchingOwners(*pod);
}

void ReplicaSetController::PodUpdated(const client::ObjectPtr& old_pod, const client::ObjectPtr& pod) {
  if (api::ResourceVersion(*old_pod) == api::ResourceVersion(*pod)) return;
  bool deleting = api::At(*pod, {"metadata", "deletionTimestamp"}) != nullptr &&
                  api::At(*old_pod, {"metadata", "deletionTimestamp"}) == nullptr;
  if (deleting) {
    // A graceful deletion counts as observed now (upstream does the same).
    std::string key = OwnerKeyIfOurs(*pod);
    if (!key.empty()) {
      expectations_.DeletionObserved(key);
      queue().Add(key);
    }
    return;
  }
  std::string old_key = OwnerKeyIfOurs(*old_pod);
  std::string key = OwnerKeyIfOurs(*pod);
  if (!old_key.empty() && old_key != key) queue().Add(old_key);
  if (!key.empty()) {
    queue().Add(key);
  } else if (!GetControllerRef(*pod)) {
    EnqueueMatchingOwners(*pod);
  }
}

void ReplicaSetController::PodDeleted(const client::ObjectPtr& pod) {
  std::string key = OwnerKeyIfOurs(*pod);
  if (key.empty()) return;
  expectations_.DeletionObserved(key);
  queue().Add(key);
}

Status ReplicaSetController::Reconcile(const std::string& key) {
  client::ObjectPtr owner = owners_->Get(key);
  if (owner == nullptr) {
    expectations_.Delete(key);
    return Status::OK();
  }
  const bj::object& rs = *owner;
  std::string ns(api::Namespace(rs)), name(api::Name(rs)), uid(api::Uid(rs));
  bool satisfied = expectations_.Satisfied(key);
  bool rs_deleting = api::At(rs, {"metadata", "deletionTimestamp"}) != nullptr;

  // Claim pods: keep ours that match, release ours that do not, adopt matching orphans.
  std::vector<client::ObjectPtr> owned;
  auto selects = SelectorOf(rs);
  std::vector<client::ObjectPtr> candidates = pods_->ByIndex(kControllerUidIndex, uid);
  for (auto& p : pods_->ByIndex(kControllerUidIndex, OrphansKey(ns))) candidates.push_back(std::move(p));
  for (const auto& p : candidates) {
    if (api::Namespace(*p) != ns) continue;
    if (!IsPodActive(*p) && api::At(*p, {"metadata", "deletionTimestamp"}) != nullptr) continue;
    auto ref = GetControllerRef(*p);
    bool matches = selects(*p);
    if (ref && ref->uid == uid) {
      if (matches || rs_deleting) {
        owned.push_back(p);
      } else {
        bj::array refs;
        for (const auto& o : *api::ArrAt(*p, {"metadata", "ownerReferences"})) {
          if (api::StrAt(o.get_object(), {"uid"}) != uid) refs.push_back(o);
        }
        bj::object patch{{"metadata", bj::object{{"ownerReferences", std::move(refs)}, {"uid", api::Uid(*p)}}}};
        (void)client_->Patch(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(*p))),
                             "application/merge-patch+json", patch);
      }
    } else if (!ref && matches && !rs_deleting && IsPodActive(*p)) {
      bj::array refs;
      if (const auto* cur = api::ArrAt(*p, {"metadata", "ownerReferences"})) refs = *cur;
      refs.push_back(NewControllerRef(rs, api_version_, kind_));
      bj::object patch{{"metadata", bj::object{{"ownerReferences", std::move(refs)}, {"uid", api::Uid(*p)}}}};
      auto r = client_->Patch(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(*p))),
                              "application/merge-patch+json", patch);
      if (r.ok()) owned.push_back(p);
    }
  }
  std::vector<client::ObjectPtr> active;
  for (const auto& p : owned) {
    if (IsPodActive(*p)) active.push_back(p);
  }

  Status manage_err;
  if (satisfied && !rs_deleting) {
    int64_t want = api::IntAt(rs, {"spec", "replicas"}).value_or(1);
    int64_t diff = static_cast<int64_t>(active.size()) - want;
    const bj::object* tmpl = api::ObjAt(rs, {"spec", "template"});
    if (diff < 0 && tmpl != nullptr) {
      int n = static_cast<int>(std::min<int64_t>(-diff, kBurstReplicas));
      expectations_.Expect(key, n, 0);
      bj::object ref = NewControllerRef(rs, api_version_, kind_);
      std::string first_err;
      std::mutex err_mu;
      int made = SlowStartBatch(n, [&](int) {
        auto r = client_->Post(client::ResourcePath("", "v1", "pods", ns), PodFromTemplate(*tmpl, ns, name, ref));
        if (!r.ok()) {
          std::lock_guard<std::mutex> l(err_mu);
          if (first_err.empty()) first_err = r.status().message();
          return false;
        }
        events().Record(client::ObjectReference(rs, api_version_, kind_), "Normal", "SuccessfulCreate",
                        "Created pod: " + std::string(api::StrAt(r->get_object(), {"metadata", "name"})));
        return true;
      });
      // Creations that were never sent or failed will not be observed.
      expectations_.Lower(key, n - made, 0);
      if (made < n) {
        events().Record(client::ObjectReference(rs, api_version_, kind_), "Warning", "FailedCreate",
                        "Error creating: " + first_err);
        manage_err = Status::Internal(first_err);
      }
    } else if (diff > 0) {
      int n = static_cast<int>(std::min<int64_t>(diff, kBurstReplicas));
      SortPodsForDeletion(active);
      expectations_.Expect(key, 0, n);
      for (int i = 0; i < n; ++i) {
        std::string pname(api::Name(*active[i]));
        auto r = client_->Delete(client::ResourcePath("", "v1", "pods", ns, pname));
        if (!r.ok()) {
          expectations_.DeletionObserved(key);
          if (!r.status().IsNotFound()) manage_err = r.status();
          continue;
        }
        events().Record(client::ObjectReference(rs, api_version_, kind_), "Normal", "SuccessfulDelete",
                        "Deleted pod: " + pname);
      }
    }
  }

  // Status.
  int64_t min_ready = api::IntAt(rs, {"spec", "minReadySeconds"}).value_or(0);
  auto now = std::chrono::system_clock::now();
  const bj::object* tmpl_labels = api::ObjAt(rs, {"spec", "template", "metadata", "labels"});
  int64_t fully = 0, ready = 0, available = 0;
  for (const auto& p : active) {
    if (MapSelectorMatches(tmpl_labels, *p) || tmpl_labels == nullptr || tmpl_labels->empty()) ++fully;
    if (IsPodReady(*p)) ++ready;
    if (IsPodAvailable(*p, min_ready, now)) ++available;
  }
  bj::object status{{"replicas", static_cast<int64_t>(active.size())},
                    {"fullyLabeledReplicas", fully},
                    {"readyReplicas", ready},
                    {"availableReplicas", available},
                    {"observedGeneration", api::IntAt(rs, {"metadata", "generation"}).value_or(0)}};
  bool changed = false;
  for (const auto& [k, v] : status) {
    const bj::value* cur = api::At(rs, {"status", k});
    int64_t curv = cur && cur->is_int64() ? cur->get_int64() : 0;
    if (curv != v.get_int64()) changed = true;
  }
  if (changed) {
    bj::object patch{{"status", status}};
    auto r = client_->Patch(client::ResourcePath(group_, version_, resource_, ns, name, "status"),
                            "application/merge-patch+json", patch);
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  // Pods becoming available after minReadySeconds: look again then.
  if (min_ready > 0 && available < ready) queue().AddAfter(key, std::chrono::seconds(min_ready));
  if (!manage_err.ok()) Log().V(1, "sync failed", {{"key", key}, {"err", manage_err.ToString()}});
  return manage_err;
}

}  // namespace kubepp::controllers
