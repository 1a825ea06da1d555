// The disruption controller (upstream's pkg/controller/disruption): the
// status of every PodDisruptionBudget (currentHealthy, desiredHealthy,
// expectedPods, disruptionsAllowed and the DisruptionAllowed condition), from
// the pods its selector matches and, for percentages and maxUnavailable, the
// scale of the controllers that own them. The eviction API reads it.
#pragma once

#include <string>

#include "controllers/manager.h"

namespace kubepp::controllers {

class DisruptionController : public QueueController {
 public:
  explicit DisruptionController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  int64_t ControllerScale(const std::string& ns, const std::string& kind, const std::string& name) const;

  client::RestClient* client_;
  client::Informer* pdbs_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* replicasets_ = nullptr;
  client::Informer* deployments_ = nullptr;
  client::Informer* statefulsets_ = nullptr;
  client::Informer* rcs_ = nullptr;
};

}  // namespace kubepp::controllers
