// NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that
// tolerate node.kubernetes.io/unschedulable:NoSchedule.
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class NodeUnschedulable : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeUnschedulable"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    if (!node.unschedulable) return {};
    Taint t{"node.kubernetes.io/unschedulable", "", "NoSchedule"};
    for (const auto& tol : pod.tolerations) {
      if (tol.Tolerates(t)) return {};
    }
    return PluginStatus::Unresolvable("node(s) were unschedulable");
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewNodeUnschedulable(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<NodeUnschedulable>());
}

}  // namespace kubepp::scheduler::plugins
