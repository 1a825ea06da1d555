// The endpoints and endpointslice controllers (upstream's
// pkg/controller/endpoint and endpointslice): for every Service with a
// selector, the pods it selects, as ready or not-ready addresses with their
// ports (named target ports resolved per pod), written as the Endpoints
// object of the same name and as EndpointSlices (kubernetes.io/service-name,
// at most 100 endpoints each, owned by the Service).
#pragma once

#include <string>
#include <vector>

#include "controllers/manager.h"

namespace kubepp::controllers {

class EndpointsController : public QueueController {
 public:
  explicit EndpointsController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  Status SyncEndpoints(const bj::object& svc, const bj::array& subsets);
  Status SyncSlices(const bj::object& svc, const std::vector<std::pair<bj::array, bj::array>>& groups);
  void EnqueueServicesFor(const bj::object& pod);

  client::RestClient* client_;
  client::Informer* services_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* endpoints_ = nullptr;
  client::Informer* slices_ = nullptr;
};

}  // namespace kubepp::controllers
