// The bootstrap token controllers (upstream pkg/controller/bootstrap):
//
// - bootstrapsigner keeps a detached JWS per signing token in
//   kube-public/cluster-info (data "jws-kubeconfig-<token id>"), so a node
//   holding a token can check the CA it reads there anonymously.
// - tokencleaner deletes token Secrets once their expiration has passed.
#pragma once

#include "controllers/manager.h"

namespace kubepp::controllers {

class BootstrapSignerController : public QueueController {
 public:
  explicit BootstrapSignerController(client::RestClient* client) : QueueController("bootstrapsigner", 1), client_(client) {}
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;

  client::RestClient* client_;
  client::Informer* config_maps_ = nullptr;
  client::Informer* tokens_ = nullptr;
};

class TokenCleanerController : public QueueController {
 public:
  explicit TokenCleanerController(client::RestClient* client) : QueueController("tokencleaner", 1), client_(client) {}
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;

  client::RestClient* client_;
  client::Informer* tokens_ = nullptr;
};

// The kube-system Secrets of type bootstrap.kubernetes.io/token.
client::Informer* BootstrapTokenInformer(InformerFactory* informers);

}  // namespace kubepp::controllers
