// Placed pods' inter-pod affinity, indexed so a scheduling cycle does not
// scan every placed pod (upstream scans them all, in parallel, each cycle):
//   - the required anti-affinity terms of placed pods, grouped by identical
//     term, each group with the topology domains of the pods holding it;
//   - for a conjunction of terms (an incoming pod's required affinity, or one
//     of its anti-affinity terms), the domains of the placed pods matching it:
//     counted by one scan the first time a cycle asks, then kept current as
//     pods are placed and removed (at most kMaxMemos, least recently used
//     dropped).
// Domains come from node labels, so a change to any node's labels (or a node
// going away) marks the index stale and the next cycle rebuilds it.
//
// Not thread-safe: owned by the scheduler cache, used under its lock. Counts
// handed out stay valid until the cache next changes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/framework/types.h"

namespace kubepp::scheduler {

// Hashing for string maps looked up by string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Pod counts per topology domain: key -> value -> count.
class TopoCounts {
 public:
  void Add(const std::string& key, const std::string& value, int64_t d);
  int64_t Get(const std::string& key, std::string_view value) const;
  // Calls fn(key, value, count) for every entry.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [k, vals] : m_) {
      for (const auto& [v, c] : vals) fn(k, v, c);
    }
  }
  // Calls fn(key) for every topology key present.
  template <typename Fn>
  void ForEachKey(Fn&& fn) const {
    for (const auto& [k, vals] : m_) fn(k);
  }
  bool empty() const { return m_.empty(); }
  // The sum over a node's labels.
  int64_t SumFor(const Labels& labels) const;

 private:
  using Values = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;
  std::unordered_map<std::string, Values, StringHash, std::equal_to<>> m_;
};

class AffinityIndex {
 public:
  static constexpr size_t kMaxMemos = 64;

  struct Group {
    std::vector<PodAffinityTerm> terms;
    TopoCounts counts;
    int64_t members = 0;     // pods (existing anti-affinity groups: pod-term pairs)
    uint64_t last_used = 0;  // memos: the cycle that last asked
  };
  using PodsByNamespace = std::map<std::string, std::map<std::string, PodInfoPtr>, std::less<>>;
  using NodeLookup = std::function<const NodeInfo*(const std::string& name)>;

  AffinityIndex(const PodsByNamespace* pods, NodeLookup node) : pods_(pods), node_(std::move(node)) {}

  void PodAdded(const PodInfo& pod) { Apply(pod, 1); }
  void PodRemoved(const PodInfo& pod) { Apply(pod, -1); }
  void MarkStale() { stale_ = true; }
  // Rebuilds if stale; starts a new cycle (memos it asks for are not dropped
  // until the next).
  void BeginCycle();

  // Groups of placed pods' required anti-affinity terms.
  const std::map<std::string, Group>& ExistingAnti() const { return existing_anti_; }
  // Domains of placed pods matching all of `terms`; nullptr when a term has
  // a namespaceSelector (namespace labels can change: the caller scans).
  const TopoCounts* Matching(const std::vector<PodAffinityTerm>& terms);

 private:
  void Apply(const PodInfo& pod, int64_t delta);
  void AddTo(Group& g, const PodInfo& pod, const NodeInfo& node, int64_t delta);
  void Rebuild();

  const PodsByNamespace* pods_;
  NodeLookup node_;
  bool stale_ = false;
  uint64_t cycle_ = 0;
  std::map<std::string, Group> existing_anti_;
  std::map<std::string, Group> memos_;
};

// A canonical string for a conjunction of terms (selector, namespaces,
// namespaceSelector, topology key).
std::string TermsSignature(const std::vector<PodAffinityTerm>& terms);

}  // namespace kubepp::scheduler
