// The serviceaccount controller: every active namespace has a `default`
// service account; one deleted is created again (upstream's
// pkg/controller/serviceaccount/serviceaccounts_controller.go).
#pragma once

#include "controllers/manager.h"

namespace kubepp::controllers {

class ServiceAccountController : public QueueController {
 public:
  explicit ServiceAccountController(client::RestClient* client) : QueueController("serviceaccount", 2), client_(client) {}
  void Init(InformerFactory* informers) override;

 private:
  // The key is a namespace name.
  Status Reconcile(const std::string& ns) override;

  client::RestClient* client_;
  client::Informer* namespaces_ = nullptr;
  client::Informer* accounts_ = nullptr;
};

}  // namespace kubepp::controllers
