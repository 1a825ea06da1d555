// Pod networking through CNI (the spec's 1.0.0 protocol) with the reference
// plugins: `loopback` for lo, `bridge` with `host-local` IPAM on the node's
// pod CIDR for eth0, and `portmap` for hostPorts. Each plugin is executed
// with the CNI_* environment and its configuration on stdin; ADD's result is
// kept so DEL (in reverse order, with prevResult) works after a restart.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace kubepp::kubelet::cni {

struct PortMapping {
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol = "tcp";  // lowercase, as portmap wants
  std::string host_ip;
};

struct Config {
  std::string plugin_dir = "/usr/lib/cni";
  std::string network = "kubepp";
  std::string bridge = "kubepp0";
  std::string subnet;     // the node's pod CIDR ("10.42.0.0/24")
  std::string state_dir;  // host-local's leases and the saved results
  int mtu = 0;            // 0: the plugin's default
  bool masquerade = false;
};

struct PodRef {
  std::string ns, name, uid;
};

struct Attachment {
  std::string ip;       // eth0's address, without the prefix length
  std::string gateway;  // the bridge's address
};

class Network {
 public:
  explicit Network(Config config) : config_(std::move(config)) {}

  // Sets up lo and eth0 in the network namespace at `netns` (a path).
  Result<Attachment> Add(const std::string& id, const std::string& netns, const PodRef& pod,
                         const std::vector<PortMapping>& ports);
  // Undoes Add; fine when it never happened or the namespace is gone.
  Status Del(const std::string& id, const std::string& netns, const PodRef& pod);
  // Removes the bridge (when the node goes away).
  Status RemoveBridge();
  Config config() const;
  // The node's pod CIDR, once node IPAM has assigned it.
  void SetSubnet(const std::string& subnet);

 private:
  Result<std::string> Invoke(const std::string& command, const std::string& type, const std::string& conf,
                             const std::string& id, const std::string& netns, const std::string& ifname,
                             const PodRef& pod);
  std::string ResultPath(const std::string& id) const;

  mutable std::mutex mu_;
  Config config_;  // GUARDED_BY(mu_) (the subnet can be set late)
};

// Routes `cidr` to a blackhole in the host namespace (idempotent), so a
// packet for a pod or service address with no more specific route is
// dropped instead of leaving by the default route.
Status EnsureBlackholeRoute(const std::string& cidr);
Status RemoveBlackholeRoute(const std::string& cidr);

// One NAT rule for traffic from the cluster range to elsewhere (idempotent).
Status EnsureMasquerade(const std::string& cluster_cidr);
Status RemoveMasquerade(const std::string& cluster_cidr);

}  // namespace kubepp::kubelet::cni
