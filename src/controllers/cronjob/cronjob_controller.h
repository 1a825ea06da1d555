// The cronjob controller (upstream's cronjob controllerv2): creates a Job
// from jobTemplate at each scheduled time (the latest missed one after a
// pause), honouring suspend, startingDeadlineSeconds and concurrencyPolicy
// (Allow, Forbid, Replace); keeps status.active, lastScheduleTime and
// lastSuccessfulTime, and the successful/failed job history limits.
#pragma once

#include <memory>
#include <string>

#include "client/events.h"
#include "controllers/controller_utils.h"
#include "controllers/manager.h"

namespace kubepp::controllers {

class CronJobController : public QueueController {
 public:
  explicit CronJobController(client::RestClient* client);
  void Init(InformerFactory* informers) override;

 private:
  Status Reconcile(const std::string& key) override;

  client::RestClient* client_;
  client::Informer* cronjobs_ = nullptr;
  client::Informer* jobs_ = nullptr;
};

}  // namespace kubepp::controllers
