// NodeName: a pod that names its node fits only there.
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class NodeName : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeName"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    if (pod.node_name.empty() || pod.node_name == node.name) return {};
    return PluginStatus::Unresolvable("node(s) didn't match the requested node name");
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewNodeName(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<NodeName>());
}

}  // namespace kubepp::scheduler::plugins
