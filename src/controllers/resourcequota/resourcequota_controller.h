// The resource quota controller (upstream's pkg/controller/resourcequota):
// status.hard and status.used of every ResourceQuota, counting the
// namespace's objects (pods, services, configmaps, secrets, replication
// controllers, claims, quotas, count/<resource>.<group>) and summing pod
// requests and limits (cpu, memory, ephemeral-storage, extended resources)
// of pods that are not finished, with the BestEffort/NotBestEffort and
// Terminating/NotTerminating scopes. Admission-time enforcement is separate.
#pragma once

#include <string>
#include <vector>

#include "controllers/manager.h"

namespace kubepp::controllers {

class ResourceQuotaController : public QueueController {
 public:
  explicit ResourceQuotaController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  struct Counted {
    std::string resource, group;  // count/<resource>[.<group>]
    client::Informer* informer;
  };
  Status Reconcile(const std::string& key) override;
  void EnqueueNamespace(const std::string& ns);

  client::RestClient* client_;
  client::Informer* quotas_ = nullptr;
  client::Informer* pods_ = nullptr;
  std::vector<Counted> counted_;
};

}  // namespace kubepp::controllers
