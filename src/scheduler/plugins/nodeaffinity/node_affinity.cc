// NodeAffinity: spec.nodeSelector and required node affinity terms filter
// nodes; preferred terms add their weights to a node's score.
#include <algorithm>

#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {

bool PodMatchesNodeSelectorAndAffinity(const PodInfo& pod, const NodeInfo& node) {
  for (const auto& [k, v] : pod.node_selector) {
    auto it = node.labels.find(k);
    if (it == node.labels.end() || it->second != v) return false;
  }
  if (pod.has_required_node_affinity && !MatchesAnyTerm(pod.required_node_terms, node.labels, node.name)) return false;
  return true;
}

namespace {

class NodeAffinity : public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  std::string Name() const override { return "NodeAffinity"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    if (PodMatchesNodeSelectorAndAffinity(pod, node)) return {};
    return PluginStatus::Unresolvable("node(s) didn't match Pod's node affinity/selector");
  }
  PluginStatus PreScore(CycleState&, const PodInfo& pod, const std::vector<NodeInfo*>&, const Snapshot&) override {
    return pod.preferred_node_terms.empty() ? PluginStatus::Skip() : PluginStatus();
  }
  int64_t Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    int64_t s = 0;
    for (const auto& t : pod.preferred_node_terms) {
      if (t.weight != 0 && t.term.Matches(node.labels, node.name)) s += t.weight;
    }
    return s;
  }
  void NormalizeScore(const CycleState&, const PodInfo&, std::vector<int64_t>& scores) override {
    int64_t mx = scores.empty() ? 0 : *std::max_element(scores.begin(), scores.end());
    if (mx == 0) return;
    for (auto& s : scores) s = s * 100 / mx;
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewNodeAffinity(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<NodeAffinity>());
}

}  // namespace kubepp::scheduler::plugins
