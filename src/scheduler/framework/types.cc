#include "scheduler/framework/types.h"

#include <algorithm>

#include "api/image_ref.h"
#include "api/object.h"
#include "api/quantity.h"
#include "api/time.h"

namespace kubepp::scheduler {
namespace {

constexpr int64_t kDefaultMilliCpu = 100;                // upstream's DefaultMilliCPURequest
constexpr int64_t kDefaultMemory = 200LL * 1024 * 1024;  // DefaultMemoryRequest

int64_t QuantityOf(const bj::value& v, bool milli) {
  if (v.is_int64()) return milli ? v.get_int64() * 1000 : v.get_int64();
  if (!v.is_string()) return 0;
  auto q = api::Quantity::Parse(v.get_string());
  if (!q.ok()) return 0;
  return milli ? q->MilliValue() : q->Value();
}

std::vector<api::LabelRequirement> ParseRequirements(const bj::array* arr) {
  std::vector<api::LabelRequirement> out;
  if (arr == nullptr) return out;
  for (const auto& r : *arr) {
    if (!r.is_object()) continue;
    const auto& o = r.get_object();
    api::LabelRequirement req;
    req.key = std::string(api::StrAt(o, {"key"}));
    std::string_view op = api::StrAt(o, {"operator"});
    using Op = api::LabelRequirement::Op;
    if (op == "In") req.op = Op::kIn;
    else if (op == "NotIn") req.op = Op::kNotIn;
    else if (op == "Exists") req.op = Op::kExists;
    else if (op == "DoesNotExist") req.op = Op::kDoesNotExist;
    else if (op == "Gt") req.op = Op::kGreaterThan;
    else if (op == "Lt") req.op = Op::kLessThan;
    else continue;
    if (const auto* vals = api::ArrAt(o, {"values"})) {
      for (const auto& v : *vals) {
        if (v.is_string()) req.values.emplace_back(v.get_string());
      }
    }
    out.push_back(std::move(req));
  }
  return out;
}

NodeSelectorTerm ParseNodeSelectorTerm(const bj::object& o) {
  NodeSelectorTerm t;
  t.match_expressions = ParseRequirements(api::ArrAt(o, {"matchExpressions"}));
  t.match_fields = ParseRequirements(api::ArrAt(o, {"matchFields"}));
  return t;
}

api::LabelSelector SelectorOf(const bj::value* v) {
  auto s = api::LabelSelector::FromObject(v);
  return s.ok() ? *s : api::LabelSelector::Nothing();
}

PodAffinityTerm ParseAffinityTerm(const bj::object& o, const std::string& pod_ns) {
  PodAffinityTerm t;
  t.selector = SelectorOf(api::At(o, {"labelSelector"}));
  if (const auto* nss = api::ArrAt(o, {"namespaces"})) {
    for (const auto& n : *nss) {
      if (n.is_string()) t.namespaces.emplace(n.get_string());
    }
  }
  if (const auto* nsel = api::At(o, {"namespaceSelector"}); nsel != nullptr && nsel->is_object()) {
    t.namespace_selector = SelectorOf(nsel);
  }
  if (t.namespaces.empty() && !t.namespace_selector) t.namespaces.insert(pod_ns);
  t.topology_key = std::string(api::StrAt(o, {"topologyKey"}));
  return t;
}

void ParseAffinityTerms(const bj::object& aff, const std::string& pod_ns, std::vector<PodAffinityTerm>& required,
                        std::vector<WeightedPodAffinityTerm>& preferred) {
  if (const auto* req = api::ArrAt(aff, {"requiredDuringSchedulingIgnoredDuringExecution"})) {
    for (const auto& t : *req) {
      if (t.is_object()) required.push_back(ParseAffinityTerm(t.get_object(), pod_ns));
    }
  }
  if (const auto* pref = api::ArrAt(aff, {"preferredDuringSchedulingIgnoredDuringExecution"})) {
    for (const auto& t : *pref) {
      if (!t.is_object()) continue;
      const auto* term = api::ObjAt(t.get_object(), {"podAffinityTerm"});
      if (term == nullptr) continue;
      preferred.push_back({static_cast<int32_t>(api::IntAt(t.get_object(), {"weight"}).value_or(0)),
                           ParseAffinityTerm(*term, pod_ns)});
    }
  }
}

// Requests of one container: requests, else limits (upstream defaults
// requests to limits at admission).
Resource ContainerRequests(const bj::object& c) {
  Resource r = ParseResourceList(api::ObjAt(c, {"resources", "requests"}));
  Resource lim = ParseResourceList(api::ObjAt(c, {"resources", "limits"}));
  const auto* req = api::ObjAt(c, {"resources", "requests"});
  auto has = [&](std::string_view k) { return req != nullptr && req->contains(k); };
  if (!has("cpu")) r.milli_cpu = lim.milli_cpu;
  if (!has("memory")) r.memory = lim.memory;
  if (!has("ephemeral-storage")) r.ephemeral_storage = lim.ephemeral_storage;
  for (const auto& [k, v] : lim.scalar) {
    if (!has(k)) r.scalar[k] = v;
  }
  return r;
}

Resource NonZero(const bj::object& c, const Resource& r) {
  Resource nz;
  const auto* req = api::ObjAt(c, {"resources", "requests"});
  const auto* lim = api::ObjAt(c, {"resources", "limits"});
  bool cpu_set = (req != nullptr && req->contains("cpu")) || (lim != nullptr && lim->contains("cpu"));
  bool mem_set = (req != nullptr && req->contains("memory")) || (lim != nullptr && lim->contains("memory"));
  nz.milli_cpu = cpu_set ? r.milli_cpu : kDefaultMilliCpu;
  nz.memory = mem_set ? r.memory : kDefaultMemory;
  return nz;
}

}  // namespace

void Resource::Add(const Resource& r) {
  milli_cpu += r.milli_cpu;
  memory += r.memory;
  ephemeral_storage += r.ephemeral_storage;
  for (const auto& [k, v] : r.scalar) scalar[k] += v;
}

void Resource::Sub(const Resource& r) {
  milli_cpu -= r.milli_cpu;
  memory -= r.memory;
  ephemeral_storage -= r.ephemeral_storage;
  for (const auto& [k, v] : r.scalar) {
    auto it = scalar.find(k);
    if (it == scalar.end()) continue;
    it->second -= v;
  }
}

void Resource::SetMax(const Resource& r) {
  milli_cpu = std::max(milli_cpu, r.milli_cpu);
  memory = std::max(memory, r.memory);
  ephemeral_storage = std::max(ephemeral_storage, r.ephemeral_storage);
  for (const auto& [k, v] : r.scalar) scalar[k] = std::max(scalar[k], v);
}

int64_t Resource::Get(std::string_view name) const {
  if (name == "cpu") return milli_cpu;
  if (name == "memory") return memory;
  if (name == "ephemeral-storage") return ephemeral_storage;
  if (name == "pods") return allowed_pods;
  auto it = scalar.find(name);
  return it == scalar.end() ? 0 : it->second;
}

Resource ParseResourceList(const bj::object* list) {
  Resource r;
  if (list == nullptr) return r;
  for (const auto& [k, v] : *list) {
    if (k == "cpu") r.milli_cpu = QuantityOf(v, true);
    else if (k == "memory") r.memory = QuantityOf(v, false);
    else if (k == "ephemeral-storage") r.ephemeral_storage = QuantityOf(v, false);
    else if (k == "pods") r.allowed_pods = QuantityOf(v, false);
    else r.scalar[std::string(k)] = QuantityOf(v, false);
  }
  return r;
}

bool NodeSelectorTerm::Matches(const Labels& labels, const std::string& node_name) const {
  if (match_expressions.empty() && match_fields.empty()) return false;
  for (const auto& r : match_expressions) {
    if (!r.Matches(labels)) return false;
  }
  if (!match_fields.empty()) {
    Labels fields{{"metadata.name", node_name}};
    for (const auto& r : match_fields) {
      if (!r.Matches(fields)) return false;
    }
  }
  return true;
}

bool MatchesAnyTerm(const std::vector<NodeSelectorTerm>& terms, const Labels& labels, const std::string& node_name) {
  for (const auto& t : terms) {
    if (t.Matches(labels, node_name)) return true;
  }
  return false;
}

bool PodAffinityTerm::Matches(const PodInfo& pod, const Labels* ns_labels) const {
  bool ns_ok = namespaces.count(pod.ns) > 0;
  if (!ns_ok && namespace_selector && ns_labels != nullptr) ns_ok = namespace_selector->Matches(*ns_labels);
  return ns_ok && selector.Matches(pod.labels);
}

bool Toleration::Tolerates(const Taint& t) const {
  if (!effect.empty() && effect != t.effect) return false;
  if (op == "Exists") return key.empty() || key == t.key;
  return key == t.key && value == t.value;
}

PodInfoPtr ParsePod(std::shared_ptr<const bj::object> obj) {
  auto p = std::make_shared<PodInfo>();
  const bj::object& pod = *obj;
  p->ns = std::string(api::Namespace(pod));
  p->name = std::string(api::Name(pod));
  p->uid = std::string(api::Uid(pod));
  p->key = p->ns + "/" + p->name;
  p->labels = api::ObjectLabels(pod);
  const bj::object empty;
  const bj::object& spec = api::ObjAt(pod, {"spec"}) ? *api::ObjAt(pod, {"spec"}) : empty;
  p->scheduler_name = std::string(api::StrAt(spec, {"schedulerName"}, "default-scheduler"));
  p->node_name = std::string(api::StrAt(spec, {"nodeName"}));
  p->nominated_node_name = std::string(api::StrAt(pod, {"status", "nominatedNodeName"}));
  p->phase = std::string(api::StrAt(pod, {"status", "phase"}));
  p->terminating = api::At(pod, {"metadata", "deletionTimestamp"}) != nullptr;
  if (const auto* g = api::ArrAt(spec, {"schedulingGates"})) p->scheduling_gated = !g->empty();
  p->priority = static_cast<int32_t>(api::IntAt(spec, {"priority"}).value_or(0));
  p->preempt_never = api::StrAt(spec, {"preemptionPolicy"}) == "Never";
  std::string_view st = api::StrAt(pod, {"status", "startTime"});
  if (st.empty()) st = api::StrAt(pod, {"metadata", "creationTimestamp"});
  if (auto t = api::ParseTime(st)) p->start_time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count();

  // Requests: the sum over app containers (and restartable init
  // containers), at least the largest init container, plus overhead.
  Resource sum, nz, init_max, sidecars;
  if (const auto* cs = api::ArrAt(spec, {"containers"})) {
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      Resource r = ContainerRequests(c.get_object());
      sum.Add(r);
      nz.Add(NonZero(c.get_object(), r));
      std::string_view img = api::StrAt(c.get_object(), {"image"});
      if (!img.empty()) p->images.push_back(api::NormalizedImageName(img));
      if (const auto* ports = api::ArrAt(c.get_object(), {"ports"})) {
        for (const auto& port : *ports) {
          if (!port.is_object()) continue;
          int64_t hp = api::IntAt(port.get_object(), {"hostPort"}).value_or(0);
          if (hp <= 0) continue;
          HostPort h;
          h.port = static_cast<int32_t>(hp);
          h.protocol = std::string(api::StrAt(port.get_object(), {"protocol"}, "TCP"));
          h.ip = std::string(api::StrAt(port.get_object(), {"hostIP"}, "0.0.0.0"));
          if (h.ip.empty()) h.ip = "0.0.0.0";
          p->host_ports.push_back(std::move(h));
        }
      }
    }
  }
  if (const auto* ics = api::ArrAt(spec, {"initContainers"})) {
    for (const auto& c : *ics) {
      if (!c.is_object()) continue;
      Resource r = ContainerRequests(c.get_object());
      if (api::StrAt(c.get_object(), {"restartPolicy"}) == "Always") {
        sidecars.Add(r);
        sum.Add(r);
        nz.Add(NonZero(c.get_object(), r));
      } else {
        Resource with = r;
        with.Add(sidecars);
        init_max.SetMax(with);
      }
    }
  }
  sum.SetMax(init_max);
  Resource overhead = ParseResourceList(api::ObjAt(spec, {"overhead"}));
  sum.Add(overhead);
  nz.milli_cpu += overhead.milli_cpu;
  nz.memory += overhead.memory;
  p->requests = std::move(sum);
  p->non_zero_requests = nz;

  if (const auto* sel = api::ObjAt(spec, {"nodeSelector"})) {
    for (const auto& [k, v] : *sel) {
      if (v.is_string()) p->node_selector.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  if (const auto* na = api::ObjAt(spec, {"affinity", "nodeAffinity"})) {
    if (const auto* req = api::ObjAt(*na, {"requiredDuringSchedulingIgnoredDuringExecution"})) {
      p->has_required_node_affinity = true;
      if (const auto* terms = api::ArrAt(*req, {"nodeSelectorTerms"})) {
        for (const auto& t : *terms) {
          if (t.is_object()) p->required_node_terms.push_back(ParseNodeSelectorTerm(t.get_object()));
        }
      }
    }
    if (const auto* pref = api::ArrAt(*na, {"preferredDuringSchedulingIgnoredDuringExecution"})) {
      for (const auto& t : *pref) {
        if (!t.is_object()) continue;
        const auto* term = api::ObjAt(t.get_object(), {"preference"});
        if (term == nullptr) continue;
        p->preferred_node_terms.push_back({static_cast<int32_t>(api::IntAt(t.get_object(), {"weight"}).value_or(0)),
                                           ParseNodeSelectorTerm(*term)});
      }
    }
  }
  if (const auto* pa = api::ObjAt(spec, {"affinity", "podAffinity"})) {
    ParseAffinityTerms(*pa, p->ns, p->required_affinity, p->preferred_affinity);
  }
  if (const auto* paa = api::ObjAt(spec, {"affinity", "podAntiAffinity"})) {
    ParseAffinityTerms(*paa, p->ns, p->required_anti_affinity, p->preferred_anti_affinity);
  }
  for (const auto* terms : {&p->required_affinity, &p->required_anti_affinity}) {
    for (const auto& t : *terms) p->any_namespace_selector |= t.namespace_selector.has_value();
  }
  for (const auto* terms : {&p->preferred_affinity, &p->preferred_anti_affinity}) {
    for (const auto& t : *terms) p->any_namespace_selector |= t.term.namespace_selector.has_value();
  }
  if (const auto* tols = api::ArrAt(spec, {"tolerations"})) {
    for (const auto& t : *tols) {
      if (!t.is_object()) continue;
      const auto& o = t.get_object();
      Toleration tol;
      tol.key = std::string(api::StrAt(o, {"key"}));
      tol.op = std::string(api::StrAt(o, {"operator"}, "Equal"));
      tol.value = std::string(api::StrAt(o, {"value"}));
      tol.effect = std::string(api::StrAt(o, {"effect"}));
      tol.toleration_seconds = api::IntAt(o, {"tolerationSeconds"});
      p->tolerations.push_back(std::move(tol));
    }
  }
  if (const auto* tscs = api::ArrAt(spec, {"topologySpreadConstraints"})) {
    for (const auto& t : *tscs) {
      if (!t.is_object()) continue;
      const auto& o = t.get_object();
      TopologySpreadConstraint c;
      c.max_skew = static_cast<int32_t>(api::IntAt(o, {"maxSkew"}).value_or(1));
      c.topology_key = std::string(api::StrAt(o, {"topologyKey"}));
      c.do_not_schedule = api::StrAt(o, {"whenUnsatisfiable"}, "DoNotSchedule") == "DoNotSchedule";
      c.selector = SelectorOf(api::At(o, {"labelSelector"}));
      c.min_domains = static_cast<int32_t>(api::IntAt(o, {"minDomains"}).value_or(1));
      c.node_affinity_policy_honor = api::StrAt(o, {"nodeAffinityPolicy"}, "Honor") == "Honor";
      c.node_taints_policy_honor = api::StrAt(o, {"nodeTaintsPolicy"}, "Ignore") == "Honor";
      p->spread_constraints.push_back(std::move(c));
    }
  }
  if (const auto* owners = api::ArrAt(pod, {"metadata", "ownerReferences"})) {
    for (const auto& o : *owners) {
      if (o.is_object() && api::BoolAt(o.get_object(), {"controller"})) {
        p->owner_kinds.emplace_back(api::StrAt(o.get_object(), {"kind"}));
      }
    }
  }
  p->obj = std::move(obj);
  return p;
}

void NodeInfo::SetNode(std::shared_ptr<const bj::object> n) {
  node = std::move(n);
  ++generation;
  labels.clear();
  taints.clear();
  image_sizes.clear();
  if (!node) return;
  labels = api::ObjectLabels(*node);
  unschedulable = api::BoolAt(*node, {"spec", "unschedulable"});
  if (const auto* ts = api::ArrAt(*node, {"spec", "taints"})) {
    for (const auto& t : *ts) {
      if (!t.is_object()) continue;
      taints.push_back({std::string(api::StrAt(t.get_object(), {"key"})), std::string(api::StrAt(t.get_object(), {"value"})),
                        std::string(api::StrAt(t.get_object(), {"effect"}))});
    }
  }
  const bj::object* alloc = api::ObjAt(*node, {"status", "allocatable"});
  if (alloc == nullptr) alloc = api::ObjAt(*node, {"status", "capacity"});
  allocatable = ParseResourceList(alloc);
  if (const auto* imgs = api::ArrAt(*node, {"status", "images"})) {
    for (const auto& im : *imgs) {
      if (!im.is_object()) continue;
      int64_t size = api::IntAt(im.get_object(), {"sizeBytes"}).value_or(0);
      if (const auto* names = api::ArrAt(im.get_object(), {"names"})) {
        for (const auto& nm : *names) {
          if (nm.is_string()) image_sizes[api::NormalizedImageName(nm.get_string())] = size;
        }
      }
    }
  }
}

void NodeInfo::AddPod(const PodInfoPtr& p) {
  pods.push_back(p);
  requested.Add(p->requests);
  non_zero_requested.milli_cpu += p->non_zero_requests.milli_cpu;
  non_zero_requested.memory += p->non_zero_requests.memory;
  if (p->HasAffinityTerms()) ++pods_with_affinity;
  if (!p->required_anti_affinity.empty()) ++pods_with_required_anti_affinity;
  if (p->ScoresAffinity()) ++pods_with_scored_affinity;
  for (const auto& hp : p->host_ports) used_ports.emplace(hp.protocol, hp.ip, hp.port);
  ++generation;
}

bool NodeInfo::RemovePod(const std::string& key) {
  for (size_t i = 0; i < pods.size(); ++i) {
    if (pods[i]->key != key) continue;
    PodInfoPtr p = pods[i];
    pods[i] = pods.back();
    pods.pop_back();
    requested.Sub(p->requests);
    non_zero_requested.milli_cpu -= p->non_zero_requests.milli_cpu;
    non_zero_requested.memory -= p->non_zero_requests.memory;
    if (p->HasAffinityTerms()) --pods_with_affinity;
    if (!p->required_anti_affinity.empty()) --pods_with_required_anti_affinity;
    if (p->ScoresAffinity()) --pods_with_scored_affinity;
    for (const auto& hp : p->host_ports) {
      auto it = used_ports.find({hp.protocol, hp.ip, hp.port});
      if (it != used_ports.end()) used_ports.erase(it);
    }
    ++generation;
    return true;
  }
  return false;
}

}  // namespace kubepp::scheduler
