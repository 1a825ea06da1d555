#include "scheduler/queue/scheduling_queue.h"

#include "api/object.h"

namespace kubepp::scheduler {
namespace {

constexpr int64_t kMaxInUnschedulableNs = int64_t(5) * 60 * 1000000000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The parts of a pod whose change may make it schedulable (upstream's
// isPodUpdated ignores status and bookkeeping metadata).
bool SchedulingRelevantChange(const PodInfo& a, const PodInfo& b) {
  return !api::SameAt(*a.obj, *b.obj, {"spec"}) || a.labels != b.labels ||
         !api::SameAt(*a.obj, *b.obj, {"metadata", "annotations"});
}

}  // namespace

const std::set<std::string>& PluginsInterestedIn(ClusterEvent e) {
  static const std::set<std::string> kAll = {"*"};
  static const std::set<std::string> kPodDelete = {"NodeResourcesFit", "NodePorts", "InterPodAffinity",
                                                    "PodTopologySpread", "DefaultPreemption"};
  static const std::set<std::string> kPodAdd = {"InterPodAffinity", "PodTopologySpread"};
  switch (e) {
    case ClusterEvent::kAssignedPodDelete:
      return kPodDelete;
    case ClusterEvent::kAssignedPodAdd:
    case ClusterEvent::kAssignedPodUpdate:
      return kPodAdd;
    default:
      return kAll;
  }
}

bool SchedulingQueue::ActiveLess::operator()(const Entry* a, const Entry* b) const {
  if (q->less_(*a->qp.pod, a->qp.timestamp_ns, *b->qp.pod, b->qp.timestamp_ns)) return true;
  if (q->less_(*b->qp.pod, b->qp.timestamp_ns, *a->qp.pod, a->qp.timestamp_ns)) return false;
  return a < b;
}

SchedulingQueue::SchedulingQueue(LessFn less, PreEnqueueFn pre_enqueue, std::chrono::nanoseconds initial_backoff,
                                 std::chrono::nanoseconds max_backoff)
    : less_(std::move(less)),
      pre_enqueue_(std::move(pre_enqueue)),
      initial_backoff_ns_(initial_backoff.count()),
      max_backoff_ns_(max_backoff.count()) {}

int64_t SchedulingQueue::BackoffNs(int attempts) const {
  int64_t d = initial_backoff_ns_;
  for (int i = 1; i < attempts && d < max_backoff_ns_; ++i) d *= 2;
  return std::min(d, max_backoff_ns_);
}

void SchedulingQueue::RemoveFromPlaceLocked(Entry& e) {
  if (e.where == Where::kActive) active_.erase(&e);
  if (e.where == Where::kBackoff) backoff_.erase({e.backoff_until_ns, &e});
  if (e.where == Where::kUnschedulable) unschedulable_.erase(&e);
  if (e.where == Where::kInFlight) in_flight_.erase(&e);
}

void SchedulingQueue::ToUnschedulableLocked(Entry& e) {
  RemoveFromPlaceLocked(e);
  e.where = Where::kUnschedulable;
  e.unschedulable_since_ns = NowNs();
  unschedulable_.insert(&e);
}

void SchedulingQueue::ToActiveLocked(Entry& e) {
  RemoveFromPlaceLocked(e);
  if (pre_enqueue_ && !pre_enqueue_(*e.qp.pod)) {
    e.qp.gated = true;
    ToUnschedulableLocked(e);
    return;
  }
  e.qp.gated = false;
  e.where = Where::kActive;
  active_.insert(&e);
  cv_.notify_one();
}

void SchedulingQueue::ToBackoffLocked(Entry& e) {
  RemoveFromPlaceLocked(e);
  e.where = Where::kBackoff;
  backoff_.insert({e.backoff_until_ns, &e});
  cv_.notify_one();
}

void SchedulingQueue::Add(const PodInfoPtr& pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, fresh] = entries_.try_emplace(pod->key);
  Entry& e = it->second;
  e.qp.pod = pod;
  if (!pod->nominated_node_name.empty()) SetNominatedLocked(pod, pod->nominated_node_name);
  if (!fresh) return;
  e.qp.timestamp_ns = NowNs();
  ToActiveLocked(e);
}

void SchedulingQueue::Update(const PodInfoPtr& pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(pod->key);
  if (it == entries_.end()) {
    entries_[pod->key].qp.pod = pod;
    entries_[pod->key].qp.timestamp_ns = NowNs();
    ToActiveLocked(entries_[pod->key]);
    return;
  }
  Entry& e = it->second;
  bool relevant = SchedulingRelevantChange(*e.qp.pod, *pod);
  if (e.where == Where::kActive) active_.erase(&e);
  e.qp.pod = pod;
  if (pod->nominated_node_name.empty()) ClearNominatedLocked(pod->key);
  else SetNominatedLocked(pod, pod->nominated_node_name);
  if (e.where == Where::kActive) active_.insert(&e);
  if (e.where == Where::kUnschedulable && relevant) {
    if (e.qp.gated || NowNs() >= e.backoff_until_ns) ToActiveLocked(e);
    else ToBackoffLocked(e);
  }
  if (e.where == Where::kInFlight && relevant) e.event_while_in_flight = true;
}

void SchedulingQueue::Delete(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  ClearNominatedLocked(key);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  RemoveFromPlaceLocked(it->second);
  entries_.erase(it);
}

void SchedulingQueue::FlushLocked(int64_t now) {
  while (!backoff_.empty() && backoff_.begin()->first <= now) {
    Entry* e = backoff_.begin()->second;
    ToActiveLocked(*e);  // removes it from backoff_
  }
}

std::optional<QueuedPod> SchedulingQueue::Pop() {
  std::unique_lock<std::mutex> l(mu_);
  int64_t last_unsched_flush = NowNs();
  for (;;) {
    if (closed_) return std::nullopt;
    int64_t now = NowNs();
    FlushLocked(now);
    if (now - last_unsched_flush > int64_t(30) * 1000000000) {
      last_unsched_flush = now;
      std::vector<Entry*> old;
      for (Entry* e : unschedulable_) {
        if (!e->qp.gated && now - e->unschedulable_since_ns > kMaxInUnschedulableNs) old.push_back(e);
      }
      for (Entry* e : old) PlaceAfterFailureLocked(*e);
    }
    if (!active_.empty()) {
      Entry* e = *active_.begin();
      active_.erase(active_.begin());
      e->where = Where::kInFlight;
      in_flight_.insert(e);
      e->event_while_in_flight = false;
      ++e->qp.attempts;
      if (e->qp.initial_attempt_ns == 0) e->qp.initial_attempt_ns = now;
      return e->qp;
    }
    int64_t wait_ns = 1000000000;
    if (!backoff_.empty()) wait_ns = std::min(wait_ns, backoff_.begin()->first - now);
    cv_.wait_for(l, std::chrono::nanoseconds(std::max<int64_t>(wait_ns, 1000000)));
  }
}

void SchedulingQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.where == Where::kInFlight) {
    in_flight_.erase(&it->second);
    entries_.erase(it);
  }
}

void SchedulingQueue::PlaceAfterFailureLocked(Entry& e) {
  if (NowNs() >= e.backoff_until_ns) ToActiveLocked(e);
  else ToBackoffLocked(e);
}

void SchedulingQueue::AddUnschedulable(QueuedPod qp, bool backoff, bool readd) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(qp.pod->key);
  if (it == entries_.end()) {
    if (!readd) return;  // deleted while in flight
    it = entries_.try_emplace(qp.pod->key).first;
    it->second.qp.pod = qp.pod;
    it->second.where = Where::kUnschedulable;
    unschedulable_.insert(&it->second);
  }
  Entry& e = it->second;
  PodInfoPtr latest = e.qp.pod;  // updates while in flight win
  e.qp = std::move(qp);
  e.qp.pod = latest;
  e.qp.timestamp_ns = NowNs();
  e.backoff_until_ns = e.qp.timestamp_ns + BackoffNs(e.qp.attempts);
  if (backoff || e.event_while_in_flight) {
    ToBackoffLocked(e);
  } else {
    ToUnschedulableLocked(e);
  }
}

void SchedulingQueue::MoveAllToActiveOrBackoff(ClusterEvent event) {
  std::lock_guard<std::mutex> l(mu_);
  const auto& interested = PluginsInterestedIn(event);
  bool all = interested.count("*") > 0;
  for (Entry* e : in_flight_) e->event_while_in_flight = true;
  std::vector<Entry*> move;
  for (Entry* e : unschedulable_) {
    if (e->qp.gated) continue;
    bool helps = all || e->qp.unschedulable_plugins.empty();
    for (const auto& p : e->qp.unschedulable_plugins) {
      if (interested.count(p)) helps = true;
    }
    if (helps) move.push_back(e);
  }
  for (Entry* e : move) PlaceAfterFailureLocked(*e);
}

void SchedulingQueue::ShutDown() {
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  cv_.notify_all();
}

void SchedulingQueue::SetNominatedLocked(const PodInfoPtr& pod, const std::string& node) {
  ClearNominatedLocked(pod->key);
  nominated_[pod->key] = {node, pod};
  nominated_by_node_[node].insert(pod->key);
}

void SchedulingQueue::ClearNominatedLocked(const std::string& key) {
  auto it = nominated_.find(key);
  if (it == nominated_.end()) return;
  auto& set = nominated_by_node_[it->second.first];
  set.erase(key);
  if (set.empty()) nominated_by_node_.erase(it->second.first);
  nominated_.erase(it);
}

void SchedulingQueue::AddNominated(const PodInfoPtr& pod, const std::string& node) {
  std::lock_guard<std::mutex> l(mu_);
  if (node.empty()) ClearNominatedLocked(pod->key);
  else SetNominatedLocked(pod, node);
}

std::vector<PodInfoPtr> SchedulingQueue::NominatedPods(const std::string& node) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<PodInfoPtr> out;
  auto it = nominated_by_node_.find(node);
  if (it == nominated_by_node_.end()) return out;
  for (const auto& key : it->second) out.push_back(nominated_.at(key).second);
  return out;
}

size_t SchedulingQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

size_t SchedulingQueue::ActiveLen() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_.size();
}

std::map<std::string, size_t> SchedulingQueue::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, size_t> out{{"active", 0}, {"backoff", 0}, {"unschedulable", 0}, {"inflight", 0}};
  for (const auto& [k, e] : entries_) {
    switch (e.where) {
      case Where::kActive: ++out["active"]; break;
      case Where::kBackoff: ++out["backoff"]; break;
      case Where::kUnschedulable: ++out["unschedulable"]; break;
      case Where::kInFlight: ++out["inflight"]; break;
    }
  }
  return out;
}

}  // namespace kubepp::scheduler
