// TaintToleration: NoSchedule and NoExecute taints keep out pods that do not
// tolerate them; untolerated PreferNoSchedule taints lower a node's score.
#include <algorithm>

#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {

const Taint* UntoleratedTaint(const PodInfo& pod, const NodeInfo& node) {
  for (const auto& t : node.taints) {
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    bool ok = false;
    for (const auto& tol : pod.tolerations) {
      if (tol.Tolerates(t)) {
        ok = true;
        break;
      }
    }
    if (!ok) return &t;
  }
  return nullptr;
}

namespace {

class TaintToleration : public FilterPlugin, public ScorePlugin {
 public:
  std::string Name() const override { return "TaintToleration"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    const Taint* t = UntoleratedTaint(pod, node);
    if (t == nullptr) return {};
    return PluginStatus::Unresolvable("node(s) had untolerated taint {" + t->key + ": " + t->value + "}");
  }
  int64_t Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    int64_t n = 0;
    for (const auto& t : node.taints) {
      if (t.effect != "PreferNoSchedule") continue;
      bool ok = false;
      for (const auto& tol : pod.tolerations) {
        if ((tol.effect.empty() || tol.effect == "PreferNoSchedule") && tol.Tolerates(t)) ok = true;
      }
      if (!ok) ++n;
    }
    return n;
  }
  // Fewer untolerated taints is better: 100 for none, scaled down by the worst.
  void NormalizeScore(const CycleState&, const PodInfo&, std::vector<int64_t>& scores) override {
    int64_t mx = scores.empty() ? 0 : *std::max_element(scores.begin(), scores.end());
    for (auto& s : scores) s = mx == 0 ? 100 : 100 - s * 100 / mx;
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewTaintToleration(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<TaintToleration>());
}

}  // namespace kubepp::scheduler::plugins
