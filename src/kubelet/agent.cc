#include "kubelet/agent.h"

#include <unistd.h>

#include <algorithm>

#include "api/object.h"
#include "apiserver/pki.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "kubelet/pod_config.h"
#include "kubelet/runtime/runc/runc_runtime.h"

namespace kubepp::kubelet {
namespace {

namespace bj = boost::json;

const log::Logger& Log() {
  static const log::Logger l("agent");
  return l;
}

// ".10" of the service range: where cluster DNS lives.
std::string DnsAddress(const std::string& service_cidr) {
  std::string base = service_cidr.substr(0, service_cidr.find('/'));
  size_t dot = base.rfind('.');
  return dot == std::string::npos ? "" : base.substr(0, dot) + ".10";
}

}  // namespace

std::string DefaultNodeName() {
  char h[256] = {};
  ::gethostname(h, sizeof h - 1);
  std::string s(h);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.empty() ? "node" : s;
}

Result<std::unique_ptr<Agent>> Agent::Start(client::RestClient* client, AgentOptions o) {
  auto a = std::unique_ptr<Agent>(new Agent());
  RETURN_IF_ERROR(MakeDirs(o.dir, 0750));
  bj::object saved{{"bridge", o.bridge}, {"clusterCIDR", o.cluster_cidr}, {"serviceCIDR", o.service_cidr},
                   {"masquerade", o.masquerade}};
  RETURN_IF_ERROR(WriteFileAtomic(JoinPath(o.dir, "agent.json"), json::Serialize(saved), 0600));
  auto store = images::ImageStore::Open(JoinPath(o.dir, "images"));
  if (!store.ok()) return store.status();
  a->images_ = std::move(*store);
  std::string import_dir = JoinPath(o.dir, "images/import");
  (void)MakeDirs(import_dir, 0755);
  if (auto names = ListDir(import_dir); names.ok()) {
    for (const auto& n : *names) {
      auto got = a->images_->Import(JoinPath(import_dir, n));
      if (!got.ok()) Log().Warning("image import failed", {{"file", n}, {"err", got.status().ToString()}});
    }
  }
  // Nothing for a pod or service address leaves by the default route.
  for (const auto& cidr : {o.cluster_cidr, o.service_cidr}) {
    if (Status st = cni::EnsureBlackholeRoute(cidr); !st.ok()) Log().Warning("blackhole route", {{"err", st.ToString()}});
  }
  cni::Config nc;
  nc.bridge = o.bridge;
  nc.subnet = o.kubelet.pod_cidr;
  nc.state_dir = JoinPath(o.dir, "cni");
  nc.masquerade = false;
  if (o.masquerade) {
    if (Status st = cni::EnsureMasquerade(o.cluster_cidr); !st.ok()) Log().Warning("masquerade rule", {{"err", st.ToString()}});
  }
  a->network_ = std::make_unique<cni::Network>(nc);
  runtime::runc::Options ro;
  ro.root = JoinPath(o.dir, "runtime");
  ro.sealed_runc_copy = true;
  auto rt = runtime::runc::RuncRuntime::New(ro, a->images_.get(), a->network_.get());
  if (!rt.ok()) return rt.status();
  a->runtime_ = std::move(*rt);
  o.kubelet.data_dir = o.dir;
  if (o.kubelet.static_pod_path.empty()) o.kubelet.static_pod_path = o.dir + "/manifests";
  if (o.kubelet.node_ip.empty()) o.kubelet.node_ip = DefaultNodeIp();
  if (o.kubelet.node_name.empty()) o.kubelet.node_name = DefaultNodeName();
  if (!o.client_ca_pem.empty() && o.kubelet.kubelet_port > 0) {
    // Self-signed, as upstream's kubelet when no certificate is given;
    // reissued when the node's address changed.
    std::string crt = JoinPath(o.dir, "pki/kubelet.crt"), key = JoinPath(o.dir, "pki/kubelet.key");
    auto c = ReadFile(crt), k = ReadFile(key);
    auto ip_file = ReadFile(JoinPath(o.dir, "pki/kubelet.ip"));
    if (!c.ok() || !k.ok() || !ip_file.ok() || *ip_file != o.kubelet.node_ip) {
      auto kp = apiserver::SelfSignedServing(o.kubelet.node_name, {o.kubelet.node_ip, "127.0.0.1"}, {o.kubelet.node_name});
      if (!kp.ok()) return kp.status();
      RETURN_IF_ERROR(MakeDirs(JoinPath(o.dir, "pki"), 0700));
      RETURN_IF_ERROR(WriteFileAtomic(key, kp->key_pem, 0600));
      RETURN_IF_ERROR(WriteFileAtomic(crt, kp->cert_pem, 0644));
      RETURN_IF_ERROR(WriteFileAtomic(JoinPath(o.dir, "pki/kubelet.ip"), o.kubelet.node_ip, 0644));
      c = kp->cert_pem;
      k = kp->key_pem;
    }
    o.kubelet.serving_cert_pem = *c;
    o.kubelet.serving_key_pem = *k;
    o.kubelet.client_ca_pem = o.client_ca_pem;
  }
  if (o.kubelet.cluster_dns.empty()) o.kubelet.cluster_dns = {DnsAddress(o.service_cidr)};
  a->kubelet_ = std::make_unique<Kubelet>(client, o.kubelet, a->runtime_.get(), a->images_.get(), a->network_.get());
  RETURN_IF_ERROR(a->kubelet_->Start());
  return a;
}

Agent::~Agent() { Stop(); }

void Agent::Stop() {
  if (kubelet_) kubelet_->Stop();
}

Status CleanupNode(const std::string& dir) {
  auto cfg = ReadFile(JoinPath(dir, "agent.json"));
  if (!cfg.ok()) return Status::NotFound(dir + " has no node agent state");
  auto v = json::Parse(*cfg);
  if (!v.ok() || !v->is_object()) return Status::Corruption(dir + "/agent.json unreadable");
  const bj::object& o = v->get_object();
  auto store = images::ImageStore::Open(JoinPath(dir, "images"));
  if (!store.ok()) return store.status();
  cni::Config nc;
  nc.bridge = std::string(api::StrAt(o, {"bridge"}));
  nc.state_dir = JoinPath(dir, "cni");
  cni::Network network(nc);
  runtime::runc::Options ro;
  ro.root = JoinPath(dir, "runtime");
  auto rt = runtime::runc::RuncRuntime::New(ro, store->get(), &network);
  if (!rt.ok()) return rt.status();
  for (const auto& s : (*rt)->ListPodSandboxes()) RETURN_IF_ERROR((*rt)->RemovePodSandbox(s.id));
  for (const auto& c : (*rt)->ListContainers()) RETURN_IF_ERROR((*rt)->RemoveContainer(c.id));
  // Pod directories (emptyDir tmpfs mounts) and the pods' cgroups.
  if (auto pods = ListDir(JoinPath(dir, "pods")); pods.ok()) {
    for (const auto& uid : *pods) (void)TearDownVolumes(JoinPath(dir, "pods/" + uid));
  }
  for (const char* qos : {"/kubepods/besteffort", "/kubepods/burstable", "/kubepods"}) (void)runtime::runc::RemoveCgroup(qos);
  RETURN_IF_ERROR(network.RemoveBridge());
  for (const char* key : {"clusterCIDR", "serviceCIDR"}) {
    std::string cidr(api::StrAt(o, {key}));
    if (!cidr.empty()) (void)cni::RemoveBlackholeRoute(cidr);
  }
  if (api::BoolAt(o, {"masquerade"})) (void)cni::RemoveMasquerade(std::string(api::StrAt(o, {"clusterCIDR"})));
  return Status::OK();
}

}  // namespace kubepp::kubelet
