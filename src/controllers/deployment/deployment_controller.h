// The deployment controller (upstream's pkg/controller/deployment): one
// replica set per pod template (named NAME-<hash>, with the
// pod-template-hash label), rolled from old to new by RollingUpdate
// (maxSurge / maxUnavailable) or Recreate, revision annotations so
// `kubectl rollout history/undo` work, revisionHistoryLimit, pause/resume,
// and the status and conditions (Available, Progressing with
// progressDeadlineSeconds) that `kubectl rollout status` reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "client/events.h"
#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class DeploymentController : public QueueController {
 public:
  explicit DeploymentController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  void EnqueueOwnerOf(const bj::object& rs);
  Status Scale(const bj::object& d, const bj::object& rs, int64_t to, int64_t max_surge);
  Result<bj::object> CreateNewReplicaSet(const bj::object& d, const std::string& hash, int64_t replicas, int64_t revision,
                                         int64_t max_surge);
  Status SyncStatus(const bj::object& d, const std::vector<client::ObjectPtr>& all, const bj::object* new_rs,
                    const std::string& progress_reason, const std::string& progress_msg);

  client::RestClient* client_;
  client::Informer* deployments_ = nullptr;
  client::Informer* replicasets_ = nullptr;
  client::Informer* pods_ = nullptr;
};

// The pod-template-hash of a template (FNV-1a over its JSON and the
// collision count, encoded with upstream's safe alphabet).
std::string PodTemplateHash(const bj::object& tmpl, int64_t collision_count);

}  // namespace kubepp::controllers
