// The scheduling framework (upstream's pkg/scheduler/framework): plugins at
// extension points, run in order by a profile.
//
//   PreEnqueue -> QueueSort -> PreFilter -> Filter -> PostFilter (when no node
//   fits) -> PreScore -> Score + NormalizeScore -> Reserve -> Permit ->
//   (binding cycle) PreBind -> Bind -> PostBind
//
// A plugin is a class that implements the interfaces of the points it serves;
// a profile (one per schedulerName) lists, per point, the plugins enabled and
// their score weights, from the defaults and the configuration file.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/framework/affinity_index.h"
#include "scheduler/framework/types.h"

namespace kubepp::client {
class RestClient;
}

namespace kubepp::scheduler {

// A plugin's verdict (upstream's framework.Status).
class PluginStatus {
 public:
  enum class Code { kSuccess, kError, kUnschedulable, kUnschedulableAndUnresolvable, kWait, kSkip };
  PluginStatus() = default;
  PluginStatus(Code c, std::string reason) : code_(c) { reasons_.push_back(std::move(reason)); }
  static PluginStatus Unschedulable(std::string r) { return {Code::kUnschedulable, std::move(r)}; }
  static PluginStatus Unresolvable(std::string r) { return {Code::kUnschedulableAndUnresolvable, std::move(r)}; }
  static PluginStatus Error(std::string r) { return {Code::kError, std::move(r)}; }
  static PluginStatus Skip() {
    PluginStatus s;
    s.code_ = Code::kSkip;
    return s;
  }

  bool ok() const { return code_ == Code::kSuccess; }
  bool IsSkip() const { return code_ == Code::kSkip; }
  bool IsRejected() const { return code_ == Code::kUnschedulable || code_ == Code::kUnschedulableAndUnresolvable; }
  Code code() const { return code_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  void AddReason(std::string r) { reasons_.push_back(std::move(r)); }
  std::string Message() const;
  const std::string& plugin() const { return plugin_; }
  void set_plugin(std::string p) { plugin_ = std::move(p); }
  void set_code(Code c) { code_ = c; }

 private:
  Code code_ = Code::kSuccess;
  std::vector<std::string> reasons_;
  std::string plugin_;
};

// Per-cycle data plugins share between their points (PreFilter -> Filter).
struct StateData {
  virtual ~StateData() = default;
  virtual std::unique_ptr<StateData> Clone() const = 0;
};

class CycleState {
 public:
  StateData* Read(const std::string& key) const {
    auto it = data_.find(key);
    return it == data_.end() ? nullptr : it->second.get();
  }
  void Write(const std::string& key, std::unique_ptr<StateData> d) { data_[key] = std::move(d); }
  CycleState Clone() const;
  // Plugins whose PreFilter said Skip: their Filter is not run (by name,
  // and as a mask of filter positions for the per-node loop).
  std::set<std::string> skip_filter, skip_score;
  uint64_t skip_filter_mask = 0;

 private:
  std::map<std::string, std::unique_ptr<StateData>> data_;
};

// The nodes of one scheduling cycle. Plugins must not keep pointers past it.
struct Snapshot {
  std::vector<NodeInfo*> nodes;                   // nodes with a Node object
  std::map<std::string, NodeInfo*, std::less<>> by_name;
  int have_pods_with_affinity = 0;                // nodes with any
  int have_pods_with_required_anti_affinity = 0;
  int have_pods_with_scored_affinity = 0;         // nodes with pods whose terms score others
  std::function<const Labels*(const std::string& ns)> namespace_labels;
  // Placed pods (bound or assumed) by namespace, then key.
  const std::map<std::string, std::map<std::string, PodInfoPtr>, std::less<>>* pods_by_namespace = nullptr;
  // Placed pods' affinity terms and the domains of pods matching terms
  // (InterPodAffinity).
  AffinityIndex* affinity = nullptr;
  // Image name -> number of nodes that have it (ImageLocality).
  const std::map<std::string, int, std::less<>>* image_nodes = nullptr;
  NodeInfo* Get(std::string_view name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
};

class Framework;

// What plugins may use beyond their arguments.
struct Handle {
  client::RestClient* client = nullptr;
  Framework* framework = nullptr;
  // Pods nominated to a node (preemptors waiting for victims to go).
  std::function<std::vector<PodInfoPtr>(const std::string& node)> nominated_pods;
  // Records an event on an object (async).
  std::function<void(const bj::object& obj, std::string type, std::string reason, std::string action, std::string msg)> event;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string Name() const = 0;
};

class PreEnqueuePlugin : public virtual Plugin {
 public:
  virtual PluginStatus PreEnqueue(const PodInfo& pod) = 0;
};
class QueueSortPlugin : public virtual Plugin {
 public:
  // True when a should be scheduled before b.
  virtual bool Less(const PodInfo& a, int64_t a_ts, const PodInfo& b, int64_t b_ts) = 0;
};
class PreFilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap) = 0;
  // Incremental updates of the state when the preemption simulation adds or
  // removes a pod on a node. Default: nothing depends on other pods.
  virtual void AddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) {}
  virtual void RemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) {}
};
class FilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) = 0;
};
struct PostFilterResult {
  std::string nominated_node;
};
// Filter outcome per node for PostFilter.
using NodeStatusMap = std::map<std::string, PluginStatus, std::less<>>;
class PostFilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap,
                                  const NodeStatusMap& statuses, PostFilterResult* result) = 0;
};
class PreScorePlugin : public virtual Plugin {
 public:
  virtual PluginStatus PreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& nodes,
                                const Snapshot& snap) = 0;
};
class ScorePlugin : public virtual Plugin {
 public:
  virtual int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) = 0;
  // Scales scores to [0, 100]; default: already in range.
  virtual void NormalizeScore(const CycleState& state, const PodInfo& pod, std::vector<int64_t>& scores) {}
};
class ReservePlugin : public virtual Plugin {
 public:
  virtual PluginStatus Reserve(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
  virtual void Unreserve(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
};
class PermitPlugin : public virtual Plugin {
 public:
  // kWait with a timeout is not offered by the in-tree plugins; a rejection
  // or error sends the pod back to the queue.
  virtual PluginStatus Permit(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
};
class PreBindPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PreBind(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
};
class BindPlugin : public virtual Plugin {
 public:
  // kSkip: let the next binder try.
  virtual PluginStatus Bind(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
};
class PostBindPlugin : public virtual Plugin {
 public:
  virtual void PostBind(CycleState& state, const PodInfo& pod, const std::string& node) = 0;
};

// Plugin arguments from the configuration's pluginConfig (a JSON object).
using PluginArgs = bj::object;
using PluginFactory = std::function<Result<std::unique_ptr<Plugin>>(const PluginArgs& args, Handle* handle)>;
// Every in-tree plugin by name.
const std::map<std::string, PluginFactory>& InTreeRegistry();

// One profile's configuration: per extension point, the plugins in order.
struct PluginRef {
  std::string name;
  int32_t weight = 0;  // score only; 0: the plugin's default
};
// As the configuration file has it: plugins enabled at every point they
// implement (multiPoint), then per point ("filter", "score", ...) plugins
// disabled ("*": all of multiPoint's) and enabled (appended; a score weight
// overrides multiPoint's).
struct ProfileConfig {
  std::string scheduler_name = "default-scheduler";
  std::vector<PluginRef> multi_point;
  std::map<std::string, std::vector<PluginRef>> enabled;
  std::map<std::string, std::set<std::string>> disabled;
  std::map<std::string, PluginArgs> args;  // plugin -> args
};

struct SchedulerConfig {
  std::vector<ProfileConfig> profiles;
  int32_t percentage_of_nodes_to_score = 0;  // 0: adaptive
  std::chrono::seconds pod_initial_backoff{1};
  std::chrono::seconds pod_max_backoff{10};
};

// Upstream's FitError text: "0/N nodes are available: <prefilter message, or
// the reasons counted over the nodes>. <postfilter message>."
std::string FitErrorMessage(size_t num_nodes, const std::string& prefilter_msg, const NodeStatusMap& statuses,
                            const std::string& postfilter_msg);

// The defaults (upstream's v1 default plugins and weights) for one profile.
ProfileConfig DefaultProfile(const std::string& scheduler_name = "default-scheduler");
// Reads a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1), YAML or JSON.
Result<SchedulerConfig> ParseSchedulerConfig(std::string_view text);

class Framework {
 public:
  static Result<std::unique_ptr<Framework>> New(const ProfileConfig& config, Handle handle);

  const std::string& scheduler_name() const { return scheduler_name_; }
  bool HasPostFilter() const { return !post_filter_.empty(); }

  PluginStatus RunPreEnqueue(const PodInfo& pod);
  bool QueueLess(const PodInfo& a, int64_t a_ts, const PodInfo& b, int64_t b_ts);
  PluginStatus RunPreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap);
  void RunPreFilterAddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node);
  void RunPreFilterRemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node);
  PluginStatus RunFilter(const CycleState& state, const PodInfo& pod, const NodeInfo& node);
  // Runs Filter with the pods nominated to the node (of at least the pod's
  // priority) counted in, as upstream does, then without them.
  PluginStatus RunFilterWithNominatedPods(const CycleState& state, const PodInfo& pod, const NodeInfo& node);
  PluginStatus RunPostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap, const NodeStatusMap& st,
                             PostFilterResult* result);
  PluginStatus RunPreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& nodes, const Snapshot& snap);
  // Weighted total per node (same order as `nodes`).
  std::vector<int64_t> RunScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& nodes);
  PluginStatus RunReserve(CycleState& state, const PodInfo& pod, const std::string& node);
  void RunUnreserve(CycleState& state, const PodInfo& pod, const std::string& node);
  PluginStatus RunPermit(CycleState& state, const PodInfo& pod, const std::string& node);
  PluginStatus RunPreBind(CycleState& state, const PodInfo& pod, const std::string& node);
  PluginStatus RunBind(CycleState& state, const PodInfo& pod, const std::string& node);
  void RunPostBind(CycleState& state, const PodInfo& pod, const std::string& node);

  Handle& handle() { return handle_; }
  // The plugins by extension point, for the tests and the log.
  std::vector<std::string> PluginNames(const std::string& point) const;

 private:
  std::string scheduler_name_;
  Handle handle_;
  std::map<std::string, std::unique_ptr<Plugin>> plugins_;
  std::vector<PreEnqueuePlugin*> pre_enqueue_;
  QueueSortPlugin* queue_sort_ = nullptr;
  std::vector<PreFilterPlugin*> pre_filter_;
  std::vector<FilterPlugin*> filter_;
  std::vector<uint64_t> pre_filter_skip_bits_;  // per PreFilter plugin: its Filter's bit
  std::vector<PostFilterPlugin*> post_filter_;
  std::vector<PreScorePlugin*> pre_score_;
  std::vector<std::pair<ScorePlugin*, int32_t>> score_;
  std::vector<ReservePlugin*> reserve_;
  std::vector<PermitPlugin*> permit_;
  std::vector<PreBindPlugin*> pre_bind_;
  std::vector<BindPlugin*> bind_;
  std::vector<PostBindPlugin*> post_bind_;
};

}  // namespace kubepp::scheduler
