// The certificates controllers (upstream pkg/controller/certificates):
//
// - csrapproving approves kubelet client certificate requests
//   (signer kubernetes.io/kube-apiserver-client-kubelet) that a joining node
//   makes with its bootstrap token (requester in system:bootstrappers:
//   "nodeclient") or that a node makes to renew its own certificate
//   (requester system:node:<name> in system:nodes, the same name as the
//   request's subject: "selfnodeclient"). Everything else waits for
//   `kubectl certificate approve`. Upstream asks a SubjectAccessReview for
//   these two cases; kubepp has no RBAC yet, so the groups decide.
// - csrsigning issues the certificate of an approved request for the
//   kubernetes.io signers (kube-apiserver-client, kube-apiserver-client-kubelet,
//   kubelet-serving) with the cluster CA, after checking the request is one
//   that signer may issue (otherwise: a Failed condition).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "apiserver/pki.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

inline constexpr std::string_view kKubeletClientSigner = "kubernetes.io/kube-apiserver-client-kubelet";
inline constexpr std::string_view kApiServerClientSigner = "kubernetes.io/kube-apiserver-client";
inline constexpr std::string_view kKubeletServingSigner = "kubernetes.io/kubelet-serving";

// Why `signer` may not issue this request ("" when it may), with upstream's
// messages ("subject organization is not system:nodes", "usages did not
// match [...]", ...).
std::string CheckSignerRules(std::string_view signer, const apiserver::CsrInfo& csr,
                             const std::vector<std::string>& usages);

// The decoded PEM of spec.request, and spec.usages.
std::string CsrRequestPem(const bj::object& csr);
std::vector<std::string> CsrUsages(const bj::object& csr);
bool HasCsrCondition(const bj::object& csr, std::string_view type);

class CsrApprovingController : public QueueController {
 public:
  explicit CsrApprovingController(client::RestClient* client) : QueueController("csrapproving", 1), client_(client) {}
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& name) override;

  client::RestClient* client_;
  client::Informer* csrs_ = nullptr;
};

class CsrSigningController : public QueueController {
 public:
  CsrSigningController(client::RestClient* client, apiserver::KeyPair ca, std::chrono::seconds max_duration)
      : QueueController("csrsigning", 1), client_(client), ca_(std::move(ca)), max_duration_(max_duration) {}
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& name) override;

  client::RestClient* client_;
  apiserver::KeyPair ca_;
  std::chrono::seconds max_duration_;
  client::Informer* csrs_ = nullptr;
};

}  // namespace kubepp::controllers
