// The daemon set controller (upstream's pkg/controller/daemon): one pod per
// node that the template's nodeSelector, node affinity and tolerations admit
// (with the tolerations upstream adds to daemon pods), each pinned to its node
// by a matchFields node affinity and placed by the scheduler; failed pods are
// replaced, pods on nodes that no longer qualify removed; RollingUpdate
// (maxUnavailable) or OnDelete by template hash (controller-revision-hash);
// status as `kubectl get ds` and `kubectl rollout status ds` read it.
#pragma once

#include <string>

#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class DaemonSetController : public QueueController {
 public:
  explicit DaemonSetController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;

  client::RestClient* client_;
  client::Informer* daemonsets_ = nullptr;
  client::Informer* nodes_ = nullptr;
  client::Informer* pods_ = nullptr;
  Expectations expectations_;
};

}  // namespace kubepp::controllers
