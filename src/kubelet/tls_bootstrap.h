// TLS bootstrapping, as upstream's kubelet does it with a bootstrap token:
//
//  1. Read kube-public/cluster-info anonymously, over TLS not yet verified,
//     and check its signature for our token (jws-kubeconfig-<id>): only a
//     server that knows the token can have made it, so its CA is the
//     cluster's. The token itself is not sent until the CA is trusted.
//  2. With the token, over TLS verified against that CA, create a
//     CertificateSigningRequest for system:node:<name> (group system:nodes,
//     signer kubernetes.io/kube-apiserver-client-kubelet), and wait for the
//     controllers to approve and sign it.
//  3. Write <dir>/kubelet.kubeconfig with the CA, the server and the new
//     client certificate. Later starts use it (until it nears expiry).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "client/rest.h"
#include "common/status.h"

namespace kubepp::kubelet {

struct BootstrapOptions {
  std::string server;     // https://host:port
  std::string token;      // "id.secret"
  std::string dir;        // where kubelet.kubeconfig goes
  std::string node_name;
  // How long to wait for the cluster (cluster-info, its signature, the
  // certificate) before giving up.
  std::chrono::seconds timeout = std::chrono::minutes(15);
  std::function<bool()> cancelled;  // polled while waiting; may be empty
};

// The kubeconfig path the agent uses: <dir>/kubelet.kubeconfig.
std::string KubeletKubeconfigPath(const std::string& dir);

// Returns the node's client configuration: the kubeconfig from an earlier
// join if its certificate is still good for a day, else a new one through
// the bootstrap token.
Result<client::ClientConfig> BootstrapClient(const BootstrapOptions& options);

}  // namespace kubepp::kubelet
