// The scheduler's node cache (upstream's internal/cache): nodes with the pods
// bound or assumed to them. A pod is assumed on its node as soon as a
// scheduling cycle picks it, so the next cycle counts it while the bind is
// still in flight; the informer's view of the bound pod confirms it, and a
// failed bind forgets it.
//
// Not thread-safe: the scheduler serializes access with its own mutex.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "scheduler/framework/framework.h"

namespace kubepp::scheduler {

class Cache {
 public:
  void AddOrUpdateNode(std::shared_ptr<const bj::object> node);
  void RemoveNode(const std::string& name);
  // A pod the API says is on a node: adds it, or confirms it if assumed.
  void AddOrUpdatePod(const PodInfoPtr& pod);
  // Removes a pod (deleted, or finished); no-op when unknown.
  void RemovePod(const std::string& key);
  // REQUIRES: pod->node_name set.
  void AssumePod(const PodInfoPtr& pod);
  // Undoes AssumePod unless the informer has confirmed the pod meanwhile.
  void ForgetPod(const std::string& key);
  bool IsAssumed(const std::string& key) const;
  // Known pods (bound or assumed).
  bool Has(const std::string& key) const { return pods_.count(key) > 0; }
  std::string NodeOf(const std::string& key) const;

  // The snapshot for a cycle; valid until the cache is next changed.
  const Snapshot& UpdateSnapshot();
  size_t node_count() const { return nodes_.size(); }
  size_t pod_count() const { return pods_.size(); }
  NodeInfo* Node(const std::string& name);

 private:
  NodeInfo& NodeSlot(const std::string& name);
  void PlaceOn(const PodInfoPtr& pod);

  struct PodState {
    PodInfoPtr pod;
    bool assumed = false;
  };
  std::map<std::string, std::unique_ptr<NodeInfo>, std::less<>> nodes_;
  std::map<std::string, PodState> pods_;
  std::map<std::string, int, std::less<>> image_nodes_;
  AffinityIndex::PodsByNamespace pods_by_ns_;
  AffinityIndex affinity_{&pods_by_ns_, [this](const std::string& name) -> const NodeInfo* { return Node(name); }};
  bool node_set_changed_ = true;
  Snapshot snapshot_;
};

}  // namespace kubepp::scheduler
