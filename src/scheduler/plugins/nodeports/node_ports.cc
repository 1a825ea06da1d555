// NodePorts: a hostPort (protocol, hostIP, port) taken on a node keeps out
// pods that want it; 0.0.0.0 conflicts with every address.
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class NodePorts : public FilterPlugin {
 public:
  std::string Name() const override { return "NodePorts"; }
  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    for (const auto& want : pod.host_ports) {
      for (const auto& [proto, ip, port] : node.used_ports) {
        if (port != want.port || proto != want.protocol) continue;
        if (ip == want.ip || ip == "0.0.0.0" || want.ip == "0.0.0.0") {
          return PluginStatus::Unschedulable("node(s) didn't have free ports for the requested pod ports");
        }
      }
    }
    return {};
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewNodePorts(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<NodePorts>());
}

}  // namespace kubepp::scheduler::plugins
