// InterPodAffinity: required and preferred pod affinity and anti-affinity
// over topology domains (topologyKey), both the incoming pod's terms and the
// required anti-affinity of pods already placed (upstream's semantics:
// affinity counts pods matching all of the pod's required terms; a pod whose
// terms match itself may start a group where no pod matches yet).
#include <algorithm>
#include <set>

#include "api/object.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

const Labels* NsLabels(const Snapshot& snap, const std::string& ns) {
  return snap.namespace_labels ? snap.namespace_labels(ns) : nullptr;
}

// Counts from the snapshot's index (valid for the cycle) plus what this
// cycle scanned itself or changed through AddPod/RemovePod.
struct Counts {
  std::vector<const TopoCounts*> bases;
  TopoCounts own;
  int64_t Get(const std::string& key, std::string_view value) const {
    int64_t n = own.empty() ? 0 : own.Get(key, value);
    for (const auto* b : bases) n += b->Get(key, value);
    return n;
  }
  // Whether some domain of the node's has a positive count.
  bool AnyPositiveFor(const Labels& labels) const {
    bool found = false;
    auto check = [&](const std::string& key) {
      if (found) return;
      auto l = labels.find(key);
      if (l != labels.end() && Get(key, l->second) > 0) found = true;
    };
    own.ForEachKey(check);
    for (const auto* b : bases) b->ForEachKey(check);
    return found;
  }
  bool AnyPositive() const {
    bool found = false;
    auto check = [&](const std::string& key, const std::string& value, int64_t) {
      if (!found && Get(key, value) > 0) found = true;
    };
    own.ForEach(check);
    for (const auto* b : bases) b->ForEach(check);
    return found;
  }
};

struct FilterState : StateData {
  Counts existing_anti;  // domains where a placed pod's required anti-affinity matches the incoming pod
  Counts affinity;       // domains with pods matching all the pod's required affinity terms
  Counts anti;           // domains with pods matching one of the pod's required anti-affinity terms
  const Snapshot* snap = nullptr;
  bool scan_affinity = false, scan_anti = false;  // AddPod/RemovePod must update `own`
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<FilterState>(*this); }
};

struct ScoreState : StateData {
  TopoCounts scores;
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<ScoreState>(*this); }
};

class InterPodAffinity : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  explicit InterPodAffinity(const PluginArgs& args)
      : hard_weight_(api::IntAt(args, {"hardPodAffinityWeight"}).value_or(1)) {}
  std::string Name() const override { return "InterPodAffinity"; }

  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap) override {
    if (pod.required_affinity.empty() && pod.required_anti_affinity.empty() &&
        snap.have_pods_with_required_anti_affinity == 0) {
      return PluginStatus::Skip();
    }
    auto s = std::make_unique<FilterState>();
    s->snap = &snap;
    const Labels* own_ns = NsLabels(snap, pod.ns);
    AffinityIndex* index = snap.affinity;
    // Placed pods' required anti-affinity: one match per distinct term.
    if (index != nullptr) {
      for (const auto& [sig, g] : index->ExistingAnti()) {
        if (g.terms.front().Matches(pod, own_ns)) s->existing_anti.bases.push_back(&g.counts);
      }
    } else if (snap.have_pods_with_required_anti_affinity > 0) {
      for (const NodeInfo* n : snap.nodes) {
        if (n->pods_with_required_anti_affinity == 0) continue;
        for (const auto& other : n->pods) AddExistingAnti(*s, pod, *other, *n, own_ns, 1);
      }
    }
    // The pod's own terms: counts kept by the index, else a scan.
    if (!pod.required_affinity.empty()) {
      const TopoCounts* c = index != nullptr ? index->Matching(pod.required_affinity) : nullptr;
      if (c != nullptr) s->affinity.bases.push_back(c);
      else s->scan_affinity = true;
    }
    for (const auto& t : pod.required_anti_affinity) {
      const TopoCounts* c = index != nullptr ? index->Matching({t}) : nullptr;
      if (c == nullptr) {
        s->anti.bases.clear();
        s->scan_anti = true;
        break;
      }
      s->anti.bases.push_back(c);
    }
    if (s->scan_affinity || s->scan_anti) {
      // The pod's own terms only see pods in the namespaces they name: with
      // no namespaceSelector, scan just those namespaces' pods.
      if (!pod.any_namespace_selector && snap.pods_by_namespace != nullptr) {
        std::set<std::string> term_namespaces;
        for (const auto* terms : {&pod.required_affinity, &pod.required_anti_affinity}) {
          for (const auto& t : *terms) term_namespaces.insert(t.namespaces.begin(), t.namespaces.end());
        }
        for (const auto& ns : term_namespaces) {
          auto it = snap.pods_by_namespace->find(ns);
          if (it == snap.pods_by_namespace->end()) continue;
          for (const auto& [key, other] : it->second) {
            if (const NodeInfo* n = snap.Get(other->node_name)) {
              AddIncoming(*s, pod, *other, *n, snap, 1, s->scan_affinity, s->scan_anti);
            }
          }
        }
      } else {
        for (const NodeInfo* n : snap.nodes) {
          for (const auto& other : n->pods) AddIncoming(*s, pod, *other, *n, snap, 1, s->scan_affinity, s->scan_anti);
        }
      }
    }
    state.Write(Name(), std::move(s));
    return {};
  }
  void AddPod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) override {
    Update(state, pod, other, node, 1);
  }
  void RemovePod(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node) override {
    Update(state, pod, other, node, -1);
  }

  PluginStatus Filter(const CycleState& state, const PodInfo& pod, const NodeInfo& node) override {
    const auto* s = static_cast<const FilterState*>(state.Read(Name()));
    if (s == nullptr) return {};
    if (!pod.required_affinity.empty()) {
      bool all = true;
      for (const auto& t : pod.required_affinity) {
        auto l = node.labels.find(t.topology_key);
        if (l == node.labels.end()) return PluginStatus::Unresolvable("node(s) didn't match pod affinity rules");
        if (s->affinity.Get(t.topology_key, l->second) <= 0) all = false;
      }
      if (!all) {
        // No pod anywhere matches: the pod may go anywhere if it matches its own terms.
        bool any = s->affinity.AnyPositive();
        bool self = true;
        const Labels* own_ns = NsLabels(*s->snap, pod.ns);
        for (const auto& t : pod.required_affinity) {
          if (!t.Matches(pod, own_ns)) self = false;
        }
        if (any || !self) return PluginStatus::Unresolvable("node(s) didn't match pod affinity rules");
      }
    }
    for (const auto& t : pod.required_anti_affinity) {
      auto l = node.labels.find(t.topology_key);
      if (l == node.labels.end()) continue;
      if (s->anti.Get(t.topology_key, l->second) > 0) {
        return PluginStatus::Unschedulable("node(s) didn't match pod anti-affinity rules");
      }
    }
    if (s->existing_anti.AnyPositiveFor(node.labels)) {
      return PluginStatus::Unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");
    }
    return {};
  }

  PluginStatus PreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>&, const Snapshot& snap) override {
    bool has_pref = !pod.preferred_affinity.empty() || !pod.preferred_anti_affinity.empty();
    if (!has_pref && snap.have_pods_with_scored_affinity == 0) return PluginStatus::Skip();
    auto s = std::make_unique<ScoreState>();
    const Labels* own_ns = NsLabels(snap, pod.ns);
    for (const NodeInfo* n : snap.nodes) {
      if (!has_pref && n->pods_with_scored_affinity == 0) continue;
      for (const auto& other : n->pods) {
        bool other_scores = other->ScoresAffinity();
        if (!has_pref && !other_scores) continue;
        auto add = [&](const PodAffinityTerm& t, int64_t w) {
          auto l = n->labels.find(t.topology_key);
          if (l != n->labels.end()) s->scores.Add(t.topology_key, l->second, w);
        };
        if (has_pref) {
          const Labels* other_ns = pod.any_namespace_selector ? NsLabels(snap, other->ns) : nullptr;
          for (const auto& wt : pod.preferred_affinity) {
            if (wt.term.Matches(*other, other_ns)) add(wt.term, wt.weight);
          }
          for (const auto& wt : pod.preferred_anti_affinity) {
            if (wt.term.Matches(*other, other_ns)) add(wt.term, -wt.weight);
          }
        }
        if (!other_scores) continue;
        if (hard_weight_ > 0) {
          for (const auto& t : other->required_affinity) {
            if (t.Matches(pod, own_ns)) add(t, hard_weight_);
          }
        }
        for (const auto& wt : other->preferred_affinity) {
          if (wt.term.Matches(pod, own_ns)) add(wt.term, wt.weight);
        }
        for (const auto& wt : other->preferred_anti_affinity) {
          if (wt.term.Matches(pod, own_ns)) add(wt.term, -wt.weight);
        }
      }
    }
    if (s->scores.empty()) return PluginStatus::Skip();
    state.Write(Name(), std::move(s));
    return {};
  }
  int64_t Score(const CycleState& state, const PodInfo&, const NodeInfo& node) override {
    const auto* s = static_cast<const ScoreState*>(state.Read(Name()));
    if (s == nullptr) return 0;
    return s->scores.SumFor(node.labels);
  }
  void NormalizeScore(const CycleState&, const PodInfo&, std::vector<int64_t>& scores) override {
    if (scores.empty()) return;
    auto [mn, mx] = std::minmax_element(scores.begin(), scores.end());
    int64_t lo = *mn, hi = *mx;
    for (auto& s : scores) s = hi == lo ? 0 : (s - lo) * 100 / (hi - lo);
  }

 private:
  void AddExistingAnti(FilterState& s, const PodInfo& pod, const PodInfo& other, const NodeInfo& n, const Labels* own_ns,
                       int64_t delta) {
    for (const auto& t : other.required_anti_affinity) {
      if (!t.Matches(pod, own_ns)) continue;
      auto l = n.labels.find(t.topology_key);
      if (l != n.labels.end()) s.existing_anti.own.Add(t.topology_key, l->second, delta);
    }
  }
  void AddIncoming(FilterState& s, const PodInfo& pod, const PodInfo& other, const NodeInfo& n, const Snapshot& snap,
                   int64_t delta, bool affinity, bool anti) {
    // The namespace's labels only matter to terms with a namespaceSelector.
    const Labels* other_ns = nullptr;
    if (pod.any_namespace_selector) other_ns = NsLabels(snap, other.ns);
    if (affinity && !pod.required_affinity.empty()) {
      bool all = true;
      for (const auto& t : pod.required_affinity) {
        if (!t.Matches(other, other_ns)) {
          all = false;
          break;
        }
      }
      if (all) {
        for (const auto& t : pod.required_affinity) {
          auto l = n.labels.find(t.topology_key);
          if (l != n.labels.end()) s.affinity.own.Add(t.topology_key, l->second, delta);
        }
      }
    }
    if (!anti) return;
    for (const auto& t : pod.required_anti_affinity) {
      if (!t.Matches(other, other_ns)) continue;
      auto l = n.labels.find(t.topology_key);
      if (l != n.labels.end()) s.anti.own.Add(t.topology_key, l->second, delta);
    }
  }
  void Update(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node, int64_t delta) {
    auto* s = static_cast<FilterState*>(state.Read(Name()));
    if (s == nullptr) return;
    AddExistingAnti(*s, pod, other, node, NsLabels(*s->snap, pod.ns), delta);
    // (Deltas on top of the index's counts or the cycle's own scan.)
    AddIncoming(*s, pod, other, node, *s->snap, delta, true, true);
  }

  int64_t hard_weight_;
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewInterPodAffinity(const PluginArgs& args, Handle*) {
  auto w = api::IntAt(args, {"hardPodAffinityWeight"}).value_or(1);
  if (w < 0 || w > 100) return Status::BadRequest("InterPodAffinity: hardPodAffinityWeight: not in valid range [0-100]");
  return std::unique_ptr<Plugin>(std::make_unique<InterPodAffinity>(args));
}

}  // namespace kubepp::scheduler::plugins
