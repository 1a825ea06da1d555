#include "controllers/daemonset/daemonset_controller.h"

#include <algorithm>
#include <map>

#include "api/object.h"
#include "api/time.h"
#include "controllers/deployment/deployment_controller.h"

namespace kubepp::controllers {
namespace {

constexpr const char* kRevisionLabel = "controller-revision-hash";

// The tolerations upstream gives every daemon pod.
void AddDaemonTolerations(bj::object& spec) {
  bj::array& tols = api::Arr(spec, "tolerations");
  auto add = [&](std::string_view key, std::string_view effect) {
    for (const auto& t : tols) {
      if (api::StrAt(t.get_object(), {"key"}) == key && api::StrAt(t.get_object(), {"effect"}) == effect) return;
    }
    tols.push_back(bj::object{{"key", key}, {"operator", "Exists"}, {"effect", effect}});
  };
  add("node.kubernetes.io/not-ready", "NoExecute");
  add("node.kubernetes.io/unreachable", "NoExecute");
  add("node.kubernetes.io/disk-pressure", "NoSchedule");
  add("node.kubernetes.io/memory-pressure", "NoSchedule");
  add("node.kubernetes.io/pid-pressure", "NoSchedule");
  add("node.kubernetes.io/unschedulable", "NoSchedule");
  if (api::BoolAt(spec, {"hostNetwork"})) add("node.kubernetes.io/network-unavailable", "NoSchedule");
}

}  // namespace

DaemonSetController::DaemonSetController(client::RestClient* client) : QueueController("daemonset", 3), client_(client) {}

void DaemonSetController::Init(InformerFactory* informers) {
  EnableEvents(client_, "daemonset-controller");
  daemonsets_ = informers->For("apps", "v1", "daemonsets");
  nodes_ = informers->For("", "v1", "nodes");
  pods_ = informers->For("", "v1", "pods");
  client::EventHandler sets = EnqueueKeys();
  sets.on_delete = [this](const client::ObjectPtr& o) { expectations_.Delete(client::KeyOf(*o)); };
  daemonsets_->AddEventHandler(sets);
  auto all = [this](const client::ObjectPtr&) {
    for (const auto& ds : daemonsets_->List()) queue().Add(client::KeyOf(*ds));
  };
  nodes_->AddEventHandler({all,
                           [this](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                             // Only what can change eligibility or availability.
                             if (!api::SameAt(*a, *b, {"metadata", "labels"}) || !api::SameAt(*a, *b, {"spec", "taints"}) ||
                                 !api::SameAt(*a, *b, {"status", "conditions"})) {
                               for (const auto& ds : daemonsets_->List()) queue().Add(client::KeyOf(*ds));
                             }
                           },
                           all});
  auto pod_event = [this](const client::ObjectPtr& p, int adds, int dels) {
    auto ref = GetControllerRef(*p);
    if (!ref || ref->kind != "DaemonSet") return;
    std::string key = std::string(api::Namespace(*p)) + "/" + ref->name;
    expectations_.Lower(key, adds, dels);
    queue().Add(key);
  };
  pods_->AddEventHandler({[pod_event](const client::ObjectPtr& p) { pod_event(p, 1, 0); },
                          [pod_event](const client::ObjectPtr&, const client::ObjectPtr& p) { pod_event(p, 0, 0); },
                          [pod_event](const client::ObjectPtr& p) { pod_event(p, 0, 1); }});
}

Status DaemonSetController::Reconcile(const std::string& key) {
  client::ObjectPtr dp = daemonsets_->Get(key);
  if (dp == nullptr) return Status::OK();
  const bj::object& ds = *dp;
  if (api::At(ds, {"metadata", "deletionTimestamp"}) != nullptr) return Status::OK();
  std::string ns(api::Namespace(ds)), name(api::Name(ds)), uid(api::Uid(ds));
  const bj::object* tmpl = api::ObjAt(ds, {"spec", "template"});
  if (tmpl == nullptr) return Status::OK();
  std::string hash = PodTemplateHash(*tmpl, api::IntAt(ds, {"status", "collisionCount"}).value_or(0));
  bj::object pod_spec = api::ObjAt(*tmpl, {"spec"}) ? *api::ObjAt(*tmpl, {"spec"}) : bj::object();
  AddDaemonTolerations(pod_spec);
  int64_t min_ready = api::IntAt(ds, {"spec", "minReadySeconds"}).value_or(0);
  auto now = std::chrono::system_clock::now();

  // Pods per node.
  std::map<std::string, std::vector<client::ObjectPtr>> by_node;
  for (const auto& p : pods_->ByIndex("namespace", ns)) {
    auto ref = GetControllerRef(*p);
    if (!ref || ref->uid != uid || api::At(*p, {"metadata", "deletionTimestamp"}) != nullptr) continue;
    std::string node(api::StrAt(*p, {"spec", "nodeName"}));
    if (node.empty()) {
      // Not bound yet: its node is in the matchFields affinity.
      if (const auto* terms = api::ArrAt(*p, {"spec", "affinity", "nodeAffinity",
                                              "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"})) {
        for (const auto& t : *terms) {
          if (const auto* f = api::ArrAt(t.get_object(), {"matchFields"}); f && !f->empty()) {
            if (const auto* vals = api::ArrAt((*f)[0].get_object(), {"values"}); vals && !vals->empty()) {
              node = std::string((*vals)[0].as_string());
            }
          }
        }
      }
    }
    by_node[node].push_back(p);
  }
  int64_t desired = 0, scheduled = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  std::vector<std::string> create_on;
  std::vector<client::ObjectPtr> remove, old_pods;
  int64_t unavailable = 0;
  for (const auto& n : nodes_->List()) {
    std::string node(api::Name(*n));
    bool should = NodeMatchesPodSelector(pod_spec, *n) && ToleratesTaints(pod_spec, *n, {"NoSchedule", "NoExecute"});
    auto it = by_node.find(node);
    std::vector<client::ObjectPtr> pods = it == by_node.end() ? std::vector<client::ObjectPtr>{} : it->second;
    if (it != by_node.end()) by_node.erase(it);
    if (!should) {
      if (!pods.empty()) ++misscheduled;
      remove.insert(remove.end(), pods.begin(), pods.end());
      continue;
    }
    ++desired;
    // Failed pods are replaced.
    std::vector<client::ObjectPtr> live;
    for (const auto& p : pods) {
      if (api::StrAt(*p, {"status", "phase"}) == "Failed") remove.push_back(p);
      else live.push_back(p);
    }
    if (live.empty()) {
      create_on.push_back(node);
      ++unavailable;
      continue;
    }
    ++scheduled;
    // One per node: extra pods go (keep the oldest).
    std::sort(live.begin(), live.end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
      return api::StrAt(*a, {"metadata", "creationTimestamp"}) < api::StrAt(*b, {"metadata", "creationTimestamp"});
    });
    for (size_t i = 1; i < live.size(); ++i) remove.push_back(live[i]);
    const bj::object& p = *live[0];
    bool is_new = api::StrAt(p, {"metadata", "labels", kRevisionLabel}) == hash;
    if (is_new) ++updated;
    else old_pods.push_back(live[0]);
    if (IsPodReady(p)) ++ready;
    if (IsPodAvailable(p, min_ready, now)) ++available;
    else ++unavailable;
  }
  for (auto& [node, pods] : by_node) remove.insert(remove.end(), pods.begin(), pods.end());  // nodes gone

  Status manage;
  if (expectations_.Satisfied(key)) {
    // Rolling update: replace old pods, at most maxUnavailable down at once.
    if (api::StrAt(ds, {"spec", "updateStrategy", "type"}, "RollingUpdate") == "RollingUpdate") {
      const bj::value* mu = api::At(ds, {"spec", "updateStrategy", "rollingUpdate", "maxUnavailable"});
      int64_t max_unavailable = 1;
      if (mu != nullptr && mu->is_int64()) max_unavailable = mu->get_int64();
      if (mu != nullptr && mu->is_string()) {
        std::string s(mu->get_string());
        int64_t v = std::strtoll(s.c_str(), nullptr, 10);
        max_unavailable = !s.empty() && s.back() == '%' ? std::max<int64_t>(1, desired * v / 100) : v;
      }
      // Old pods that are not available anyway go first.
      std::stable_sort(old_pods.begin(), old_pods.end(), [&](const client::ObjectPtr& a, const client::ObjectPtr& b) {
        return !IsPodAvailable(*a, min_ready, now) && IsPodAvailable(*b, min_ready, now);
      });
      int64_t budget = max_unavailable - unavailable;
      for (const auto& p : old_pods) {
        if (!IsPodAvailable(*p, min_ready, now)) remove.push_back(p);
        else if (budget-- > 0) remove.push_back(p);
      }
    }
    int adds = static_cast<int>(create_on.size()), dels = static_cast<int>(remove.size());
    expectations_.Expect(key, adds, dels);
    bj::object ref = NewControllerRef(ds, "apps/v1", "DaemonSet");
    for (const auto& p : remove) {
      auto r = client_->Delete(client::ResourcePath("", "v1", "pods", ns, std::string(api::Name(*p))));
      if (!r.ok()) {
        expectations_.DeletionObserved(key);
        if (!r.status().IsNotFound()) manage = r.status();
        continue;
      }
      events().Record(client::ObjectReference(ds, "apps/v1", "DaemonSet"), "Normal", "SuccessfulDelete",
                      "Deleted pod: " + std::string(api::Name(*p)));
    }
    int made = SlowStartBatch(adds, [&](int i) {
      bj::object pod = PodFromTemplate(*tmpl, ns, name, ref);
      bj::object spec = pod_spec;
      // Pinned to its node through the scheduler (matchFields), as upstream does.
      bj::object term{{"matchFields", bj::array{bj::object{{"key", "metadata.name"}, {"operator", "In"},
                                                           {"values", bj::array{bj::string(create_on[static_cast<size_t>(i)])}}}}}};
      api::Obj(api::Obj(api::Obj(spec, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution") =
          bj::object{{"nodeSelectorTerms", bj::array{term}}};
      pod["spec"] = std::move(spec);
      api::Obj(api::Meta(pod), "labels")[kRevisionLabel] = hash;
      api::Obj(api::Meta(pod), "labels")["pod-template-generation"] =
          std::to_string(api::IntAt(ds, {"metadata", "generation"}).value_or(1));
      auto r = client_->Post(client::ResourcePath("", "v1", "pods", ns), pod);
      if (!r.ok()) return false;
      events().Record(client::ObjectReference(ds, "apps/v1", "DaemonSet"), "Normal", "SuccessfulCreate",
                      "Created pod: " + std::string(api::StrAt(r->get_object(), {"metadata", "name"})));
      return true;
    });
    expectations_.Lower(key, adds - made, 0);
    if (made < adds) manage = Status::Internal("could not create every daemon pod");
  }
  bj::object status{{"currentNumberScheduled", scheduled},
                    {"numberMisscheduled", misscheduled},
                    {"desiredNumberScheduled", desired},
                    {"numberReady", ready},
                    {"updatedNumberScheduled", updated},
                    {"numberAvailable", available},
                    {"numberUnavailable", std::max<int64_t>(0, desired - available)},
                    {"observedGeneration", api::IntAt(ds, {"metadata", "generation"}).value_or(0)}};
  bool changed = false;
  for (const auto& [k, v] : status) {
    if (api::IntAt(ds, {"status", k}).value_or(-1) != v.as_int64()) changed = true;
  }
  if (changed) {
    auto r = client_->Patch(client::ResourcePath("apps", "v1", "daemonsets", ns, name, "status"),
                            "application/merge-patch+json", bj::object{{"status", std::move(status)}});
    if (!r.ok() && !r.status().IsNotFound()) return r.status();
  }
  if (min_ready > 0 && available < ready) queue().AddAfter(key, std::chrono::seconds(min_ready));
  return manage;
}

}  // namespace kubepp::controllers
