// SchedulingGates: a pod with spec.schedulingGates waits outside the queue.
#include "api/object.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class SchedulingGates : public PreEnqueuePlugin {
 public:
  std::string Name() const override { return "SchedulingGates"; }
  PluginStatus PreEnqueue(const PodInfo& pod) override {
    if (!pod.scheduling_gated) return {};
    std::string names;
    if (const auto* gates = api::ArrAt(*pod.obj, {"spec", "schedulingGates"})) {
      for (const auto& g : *gates) {
        if (!g.is_object()) continue;
        if (!names.empty()) names += " ";
        names += std::string(api::StrAt(g.get_object(), {"name"}));
      }
    }
    return PluginStatus::Unresolvable("waiting for scheduling gates: [" + names + "]");
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewSchedulingGates(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<SchedulingGates>());
}

}  // namespace kubepp::scheduler::plugins
