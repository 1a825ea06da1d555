// Server-side table columns and cells per kind, following docs/reference/tables.md
// (upstream pkg/printers/internalversion/printers.go). Kinds without an entry
// here get the default table (Name, Created At).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/registry/hooks_util.h"

namespace kubepp::apiserver {

namespace {

using api::ArrAt;
using api::At;
using api::BoolAt;
using api::IntAt;
using api::ObjAt;
using api::StrAt;
using hooks::FormatLabels;
using hooks::FormatLabelSelector;
using hooks::ObjectAge;
using hooks::StrOr;
using Cells = std::function<bj::array(const bj::object&, const TableContext&)>;

// Column descriptions (Appendix A of the spec: the k8s.io/api SwaggerDoc texts).
constexpr const char* kName =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr const char* kAge =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
constexpr const char* kContainers =
    "Names of each container in the template.";
constexpr const char* kImages =
    "Images referenced by each container in the template.";
constexpr const char* kPodIp =
    "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
constexpr const char* kPodNodename =
    "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
constexpr const char* kPodNominated =
    "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
constexpr const char* kPodReadinessgates =
    "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
constexpr const char* kPodNodeselector =
    "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/";
constexpr const char* kRcSpecReplicas =
    "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
constexpr const char* kRcStatusReplicas =
    "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller";
constexpr const char* kRcReady =
    "The number of ready replicas for this replication controller.";
constexpr const char* kRcSelector =
    "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr const char* kSvcType =
    "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
constexpr const char* kSvcClusterip =
    "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
constexpr const char* kSvcExternalips =
    "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
constexpr const char* kSvcPorts =
    "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
constexpr const char* kSvcSelector =
    "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
constexpr const char* kEndpointsSubsets =
    "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
constexpr const char* kNodeKubeletversion =
    "Kubelet Version reported by the node.";
constexpr const char* kNodeAddresses =
    "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
constexpr const char* kNodeOsimage =
    "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
constexpr const char* kNodeKernel =
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
constexpr const char* kNodeCri =
    "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
constexpr const char* kEvLast =
    "The time at which the most recent occurrence of this event was recorded.";
constexpr const char* kEvFirst =
    "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
constexpr const char* kEvCount =
    "The number of times this event has occurred.";
constexpr const char* kEvType =
    "Type of this event (Normal, Warning), new types could be added in the future";
constexpr const char* kEvReason =
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
constexpr const char* kEvInvolved =
    "The object that this event is about.";
constexpr const char* kEvFieldpath =
    "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
constexpr const char* kEvSource =
    "The component reporting this event. Should be a short machine understandable string.";
constexpr const char* kEvMessage =
    "A human-readable description of the status of this operation.";
constexpr const char* kCmData =
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
constexpr const char* kSecretType =
    "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
constexpr const char* kSecretData =
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
constexpr const char* kSaSecrets =
    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
constexpr const char* kPvCapacity =
    "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity";
constexpr const char* kPvAccessmodes =
    "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
constexpr const char* kPvReclaim =
    "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming";
constexpr const char* kPvPhase =
    "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase";
constexpr const char* kPvClaimref =
    "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding";
constexpr const char* kPvReason =
    "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.";
constexpr const char* kPvVolumemode =
    "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.";
constexpr const char* kPvcPhase =
    "phase represents the current phase of PersistentVolumeClaim.";
constexpr const char* kPvcVolumename =
    "volumeName is the binding reference to the PersistentVolume backing this claim.";
constexpr const char* kPvcCapacity =
    "capacity represents the actual resources of the underlying volume.";
constexpr const char* kPvcAccessmodes =
    "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1";
constexpr const char* kPvcVolumemode =
    "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.";
constexpr const char* kDeployUpdated =
    "Total number of non-terminated pods targeted by this deployment that have the desired template spec.";
constexpr const char* kDeployAvailable =
    "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.";
constexpr const char* kDeploySelector =
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";
constexpr const char* kRsSpecReplicas =
    "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
constexpr const char* kRsStatusReplicas =
    "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller";
constexpr const char* kRsReady =
    "The number of ready replicas for this replica set.";
constexpr const char* kRsSelector =
    "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr const char* kDsDesired =
    "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
constexpr const char* kDsCurrent =
    "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
constexpr const char* kDsReady =
    "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.";
constexpr const char* kDsUpdated =
    "The total number of nodes that are running updated daemon pod";
constexpr const char* kDsAvailable =
    "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)";
constexpr const char* kDsSelector =
    "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr const char* kJobSucceeded =
    "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
constexpr const char* kJobSelector =
    "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
constexpr const char* kCjSchedule =
    "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
constexpr const char* kCjTimezone =
    "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones";
constexpr const char* kCjSuspend =
    "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.";
constexpr const char* kCjActive =
    "A list of pointers to currently running jobs.";
constexpr const char* kCjLastschedule =
    "Information when was the last time the job was successfully scheduled.";
constexpr const char* kCrRevision =
    "Revision indicates the revision of the state represented by Data.";
constexpr const char* kHpaScaletarget =
    "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.";
constexpr const char* kHpaMetrics =
    "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.";
constexpr const char* kHpaMin =
    "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.";
constexpr const char* kHpaMax =
    "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.";
constexpr const char* kHpaCurrent =
    "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.";
constexpr const char* kLeaseHolder =
    "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";
constexpr const char* kEpsAddresstype =
    "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.";
constexpr const char* kEpsPorts =
    "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.";
constexpr const char* kEpsEndpoints =
    "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.";
constexpr const char* kNpPodselector =
    "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.";
constexpr const char* kRbRoleref =
    "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
constexpr const char* kCrbRoleref =
    "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";
constexpr const char* kPcValue =
    "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.";
constexpr const char* kPcGlobaldefault =
    "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.";
constexpr const char* kPcPreemption =
    "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.";
constexpr const char* kScProvisioner =
    "provisioner indicates the type of the provisioner.";
constexpr const char* kScReclaim =
    "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.";
constexpr const char* kScBinding =
    "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.";
constexpr const char* kScExpansion =
    "allowVolumeExpansion shows whether the storage class allow volume expand.";

constexpr int kWide = 1;  // priority of the columns kubectl shows only with -o wide

TableColumn Col(std::string name, std::string description, int priority = 0, std::string type = "string") {
  return TableColumn{std::move(name), std::move(type), "", std::move(description), priority};
}
TableColumn NameCol() { return TableColumn{"Name", "string", "name", kName, 0}; }
TableColumn AgeCol() { return Col("Age", kAge); }
TableColumn ContainersCol() { return Col("Containers", kContainers, kWide); }
TableColumn ImagesCol() { return Col("Images", kImages, kWide); }

// ---- Reading fields --------------------------------------------------------

using Path = std::initializer_list<std::string_view>;

const bj::array kNoArray;
const bj::object kNoObject;

std::string Str(const bj::object& o, Path path) { return std::string(StrAt(o, path)); }
int64_t Int(const bj::object& o, Path path, int64_t def = 0) { return IntAt(o, path).value_or(def); }
const bj::array& Arr(const bj::object& o, Path path) {
  const bj::array* a = ArrAt(o, path);
  return a != nullptr ? *a : kNoArray;
}
const bj::object& Obj(const bj::object& o, Path path) {
  const bj::object* p = ObjAt(o, path);
  return p != nullptr ? *p : kNoObject;
}
const bj::object& AsObj(const bj::value& v) { return v.is_object() ? v.get_object() : kNoObject; }
// A pointer field that is set (present and not null).
bool IsSet(const bj::object& o, Path path) {
  const bj::value* v = At(o, path);
  return v != nullptr && !v->is_null();
}
// An optional (pointer) string field, `unset` when nil; an empty string stays empty.
std::string OptStr(const bj::object& o, Path path, std::string_view unset) {
  return IsSet(o, path) ? Str(o, path) : std::string(unset);
}
// The strings of an array (non-strings skipped).
std::vector<std::string> Strings(const bj::array& a) {
  std::vector<std::string> out;
  for (const auto& v : a) {
    if (v.is_string()) out.emplace_back(v.get_string());
  }
  return out;
}
// A Quantity or IntOrString as stored (strings verbatim, numbers in decimal),
// `unset` when missing.
std::string ScalarText(const bj::value* v, std::string_view unset) {
  if (v == nullptr || v->is_null()) return std::string(unset);
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  if (v->is_double()) {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v->get_double());
    return std::string(buf, res.ptr);
  }
  return bj::serialize(*v);
}
std::string Quantity(const bj::value* v) { return ScalarText(v, "0"); }
// The first condition of `type` in a conditions array, or null.
const bj::object* FirstCondition(const bj::array& conditions, std::string_view type) {
  for (const auto& c : conditions) {
    if (StrAt(AsObj(c), {"type"}) == type) return &c.get_object();
  }
  return nullptr;
}
bool FirstConditionTrue(const bj::array& conditions, std::string_view type) {
  const bj::object* c = FirstCondition(conditions, type);
  return c != nullptr && StrAt(*c, {"status"}) == "True";
}

// ---- Formatting ------------------------------------------------------------

template <typename Range>
std::string Join(const Range& items, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& s : items) {
    if (!first) out += sep;
    out += s;
    first = false;
  }
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(kSpace) - b + 1));
}

// A timestamp that is set: present and not Go's zero time.
bool TimeSet(std::string_view ts) { return !ts.empty() && !ts.starts_with("0001-01-01T00:00:00"); }
// translateTimestampSince.
std::string Since(std::string_view ts, const TableContext& ctx) {
  return TimeSet(ts) ? hooks::Age(ts, ctx) : "<unknown>";
}

// The first `max` items joined with `sep`, then " + <n> more..." for the
// rest; `empty` when that gives "" (listWithMoreString).
std::string ListWithMore(const std::vector<std::string>& items, size_t max, std::string_view sep,
                         std::string_view empty) {
  if (items.size() > max) {
    return Join(std::vector<std::string>(items.begin(), items.begin() + max), sep) + " + " +
           std::to_string(items.size() - max) + " more...";
  }
  std::string out = Join(items, sep);
  return out.empty() ? std::string(empty) : out;
}

// layoutContainerCells: container names and images, each joined with ",".
std::pair<std::string, std::string> ContainerCells(const bj::array& containers) {
  std::vector<std::string> names, images;
  for (const auto& c : containers) {
    names.push_back(Str(AsObj(c), {"name"}));
    images.push_back(Str(AsObj(c), {"image"}));
  }
  return {Join(names, ","), Join(images, ",")};
}

// The labels selector string without FormatLabelSelector's "<none>".
std::string SelectorString(const bj::value* selector) {
  auto sel = api::LabelSelector::FromObject(selector);
  return sel.ok() ? sel->String() : "<invalid>";
}

// status.loadBalancer.ingress as a sorted, de-duplicated "ip-or-hostname" list.
std::string LoadBalancerStatus(const bj::object& obj) {
  std::set<std::string> set;
  for (const auto& v : Arr(obj, {"status", "loadBalancer", "ingress"})) {
    const bj::object& ing = AsObj(v);
    std::string_view ip = StrAt(ing, {"ip"});
    std::string_view host = StrAt(ing, {"hostname"});
    if (!ip.empty()) {
      set.emplace(ip);
    } else if (!host.empty()) {
      set.emplace(host);
    }
  }
  return Join(set, ",");
}

// GetAccessModesAsString: de-duplicated, in a fixed order.
std::string AccessModes(const bj::array& modes) {
  std::vector<std::string> out;
  for (auto [mode, abbrev] : {std::pair<std::string_view, std::string_view>{"ReadWriteOnce", "RWO"},
                              {"ReadOnlyMany", "ROX"},
                              {"ReadWriteMany", "RWX"},
                              {"ReadWriteOncePod", "RWOP"}}) {
    if (std::any_of(modes.begin(), modes.end(), [&](const bj::value& m) { return m.is_string() && m.get_string() == mode; })) {
      out.emplace_back(abbrev);
    }
  }
  return Join(out, ",");
}

// The beta storage-class annotation if present (even empty), else the field.
std::string StorageClass(const bj::object& obj) {
  constexpr std::string_view kAnnotation = "volume.beta.kubernetes.io/storage-class";
  if (const bj::value* v = Obj(obj, {"metadata", "annotations"}).if_contains(kAnnotation)) {
    return v->is_string() ? std::string(v->get_string()) : "";
  }
  return Str(obj, {"spec", "storageClassName"});
}

std::string JoinHostPort(std::string_view host, int64_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

// ---- Core ------------------------------------------------------------------

std::optional<api::WallTime> LastTerminationTime(const bj::object& cs) {
  return api::ParseTime(StrAt(cs, {"lastState", "terminated", "finishedAt"}));
}
void KeepLatest(std::optional<api::WallTime>& latest, std::optional<api::WallTime> t) {
  if (t && (!latest || *latest < *t)) latest = t;
}
// A termination without a reason, as "<prefix>Signal:<n>" or "<prefix>ExitCode:<n>".
std::string ExitReason(const bj::object& terminated, std::string_view prefix) {
  int64_t signal = Int(terminated, {"signal"});
  if (signal != 0) return std::string(prefix) + "Signal:" + std::to_string(signal);
  return std::string(prefix) + "ExitCode:" + std::to_string(Int(terminated, {"exitCode"}));
}

// printPod (spec §4.1).
bj::array PodCells(const bj::object& pod, const TableContext& ctx) {
  const bj::array& conditions = Arr(pod, {"status", "conditions"});
  const bj::array& init_specs = Arr(pod, {"spec", "initContainers"});
  int64_t total = static_cast<int64_t>(Arr(pod, {"spec", "containers"}).size());
  int64_t ready = 0;
  int64_t restarts = 0;
  int64_t sidecar_restarts = 0;
  std::optional<api::WallTime> last_restart, last_sidecar_restart;

  std::string reason = Str(pod, {"status", "phase"});
  if (std::string_view r = StrAt(pod, {"status", "reason"}); !r.empty()) reason = r;
  for (const auto& c : conditions) {
    const bj::object& cond = AsObj(c);
    if (StrAt(cond, {"type"}) == "PodScheduled" && StrAt(cond, {"reason"}) == "SchedulingGated") reason = "SchedulingGated";
  }

  // Restartable init containers (sidecars) count in READY's denominator.
  std::set<std::string, std::less<>> sidecars;
  for (const auto& c : init_specs) {
    if (StrAt(AsObj(c), {"restartPolicy"}) == "Always") {
      sidecars.emplace(StrAt(AsObj(c), {"name"}));
      ++total;
    }
  }

  bool initializing = false;
  const bj::array& init_statuses = Arr(pod, {"status", "initContainerStatuses"});
  for (size_t i = 0; i < init_statuses.size(); ++i) {
    const bj::object& cs = AsObj(init_statuses[i]);
    int64_t count = Int(cs, {"restartCount"});
    restarts += count;
    KeepLatest(last_restart, LastTerminationTime(cs));
    bool sidecar = sidecars.contains(StrAt(cs, {"name"}));
    if (sidecar) {
      sidecar_restarts += count;
      KeepLatest(last_sidecar_restart, LastTerminationTime(cs));
    }
    const bj::object* terminated = ObjAt(cs, {"state", "terminated"});
    const bj::object* waiting = ObjAt(cs, {"state", "waiting"});
    if (terminated != nullptr && Int(*terminated, {"exitCode"}) == 0) continue;
    if (sidecar && BoolAt(cs, {"started"})) {
      if (BoolAt(cs, {"ready"})) ++ready;
      continue;
    }
    // The first init container that is not done decides the status.
    initializing = true;
    if (terminated != nullptr) {
      std::string_view r = StrAt(*terminated, {"reason"});
      reason = r.empty() ? ExitReason(*terminated, "Init:") : "Init:" + std::string(r);
    } else if (std::string_view w = waiting != nullptr ? StrAt(*waiting, {"reason"}) : "";
               !w.empty() && w != "PodInitializing") {
      reason = "Init:" + std::string(w);
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_specs.size());
    }
    break;
  }

  if (!initializing || FirstConditionTrue(conditions, "Initialized")) {
    restarts = sidecar_restarts;
    last_restart = last_sidecar_restart;
    bool has_running = false;
    const bj::array& statuses = Arr(pod, {"status", "containerStatuses"});
    // Last to first, so the first container's state wins.
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const bj::object& cs = AsObj(*it);
      restarts += Int(cs, {"restartCount"});
      KeepLatest(last_restart, LastTerminationTime(cs));
      const bj::object* terminated = ObjAt(cs, {"state", "terminated"});
      std::string_view waiting = StrAt(cs, {"state", "waiting", "reason"});
      if (!waiting.empty()) {
        reason = waiting;
      } else if (terminated != nullptr) {
        std::string_view r = StrAt(*terminated, {"reason"});
        reason = r.empty() ? ExitReason(*terminated, "") : std::string(r);
      } else if (BoolAt(cs, {"ready"}) && ObjAt(cs, {"state", "running"}) != nullptr) {
        has_running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && has_running) {
      bool pod_ready = std::any_of(conditions.begin(), conditions.end(), [](const bj::value& c) {
        return StrAt(AsObj(c), {"type"}) == "Ready" && StrAt(AsObj(c), {"status"}) == "True";
      });
      reason = pod_ready ? "Running" : "NotReady";
    }
  }

  if (IsSet(pod, {"metadata", "deletionTimestamp"})) {
    std::string_view phase = StrAt(pod, {"status", "phase"});
    if (StrAt(pod, {"status", "reason"}) == "NodeLost") {
      reason = "Unknown";
    } else if (phase != "Succeeded" && phase != "Failed") {
      reason = "Terminating";
    }
  }

  std::string restarts_str = std::to_string(restarts);
  if (restarts != 0 && last_restart) {
    restarts_str += " (" + api::HumanDuration(ctx.now - *last_restart) + " ago)";
  }

  std::string ip = Str(pod, {"status", "podIP"});
  if (ip.empty()) {
    const bj::array& ips = Arr(pod, {"status", "podIPs"});
    ip = ips.empty() ? "" : Str(AsObj(ips[0]), {"ip"});
  }
  if (ip.empty()) ip = "<none>";

  std::string gates = "<none>";
  if (const bj::array& specs = Arr(pod, {"spec", "readinessGates"}); !specs.empty()) {
    int64_t true_gates = 0;
    for (const auto& g : specs) {
      if (FirstConditionTrue(conditions, StrAt(AsObj(g), {"conditionType"}))) ++true_gates;
    }
    gates = std::to_string(true_gates) + "/" + std::to_string(specs.size());
  }

  return bj::array{api::Name(pod),
                   std::to_string(ready) + "/" + std::to_string(total),
                   reason,
                   restarts_str,
                   ObjectAge(pod, ctx),
                   ip,
                   StrOr(pod, {"spec", "nodeName"}, "<none>"),
                   StrOr(pod, {"status", "nominatedNodeName"}, "<none>"),
                   gates};
}

bj::array PodTemplateCells(const bj::object& obj, const TableContext&) {
  auto [names, images] = ContainerCells(Arr(obj, {"template", "spec", "containers"}));
  return bj::array{api::Name(obj), names, images, FormatLabels(ObjAt(obj, {"template", "metadata", "labels"}))};
}

bj::array ReplicationControllerCells(const bj::object& obj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(obj, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(obj),
                   Int(obj, {"spec", "replicas"}, 1),
                   Int(obj, {"status", "replicas"}),
                   Int(obj, {"status", "readyReplicas"}),
                   ObjectAge(obj, ctx),
                   names,
                   images,
                   FormatLabels(ObjAt(obj, {"spec", "selector"}))};
}

std::string ServiceExternalIP(const bj::object& svc, std::string_view type) {
  std::vector<std::string> external = Strings(Arr(svc, {"spec", "externalIPs"}));
  if (type == "ClusterIP" || type == "NodePort") return external.empty() ? "<none>" : Join(external, ",");
  if (type == "LoadBalancer") {
    std::string lb = LoadBalancerStatus(svc);
    if (external.empty()) return lb.empty() ? "<pending>" : lb;
    if (!lb.empty()) external.insert(external.begin(), lb);
    return Join(external, ",");
  }
  if (type == "ExternalName") return Str(svc, {"spec", "externalName"});
  return "<unknown>";
}

bj::array ServiceCells(const bj::object& svc, const TableContext& ctx) {
  std::string type = StrOr(svc, {"spec", "type"}, "ClusterIP");
  std::string cluster_ip = "<none>";
  if (const bj::array& ips = Arr(svc, {"spec", "clusterIPs"}); !ips.empty()) {
    cluster_ip = ips[0].is_string() ? std::string(ips[0].get_string()) : "";
  } else if (std::string_view ip = StrAt(svc, {"spec", "clusterIP"}); !ip.empty()) {
    cluster_ip = ip;  // objects stored before clusterIPs was defaulted
  }
  std::vector<std::string> ports;
  for (const auto& p : Arr(svc, {"spec", "ports"})) {
    const bj::object& port = AsObj(p);
    std::string s = std::to_string(Int(port, {"port"}));
    if (int64_t node_port = Int(port, {"nodePort"}); node_port > 0) s += ":" + std::to_string(node_port);
    ports.push_back(s + "/" + StrOr(port, {"protocol"}, "TCP"));
  }
  return bj::array{api::Name(svc),
                   type,
                   cluster_ip,
                   ServiceExternalIP(svc, type),
                   ports.empty() ? "<none>" : Join(ports, ","),
                   ObjectAge(svc, ctx),
                   FormatLabels(ObjAt(svc, {"spec", "selector"}))};
}

// formatEndpoints: at most 3 addresses (with ports), then " + <n> more...".
std::string FormatEndpoints(const bj::object& ep) {
  const bj::array& subsets = Arr(ep, {"subsets"});
  if (subsets.empty()) return "<none>";
  constexpr size_t kMax = 3;
  std::vector<std::string> list;
  bool more = false;
  size_t count = 0;
  auto add = [&](const bj::array& addresses, std::optional<int64_t> port) {
    count += addresses.size();
    for (const auto& a : addresses) {
      if (list.size() == kMax) {
        more = true;
        break;
      }
      std::string_view ip = StrAt(AsObj(a), {"ip"});
      list.push_back(port ? JoinHostPort(ip, *port) : std::string(ip));
    }
  };
  for (const auto& s : subsets) {
    const bj::object& subset = AsObj(s);
    const bj::array& addresses = Arr(subset, {"addresses"});
    const bj::array& ports = Arr(subset, {"ports"});
    if (ports.empty()) add(addresses, std::nullopt);
    for (const auto& p : ports) add(addresses, Int(AsObj(p), {"port"}));
  }
  std::string out = Join(list, ",");
  if (more) out += " + " + std::to_string(count - kMax) + " more...";
  return out;
}

bj::array EndpointsCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), FormatEndpoints(obj), ObjectAge(obj, ctx)};
}

std::string NodeStatus(const bj::object& node) {
  std::vector<std::string> status;
  const bj::object* ready = nullptr;  // the last Ready condition wins
  for (const auto& c : Arr(node, {"status", "conditions"})) {
    if (StrAt(AsObj(c), {"type"}) == "Ready") ready = &c.get_object();
  }
  if (ready == nullptr) {
    status.emplace_back("Unknown");
  } else {
    status.emplace_back(StrAt(*ready, {"status"}) == "True" ? "Ready" : "NotReady");
  }
  if (BoolAt(node, {"spec", "unschedulable"})) status.emplace_back("SchedulingDisabled");
  return Join(status, ",");
}

std::string NodeRoles(const bj::object& node) {
  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  for (const auto& [k, v] : Obj(node, {"metadata", "labels"})) {
    std::string_view key = k;
    std::string_view value = v.is_string() ? std::string_view(v.get_string()) : "";
    if (key.starts_with(kRolePrefix)) {
      if (key.size() > kRolePrefix.size()) roles.emplace(key.substr(kRolePrefix.size()));
    } else if (key == "kubernetes.io/role" && !value.empty()) {
      roles.emplace(value);
    }
  }
  return roles.empty() ? "<none>" : Join(roles, ",");
}

std::string NodeAddress(const bj::object& node, std::string_view type) {
  for (const auto& a : Arr(node, {"status", "addresses"})) {
    if (StrAt(AsObj(a), {"type"}) == type) return Str(AsObj(a), {"address"});
  }
  return "<none>";
}

bj::array NodeCells(const bj::object& node, const TableContext& ctx) {
  return bj::array{api::Name(node),
                   NodeStatus(node),
                   NodeRoles(node),
                   ObjectAge(node, ctx),
                   StrAt(node, {"status", "nodeInfo", "kubeletVersion"}),
                   NodeAddress(node, "InternalIP"),
                   NodeAddress(node, "ExternalIP"),
                   StrOr(node, {"status", "nodeInfo", "osImage"}, "<unknown>"),
                   StrOr(node, {"status", "nodeInfo", "kernelVersion"}, "<unknown>"),
                   StrOr(node, {"status", "nodeInfo", "containerRuntimeVersion"}, "<unknown>")};
}

bj::array NamespaceCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), StrAt(obj, {"status", "phase"}), ObjectAge(obj, ctx)};
}

// Where the fields of an Event live: core/v1 and events.k8s.io/v1 name them
// differently (the table is the same).
struct EventFields {
  std::string_view regarding, message, first, last, count, source, reporting_controller;
};
constexpr EventFields kCoreEvent{"involvedObject", "message", "firstTimestamp", "lastTimestamp", "count", "source",
                                 "reportingComponent"};
constexpr EventFields kEventsV1Event{"regarding",       "note",           "deprecatedFirstTimestamp", "deprecatedLastTimestamp",
                                     "deprecatedCount", "deprecatedSource", "reportingController"};

Cells EventCells(EventFields f) {
  return [f](const bj::object& ev, const TableContext& ctx) {
    std::string_view first_ts = StrAt(ev, {f.first});
    std::string first = Since(TimeSet(first_ts) ? first_ts : StrAt(ev, {"eventTime"}), ctx);
    std::string_view last_ts = StrAt(ev, {f.last});
    std::string last = TimeSet(last_ts) ? Since(last_ts, ctx) : first;
    int64_t count = Int(ev, {f.count});
    if (IsSet(ev, {"series"})) {
      last = Since(StrAt(ev, {"series", "lastObservedTime"}), ctx);
      count = Int(ev, {"series", "count"});
    } else if (count == 0) {
      count = 1;  // singleton events of the new API have no count
    }
    const bj::object& regarding = Obj(ev, {f.regarding});
    std::string target = Lower(Str(regarding, {"kind"}));
    if (std::string_view name = StrAt(regarding, {"name"}); !name.empty()) target += "/" + std::string(name);
    std::string component = StrOr(ev, {f.source, "component"}, StrAt(ev, {f.reporting_controller}));
    std::string instance = StrOr(ev, {f.source, "host"}, StrAt(ev, {"reportingInstance"}));
    std::string source = instance.empty() ? component : component + ", " + instance;
    return bj::array{last,
                     StrAt(ev, {"type"}),
                     StrAt(ev, {"reason"}),
                     target,
                     StrAt(regarding, {"fieldPath"}),
                     source,
                     TrimSpace(StrAt(ev, {f.message})),
                     first,
                     count,
                     api::Name(ev)};
  };
}

bj::array ConfigMapCells(const bj::object& obj, const TableContext& ctx) {
  auto size = [&](std::string_view key) { return static_cast<int64_t>(Obj(obj, {key}).size()); };
  return bj::array{api::Name(obj), size("data") + size("binaryData"), ObjectAge(obj, ctx)};
}

bj::array SecretCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), StrOr(obj, {"type"}, "Opaque"), static_cast<int64_t>(Obj(obj, {"data"}).size()),
                   ObjectAge(obj, ctx)};
}

bj::array ServiceAccountCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), static_cast<int64_t>(Arr(obj, {"secrets"}).size()), ObjectAge(obj, ctx)};
}

bj::array ResourceQuotaCells(const bj::object& obj, const TableContext& ctx) {
  const bj::object& hard = Obj(obj, {"status", "hard"});
  const bj::object& used = Obj(obj, {"status", "used"});
  std::vector<std::string> names;
  for (const auto& kv : hard) names.emplace_back(kv.key());
  std::sort(names.begin(), names.end());
  std::vector<std::string> requests, limits;
  for (const auto& r : names) {
    std::string entry = r + ": " + Quantity(used.if_contains(r)) + "/" + Quantity(hard.if_contains(r));
    // "limits.<x>" goes to Limit; everything else (requests.cpu, cpu, pods...) to Request.
    bool limit = r.starts_with("limits.");
    (limit ? limits : requests).push_back(std::move(entry));
  }
  return bj::array{api::Name(obj), ObjectAge(obj, ctx), Join(requests, ", "), Join(limits, ", ")};
}

bj::array PersistentVolumeCells(const bj::object& pv, const TableContext& ctx) {
  std::string claim;
  if (const bj::object* ref = ObjAt(pv, {"spec", "claimRef"})) claim = Str(*ref, {"namespace"}) + "/" + Str(*ref, {"name"});
  return bj::array{api::Name(pv),
                   Quantity(At(pv, {"spec", "capacity", "storage"})),
                   AccessModes(Arr(pv, {"spec", "accessModes"})),
                   StrOr(pv, {"spec", "persistentVolumeReclaimPolicy"}, "Retain"),
                   IsSet(pv, {"metadata", "deletionTimestamp"}) ? "Terminating" : Str(pv, {"status", "phase"}),
                   claim,
                   StorageClass(pv),
                   OptStr(pv, {"spec", "volumeAttributesClassName"}, "<unset>"),
                   StrAt(pv, {"status", "reason"}),
                   ObjectAge(pv, ctx),
                   OptStr(pv, {"spec", "volumeMode"}, "<unset>")};
}

bj::array PersistentVolumeClaimCells(const bj::object& pvc, const TableContext& ctx) {
  std::string capacity, access_modes;
  if (!StrAt(pvc, {"spec", "volumeName"}).empty()) {
    capacity = Quantity(At(pvc, {"status", "capacity", "storage"}));
    access_modes = AccessModes(Arr(pvc, {"status", "accessModes"}));
  }
  return bj::array{api::Name(pvc),
                   IsSet(pvc, {"metadata", "deletionTimestamp"}) ? "Terminating" : Str(pvc, {"status", "phase"}),
                   StrAt(pvc, {"spec", "volumeName"}),
                   capacity,
                   access_modes,
                   StorageClass(pvc),
                   OptStr(pvc, {"spec", "volumeAttributesClassName"}, "<unset>"),
                   ObjectAge(pvc, ctx),
                   OptStr(pvc, {"spec", "volumeMode"}, "<unset>")};
}

// ---- apps, batch, autoscaling ------------------------------------------------

std::string ReadyOfDesired(const bj::object& obj) {
  return std::to_string(Int(obj, {"status", "readyReplicas"})) + "/" + std::to_string(Int(obj, {"spec", "replicas"}, 1));
}

bj::array DeploymentCells(const bj::object& obj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(obj, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(obj),
                   ReadyOfDesired(obj),
                   Int(obj, {"status", "updatedReplicas"}),
                   Int(obj, {"status", "availableReplicas"}),
                   ObjectAge(obj, ctx),
                   names,
                   images,
                   SelectorString(At(obj, {"spec", "selector"}))};
}

bj::array ReplicaSetCells(const bj::object& obj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(obj, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(obj),
                   Int(obj, {"spec", "replicas"}, 1),
                   Int(obj, {"status", "replicas"}),
                   Int(obj, {"status", "readyReplicas"}),
                   ObjectAge(obj, ctx),
                   names,
                   images,
                   FormatLabelSelector(At(obj, {"spec", "selector"}))};
}

bj::array StatefulSetCells(const bj::object& obj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(obj, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(obj), ReadyOfDesired(obj), ObjectAge(obj, ctx), names, images};
}

bj::array DaemonSetCells(const bj::object& obj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(obj, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(obj),
                   Int(obj, {"status", "desiredNumberScheduled"}),
                   Int(obj, {"status", "currentNumberScheduled"}),
                   Int(obj, {"status", "numberReady"}),
                   Int(obj, {"status", "updatedNumberScheduled"}),
                   Int(obj, {"status", "numberAvailable"}),
                   FormatLabels(ObjAt(obj, {"spec", "template", "spec", "nodeSelector"})),
                   ObjectAge(obj, ctx),
                   names,
                   images,
                   FormatLabelSelector(At(obj, {"spec", "selector"}))};
}

// metav1.GetControllerOf, printed as "<lower(kind.group)>/<name>".
std::string ControllerOf(const bj::object& obj) {
  for (const auto& r : Arr(obj, {"metadata", "ownerReferences"})) {
    const bj::object& ref = AsObj(r);
    if (!BoolAt(ref, {"controller"})) continue;
    std::string_view api_version = StrAt(ref, {"apiVersion"});
    size_t slash = api_version.find('/');
    std::string group(slash == std::string_view::npos ? "" : api_version.substr(0, slash));
    std::string kind = Str(ref, {"kind"});
    std::string group_kind = group.empty() ? kind : kind + "." + group;
    std::string name = Str(ref, {"name"});
    return group_kind.empty() ? name : Lower(group_kind) + "/" + name;
  }
  return "<none>";
}

bj::array ControllerRevisionCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), ControllerOf(obj), Int(obj, {"revision"}), ObjectAge(obj, ctx)};
}

std::string JobStatus(const bj::object& job) {
  const bj::array& conditions = Arr(job, {"status", "conditions"});
  if (FirstConditionTrue(conditions, "Complete")) return "Complete";
  if (FirstConditionTrue(conditions, "Failed")) return "Failed";
  if (IsSet(job, {"metadata", "deletionTimestamp"})) return "Terminating";
  if (FirstConditionTrue(conditions, "Suspended")) return "Suspended";
  if (FirstConditionTrue(conditions, "FailureTarget")) return "FailureTarget";
  return "Running";
}

std::string JobCompletions(const bj::object& job) {
  std::string succeeded = std::to_string(Int(job, {"status", "succeeded"}));
  if (auto completions = IntAt(job, {"spec", "completions"})) return succeeded + "/" + std::to_string(*completions);
  int64_t parallelism = Int(job, {"spec", "parallelism"});
  if (parallelism > 1) return succeeded + "/1 of " + std::to_string(parallelism);
  return succeeded + "/1";
}

std::string JobDuration(const bj::object& job, const TableContext& ctx) {
  auto start = api::ParseTime(StrAt(job, {"status", "startTime"}));
  if (!start) return "";
  auto completion = api::ParseTime(StrAt(job, {"status", "completionTime"}));
  return api::HumanDuration((completion ? *completion : ctx.now) - *start);
}

bj::array JobCells(const bj::object& job, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(job, {"spec", "template", "spec", "containers"}));
  return bj::array{api::Name(job),
                   JobStatus(job),
                   JobCompletions(job),
                   JobDuration(job, ctx),
                   ObjectAge(job, ctx),
                   names,
                   images,
                   FormatLabelSelector(At(job, {"spec", "selector"}))};
}

bj::array CronJobCells(const bj::object& cj, const TableContext& ctx) {
  auto [names, images] = ContainerCells(Arr(cj, {"spec", "jobTemplate", "spec", "template", "spec", "containers"}));
  std::string suspend = "<unset>";
  if (IsSet(cj, {"spec", "suspend"})) suspend = BoolAt(cj, {"spec", "suspend"}) ? "True" : "False";
  std::string_view last_schedule = StrAt(cj, {"status", "lastScheduleTime"});
  return bj::array{api::Name(cj),
                   StrAt(cj, {"spec", "schedule"}),
                   OptStr(cj, {"spec", "timeZone"}, "<none>"),
                   suspend,
                   static_cast<int64_t>(Arr(cj, {"status", "active"}).size()),
                   last_schedule.empty() ? "<none>" : Since(last_schedule, ctx),
                   ObjectAge(cj, ctx),
                   names,
                   images,
                   FormatLabelSelector(At(cj, {"spec", "jobTemplate", "spec", "selector"}))};
}

// One entry of an HPA's TARGETS cell (autoscaling/v2 shape). `status` is
// status.currentMetrics at the same index, or null.
std::string HpaMetric(const bj::object& metric, const bj::object* status) {
  std::string_view type = StrAt(metric, {"type"});
  std::string_view key = type == "Resource"            ? "resource"
                         : type == "ContainerResource" ? "containerResource"
                         : type == "Pods"              ? "pods"
                         : type == "Object"            ? "object"
                         : type == "External"          ? "external"
                                                       : "";
  if (key.empty()) return "<unknown type>";
  const bj::object& target = Obj(metric, {key, "target"});
  // The status entry of the same source type; a nil Quantity prints "<nil>".
  const bj::object* current = status != nullptr && ObjAt(*status, {key}) != nullptr ? &Obj(*status, {key, "current"}) : nullptr;
  auto qty = [](const bj::object& o, std::string_view field) { return ScalarText(o.if_contains(field), "<nil>"); };
  auto cur = [&](std::string_view field) { return current != nullptr ? qty(*current, field) : "<unknown>"; };

  if (type == "Resource" || type == "ContainerResource") {
    std::string name = Str(metric, {key, "name"}) + ": ";
    if (IsSet(target, {"averageValue"})) return name + cur("averageValue") + "/" + qty(target, "averageValue");
    std::string cur_util = "<unknown>";
    if (current != nullptr && IsSet(*current, {"averageUtilization"})) {
      cur_util = std::to_string(Int(*current, {"averageUtilization"})) + "%";
    }
    std::string tgt_util = "<auto>";
    if (IsSet(target, {"averageUtilization"})) tgt_util = std::to_string(Int(target, {"averageUtilization"})) + "%";
    return name + cur_util + "/" + tgt_util;
  }
  if (type == "Pods") return cur("averageValue") + "/" + qty(target, "averageValue");
  // Object and External.
  if (IsSet(target, {"averageValue"})) {
    std::string c = current != nullptr && IsSet(*current, {"averageValue"}) ? cur("averageValue") : "<unknown>";
    return c + "/" + qty(target, "averageValue") + " (avg)";
  }
  return cur("value") + "/" + qty(target, "value");
}

std::string HpaTargets(const bj::object& hpa) {
  const bj::array& metrics = Arr(hpa, {"spec", "metrics"});
  if (metrics.empty()) return "<none>";
  const bj::array& statuses = Arr(hpa, {"status", "currentMetrics"});
  std::vector<std::string> list;
  for (size_t i = 0; i < metrics.size(); ++i) {
    const bj::object* status = i < statuses.size() && statuses[i].is_object() ? &statuses[i].get_object() : nullptr;
    list.push_back(HpaMetric(AsObj(metrics[i]), status));
  }
  return ListWithMore(list, 2, ", ", "");
}

bj::array HpaCells(const bj::object& hpa, const TableContext& ctx) {
  std::string min_pods = "<unset>";
  if (IsSet(hpa, {"spec", "minReplicas"})) min_pods = std::to_string(Int(hpa, {"spec", "minReplicas"}));
  return bj::array{api::Name(hpa),
                   Str(hpa, {"spec", "scaleTargetRef", "kind"}) + "/" + Str(hpa, {"spec", "scaleTargetRef", "name"}),
                   HpaTargets(hpa),
                   min_pods,
                   Int(hpa, {"spec", "maxReplicas"}),
                   Int(hpa, {"status", "currentReplicas"}),
                   ObjectAge(hpa, ctx)};
}

// An autoscaling/v1 HPA seen in the v2 shape the printer works on: the CPU
// target becomes a Resource metric (80% when unset, as v2 defaulting does).
bj::array HpaV1Cells(const bj::object& hpa, const TableContext& ctx) {
  bj::object v2 = hpa;
  bj::object& spec = api::Obj(v2, "spec");
  int64_t target = Int(hpa, {"spec", "targetCPUUtilizationPercentage"}, 80);
  bj::object resource{{"name", "cpu"}, {"target", bj::object{{"type", "Utilization"}, {"averageUtilization", target}}}};
  spec["metrics"] = bj::array{bj::object{{"type", "Resource"}, {"resource", std::move(resource)}}};
  if (auto current = IntAt(hpa, {"status", "currentCPUUtilizationPercentage"})) {
    bj::object res{{"name", "cpu"}, {"current", bj::object{{"averageUtilization", *current}}}};
    api::Obj(v2, "status")["currentMetrics"] = bj::array{bj::object{{"type", "Resource"}, {"resource", std::move(res)}}};
  }
  return HpaCells(v2, ctx);
}

// ---- Other groups ------------------------------------------------------------

// printCertificateSigningRequest: Pending/Approved/Denied, then Failed and Issued.
bj::array CsrCells(const bj::object& obj, const TableContext& ctx) {
  bool approved = false, denied = false, failed = false;
  for (const auto& c : Arr(obj, {"status", "conditions"})) {
    std::string_view t = StrAt(AsObj(c), {"type"});
    approved |= t == "Approved";
    denied |= t == "Denied";
    failed |= t == "Failed";
  }
  std::string cond = denied ? "Denied" : approved ? "Approved" : "Pending";
  if (failed) cond += ",Failed";
  if (!StrAt(obj, {"status", "certificate"}).empty()) cond += ",Issued";
  std::string duration = "<none>";
  if (IsSet(obj, {"spec", "expirationSeconds"})) {
    duration = api::HumanDuration(std::chrono::seconds(Int(obj, {"spec", "expirationSeconds"})));
  }
  return bj::array{api::Name(obj), ObjectAge(obj, ctx), OptStr(obj, {"spec", "signerName"}, "<none>"),
                   StrAt(obj, {"spec", "username"}), duration, cond};
}

bj::array LeaseCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), StrAt(obj, {"spec", "holderIdentity"}), ObjectAge(obj, ctx)};
}

bj::array EndpointSliceCells(const bj::object& obj, const TableContext& ctx) {
  std::vector<std::string> ports;
  for (const auto& p : Arr(obj, {"ports"})) {
    const bj::object& port = AsObj(p);
    if (IsSet(port, {"port"})) {
      ports.push_back(std::to_string(Int(port, {"port"})));
    } else {
      ports.push_back(OptStr(port, {"name"}, "*"));
    }
  }
  std::vector<std::string> addresses;
  for (const auto& e : Arr(obj, {"endpoints"})) {
    for (auto& a : Strings(Arr(AsObj(e), {"addresses"}))) addresses.push_back(std::move(a));
  }
  return bj::array{api::Name(obj), StrAt(obj, {"addressType"}), ListWithMore(ports, 3, ",", "<unset>"),
                   ListWithMore(addresses, 3, ",", "<unset>"), ObjectAge(obj, ctx)};
}

bj::array NetworkPolicyCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), FormatLabelSelector(At(obj, {"spec", "podSelector"})), ObjectAge(obj, ctx)};
}

// formatHosts: up to 3 hosts; the "more" count counts rules, not hosts.
std::string IngressHosts(const bj::object& ing) {
  constexpr size_t kMax = 3;
  const bj::array& rules = Arr(ing, {"spec", "rules"});
  std::vector<std::string> hosts;
  bool more = false;
  for (const auto& r : rules) {
    if (hosts.size() == kMax) more = true;
    std::string_view host = StrAt(AsObj(r), {"host"});
    if (!more && !host.empty()) hosts.emplace_back(host);
  }
  if (hosts.empty()) return "*";
  std::string out = Join(hosts, ",");
  if (more) out += " + " + std::to_string(rules.size() - kMax) + " more...";
  return out;
}

bj::array IngressCells(const bj::object& ing, const TableContext& ctx) {
  return bj::array{api::Name(ing),
                   OptStr(ing, {"spec", "ingressClassName"}, "<none>"),
                   IngressHosts(ing),
                   LoadBalancerStatus(ing),
                   Arr(ing, {"spec", "tls"}).empty() ? "80" : "80, 443",
                   ObjectAge(ing, ctx)};
}

bj::array IngressClassCells(const bj::object& obj, const TableContext& ctx) {
  std::string parameters = "<none>";
  if (const bj::object* p = ObjAt(obj, {"spec", "parameters"})) {
    parameters = Str(*p, {"kind"});
    if (IsSet(*p, {"apiGroup"})) parameters += "." + Str(*p, {"apiGroup"});
    parameters += "/" + Str(*p, {"name"});
  }
  return bj::array{api::Name(obj), StrAt(obj, {"spec", "controller"}), parameters, ObjectAge(obj, ctx)};
}

bj::array PodDisruptionBudgetCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), ScalarText(At(obj, {"spec", "minAvailable"}), "N/A"),
                   ScalarText(At(obj, {"spec", "maxUnavailable"}), "N/A"), Int(obj, {"status", "disruptionsAllowed"}),
                   ObjectAge(obj, ctx)};
}

bj::array RoleBindingCells(const bj::object& obj, const TableContext& ctx) {
  std::vector<std::string> users, groups, service_accounts;
  for (const auto& s : Arr(obj, {"subjects"})) {
    const bj::object& subject = AsObj(s);
    std::string_view kind = StrAt(subject, {"kind"});
    if (kind == "User") {
      users.push_back(Str(subject, {"name"}));
    } else if (kind == "Group") {
      groups.push_back(Str(subject, {"name"}));
    } else if (kind == "ServiceAccount") {
      service_accounts.push_back(Str(subject, {"namespace"}) + "/" + Str(subject, {"name"}));
    }
  }
  return bj::array{api::Name(obj),
                   Str(obj, {"roleRef", "kind"}) + "/" + Str(obj, {"roleRef", "name"}),
                   ObjectAge(obj, ctx),
                   Join(users, ", "),
                   Join(groups, ", "),
                   Join(service_accounts, ", ")};
}

bj::array PriorityClassCells(const bj::object& obj, const TableContext& ctx) {
  return bj::array{api::Name(obj), Int(obj, {"value"}), BoolAt(obj, {"globalDefault"}), ObjectAge(obj, ctx),
                   StrAt(obj, {"preemptionPolicy"})};
}

bj::array StorageClassCells(const bj::object& obj, const TableContext& ctx) {
  std::string name(api::Name(obj));
  if (StrAt(obj, {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"}) == "true" ||
      StrAt(obj, {"metadata", "annotations", "storageclass.beta.kubernetes.io/is-default-class"}) == "true") {
    name += " (default)";
  }
  return bj::array{name,
                   StrAt(obj, {"provisioner"}),
                   StrOr(obj, {"reclaimPolicy"}, "Delete"),
                   StrOr(obj, {"volumeBindingMode"}, "Immediate"),
                   BoolAt(obj, {"allowVolumeExpansion"}),
                   ObjectAge(obj, ctx)};
}

void Set(ResourceRegistry& r, std::string_view group, std::string_view kind, const std::vector<TableColumn>& columns,
         const Cells& cells) {
  r.ForKind(group, kind, [&](ResourceDef& d) {
    d.hooks.columns = columns;
    d.hooks.cells = cells;
  });
}

}  // namespace

void InstallTables(ResourceRegistry& r) {
  const std::string kInt = "integer";

  // core
  Set(r, "", "Pod",
      {NameCol(), Col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
       Col("Status", "The aggregate status of the containers in this pod."),
       Col("Restarts",
           "The number of times the containers in this pod have been restarted and when the last container in this "
           "pod has restarted."),
       AgeCol(), Col("IP", kPodIp, kWide), Col("Node", kPodNodename, kWide),
       Col("Nominated Node", kPodNominated, kWide), Col("Readiness Gates", kPodReadinessgates, kWide)},
      PodCells);
  Set(r, "", "PodTemplate",
      {NameCol(), Col("Containers", kContainers), Col("Images", kImages),
       Col("Pod Labels", "The labels for the pod template.")},
      PodTemplateCells);
  Set(r, "", "ReplicationController",
      {NameCol(), Col("Desired", kRcSpecReplicas, 0, kInt), Col("Current", kRcStatusReplicas, 0, kInt),
       Col("Ready", kRcReady, 0, kInt), AgeCol(), ContainersCol(), ImagesCol(), Col("Selector", kRcSelector, kWide)},
      ReplicationControllerCells);
  Set(r, "", "Service",
      {NameCol(), Col("Type", kSvcType), Col("Cluster-IP", kSvcClusterip), Col("External-IP", kSvcExternalips),
       Col("Port(s)", kSvcPorts), AgeCol(), Col("Selector", kSvcSelector, kWide)},
      ServiceCells);
  Set(r, "", "Endpoints", {NameCol(), Col("Endpoints", kEndpointsSubsets), AgeCol()}, EndpointsCells);
  Set(r, "", "Node",
      {NameCol(), Col("Status", "The status of the node"), Col("Roles", "The roles of the node"), AgeCol(),
       Col("Version", kNodeKubeletversion), Col("Internal-IP", kNodeAddresses, kWide),
       Col("External-IP", kNodeAddresses, kWide), Col("OS-Image", kNodeOsimage, kWide),
       Col("Kernel-Version", kNodeKernel, kWide), Col("Container-Runtime", kNodeCri, kWide)},
      NodeCells);
  Set(r, "", "Namespace", {NameCol(), Col("Status", "The status of the namespace"), AgeCol()}, NamespaceCells);
  // No Age column; Name comes last, as a wide column.
  const std::vector<TableColumn> event_columns = {Col("Last Seen", kEvLast),
                                                  Col("Type", kEvType),
                                                  Col("Reason", kEvReason),
                                                  Col("Object", kEvInvolved),
                                                  Col("Subobject", kEvFieldpath, kWide),
                                                  Col("Source", kEvSource, kWide),
                                                  Col("Message", kEvMessage),
                                                  Col("First Seen", kEvFirst, kWide),
                                                  Col("Count", kEvCount, kWide),
                                                  TableColumn{"Name", "string", "name", kName, kWide}};
  Set(r, "", "Event", event_columns, EventCells(kCoreEvent));
  Set(r, "events.k8s.io", "Event", event_columns, EventCells(kEventsV1Event));
  Set(r, "", "ConfigMap", {NameCol(), Col("Data", kCmData), AgeCol()}, ConfigMapCells);
  Set(r, "", "Secret", {NameCol(), Col("Type", kSecretType), Col("Data", kSecretData), AgeCol()}, SecretCells);
  Set(r, "", "ServiceAccount", {NameCol(), Col("Secrets", kSaSecrets), AgeCol()}, ServiceAccountCells);
  // 1.32 order: Age second (1.33 moved it last).
  Set(r, "", "ResourceQuota",
      {NameCol(), AgeCol(),
       Col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
       Col("Limit",
           "Limits control the maximum amount of cpu/memory that a container may use independent of contention on "
           "the node.")},
      ResourceQuotaCells);
  Set(r, "", "PersistentVolume",
      {NameCol(), Col("Capacity", kPvCapacity), Col("Access Modes", kPvAccessmodes),
       Col("Reclaim Policy", kPvReclaim), Col("Status", kPvPhase), Col("Claim", kPvClaimref),
       Col("StorageClass", "StorageClass of the pv"), Col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
       Col("Reason", kPvReason), AgeCol(), Col("VolumeMode", kPvVolumemode, kWide)},
      PersistentVolumeCells);
  Set(r, "", "PersistentVolumeClaim",
      {NameCol(), Col("Status", kPvcPhase), Col("Volume", kPvcVolumename), Col("Capacity", kPvcCapacity),
       Col("Access Modes", kPvcAccessmodes), Col("StorageClass", "StorageClass of the pvc"),
       Col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"), AgeCol(),
       Col("VolumeMode", kPvcVolumemode, kWide)},
      PersistentVolumeClaimCells);

  // apps
  Set(r, "apps", "Deployment",
      {NameCol(), Col("Ready", "Number of the pod with ready state"), Col("Up-to-date", kDeployUpdated),
       Col("Available", kDeployAvailable), AgeCol(), ContainersCol(), ImagesCol(),
       Col("Selector", kDeploySelector, kWide)},
      DeploymentCells);
  Set(r, "apps", "ReplicaSet",
      {NameCol(), Col("Desired", kRsSpecReplicas, 0, kInt), Col("Current", kRsStatusReplicas, 0, kInt),
       Col("Ready", kRsReady, 0, kInt), AgeCol(), ContainersCol(), ImagesCol(), Col("Selector", kRsSelector, kWide)},
      ReplicaSetCells);
  Set(r, "apps", "StatefulSet",
      {NameCol(), Col("Ready", "Number of the pod with ready state"), AgeCol(), ContainersCol(), ImagesCol()},
      StatefulSetCells);
  Set(r, "apps", "DaemonSet",
      {NameCol(), Col("Desired", kDsDesired, 0, kInt), Col("Current", kDsCurrent, 0, kInt),
       Col("Ready", kDsReady, 0, kInt), Col("Up-to-date", kDsUpdated, 0, kInt),
       Col("Available", kDsAvailable, 0, kInt), Col("Node Selector", kPodNodeselector), AgeCol(), ContainersCol(),
       ImagesCol(), Col("Selector", kDsSelector, kWide)},
      DaemonSetCells);
  Set(r, "apps", "ControllerRevision",
      {NameCol(), Col("Controller", "Controller of the object"), Col("Revision", kCrRevision), AgeCol()},
      ControllerRevisionCells);

  // batch
  Set(r, "batch", "Job",
      {NameCol(), Col("Status", "Status of the job."), Col("Completions", kJobSucceeded),
       Col("Duration", "Time required to complete the job."), AgeCol(), ContainersCol(), ImagesCol(),
       Col("Selector", kJobSelector, kWide)},
      JobCells);
  Set(r, "batch", "CronJob",
      {NameCol(), Col("Schedule", kCjSchedule), Col("Timezone", kCjTimezone), Col("Suspend", kCjSuspend, 0, "boolean"),
       Col("Active", kCjActive, 0, kInt), Col("Last Schedule", kCjLastschedule), AgeCol(), ContainersCol(),
       ImagesCol(), Col("Selector", kJobSelector, kWide)},
      CronJobCells);

  // autoscaling: v1 objects have the CPU target fields instead of metrics.
  const std::vector<TableColumn> hpa_columns = {NameCol(),
                                                Col("Reference", kHpaScaletarget),
                                                Col("Targets", kHpaMetrics),
                                                Col("MinPods", kHpaMin),
                                                Col("MaxPods", kHpaMax),
                                                Col("Replicas", kHpaCurrent),
                                                AgeCol()};
  r.ForKind("autoscaling", "HorizontalPodAutoscaler", [&](ResourceDef& d) {
    d.hooks.columns = hpa_columns;
    d.hooks.cells = d.version == "v1" ? Cells(HpaV1Cells) : Cells(HpaCells);
  });

  // other groups
  Set(r, "certificates.k8s.io", "CertificateSigningRequest",
      {NameCol(), AgeCol(), Col("SignerName", "signerName indicates the requested signer, and is a qualified name."),
       Col("Requestor", "username contains the name of the user that created the CertificateSigningRequest."),
       Col("RequestedDuration", "expirationSeconds is the requested duration of validity of the issued certificate."),
       Col("Condition", "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and \"Failed\".")},
      CsrCells);
  Set(r, "coordination.k8s.io", "Lease", {NameCol(), Col("Holder", kLeaseHolder), AgeCol()}, LeaseCells);
  Set(r, "discovery.k8s.io", "EndpointSlice",
      {NameCol(), Col("AddressType", kEpsAddresstype), Col("Ports", kEpsPorts), Col("Endpoints", kEpsEndpoints),
       AgeCol()},
      EndpointSliceCells);
  Set(r, "networking.k8s.io", "NetworkPolicy", {NameCol(), Col("Pod-Selector", kNpPodselector), AgeCol()},
      NetworkPolicyCells);
  Set(r, "networking.k8s.io", "Ingress",
      {NameCol(),
       Col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
       Col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
       Col("Address", "Address is a list containing ingress points for the load-balancer"),
       Col("Ports", "Ports of TLS configurations that open"), AgeCol()},
      IngressCells);
  Set(r, "networking.k8s.io", "IngressClass",
      {NameCol(), Col("Controller", "Controller that is responsible for handling this class"),
       Col("Parameters", "A reference to a resource with additional parameters"), AgeCol()},
      IngressClassCells);
  Set(r, "policy", "PodDisruptionBudget",
      {NameCol(), Col("Min Available", "The minimum number of pods that must be available."),
       Col("Max Unavailable", "The maximum number of pods that may be unavailable."),
       Col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", 0, kInt), AgeCol()},
      PodDisruptionBudgetCells);
  for (auto [kind, role_ref, what] : {std::tuple<const char*, const char*, std::string>{"RoleBinding", kRbRoleref, "roleBinding"},
                                      {"ClusterRoleBinding", kCrbRoleref, "clusterRoleBinding"}}) {
    Set(r, "rbac.authorization.k8s.io", kind,
        {NameCol(), Col("Role", role_ref), AgeCol(), Col("Users", "Users in the " + what, kWide),
         Col("Groups", "Groups in the " + what, kWide), Col("ServiceAccounts", "ServiceAccounts in the " + what, kWide)},
        RoleBindingCells);
  }
  // PreemptionPolicy has priority 0 upstream: kubectl shows it without -o wide.
  Set(r, "scheduling.k8s.io", "PriorityClass",
      {NameCol(), Col("Value", kPcValue, 0, kInt), Col("Global-Default", kPcGlobaldefault, 0, "boolean"), AgeCol(),
       Col("PreemptionPolicy", kPcPreemption)},
      PriorityClassCells);
  Set(r, "storage.k8s.io", "StorageClass",
      {NameCol(), Col("Provisioner", kScProvisioner), Col("ReclaimPolicy", kScReclaim),
       Col("VolumeBindingMode", kScBinding), Col("AllowVolumeExpansion", kScExpansion), AgeCol()},
      StorageClassCells);
}

}  // namespace kubepp::apiserver
