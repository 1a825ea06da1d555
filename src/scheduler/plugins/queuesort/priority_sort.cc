// PrioritySort: higher spec.priority first, then the longer waiting.
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

class PrioritySort : public QueueSortPlugin {
 public:
  std::string Name() const override { return "PrioritySort"; }
  bool Less(const PodInfo& a, int64_t a_ts, const PodInfo& b, int64_t b_ts) override {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a_ts < b_ts;
  }
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewPrioritySort(const PluginArgs&, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<PrioritySort>());
}

}  // namespace kubepp::scheduler::plugins
