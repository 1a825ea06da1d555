#include "apiserver/admission.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <set>

#include "api/object.h"
#include "common/json.h"

namespace kubepp::apiserver {
namespace {

std::string IpString(uint32_t ip) {
  struct in_addr a;
  a.s_addr = htonl(ip);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

uint32_t RandomU32() {
  uint32_t v;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

const std::set<std::string>& Immortal() {
  static const std::set<std::string> s = {"default", "kube-system", "kube-public"};
  return s;
}

}  // namespace

DefaultAdmission::DefaultAdmission(RegistryStore* store, const ResourceRegistry* registry, AdmissionConfig config)
    : store_(store), registry_(registry), config_(std::move(config)) {
  std::string cidr = config_.service_cidr;
  size_t slash = cidr.find('/');
  int bits = slash == std::string::npos ? 24 : std::atoi(cidr.c_str() + slash + 1);
  struct in_addr a {};
  inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a);
  uint32_t mask = bits == 0 ? 0 : ~((1u << (32 - bits)) - 1);
  cidr_base_ = ntohl(a.s_addr) & mask;
  cidr_size_ = bits >= 32 ? 1 : (1u << (32 - bits));
}

std::string DefaultAdmission::FirstServiceIP() const { return IpString(cidr_base_ + 1); }

Status DefaultAdmission::CheckNamespace(const ResourceDef& def, const bj::object& obj) {
  if (!def.namespaced) return Status::OK();
  std::string ns(api::Namespace(obj));
  const ResourceDef* nsdef = registry_->Find("", "v1", "namespaces");
  // The watch cache knows the namespace and its phase without a read.
  ResourceCache* cache = store_->caches()->For(nsdef);
  CachedPtr cached = cache->Get(nsdef->Key("", ns));
  if (cached == nullptr) {
    // Maybe created a moment ago: let the cache catch up, then look again.
    if (auto rev = store_->storage()->CurrentRevision(); rev.ok()) {
      (void)store_->caches()->WaitFor(*rev, std::chrono::seconds(3));
    }
    cached = cache->Get(nsdef->Key("", ns));
    if (cached == nullptr) return api::NewNotFound({"", "namespaces"}, ns);
  }
  if (cached->Field("status.phase") == std::optional<std::string>("Terminating")) {
    return Status::Forbidden(def.GR().String() + " \"" + std::string(api::Name(obj)) +
                             "\" is forbidden: unable to create new content in namespace " + ns +
                             " because it is being terminated")
        .WithDetails({std::string(api::Name(obj)), def.group, def.resource, "", 0});
  }
  return Status::OK();
}

Result<std::string> DefaultAdmission::NewClusterIP() {
  std::set<std::string> used;
  const ResourceDef* svc = registry_->Find("", "v1", "services");
  ResourceCache* cache = store_->caches()->For(svc);
  int64_t rv;
  for (const auto& o : cache->List({}, &rv)) {
    auto v = json::Parse(o->json);
    if (!v.ok()) continue;
    std::string_view ip = api::StrAt(v->get_object(), {"spec", "clusterIP"});
    if (!ip.empty()) used.emplace(ip);
  }
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = reserved_ips_.begin(); it != reserved_ips_.end();) {
    it = now - it->second > std::chrono::minutes(1) ? reserved_ips_.erase(it) : std::next(it);
  }
  uint32_t span = cidr_size_ > 2 ? cidr_size_ - 2 : 1;  // no network or broadcast address
  uint32_t start = RandomU32() % span;
  for (uint32_t i = 0; i < span; ++i) {
    uint32_t off = 1 + (start + i) % span;
    if (off == 1) continue;  // the kubernetes service's
    std::string ip = IpString(cidr_base_ + off);
    if (used.count(ip) || reserved_ips_.count(ip)) continue;
    reserved_ips_[ip] = now;
    return ip;
  }
  return Status::Internal("failed to allocate a serviceIP: range is full");
}

Result<int> DefaultAdmission::NewNodePort() {
  std::set<int> used;
  const ResourceDef* svc = registry_->Find("", "v1", "services");
  ResourceCache* cache = store_->caches()->For(svc);
  int64_t rv;
  for (const auto& o : cache->List({}, &rv)) {
    auto v = json::Parse(o->json);
    if (!v.ok()) continue;
    if (const auto* ports = api::ArrAt(v->get_object(), {"spec", "ports"})) {
      for (const auto& p : *ports) {
        if (p.is_object()) {
          if (auto np = api::IntAt(p.get_object(), {"nodePort"})) used.insert(static_cast<int>(*np));
        }
      }
    }
  }
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = reserved_ports_.begin(); it != reserved_ports_.end();) {
    it = now - it->second > std::chrono::minutes(1) ? reserved_ports_.erase(it) : std::next(it);
  }
  int span = config_.node_port_max - config_.node_port_min + 1;
  int start = static_cast<int>(RandomU32() % static_cast<uint32_t>(span));
  for (int i = 0; i < span; ++i) {
    int port = config_.node_port_min + (start + i) % span;
    if (used.count(port) || reserved_ports_.count(port)) continue;
    reserved_ports_[port] = now;
    return port;
  }
  return Status::Internal("failed to allocate a nodePort: range is full");
}

Status DefaultAdmission::AllocateService(bj::object& svc, const bj::object* old) {
  bj::object& spec = api::Obj(svc, "spec");
  std::string type(api::StrAt(spec, {"type"}, "ClusterIP"));
  if (type == "ExternalName") return Status::OK();
  std::string_view ip = api::StrAt(spec, {"clusterIP"});
  if (ip.empty() && old != nullptr) ip = api::StrAt(*old, {"spec", "clusterIP"});
  std::string chosen(ip);
  if (chosen.empty()) {
    ASSIGN_OR_RETURN(chosen, NewClusterIP());
  }
  spec["clusterIP"] = chosen;
  if (chosen != "None") {
    spec["clusterIPs"] = bj::array{bj::string(chosen)};
    api::SetDefault(spec, "ipFamilies", bj::array{"IPv4"});
    api::SetDefault(spec, "ipFamilyPolicy", "SingleStack");
  } else {
    spec["clusterIPs"] = bj::array{"None"};
  }
  if (type == "NodePort" || type == "LoadBalancer") {
    if (auto* ports = spec.if_contains("ports"); ports != nullptr && ports->is_array()) {
      for (auto& p : ports->get_array()) {
        if (!p.is_object()) continue;
        bj::object& po = p.get_object();
        if (api::IntAt(po, {"nodePort"}).value_or(0) != 0) continue;
        // Keep the port this service already had.
        int keep = 0;
        if (old != nullptr) {
          if (const auto* op = api::ArrAt(*old, {"spec", "ports"})) {
            for (const auto& q : *op) {
              if (q.is_object() && api::IntAt(q.get_object(), {"port"}) == api::IntAt(po, {"port"})) {
                keep = static_cast<int>(api::IntAt(q.get_object(), {"nodePort"}).value_or(0));
              }
            }
          }
        }
        if (keep == 0) {
          ASSIGN_OR_RETURN(keep, NewNodePort());
        }
        po["nodePort"] = keep;
      }
    }
  }
  return Status::OK();
}

Status DefaultAdmission::AdmitPod(bj::object& pod) {
  RETURN_IF_ERROR(AdmitPriority(pod));
  bj::object& spec = api::Obj(pod, "spec");
  std::string_view sa = api::StrAt(spec, {"serviceAccountName"});
  if (sa.empty()) sa = api::StrAt(spec, {"serviceAccount"});
  if (sa.empty()) sa = "default";
  spec["serviceAccountName"] = std::string(sa);
  api::SetDefault(spec, "priority", 0);
  // DefaultTolerationSeconds: 300 s for not-ready and unreachable nodes.
  bj::array& tols = api::Arr(spec, "tolerations");
  for (std::string_view key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    bool have = false;
    for (const auto& t : tols) {
      if (t.is_object() && api::StrAt(t.get_object(), {"key"}) == key) have = true;
    }
    if (!have) {
      tols.push_back(bj::object{{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}, {"tolerationSeconds", 300}});
    }
  }
  return Status::OK();
}

Status DefaultAdmission::AdmitPriority(bj::object& pod) {
  bj::object& spec = api::Obj(pod, "spec");
  std::string cls(api::StrAt(spec, {"priorityClassName"}));
  std::optional<int64_t> value;
  std::string policy;
  auto forbidden = [&](const std::string& why) {
    return Status::Forbidden("pods \"" + std::string(api::Name(pod)) + "\" is forbidden: " + why)
        .WithDetails({std::string(api::Name(pod)), "", "pods", "", 0});
  };
  static const std::map<std::string, int64_t, std::less<>> kSystem = {{"system-node-critical", 2000001000},
                                                                     {"system-cluster-critical", 2000000000}};
  const ResourceDef* pcdef = registry_->Find("scheduling.k8s.io", "v1", "priorityclasses");
  ResourceCache* cache = pcdef ? store_->caches()->For(pcdef) : nullptr;
  auto read = [&](const CachedObject& c) {
    auto v = json::Parse(c.json);
    if (!v.ok() || !v->is_object()) return;
    value = api::IntAt(v->get_object(), {"value"}).value_or(0);
    policy = std::string(api::StrAt(v->get_object(), {"preemptionPolicy"}, "PreemptLowerPriority"));
  };
  if (!cls.empty()) {
    CachedPtr c = cache ? cache->Get(pcdef->Key("", cls)) : nullptr;
    if (c != nullptr) {
      read(*c);
    } else if (auto it = kSystem.find(cls); it != kSystem.end()) {
      value = it->second;
      policy = "PreemptLowerPriority";
    } else {
      return forbidden("no PriorityClass with name " + cls + " was found");
    }
  } else if (cache != nullptr) {
    int64_t rv = 0;
    for (const auto& c : cache->List(WatchFilter{}, &rv)) {
      auto v = json::Parse(c->json);
      if (!v.ok() || !v->is_object() || !api::BoolAt(v->get_object(), {"globalDefault"})) continue;
      read(*c);
      spec["priorityClassName"] = c->name;
      break;
    }
  }
  if (!value) return Status::OK();  // no class: priority defaults to 0
  if (auto given = api::IntAt(spec, {"priority"}); given && *given != *value) {
    return forbidden("the integer value of priority (" + std::to_string(*given) +
                     ") must not be provided in pod spec; priority admission controller computed " +
                     std::to_string(*value) + " from the given PriorityClass name");
  }
  spec["priority"] = *value;
  if (!spec.contains("preemptionPolicy") && !policy.empty()) spec["preemptionPolicy"] = policy;
  return Status::OK();
}

Status DefaultAdmission::Admit(const ResourceDef& def, bj::object& obj, const bj::object* old, const UserInfo& user) {
  if (old == nullptr) RETURN_IF_ERROR(CheckNamespace(def, obj));
  if (def.group.empty() && def.resource == "services") RETURN_IF_ERROR(AllocateService(obj, old));
  if (def.group.empty() && def.resource == "pods" && old == nullptr) RETURN_IF_ERROR(AdmitPod(obj));
  return Status::OK();
}

Status DefaultAdmission::AdmitDelete(const ResourceDef& def, const bj::object& obj, const UserInfo& user) {
  if (def.group.empty() && def.resource == "namespaces" && Immortal().count(std::string(api::Name(obj)))) {
    return Status::Forbidden("namespaces \"" + std::string(api::Name(obj)) +
                             "\" is forbidden: this namespace may not be deleted")
        .WithDetails({std::string(api::Name(obj)), "", "namespaces", "", 0});
  }
  return Status::OK();
}

}  // namespace kubepp::apiserver
