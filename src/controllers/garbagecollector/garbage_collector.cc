#include "controllers/garbagecollector/garbage_collector.h"

#include "api/object.h"
#include "common/log.h"

namespace kubepp::controllers {
namespace {

const log::Logger& Log() {
  static const log::Logger l("garbage-collector");
  return l;
}

bool HasFinalizer(const bj::object& obj, std::string_view f) {
  if (const auto* fins = api::ArrAt(obj, {"metadata", "finalizers"})) {
    for (const auto& v : *fins) {
      if (v.is_string() && v.get_string() == f) return true;
    }
  }
  return false;
}

bool Deleting(const bj::object& obj) { return api::At(obj, {"metadata", "deletionTimestamp"}) != nullptr; }

}  // namespace

GarbageCollector::GarbageCollector(client::RestClient* client) : QueueController("garbagecollector", 5), client_(client) {
  // The kinds that own or are owned in practice (events are left out, as
  // upstream's collector ignores them).
  resources_ = {
      {"", "v1", "pods", "Pod"},
      {"", "v1", "replicationcontrollers", "ReplicationController"},
      {"", "v1", "services", "Service"},
      {"", "v1", "endpoints", "Endpoints"},
      {"", "v1", "configmaps", "ConfigMap"},
      {"", "v1", "secrets", "Secret"},
      {"", "v1", "serviceaccounts", "ServiceAccount"},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"},
      {"", "v1", "podtemplates", "PodTemplate"},
      {"", "v1", "nodes", "Node", false},
      {"", "v1", "persistentvolumes", "PersistentVolume", false},
      {"apps", "v1", "deployments", "Deployment"},
      {"apps", "v1", "replicasets", "ReplicaSet"},
      {"apps", "v1", "statefulsets", "StatefulSet"},
      {"apps", "v1", "daemonsets", "DaemonSet"},
      {"apps", "v1", "controllerrevisions", "ControllerRevision"},
      {"batch", "v1", "jobs", "Job"},
      {"batch", "v1", "cronjobs", "CronJob"},
      {"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"},
      {"coordination.k8s.io", "v1", "leases", "Lease"},
      {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"},
      {"networking.k8s.io", "v1", "ingresses", "Ingress"},
      {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"},
      {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler"},
      {"rbac.authorization.k8s.io", "v1", "roles", "Role"},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false},
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false},
  };
}

void GarbageCollector::Init(InformerFactory* informers) {
  for (auto& r : resources_) {
    r.informer = informers->For(r.group, r.version, r.resource);
    const Resource* rp = &r;
    r.informer->AddEventHandler({[this, rp](const client::ObjectPtr& o) { Observe(*rp, o); },
                                 [this, rp](const client::ObjectPtr&, const client::ObjectPtr& o) { Observe(*rp, o); },
                                 [this](const client::ObjectPtr& o) { Forget(o); }});
  }
}

const GarbageCollector::Resource* GarbageCollector::ResourceFor(const std::string& api_version,
                                                                const std::string& kind) const {
  for (const auto& r : resources_) {
    if (r.kind == kind && (r.ApiVersion() == api_version || r.group == api_version.substr(0, api_version.find('/')))) {
      return &r;
    }
  }
  return nullptr;
}

std::string GarbageCollector::PathOf(const Resource& r, const std::string& ns, const std::string& name) const {
  return client::ResourcePath(r.group, r.version, r.resource, r.namespaced ? ns : "", name);
}

std::vector<GarbageCollector::OwnerRef> GarbageCollector::OwnerRefsOf(const bj::object& obj) {
  std::vector<OwnerRef> owners;
  if (const auto* refs = api::ArrAt(obj, {"metadata", "ownerReferences"})) {
    for (const auto& o : *refs) {
      if (!o.is_object()) continue;
      const auto& ro = o.get_object();
      owners.push_back({std::string(api::StrAt(ro, {"apiVersion"})), std::string(api::StrAt(ro, {"kind"})),
                        std::string(api::StrAt(ro, {"name"})), std::string(api::StrAt(ro, {"uid"})),
                        api::BoolAt(ro, {"blockOwnerDeletion"})});
    }
  }
  return owners;
}

void GarbageCollector::Observe(const Resource& r, const client::ObjectPtr& obj) {
  std::string uid(api::Uid(*obj));
  if (uid.empty()) return;
  std::vector<std::string> enqueue;
  {
    std::lock_guard<std::mutex> l(mu_);
    Node& n = nodes_[uid];
    n.res = &r;
    n.ns = std::string(api::Namespace(*obj));
    n.name = std::string(api::Name(*obj));
    std::vector<OwnerRef> owners = OwnerRefsOf(*obj);
    bool same = owners.size() == n.owners.size();
    for (size_t i = 0; same && i < owners.size(); ++i) {
      same = owners[i].uid == n.owners[i].uid && owners[i].block == n.owners[i].block;
    }
    bool owner_missing = false;
    if (!same) {  // most updates (status) leave the references alone
      for (const auto& o : n.owners) dependents_[o.uid].erase(uid);
      for (const auto& o : owners) {
        dependents_[o.uid].insert(uid);
        auto it = nodes_.find(o.uid);
        if (it == nodes_.end() || it->second.res == nullptr) owner_missing = true;
      }
      n.owners = std::move(owners);
    }
    if (owner_missing) enqueue.push_back("d:" + uid);
    if (Deleting(*obj) && HasFinalizer(*obj, "orphan")) enqueue.push_back("o:" + uid);
    if (Deleting(*obj) && HasFinalizer(*obj, "foregroundDeletion")) {
      enqueue.push_back("f:" + uid);
      for (const auto& d : dependents_[uid]) enqueue.push_back("d:" + d);
    }
  }
  for (const auto& k : enqueue) queue().Add(k);
}

void GarbageCollector::Forget(const client::ObjectPtr& obj) {
  std::string uid(api::Uid(*obj));
  std::vector<std::string> enqueue;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(uid);
    if (it != nodes_.end()) {
      for (const auto& o : it->second.owners) {
        dependents_[o.uid].erase(uid);
        if (dependents_[o.uid].empty()) dependents_.erase(o.uid);
        enqueue.push_back("f:" + o.uid);  // a foreground owner may be done waiting
      }
      nodes_.erase(it);
    }
    auto dit = dependents_.find(uid);
    if (dit != dependents_.end()) {
      for (const auto& d : dit->second) enqueue.push_back("d:" + d);
    }
  }
  for (const auto& k : enqueue) queue().Add(k);
}

client::ObjectPtr GarbageCollector::Current(const Node& n) const {
  return n.res->informer->Get(n.res->namespaced ? n.ns + "/" + n.name : n.name);
}

Status GarbageCollector::Reconcile(const std::string& key) {
  // Decisions need the whole graph: wait until every informer has listed.
  for (const auto& r : resources_) {
    if (!r.informer->HasSynced()) {
      queue().AddAfter(key, std::chrono::milliseconds(200));
      return Status::OK();
    }
  }
  std::string uid = key.substr(2);
  switch (key[0]) {
    case 'd':
      return AttemptToDelete(uid);
    case 'o':
      return Orphan(uid);
    case 'f':
      return FinishForeground(uid);
  }
  return Status::OK();
}

Status GarbageCollector::AttemptToDelete(const std::string& uid) {
  Node n;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end() || it->second.res == nullptr) return Status::OK();
    n = it->second;
  }
  if (Current(n) == nullptr || n.owners.empty()) return Status::OK();
  // Decide on the object as the API has it now, not as the informer last saw
  // it: an orphaning may have just removed the reference (upstream reads the
  // latest object too).
  auto live = client_->Get(PathOf(*n.res, n.ns, n.name));
  if (!live.ok()) return live.status().IsNotFound() ? Status::OK() : live.status();
  auto obj = std::make_shared<const bj::object>(std::move(live->as_object()));
  if (api::Uid(*obj) != uid) return Status::OK();
  if (Deleting(*obj) && !HasFinalizer(*obj, "foregroundDeletion")) return Status::OK();
  n.owners = OwnerRefsOf(*obj);
  if (n.owners.empty()) return Status::OK();
  std::set<std::string> dangling, waiting;
  int solid = 0;
  for (const auto& o : n.owners) {
    Node owner;
    bool known = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = nodes_.find(o.uid);
      if (it != nodes_.end() && it->second.res != nullptr) {
        owner = it->second;
        known = true;
      }
    }
    client::ObjectPtr oo = known ? Current(owner) : nullptr;
    if (oo == nullptr) {
      // Not in our graph: ask the API (the owner may be of a kind we do not watch).
      const Resource* r = ResourceFor(o.api_version, o.kind);
      if (r == nullptr) {
        ++solid;  // unknown kind: never delete on a guess
        continue;
      }
      auto got = client_->Get(PathOf(*r, n.ns, o.name));
      if (!got.ok()) {
        if (got.status().IsNotFound()) {
          dangling.insert(o.uid);
          continue;
        }
        return got.status();
      }
      if (api::Uid(got->get_object()) != o.uid) {
        dangling.insert(o.uid);
        continue;
      }
      oo = std::make_shared<const bj::object>(got->get_object());
    }
    if (Deleting(*oo) && HasFinalizer(*oo, "foregroundDeletion")) waiting.insert(o.uid);
    else ++solid;
  }
  if (solid > 0) {
    if (dangling.empty()) return Status::OK();
    return RemoveOwnerRefs(n, *obj, dangling);
  }
  bool has_dependents;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = dependents_.find(uid);
    has_dependents = it != dependents_.end() && !it->second.empty();
  }
  std::string policy = "Background";
  if (HasFinalizer(*obj, "orphan")) policy = "Orphan";
  else if (!waiting.empty() && has_dependents) policy = "Foreground";
  bj::value opts = bj::object{{"kind", "DeleteOptions"},
                              {"apiVersion", "v1"},
                              {"propagationPolicy", policy},
                              {"preconditions", bj::object{{"uid", uid}}}};
  Log().V(1, "deleting object whose owners are gone",
          {{"kind", n.res->kind}, {"name", n.ns + "/" + n.name}, {"policy", policy}});
  auto r = client_->Delete(PathOf(*n.res, n.ns, n.name), &opts);
  if (!r.ok() && !r.status().IsNotFound() && !r.status().IsConflict()) return r.status();
  return Status::OK();
}

Status GarbageCollector::RemoveOwnerRefs(const Node& n, const bj::object& obj, const std::set<std::string>& uids) {
  bj::array refs;
  if (const auto* cur = api::ArrAt(obj, {"metadata", "ownerReferences"})) {
    for (const auto& o : *cur) {
      if (!uids.count(std::string(api::StrAt(o.get_object(), {"uid"})))) refs.push_back(o);
    }
  }
  bj::object patch{{"metadata", bj::object{{"ownerReferences", std::move(refs)}, {"uid", api::Uid(obj)}}}};
  auto r = client_->Patch(PathOf(*n.res, n.ns, n.name), "application/merge-patch+json", patch);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

Status GarbageCollector::RemoveFinalizer(const Node& n, const bj::object& obj, const std::string& finalizer) {
  bj::array fins;
  if (const auto* cur = api::ArrAt(obj, {"metadata", "finalizers"})) {
    for (const auto& f : *cur) {
      if (!(f.is_string() && f.get_string() == finalizer)) fins.push_back(f);
    }
  }
  bj::object patch{{"metadata", bj::object{{"finalizers", std::move(fins)},
                                           {"resourceVersion", api::ResourceVersion(obj)}}}};
  auto r = client_->Patch(PathOf(*n.res, n.ns, n.name), "application/merge-patch+json", patch);
  if (!r.ok() && !r.status().IsNotFound()) return r.status();
  return Status::OK();
}

Status GarbageCollector::Orphan(const std::string& uid) {
  Node n;
  std::vector<Node> deps;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end() || it->second.res == nullptr) return Status::OK();
    n = it->second;
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& du : d->second) {
        auto dn = nodes_.find(du);
        if (dn != nodes_.end() && dn->second.res != nullptr) deps.push_back(dn->second);
      }
    }
  }
  client::ObjectPtr obj = Current(n);
  if (obj == nullptr || !HasFinalizer(*obj, "orphan")) return Status::OK();
  for (const auto& d : deps) {
    client::ObjectPtr dobj = Current(d);
    if (dobj != nullptr) RETURN_IF_ERROR(RemoveOwnerRefs(d, *dobj, {uid}));
  }
  return RemoveFinalizer(n, *obj, "orphan");
}

Status GarbageCollector::FinishForeground(const std::string& uid) {
  Node n;
  bool blocked = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end() || it->second.res == nullptr) return Status::OK();
    n = it->second;
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& du : d->second) {
        auto dn = nodes_.find(du);
        if (dn == nodes_.end()) continue;
        for (const auto& o : dn->second.owners) {
          if (o.uid == uid && o.block) blocked = true;
        }
      }
    }
  }
  client::ObjectPtr obj = Current(n);
  if (obj == nullptr || !Deleting(*obj) || !HasFinalizer(*obj, "foregroundDeletion")) return Status::OK();
  if (blocked) return Status::OK();  // the dependents' deletions will bring us back
  return RemoveFinalizer(n, *obj, "foregroundDeletion");
}

}  // namespace kubepp::controllers
