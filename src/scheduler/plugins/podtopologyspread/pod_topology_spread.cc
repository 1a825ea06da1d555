// PodTopologySpread: topologySpreadConstraints. DoNotSchedule constraints
// filter nodes whose domain would exceed maxSkew over the least loaded
// eligible domain (minDomains as upstream); ScheduleAnyway constraints, and
// the system defaults (hostname maxSkew 3, zone maxSkew 5) for pods with a
// controller owner and no constraints of their own, score nodes by how few
// matching pods their domains hold.
#include <algorithm>
#include <climits>
#include <cmath>
#include <unordered_map>

#include "api/object.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

constexpr const char* kHostname = "kubernetes.io/hostname";

int64_t CountMatching(const NodeInfo& n, const std::string& ns, const api::LabelSelector& sel) {
  int64_t c = 0;
  for (const auto& p : n.pods) {
    if (p->ns == ns && !p->terminating && sel.Matches(p->labels)) ++c;
  }
  return c;
}

bool NodeEligible(const PodInfo& pod, const NodeInfo& n, const TopologySpreadConstraint& c) {
  if (c.node_affinity_policy_honor && !PodMatchesNodeSelectorAndAffinity(pod, n)) return false;
  if (c.node_taints_policy_honor && UntoleratedTaint(pod, n) != nullptr) return false;
  return true;
}

struct HardState : StateData {
  struct Entry {
    const TopologySpreadConstraint* c;
    std::unordered_map<std::string, int64_t> counts;
    int64_t min = 0;
    void Recompute() {
      min = counts.empty() ? 0 : INT64_MAX;
      for (const auto& [v, n] : counts) min = std::min(min, n);
    }
  };
  std::vector<Entry> entries;
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<HardState>(*this); }
};

struct SoftState : StateData {
  struct Entry {
    TopologySpreadConstraint c;
    std::unordered_map<std::string, int64_t> counts;  // non-hostname keys
    double weight = 0;
  };
  std::vector<Entry> entries;
  std::set<std::string> ignored;  // nodes missing a key of the pod's own constraints
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<SoftState>(*this); }
};

class PodTopologySpread : public PreFilterPlugin, public FilterPlugin, public PreScorePlugin, public ScorePlugin {
 public:
  explicit PodTopologySpread(bool system_defaults) : system_defaults_(system_defaults) {}
  std::string Name() const override { return "PodTopologySpread"; }

  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap) override {
    auto s = std::make_unique<HardState>();
    for (const auto& c : pod.spread_constraints) {
      if (c.do_not_schedule) s->entries.push_back({&c, {}, 0});
    }
    if (s->entries.empty()) return PluginStatus::Skip();
    for (const NodeInfo* n : snap.nodes) {
      bool has_all = true;
      for (const auto& e : s->entries) {
        if (!n->labels.count(e.c->topology_key)) has_all = false;
      }
      if (!has_all) continue;
      for (auto& e : s->entries) {
        if (!NodeEligible(pod, *n, *e.c)) continue;
        e.counts[n->labels.find(e.c->topology_key)->second] += CountMatching(*n, pod.ns, e.c->selector);
      }
    }
    for (auto& e : s->entries) e.Recompute();
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
    const auto* s = static_cast<const HardState*>(state.Read(Name()));
    if (s == nullptr) return {};
    for (const auto& e : s->entries) {
      auto l = node.labels.find(e.c->topology_key);
      if (l == node.labels.end()) {
        return PluginStatus::Unresolvable("node(s) didn't match pod topology spread constraints (missing required label)");
      }
      int64_t min = static_cast<int64_t>(e.counts.size()) < e.c->min_domains ? 0 : e.min;
      auto it = e.counts.find(l->second);
      int64_t here = it == e.counts.end() ? 0 : it->second;
      int64_t self = e.c->selector.Matches(pod.labels) ? 1 : 0;
      if (here + self - min > e.c->max_skew) {
        return PluginStatus::Unschedulable("node(s) didn't match pod topology spread constraints");
      }
    }
    return {};
  }

  PluginStatus PreScore(CycleState& state, const PodInfo& pod, const std::vector<NodeInfo*>& filtered,
                        const Snapshot& snap) override {
    auto s = std::make_unique<SoftState>();
    bool own = !pod.spread_constraints.empty();
    for (const auto& c : pod.spread_constraints) {
      if (!c.do_not_schedule) s->entries.push_back({c, {}, 0});
    }
    if (!own && system_defaults_ && !pod.owner_kinds.empty() && !pod.labels.empty()) {
      std::string sel;
      for (const auto& [k, v] : pod.labels) sel += (sel.empty() ? "" : ",") + k + "=" + v;
      auto parsed = api::LabelSelector::Parse(sel);
      if (parsed.ok()) {
        for (auto [key, skew] : {std::pair<const char*, int>{kHostname, 3}, {"topology.kubernetes.io/zone", 5}}) {
          TopologySpreadConstraint c;
          c.topology_key = key;
          c.max_skew = skew;
          c.do_not_schedule = false;
          c.selector = *parsed;
          s->entries.push_back({c, {}, 0});
        }
      }
    }
    if (s->entries.empty()) return PluginStatus::Skip();
    // Domains among the filtered nodes; a default constraint whose key no
    // filtered node has drops out.
    std::vector<SoftState::Entry> kept;
    for (auto& e : s->entries) {
      std::set<std::string> domains;
      for (const NodeInfo* n : filtered) {
        auto l = n->labels.find(e.c.topology_key);
        if (l != n->labels.end()) domains.insert(l->second);
      }
      if (domains.empty() && !own) continue;
      e.weight = std::log(static_cast<double>(domains.size()) + 2);
      kept.push_back(std::move(e));
    }
    s->entries = std::move(kept);
    if (s->entries.empty()) return PluginStatus::Skip();
    if (own) {
      for (const NodeInfo* n : filtered) {
        for (const auto& e : s->entries) {
          if (!n->labels.count(e.c.topology_key)) s->ignored.insert(n->name);
        }
      }
    }
    for (auto& e : s->entries) {
      if (e.c.topology_key == kHostname) continue;
      for (const NodeInfo* n : snap.nodes) {
        auto l = n->labels.find(e.c.topology_key);
        if (l == n->labels.end() || !NodeEligible(pod, *n, e.c)) continue;
        e.counts[l->second] += CountMatching(*n, pod.ns, e.c.selector);
      }
    }
    state.Write(Name(), std::move(s));
    return {};
  }
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) override {
    const auto* s = static_cast<const SoftState*>(state.Read(Name()));
    if (s == nullptr) return 0;
    if (s->ignored.count(node.name)) return -1;
    double score = 0;
    for (const auto& e : s->entries) {
      auto l = node.labels.find(e.c.topology_key);
      if (l == node.labels.end()) continue;
      int64_t cnt;
      if (e.c.topology_key == kHostname) {
        cnt = CountMatching(node, pod.ns, e.c.selector);
      } else {
        auto it = e.counts.find(l->second);
        cnt = it == e.counts.end() ? 0 : it->second;
      }
      score += static_cast<double>(cnt) * e.weight + static_cast<double>(e.c.max_skew - 1);
    }
    return std::llround(score);
  }
  // Fewer matching pods is better; ignored nodes (-1) score 0.
  void NormalizeScore(const CycleState&, const PodInfo&, std::vector<int64_t>& scores) override {
    int64_t mn = INT64_MAX, mx = 0;
    for (int64_t s : scores) {
      if (s < 0) continue;
      mn = std::min(mn, s);
      mx = std::max(mx, s);
    }
    for (auto& s : scores) {
      if (s < 0) s = 0;
      else if (mx == 0) s = 100;
      else s = 100 * (mx + mn - s) / mx;
    }
  }

 private:
  void Update(CycleState& state, const PodInfo& pod, const PodInfo& other, const NodeInfo& node, int64_t delta) {
    auto* s = static_cast<HardState*>(state.Read(Name()));
    if (s == nullptr || other.ns != pod.ns) return;
    for (auto& e : s->entries) {
      auto l = node.labels.find(e.c->topology_key);
      if (l == node.labels.end() || !e.c->selector.Matches(other.labels)) continue;
      e.counts[l->second] += delta;
      e.Recompute();
    }
  }

  bool system_defaults_;
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewPodTopologySpread(const PluginArgs& args, Handle*) {
  std::string_view dt = api::StrAt(args, {"defaultingType"}, "System");
  if (dt != "System" && dt != "List") return Status::BadRequest("PodTopologySpread: defaultingType must be System or List");
  // List with no defaultConstraints: no defaults (the list form of other defaults is not supported).
  return std::unique_ptr<Plugin>(std::make_unique<PodTopologySpread>(dt == "System"));
}

}  // namespace kubepp::scheduler::plugins
