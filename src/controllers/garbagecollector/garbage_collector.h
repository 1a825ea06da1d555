// The garbage collector (upstream's pkg/controller/garbagecollector): keeps a
// graph of ownerReferences across the resources it watches and
//   - deletes objects whose owners are all gone (checked against the API when
//     an owner is not in the graph), with the propagation the owner asked for;
//   - orphans: an owner deleted with propagationPolicy=Orphan loses its
//     references from its dependents, then its "orphan" finalizer;
//   - foreground: an owner deleted with propagationPolicy=Foreground has its
//     dependents deleted, and its "foregroundDeletion" finalizer is removed
//     once no dependent with blockOwnerDeletion remains;
//   - removes references to owners that are gone from objects that still have
//     a live owner.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "controllers/manager.h"

namespace kubepp::controllers {

namespace bj = boost::json;

class GarbageCollector : public QueueController {
 public:
  explicit GarbageCollector(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  struct Resource {
    std::string group, version, resource, kind;
    bool namespaced = true;
    client::Informer* informer = nullptr;
    std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  };
  struct OwnerRef {
    std::string api_version, kind, name, uid;
    bool block = false;
  };
  struct Node {
    const Resource* res = nullptr;
    std::string ns, name;
    std::vector<OwnerRef> owners;
  };

  static std::vector<OwnerRef> OwnerRefsOf(const bj::object& obj);
  Status Reconcile(const std::string& key) override;
  void Observe(const Resource& r, const client::ObjectPtr& obj);
  void Forget(const client::ObjectPtr& obj);
  Status AttemptToDelete(const std::string& uid);
  Status Orphan(const std::string& uid);
  Status FinishForeground(const std::string& uid);
  client::ObjectPtr Current(const Node& n) const;
  const Resource* ResourceFor(const std::string& api_version, const std::string& kind) const;
  std::string PathOf(const Resource& r, const std::string& ns, const std::string& name) const;
  Status RemoveOwnerRefs(const Node& n, const bj::object& obj, const std::set<std::string>& uids);
  Status RemoveFinalizer(const Node& n, const bj::object& obj, const std::string& finalizer);

  client::RestClient* client_;
  std::vector<Resource> resources_;
  std::mutex mu_;
  std::map<std::string, Node> nodes_;                         // GUARDED_BY(mu_): uid -> node
  std::map<std::string, std::set<std::string>> dependents_;  // GUARDED_BY(mu_): owner uid -> dependent uids
};

}  // namespace kubepp::controllers
