// The serviceaccount controller: every active namespace has a `default`
// service account; one deleted is created again (upstream's
// pkg/controller/serviceaccount/serviceaccounts_controller.go).
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "client/workqueue.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class ServiceAccountController : public Controller {
 public:
  explicit ServiceAccountController(client::RestClient* client) : client_(client) {}
  std::string Name() const override { return "serviceaccount"; }
  void Init(InformerFactory* informers) override;
  void Run() override;
  void Stop() override;

 private:
  Status Reconcile(const std::string& ns);

  client::RestClient* client_;
  client::Informer* namespaces_ = nullptr;
  client::Informer* accounts_ = nullptr;
  std::unique_ptr<client::WorkQueue> queue_ = std::make_unique<client::WorkQueue>("serviceaccount");
  std::vector<std::thread> workers_;
};

}  // namespace kubepp::controllers
