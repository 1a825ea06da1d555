// The replica set controller (upstream's pkg/controller/replicaset), also run
// as the replication controller for v1 ReplicationControllers: keeps
// spec.replicas active pods matching the selector, adopting orphans that
// match and releasing owned pods that no longer do, creating in slow-start
// batches and deleting the least valuable pods first, with expectations so a
// slow cache never over-creates; writes replicas, fullyLabeledReplicas,
// readyReplicas, availableReplicas and observedGeneration to status.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "client/events.h"
#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class ReplicaSetController : public QueueController {
 public:
  // replication_controller: manage v1 ReplicationControllers (map selectors).
  ReplicaSetController(client::RestClient* client, bool replication_controller);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  void PodAdded(const client::ObjectPtr& pod);
  void PodUpdated(const client::ObjectPtr& old_pod, const client::ObjectPtr& pod);
  void PodDeleted(const client::ObjectPtr& pod);
  // Owners (of our kind) whose selector matches an orphan pod.
  void EnqueueMatchingOwners(const bj::object& pod);
  bool Selects(const bj::object& owner, const bj::object& pod) const;
  // Selects(owner, ·) with the selector parsed once, for a pass over many pods.
  std::function<bool(const bj::object&)> SelectorOf(const bj::object& owner) const;
  std::string OwnerKeyIfOurs(const bj::object& pod) const;

  client::RestClient* client_;
  bool rc_;
  std::string group_, version_, resource_, kind_, api_version_;
  client::Informer* owners_ = nullptr;
  client::Informer* pods_ = nullptr;
  Expectations expectations_;
};

}  // namespace kubepp::controllers
