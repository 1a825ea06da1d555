// The stateful set controller (upstream's pkg/controller/statefulset): pods
// with stable names NAME-0..N-1 (hostname, subdomain = serviceName), created
// in order and each only once the previous is Running and Ready (OrderedReady)
// or all at once (Parallel), removed from the highest ordinal down; a
// PersistentVolumeClaim per volumeClaimTemplate and ordinal; RollingUpdate
// from the highest ordinal down to the partition, one pod at a time, or
// OnDelete; currentRevision/updateRevision as `kubectl rollout status` reads.
#pragma once

#include <string>

#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class StatefulSetController : public QueueController {
 public:
  explicit StatefulSetController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  Status CreatePod(const bj::object& sts, int64_t ordinal, const std::string& revision);

  client::RestClient* client_;
  client::Informer* sets_ = nullptr;
  client::Informer* pods_ = nullptr;
  client::Informer* claims_ = nullptr;
};

}  // namespace kubepp::controllers
