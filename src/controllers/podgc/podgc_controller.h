// The pod garbage collector (upstream's pkg/controller/podgc), every 20 s:
// terminated pods beyond --terminated-pod-gc-threshold (oldest first), pods
// bound to nodes that no longer exist (after a 40 s quarantine), terminating
// pods that were never scheduled, and terminating pods on nodes tainted
// node.kubernetes.io/out-of-service are deleted.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "controllers/manager.h"

namespace kubepp::controllers {

class PodGcController : public QueueController {
 public:
  PodGcController(client::RestClient* client, int64_t terminated_threshold,
                  std::chrono::milliseconds period = std::chrono::seconds(20));
  void Init(InformerFactory* informers) override;
  void Run() override;
  void Stop() override;

 private:
  Status Reconcile(const std::string& key) override;
  Status ForceDelete(const bj::object& pod, bool mark_failed);

  client::RestClient* client_;
  int64_t threshold_;
  std::chrono::milliseconds period_;
  client::Informer* pods_ = nullptr;
  client::Informer* nodes_ = nullptr;
  std::map<std::string, std::chrono::steady_clock::time_point> missing_since_;  // node -> first seen missing
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};

}  // namespace kubepp::controllers
