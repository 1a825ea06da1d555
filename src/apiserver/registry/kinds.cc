// The built-in resources: names, scopes, verbs, subresources, storage and
// the strategy hooks that are not defaulting, validation or tables (those are
// added by defaults.cc, validation.cc and tables.cc).
#include <algorithm>

#include "api/object.h"
#include "api/time.h"
#include "apiserver/registry/resource.h"

namespace kubepp::apiserver {

void InstallDefaults(ResourceRegistry& registry);
void InstallValidation(ResourceRegistry& registry);
void InstallTables(ResourceRegistry& registry);

namespace {

using api::StrAt;

const std::vector<std::string> kCreateOnly = {"create"};
const std::vector<std::string> kNoDeleteCollection = {"create", "delete", "get", "list", "patch", "update", "watch"};

Subresource Status(const std::string& group, const std::string& version, const std::string& kind) {
  return {"status", group, version, kind, {"get", "patch", "update"}};
}
Subresource Scale() { return {"scale", "autoscaling", "v1", "Scale", {"get", "patch", "update"}}; }

void ClearStatus(bj::object& obj) { obj["status"] = bj::object(); }

std::optional<std::string> Str(const bj::object& o, std::initializer_list<std::string_view> path) {
  const bj::value* v = api::At(o, path);
  if (v == nullptr || v->is_null()) return std::string();
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_bool()) return std::string(v->get_bool() ? "true" : "false");
  if (v->is_int64()) return std::to_string(v->get_int64());
  return bj::serialize(*v);
}

// The pod's QoS class from its containers' requests and limits.
std::string QosClass(const bj::object& pod) {
  bool any = false;
  bool guaranteed = true;
  auto visit = [&](const bj::array* containers) {
    if (containers == nullptr) return;
    for (const auto& c : *containers) {
      if (!c.is_object()) continue;
      const bj::object* req = api::ObjAt(c.get_object(), {"resources", "requests"});
      const bj::object* lim = api::ObjAt(c.get_object(), {"resources", "limits"});
      for (std::string_view r : {"cpu", "memory"}) {
        const bj::value* rq = req != nullptr ? req->if_contains(r) : nullptr;
        const bj::value* lm = lim != nullptr ? lim->if_contains(r) : nullptr;
        if (rq != nullptr || lm != nullptr) any = true;
        if (lm == nullptr) guaranteed = false;
        if (rq != nullptr && lm != nullptr && *rq != *lm) guaranteed = false;
      }
    }
  };
  visit(api::ArrAt(pod, {"spec", "containers"}));
  visit(api::ArrAt(pod, {"spec", "initContainers"}));
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

// Through /status the certificate and other conditions may change but not
// the Approved/Denied ones; through /approval only the conditions may
// (upstream's statusStrategy and approvalStrategy). Condition times are
// filled in as upstream does.
void PrepareCsrStatusUpdate(bj::object& o, const bj::object& old, std::string_view sub) {
  auto is_approval = [](const bj::value& c) {
    std::string_view t = c.is_object() ? api::StrAt(c.get_object(), {"type"}) : std::string_view();
    return t == "Approved" || t == "Denied";
  };
  bj::object& status = api::Obj(o, "status");
  const bj::array* old_conds = api::ArrAt(old, {"status", "conditions"});
  if (sub == "approval") {
    if (const bj::value* cert = api::At(old, {"status", "certificate"})) {
      status["certificate"] = *cert;
    } else {
      status.erase("certificate");
    }
  } else {
    bj::array kept;
    if (const bj::array* conds = api::ArrAt(o, {"status", "conditions"})) {
      for (const auto& c : *conds) {
        if (!is_approval(c)) kept.push_back(c);
      }
    }
    if (old_conds != nullptr) {
      for (const auto& c : *old_conds) {
        if (is_approval(c)) kept.push_back(c);
      }
    }
    if (kept.empty()) status.erase("conditions"); else status["conditions"] = std::move(kept);
  }
  bj::value* cv = status.if_contains("conditions");
  if (cv == nullptr || !cv->is_array()) return;
  std::string now = api::FormatTime(std::chrono::system_clock::now());
  for (auto& c : cv->get_array()) {
    if (!c.is_object()) continue;
    bj::object& co = c.get_object();
    if (api::StrAt(co, {"lastUpdateTime"}).empty()) co["lastUpdateTime"] = now;
    if (!api::StrAt(co, {"lastTransitionTime"}).empty()) continue;
    co["lastTransitionTime"] = now;
    if (old_conds == nullptr) continue;
    for (const auto& oc : *old_conds) {
      if (!oc.is_object()) continue;
      const bj::object& oco = oc.get_object();
      if (api::StrAt(oco, {"type"}) == api::StrAt(co, {"type"}) && api::StrAt(oco, {"status"}) == api::StrAt(co, {"status"}) &&
          !api::StrAt(oco, {"lastTransitionTime"}).empty()) {
        co["lastTransitionTime"] = oco.at("lastTransitionTime");
      }
    }
  }
}

ResourceDef Def(std::string group, std::string version, std::string resource, std::string singular,
                std::string kind, bool namespaced) {
  ResourceDef d;
  d.group = std::move(group);
  d.version = std::move(version);
  d.resource = std::move(resource);
  d.singular = std::move(singular);
  d.kind = std::move(kind);
  d.namespaced = namespaced;
  return d;
}

void InstallCore(ResourceRegistry& r) {
  {
    auto d = Def("", "v1", "namespaces", "namespace", "Namespace", false);
    d.short_names = {"ns"};
    d.verbs = kNoDeleteCollection;
    d.subresources = {{"finalize", "", "v1", "Namespace", {"update"}}, Status("", "v1", "Namespace")};
    d.name_rule = NameRule::kLabel;
    d.hooks.prepare_create = [](bj::object& o) {
      o["status"] = bj::object{{"phase", "Active"}};
      bj::object& spec = api::Obj(o, "spec");
      if (!spec.contains("finalizers")) spec["finalizers"] = bj::array{"kubernetes"};
    };
    d.hooks.field_names = {"status.phase"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "status.phase") return Str(o, {"status", "phase"});
      return std::nullopt;
    };
    // Deleting a namespace makes it Terminating; the namespace controller
    // empties it and clears spec.finalizers through /finalize.
    d.hooks.soft_delete = [](bj::object& o) {
      const bj::array* fins = api::ArrAt(o, {"spec", "finalizers"});
      if (fins == nullptr || fins->empty()) return false;
      api::Obj(o, "status")["phase"] = "Terminating";
      return true;
    };
    d.hooks.pending_finalizers = [](const bj::object& o) {
      const bj::array* fins = api::ArrAt(o, {"spec", "finalizers"});
      return fins != nullptr && !fins->empty();
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "pods", "pod", "Pod", true);
    d.short_names = {"po"};
    d.categories = {"all"};
    d.subresources = {{"attach", "", "v1", "PodAttachOptions", {"create", "get"}},
                      {"binding", "", "v1", "Binding", {"create"}},
                      {"ephemeralcontainers", "", "v1", "Pod", {"get", "patch", "update"}},
                      {"eviction", "policy", "v1", "Eviction", {"create"}},
                      {"exec", "", "v1", "PodExecOptions", {"create", "get"}},
                      {"log", "", "v1", "Pod", {"get"}},
                      {"portforward", "", "v1", "PodPortForwardOptions", {"create", "get"}},
                      {"proxy", "", "v1", "PodProxyOptions", {"create", "delete", "get", "patch", "update"}},
                      Status("", "v1", "Pod")};
    d.hooks.prepare_create = [](bj::object& o) {
      bj::object status;
      status["phase"] = "Pending";
      status["qosClass"] = QosClass(o);
      o["status"] = std::move(status);
    };
    d.hooks.field_names = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                           "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "spec.nodeName") return Str(o, {"spec", "nodeName"});
      if (f == "spec.restartPolicy") return Str(o, {"spec", "restartPolicy"});
      if (f == "spec.schedulerName") return Str(o, {"spec", "schedulerName"});
      if (f == "spec.serviceAccountName") return Str(o, {"spec", "serviceAccountName"});
      if (f == "spec.hostNetwork") return std::string(api::BoolAt(o, {"spec", "hostNetwork"}) ? "true" : "false");
      if (f == "status.phase") return Str(o, {"status", "phase"});
      if (f == "status.podIP") return Str(o, {"status", "podIP"});
      if (f == "status.nominatedNodeName") return Str(o, {"status", "nominatedNodeName"});
      return std::nullopt;
    };
    // Pods on a node end gracefully: their kubelet finishes the deletion.
    d.hooks.grace_period = [](const bj::object& o) -> std::optional<int64_t> {
      if (StrAt(o, {"spec", "nodeName"}).empty()) return std::nullopt;
      std::string_view phase = StrAt(o, {"status", "phase"});
      if (phase == "Succeeded" || phase == "Failed") return std::nullopt;
      return api::IntAt(o, {"spec", "terminationGracePeriodSeconds"}).value_or(30);
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "bindings", "binding", "Binding", true);
    d.verbs = kCreateOnly;
    d.stored = false;
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "nodes", "node", "Node", false);
    d.short_names = {"no"};
    d.subresources = {{"proxy", "", "v1", "NodeProxyOptions", {"create", "delete", "get", "patch", "update"}},
                      Status("", "v1", "Node")};
    d.hooks.field_names = {"spec.unschedulable"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "spec.unschedulable") return std::string(api::BoolAt(o, {"spec", "unschedulable"}) ? "true" : "false");
      return std::nullopt;
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "services", "service", "Service", true);
    d.short_names = {"svc"};
    d.categories = {"all"};
    d.subresources = {{"proxy", "", "v1", "ServiceProxyOptions", {"create", "delete", "get", "patch", "update"}},
                      Status("", "v1", "Service")};
    d.name_rule = NameRule::kLabel1035;
    d.hooks.prepare_create = [](bj::object& o) { o["status"] = bj::object{{"loadBalancer", bj::object()}}; };
    d.hooks.field_names = {"spec.clusterIP", "spec.type"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "spec.clusterIP") return Str(o, {"spec", "clusterIP"});
      if (f == "spec.type") return Str(o, {"spec", "type"});
      return std::nullopt;
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "endpoints", "endpoints", "Endpoints", true);
    d.short_names = {"ep"};
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", true);
    d.short_names = {"rc"};
    d.categories = {"all"};
    d.subresources = {Scale(), Status("", "v1", "ReplicationController")};
    d.track_generation = true;
    d.hooks.prepare_create = [](bj::object& o) { o["status"] = bj::object{{"replicas", 0}}; };
    d.hooks.field_names = {"status.replicas"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "status.replicas") return std::to_string(api::IntAt(o, {"status", "replicas"}).value_or(0));
      return std::nullopt;
    };
    r.Add(std::move(d));
  }
  for (auto [res, sing, kind, shorts] :
       {std::tuple<const char*, const char*, const char*, std::vector<std::string>>{"configmaps", "configmap", "ConfigMap", {"cm"}},
        {"secrets", "secret", "Secret", {}},
        {"serviceaccounts", "serviceaccount", "ServiceAccount", {"sa"}},
        {"limitranges", "limitrange", "LimitRange", {"limits"}},
        {"podtemplates", "podtemplate", "PodTemplate", {}}}) {
    auto d = Def("", "v1", res, sing, kind, true);
    d.short_names = shorts;
    d.has_status = false;
    if (std::string_view(res) == "serviceaccounts") {
      d.subresources = {{"token", "authentication.k8s.io", "v1", "TokenRequest", {"create"}}};
    }
    if (std::string_view(res) == "secrets") {
      d.hooks.field_names = {"type"};
      d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
        if (f == "type") return Str(o, {"type"});
        return std::nullopt;
      };
    }
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "events", "event", "Event", true);
    d.short_names = {"ev"};
    d.has_status = false;
    d.hooks.field_names = {"involvedObject.kind",      "involvedObject.namespace", "involvedObject.name",
                           "involvedObject.uid",       "involvedObject.apiVersion", "involvedObject.resourceVersion",
                           "involvedObject.fieldPath", "reason",                   "reportingComponent",
                           "source",                   "type"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f.starts_with("involvedObject.")) {
        std::string key(f.substr(15));
        return Str(o, {"involvedObject", key});
      }
      if (f == "reason") return Str(o, {"reason"});
      if (f == "reportingComponent") return Str(o, {"reportingComponent"});
      if (f == "source") return Str(o, {"source", "component"});
      if (f == "type") return Str(o, {"type"});
      return std::nullopt;
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", true);
    d.short_names = {"quota"};
    d.subresources = {Status("", "v1", "ResourceQuota")};
    d.hooks.prepare_create = ClearStatus;
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false);
    d.short_names = {"pv"};
    d.subresources = {Status("", "v1", "PersistentVolume")};
    d.hooks.prepare_create = [](bj::object& o) { o["status"] = bj::object{{"phase", "Pending"}}; };
    r.Add(std::move(d));
  }
  {
    auto d = Def("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true);
    d.short_names = {"pvc"};
    d.subresources = {Status("", "v1", "PersistentVolumeClaim")};
    d.hooks.prepare_create = [](bj::object& o) { o["status"] = bj::object{{"phase", "Pending"}}; };
    r.Add(std::move(d));
  }
}

void Workload(ResourceRegistry& r, std::string group, std::string resource, std::string singular, std::string kind,
              std::vector<std::string> shorts, bool scale, std::vector<std::string> field_names = {}) {
  auto d = Def(group, "v1", resource, singular, kind, true);
  d.short_names = std::move(shorts);
  d.categories = {"all"};
  if (scale) d.subresources.push_back(Scale());
  d.subresources.push_back(Status(group, "v1", kind));
  d.track_generation = true;
  d.hooks.prepare_create = ClearStatus;
  if (!field_names.empty()) {
    d.hooks.field_names = field_names;
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "status.replicas") return std::to_string(api::IntAt(o, {"status", "replicas"}).value_or(0));
      if (f == "status.successful") return std::to_string(api::IntAt(o, {"status", "succeeded"}).value_or(0));
      return std::nullopt;
    };
  }
  r.Add(std::move(d));
}

// autoscaling/v1 <-> v2 (v2 is stored).
void HpaV1ToV2(bj::object& o) {
  o["apiVersion"] = "autoscaling/v2";
  bj::object& spec = api::Obj(o, "spec");
  if (auto* t = spec.if_contains("targetCPUUtilizationPercentage"); t != nullptr && t->is_int64()) {
    bj::object target{{"type", "Utilization"}, {"averageUtilization", t->get_int64()}};
    bj::object res{{"name", "cpu"}, {"target", std::move(target)}};
    spec["metrics"] = bj::array{bj::object{{"type", "Resource"}, {"resource", std::move(res)}}};
    spec.erase("targetCPUUtilizationPercentage");
  }
  if (auto* st = o.if_contains("status"); st != nullptr && st->is_object()) {
    bj::object& s = st->get_object();
    if (auto* c = s.if_contains("currentCPUUtilizationPercentage"); c != nullptr && c->is_int64()) {
      bj::object cur{{"averageUtilization", c->get_int64()}};
      bj::object res{{"name", "cpu"}, {"current", std::move(cur)}};
      s["currentMetrics"] = bj::array{bj::object{{"type", "Resource"}, {"resource", std::move(res)}}};
      s.erase("currentCPUUtilizationPercentage");
    }
  }
}

void HpaV2ToV1(bj::object& o) {
  o["apiVersion"] = "autoscaling/v1";
  bj::object& spec = api::Obj(o, "spec");
  if (const auto* ms = spec.if_contains("metrics"); ms != nullptr && ms->is_array()) {
    for (const auto& m : ms->get_array()) {
      if (!m.is_object()) continue;
      if (StrAt(m.get_object(), {"resource", "name"}) == "cpu") {
        if (auto u = api::IntAt(m.get_object(), {"resource", "target", "averageUtilization"})) {
          spec["targetCPUUtilizationPercentage"] = *u;
        }
      }
    }
  }
  spec.erase("metrics");
  spec.erase("behavior");
  if (auto* st = o.if_contains("status"); st != nullptr && st->is_object()) {
    bj::object& s = st->get_object();
    if (const auto* cm = s.if_contains("currentMetrics"); cm != nullptr && cm->is_array()) {
      for (const auto& m : cm->get_array()) {
        if (!m.is_object()) continue;
        if (StrAt(m.get_object(), {"resource", "name"}) == "cpu") {
          if (auto u = api::IntAt(m.get_object(), {"resource", "current", "averageUtilization"})) {
            s["currentCPUUtilizationPercentage"] = *u;
          }
        }
      }
    }
    s.erase("currentMetrics");
    s.erase("conditions");
  }
}

// events.k8s.io/v1 <-> core/v1 Event (core is stored).
void EventsV1ToCore(bj::object& o) {
  o["apiVersion"] = "v1";
  auto move = [&](std::string_view from, std::string_view to) {
    if (auto it = o.find(from); it != o.end()) {
      bj::value v = it->value();
      o.erase(it);
      o[to] = std::move(v);
    }
  };
  move("regarding", "involvedObject");
  move("note", "message");
  move("deprecatedSource", "source");
  move("deprecatedFirstTimestamp", "firstTimestamp");
  move("deprecatedLastTimestamp", "lastTimestamp");
  move("deprecatedCount", "count");
  move("reportingController", "reportingComponent");
}

void CoreToEventsV1(bj::object& o) {
  o["apiVersion"] = "events.k8s.io/v1";
  auto move = [&](std::string_view from, std::string_view to) {
    if (auto it = o.find(from); it != o.end()) {
      bj::value v = it->value();
      o.erase(it);
      o[to] = std::move(v);
    }
  };
  move("involvedObject", "regarding");
  move("message", "note");
  move("source", "deprecatedSource");
  move("firstTimestamp", "deprecatedFirstTimestamp");
  move("lastTimestamp", "deprecatedLastTimestamp");
  move("count", "deprecatedCount");
  move("reportingComponent", "reportingController");
}

void InstallGroups(ResourceRegistry& r) {
  Workload(r, "apps", "deployments", "deployment", "Deployment", {"deploy"}, true);
  Workload(r, "apps", "replicasets", "replicaset", "ReplicaSet", {"rs"}, true, {"status.replicas"});
  Workload(r, "apps", "statefulsets", "statefulset", "StatefulSet", {"sts"}, true);
  Workload(r, "apps", "daemonsets", "daemonset", "DaemonSet", {"ds"}, false);
  {
    auto d = Def("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true);
    d.has_status = false;
    r.Add(std::move(d));
  }
  Workload(r, "batch", "jobs", "job", "Job", {}, false, {"status.successful"});
  Workload(r, "batch", "cronjobs", "cronjob", "CronJob", {"cj"}, false);
  for (std::string version : {"v2", "v1"}) {
    auto d = Def("autoscaling", version, "horizontalpodautoscalers", "horizontalpodautoscaler",
                 "HorizontalPodAutoscaler", true);
    d.short_names = {"hpa"};
    d.categories = {"all"};
    d.subresources = {Status("autoscaling", version, "HorizontalPodAutoscaler")};
    d.hooks.prepare_create = ClearStatus;
    if (version == "v1") {
      d.to_storage = HpaV1ToV2;
      d.from_storage = HpaV2ToV1;
    }
    r.Add(std::move(d));
  }
  {
    auto d = Def("certificates.k8s.io", "v1", "certificatesigningrequests", "certificatesigningrequest",
                 "CertificateSigningRequest", false);
    d.short_names = {"csr"};
    d.subresources = {{"approval", "certificates.k8s.io", "v1", "CertificateSigningRequest", {"get", "patch", "update"}},
                      Status("certificates.k8s.io", "v1", "CertificateSigningRequest")};
    d.hooks.prepare_create = ClearStatus;
    // The requester is whoever created it, never what the body claims.
    d.hooks.record_user = [](bj::object& o, const UserInfo& u) {
      bj::object& spec = api::Obj(o, "spec");
      spec["username"] = u.name;
      if (u.uid.empty()) spec.erase("uid"); else spec["uid"] = u.uid;
      bj::array groups;
      for (const auto& g : u.groups) groups.emplace_back(g);
      if (groups.empty()) spec.erase("groups"); else spec["groups"] = std::move(groups);
      spec.erase("extra");
    };
    // The main resource changes metadata only.
    d.hooks.prepare_update = [](bj::object& o, const bj::object& old) {
      if (const auto* spec = old.if_contains("spec")) o["spec"] = *spec;
    };
    d.hooks.prepare_status_update = PrepareCsrStatusUpdate;
    d.hooks.field_names = {"spec.signerName"};
    d.hooks.fields = [](const bj::object& o, std::string_view f) -> std::optional<std::string> {
      if (f == "spec.signerName") return Str(o, {"spec", "signerName"});
      return std::nullopt;
    };
    r.Add(std::move(d));
  }
  {
    auto d = Def("coordination.k8s.io", "v1", "leases", "lease", "Lease", true);
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true);
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("events.k8s.io", "v1", "events", "event", "Event", true);
    d.short_names = {"ev"};
    d.has_status = false;
    d.key_prefix = "/registry/events/";  // one store for both event APIs
    d.to_storage = EventsV1ToCore;
    d.from_storage = CoreToEventsV1;
    r.Add(std::move(d));
  }
  {
    auto d = Def("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true);
    d.short_names = {"netpol"};
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true);
    d.short_names = {"ing"};
    d.subresources = {Status("networking.k8s.io", "v1", "Ingress")};
    d.track_generation = true;
    d.hooks.prepare_create = ClearStatus;
    r.Add(std::move(d));
  }
  {
    auto d = Def("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", false);
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true);
    d.short_names = {"pdb"};
    d.subresources = {Status("policy", "v1", "PodDisruptionBudget")};
    d.track_generation = true;
    d.hooks.prepare_create = ClearStatus;
    r.Add(std::move(d));
  }
  for (auto [res, sing, kind, ns] : {std::tuple<const char*, const char*, const char*, bool>{"roles", "role", "Role", true},
                                     {"rolebindings", "rolebinding", "RoleBinding", true},
                                     {"clusterroles", "clusterrole", "ClusterRole", false},
                                     {"clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false}}) {
    auto d = Def("rbac.authorization.k8s.io", "v1", res, sing, kind, ns);
    d.has_status = false;
    d.name_rule = NameRule::kPathSegment;
    r.Add(std::move(d));
  }
  {
    auto d = Def("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", false);
    d.short_names = {"pc"};
    d.has_status = false;
    r.Add(std::move(d));
  }
  {
    auto d = Def("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", false);
    d.short_names = {"sc"};
    d.has_status = false;
    r.Add(std::move(d));
  }
  for (auto [res, sing, kind, ns] :
       {std::tuple<const char*, const char*, const char*, bool>{"selfsubjectaccessreviews", "selfsubjectaccessreview",
                                                               "SelfSubjectAccessReview", false},
        {"subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview", false},
        {"localsubjectaccessreviews", "localsubjectaccessreview", "LocalSubjectAccessReview", true},
        {"selfsubjectrulesreviews", "selfsubjectrulesreview", "SelfSubjectRulesReview", false}}) {
    auto d = Def("authorization.k8s.io", "v1", res, sing, kind, ns);
    d.verbs = kCreateOnly;
    d.stored = false;
    r.Add(std::move(d));
  }
  for (auto [res, sing, kind] : {std::tuple<const char*, const char*, const char*>{"selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview"},
                                 {"tokenreviews", "tokenreview", "TokenReview"}}) {
    auto d = Def("authentication.k8s.io", "v1", res, sing, kind, false);
    d.verbs = kCreateOnly;
    d.stored = false;
    r.Add(std::move(d));
  }
}

}  // namespace

void InstallAllResources(ResourceRegistry& registry) {
  InstallCore(registry);
  InstallGroups(registry);
  InstallDefaults(registry);
  InstallValidation(registry);
  InstallTables(registry);
}

}  // namespace kubepp::apiserver
