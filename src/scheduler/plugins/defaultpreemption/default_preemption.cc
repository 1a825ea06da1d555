// DefaultPreemption (PostFilter): when no node fits a pod, find nodes where
// evicting lower-priority pods would make it fit, choose the node whose
// victims matter least (upstream's order: lowest highest-victim priority,
// lowest priority sum, fewest victims, latest start), delete the victims
// (marked with a DisruptionTarget condition), and nominate the node; the pod
// goes back to the queue and lands there once the victims are gone.
// PodDisruptionBudgets are not yet weighed.
#include <algorithm>
#include <climits>

#include "api/object.h"
#include "api/time.h"
#include "client/rest.h"
#include "scheduler/plugins/registry.h"

namespace kubepp::scheduler::plugins {
namespace {

constexpr int kMinCandidateNodesPercentage = 10;
constexpr int kMinCandidateNodesAbsolute = 100;

struct Candidate {
  NodeInfo* node = nullptr;
  std::vector<PodInfoPtr> victims;  // most important first
};

bool MoreImportant(const PodInfoPtr& a, const PodInfoPtr& b) {
  if (a->priority != b->priority) return a->priority > b->priority;
  return a->start_time_ns < b->start_time_ns;
}

class DefaultPreemption : public PostFilterPlugin {
 public:
  explicit DefaultPreemption(Handle* h) : h_(h) {}
  std::string Name() const override { return "DefaultPreemption"; }

  PluginStatus PostFilter(CycleState& state, const PodInfo& pod, const Snapshot& snap, const NodeStatusMap& statuses,
                          PostFilterResult* result) override {
    if (pod.preempt_never) return PluginStatus::Unschedulable("preemption: not eligible due to preemptionPolicy=Never.");
    if (!pod.nominated_node_name.empty()) {
      auto st = statuses.find(pod.nominated_node_name);
      bool unresolvable = st != statuses.end() && st->second.code() == PluginStatus::Code::kUnschedulableAndUnresolvable;
      if (!unresolvable) {
        if (NodeInfo* n = snap.Get(pod.nominated_node_name)) {
          for (const auto& p : n->pods) {
            if (p->priority < pod.priority && p->terminating) {
              return PluginStatus::Unschedulable(
                  "preemption: not eligible due to a terminating pod on the nominated node.");
            }
          }
        }
      }
    }
    NodeStatusMap out;
    std::vector<NodeInfo*> potential;
    for (NodeInfo* n : snap.nodes) {
      auto st = statuses.find(n->name);
      if (st != statuses.end() && st->second.code() == PluginStatus::Code::kUnschedulableAndUnresolvable) {
        out[n->name] = PluginStatus::Unresolvable("Preemption is not helpful for scheduling");
      } else {
        potential.push_back(n);
      }
    }
    size_t want = std::max<size_t>(potential.size() * kMinCandidateNodesPercentage / 100, kMinCandidateNodesAbsolute);
    std::vector<Candidate> candidates;
    for (NodeInfo* n : potential) {
      if (candidates.size() >= want) break;
      Candidate c;
      c.node = n;
      PluginStatus st = SelectVictims(state, pod, *n, &c.victims);
      if (st.ok()) {
        candidates.push_back(std::move(c));
      } else {
        out[n->name] = st;
      }
    }
    if (candidates.empty()) {
      result->nominated_node.clear();
      return PluginStatus::Unschedulable("preemption: " + FitErrorMessage(out.size(), "", out, ""));
    }
    const Candidate& best = Pick(candidates);
    Prepare(pod, best);
    result->nominated_node = best.node->name;
    return {};
  }

 private:
  PluginStatus SelectVictims(const CycleState& state, const PodInfo& pod, const NodeInfo& node,
                             std::vector<PodInfoPtr>* victims) {
    std::vector<PodInfoPtr> lower;
    for (const auto& p : node.pods) {
      if (p->priority < pod.priority) lower.push_back(p);
    }
    if (lower.empty()) return PluginStatus::Unresolvable("No preemption victims found for incoming pod");
    NodeInfo copy = node;
    CycleState st = state.Clone();
    Framework* fw = h_->framework;
    for (const auto& v : lower) {
      copy.RemovePod(v->key);
      fw->RunPreFilterRemovePod(st, pod, *v, copy);
    }
    PluginStatus fits = fw->RunFilterWithNominatedPods(st, pod, copy);
    if (!fits.ok()) return fits;
    std::sort(lower.begin(), lower.end(), MoreImportant);
    for (const auto& v : lower) {
      copy.AddPod(v);
      fw->RunPreFilterAddPod(st, pod, *v, copy);
      if (!fw->RunFilterWithNominatedPods(st, pod, copy).ok()) {
        copy.RemovePod(v->key);
        fw->RunPreFilterRemovePod(st, pod, *v, copy);
        victims->push_back(v);
      }
    }
    if (victims->empty()) return PluginStatus::Error("expected at least one victim pod on node \"" + node.name + "\"");
    return {};
  }

  static const Candidate& Pick(const std::vector<Candidate>& cs) {
    auto key = [](const Candidate& c) {
      int64_t highest = c.victims.front()->priority;
      int64_t sum = 0;
      int64_t latest_start = 0;
      for (const auto& v : c.victims) {
        sum += static_cast<int64_t>(v->priority) + INT32_MAX + 1;
        if (v->priority == highest) latest_start = std::max(latest_start, v->start_time_ns);
      }
      return std::make_tuple(highest, sum, static_cast<int64_t>(c.victims.size()), -latest_start);
    };
    const Candidate* best = &cs.front();
    auto best_key = key(*best);
    for (const auto& c : cs) {
      auto k = key(c);
      if (k < best_key) {
        best = &c;
        best_key = k;
      }
    }
    return *best;
  }

  void Prepare(const PodInfo& pod, const Candidate& c) {
    std::string now = api::FormatTime(std::chrono::system_clock::now());
    for (const auto& v : c.victims) {
      bj::object patch{{"status", bj::object{{"conditions", bj::array{bj::object{
                                                                {"type", "DisruptionTarget"},
                                                                {"status", "True"},
                                                                {"reason", "PreemptionByScheduler"},
                                                                {"message", h_->framework->scheduler_name() +
                                                                                ": preempting to accommodate a higher priority pod"},
                                                                {"lastTransitionTime", now}}}}}}};
      (void)h_->client->Patch(client::ResourcePath("", "v1", "pods", v->ns, v->name, "status"),
                              "application/strategic-merge-patch+json", patch);
      bj::value opts = bj::object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"},
                                  {"preconditions", bj::object{{"uid", v->uid}}}};
      (void)h_->client->Delete(client::ResourcePath("", "v1", "pods", v->ns, v->name), &opts);
      if (h_->event) {
        h_->event(*v->obj, "Normal", "Preempted", "Preempting",
                  "Preempted by pod " + pod.uid + " on node " + c.node->name);
      }
    }
    // Lower-priority pods nominated to this node lose the nomination.
    if (h_->nominated_pods) {
      for (const auto& np : h_->nominated_pods(c.node->name)) {
        if (np->priority >= pod.priority || np->key == pod.key) continue;
        bj::object patch{{"status", bj::object{{"nominatedNodeName", nullptr}}}};
        (void)h_->client->Patch(client::ResourcePath("", "v1", "pods", np->ns, np->name, "status"),
                                "application/merge-patch+json", patch);
      }
    }
  }

  Handle* h_;
};

}  // namespace

Result<std::unique_ptr<Plugin>> NewDefaultPreemption(const PluginArgs&, Handle* h) {
  return std::unique_ptr<Plugin>(std::make_unique<DefaultPreemption>(h));
}

}  // namespace kubepp::scheduler::plugins
