// Factories of the in-tree plugins, one folder each (upstream's
// pkg/scheduler/framework/plugins/<name>).
#pragma once

#include "scheduler/framework/framework.h"

namespace kubepp::scheduler::plugins {

Result<std::unique_ptr<Plugin>> NewSchedulingGates(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewPrioritySort(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewNodeUnschedulable(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewNodeName(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewTaintToleration(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewNodeAffinity(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewNodePorts(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewNodeResourcesFit(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewBalancedAllocation(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewImageLocality(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewInterPodAffinity(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewPodTopologySpread(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewDefaultPreemption(const PluginArgs& args, Handle* h);
Result<std::unique_ptr<Plugin>> NewDefaultBinder(const PluginArgs& args, Handle* h);

// Node affinity of a pod as the NodeAffinity filter sees it (nodeSelector
// and required terms); PodTopologySpread and preemption use it too.
bool PodMatchesNodeSelectorAndAffinity(const PodInfo& pod, const NodeInfo& node);
// The first NoSchedule/NoExecute taint the pod does not tolerate, if any.
const Taint* UntoleratedTaint(const PodInfo& pod, const NodeInfo& node);

}  // namespace kubepp::scheduler::plugins
