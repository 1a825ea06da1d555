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
//     client certificate. Later starts use it while it is valid.
//  4. While running, renew the certificate at a random point between 70%
//     and 90% of its lifetime, as upstream's kubelet rotates it: a new key
//     and a CSR the node makes as itself (approved as "selfnodeclient").
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
// join while its certificate is valid, else a new one through the
// bootstrap token.
Result<client::ClientConfig> BootstrapClient(const BootstrapOptions& options);

// When a certificate valid from `not_before` to `not_after` is renewed:
// at `fraction` (0.7-0.9, random per round) of the way.
int64_t RotationDeadline(int64_t not_before, int64_t not_after, double fraction);

// Renews the client certificate `client` presents (step 4) until
// `options.cancelled` says stop: writes the kubeconfig, then switches
// `client` to the new certificate. Blocks; run it on a thread.
void RotateClientCertificate(client::RestClient* client, const BootstrapOptions& options);

}  // namespace kubepp::kubelet
