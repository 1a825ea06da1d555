#include "kubelet/cni/cni.h"

#include <boost/json.hpp>
#include <thread>

#include "api/object.h"
#include "common/file.h"
#include "common/json.h"
#include "common/process.h"

namespace kubepp::kubelet::cni {
namespace {

namespace bj = boost::json;
constexpr const char* kVersion = "1.0.0";
constexpr auto kPluginTimeout = std::chrono::seconds(60);

std::string WithoutPrefix(std::string_view cidr) { return std::string(cidr.substr(0, cidr.find('/'))); }

}  // namespace

Config Network::config() const {
  std::lock_guard<std::mutex> l(mu_);
  return config_;
}

void Network::SetSubnet(const std::string& subnet) {
  std::lock_guard<std::mutex> l(mu_);
  config_.subnet = subnet;
}

std::string Network::ResultPath(const std::string& id) const {
  return JoinPath(JoinPath(config().state_dir, "results"), id + ".json");
}

Result<std::string> Network::Invoke(const std::string& command, const std::string& type, const std::string& conf,
                                    const std::string& id, const std::string& netns, const std::string& ifname,
                                    const PodRef& pod) {
  const Config config_ = config();
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command,
      "CNI_CONTAINERID=" + id,
      "CNI_NETNS=" + netns,
      "CNI_IFNAME=" + ifname,
      "CNI_PATH=" + config_.plugin_dir,
      "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.ns + ";K8S_POD_NAME=" + pod.name +
          ";K8S_POD_INFRA_CONTAINER_ID=" + id + ";K8S_POD_UID=" + pod.uid,
      // The plugins are Go programs that live a few milliseconds: garbage
      // collection only costs them time (~15% of a loopback call here).
      "GOGC=off",
  };
  auto r = RunCommand({JoinPath(config_.plugin_dir, type)}, env, conf, kPluginTimeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    // The spec's error object: {"code", "msg", "details"}.
    std::string msg = r->err.empty() ? r->out : r->err;
    if (auto v = json::Parse(r->out); v.ok() && v->is_object()) {
      msg = std::string(json::GetString(*v, "msg"));
      if (auto d = json::GetString(*v, "details"); !d.empty()) msg += ": " + std::string(d);
    }
    return Status::Internal("plugin type=\"" + type + "\" failed (" + command + "): " + msg);
  }
  return r->out;
}

Result<Attachment> Network::Add(const std::string& id, const std::string& netns, const PodRef& pod,
                                const std::vector<PortMapping>& ports) {
  const Config config_ = config();
  if (config_.subnet.empty()) return Status::Unavailable("network: the node has no pod CIDR yet");
  // lo and eth0 are independent: the loopback plugin runs beside the bridge
  // plugin (each is a process start of ~10-30 ms here), not before it.
  Result<std::string> lo = Status::Internal("loopback plugin did not run");
  std::thread lo_thread([&] {
    lo = Invoke("ADD", "loopback", json::Serialize(bj::object{{"cniVersion", kVersion}, {"name", "cni-loopback"}, {"type", "loopback"}}),
                id, netns, "lo", pod);
  });
  bj::object bridge{{"cniVersion", kVersion},
                    {"name", config_.network},
                    {"type", "bridge"},
                    {"bridge", config_.bridge},
                    {"isGateway", true},
                    {"ipMasq", config_.masquerade},
                    {"hairpinMode", true},
                    {"ipam", bj::object{{"type", "host-local"},
                                        {"ranges", bj::array{bj::array{bj::object{{"subnet", config_.subnet}}}}},
                                        {"routes", bj::array{bj::object{{"dst", "0.0.0.0/0"}}}},
                                        {"dataDir", JoinPath(config_.state_dir, "networks")}}}};
  if (config_.mtu > 0) bridge["mtu"] = config_.mtu;
  auto out = Invoke("ADD", "bridge", json::Serialize(bridge), id, netns, "eth0", pod);
  lo_thread.join();
  if (!out.ok()) return out.status();
  if (!lo.ok()) {
    (void)Invoke("DEL", "bridge", json::Serialize(bridge), id, netns, "eth0", pod);
    return lo.status();
  }
  auto result = json::Parse(*out);
  if (!result.ok() || !result->is_object()) return Status::Internal("bridge plugin: unreadable result: " + *out);
  if (!ports.empty()) {
    bj::array maps;
    for (const auto& p : ports) {
      bj::object m{{"hostPort", p.host_port}, {"containerPort", p.container_port}, {"protocol", p.protocol}};
      if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
      maps.push_back(std::move(m));
    }
    bj::object pm{{"cniVersion", kVersion},
                  {"name", config_.network},
                  {"type", "portmap"},
                  {"capabilities", bj::object{{"portMappings", true}}},
                  {"snat", true},
                  {"runtimeConfig", bj::object{{"portMappings", std::move(maps)}}},
                  {"prevResult", *result}};
    auto pmr = Invoke("ADD", "portmap", json::Serialize(pm), id, netns, "eth0", pod);
    if (!pmr.ok()) {
      (void)Invoke("DEL", "bridge", json::Serialize(bridge), id, netns, "eth0", pod);
      return pmr.status();
    }
  }
  // What DEL needs later: the configs and the result.
  bj::object saved{{"bridge", bridge}, {"result", *result}};
  if (!ports.empty()) saved["ports"] = true;
  if (Status st = MakeDirs(JoinPath(config_.state_dir, "results"), 0700); !st.ok()) return st;
  if (Status st = WriteFileAtomic(ResultPath(id), json::Serialize(saved), 0600); !st.ok()) return st;
  Attachment a;
  if (const auto* ips = api::ArrAt(result->get_object(), {"ips"}); ips && !ips->empty() && ips->at(0).is_object()) {
    a.ip = WithoutPrefix(api::StrAt(ips->at(0).get_object(), {"address"}));
    a.gateway = std::string(api::StrAt(ips->at(0).get_object(), {"gateway"}));
  }
  if (a.ip.empty()) return Status::Internal("bridge plugin returned no address: " + *out);
  return a;
}

Status Network::Del(const std::string& id, const std::string& netns, const PodRef& pod) {
  const Config config_ = config();
  std::string path = ResultPath(id);
  auto text = ReadFile(path);
  if (!text.ok()) return Status::OK();  // never added (or already deleted)
  auto saved = json::Parse(*text);
  if (!saved.ok() || !saved->is_object()) {
    (void)::unlink(path.c_str());
    return Status::OK();
  }
  const bj::object& s = saved->get_object();
  const bj::value* result = s.if_contains("result");
  if (s.contains("ports") && result != nullptr) {
    bj::object pm{{"cniVersion", kVersion}, {"name", config_.network}, {"type", "portmap"},
                  {"capabilities", bj::object{{"portMappings", true}}}, {"snat", true}, {"prevResult", *result}};
    // (portmap finds its rules by container id; no runtimeConfig needed.)
    auto r = Invoke("DEL", "portmap", json::Serialize(pm), id, netns, "eth0", pod);
    if (!r.ok()) return r.status();
  }
  if (const bj::value* bridge = s.if_contains("bridge"); bridge && bridge->is_object()) {
    bj::object conf = bridge->get_object();
    if (result != nullptr) conf["prevResult"] = *result;
    auto r = Invoke("DEL", "bridge", json::Serialize(conf), id, netns, "eth0", pod);
    if (!r.ok()) return r.status();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::IOError("unlink " + path);
  return Status::OK();
}

Status Network::RemoveBridge() {
  const Config config_ = config();
  auto r = RunCommand({"ip", "link", "del", config_.bridge}, {}, "", std::chrono::seconds(10));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0 && r->err.find("Cannot find device") == std::string::npos) {
    return Status::Internal("ip link del " + config_.bridge + ": " + r->err);
  }
  return Status::OK();
}

Status EnsureBlackholeRoute(const std::string& cidr) {
  auto r = RunCommand({"ip", "route", "replace", "blackhole", cidr}, {}, "", std::chrono::seconds(10));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Internal("ip route replace blackhole " + cidr + ": " + r->err);
  return Status::OK();
}

Status RemoveBlackholeRoute(const std::string& cidr) {
  auto r = RunCommand({"ip", "route", "del", "blackhole", cidr}, {}, "", std::chrono::seconds(10));
  if (!r.ok()) return r.status();
  return Status::OK();  // absent is fine
}

namespace {
std::vector<std::string> MasqueradeRule(const std::string& op, const std::string& cidr) {
  return {"iptables", "-w", "-t", "nat", op, "POSTROUTING", "-s", cidr, "!", "-d", cidr, "-m", "comment", "--comment",
          "kubepp: pods to outside the cluster range", "-j", "MASQUERADE"};
}
}  // namespace

Status EnsureMasquerade(const std::string& cidr) {
  auto check = RunCommand(MasqueradeRule("-C", cidr), {}, "", std::chrono::seconds(30));
  if (check.ok() && check->exit_code == 0) return Status::OK();
  auto r = RunCommand(MasqueradeRule("-A", cidr), {}, "", std::chrono::seconds(30));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return Status::Internal("iptables: " + r->err);
  return Status::OK();
}

Status RemoveMasquerade(const std::string& cidr) {
  for (int i = 0; i < 8; ++i) {  // every copy
    auto r = RunCommand(MasqueradeRule("-D", cidr), {}, "", std::chrono::seconds(30));
    if (!r.ok() || r->exit_code != 0) break;
  }
  return Status::OK();
}

}  // namespace kubepp::kubelet::cni
