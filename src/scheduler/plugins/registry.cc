#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler {

const std::map<std::string, PluginFactory>& InTreeRegistry() {
  static const std::map<std::string, PluginFactory> kRegistry = {
      {"SchedulingGates", plugins::NewSchedulingGates},
      {"PrioritySort", plugins::NewPrioritySort},
      {"NodeUnschedulable", plugins::NewNodeUnschedulable},
      {"NodeName", plugins::NewNodeName},
      {"TaintToleration", plugins::NewTaintToleration},
      {"NodeAffinity", plugins::NewNodeAffinity},
      {"NodePorts", plugins::NewNodePorts},
      {"NodeResourcesFit", plugins::NewNodeResourcesFit},
      {"NodeResourcesBalancedAllocation", plugins::NewBalancedAllocation},
      {"ImageLocality", plugins::NewImageLocality},
      {"InterPodAffinity", plugins::NewInterPodAffinity},
      {"PodTopologySpread", plugins::NewPodTopologySpread},
      {"DefaultPreemption", plugins::NewDefaultPreemption},
      {"DefaultBinder", plugins::NewDefaultBinder},
  };
  return kRegistry;
}

}  // namespace kubepp::scheduler
