// Defaulting per kind (upstream's SetDefaults_* and PrepareForCreate
// defaults), following docs/reference/defaults.md.
//
// Note on references: inserting a member into a bj::object may move its
// members, so a reference to a child object is never used after something
// was inserted into its parent.
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "apiserver/registry/hooks_util.h"
#include "common/base64.h"

namespace kubepp::apiserver {

namespace {

using api::Obj;
using api::ObjAt;
using api::SetDefault;
using api::StrAt;
using Defaulter = std::function<void(bj::object&)>;

// A nil pointer field.
bool Missing(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v == nullptr || v->is_null();
}

// Go's zero value of a plain (non-pointer) field or an empty list/map:
// absent, null, "", 0, [] or {}.
bool IsEmpty(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_string()) return v->get_string().empty();
  if (v->is_int64()) return v->get_int64() == 0;
  if (v->is_uint64()) return v->get_uint64() == 0;
  if (v->is_double()) return v->get_double() == 0;
  if (v->is_array()) return v->get_array().empty();
  if (v->is_object()) return v->get_object().empty();
  return false;
}

// Defaulting of a plain field ("when empty"); SetDefault is for pointers ("when absent").
void SetIfEmpty(bj::object& o, std::string_view key, bj::value v) {
  if (IsEmpty(o, key)) o[key] = std::move(v);
}

// The member `key` if it is an object (never creates it).
bj::object* Child(bj::object& o, std::string_view key) {
  bj::value* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

// Calls `fn` on every object in the array member `key`.
template <typename F>
void Each(bj::object& o, std::string_view key, F&& fn) {
  bj::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return;
  for (bj::value& e : v->get_array()) {
    if (e.is_object()) fn(e.get_object());
  }
}

// Whether parsers.ParseImageName reports the tag "latest": an explicit
// ":latest", or neither tag nor digest. A reference that does not parse
// (upper-case repository, bad digest, ...) has no tag.
bool PullsLatestUncached(std::string_view image);

// The same few images come by again and again: remember recent answers.
bool PullsLatest(std::string_view image) {
  thread_local std::unordered_map<std::string, bool> memo;
  if (auto it = memo.find(std::string(image)); it != memo.end()) return it->second;
  bool latest = PullsLatestUncached(image);
  if (memo.size() >= 512) memo.clear();
  memo.emplace(std::string(image), latest);
  return latest;
}

bool PullsLatestUncached(std::string_view image) {
  // distribution/reference's grammar: name, optional tag, optional digest
  // (only the digest algorithms the go-digest package knows are valid).
  static const std::regex kReference(
      R"(((?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)"
      R"(|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?)"
      R"([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*))"
      R"((?::([\w][\w.-]{0,127}))?(@(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?)");
  static const std::regex kIdentifier("[a-f0-9]{64}");  // an image ID is not a reference
  // The longest valid reference is well below this; the bound keeps std::regex's recursion shallow.
  if (image.size() > 512) return false;
  const char* begin = image.data();
  const char* end = begin + image.size();
  std::cmatch m;
  if (!std::regex_match(begin, end, m, kReference) || std::regex_match(begin, end, kIdentifier)) return false;
  if (m.length(1) > 255) return false;
  return m[2].matched ? m.str(2) == "latest" : !m[3].matched;
}

// fieldRef / resourceFieldRef holders: env[*].valueFrom, downward API items.
void DefaultFieldSelectors(bj::object& holder) {
  if (bj::object* f = Child(holder, "fieldRef")) SetIfEmpty(*f, "apiVersion", "v1");
  // The divisor is a non-pointer Quantity: upstream always emits it.
  if (bj::object* r = Child(holder, "resourceFieldRef")) SetDefault(*r, "divisor", "0");
}

// A probe or lifecycle handler.
void DefaultHandler(bj::object& handler) {
  if (bj::object* h = Child(handler, "httpGet")) {
    SetIfEmpty(*h, "path", "/");
    SetIfEmpty(*h, "scheme", "HTTP");
  }
}

void DefaultProbe(bj::object& probe) {
  SetIfEmpty(probe, "timeoutSeconds", 1);
  SetIfEmpty(probe, "periodSeconds", 10);
  SetIfEmpty(probe, "successThreshold", 1);
  SetIfEmpty(probe, "failureThreshold", 3);
  DefaultHandler(probe);
  if (bj::object* g = Child(probe, "grpc")) SetDefault(*g, "service", "");
}

// Containers, init containers and ephemeral containers.
void DefaultContainer(bj::object& c) {
  if (IsEmpty(c, "imagePullPolicy")) {
    bool latest = PullsLatest(StrAt(c, {"image"}));
    c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
  }
  SetIfEmpty(c, "terminationMessagePath", "/dev/termination-log");
  SetIfEmpty(c, "terminationMessagePolicy", "File");
  SetDefault(c, "resources", bj::object());  // a non-pointer struct: upstream emits "resources: {}"
  Each(c, "ports", [](bj::object& p) { SetIfEmpty(p, "protocol", "TCP"); });
  for (std::string_view probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (bj::object* p = Child(c, probe)) DefaultProbe(*p);
  }
  if (bj::object* lifecycle = Child(c, "lifecycle")) {
    for (std::string_view hook : {"postStart", "preStop"}) {
      if (bj::object* h = Child(*lifecycle, hook)) DefaultHandler(*h);
    }
  }
  Each(c, "env", [](bj::object& e) {
    if (bj::object* from = Child(e, "valueFrom")) DefaultFieldSelectors(*from);
  });
}

void DefaultPvcSpec(bj::object& spec) { SetDefault(spec, "volumeMode", "Filesystem"); }

// A PersistentVolumeClaim object (also StatefulSet volumeClaimTemplates).
void DefaultPvc(bj::object& pvc) {
  DefaultPvcSpec(Obj(pvc, "spec"));
  SetIfEmpty(Obj(pvc, "status"), "phase", "Pending");
}

// Sources shared by pod volumes and PersistentVolume specs.
void DefaultVolumeSource(bj::object& src) {
  if (bj::object* h = Child(src, "hostPath")) SetDefault(*h, "type", "");
  if (bj::object* s = Child(src, "iscsi")) SetIfEmpty(*s, "iscsiInterface", "default");
  if (bj::object* s = Child(src, "rbd")) {
    SetIfEmpty(*s, "pool", "rbd");
    SetIfEmpty(*s, "user", "admin");
    SetIfEmpty(*s, "keyring", "/etc/ceph/keyring");
  }
  if (bj::object* s = Child(src, "azureDisk")) {
    SetDefault(*s, "cachingMode", "ReadWrite");
    SetDefault(*s, "fsType", "ext4");
    SetDefault(*s, "readOnly", false);
    SetDefault(*s, "kind", "Shared");
  }
  if (bj::object* s = Child(src, "scaleIO")) {
    SetIfEmpty(*s, "storageMode", "ThinProvisioned");
    SetIfEmpty(*s, "fsType", "xfs");
  }
}

void DefaultVolume(bj::object& v) {
  bool has_source = false;
  for (const auto& [k, val] : v) has_source |= k != "name" && !val.is_null();
  if (!has_source) v["emptyDir"] = bj::object();
  for (std::string_view kind : {"secret", "configMap", "downwardAPI", "projected"}) {
    if (bj::object* s = Child(v, kind)) SetDefault(*s, "defaultMode", 420);
  }
  if (bj::object* d = Child(v, "downwardAPI")) Each(*d, "items", DefaultFieldSelectors);
  if (bj::object* p = Child(v, "projected")) {
    Each(*p, "sources", [](bj::object& s) {
      if (bj::object* t = Child(s, "serviceAccountToken")) SetDefault(*t, "expirationSeconds", 3600);
      if (bj::object* d = Child(s, "downwardAPI")) Each(*d, "items", DefaultFieldSelectors);
    });
  }
  if (bj::object* e = Child(v, "ephemeral")) {
    if (bj::object* t = Child(*e, "volumeClaimTemplate")) DefaultPvcSpec(Obj(*t, "spec"));
  }
  DefaultVolumeSource(v);
}

// SetDefaults_PodSpec, plus SetDefaults_Pod when `is_pod` (not in templates).
void DefaultPodSpec(bj::object& spec, bool is_pod) {
  SetIfEmpty(spec, "dnsPolicy", "ClusterFirst");
  SetIfEmpty(spec, "restartPolicy", "Always");
  SetDefault(spec, "securityContext", bj::object());
  SetDefault(spec, "terminationGracePeriodSeconds", 30);
  SetIfEmpty(spec, "schedulerName", "default-scheduler");
  if (is_pod) SetDefault(spec, "enableServiceLinks", true);
  for (std::string_view list : {"containers", "initContainers", "ephemeralContainers"}) {
    Each(spec, list, DefaultContainer);
  }
  Each(spec, "volumes", DefaultVolume);
  if (!is_pod) return;
  bool host_network = api::BoolAt(spec, {"hostNetwork"});
  for (std::string_view list : {"containers", "initContainers"}) {
    Each(spec, list, [&](bj::object& c) {
      // Requests default to limits.
      const bj::object* limits = ObjAt(c, {"resources", "limits"});
      if (limits != nullptr && !limits->empty()) {
        bj::object copy = *limits;
        bj::object& requests = Obj(Obj(c, "resources"), "requests");
        for (const auto& [k, q] : copy) {
          if (!requests.contains(k)) requests[k] = q;
        }
      }
      if (host_network) {
        Each(c, "ports", [](bj::object& p) {
          if (const bj::value* cp = p.if_contains("containerPort"); cp != nullptr && IsEmpty(p, "hostPort")) {
            bj::value port = *cp;
            p["hostPort"] = std::move(port);
          }
        });
      }
    });
  }
}

void DefaultPodTemplate(bj::object& tmpl) { DefaultPodSpec(Obj(tmpl, "spec"), false); }

// metadata.labels default to the pod template's labels (ReplicationController, Job).
void LabelsFromTemplate(bj::object& o) {
  const bj::object* labels = ObjAt(o, {"spec", "template", "metadata", "labels"});
  const bj::object* own = ObjAt(o, {"metadata", "labels"});
  if (labels == nullptr || labels->empty() || (own != nullptr && !own->empty())) return;
  bj::object copy = *labels;
  api::Meta(o)["labels"] = std::move(copy);
}

void DefaultPod(bj::object& o) { DefaultPodSpec(Obj(o, "spec"), true); }

void DefaultPodTemplateKind(bj::object& o) { DefaultPodTemplate(Obj(o, "template")); }

void DefaultReplicationController(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "replicas", 1);
  if (bj::object* t = Child(spec, "template")) DefaultPodTemplate(*t);
  const bj::object* labels = ObjAt(spec, {"template", "metadata", "labels"});
  if (labels != nullptr && !labels->empty() && IsEmpty(spec, "selector")) {
    bj::object copy = *labels;
    spec["selector"] = std::move(copy);
  }
  LabelsFromTemplate(o);
}

// The headless, selector-less service is the one case that gets both families.
void DefaultIpFamilies(bj::object& spec) {
  std::string cluster_ip(StrAt(spec, {"clusterIP"}));
  if (!cluster_ip.empty() && IsEmpty(spec, "clusterIPs")) spec["clusterIPs"] = bj::array{bj::value(cluster_ip)};
  bool headless_selectorless = cluster_ip == "None" && IsEmpty(spec, "selector");
  SetDefault(spec, "ipFamilyPolicy", headless_selectorless ? "RequireDualStack" : "SingleStack");
  bj::array families;
  if (const bj::array* given = api::ArrAt(spec, {"ipFamilies"})) families = *given;
  if (const bj::array* ips = api::ArrAt(spec, {"clusterIPs"})) {
    for (size_t i = 0; i < ips->size(); ++i) {
      std::string_view ip = (*ips)[i].is_string() ? std::string_view((*ips)[i].get_string()) : "";
      if (ip == "None") break;
      if (families.size() < i + 1) families.emplace_back(ip.find(':') != std::string_view::npos ? "IPv6" : "IPv4");
    }
  }
  if (families.empty()) families.emplace_back("IPv4");  // single-stack IPv4 cluster
  if (headless_selectorless && StrAt(spec, {"ipFamilyPolicy"}) != "SingleStack" && families.size() == 1) {
    bool v4 = families[0].is_string() && families[0].get_string() == "IPv4";
    families.emplace_back(v4 ? "IPv6" : "IPv4");
  }
  spec["ipFamilies"] = std::move(families);
}

void DefaultService(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetIfEmpty(spec, "sessionAffinity", "None");
  std::string affinity(StrAt(spec, {"sessionAffinity"}));
  if (affinity == "None") {
    spec.erase("sessionAffinityConfig");
  } else if (affinity == "ClientIP") {
    const bj::object* client_ip = ObjAt(spec, {"sessionAffinityConfig", "clientIP"});
    if (client_ip == nullptr || Missing(*client_ip, "timeoutSeconds")) {
      spec["sessionAffinityConfig"] = bj::object{{"clientIP", bj::object{{"timeoutSeconds", 10800}}}};
    }
  }
  SetIfEmpty(spec, "type", "ClusterIP");
  std::string type(StrAt(spec, {"type"}));
  Each(spec, "ports", [](bj::object& p) {
    SetIfEmpty(p, "protocol", "TCP");
    if (const bj::value* port = p.if_contains("port"); port != nullptr && IsEmpty(p, "targetPort")) {
      bj::value target = *port;
      p["targetPort"] = std::move(target);
    }
  });
  bool external_ips = !IsEmpty(spec, "externalIPs");
  if (type == "NodePort" || type == "LoadBalancer" || (type == "ClusterIP" && external_ips)) {
    SetIfEmpty(spec, "externalTrafficPolicy", "Cluster");
  }
  if (type == "ClusterIP" || type == "NodePort" || type == "LoadBalancer") {
    SetDefault(spec, "internalTrafficPolicy", "Cluster");
    DefaultIpFamilies(spec);
  }
  if (type != "LoadBalancer") return;
  SetDefault(spec, "allocateLoadBalancerNodePorts", true);
  if (bj::object* status = Child(o, "status")) {
    if (bj::object* lb = Child(*status, "loadBalancer")) {
      Each(*lb, "ingress", [](bj::object& ing) {
        if (!IsEmpty(ing, "ip")) SetDefault(ing, "ipMode", "VIP");
      });
    }
  }
}

void DefaultDeployment(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "replicas", 1);
  SetDefault(spec, "revisionHistoryLimit", 10);
  SetDefault(spec, "progressDeadlineSeconds", 600);
  DefaultPodTemplate(Obj(spec, "template"));
  bj::object& strategy = Obj(spec, "strategy");
  SetIfEmpty(strategy, "type", "RollingUpdate");
  if (StrAt(strategy, {"type"}) == "RollingUpdate") {
    bj::object& rolling = Obj(strategy, "rollingUpdate");
    SetDefault(rolling, "maxUnavailable", "25%");
    SetDefault(rolling, "maxSurge", "25%");
  }
}

void DefaultReplicaSet(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "replicas", 1);
  DefaultPodTemplate(Obj(spec, "template"));
}

void DefaultStatefulSet(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetIfEmpty(spec, "podManagementPolicy", "OrderedReady");
  SetDefault(spec, "replicas", 1);
  SetDefault(spec, "revisionHistoryLimit", 10);
  DefaultPodTemplate(Obj(spec, "template"));
  Each(spec, "volumeClaimTemplates", [](bj::object& pvc) {
    // The v1 conversion always sets these on the embedded claims.
    pvc["apiVersion"] = "v1";
    pvc["kind"] = "PersistentVolumeClaim";
    DefaultPvc(pvc);
  });
  bj::object& retention = Obj(spec, "persistentVolumeClaimRetentionPolicy");
  SetIfEmpty(retention, "whenDeleted", "Retain");
  SetIfEmpty(retention, "whenScaled", "Retain");
  bj::object& strategy = Obj(spec, "updateStrategy");
  if (IsEmpty(strategy, "type")) {
    strategy["type"] = "RollingUpdate";
    SetDefault(strategy, "rollingUpdate", bj::object());
  }
  // An explicit RollingUpdate without rollingUpdate gets no partition.
  if (StrAt(strategy, {"type"}) == "RollingUpdate") {
    if (bj::object* rolling = Child(strategy, "rollingUpdate")) SetDefault(*rolling, "partition", 0);
  }
}

void DefaultDaemonSet(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "revisionHistoryLimit", 10);
  DefaultPodTemplate(Obj(spec, "template"));
  bj::object& strategy = Obj(spec, "updateStrategy");
  SetIfEmpty(strategy, "type", "RollingUpdate");
  if (StrAt(strategy, {"type"}) == "RollingUpdate") {
    bj::object& rolling = Obj(strategy, "rollingUpdate");
    SetDefault(rolling, "maxUnavailable", 1);
    SetDefault(rolling, "maxSurge", 0);
  }
}

// The Job strategy's generateSelector (PrepareForCreate upstream).
void GenerateJobSelector(bj::object& o) {
  std::string name(api::Name(o));
  std::string uid(api::Uid(o));
  if (uid.empty()) {
    // The store assigns metadata.uid only after the hooks ran; pick the uid
    // here so that the selector, the template labels and metadata.uid agree
    // once the store keeps a uid the hooks set.
    uid = api::NewUid();
    api::Meta(o)["uid"] = uid;
  }
  bj::object& labels = Obj(Obj(Obj(Obj(o, "spec"), "template"), "metadata"), "labels");
  for (std::string_view k : {"job-name", "batch.kubernetes.io/job-name"}) {
    if (!labels.contains(k)) labels[k] = name;
  }
  for (std::string_view k : {"controller-uid", "batch.kubernetes.io/controller-uid"}) {
    if (!labels.contains(k)) labels[k] = uid;
  }
  bj::object& match = Obj(Obj(Obj(o, "spec"), "selector"), "matchLabels");
  if (!match.contains("batch.kubernetes.io/controller-uid")) match["batch.kubernetes.io/controller-uid"] = uid;
}

void DefaultJob(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  if (Missing(spec, "completions") && Missing(spec, "parallelism")) spec["completions"] = 1;
  SetDefault(spec, "parallelism", 1);
  SetDefault(spec, "backoffLimit", Missing(spec, "backoffLimitPerIndex") ? 6 : 2147483647);
  SetDefault(spec, "completionMode", "NonIndexed");
  SetDefault(spec, "suspend", false);
  SetDefault(spec, "manualSelector", false);
  SetDefault(spec, "podReplacementPolicy", Missing(spec, "podFailurePolicy") ? "TerminatingOrFailed" : "Failed");
  if (bj::object* policy = Child(spec, "podFailurePolicy")) {
    Each(*policy, "rules", [](bj::object& rule) {
      Each(rule, "onPodConditions", [](bj::object& c) { SetIfEmpty(c, "status", "True"); });
    });
  }
  DefaultPodTemplate(Obj(spec, "template"));
  // Labels are copied from the template as submitted, and again after
  // selector generation (what upstream's read-back defaulting does when the
  // template had no labels).
  LabelsFromTemplate(o);
  if (api::BoolAt(o, {"spec", "manualSelector"})) return;
  GenerateJobSelector(o);
  LabelsFromTemplate(o);
}

void DefaultCronJob(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetIfEmpty(spec, "concurrencyPolicy", "Allow");
  SetDefault(spec, "suspend", false);
  SetDefault(spec, "successfulJobsHistoryLimit", 3);
  SetDefault(spec, "failedJobsHistoryLimit", 1);
  // Only the pod template is defaulted: the job template is not a Job.
  DefaultPodTemplate(Obj(Obj(Obj(spec, "jobTemplate"), "spec"), "template"));
}

// autoscaling/v1: the 80% CPU target comes from v2 defaulting on the stored form.
void DefaultHpaV1(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "minReplicas", 1);
  if (IsEmpty(spec, "metrics")) SetDefault(spec, "targetCPUUtilizationPercentage", 80);
}

bj::object Policy(std::string_view type, int value) {
  return bj::object{{"type", type}, {"value", value}, {"periodSeconds", 15}};
}

void DefaultHpaV2(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetDefault(spec, "minReplicas", 1);
  if (IsEmpty(spec, "metrics")) {
    bj::object target{{"type", "Utilization"}, {"averageUtilization", 80}};
    bj::object resource{{"name", "cpu"}, {"target", std::move(target)}};
    spec["metrics"] = bj::array{bj::object{{"type", "Resource"}, {"resource", std::move(resource)}}};
  }
  // With a behavior, each missing scaling rule field comes from the defaults.
  bj::object* behavior = Child(spec, "behavior");
  if (behavior == nullptr) return;
  bj::object& up = Obj(*behavior, "scaleUp");
  SetDefault(up, "stabilizationWindowSeconds", 0);
  SetDefault(up, "selectPolicy", "Max");
  SetDefault(up, "policies", bj::array{Policy("Pods", 4), Policy("Percent", 100)});
  bj::object& down = Obj(*behavior, "scaleDown");
  SetDefault(down, "selectPolicy", "Max");
  SetDefault(down, "policies", bj::array{Policy("Percent", 100)});
}

void DefaultNamespace(bj::object& o) {
  std::string name(api::Name(o));
  // Always overwritten, like upstream.
  if (!name.empty()) Obj(api::Meta(o), "labels")["kubernetes.io/metadata.name"] = name;
  SetIfEmpty(Obj(o, "status"), "phase", "Active");
}

void DefaultNode(bj::object& o) {
  bj::object* status = Child(o, "status");
  if (status == nullptr || !IsEmpty(*status, "allocatable")) return;
  if (const bj::object* capacity = Child(*status, "capacity")) {
    bj::object copy = *capacity;
    (*status)["allocatable"] = std::move(copy);
  }
}

void DefaultPersistentVolume(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  SetIfEmpty(spec, "persistentVolumeReclaimPolicy", "Retain");
  SetDefault(spec, "volumeMode", "Filesystem");
  DefaultVolumeSource(spec);
  SetIfEmpty(Obj(o, "status"), "phase", "Pending");
}

void DefaultLimitRange(bj::object& o) {
  Each(Obj(o, "spec"), "limits", [](bj::object& item) {
    if (StrAt(item, {"type"}) != "Container") return;
    auto copy_of = [&](std::string_view key) {
      const bj::object* m = ObjAt(item, {key});
      return m != nullptr ? *m : bj::object();
    };
    auto fill = [](bj::object& to, const bj::object& from) {
      for (const auto& [k, v] : from) {
        if (!to.contains(k)) to[k] = v;
      }
    };
    bj::object def = copy_of("default");
    bj::object request = copy_of("defaultRequest");
    fill(def, copy_of("max"));
    fill(request, def);
    fill(request, copy_of("min"));
    // Empty maps are omitted upstream.
    if (!def.empty()) item["default"] = std::move(def);
    if (!request.empty()) item["defaultRequest"] = std::move(request);
  });
}

void DefaultEndpoints(bj::object& o) {
  Each(o, "subsets", [](bj::object& subset) {
    Each(subset, "ports", [](bj::object& p) { SetIfEmpty(p, "protocol", "TCP"); });
  });
}

void DefaultEndpointSlice(bj::object& o) {
  Each(o, "ports", [](bj::object& p) {
    SetDefault(p, "name", "");
    SetDefault(p, "protocol", "TCP");
  });
}

void DefaultNetworkPolicy(bj::object& o) {
  bj::object& spec = Obj(o, "spec");
  for (std::string_view direction : {"ingress", "egress"}) {
    Each(spec, direction, [](bj::object& rule) {
      Each(rule, "ports", [](bj::object& p) { SetDefault(p, "protocol", "TCP"); });
    });
  }
  if (!IsEmpty(spec, "policyTypes")) return;
  bj::array types{"Ingress"};
  if (!IsEmpty(spec, "egress")) types.emplace_back("Egress");
  spec["policyTypes"] = std::move(types);
}

void DefaultIngressClass(bj::object& o) {
  bj::object* spec = Child(o, "spec");
  if (bj::object* params = spec != nullptr ? Child(*spec, "parameters") : nullptr) {
    SetDefault(*params, "scope", "Cluster");
  }
}

// RoleBinding and ClusterRoleBinding.
void DefaultRoleBinding(bj::object& o) {
  SetIfEmpty(Obj(o, "roleRef"), "apiGroup", "rbac.authorization.k8s.io");
  // ServiceAccount subjects default to "", which is omitted.
  Each(o, "subjects", [](bj::object& s) {
    std::string_view kind = StrAt(s, {"kind"});
    if ((kind == "User" || kind == "Group") && IsEmpty(s, "apiGroup")) s["apiGroup"] = "rbac.authorization.k8s.io";
  });
}

// Sets (or chains after an existing) defaulting hook.
void Install(ResourceDef& def, Defaulter fn) {
  if (def.hooks.defaults) {
    def.hooks.defaults = [first = std::move(def.hooks.defaults), fn = std::move(fn)](bj::object& o) {
      first(o);
      fn(o);
    };
  } else {
    def.hooks.defaults = std::move(fn);
  }
}

void Install(ResourceRegistry& registry, std::string_view group, std::string_view kind, const Defaulter& fn) {
  registry.ForKind(group, kind, [&](ResourceDef& def) { Install(def, fn); });
}

}  // namespace

// stringData is write-only: merged into data (winning over it), never
// stored, as upstream's conversion does.
void DefaultSecret(bj::object& o) {
  SetIfEmpty(o, "type", "Opaque");
  bj::value* sd = o.if_contains("stringData");
  if (sd == nullptr) return;
  if (sd->is_object()) {
    for (const auto& [k, v] : sd->get_object()) {
      if (v.is_string()) api::Obj(o, "data")[k] = Base64Encode(v.get_string());
    }
  }
  o.erase("stringData");
}

void InstallDefaults(ResourceRegistry& registry) {
  Install(registry, "", "Pod", DefaultPod);
  Install(registry, "", "PodTemplate", DefaultPodTemplateKind);
  Install(registry, "", "ReplicationController", DefaultReplicationController);
  Install(registry, "", "Service", DefaultService);
  Install(registry, "", "Endpoints", DefaultEndpoints);
  Install(registry, "", "Namespace", DefaultNamespace);
  Install(registry, "", "Node", DefaultNode);
  Install(registry, "", "PersistentVolume", DefaultPersistentVolume);
  Install(registry, "", "PersistentVolumeClaim", DefaultPvc);
  Install(registry, "", "Secret", DefaultSecret);
  Install(registry, "", "LimitRange", DefaultLimitRange);
  Install(registry, "apps", "Deployment", DefaultDeployment);
  Install(registry, "apps", "ReplicaSet", DefaultReplicaSet);
  Install(registry, "apps", "StatefulSet", DefaultStatefulSet);
  Install(registry, "apps", "DaemonSet", DefaultDaemonSet);
  Install(registry, "batch", "Job", DefaultJob);
  Install(registry, "batch", "CronJob", DefaultCronJob);
  registry.ForKind("autoscaling", "HorizontalPodAutoscaler", [](ResourceDef& def) {
    Install(def, def.version == "v1" ? Defaulter(DefaultHpaV1) : Defaulter(DefaultHpaV2));
  });
  Install(registry, "discovery.k8s.io", "EndpointSlice", DefaultEndpointSlice);
  Install(registry, "networking.k8s.io", "NetworkPolicy", DefaultNetworkPolicy);
  Install(registry, "networking.k8s.io", "IngressClass", DefaultIngressClass);
  Install(registry, "rbac.authorization.k8s.io", "RoleBinding", DefaultRoleBinding);
  Install(registry, "rbac.authorization.k8s.io", "ClusterRoleBinding", DefaultRoleBinding);
  Install(registry, "scheduling.k8s.io", "PriorityClass",
          [](bj::object& o) { SetDefault(o, "preemptionPolicy", "PreemptLowerPriority"); });
  Install(registry, "storage.k8s.io", "StorageClass", [](bj::object& o) {
    SetDefault(o, "reclaimPolicy", "Delete");
    SetDefault(o, "volumeBindingMode", "Immediate");
  });
  // No field defaults (docs/reference/defaults.md §8, §12): ConfigMap,
  // ServiceAccount, ResourceQuota, Event (both APIs), Lease, Ingress,
  // PodDisruptionBudget, Role, ClusterRole.
}

}  // namespace kubepp::apiserver
