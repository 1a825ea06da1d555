// The job controller (upstream's pkg/controller/job): runs a Job's pods to
// completion: parallelism and completions (NonIndexed, Indexed with
// completion indexes, or work-queue style without completions),
// backoffLimit with the exponential delay between failed pods (10 s doubling,
// capped at 6 min), activeDeadlineSeconds, suspend, and the status and
// conditions (SuccessCriteriaMet/Complete, FailureTarget/Failed) that
// `kubectl get jobs` and `kubectl wait --for=condition=complete` read;
// finished jobs with ttlSecondsAfterFinished are deleted after that time.
#pragma once

#include <memory>
#include <string>

#include "client/events.h"
#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class JobController : public QueueController {
 public:
  explicit JobController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;
  Status Finish(const bj::object& job, bj::object status, const std::vector<client::ObjectPtr>& active,
                const std::string& type, const std::string& reason, const std::string& msg);
  Status DeletePods(const bj::object& job, const std::vector<client::ObjectPtr>& pods);
  std::string OwnerKey(const bj::object& pod) const;

  client::RestClient* client_;
  client::Informer* jobs_ = nullptr;
  client::Informer* pods_ = nullptr;
  Expectations expectations_;
};

// "0-2,4,6-7" for a set of indexes (status.completedIndexes).
std::string CompressIndexes(const std::set<int64_t>& idx);

}  // namespace kubepp::controllers
