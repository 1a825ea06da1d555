#include "scheduler/cache/cache.h"

#include "api/object.h"

namespace kubepp::scheduler {

NodeInfo& Cache::NodeSlot(const std::string& name) {
  auto& slot = nodes_[name];
  if (!slot) {
    slot = std::make_unique<NodeInfo>();
    slot->name = name;
  }
  return *slot;
}

NodeInfo* Cache::Node(const std::string& name) {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : it->second.get();
}

void Cache::AddOrUpdateNode(std::shared_ptr<const bj::object> node) {
  std::string name(api::StrAt(*node, {"metadata", "name"}));
  NodeInfo& n = NodeSlot(name);
  bool had_node = n.node != nullptr;
  if (!had_node) node_set_changed_ = true;
  for (const auto& [img, size] : n.image_sizes) {
    if (--image_nodes_[img] <= 0) image_nodes_.erase(img);
  }
  Labels old_labels = std::move(n.labels);
  n.SetNode(std::move(node));
  // Its pods' topology domains moved (or appeared).
  if (!n.pods.empty() && (!had_node || old_labels != n.labels)) affinity_.MarkStale();
  for (const auto& [img, size] : n.image_sizes) ++image_nodes_[img];
}

void Cache::RemoveNode(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  for (const auto& [img, size] : it->second->image_sizes) {
    if (--image_nodes_[img] <= 0) image_nodes_.erase(img);
  }
  node_set_changed_ = true;
  if (!it->second->pods.empty()) affinity_.MarkStale();
  // Pods still bound to it keep their slot until they go (upstream keeps a
  // ghost node too); without a Node object it is not in snapshots.
  if (it->second->pods.empty()) {
    nodes_.erase(it);
  } else {
    it->second->SetNode(nullptr);
  }
}

void Cache::PlaceOn(const PodInfoPtr& pod) {
  NodeSlot(pod->node_name).AddPod(pod);
  pods_by_ns_[pod->ns][pod->key] = pod;
  affinity_.PodAdded(*pod);
}

void Cache::AddOrUpdatePod(const PodInfoPtr& pod) {
  auto it = pods_.find(pod->key);
  if (it != pods_.end()) {
    const std::string old_node = it->second.pod->node_name;
    affinity_.PodRemoved(*it->second.pod);
    if (NodeInfo* n = Node(old_node)) {
      n->RemovePod(pod->key);
      if (!n->node && n->pods.empty()) nodes_.erase(old_node);
    }
  }
  PlaceOn(pod);  // replaces the namespace index entry too
  pods_[pod->key] = {pod, false};
}

void Cache::RemovePod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  const std::string node = it->second.pod->node_name;
  affinity_.PodRemoved(*it->second.pod);
  if (NodeInfo* n = Node(node)) {
    n->RemovePod(key);
    if (!n->node && n->pods.empty()) nodes_.erase(node);
  }
  if (auto ns = pods_by_ns_.find(it->second.pod->ns); ns != pods_by_ns_.end()) {
    ns->second.erase(key);
    if (ns->second.empty()) pods_by_ns_.erase(ns);
  }
  pods_.erase(it);
}

void Cache::AssumePod(const PodInfoPtr& pod) {
  RemovePod(pod->key);
  PlaceOn(pod);
  pods_[pod->key] = {pod, true};
}

void Cache::ForgetPod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end() || !it->second.assumed) return;
  RemovePod(key);
}

bool Cache::IsAssumed(const std::string& key) const {
  auto it = pods_.find(key);
  return it != pods_.end() && it->second.assumed;
}

std::string Cache::NodeOf(const std::string& key) const {
  auto it = pods_.find(key);
  return it == pods_.end() ? "" : it->second.pod->node_name;
}

const Snapshot& Cache::UpdateSnapshot() {
  if (node_set_changed_) {
    snapshot_.nodes.clear();
    snapshot_.by_name.clear();
    for (auto& [name, n] : nodes_) {
      if (!n->node) continue;
      snapshot_.nodes.push_back(n.get());
      snapshot_.by_name[name] = n.get();
    }
    node_set_changed_ = false;
  }
  snapshot_.have_pods_with_affinity = 0;
  snapshot_.have_pods_with_required_anti_affinity = 0;
  snapshot_.have_pods_with_scored_affinity = 0;
  for (NodeInfo* n : snapshot_.nodes) {
    if (n->pods_with_scored_affinity > 0) ++snapshot_.have_pods_with_scored_affinity;
    if (n->pods_with_affinity > 0) ++snapshot_.have_pods_with_affinity;
    if (n->pods_with_required_anti_affinity > 0) ++snapshot_.have_pods_with_required_anti_affinity;
  }
  snapshot_.image_nodes = &image_nodes_;
  snapshot_.pods_by_namespace = &pods_by_ns_;
  affinity_.BeginCycle();
  snapshot_.affinity = &affinity_;
  return snapshot_;
}

}  // namespace kubepp::scheduler
