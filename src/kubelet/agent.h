// The node agent: the image store, the pod network (CNI), the runc runtime
// and the kubelet, assembled under one data directory. `kubepp server` runs
// one (unless --no-agent); `kubepp kubelet` runs one alone.
//
//   <dir>/images/          the image store; <dir>/images/import/*.tar are
//                          imported at start (machines with no registry)
//   <dir>/runtime/ <dir>/cni/ <dir>/pods/ <dir>/logs/pods/
//   <dir>/agent.json       the network settings, for `kubepp kubelet --cleanup`
//   <dir>/pki/kubelet.{crt,key}  the kubelet API's self-signed serving certificate
#pragma once

#include <memory>
#include <string>

#include "client/rest.h"
#include "kubelet/kubelet.h"

namespace kubepp::kubelet {

struct AgentOptions {
  std::string dir;
  KubeletOptions kubelet;   // data_dir is set to `dir`
  std::string bridge = "kubepp0";
  std::string cluster_cidr = "10.42.0.0/16";
  std::string service_cidr = "10.43.0.0/16";
  // Pods reach beyond the node by one MASQUERADE rule for the cluster range
  // (flannel's way), not per-pod chains: iptables serializes on its lock.
  bool masquerade = true;
  // The kubelet API's clients (the API server) present certificates from this CA.
  std::string client_ca_pem;
};

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> Start(client::RestClient* client, AgentOptions options);
  ~Agent();
  // Stops the kubelet; containers keep running.
  void Stop();

 private:
  Agent() = default;
  std::unique_ptr<images::ImageStore> images_;
  std::unique_ptr<cni::Network> network_;
  std::unique_ptr<runtime::RuntimeService> runtime_;
  std::unique_ptr<Kubelet> kubelet_;
};

// Stops and removes every pod sandbox and container under an agent's
// directory, then its bridge and blackhole routes (what the agent set up).
Status CleanupNode(const std::string& dir);

// The node's name when none is given: the hostname, lowercased.
std::string DefaultNodeName();

}  // namespace kubepp::kubelet
