// The scheduling queue (upstream's internal/queue.PriorityQueue): pending
// pods in three places:
//   active         ready to schedule, in QueueSort order (priority, then age);
//   backoff        failed recently, waiting out 1 s doubling to 10 s;
//   unschedulable  failed and waiting for a cluster event that could help
//                  (a node added or changed, a pod deleted, ...), or for 5 min.
// An event moves the unschedulable pods whose failing plugins care about it.
// A pod is "in flight" between Pop and Done; an event that arrives meanwhile
// sends it to backoff rather than unschedulable, so it is not stranded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scheduler/framework/types.h"

namespace kubepp::scheduler {

struct QueuedPod {
  PodInfoPtr pod;
  int64_t timestamp_ns = 0;        // when it (re)entered the queue
  int64_t initial_attempt_ns = 0;  // first Pop
  int attempts = 0;
  std::set<std::string> unschedulable_plugins;  // empty: any event may help
  bool gated = false;                           // PreEnqueue refused it
};

enum class ClusterEvent { kNodeAdd, kNodeUpdate, kAssignedPodAdd, kAssignedPodUpdate, kAssignedPodDelete, kForce };

class SchedulingQueue {
 public:
  using LessFn = std::function<bool(const PodInfo&, int64_t, const PodInfo&, int64_t)>;
  using PreEnqueueFn = std::function<bool(const PodInfo&)>;  // false: gated
  SchedulingQueue(LessFn less, PreEnqueueFn pre_enqueue, std::chrono::nanoseconds initial_backoff,
                  std::chrono::nanoseconds max_backoff);

  void Add(const PodInfoPtr& pod);
  // A pending pod changed. Only a change of spec, labels or annotations
  // moves it out of unschedulable (the scheduler's own status writes do not).
  void Update(const PodInfoPtr& pod);
  void Delete(const std::string& key);
  // Blocks until a pod is active or the queue shuts down (nullopt).
  std::optional<QueuedPod> Pop();
  // The pod's cycle is over (scheduled, or returned with AddUnschedulable).
  void Done(const std::string& key);
  // After a failed cycle: to backoff when an event came while it was in
  // flight (or when `backoff` is set: errors, not rejections), else unschedulable.
  // `readd`: the pod had left the queue (a failed bind): put it back.
  void AddUnschedulable(QueuedPod qp, bool backoff, bool readd = false);
  void MoveAllToActiveOrBackoff(ClusterEvent event);
  void ShutDown();

  // Pods nominated (by preemption) to run on a node.
  void AddNominated(const PodInfoPtr& pod, const std::string& node);
  std::vector<PodInfoPtr> NominatedPods(const std::string& node) const;

  size_t Len() const;
  size_t ActiveLen() const;
  // How many pods are in each place (tests, metrics).
  std::map<std::string, size_t> Stats() const;

 private:
  enum class Where { kActive, kBackoff, kUnschedulable, kInFlight };
  struct Entry {
    QueuedPod qp;
    Where where = Where::kActive;
    int64_t backoff_until_ns = 0;
    int64_t unschedulable_since_ns = 0;
    bool event_while_in_flight = false;
  };
  struct ActiveLess {
    const SchedulingQueue* q;
    bool operator()(const Entry* a, const Entry* b) const;
  };
  void ToActiveLocked(Entry& e);
  void ToBackoffLocked(Entry& e);
  void ToUnschedulableLocked(Entry& e);
  void PlaceAfterFailureLocked(Entry& e);
  void RemoveFromPlaceLocked(Entry& e);
  void FlushLocked(int64_t now);
  int64_t BackoffNs(int attempts) const;
  void SetNominatedLocked(const PodInfoPtr& pod, const std::string& node);
  void ClearNominatedLocked(const std::string& key);

  LessFn less_;
  PreEnqueueFn pre_enqueue_;
  int64_t initial_backoff_ns_, max_backoff_ns_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;                     // GUARDED_BY(mu_)
  std::set<Entry*, ActiveLess> active_{ActiveLess{this}};  // GUARDED_BY(mu_)
  std::set<std::pair<int64_t, Entry*>> backoff_;             // GUARDED_BY(mu_)
  std::set<Entry*> unschedulable_, in_flight_;               // GUARDED_BY(mu_)
  std::map<std::string, std::pair<std::string, PodInfoPtr>> nominated_;  // key -> node, pod
  std::map<std::string, std::set<std::string>> nominated_by_node_;
  bool closed_ = false;
};

// The plugins whose failures an event can undo.
const std::set<std::string>& PluginsInterestedIn(ClusterEvent e);

}  // namespace kubepp::scheduler
