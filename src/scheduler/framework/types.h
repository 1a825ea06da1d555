// The scheduler's parsed view of pods and nodes (upstream's framework.PodInfo
// and framework.NodeInfo): everything the plugins read, taken out of the JSON
// once when an object arrives, so a scheduling cycle never parses.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "api/selector.h"

namespace kubepp::scheduler {

namespace bj = boost::json;
using Labels = std::map<std::string, std::string, std::less<>>;

// Requests or allocatable amounts (upstream's framework.Resource).
struct Resource {
  int64_t milli_cpu = 0;
  int64_t memory = 0;
  int64_t ephemeral_storage = 0;
  int64_t allowed_pods = 0;  // allocatable only
  std::map<std::string, int64_t, std::less<>> scalar;  // extended resources, hugepages

  void Add(const Resource& r);
  void Sub(const Resource& r);
  // Sets each resource to the larger of the two (init containers).
  void SetMax(const Resource& r);
  // The amount of a named resource ("cpu" in millicores).
  int64_t Get(std::string_view name) const;
};

// Reads a ResourceList ({"cpu": "100m", "memory": "1Gi", ...}).
Resource ParseResourceList(const bj::object* list);

// A node selector term: requirements on labels and on fields (metadata.name).
struct NodeSelectorTerm {
  std::vector<api::LabelRequirement> match_expressions;
  std::vector<api::LabelRequirement> match_fields;
  bool Matches(const Labels& labels, const std::string& node_name) const;
};
// Terms are ORed; an empty list matches nothing.
bool MatchesAnyTerm(const std::vector<NodeSelectorTerm>& terms, const Labels& labels, const std::string& node_name);

struct PreferredSchedulingTerm {
  int32_t weight = 0;
  NodeSelectorTerm term;
};

struct PodAffinityTerm {
  api::LabelSelector selector = api::LabelSelector::Nothing();
  std::set<std::string> namespaces;  // resolved: the pod's own namespace when both are unset
  std::optional<api::LabelSelector> namespace_selector;
  std::string topology_key;
  // Whether the term selects `pod` (namespace and labels).
  bool Matches(const struct PodInfo& pod, const Labels* ns_labels) const;
};

struct WeightedPodAffinityTerm {
  int32_t weight = 0;
  PodAffinityTerm term;
};

struct Toleration {
  std::string key, op = "Equal", value, effect;
  std::optional<int64_t> toleration_seconds;
  bool Tolerates(const struct Taint& t) const;
};

struct Taint {
  std::string key, value, effect;
};

struct HostPort {
  std::string protocol = "TCP";
  std::string ip = "0.0.0.0";
  int32_t port = 0;
};

struct TopologySpreadConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = true;  // whenUnsatisfiable
  api::LabelSelector selector = api::LabelSelector::Nothing();
  int32_t min_domains = 1;
  bool node_affinity_policy_honor = true;
  bool node_taints_policy_honor = false;
};

// One pod, parsed. Shared and immutable once made.
struct PodInfo {
  std::shared_ptr<const bj::object> obj;  // the pod as last seen (shared with the informer)
  std::string ns, name, uid, key;  // key: ns/name
  Labels labels;
  std::string scheduler_name;
  std::string node_name;
  std::string nominated_node_name;
  std::string phase;
  bool terminating = false;
  bool scheduling_gated = false;  // spec.schedulingGates not empty
  int32_t priority = 0;
  bool preempt_never = false;  // preemptionPolicy: Never
  int64_t start_time_ns = 0;   // status.startTime, else creation
  Resource requests;           // effective requests (max of init, sum of app, + overhead)
  Resource non_zero_requests;  // cpu/memory with upstream's defaults (100m, 200Mi) when unset
  Labels node_selector;
  std::vector<NodeSelectorTerm> required_node_terms;  // empty + !has_required: none
  bool has_required_node_affinity = false;
  std::vector<PreferredSchedulingTerm> preferred_node_terms;
  std::vector<PodAffinityTerm> required_affinity, required_anti_affinity;
  std::vector<WeightedPodAffinityTerm> preferred_affinity, preferred_anti_affinity;
  bool any_namespace_selector = false;  // some affinity term has a namespaceSelector
  std::vector<Toleration> tolerations;
  std::vector<HostPort> host_ports;
  std::vector<std::string> images;
  std::vector<TopologySpreadConstraint> spread_constraints;
  std::vector<std::string> owner_kinds;  // controller owner kind (for default spreading)

  // Terms that count in other pods' scores (required affinity, preferred terms).
  bool ScoresAffinity() const {
    return !required_affinity.empty() || !preferred_affinity.empty() || !preferred_anti_affinity.empty();
  }
  bool HasAffinityTerms() const {
    return !required_affinity.empty() || !required_anti_affinity.empty() || !preferred_affinity.empty() ||
           !preferred_anti_affinity.empty();
  }
};
using PodInfoPtr = std::shared_ptr<const PodInfo>;

PodInfoPtr ParsePod(std::shared_ptr<const bj::object> obj);

// One node, with the pods assigned (or assumed) to it.
struct NodeInfo {
  std::string name;
  std::shared_ptr<const bj::object> node;  // null: pods seen before their node
  Labels labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
  Resource allocatable;
  Resource requested;
  Resource non_zero_requested;
  std::vector<PodInfoPtr> pods;
  int pods_with_affinity = 0;
  int pods_with_required_anti_affinity = 0;
  int pods_with_scored_affinity = 0;
  std::multiset<std::tuple<std::string, std::string, int32_t>> used_ports;  // protocol, ip, port
  std::map<std::string, int64_t, std::less<>> image_sizes;  // name (each alias) -> size
  uint64_t generation = 0;

  void SetNode(std::shared_ptr<const bj::object> n);
  void AddPod(const PodInfoPtr& p);
  // False when the pod was not there.
  bool RemovePod(const std::string& key);
};


}  // namespace kubepp::scheduler
