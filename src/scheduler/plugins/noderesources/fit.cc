// NodeResourcesFit: a pod fits a node when its requests fit in what the
// node's allocatable leaves after the pods there (and the pod count fits);
// scores nodes by LeastAllocated (default) or MostAllocated.
// NodeResourcesBalancedAllocation: favours nodes whose cpu and memory would
// be used in equal fractions.
#include <cmath>

#include "api/object.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

struct ResourceWeight {
  std::string name;
  int64_t weight = 1;
};

std::vector<ResourceWeight> ParseResources(const PluginArgs& args, std::initializer_list<std::string_view> path) {
  std::vector<ResourceWeight> out;
  if (const auto* arr = api::ArrAt(args, path)) {
    for (const auto& r : *arr) {
      if (!r.is_object()) continue;
      out.push_back({std::string(api::StrAt(r.get_object(), {"name"})), api::IntAt(r.get_object(), {"weight"}).value_or(1)});
    }
  }
  if (out.empty()) out = {{"cpu", 1}, {"memory", 1}};
  return out;
}

// The amount the node would have requested with the pod, as scoring counts
// it: cpu and memory with the non-zero defaults for pods that set none.
int64_t RequestedWith(const PodInfo& pod, const NodeInfo& node, const std::string& name) {
  if (name == "cpu") return node.non_zero_requested.milli_cpu + pod.non_zero_requests.milli_cpu;
  if (name == "memory") return node.non_zero_requested.memory + pod.non_zero_requests.memory;
  return node.requested.Get(name) + pod.requests.Get(name);
}

class Fit : public FilterPlugin, public ScorePlugin {
 public:
  explicit Fit(const PluginArgs& args) {
    std::string_view type = api::StrAt(args, {"scoringStrategy", "type"}, "LeastAllocated");
    most_allocated_ = type == "MostAllocated";
    resources_ = ParseResources(args, {"scoringStrategy", "resources"});
    if (const auto* ign = api::ArrAt(args, {"ignoredResources"})) {
      for (const auto& i : *ign) {
        if (i.is_string()) ignored_.emplace(i.get_string());
      }
    }
    if (const auto* ign = api::ArrAt(args, {"ignoredResourceGroups"})) {
      for (const auto& i : *ign) {
        if (i.is_string()) ignored_groups_.emplace(i.get_string());
      }
    }
  }
  std::string Name() const override { return "NodeResourcesFit"; }

  PluginStatus Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    PluginStatus st;
    auto insufficient = [&](std::string what) {
      if (st.ok()) st = PluginStatus::Unschedulable(std::move(what));
      else st.AddReason(std::move(what));
    };
    if (static_cast<int64_t>(node.pods.size()) + 1 > node.allocatable.allowed_pods) insufficient("Too many pods");
    const Resource& r = pod.requests;
    if (r.milli_cpu > 0 && r.milli_cpu > node.allocatable.milli_cpu - node.requested.milli_cpu) insufficient("Insufficient cpu");
    if (r.memory > 0 && r.memory > node.allocatable.memory - node.requested.memory) insufficient("Insufficient memory");
    if (r.ephemeral_storage > 0 &&
        r.ephemeral_storage > node.allocatable.ephemeral_storage - node.requested.ephemeral_storage) {
      insufficient("Insufficient ephemeral-storage");
    }
    for (const auto& [name, v] : r.scalar) {
      if (v == 0 || ignored_.count(name)) continue;
      size_t slash = name.find('/');
      if (slash != std::string::npos && ignored_groups_.count(name.substr(0, slash))) continue;
      if (v > node.allocatable.Get(name) - node.requested.Get(name)) insufficient("Insufficient " + name);
    }
    return st;
  }

  int64_t Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    int64_t sum = 0, weights = 0;
    for (const auto& rw : resources_) {
      int64_t cap = node.allocatable.Get(rw.name);
      if (cap == 0) continue;
      int64_t req = RequestedWith(pod, node, rw.name);
      int64_t s;
      if (most_allocated_) {
        s = (std::min(req, cap) * 100) / cap;
      } else {
        s = req > cap ? 0 : ((cap - req) * 100) / cap;
      }
      sum += s * rw.weight;
      weights += rw.weight;
    }
    return weights == 0 ? 0 : sum / weights;
  }

 private:
  bool most_allocated_ = false;
  std::vector<ResourceWeight> resources_;
  std::set<std::string, std::less<>> ignored_, ignored_groups_;
};

class BalancedAllocation : public ScorePlugin {
 public:
  explicit BalancedAllocation(const PluginArgs& args) : resources_(ParseResources(args, {"resources"})) {}
  std::string Name() const override { return "NodeResourcesBalancedAllocation"; }
  int64_t Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) override {
    std::vector<double> fractions;
    for (const auto& rw : resources_) {
      int64_t cap = node.allocatable.Get(rw.name);
      if (cap == 0) continue;
      double f = static_cast<double>(RequestedWith(pod, node, rw.name)) / static_cast<double>(cap);
      fractions.push_back(f > 1 ? 1 : f);
    }
    double std_dev = 0;
    if (fractions.size() == 2) {
      std_dev = std::fabs((fractions[0] - fractions[1]) / 2);
    } else if (fractions.size() > 2) {
      double mean = 0;
      for (double f : fractions) mean += f;
      mean /= static_cast<double>(fractions.size());
      double var = 0;
      for (double f : fractions) var += (f - mean) * (f - mean);
      std_dev = std::sqrt(var / static_cast<double>(fractions.size()));
    }
    return static_cast<int64_t>((1 - std_dev) * 100);
  }

 private:
  std::vector<ResourceWeight> resources_;
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewNodeResourcesFit(const PluginArgs& args, Handle*) {
  std::string_view type = api::StrAt(args, {"scoringStrategy", "type"}, "LeastAllocated");
  if (type != "LeastAllocated" && type != "MostAllocated") {
    return Status::BadRequest("NodeResourcesFit: scoringStrategy.type \"" + std::string(type) +
                                   "\" is not supported (LeastAllocated, MostAllocated)");
  }
  return std::unique_ptr<Plugin>(std::make_unique<Fit>(args));
}

Result<std::unique_ptr<Plugin>> NewBalancedAllocation(const PluginArgs& args, Handle*) {
  return std::unique_ptr<Plugin>(std::make_unique<BalancedAllocation>(args));
}

}  // namespace kubepp::scheduler::plugins
